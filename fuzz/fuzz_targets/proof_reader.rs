//! Delivery arguments: borsh `(LightClientExecutionProof, u64)`. The connector's delivery
//! methods decode them with derived borsh (near-sdk), re-encode them for `verify_outcome`
//! (`xsc_interfaces::delivery_args` is the same encoding), and the light client reads those
//! bytes in place (`proof_ref::parse_proof_and_height`). Differential: both decoders accept
//! exactly the same bytes, read the same fields, and the re-encoding is the input byte for
//! byte; merkle paths fold alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xsc_core::hashing::{fold_path, inner_lite_bytes};
use xsc_core::proof_ref::parse_proof_and_height;
use xsc_core::{CryptoHash, LightClientExecutionProof};
use xsc_fuzz::C;
use xsc_interfaces::delivery_args;

fuzz_target!(|data: &[u8]| {
    let in_place = parse_proof_and_height(data);
    let derived = borsh::from_slice::<(LightClientExecutionProof, u64)>(data);
    let ((r, height), (p, h)) = match (in_place, derived) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(_), Err(_)) => return,
        (a, b) => panic!(
            "verdicts differ: in place {:?}, derived {:?}",
            a.err(),
            b.err()
        ),
    };
    assert_eq!(height, h);
    assert_eq!(delivery_args(&p, h), data);

    let o = &p.outcome_proof.outcome;
    assert_eq!(r.outcome_path.len(), p.outcome_proof.proof.len());
    assert_eq!(r.block_hash, &p.outcome_proof.block_hash.0);
    assert_eq!(r.id, &p.outcome_proof.id.0);
    assert_eq!(r.logs_raw, borsh::to_vec(&o.logs).unwrap());
    assert_eq!(r.logs.len(), o.logs.len());
    for (a, b) in r.logs.iter().zip(&o.logs) {
        assert_eq!(*a, b.as_bytes());
    }
    assert_eq!(r.receipt_ids_raw, borsh::to_vec(&o.receipt_ids).unwrap());
    assert_eq!(r.gas_burnt, o.gas_burnt);
    assert_eq!(r.tokens_burnt, o.tokens_burnt);
    assert_eq!(r.executor_id, o.executor_id);
    assert_eq!(r.executor_raw, borsh::to_vec(&o.executor_id).unwrap());
    assert_eq!(r.status_raw, borsh::to_vec(&o.status).unwrap());
    // The partial outcome nearcore hashes: receipt_ids ‖ gas ‖ tokens ‖ executor ‖ status.
    let partial = borsh::to_vec(&(
        &o.receipt_ids,
        o.gas_burnt,
        o.tokens_burnt,
        &o.executor_id,
        &o.status,
    ))
    .unwrap();
    assert_eq!(r.partial, partial);
    assert_eq!(r.outcome_root_path.len(), p.outcome_root_proof.len());
    let lite = &p.block_header_lite;
    assert_eq!(r.prev_block_hash, &lite.prev_block_hash.0);
    assert_eq!(r.inner_rest_hash, &lite.inner_rest_hash.0);
    assert_eq!(r.inner_lite, &inner_lite_bytes(&lite.inner_lite));
    assert_eq!(r.block_height(), lite.inner_lite.height);
    assert_eq!(r.block_path.len(), p.block_proof.len());

    let leaf = CryptoHash(*r.id);
    assert_eq!(
        r.outcome_path.fold(&C, leaf),
        fold_path(&C, leaf, &p.outcome_proof.proof)
    );
    assert_eq!(
        r.outcome_root_path.fold(&C, leaf),
        fold_path(&C, leaf, &p.outcome_root_proof)
    );
    assert_eq!(
        r.block_path.fold(&C, leaf),
        fold_path(&C, leaf, &p.block_proof)
    );
});
