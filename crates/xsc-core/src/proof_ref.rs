//! An `EXPERIMENTAL_light_client_proof` result read in place from its borsh bytes, verified,
//! and its [`ProvenOutcome`] written as borsh by concatenating slices of the input (what the
//! contract returns to connectors and forwards to receivers, without decoding the outcome's
//! strings and vectors into owned values).
//!
//! Borsh layout of `LightClientExecutionProof`: `outcome_proof { proof: Vec<MerklePathItem>,
//! block_hash[32], id[32], outcome { logs: Vec<String>, receipt_ids: Vec<[32]>, gas_burnt u64,
//! tokens_burnt u128, executor_id: String, status } } ‖ outcome_root_proof ‖
//! block_header_lite { prev_block_hash[32], inner_rest_hash[32], inner_lite[208] } ‖
//! block_proof`. The outcome's `receipt_ids ‖ gas_burnt ‖ tokens_burnt ‖ executor_id ‖ status`
//! is contiguous and is exactly the "partial outcome" nearcore hashes.

use crate::client::StoredBlock;
use crate::crypto::Crypto;
use crate::error::Error;
use crate::primitives::CryptoHash;
use crate::proof::{ProvenOutcome, MAX_MERKLE_PATH};
use crate::views::LightClientExecutionProof;
use crate::wire::Reader;

/// A merkle path borrowed from borsh: `count` items of `hash[32] ‖ direction u8` (0 = Left).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathRef<'a> {
    items: &'a [u8],
    count: usize,
}

impl<'a> PathRef<'a> {
    fn read(r: &mut Reader<'a>, what: &'static str) -> Result<Self, Error> {
        let count = r.len(33, what)?;
        let start = r.pos();
        for _ in 0..count {
            r.array::<32>(what)?;
            r.tag(2, what)?;
        }
        Ok(PathRef {
            items: &r.buf()[start..r.pos()],
            count,
        })
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Fold `leaf` up the path: `Left` items go before the running hash, `Right` after.
    pub fn fold<C: Crypto>(&self, c: &C, leaf: CryptoHash) -> CryptoHash {
        let mut acc = leaf;
        let mut buf = [0u8; 64];
        for item in self.items.chunks_exact(33) {
            if item[32] == 0 {
                buf[..32].copy_from_slice(&item[..32]);
                buf[32..].copy_from_slice(&acc.0);
            } else {
                buf[..32].copy_from_slice(&acc.0);
                buf[32..].copy_from_slice(&item[..32]);
            }
            acc = CryptoHash(c.sha256(&buf));
        }
        acc
    }
}

/// A light client proof borrowed from its borsh bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofRef<'a> {
    pub outcome_path: PathRef<'a>,
    pub block_hash: &'a [u8; 32],
    pub id: &'a [u8; 32],
    /// `Vec<String>` of the logs, with its length prefix.
    pub logs_raw: &'a [u8],
    pub logs: Vec<&'a [u8]>,
    /// `receipt_ids ‖ gas_burnt ‖ tokens_burnt ‖ executor_id ‖ status`: the hashed partial
    /// outcome.
    pub partial: &'a [u8],
    /// Borsh `Vec<CryptoHash>` of the receipt ids (inside `partial`).
    pub receipt_ids_raw: &'a [u8],
    pub gas_burnt: u64,
    pub tokens_burnt: u128,
    pub executor_id: &'a str,
    /// Borsh `String` of the executor (inside `partial`).
    pub executor_raw: &'a [u8],
    /// Borsh `ExecutionStatusView` (inside `partial`).
    pub status_raw: &'a [u8],
    pub outcome_root_path: PathRef<'a>,
    pub prev_block_hash: &'a [u8; 32],
    pub inner_rest_hash: &'a [u8; 32],
    pub inner_lite: &'a [u8; 208],
    pub block_path: PathRef<'a>,
}

