//! Verifying an `EXPERIMENTAL_light_client_proof` result: outcome → shard outcome root →
//! block outcome root → header hash → a trusted `block_merkle_root`.

use crate::client::StoredBlock;
use crate::crypto::Crypto;
use crate::error::Error;
use crate::hashing::sha256;
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

/// Verify a proof against a trusted root: a `block_merkle_root`, or the block hash itself when
/// `block_proof` is empty (the proven block is the trusted block). Runs the contract's
/// zero-copy verifier ([`crate::proof_ref`]) on the proof's borsh.
pub fn verify_outcome_proof<C: Crypto>(
    c: &C,
    proof: &LightClientExecutionProof,
    root: &CryptoHash,
) -> Result<ProvenOutcome, Error> {
    let bytes = crate::proof_ref::with_ref(proof, |p| {
        crate::proof_ref::verify_proof_root_ref(c, p, root)
    })?;
    crate::proof_ref::decode_outcome(&bytes)
}

/// Verify a proof against a block the light client stores. An empty `block_proof` must prove
/// that very block (compared with its hash); otherwise the path must lead to its
/// `block_merkle_root`, which covers only earlier blocks. A hash is never accepted in place of a
/// merkle root or the reverse. Runs the contract's zero-copy verifier on the proof's borsh.
pub fn verify_outcome_proof_at<C: Crypto>(
    c: &C,
    proof: &LightClientExecutionProof,
    trusted: &StoredBlock,
) -> Result<ProvenOutcome, Error> {
    let bytes =
        crate::proof_ref::with_ref(proof, |p| crate::proof_ref::verify_proof_ref(c, p, trusted))?;
    crate::proof_ref::decode_outcome(&bytes)
}
