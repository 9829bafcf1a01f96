//! Hashes nearcore computes over headers, producer sets and merkle paths.

use crate::block_ref::BlockRef;
use crate::crypto::Crypto;
use crate::primitives::CryptoHash;
use crate::views::{
    BlockHeaderInnerLiteView, Direction, LightClientBlockLiteView, LightClientBlockView,
    MerklePathItem, ValidatorStakeView,
};

/// Approval message prefix: `ApprovalInner::Endorsement`.
const ENDORSEMENT: u8 = 0;

fn hash<C: Crypto>(c: &C, data: &[u8]) -> CryptoHash {
    CryptoHash(c.sha256(data))
}

fn hash_pair<C: Crypto>(c: &C, a: &CryptoHash, b: &CryptoHash) -> CryptoHash {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&a.0);
    buf[32..].copy_from_slice(&b.0);
    hash(c, &buf)
}

/// The 208-byte borsh of `BlockHeaderInnerLite`.
pub fn inner_lite_bytes(inner: &BlockHeaderInnerLiteView) -> [u8; 208] {
    let mut out = [0u8; 208];
    out[0..8].copy_from_slice(&inner.height.to_le_bytes());
    out[8..40].copy_from_slice(&inner.epoch_id.0);
    out[40..72].copy_from_slice(&inner.next_epoch_id.0);
    out[72..104].copy_from_slice(&inner.prev_state_root.0);
    out[104..136].copy_from_slice(&inner.outcome_root.0);
    out[136..144].copy_from_slice(&inner.timestamp.to_le_bytes());
    out[144..176].copy_from_slice(&inner.next_bp_hash.0);
    out[176..208].copy_from_slice(&inner.block_merkle_root.0);
    out
}

/// `sha256(sha256(borsh(inner_lite)) ‖ inner_rest_hash)`.
pub fn inner_hash<C: Crypto>(
    c: &C,
    inner: &BlockHeaderInnerLiteView,
    inner_rest_hash: &CryptoHash,
) -> CryptoHash {
    let lite = hash(c, &inner_lite_bytes(inner));
    hash_pair(c, &lite, inner_rest_hash)
}

/// `sha256(inner_hash ‖ prev_block_hash)`.
pub fn block_hash<C: Crypto>(c: &C, header: &LightClientBlockLiteView) -> CryptoHash {
    let inner = inner_hash(c, &header.inner_lite, &header.inner_rest_hash);
    hash_pair(c, &inner, &header.prev_block_hash)
}

/// Hash of a light client block and of the block after it.
pub fn block_and_next_hash<C: Crypto>(
    c: &C,
    block: &LightClientBlockView,
) -> (CryptoHash, CryptoHash) {
    let inner = inner_hash(c, &block.inner_lite, &block.inner_rest_hash);
    let current = hash_pair(c, &inner, &block.prev_block_hash);
    let next = hash_pair(c, &block.next_block_inner_hash, &current);
    (current, next)
}

/// [`block_and_next_hash`] on a block borrowed from its borsh bytes (the 208 inner-lite bytes
/// are hashed in place).
pub fn block_and_next_hash_ref<C: Crypto>(c: &C, block: &BlockRef<'_>) -> (CryptoHash, CryptoHash) {
    let lite = hash(c, block.inner_lite);
    let inner = hash_pair(c, &lite, &CryptoHash(*block.inner_rest_hash));
    let current = hash_pair(c, &inner, &CryptoHash(*block.prev_block_hash));
    let next = hash_pair(c, &CryptoHash(*block.next_block_inner_hash), &current);
    (current, next)
}

/// `0x00 ‖ next_block_hash ‖ u64_le(height + 2)`: what producers sign for the block after next.
pub fn approval_message(next_block_hash: &CryptoHash, height: u64) -> [u8; 41] {
    let mut msg = [0u8; 41];
    msg[0] = ENDORSEMENT;
    msg[1..33].copy_from_slice(&next_block_hash.0);
    msg[33..].copy_from_slice(&height.wrapping_add(2).to_le_bytes());
    msg
}

/// `sha256(borsh(Vec<ValidatorStakeView>))`, the value of `next_bp_hash`.
pub fn bp_hash<C: Crypto>(c: &C, bps: &[ValidatorStakeView]) -> CryptoHash {
    // Borsh of a slice equals borsh of the Vec; serializing into a Vec cannot fail.
    let bytes = borsh::to_vec(bps).unwrap_or_default();
    hash(c, &bytes)
}

/// Fold a merkle path: `Left` items go before the running hash, `Right` items after.
pub fn fold_path<C: Crypto>(c: &C, leaf: CryptoHash, path: &[MerklePathItem]) -> CryptoHash {
    path.iter().fold(leaf, |acc, item| match item.direction {
        Direction::Left => hash_pair(c, &item.hash, &acc),
        Direction::Right => hash_pair(c, &acc, &item.hash),
    })
}

pub(crate) fn sha256<C: Crypto>(c: &C, data: &[u8]) -> CryptoHash {
    hash(c, data)
}
