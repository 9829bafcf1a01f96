//! The light client state machine. The contract and the native [`LightClient`] both drive it
//! through [`LightClientStore`], so the CLI applies blocks exactly as the contract does.

use crate::block::{verify_block_ref, EpochProducers, ValidatedBlock};
use crate::block_ref::{BlockRef, BpsRef};
use crate::crypto::Crypto;
use crate::error::Error;
use crate::hashing::{block_hash, bp_hash};
use crate::primitives::CryptoHash;
use crate::producers::ProducerSet;
use crate::views::{LightClientBlockLiteView, LightClientBlockView, ValidatorStakeView};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The last accepted block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Head {
    /// JSON: a decimal string (heights and timestamps may exceed 2^53); numbers are accepted.
    #[serde(with = "crate::primitives::dec_str")]
    pub height: u64,
    pub hash: CryptoHash,
    pub epoch_id: CryptoHash,
    pub next_epoch_id: CryptoHash,
    pub block_merkle_root: CryptoHash,
    /// Nanoseconds; a decimal string in JSON.
    #[serde(with = "crate::primitives::dec_str")]
    pub timestamp: u64,
}

/// A trusted block kept for outcome proofs: its hash (for proofs of the block itself) and its
/// `block_merkle_root` (for proofs of every earlier block).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct StoredBlock {
    #[serde(with = "crate::primitives::dec_str")]
    pub height: u64,
    pub hash: CryptoHash,
    pub block_merkle_root: CryptoHash,
}

impl From<&ValidatedBlock> for Head {
    fn from(v: &ValidatedBlock) -> Self {
        Head {
            height: v.height,
            hash: v.hash,
            epoch_id: v.epoch_id,
            next_epoch_id: v.next_epoch_id,
            block_merkle_root: v.block_merkle_root,
            timestamp: v.timestamp,
        }
    }
}

impl From<&Head> for StoredBlock {
    fn from(h: &Head) -> Self {
        StoredBlock {
            height: h.height,
            hash: h.hash,
            block_merkle_root: h.block_merkle_root,
        }
    }
}

/// Storage the state machine needs. The window of stored blocks is the store's business
/// (the contract bounds it; the CLI keeps everything).
pub trait LightClientStore {
    /// A producer set as the store hands it to verification (the native client lends its
    /// `EpochProducers`; the contract reads its compact table).
    type Producers<'a>: ProducerSet
    where
        Self: 'a;
    /// A producer set received in a block, checked and ready to store.
    type Prepared;

