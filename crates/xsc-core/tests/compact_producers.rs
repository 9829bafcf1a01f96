//! The contract verifies blocks against a compact producer table read in place from storage
//! (`xsc_core::producers::ProducerTable`), the native client against full `EpochProducers`.
//! Both go through the same `verify_approvals_ref`; these tests check, on every real block and
//! on tampered variants of each, that the two representations give identical verdicts, and
//! that a table built from a block's raw `next_bps` bytes equals the one built from the views.

mod common;

use common::*;
use xsc_core::block_ref::{BlockRef, BpsRef};
use xsc_core::producers::{table_from_bps, table_from_epoch, ProducerSet, ProducerTable};
use xsc_core::{verify_block, verify_block_ref, LightClientBlockView, Signature};

fn verdicts_agree(s: &ChainStep, block: &LightClientBlockView, what: &str) {
    let table_bytes = table_from_epoch(&s.producers).expect("table");
    let table = ProducerTable::from_bytes(&table_bytes).expect("well-formed table");
    let bytes = borsh::to_vec(block).unwrap();
    let parsed = BlockRef::parse(&bytes).expect("parse");
    let native = verify_block(&C, &s.producers, block);
    let compact = verify_block_ref(&C, &table, &parsed);
    assert_eq!(native, compact, "{what}");
}

#[test]
fn the_compact_table_reads_exactly_like_the_native_set_for_every_real_epoch() {
    for s in accepted_steps() {
        let bytes = table_from_epoch(&s.producers).unwrap();
        let t = ProducerTable::from_bytes(&bytes).unwrap();
        assert_eq!(t.count(), s.producers.count());
        assert_eq!(t.total_stake(), s.producers.total_stake);
        for i in 0..t.count() {
            assert_eq!(t.by_stake(i), s.producers.by_stake[i] as usize);
            assert_eq!(t.stake(i), s.producers.producers[i].stake());
            assert_eq!(t.ed25519_key(i), s.producers.ed25519_key(i));
        }
        // The table built in the contract from the block's raw next_bps equals the one built
        // from the decoded views.
        if let Some(bps) = &s.block.next_bps {
            let raw = borsh::to_vec(bps).unwrap();
            let from_raw = table_from_bps(&BpsRef::parse(&raw).unwrap()).unwrap();
            let native = xsc_core::EpochProducers::new(bps.clone()).unwrap();
            assert_eq!(
                from_raw,
                table_from_epoch(&native).unwrap(),
                "{}",
                s.label()
            );
        }
    }
}

#[test]
fn compact_and_native_verdicts_agree_on_real_and_tampered_blocks() {
    let mut compared = 0;
    for s in accepted_steps() {
        verdicts_agree(&s, &s.block, &s.label());
        let first = first_checked(&s.producers, &s.block.approvals_after_next);
        let mut flipped = s.block.clone();
        if let Some(Some(sig)) = flipped.approvals_after_next.get_mut(first) {
            flip_sig(sig, 3, 0x10);
        }
        verdicts_agree(&s, &flipped, &format!("{} flipped", s.label()));
        let mut secp = s.block.clone();
        secp.approvals_after_next[first] = Some(Signature::Secp256k1([1; 65]));
        verdicts_agree(&s, &secp, &format!("{} secp", s.label()));
        let mut dropped = s.block.clone();
        let n = dropped.approvals_after_next.len();
        dropped.approvals_after_next.truncate(n / 3);
        verdicts_agree(&s, &dropped, &format!("{} truncated", s.label()));
        let mut none = s.block.clone();
        for a in none.approvals_after_next.iter_mut() {
            *a = None;
        }
        verdicts_agree(&s, &none, &format!("{} no approvals", s.label()));
        compared += 5;
    }
    assert!(compared >= 150, "{compared}");
}
