//! Validating a light client block: the rules of `shared/notes/light-client.md`.

use crate::block_ref::{Approval, BlockRef};
use crate::crypto::Crypto;
use crate::error::Error;
use crate::hashing::{approval_message, block_and_next_hash_ref};
use crate::primitives::{CryptoHash, Signature};
use crate::producers::ProducerSet;
use crate::views::{LightClientBlockView, ValidatorStakeView};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Largest producer set accepted (mainnet has 100 seats). Bounds storage and gas per epoch.
pub const MAX_PRODUCERS: usize = 1024;

/// The ordered block producers of one epoch, with what verification needs precomputed once per
/// epoch instead of once per block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EpochProducers {
    /// In the epoch's order: `approvals_after_next[i]` belongs to `producers[i]`.
    pub producers: Vec<ValidatorStakeView>,
    /// Sum of the stake of every producer (not only of those who approved).
    pub total_stake: u128,
    /// Indices into `producers` by descending stake (ties by index), so that verification can
    /// stop as soon as more than 2/3 of the stake is proven.
    pub by_stake: Vec<u16>,
}

impl EpochProducers {
    pub fn new(producers: Vec<ValidatorStakeView>) -> Result<Self, Error> {
        if producers.is_empty() || producers.len() > MAX_PRODUCERS {
            return Err(Error::InvalidProducerSet);
        }
        let mut total: u128 = 0;
        for p in &producers {
            total = total.checked_add(p.stake()).ok_or(Error::StakeOverflow)?;
        }
        // 3 * total must not overflow in the threshold comparison.
        if total.checked_mul(3).is_none() {
            return Err(Error::StakeOverflow);
        }
        let mut stakes: Vec<(u128, u16)> = producers
            .iter()
            .enumerate()
            .map(|(i, p)| (p.stake(), i as u16))
            .collect();
        crate::producers::sort_by_stake(&mut stakes);
        let by_stake: Vec<u16> = stakes.into_iter().map(|(_, i)| i).collect();
        Ok(EpochProducers {
            producers,
            total_stake: total,
            by_stake,
        })
    }
}

/// What a valid block proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatedBlock {
    pub height: u64,
    pub hash: CryptoHash,
    pub epoch_id: CryptoHash,
    pub next_epoch_id: CryptoHash,
    pub block_merkle_root: CryptoHash,
    pub timestamp: u64,
    pub approved_stake: u128,
    pub total_stake: u128,
    /// Signatures verified (each costs one `ed25519_verify`).
    pub signatures_checked: u32,
}

/// Verify a block on its own against the producers of its epoch: `next_bps` against
/// `next_bp_hash` (when present), then the approvals. Cheap checks come before signatures.
pub fn verify_block<C: Crypto>(
    c: &C,
    producers: &EpochProducers,
    block: &LightClientBlockView,
) -> Result<ValidatedBlock, Error> {
    let bytes = borsh::to_vec(block).map_err(|_| Error::InvalidInput("block encoding".into()))?;
    verify_block_ref(c, producers, &BlockRef::parse(&bytes)?)
}

/// [`verify_block`] on a block borrowed from its borsh bytes, against any [`ProducerSet`].
pub fn verify_block_ref<C: Crypto, P: ProducerSet>(
    c: &C,
    producers: &P,
    block: &BlockRef<'_>,
) -> Result<ValidatedBlock, Error> {
    if let Some(next_bps) = &block.next_bps {
        if next_bps.count == 0 || next_bps.count > MAX_PRODUCERS {
            return Err(Error::InvalidProducerSet);
        }
        // The raw list bytes are exactly the borsh that `next_bp_hash` commits to.
        if CryptoHash(c.sha256(next_bps.raw)) != block.next_bp_hash() {
            return Err(Error::NextBpsHashMismatch);
        }
    }

    let (hash, next_hash) = block_and_next_hash_ref(c, block);
    let message = approval_message(&next_hash, block.height());
    let (approved, checked) = verify_approvals_ref(c, producers, &block.approvals, &message)?;

    Ok(ValidatedBlock {
        height: block.height(),
        hash,
        epoch_id: block.epoch_id(),
        next_epoch_id: block.next_epoch_id(),
        block_merkle_root: block.block_merkle_root(),
        timestamp: block.timestamp(),
        approved_stake: approved,
        total_stake: producers.total_stake(),
        signatures_checked: checked,
    })
}

/// Rules 5, 6 and 8 on decoded views (see [`verify_approvals_ref`]).
pub fn verify_approvals<C: Crypto>(
    c: &C,
    producers: &EpochProducers,
    approvals: &[Option<Signature>],
    message: &[u8],
) -> Result<(u128, u32), Error> {
    let approvals: Vec<Approval<'_>> = approvals
        .iter()
        .map(|a| match a {
            None => Approval::Absent,
            Some(Signature::Ed25519(s)) => Approval::Ed25519(s),
            Some(Signature::Secp256k1(_)) => Approval::Secp256k1,
        })
        .collect();
    verify_approvals_ref(c, producers, &approvals, message)
}

/// Rules 5, 6 and 8: `approvals[i]` belongs to producer `i`; entries past the producer list
/// belong to the next epoch and are ignored; missing entries are absent; the threshold is over
/// the stake of *every* producer. Signatures are checked by descending stake and checking stops
/// once more than 2/3 is proven (about half the work on mainnet). Every signature that is checked
/// must be valid.
pub fn verify_approvals_ref<C: Crypto, P: ProducerSet>(
    c: &C,
    producers: &P,
    approvals: &[Approval<'_>],
    message: &[u8],
) -> Result<(u128, u32), Error> {
    let total = producers.total_stake();
    let n = producers.count();
    // Structural checks first: a wrong type anywhere is a clear rejection, never a host abort.
    for (index, approval) in approvals.iter().enumerate().take(n) {
        match approval {
            Approval::Absent => {}
            Approval::Secp256k1 => return Err(Error::UnsupportedSignature { index }),
            Approval::Ed25519(_) => {
                if producers.ed25519_key(index).is_none() {
                    return Err(Error::UnsupportedKey { index });
                }
            }
        }
    }
    let mut approved: u128 = 0;
    let mut checked = 0u32;
    for k in 0..n {
        let index = producers.by_stake(k);
        let (Some(Approval::Ed25519(sig)), Some(key)) =
            (approvals.get(index), producers.ed25519_key(index))
        else {
            continue;
        };
        checked += 1;
        if !c.ed25519_verify(sig, message, key) {
            return Err(Error::InvalidSignature { index });
        }
        approved += producers.stake(index);
        if approved * 3 > total * 2 {
            return Ok((approved, checked));
        }
    }
    Err(Error::NotEnoughApprovals { approved, total })
}
