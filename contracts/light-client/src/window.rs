//! The proof window: which trusted blocks are kept, for how long, and at what storage.
//!
//! Two stores, both allocated in full when the contract is initialised (or resized), so that
//! relaying a block never grows storage:
//!
//! - **Recent heads, a ring by height.** Slot `height % ring_size` (its own storage key) holds
//!   the last block accepted at a height of that residue. A head is overwritten only by a head
//!   at least `ring_size` heights above it, whoever relays and however often: a relayer's proof
//!   against the head it just relayed stays valid while the other chain produces `ring_size`
//!   blocks, even if someone relays every block. One 72-byte write per block, one read per
//!   proof.
//! - **Checkpoints, spaced in time.** Time is this chain's block time, cut into buckets of
//!   `checkpoint_interval`. When a block is accepted in a later bucket than the head it
//!   replaces, that head (the last one of its bucket) becomes a checkpoint. Checkpoints form a
//!   FIFO of `capacity = ceil(retention / interval) + 1` entries in one storage value: pushes
//!   happen in strictly increasing buckets, so the entry evicted by a push is at least
//!   `(capacity - 1) * interval >= retention` older than that push, and it stopped being the
//!   head when it was pushed. Read only when a proof misses the ring; written once per
//!   interval at most.
//!
//! The guarantee (README): a proof against any block that was the head within the last
//! `retention` verifies, or the last head of the block's bucket is stored (as a checkpoint, or
//! as the current head) and was accepted less than `checkpoint_interval` after it: the proof
//! can be re-made against that block (RPC `EXPERIMENTAL_light_client_proof` with it as
//! `light_client_head`; every later block's `block_merkle_root` covers the earlier ones).
//!
//! Storage bound: `ring_size` ring records + one checkpoint value of `capacity` entries (see
//! [`WindowConfig::bound_bytes`]) + the two producer tables (at most `MAX_PRODUCERS` each).

use crate::error::ContractError;
use crate::{keys, LightClient};
use near_sdk::{env, near, require};
use xsc_core::client::{Head, StoredBlock};
use xsc_core::CryptoHash;

/// Bytes of one stored block: height ‖ hash ‖ block_merkle_root.
pub const RECORD: usize = 8 + 32 + 32;
/// Marks a ring slot that holds no block yet.
const EMPTY_HEIGHT: u64 = u64::MAX;

pub const DEFAULT_RING_SIZE: u32 = 128;
pub const MAX_RING_SIZE: u32 = 512;
pub const DEFAULT_RETENTION_HOURS: u32 = 72;
pub const DEFAULT_CHECKPOINT_INTERVAL_MINUTES: u32 = 60;
/// Largest checkpoint FIFO (one storage value of this many records).
pub const MAX_CHECKPOINTS: u32 = 512;
/// NEAR's per-record storage overhead (`num_extra_bytes_record`).
const RECORD_OVERHEAD: u64 = 40;

const NANOS_PER_MINUTE: u64 = 60_000_000_000;

/// What the window keeps. Part of the contract state; changed only by `ConfigManager`/`Dao`.
#[near(serializers = [borsh, json])]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowConfig {
    /// Recent heads kept regardless of relaying: the ring's size in heights.
    pub ring_size: u32,
    /// How long a block that stopped being the head stays provable (directly or through a
    /// checkpoint at most `checkpoint_interval_minutes` later).
    pub retention_hours: u32,
    pub checkpoint_interval_minutes: u32,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            ring_size: DEFAULT_RING_SIZE,
            retention_hours: DEFAULT_RETENTION_HOURS,
            checkpoint_interval_minutes: DEFAULT_CHECKPOINT_INTERVAL_MINUTES,
        }
    }
}

impl WindowConfig {
    /// Checkpoints needed for the guarantee: `ceil(retention / interval) + 1`.
    pub fn capacity(&self) -> u32 {
        let minutes = u64::from(self.retention_hours) * 60;
        let interval = u64::from(self.checkpoint_interval_minutes.max(1));
        (minutes.div_ceil(interval) + 1).min(u64::from(u32::MAX)) as u32
    }

    pub fn interval_nanos(&self) -> u64 {
        u64::from(self.checkpoint_interval_minutes) * NANOS_PER_MINUTE
    }

    /// Panics with `ERR_INVALID_WINDOW` unless every bound holds.
    pub fn require_valid(&self) {
        require!(
            (2..=MAX_RING_SIZE).contains(&self.ring_size)
                && self.retention_hours >= 1
                && self.checkpoint_interval_minutes >= 1
                && self.capacity() <= MAX_CHECKPOINTS,
            ContractError::InvalidWindow.as_str()
        );
    }