impl<'a> ProofRef<'a> {
    /// Read a proof from a reader (it is followed by more arguments in the contract's calls).
    pub fn read(r: &mut Reader<'a>) -> Result<Self, Error> {
        let outcome_path = PathRef::read(r, "outcome_proof.proof")?;
        let block_hash = r.array::<32>("outcome_proof.block_hash")?;
        let id = r.array::<32>("outcome_proof.id")?;
        let logs_start = r.pos();
        let n_logs = r.len(4, "outcome.logs length")?;
        let mut logs = Vec::with_capacity(n_logs);
        for _ in 0..n_logs {
            logs.push(r.string("outcome.logs")?.as_bytes());
        }
        let logs_raw = &r.buf()[logs_start..r.pos()];
        let partial_start = r.pos();
        let n_receipts = r.len(32, "outcome.receipt_ids length")?;
        r.bytes(32 * n_receipts, "outcome.receipt_ids")?;
        let receipt_ids_raw = &r.buf()[partial_start..r.pos()];
        let gas_burnt = r.u64("outcome.gas_burnt")?;
        let tokens_burnt = r.u128("outcome.tokens_burnt")?;
        let executor_start = r.pos();
        let executor_id = r.string("outcome.executor_id")?;
        let executor_raw = &r.buf()[executor_start..r.pos()];
        let status_start = r.pos();
        match r.tag(4, "outcome.status")? {
            2 => {
                r.byte_vec("outcome.status: SuccessValue")?;
            }
            3 => {
                r.array::<32>("outcome.status: SuccessReceiptId")?;
            }
            _ => {}
        }
        let status_raw = &r.buf()[status_start..r.pos()];
        let partial = &r.buf()[partial_start..r.pos()];
        let outcome_root_path = PathRef::read(r, "outcome_root_proof")?;
        let prev_block_hash = r.array::<32>("block_header_lite.prev_block_hash")?;
        let inner_rest_hash = r.array::<32>("block_header_lite.inner_rest_hash")?;
        let inner_lite = r.array::<208>("block_header_lite.inner_lite")?;
        let block_path = PathRef::read(r, "block_proof")?;
        Ok(ProofRef {
            outcome_path,
            block_hash,
            id,
            logs_raw,
            logs,
            partial,
            receipt_ids_raw,
            gas_burnt,
            tokens_burnt,
            executor_id,
            executor_raw,
            status_raw,
            outcome_root_path,
            prev_block_hash,
            inner_rest_hash,
            inner_lite,
            block_path,
        })
    }

    /// Height of the proven block (its header).
    pub fn block_height(&self) -> u64 {
        let mut h = [0u8; 8];
        h.copy_from_slice(&self.inner_lite[..8]);
        u64::from_le_bytes(h)
    }

    fn outcome_root(&self) -> CryptoHash {
        let mut h = [0u8; 32];
        h.copy_from_slice(&self.inner_lite[104..136]);
        CryptoHash(h)
    }
}

fn sha<C: Crypto>(c: &C, data: &[u8]) -> CryptoHash {
    CryptoHash(c.sha256(data))
}

fn sha_pair<C: Crypto>(c: &C, a: &[u8; 32], b: &[u8; 32]) -> CryptoHash {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a);
    buf[32..].copy_from_slice(b);
    sha(c, &buf)
}

