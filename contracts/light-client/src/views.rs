//! JSON views for relayers, operators and dapps.

use crate::{ContractError, LightClient, LightClientExt, MAX_STORED_BLOCKS_LIMIT};
use near_sdk::json_types::U64;
use near_sdk::{near, require};
use xsc_core::client::{Head, StoredBlock};
use xsc_core::{CryptoHash, ValidatorStakeView};

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRange {
    /// Oldest height still stored (proofs against it are accepted).
    pub oldest_height: U64,
    /// Newest stored height: the head.
    pub newest_height: U64,
    pub count: U64,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub max_stored_blocks: u32,
}

pub(crate) fn require_valid_window(n: u32) {
    require!(
        (2..=MAX_STORED_BLOCKS_LIMIT).contains(&n),
        ContractError::InvalidWindow.as_str()
    );
}

#[near]
impl LightClient {
    /// The last accepted block: height, hash, epoch ids, block_merkle_root, timestamp.
    pub fn head(&self) -> Head {
        self.head.clone()
    }

    /// Heights a proof may currently be verified against.
    pub fn stored_range(&self) -> StoredRange {
        StoredRange {
            oldest_height: U64(self.oldest_stored_height().unwrap_or(self.head.height)),
            newest_height: U64(self.head.height),
            count: U64(self.stored_count()),
        }
    }

    /// The trusted block at `height`, if stored.
    pub fn block(&self, height: U64) -> Option<StoredBlock> {
        self.stored_block(height.0)
    }

    /// Ordered block producers of an epoch (the head's or the next one).
    pub fn epoch_producers(&self, epoch_id: CryptoHash) -> Option<Vec<ValidatorStakeView>> {
        self.epochs.get(&epoch_id).map(|e| e.producers.clone())
    }

    pub fn config(&self) -> crate::Config {
        crate::Config {
            max_stored_blocks: self.max_stored_blocks,
        }
    }
}