    /// Storage the window itself occupies, in bytes (keys, values and NEAR's per-record
    /// overhead); producer tables and the contract state come on top.
    pub fn bound_bytes(&self) -> u64 {
        let ring = u64::from(self.ring_size)
            * (keys::RING_KEY_LEN as u64 + RECORD as u64 + RECORD_OVERHEAD);
        let checkpoints = 1 + u64::from(self.capacity()) * RECORD as u64 + RECORD_OVERHEAD;
        ring + checkpoints
    }
}

/// Position of the checkpoint FIFO inside its storage value.
#[near(serializers = [borsh])]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoints {
    /// Records allocated in the value.
    pub capacity: u32,
    /// Physical index of the oldest entry.
    pub start: u32,
    pub len: u32,
}

fn encode_record(height: u64, hash: &CryptoHash, root: &CryptoHash) -> [u8; RECORD] {
    let mut out = [0u8; RECORD];
    out[..8].copy_from_slice(&height.to_le_bytes());
    out[8..40].copy_from_slice(&hash.0);
    out[40..].copy_from_slice(&root.0);
    out
}

fn decode_record(b: &[u8]) -> Option<StoredBlock> {
    if b.len() != RECORD {
        return None;
    }
    let mut h = [0u8; 8];
    h.copy_from_slice(&b[..8]);
    let height = u64::from_le_bytes(h);
    if height == EMPTY_HEIGHT {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&b[8..40]);
    let mut root = [0u8; 32];
    root.copy_from_slice(&b[40..72]);
    Some(StoredBlock {
        height,
        hash: CryptoHash(hash),
        block_merkle_root: CryptoHash(root),
    })
}

const EMPTY_RECORD: [u8; RECORD] = {
    let mut r = [0u8; RECORD];
    let mut i = 0;
    while i < 8 {
        r[i] = 0xff;
        i += 1;
    }
    r
};

fn ring_slot(height: u64, ring_size: u32) -> u32 {
    (height % u64::from(ring_size)) as u32
}

fn read_checkpoint_value() -> Vec<u8> {
    env::storage_read(&keys::checkpoints()).unwrap_or_default()
}

impl Checkpoints {
    fn physical(&self, k: u32) -> usize {
        ((self.start + k) % self.capacity.max(1)) as usize
    }

    /// Entries oldest first.
    pub fn entries(&self, value: &[u8]) -> Vec<StoredBlock> {
        (0..self.len)
            .filter_map(|k| {
                let at = self.physical(k) * RECORD;
                value.get(at..at + RECORD).and_then(decode_record)
            })
            .collect()
    }

    fn find(&self, value: &[u8], height: u64) -> Option<StoredBlock> {
        // Heights grow with each push: binary search over the FIFO order.
        let (mut lo, mut hi) = (0u32, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let at = self.physical(mid) * RECORD;
            let rec = decode_record(value.get(at..at + RECORD)?)?;
            match rec.height.cmp(&height) {
                core::cmp::Ordering::Equal => return Some(rec),
                core::cmp::Ordering::Less => lo = mid + 1,
                core::cmp::Ordering::Greater => hi = mid,
            }
        }
        None
    }
}

impl LightClient {
    /// Write every ring slot and the checkpoint value for `config` (initialisation, migration).
    pub(crate) fn allocate_window(&mut self, config: WindowConfig) {
        for slot in 0..config.ring_size {
            env::storage_write(&keys::ring(slot), &EMPTY_RECORD);
        }
        let capacity = config.capacity();
        env::storage_write(
            &keys::checkpoints(),
            &EMPTY_RECORD.repeat(capacity as usize),
        );
        self.window = config;
        self.checkpoints = Checkpoints {
            capacity,
            start: 0,
            len: 0,
        };
    }

    /// The accepted block becomes the head: its ring slot is written and, when it opens a new
    /// time bucket, the head it replaces becomes a checkpoint. `first` is initialisation (no
    /// previous head).
    pub(crate) fn record_head(&mut self, head: Head, first: bool) {
        let now = env::block_timestamp();
        if !first {
            let interval = self.window.interval_nanos().max(1);
            if now / interval != self.head_accepted_at / interval {
                let old = StoredBlock::from(&self.head);
                self.push_checkpoint(&old);
            }
        }
        self.write_ring(&StoredBlock::from(&head));
        self.head = head;
        self.head_accepted_at = now;
    }

    /// Put a block in its ring slot.
    pub(crate) fn write_ring(&mut self, block: &StoredBlock) {
        env::storage_write(
            &keys::ring(ring_slot(block.height, self.window.ring_size)),
            &encode_record(block.height, &block.hash, &block.block_merkle_root),
        );
    }

