//! The contract reads blocks and proofs in place (`block_ref`, `proof_ref`) instead of decoding
//! them with derived borsh. These tests pin the two together on real data: the outcome written
//! from slices equals the one the proof's fields describe, and every truncation or random
//! mutation of real encodings is accepted by the in-place readers exactly when derived borsh
//! accepts it. (`fuzz/` runs the same comparisons on arbitrary inputs.)

mod common;

use common::*;
use rand::{Rng, SeedableRng};
use xsc_core::block_ref::BlockRef;
use xsc_core::proof_ref::parse_proof_and_height;
use xsc_core::{LightClientBlockView, LightClientExecutionProof, ProvenOutcome};

#[test]
fn the_outcome_written_from_slices_is_the_one_the_proof_describes() {
    for case in valid_proofs() {
        let o = xsc_core::verify_outcome_proof(&C, &case.proof, &case.root).unwrap();
        let p = &case.proof;
        let expected = ProvenOutcome {
            id: p.outcome_proof.id,
            block_hash: p.outcome_proof.block_hash,
            block_height: p.block_header_lite.inner_lite.height,
            executor_id: p.outcome_proof.outcome.executor_id.clone(),
            status: p.outcome_proof.outcome.status.clone(),
            logs: p.outcome_proof.outcome.logs.clone(),
            receipt_ids: p.outcome_proof.outcome.receipt_ids.clone(),
            gas_burnt: p.outcome_proof.outcome.gas_burnt,
            tokens_burnt: p.outcome_proof.outcome.tokens_burnt,
        };
        assert_eq!(o, expected, "{}", case.name);
    }
}

fn same_verdict_as_borsh_for_proof(bytes: &[u8], what: &str) {
    let derived = borsh::from_slice::<(LightClientExecutionProof, u64)>(bytes).is_ok();
    let in_place = parse_proof_and_height(bytes).is_ok();
    assert_eq!(derived, in_place, "{what}");
}

fn same_verdict_as_borsh_for_block(bytes: &[u8], what: &str) {
    let derived = borsh::from_slice::<LightClientBlockView>(bytes).is_ok();
    let in_place = BlockRef::parse(bytes).is_ok();
    assert_eq!(derived, in_place, "{what}");
}

#[test]
fn in_place_readers_accept_exactly_what_borsh_accepts_on_mutated_real_data() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for case in valid_proofs() {
        let bytes = borsh::to_vec(&(&case.proof, 12345u64)).unwrap();
        same_verdict_as_borsh_for_proof(&bytes, &case.name);
        for cut in (0..bytes.len()).step_by(7) {
            same_verdict_as_borsh_for_proof(&bytes[..cut], &format!("{} cut {cut}", case.name));
        }
        for i in 0..300 {
            let mut m = bytes.clone();
            let at = rng.gen_range(0..m.len());
            m[at] = rng.gen();
            same_verdict_as_borsh_for_proof(&m, &format!("{} mutation {i} at {at}", case.name));
        }
    }
    for s in accepted_steps().iter().step_by(3) {
        let bytes = borsh::to_vec(&s.block).unwrap();
        same_verdict_as_borsh_for_block(&bytes, &s.label());
        for cut in (0..bytes.len()).step_by(97) {
            same_verdict_as_borsh_for_block(&bytes[..cut], &format!("{} cut {cut}", s.label()));
        }
        for i in 0..200 {
            let mut m = bytes.clone();
            let at = rng.gen_range(0..m.len());
            m[at] = rng.gen();
            same_verdict_as_borsh_for_block(&m, &format!("{} mutation {i} at {at}", s.label()));
        }
    }
}
