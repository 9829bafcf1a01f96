//! Outcome proofs as the light client verifies them (`verify_outcome`, `verify_and_forward`),
//! and what the connector's `on_proven_outcome` / `on_delivery_verified` then decode.
//!
//! 1. Against the real trusted roots of `shared/vectors`: a proof that verifies proves exactly
//!    one of the real outcomes (nothing else can be made to verify without a hash collision).
//! 2. The proof is then completed so that it is internally consistent (its outcome root and
//!    block hash recomputed from its own fields, the root taken as its block path's fold): it
//!    must verify (unless a path exceeds `MAX_MERKLE_PATH`), the outcome written from slices
//!    of the input must be the one its fields describe, the stored-block rules (empty block
//!    path proves that very block; otherwise only later blocks' roots) must hold, and the
//!    `on_proven_outcome` arguments the light client builds by concatenation must decode, as
//!    near-sdk decodes them in the connector, to `(sender, outcome, msg)`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use near_sdk::AccountId;
use xsc_core::client::StoredBlock;
use xsc_core::hashing::{block_hash, fold_path};
use xsc_core::proof::{outcome_leaf, MAX_MERKLE_PATH};
use xsc_core::proof_ref::{decode_outcome, verify_proof_root_ref, ProofRef};
use xsc_core::wire::Reader;
use xsc_core::{
    verify_outcome_proof, verify_outcome_proof_at, Crypto, CryptoHash, Error,
    LightClientExecutionProof, ProvenOutcome,
};
use xsc_fuzz::{real, C};

fn described(p: &LightClientExecutionProof) -> ProvenOutcome {
    let o = &p.outcome_proof.outcome;
    ProvenOutcome {
        id: p.outcome_proof.id,
        block_hash: p.outcome_proof.block_hash,
        block_height: p.block_header_lite.inner_lite.height,
        executor_id: o.executor_id.clone(),
        status: o.status.clone(),
        logs: o.logs.clone(),
        receipt_ids: o.receipt_ids.clone(),
        gas_burnt: o.gas_burnt,
        tokens_burnt: o.tokens_burnt,
    }
}

/// `verify_and_forward`'s arguments of `on_proven_outcome`, built as
/// `contracts/light-client/src/ingest.rs` builds them: borsh `sender ‖ outcome ‖ msg` by
/// concatenation, the outcome being `verify_proof_ref`'s bytes.
fn forward_args(sender: &str, outcome: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut args = Vec::new();
    args.extend_from_slice(&(sender.len() as u32).to_le_bytes());
    args.extend_from_slice(sender.as_bytes());
    args.extend_from_slice(outcome);
    args.extend_from_slice(&(msg.len() as u32).to_le_bytes());
    args.extend_from_slice(msg);
    args
}

fuzz_target!(|data: &[u8]| {
    let Ok((mut p, height)) = borsh::from_slice::<(LightClientExecutionProof, u64)>(data) else {
        return;
    };
    for (root, outcome) in &real().proofs {
        if let Ok(o) = verify_outcome_proof(&C, &p, root) {
            assert_eq!(
                &o, outcome,
                "a proof verified against a real root proves something else"
            );
        }
    }

    // Make the proof consistent with itself.
    let leaf = outcome_leaf(&C, &p.outcome_proof.id, &p.outcome_proof.outcome);
    let shard_root = fold_path(&C, leaf, &p.outcome_proof.proof);
    let outcome_root = fold_path(
        &C,
        CryptoHash(C.sha256(&shard_root.0)),
        &p.outcome_root_proof,
    );
    p.block_header_lite.inner_lite.outcome_root = outcome_root;
    let header = block_hash(&C, &p.block_header_lite);
    p.outcome_proof.block_hash = header;
    let root = fold_path(&C, header, &p.block_proof);
    let too_long = [
        &p.outcome_proof.proof,
        &p.outcome_root_proof,
        &p.block_proof,
    ]
    .iter()
    .any(|path| path.len() > MAX_MERKLE_PATH);

    let verified = verify_outcome_proof(&C, &p, &root);
    if too_long {
        assert_eq!(verified, Err(Error::ProofPathTooLong));
        return;
    }
    let expected = described(&p);
    assert_eq!(verified.as_ref(), Ok(&expected));

    // Stored-block rules.
    let proof_height = p.block_header_lite.inner_lite.height;
    let other = CryptoHash([0xAB; 32]);
    if p.block_proof.is_empty() {
        let at = StoredBlock {
            height: proof_height,
            hash: header,
            block_merkle_root: other,
        };
        assert_eq!(verify_outcome_proof_at(&C, &p, &at).as_ref(), Ok(&expected));
        if header != other {
            let wrong = StoredBlock { hash: other, ..at };
            assert_eq!(
                verify_outcome_proof_at(&C, &p, &wrong),
                Err(Error::BlockRootMismatch)
            );
        }
        if let Some(later) = proof_height.checked_add(1) {
            let later = StoredBlock {
                height: later,
                ..at
            };
            assert!(matches!(
                verify_outcome_proof_at(&C, &p, &later),
                Err(Error::ProofHeightMismatch { .. })
            ));
        }
    } else {
        let same = StoredBlock {
            height: proof_height,
            hash: root,
            block_merkle_root: root,
        };
        assert!(matches!(
            verify_outcome_proof_at(&C, &p, &same),
            Err(Error::ProofBlockTooNew { .. })
        ));
        if let Some(later) = proof_height.checked_add(1) {
            let later = StoredBlock {
                height: later,
                hash: other,
                block_merkle_root: root,
            };
            assert_eq!(
                verify_outcome_proof_at(&C, &p, &later).as_ref(),
                Ok(&expected)
            );
        }
    }

    // The bytes the light client returns / forwards, and how the connector decodes them.
    let bytes = borsh::to_vec(&p).unwrap();
    let mut r = Reader::new(&bytes);
    let proof = ProofRef::read(&mut r).expect("re-encoded proof reads in place");
    r.finish("end").expect("nothing after the proof");
    let outcome = verify_proof_root_ref(&C, &proof, &root).expect("verified above");
    assert_eq!(outcome, borsh::to_vec(&expected).unwrap());
    assert_eq!(decode_outcome(&outcome).as_ref(), Ok(&expected));
    let msg = height.to_le_bytes()[..(height % 9) as usize].to_vec();
    let args = forward_args("relayer.near", &outcome, &msg);
    let (sender, got, got_msg) =
        borsh::from_slice::<(AccountId, ProvenOutcome, Vec<u8>)>(&args).expect("decodes");
    assert_eq!(sender.as_str(), "relayer.near");
    assert_eq!(got, expected);
    assert_eq!(got_msg, msg);
});
