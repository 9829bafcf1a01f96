//! JSON views for relayers, operators and dapps. Heights, timestamps and stakes are decimal
//! strings (`U64`/`U128`): no JSON number here exceeds 2^53.

use crate::migrate::LegacyWindow;
use crate::window::WindowConfig;
use crate::{LightClient, LightClientExt};
use near_sdk::json_types::{U128, U64};
use near_sdk::near;
use xsc_core::client::{Head, StoredBlock};
use xsc_core::{CryptoHash, ProducerSet};

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRange {
    /// Oldest height a proof may be verified against (a checkpoint, a ring block, or a block
    /// left from a v0.1 window).
    pub oldest_height: U64,
    /// Newest stored height: the head.
    pub newest_height: U64,
    /// Blocks stored (ring and checkpoints; a block in both counts once).
    pub count: U64,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub ring_size: u32,
    pub retention_hours: u32,
    pub checkpoint_interval_minutes: u32,
    /// Checkpoints kept: `ceil(retention / interval) + 1`.
    pub checkpoint_capacity: u32,
    /// Storage of the window (ring and checkpoints), allocated in full.
    pub window_storage_bytes: U64,
}

/// What is provable now.
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvableWindow {
    pub head: U64,
    /// Heights in the ring of recent heads, ascending (every head within `ring_size` heights of
    /// the current one is among them).
    pub recent: Vec<U64>,
    /// Checkpoint heights, oldest first: the last head of each time bucket, kept for at least
    /// the retention after it stopped being the head.
    pub checkpoints: Vec<U64>,
    /// After a migration from v0.1: queue indices left and when they may be pruned.
    pub legacy: Option<LegacyWindow>,
}

/// One producer of an epoch as the contract stores it (keys and stakes; account ids are not
/// kept: verification does not need them).
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerView {
    /// `ed25519:<base58>`, or `null` for a producer whose key is of another type (its
    /// approvals are refused).
    pub public_key: Option<String>,
    pub stake: U128,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochProducersView {
    pub total_stake: U128,
    /// In the epoch's order (`approvals_after_next[i]` belongs to `producers[i]`).
    pub producers: Vec<ProducerView>,
}

#[near]
impl LightClient {
    /// The last accepted block: height, hash, epoch ids, block_merkle_root, timestamp.
    pub fn head(&self) -> Head {
        self.head.clone()
    }

    /// Range of heights a proof may currently be verified against (not every height in it is
    /// stored: see `window`).
    pub fn stored_range(&self) -> StoredRange {
        let w = self.window();
        let mut all: Vec<u64> = w.recent.iter().chain(&w.checkpoints).map(|h| h.0).collect();
        all.sort_unstable();
        all.dedup();
        let oldest = all.first().copied().unwrap_or(self.head.height);
        StoredRange {
            oldest_height: U64(oldest),
            newest_height: U64(self.head.height),
            count: U64(all.len() as u64),
        }
    }

    /// The heights a proof may be verified against now.
    pub fn window(&self) -> ProvableWindow {
        let heights = |v: Vec<StoredBlock>| v.into_iter().map(|b| U64(b.height)).collect();
        ProvableWindow {
            head: U64(self.head.height),
            recent: heights(self.ring_blocks()),
            checkpoints: heights(self.checkpoint_blocks()),
            legacy: self.legacy,
        }
    }

    /// The trusted block at `height`, if stored.
    pub fn block(&self, height: U64) -> Option<StoredBlock> {
        self.stored_block(height.0)
    }

    /// Block producers of an epoch (the head's or the next one), as stored.
    pub fn epoch_producers(&self, epoch_id: CryptoHash) -> Option<EpochProducersView> {
        let buf = self.read_producers(&epoch_id)?;
        let table = buf.table();
        Some(EpochProducersView {
            total_stake: U128(table.total_stake()),
            producers: table
                .entries()
                .map(|(key, stake)| ProducerView {
                    public_key: key.map(|k| format!("ed25519:{}", bs58::encode(k).into_string())),
                    stake: U128(stake),
                })
                .collect(),
        })
    }

    pub fn config(&self) -> Config {
        Config {
            ring_size: self.window.ring_size,
            retention_hours: self.window.retention_hours,
            checkpoint_interval_minutes: self.window.checkpoint_interval_minutes,
            checkpoint_capacity: self.window.capacity(),
            window_storage_bytes: U64(self.window.bound_bytes()),
        }
    }
}

impl LightClient {
    pub fn window_config(&self) -> WindowConfig {
        self.window
    }
}
