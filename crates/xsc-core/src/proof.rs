//! Verifying an `EXPERIMENTAL_light_client_proof` result: outcome → shard outcome root →
//! block outcome root → header hash → a trusted `block_merkle_root`.

use crate::client::StoredBlock;
use crate::crypto::Crypto;
use crate::error::Error;
use crate::hashing::{block_hash, fold_path, sha256};
use crate::primitives::CryptoHash;
use crate::views::{ExecutionOutcomeView, ExecutionStatusView, LightClientExecutionProof};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Longest merkle path accepted in any of the three paths (a block tree of 2^64 blocks has a
/// path of 64 items); bounds the work a caller can make the verifier do.
pub const MAX_MERKLE_PATH: usize = 64;

/// What a valid proof establishes about one execution outcome (a transaction or a receipt).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProvenOutcome {
    /// Transaction hash or receipt id.
    pub id: CryptoHash,
    /// The block whose header carries the outcome root (the next block with a chunk for the shard).
    pub block_hash: CryptoHash,
    pub block_height: u64,
    pub executor_id: String,
    pub status: ExecutionStatusView,
    pub logs: Vec<String>,
    pub receipt_ids: Vec<CryptoHash>,
    pub gas_burnt: u64,
    #[serde(with = "crate::primitives::dec_str")]
    pub tokens_burnt: u128,
}

/// `sha256(u32_le(n) ‖ id ‖ sha256(partial) ‖ sha256(log_0) ‖ …)` where `partial` is the borsh
/// of (receipt_ids, gas_burnt, tokens_burnt, executor_id, status).
pub fn outcome_leaf<C: Crypto>(
    c: &C,
    id: &CryptoHash,
    outcome: &ExecutionOutcomeView,
) -> CryptoHash {
    #[derive(BorshSerialize)]
    struct Partial<'a> {
        receipt_ids: &'a Vec<CryptoHash>,
        gas_burnt: u64,
        tokens_burnt: u128,
        executor_id: &'a String,
        status: &'a ExecutionStatusView,
    }
    let partial = borsh::to_vec(&Partial {
        receipt_ids: &outcome.receipt_ids,
        gas_burnt: outcome.gas_burnt,
        tokens_burnt: outcome.tokens_burnt,
        executor_id: &outcome.executor_id,
        status: &outcome.status,
    })
    .unwrap_or_default();
    let n = 2 + outcome.logs.len();
    let mut buf = Vec::with_capacity(4 + 32 * n);
    buf.extend_from_slice(&(n as u32).to_le_bytes());
    buf.extend_from_slice(&id.0);
    buf.extend_from_slice(&sha256(c, &partial).0);
    for log in &outcome.logs {
        buf.extend_from_slice(&sha256(c, log.as_bytes()).0);
    }
    sha256(c, &buf)
}

/// Check the proof up to the header and return the header hash folded through `block_proof`
/// (the root it claims) together with the proven outcome.
fn verify_to_root<C: Crypto>(
    c: &C,
    proof: &LightClientExecutionProof,
) -> Result<(CryptoHash, ProvenOutcome), Error> {
    let op = &proof.outcome_proof;
    if op.proof.len() > MAX_MERKLE_PATH
        || proof.outcome_root_proof.len() > MAX_MERKLE_PATH
        || proof.block_proof.len() > MAX_MERKLE_PATH
    {
        return Err(Error::ProofPathTooLong);
    }
    let leaf = outcome_leaf(c, &op.id, &op.outcome);
    let shard_root = fold_path(c, leaf, &op.proof);
    let outcome_root = fold_path(c, sha256(c, &shard_root.0), &proof.outcome_root_proof);
    if outcome_root != proof.block_header_lite.inner_lite.outcome_root {
        return Err(Error::OutcomeRootMismatch);
    }
    let header_hash = block_hash(c, &proof.block_header_lite);
    if header_hash != op.block_hash {
        return Err(Error::BlockHashMismatch);
    }
    let root = fold_path(c, header_hash, &proof.block_proof);
    let outcome = ProvenOutcome {
        id: op.id,
        block_hash: header_hash,
        block_height: proof.block_header_lite.inner_lite.height,
        executor_id: op.outcome.executor_id.clone(),
        status: op.outcome.status.clone(),
        logs: op.outcome.logs.clone(),
        receipt_ids: op.outcome.receipt_ids.clone(),
        gas_burnt: op.outcome.gas_burnt,
        tokens_burnt: op.outcome.tokens_burnt,
    };
    Ok((root, outcome))
}

/// Verify a proof against a trusted root: a `block_merkle_root`, or the block hash itself when
/// `block_proof` is empty (the proven block is the trusted block).
pub fn verify_outcome_proof<C: Crypto>(
    c: &C,
    proof: &LightClientExecutionProof,
    root: &CryptoHash,
) -> Result<ProvenOutcome, Error> {
    let (folded, outcome) = verify_to_root(c, proof)?;
    if &folded != root {
        return Err(Error::BlockRootMismatch);
    }
    Ok(outcome)
}

/// Verify a proof against a block the light client stores. An empty `block_proof` must prove
/// that very block (compared with its hash); otherwise the path must lead to its
/// `block_merkle_root`, which covers only earlier blocks. A hash is never accepted in place of a
/// merkle root or the reverse.
pub fn verify_outcome_proof_at<C: Crypto>(
    c: &C,
    proof: &LightClientExecutionProof,
    trusted: &StoredBlock,
) -> Result<ProvenOutcome, Error> {
    let proof_height = proof.block_header_lite.inner_lite.height;
    let root_height = trusted.height;
    let root = if proof.block_proof.is_empty() {
        if proof_height != root_height {
            return Err(Error::ProofHeightMismatch {
                proof_height,
                root_height,
            });
        }
        &trusted.hash
    } else {
        if proof_height >= root_height {
            return Err(Error::ProofBlockTooNew {
                proof_height,
                root_height,
            });
        }
        &trusted.block_merkle_root
    };
    verify_outcome_proof(c, proof, root)
}