    fn head(&self) -> Head;
    /// Producers of an epoch: read on every block, so lent or read in place, not copied.
    fn producers(&self, epoch_id: &CryptoHash) -> Option<Self::Producers<'_>>;
    fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> bool;
    /// Check a `next_bps` list and put it in stored form; nothing is written yet.
    fn prepare_producers(&self, bps: &BpsRef<'_>) -> Result<Self::Prepared, Error>;
    fn insert_epoch_producers(&mut self, epoch_id: CryptoHash, producers: Self::Prepared);
    fn remove_epoch_producers(&mut self, epoch_id: &CryptoHash);
    /// The validated block becomes the head and is kept for proofs (for how long is the
    /// store's window policy).
    fn accept(&mut self, head: Head);
}

/// Rules 1-3: the block must be above the head and in the head's epoch or the next one; a
/// block that starts the next epoch must carry `next_bps`.
pub fn check_against_head(head: &Head, block: &BlockRef<'_>) -> Result<(), Error> {
    let height = block.height();
    if height <= head.height {
        return Err(Error::BlockNotNewer {
            head: head.height,
            block: height,
        });
    }
    let epoch_id = block.epoch_id();
    if epoch_id != head.epoch_id && epoch_id != head.next_epoch_id {
        return Err(Error::EpochSkipped);
    }
    if epoch_id == head.next_epoch_id && epoch_id != head.epoch_id && block.next_bps.is_none() {
        return Err(Error::NextBpsMissing);
    }
    Ok(())
}

/// Validate `block` against the store's head and producers, then record it. On error nothing
/// is written.
pub fn apply_block<S: LightClientStore, C: Crypto>(
    store: &mut S,
    c: &C,
    block: &LightClientBlockView,
) -> Result<ValidatedBlock, Error> {
    let bytes = borsh::to_vec(block).map_err(|_| Error::InvalidInput("block encoding".into()))?;
    apply_block_ref(store, c, &BlockRef::parse(&bytes)?)
}

/// [`apply_block`] on a block borrowed from its borsh bytes (what the contract receives).
pub fn apply_block_ref<S: LightClientStore, C: Crypto>(
    store: &mut S,
    c: &C,
    block: &BlockRef<'_>,
) -> Result<ValidatedBlock, Error> {
    let plan = plan_block(store, c, block)?;
    Ok(commit_block(store, plan))
}

/// What accepting a validated block will write: the head, the producer set retired (the old
/// head's epoch, when the block opens the next one) and the one added (from `next_bps`, when
/// not yet stored). The contract prices the storage of a plan before committing it.
pub struct BlockPlan<P> {
    pub validated: ValidatedBlock,
    pub retire: Option<CryptoHash>,
    pub add: Option<(CryptoHash, P)>,
}

/// Every check of a block against the store's head and producers, and the next epoch's set
/// prepared; nothing is written.
pub fn plan_block<S: LightClientStore, C: Crypto>(
    store: &S,
    c: &C,
    block: &BlockRef<'_>,
) -> Result<BlockPlan<S::Prepared>, Error> {
    let head = store.head();
    check_against_head(&head, block)?;
    let validated = {
        let producers = store
            .producers(&block.epoch_id())
            .ok_or(Error::UnknownEpochProducers)?;
        verify_block_ref(c, &producers, block)?
    };
    // Build the next epoch's set before writing anything, so a bad set changes nothing.
    let add = match &block.next_bps {
        Some(bps) if !store.has_epoch_producers(&validated.next_epoch_id) => {
            Some((validated.next_epoch_id, store.prepare_producers(bps)?))
        }
        _ => None,
    };
    // The head moves into a new epoch: blocks of the old one can never be accepted again.
    let retire = (validated.epoch_id != head.epoch_id).then_some(head.epoch_id);
    Ok(BlockPlan {
        validated,
        retire,
        add,
    })
}

/// Write what [`plan_block`] decided.
pub fn commit_block<S: LightClientStore>(
    store: &mut S,
    plan: BlockPlan<S::Prepared>,
) -> ValidatedBlock {
    if let Some(epoch_id) = &plan.retire {
        store.remove_epoch_producers(epoch_id);
    }
    if let Some((epoch_id, producers)) = plan.add {
        store.insert_epoch_producers(epoch_id, producers);
    }
    store.accept(Head::from(&plan.validated));
    plan.validated
}

/// What initialisation or an authorised reset installs: a trusted head and the producer sets it
/// implies. `epoch_bps` are the ordered producers of the head's epoch; `next_bps` (checked
/// against the head's `next_bp_hash`) those of the next epoch. At least one must be given.
pub struct TrustedState {
    pub head: Head,
    pub epochs: Vec<(CryptoHash, EpochProducers)>,
}

pub fn trusted_state<C: Crypto>(
    c: &C,
    header: &LightClientBlockLiteView,
    epoch_bps: Option<Vec<ValidatorStakeView>>,
    next_bps: Option<Vec<ValidatorStakeView>>,
) -> Result<TrustedState, Error> {
    let inner = &header.inner_lite;
    let head = Head {
        height: inner.height,
        hash: block_hash(c, header),
        epoch_id: inner.epoch_id,
        next_epoch_id: inner.next_epoch_id,
        block_merkle_root: inner.block_merkle_root,
        timestamp: inner.timestamp,
    };
    let mut epochs = Vec::new();
    if let Some(bps) = epoch_bps {
        epochs.push((inner.epoch_id, EpochProducers::new(bps)?));
    }
    if let Some(bps) = next_bps {
        if bp_hash(c, &bps) != inner.next_bp_hash {
            return Err(Error::NextBpsHashMismatch);
        }
        epochs.push((inner.next_epoch_id, EpochProducers::new(bps)?));
    }
    if epochs.is_empty() {
        return Err(Error::InvalidInput(
            "a producer set for the head's epoch or the next one is required".into(),
        ));
    }
    Ok(TrustedState { head, epochs })
}

/// In-memory light client for native use (CLI, service, tests). Keeps every accepted block.
#[derive(Clone, Debug)]
pub struct LightClient {
    head: Head,
    epochs: BTreeMap<CryptoHash, EpochProducers>,
    blocks: BTreeMap<u64, StoredBlock>,
}

impl LightClient {
    pub fn new(state: TrustedState) -> Self {
        let mut blocks = BTreeMap::new();
        blocks.insert(state.head.height, StoredBlock::from(&state.head));
        LightClient {
            head: state.head,
            epochs: state.epochs.into_iter().collect(),
            blocks,
        }
    }