/// Verify a proof against a block the light client stores (the rules of
/// [`crate::proof::verify_outcome_proof_at`]: an empty `block_proof` proves that very block,
/// compared with its hash; otherwise the path must lead to its `block_merkle_root`, which
/// covers only earlier blocks) and return the borsh of the [`ProvenOutcome`], built from
/// slices of the input.
pub fn verify_proof_ref<C: Crypto>(
    c: &C,
    proof: &ProofRef<'_>,
    trusted: &StoredBlock,
) -> Result<Vec<u8>, Error> {
    let proof_height = proof.block_height();
    let root_height = trusted.height;
    let root = if proof.block_path.is_empty() {
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
    verify_proof_root_ref(c, proof, root)
}

/// Verify a proof against a trusted root (a `block_merkle_root`, or the block hash itself when
/// `block_proof` is empty) and return the borsh of the [`ProvenOutcome`].
pub fn verify_proof_root_ref<C: Crypto>(
    c: &C,
    proof: &ProofRef<'_>,
    root: &CryptoHash,
) -> Result<Vec<u8>, Error> {
    let proof_height = proof.block_height();
    if proof.outcome_path.len() > MAX_MERKLE_PATH
        || proof.outcome_root_path.len() > MAX_MERKLE_PATH
        || proof.block_path.len() > MAX_MERKLE_PATH
    {
        return Err(Error::ProofPathTooLong);
    }
    // leaf = sha256(u32(n) ‖ id ‖ sha256(partial) ‖ sha256(log_0) ‖ …)
    let n = 2 + proof.logs.len();
    let mut buf = Vec::with_capacity(4 + 32 * n);
    buf.extend_from_slice(&(n as u32).to_le_bytes());
    buf.extend_from_slice(proof.id);
    buf.extend_from_slice(&sha(c, proof.partial).0);
    for log in &proof.logs {
        buf.extend_from_slice(&sha(c, log).0);
    }
    let leaf = sha(c, &buf);
    let shard_root = proof.outcome_path.fold(c, leaf);
    let outcome_root = proof.outcome_root_path.fold(c, sha(c, &shard_root.0));
    if outcome_root != proof.outcome_root() {
        return Err(Error::OutcomeRootMismatch);
    }
    let lite = sha(c, proof.inner_lite);
    let inner = sha_pair(c, &lite.0, proof.inner_rest_hash);
    let header_hash = sha_pair(c, &inner.0, proof.prev_block_hash);
    if &header_hash.0 != proof.block_hash {
        return Err(Error::BlockHashMismatch);
    }
    if &proof.block_path.fold(c, header_hash) != root {
        return Err(Error::BlockRootMismatch);
    }
    // ProvenOutcome { id, block_hash, block_height, executor_id, status, logs, receipt_ids,
    // gas_burnt, tokens_burnt } in borsh.
    let mut out = Vec::with_capacity(
        32 + 32
            + 8
            + proof.executor_raw.len()
            + proof.status_raw.len()
            + proof.logs_raw.len()
            + proof.receipt_ids_raw.len()
            + 8
            + 16,
    );
    out.extend_from_slice(proof.id);
    out.extend_from_slice(&header_hash.0);
    out.extend_from_slice(&proof_height.to_le_bytes());
    out.extend_from_slice(proof.executor_raw);
    out.extend_from_slice(proof.status_raw);
    out.extend_from_slice(proof.logs_raw);
    out.extend_from_slice(proof.receipt_ids_raw);
    out.extend_from_slice(&proof.gas_burnt.to_le_bytes());
    out.extend_from_slice(&proof.tokens_burnt.to_le_bytes());
    Ok(out)
}

/// Parse `(LightClientExecutionProof, u64)` (what `verify_outcome` receives), no trailing
/// bytes.
pub fn parse_proof_and_height(bytes: &[u8]) -> Result<(ProofRef<'_>, u64), Error> {
    let mut r = Reader::new(bytes);
    let proof = ProofRef::read(&mut r)?;
    let height = r.u64("height")?;
    r.finish("trailing bytes after the arguments")?;
    Ok((proof, height))
}

/// Decode the borsh [`verify_proof_ref`] returns.
pub fn decode_outcome(bytes: &[u8]) -> Result<ProvenOutcome, Error> {
    borsh::from_slice(bytes).map_err(|_| Error::InvalidInput("proven outcome encoding".into()))
}

/// Borsh-encode a decoded proof and read it back in place (native callers go through the same
/// code as the contract).
pub(crate) fn with_ref<T>(
    proof: &LightClientExecutionProof,
    f: impl FnOnce(&ProofRef<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let bytes = borsh::to_vec(proof).map_err(|_| Error::InvalidInput("proof encoding".into()))?;
    let mut r = Reader::new(&bytes);
    let p = ProofRef::read(&mut r)?;
    r.finish("trailing bytes after the proof")?;
    f(&p)
}
