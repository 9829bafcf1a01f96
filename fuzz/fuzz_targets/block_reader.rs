//! `add_light_client_block` / `deposit_for_block` input: borsh `LightClientBlockView`, read in
//! place by `BlockRef` (what the contract does) and by derived borsh (what the native client,
//! the CLI and the relayer do). Differential: both accept exactly the same bytes and read the
//! same fields; the encoding round-trips; `next_bps` gives the same producer set (or the same
//! refusal) as a native `EpochProducers` and as the contract's compact table.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xsc_core::block::MAX_PRODUCERS;
use xsc_core::block_ref::{Approval, BlockRef, BpsRef, KeyRef};
use xsc_core::hashing::inner_lite_bytes;
use xsc_core::producers::{table_from_bps, table_from_epoch, validate_bps, ProducerTable};
use xsc_core::{EpochProducers, LightClientBlockView, ProducerSet, PublicKey, Signature};

fuzz_target!(|data: &[u8]| {
    let in_place = BlockRef::parse(data);
    let derived = borsh::from_slice::<LightClientBlockView>(data);
    let (block, view) = match (in_place, derived) {
        (Ok(b), Ok(v)) => (b, v),
        (Err(_), Err(_)) => return,
        (b, v) => panic!(
            "verdicts differ: in place {:?}, derived {:?}",
            b.err(),
            v.err()
        ),
    };
    // Canonical: what a relayer re-encodes is byte for byte what was read.
    assert_eq!(borsh::to_vec(&view).unwrap(), data);

    assert_eq!(block.prev_block_hash, &view.prev_block_hash.0);
    assert_eq!(block.next_block_inner_hash, &view.next_block_inner_hash.0);
    assert_eq!(block.inner_lite, &inner_lite_bytes(&view.inner_lite));
    assert_eq!(block.inner_rest_hash, &view.inner_rest_hash.0);
    assert_eq!(block.height(), view.inner_lite.height);
    assert_eq!(block.epoch_id(), view.inner_lite.epoch_id);
    assert_eq!(block.next_epoch_id(), view.inner_lite.next_epoch_id);
    assert_eq!(block.timestamp(), view.inner_lite.timestamp);
    assert_eq!(block.next_bp_hash(), view.inner_lite.next_bp_hash);
    assert_eq!(block.block_merkle_root(), view.inner_lite.block_merkle_root);

    assert_eq!(block.approvals_len, view.approvals_after_next.len());
    assert_eq!(
        block.approvals.len(),
        view.approvals_after_next.len().min(MAX_PRODUCERS)
    );
    for (a, v) in block.approvals.iter().zip(&view.approvals_after_next) {
        match (a, v) {
            (Approval::Absent, None) | (Approval::Secp256k1, Some(Signature::Secp256k1(_))) => {}
            (Approval::Ed25519(s), Some(Signature::Ed25519(t))) => assert_eq!(*s, t),
            other => panic!("approval differs: {other:?}"),
        }
    }

    assert_eq!(block.next_bps.is_some(), view.next_bps.is_some());
    let (Some(bps), Some(views)) = (block.next_bps, view.next_bps) else {
        return;
    };
    // The raw bytes `next_bp_hash` is computed over are the borsh of the list.
    assert_eq!(bps.raw, borsh::to_vec(&views).unwrap());
    assert_eq!(bps.count, views.len());
    assert_eq!(BpsRef::parse(bps.raw), Ok(bps));
    let entries: Vec<_> = bps.iter().collect();
    assert_eq!(entries.len(), views.len());
    for (e, v) in entries.iter().zip(&views) {
        assert_eq!(e.account_id, v.account_id());
        assert_eq!(e.stake, v.stake());
        match (e.public_key, v.public_key()) {
            (KeyRef::Ed25519(a), PublicKey::Ed25519(b)) => assert_eq!(a, b),
            (KeyRef::Secp256k1(a), PublicKey::Secp256k1(b)) => assert_eq!(a, b),
            other => panic!("key differs: {other:?}"),
        }
    }

    // The producer set: the native checks and the contract's agree, and so do the sets.
    let native = EpochProducers::new(views);
    assert_eq!(
        validate_bps(&bps),
        native.as_ref().map(|_| ()).map_err(Clone::clone)
    );
    let table = table_from_bps(&bps);
    match (&native, &table) {
        (Ok(native), Ok(table)) => {
            assert_eq!(table_from_epoch(native).as_ref(), Ok(table));
            let t = ProducerTable::from_bytes(table).expect("a well-formed table");
            assert_eq!(t.count(), native.count());
            assert_eq!(t.total_stake(), native.total_stake());
            for i in 0..native.count() {
                assert_eq!(t.by_stake(i), native.by_stake(i));
                assert_eq!(t.ed25519_key(i), native.ed25519_key(i));
                assert_eq!(t.stake(i), native.stake(i));
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        other => panic!("producer set verdicts differ: {other:?}"),
    }
});
