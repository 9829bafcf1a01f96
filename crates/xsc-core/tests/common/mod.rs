//! Shared helpers of the negative and mutation tests: replaying the real manifest chains so that
//! every accepted block is available together with the exact light client state before it, and
//! the valid real outcome proofs with their trusted roots.
#![allow(dead_code)]

use xsc_core::{
    CryptoHash, EpochProducers, Error, LightClient, LightClientBlockView,
    LightClientExecutionProof, NativeCrypto, Signature, StoredBlock,
};
use xsc_vectors::{manifest, ChainCase, Verdict};

pub const C: NativeCrypto = NativeCrypto;

/// The light client a manifest chain starts from.
pub fn start(case: &ChainCase) -> LightClient {
    case.start()
}

/// One accepted step of a real chain, with the light client exactly as it was before the step.
#[derive(Clone)]
pub struct ChainStep {
    pub case: String,
    pub step: usize,
    /// The light client just before this block (head = previous accepted block).
    pub lc: LightClient,
    pub block: LightClientBlockView,
    /// The producers of the block's epoch as the light client holds them.
    pub producers: EpochProducers,
}

impl ChainStep {
    pub fn label(&self) -> String {
        format!(
            "{} step {} (height {})",
            self.case, self.step, self.block.inner_lite.height
        )
    }
    /// Does this block start the head's next epoch?
    pub fn changes_epoch(&self) -> bool {
        self.block.inner_lite.epoch_id != self.lc.head_view().epoch_id
    }
}

/// Every block the manifest expects to be accepted, each with the state before it (the chains
/// are replayed; replay itself must succeed).
pub fn accepted_steps() -> Vec<ChainStep> {
    let mut out = Vec::new();
    for case in &manifest().light_client_chains {
        let mut lc = start(case);
        for (i, step) in case.steps.iter().enumerate() {
            if step.expect != Verdict::Accept {
                continue;
            }
            let block = xsc_vectors::block(&step.block);
            let producers = lc
                .epoch_producers(&block.inner_lite.epoch_id)
                .unwrap_or_else(|| panic!("{} step {i}: producers unknown", case.name));
            out.push(ChainStep {
                case: case.name.clone(),
                step: i,
                lc: lc.clone(),
                block: block.clone(),
                producers,
            });
            lc.apply(&C, &block)
                .unwrap_or_else(|e| panic!("{} step {i}: replay failed: {e}", case.name));
        }
    }
    assert!(out.len() >= 30, "only {} accepted blocks", out.len());
    out
}

pub fn step_at(steps: &[ChainStep], case: &str, height: u64) -> ChainStep {
    steps
        .iter()
        .find(|s| s.case == case && s.block.inner_lite.height == height)
        .unwrap_or_else(|| panic!("no step {case} {height}"))
        .clone()
}

/// Apply a block that must be rejected; check that nothing in the light client changed (head,
/// known epochs, stored block at that height) and return the error.
#[track_caller]
pub fn reject(lc: &mut LightClient, block: &LightClientBlockView, what: &str) -> Error {
    let head = lc.head_view().clone();
    let epochs: Vec<CryptoHash> = lc.epochs().copied().collect();
    let stored: Option<StoredBlock> = lc.block(block.inner_lite.height).copied();
    let err = match lc.apply(&C, block) {
        Ok(v) => panic!("{what}: a tampered block was accepted: {v:?}"),
        Err(e) => e,
    };
    assert_eq!(
        lc.head_view(),
        &head,
        "{what}: rejected ({err}) but the head changed"
    );
    assert_eq!(
        lc.epochs().copied().collect::<Vec<_>>(),
        epochs,
        "{what}: rejected ({err}) but the epoch producer sets changed"
    );
    assert_eq!(
        lc.block(block.inner_lite.height).copied(),
        stored,
        "{what}: rejected ({err}) but a block was stored"
    );
    err
}

/// Is approval `i` present (and in the producers' range)?
pub fn present(producers: &EpochProducers, approvals: &[Option<Signature>], i: usize) -> bool {
    i < producers.producers.len() && matches!(approvals.get(i), Some(Some(_)))
}

/// The first approval the verifier checks: the highest-stake producer with a present approval.
pub fn first_checked(producers: &EpochProducers, approvals: &[Option<Signature>]) -> usize {
    producers
        .by_stake
        .iter()
        .map(|&i| i as usize)
        .find(|&i| present(producers, approvals, i))
        .expect("no approval present")
}

/// Stake of the producers whose approval is present.
pub fn present_stake(producers: &EpochProducers, approvals: &[Option<Signature>]) -> u128 {
    (0..producers.producers.len())
        .filter(|&i| present(producers, approvals, i))
        .map(|i| producers.producers[i].stake())
        .sum()
}

pub fn more_than_two_thirds(stake: u128, total: u128) -> bool {
    stake * 3 > total * 2
}

/// Flip one bit of a hash (a different byte for different `n`).
pub fn flip_hash(h: &mut CryptoHash, n: usize) {
    h.0[n % 32] ^= 1 << (n % 8);
}

pub fn flip_sig(sig: &mut Signature, byte: usize, mask: u8) {
    match sig {
        Signature::Ed25519(b) => b[byte % 64] ^= mask,
        Signature::Secp256k1(b) => b[byte % 65] ^= mask,
    }
}

/// A valid real outcome proof with the root it verifies against.
#[derive(Clone)]
pub struct ProofCase {
    pub name: String,
    pub proof: LightClientExecutionProof,
    pub root: CryptoHash,
}

/// Every proof of the manifest that is expected valid (checked valid here).
pub fn valid_proofs() -> Vec<ProofCase> {
    let out: Vec<ProofCase> = manifest()
        .outcome_proofs
        .into_iter()
        .filter(|p| p.expect == Verdict::Valid)
        .map(|p| {
            let proof = xsc_vectors::proof(&p.proof);
            xsc_core::verify_outcome_proof(&C, &proof, &p.root)
                .unwrap_or_else(|e| panic!("{} must be valid: {e}", p.proof));
            ProofCase {
                name: p.proof,
                proof,
                root: p.root,
            }
        })
        .collect();
    assert!(out.len() >= 10, "only {} valid proofs", out.len());
    out
}
