//! Storage behind `xsc_core::client::LightClientStore`, and the bounded window of blocks.

use crate::{BlockRoots, LightClient};
use xsc_core::block::EpochProducers;
use xsc_core::client::{Head, LightClientStore, StoredBlock};
use xsc_core::CryptoHash;

/// Blocks pruned per insertion at most: once the window is full each new block evicts one; after
/// the window shrinks, the surplus goes two per block, so no call does unbounded work.
const MAX_PRUNE_PER_BLOCK: u64 = 2;

impl LightClientStore for LightClient {
    fn head(&self) -> Head {
        self.head.clone()
    }
    fn producers(&self, epoch_id: &CryptoHash) -> Option<&EpochProducers> {
        self.epochs.get(epoch_id)
    }
    fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> bool {
        self.known_epochs.contains(epoch_id)
    }
    fn insert_epoch_producers(&mut self, epoch_id: CryptoHash, producers: EpochProducers) {
        if !self.known_epochs.contains(&epoch_id) {
            self.known_epochs.push(epoch_id);
        }
        self.epochs.insert(epoch_id, producers);
    }
    fn remove_epoch_producers(&mut self, epoch_id: &CryptoHash) {
        self.known_epochs.retain(|e| e != epoch_id);
        self.epochs.remove(epoch_id);
    }
    fn set_head(&mut self, head: Head) {
        self.head = head;
    }
    fn store_block(&mut self, block: StoredBlock) {
        self.push_block(block);
    }
}

impl LightClient {
    pub(crate) fn push_block(&mut self, block: StoredBlock) {
        self.blocks.insert(
            block.height,
            BlockRoots {
                hash: block.hash,
                block_merkle_root: block.block_merkle_root,
            },
        );
        self.queue.insert(self.queue_next, block.height);
        self.queue_next += 1;
        let mut pruned = 0;
        while self.queue_next - self.queue_first > u64::from(self.max_stored_blocks)
            && pruned < MAX_PRUNE_PER_BLOCK
        {
            if let Some(height) = self.queue.remove(&self.queue_first) {
                self.blocks.remove(&height);
            }
            self.queue_first += 1;
            pruned += 1;
        }
    }

    pub(crate) fn stored_block(&self, height: u64) -> Option<StoredBlock> {
        self.blocks.get(&height).map(|r| StoredBlock {
            height,
            hash: r.hash,
            block_merkle_root: r.block_merkle_root,
        })
    }

    pub(crate) fn oldest_stored_height(&self) -> Option<u64> {
        self.queue.get(&self.queue_first).copied()
    }

    pub(crate) fn stored_count(&self) -> u64 {
        self.queue_next - self.queue_first
    }
}
