//! Verifying outcome proofs through the contract.

use super::common::*;
use crate::LightClient;
use xsc_core::client::StoredBlock;
use xsc_core::CryptoHash;
use xsc_vectors::{manifest, Verdict};

/// A light client whose trusted head carries `root` as block_merkle_root at `height`, for proofs.
pub fn client_with_root(root: CryptoHash, height: u64) -> LightClient {
    let case = chain("testnet-105M");
    let mut head = case.head();
    head.inner_lite.block_merkle_root = root;
    head.inner_lite.height = height;
    head.next_bps = None;
    fresh_storage();
    set_caller("admin.near");
    let mut args = init_args(head);
    args.epoch_producers = case.head().next_bps;
    LightClient::init(args)
}

#[test]
fn every_manifest_proof_verifies_through_the_contract() {
    for case in manifest().outcome_proofs {
        let proof = xsc_vectors::proof(&case.proof);
        let lc = if proof.block_proof.is_empty() {
            // The root is the proven block itself: trust that header.
            let mut lc = client_with_root(CryptoHash::zero(), 1);
            let header = &proof.block_header_lite;
            set_caller("admin.near");
            lc.write_ring(&StoredBlock {
                height: header.inner_lite.height,
                hash: case.root,
                block_merkle_root: CryptoHash::zero(),
            });
            lc
        } else {
            client_with_root(case.root, case.block_height + 1)
        };
        let height = if proof.block_proof.is_empty() {
            case.block_height
        } else {
            case.block_height + 1
        };
        let result = verify(&lc, &proof, height);
        match case.expect {
            Verdict::Valid => {
                let o = result.unwrap_or_else(|e| panic!("{} must verify: {e}", case.proof));
                assert_eq!(o.id, proof.outcome_proof.id);
                assert_eq!(o.executor_id, proof.outcome_proof.outcome.executor_id);
                assert_eq!(o.logs, proof.outcome_proof.outcome.logs);
            }
            Verdict::Invalid => {
                let e = result.expect_err(&case.proof);
                assert!(e.starts_with("ERR_"), "{}: {e}", case.proof);
            }
            v => panic!("{v:?}"),
        }
    }
}

#[test]
fn proof_against_an_unknown_height_is_rejected() {
    let case = &manifest().outcome_proofs[0];
    let proof = xsc_vectors::proof(&case.proof);
    let lc = client_with_root(case.root, case.block_height + 1);
    let e = verify(&lc, &proof, case.block_height + 2).unwrap_err();
    assert!(e.starts_with("ERR_UNKNOWN_ROOT"), "{e}");
}

#[test]
fn tampered_proof_log_is_rejected_by_the_contract() {
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| c.proof.contains("cross-call-event"))
        .unwrap();
    let mut proof = xsc_vectors::proof(&case.proof);
    proof.outcome_proof.outcome.logs[0].push('x');
    let lc = client_with_root(case.root, case.block_height + 1);
    let e = verify(&lc, &proof, case.block_height + 1).unwrap_err();
    assert!(e.starts_with("ERR_OUTCOME_ROOT_MISMATCH"), "{e}");
}

#[test]
fn undecodable_proof_arguments_are_err_invalid_input() {
    let case = &manifest().outcome_proofs[0];
    let proof = xsc_vectors::proof(&case.proof);
    let lc = client_with_root(case.root, case.block_height + 1);
    let mut bytes = borsh::to_vec(&(&proof, case.block_height + 1)).unwrap();
    bytes.truncate(bytes.len() - 3);
    call_ctx("dapp.near", bytes.clone(), 0, 300);
    let e = try_run(|| lc.verify_outcome_bytes(&bytes)).unwrap_err();
    assert!(e.starts_with("ERR_INVALID_INPUT"), "{e}");
}

#[test]
fn a_proof_against_a_checkpoint_verifies_after_the_ring_moved_on() {
    // The trusted block (root of the proof) is replaced as head in a later interval, then the
    // ring forgets it: the checkpoint still proves.
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| {
            c.expect == Verdict::Valid && !xsc_vectors::proof(&c.proof).block_proof.is_empty()
        })
        .unwrap();
    let proof = xsc_vectors::proof(&case.proof);
    let height = case.block_height + 1;
    let mut lc = client_with_root(case.root, height);
    advance_minutes(61);
    for h in 1..=300u64 {
        call_ctx("relayer.near", vec![], 0, 300);
        let mut head = lc.head();
        head.height = height + h;
        head.hash = CryptoHash([h as u8; 32]);
        lc.record_head(head, false);
    }
    set_caller("viewer.near");
    assert!(lc.window().checkpoints.iter().any(|c| c.0 == height));
    assert!(!lc.window().recent.iter().any(|c| c.0 == height));
    verify(&lc, &proof, height).expect("verifies against the checkpoint");
}