    pub fn apply<C: Crypto>(
        &mut self,
        c: &C,
        block: &LightClientBlockView,
    ) -> Result<ValidatedBlock, Error> {
        apply_block(self, c, block)
    }

    pub fn head_view(&self) -> &Head {
        &self.head
    }

    pub fn block(&self, height: u64) -> Option<&StoredBlock> {
        self.blocks.get(&height)
    }

    pub fn epochs(&self) -> impl Iterator<Item = &CryptoHash> {
        self.epochs.keys()
    }
}

impl LightClient {
    /// A copy of the producers of an epoch.
    pub fn epoch_producers(&self, epoch_id: &CryptoHash) -> Option<EpochProducers> {
        self.epochs.get(epoch_id).cloned()
    }
}

impl LightClientStore for LightClient {
    type Producers<'a> = &'a EpochProducers;
    type Prepared = EpochProducers;

    fn head(&self) -> Head {
        self.head.clone()
    }
    fn producers(&self, epoch_id: &CryptoHash) -> Option<&EpochProducers> {
        self.epochs.get(epoch_id)
    }
    fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> bool {
        self.epochs.contains_key(epoch_id)
    }
    fn prepare_producers(&self, bps: &BpsRef<'_>) -> Result<EpochProducers, Error> {
        let views: Vec<ValidatorStakeView> =
            borsh::from_slice(bps.raw).map_err(|_| Error::InvalidProducerSet)?;
        EpochProducers::new(views)
    }
    fn insert_epoch_producers(&mut self, epoch_id: CryptoHash, producers: EpochProducers) {
        self.epochs.insert(epoch_id, producers);
    }
    fn remove_epoch_producers(&mut self, epoch_id: &CryptoHash) {
        self.epochs.remove(epoch_id);
    }
    fn accept(&mut self, head: Head) {
        self.blocks.insert(head.height, StoredBlock::from(&head));
        self.head = head;
    }
}

/// The trusted state the CLI and the tests start from: `head` with its own `next_bps` (if any),
/// and `bps`, the ordered producers of the epoch of the first block to apply (`first_epoch`).
/// When that epoch is the head's next one, `bps` must match the head's `next_bp_hash`.
pub fn trusted_state_for<C: Crypto>(
    c: &C,
    head: &LightClientBlockLiteView,
    head_next_bps: Option<Vec<ValidatorStakeView>>,
    bps: Option<Vec<ValidatorStakeView>>,
    first_epoch: Option<&CryptoHash>,
) -> Result<TrustedState, Error> {
    let inner = &head.inner_lite;
    match bps {
        Some(bps)
            if first_epoch == Some(&inner.next_epoch_id)
                && inner.next_epoch_id != inner.epoch_id =>
        {
            trusted_state(c, head, None, Some(bps))
        }
        Some(bps) => trusted_state(c, head, Some(bps), head_next_bps),
        None => trusted_state(c, head, None, head_next_bps),
    }
}