    fn push_checkpoint(&mut self, block: &StoredBlock) {
        let cp = &mut self.checkpoints;
        if cp.capacity == 0 {
            return;
        }
        let mut value = read_checkpoint_value();
        let pos = if cp.len < cp.capacity {
            cp.len += 1;
            cp.physical(cp.len - 1)
        } else {
            // Full: the oldest entry is evicted (it is older than the retention, see above).
            let p = cp.physical(0);
            cp.start = (cp.start + 1) % cp.capacity;
            p
        };
        let at = pos * RECORD;
        if let Some(slot) = value.get_mut(at..at + RECORD) {
            slot.copy_from_slice(&encode_record(
                block.height,
                &block.hash,
                &block.block_merkle_root,
            ));
        }
        env::storage_write(&keys::checkpoints(), &value);
    }

    /// The trusted block at `height`: in the ring, else among the checkpoints, else (after a
    /// migration, until pruned) in the previous version's window.
    pub(crate) fn stored_block(&self, height: u64) -> Option<StoredBlock> {
        let slot = ring_slot(height, self.window.ring_size);
        if let Some(b) = env::storage_read(&keys::ring(slot))
            .as_deref()
            .and_then(decode_record)
        {
            if b.height == height {
                return Some(b);
            }
        }
        if self.checkpoints.len > 0 {
            if let Some(b) = self.checkpoints.find(&read_checkpoint_value(), height) {
                return Some(b);
            }
        }
        self.legacy_block(height)
    }

    /// Every block in the ring, by height.
    pub(crate) fn ring_blocks(&self) -> Vec<StoredBlock> {
        let mut out: Vec<StoredBlock> = (0..self.window.ring_size)
            .filter_map(|slot| env::storage_read(&keys::ring(slot)))
            .filter_map(|v| decode_record(&v))
            .collect();
        // Heights are distinct (one block per slot, slots by height): unstable is exact.
        out.sort_unstable_by_key(|b| b.height);
        out
    }

    pub(crate) fn checkpoint_blocks(&self) -> Vec<StoredBlock> {
        self.checkpoints.entries(&read_checkpoint_value())
    }

    /// Change the ring size: every stored block moves to its slot under the new size (of two
    /// that collide, the higher stays), surplus slots are removed, new ones written empty.
    pub(crate) fn resize_ring(&mut self, ring_size: u32) {
        let old = self.window.ring_size;
        let blocks = self.ring_blocks();
        let mut slots: Vec<Option<StoredBlock>> = vec![None; ring_size as usize];
        for b in blocks {
            let s = ring_slot(b.height, ring_size) as usize;
            if slots[s].is_none_or(|o| o.height < b.height) {
                slots[s] = Some(b);
            }
        }
        for (slot, b) in slots.iter().enumerate() {
            let value = match b {
                Some(b) => encode_record(b.height, &b.hash, &b.block_merkle_root),
                None => EMPTY_RECORD,
            };
            env::storage_write(&keys::ring(slot as u32), &value);
        }
        for slot in ring_size..old {
            env::storage_remove(&keys::ring(slot));
        }
        self.window.ring_size = ring_size;
    }

    /// Change retention and interval: the FIFO is rebuilt at the new capacity, keeping the
    /// newest checkpoints that fit.
    pub(crate) fn reconfigure_checkpoints(&mut self, retention_hours: u32, interval_minutes: u32) {
        let entries = self.checkpoint_blocks();
        self.window.retention_hours = retention_hours;
        self.window.checkpoint_interval_minutes = interval_minutes;
        let capacity = self.window.capacity();
        let keep = entries.len().min(capacity as usize);
        let mut value = EMPTY_RECORD.repeat(capacity as usize);
        for (k, b) in entries[entries.len() - keep..].iter().enumerate() {
            value[k * RECORD..(k + 1) * RECORD].copy_from_slice(&encode_record(
                b.height,
                &b.hash,
                &b.block_merkle_root,
            ));
        }
        env::storage_write(&keys::checkpoints(), &value);
        self.checkpoints = Checkpoints {
            capacity,
            start: 0,
            len: keep as u32,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_covers_the_retention_plus_one_bucket() {
        let c = WindowConfig::default();
        assert_eq!(c.capacity(), 73);
        let c = WindowConfig {
            ring_size: 2,
            retention_hours: 1,
            checkpoint_interval_minutes: 7,
        };
        // 60 / 7 = 8.57 -> 9 intervals, + 1.
        assert_eq!(c.capacity(), 10);
    }

    #[test]
    fn records_round_trip_and_empty_is_none() {
        let r = encode_record(5, &CryptoHash([1; 32]), &CryptoHash([2; 32]));
        let b = decode_record(&r).unwrap();
        assert_eq!(b.height, 5);
        assert_eq!(b.hash, CryptoHash([1; 32]));
        assert_eq!(b.block_merkle_root, CryptoHash([2; 32]));
        assert!(decode_record(&EMPTY_RECORD).is_none());
        assert!(decode_record(&r[..71]).is_none());
    }
}
