//! Negative cases for light client blocks, each derived from the REAL blocks of
//! `shared/vectors` (every chain of the manifest is replayed so that each tampered block meets the
//! exact state its original met). Each test asserts the specific `Error` and that the rejected
//! block leaves the light client unchanged (see `common::reject`).

mod common;

use common::*;
use xsc_core::{
    trusted_state_for, CryptoHash, EpochProducers, Error, LightClient, LightClientBlockLiteView,
    LightClientBlockView, PublicKey, Signature, TrustedState, ValidatorStakeView,
};
use xsc_vectors::{chain, manifest};

type Tamper = fn(&mut LightClientBlockView);

/// Which error a flipped field must give. Fields under the approvals only are caught by the
/// first signature the verifier checks (the highest-stake present approval); `epoch_id` by rule
/// 2 (it names no known epoch); `next_bp_hash` by the `next_bps` check (every real block here
/// carries `next_bps`); the height by rule 1 when it drops to the head or below.
#[derive(Clone, Copy, Debug)]
enum Expect {
    FirstSignature,
    EpochSkipped,
    NextBpsHashMismatchIfPresent,
    NotNewerOrFirstSignature,
}

const HASHED_FIELDS: &[(&str, Tamper, Expect)] = &[
    (
        "inner_lite.height (lowest bit)",
        |b| b.inner_lite.height ^= 1,
        Expect::NotNewerOrFirstSignature,
    ),
    (
        "inner_lite.height (highest byte)",
        |b| b.inner_lite.height ^= 0x80u64 << 56,
        Expect::NotNewerOrFirstSignature,
    ),
    (
        "inner_lite.height (+2, still above head)",
        |b| b.inner_lite.height += 2,
        Expect::NotNewerOrFirstSignature,
    ),
    (
        "inner_lite.epoch_id (first byte)",
        |b| flip_hash(&mut b.inner_lite.epoch_id, 0),
        Expect::EpochSkipped,
    ),
    (
        "inner_lite.epoch_id (last byte)",
        |b| flip_hash(&mut b.inner_lite.epoch_id, 31),
        Expect::EpochSkipped,
    ),
    (
        "inner_lite.next_epoch_id (first byte)",
        |b| flip_hash(&mut b.inner_lite.next_epoch_id, 0),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.next_epoch_id (last byte)",
        |b| flip_hash(&mut b.inner_lite.next_epoch_id, 31),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.prev_state_root (first byte)",
        |b| flip_hash(&mut b.inner_lite.prev_state_root, 0),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.prev_state_root (last byte)",
        |b| flip_hash(&mut b.inner_lite.prev_state_root, 31),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.outcome_root (first byte)",
        |b| flip_hash(&mut b.inner_lite.outcome_root, 0),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.outcome_root (last byte)",
        |b| flip_hash(&mut b.inner_lite.outcome_root, 31),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.timestamp (lowest byte)",
        |b| b.inner_lite.timestamp ^= 1,
        Expect::FirstSignature,
    ),
    (
        "inner_lite.timestamp (highest byte)",
        |b| b.inner_lite.timestamp ^= 0x40u64 << 56,
        Expect::FirstSignature,
    ),
    (
        "inner_lite.next_bp_hash (first byte)",
        |b| flip_hash(&mut b.inner_lite.next_bp_hash, 0),
        Expect::NextBpsHashMismatchIfPresent,
    ),
    (
        "inner_lite.next_bp_hash (last byte)",
        |b| flip_hash(&mut b.inner_lite.next_bp_hash, 31),
        Expect::NextBpsHashMismatchIfPresent,
    ),
    (
        "inner_lite.block_merkle_root (first byte)",
        |b| flip_hash(&mut b.inner_lite.block_merkle_root, 0),
        Expect::FirstSignature,
    ),
    (
        "inner_lite.block_merkle_root (last byte)",
        |b| flip_hash(&mut b.inner_lite.block_merkle_root, 31),
        Expect::FirstSignature,
    ),
    (
        "prev_block_hash (first byte)",
        |b| flip_hash(&mut b.prev_block_hash, 0),
        Expect::FirstSignature,
    ),
    (
        "prev_block_hash (last byte)",
        |b| flip_hash(&mut b.prev_block_hash, 31),
        Expect::FirstSignature,
    ),
    (
        "inner_rest_hash (first byte)",
        |b| flip_hash(&mut b.inner_rest_hash, 0),
        Expect::FirstSignature,
    ),
    (
        "inner_rest_hash (last byte)",
        |b| flip_hash(&mut b.inner_rest_hash, 31),
        Expect::FirstSignature,
    ),
    (
        "next_block_inner_hash (first byte)",
        |b| flip_hash(&mut b.next_block_inner_hash, 0),
        Expect::FirstSignature,
    ),
    (
        "next_block_inner_hash (last byte)",
        |b| flip_hash(&mut b.next_block_inner_hash, 31),
        Expect::FirstSignature,
    ),
];

#[test]
fn a_flipped_byte_in_any_hashed_field_of_any_real_block_is_rejected() {
    let mut tested = 0;
    let mut seen_not_newer = false;
    for s in accepted_steps() {
        let first = first_checked(&s.producers, &s.block.approvals_after_next);
        let head_height = s.lc.head_view().height;
        let mut lc = s.lc.clone();
        for (field, tamper, expect) in HASHED_FIELDS {
            let mut b = s.block.clone();
            tamper(&mut b);
            assert_ne!(b, s.block);
            let what = format!("{}: {field}", s.label());
            let err = reject(&mut lc, &b, &what);
            let want = match expect {
                Expect::FirstSignature => Error::InvalidSignature { index: first },
                Expect::EpochSkipped => Error::EpochSkipped,
                Expect::NextBpsHashMismatchIfPresent if b.next_bps.is_some() => {
                    Error::NextBpsHashMismatch
                }
                Expect::NextBpsHashMismatchIfPresent => Error::InvalidSignature { index: first },
                Expect::NotNewerOrFirstSignature if b.inner_lite.height <= head_height => {
                    seen_not_newer = true;
                    Error::BlockNotNewer {
                        head: head_height,
                        block: b.inner_lite.height,
                    }
                }
                Expect::NotNewerOrFirstSignature => Error::InvalidSignature { index: first },
            };
            assert_eq!(err, want, "{what}");
            tested += 1;
        }
        // Nothing above disturbed the client: the real block is still accepted.
        lc.apply(&C, &s.block)
            .unwrap_or_else(|e| panic!("{}: original rejected after tampering: {e}", s.label()));
    }
    // 105738335 follows 105738334: its height with the lowest bit flipped is the head's.
    assert!(seen_not_newer, "the height rule was never exercised");
    assert!(tested >= 30 * HASHED_FIELDS.len());
}

#[test]
fn next_bp_hash_is_also_covered_by_the_signatures() {
    // Without `next_bps` the next_bp_hash is not checked against a producer list, so only the
    // approvals protect it: blocks inside the head's epoch (no next_bps needed) with a flipped
    // next_bp_hash must fail at the first signature.
    let mut tested = 0;
    for s in accepted_steps().into_iter().filter(|s| !s.changes_epoch()) {
        let first = first_checked(&s.producers, &s.block.approvals_after_next);
        let mut lc = s.lc.clone();
        let mut b = s.block.clone();
        b.next_bps = None;
        flip_hash(&mut b.inner_lite.next_bp_hash, 7);
        let err = reject(&mut lc, &b, &s.label());
        assert_eq!(
            err,
            Error::InvalidSignature { index: first },
            "{}",
            s.label()
        );
        tested += 1;
    }
    assert!(tested >= 10, "only {tested} blocks inside an epoch");
}

#[test]
fn a_tampered_signature_of_the_top_stake_producer_is_rejected() {
    for s in accepted_steps() {
        let first = first_checked(&s.producers, &s.block.approvals_after_next);
        let mut lc = s.lc.clone();
        for (byte, mask) in [
            (0usize, 0x01u8),
            (31, 0x80),
            (32, 0x01),
            (62, 0x10),
            (63, 0x01),
        ] {
            let mut b = s.block.clone();
            flip_sig(b.approvals_after_next[first].as_mut().unwrap(), byte, mask);
            let err = reject(&mut lc, &b, &s.label());
            assert_eq!(
                err,
                Error::InvalidSignature { index: first },
                "{}",
                s.label()
            );
        }
        // nearcore's host function returns false when any of the top 3 bits of the last byte
        // is set (a pre-check dalek 1.x did): such a signature is invalid, never a panic.
        for mask in [0x20u8, 0x40, 0x80] {
            let mut b = s.block.clone();
            if let Some(Signature::Ed25519(sig)) = &mut b.approvals_after_next[first] {
                sig[63] |= mask;
            }
            let err = reject(&mut lc, &b, &s.label());
            assert_eq!(
                err,
                Error::InvalidSignature { index: first },
                "{}",
                s.label()
            );
        }
    }
}

/// The present approvals in the order the verifier checks them.
fn present_by_stake(s: &ChainStep, approvals: &[Option<Signature>]) -> Vec<usize> {
    s.producers
        .by_stake
        .iter()
        .map(|&i| i as usize)
        .filter(|&i| present(&s.producers, approvals, i))
        .collect()
}

fn key(s: &ChainStep, i: usize) -> &PublicKey {
    s.producers.producers[i].public_key()
}

#[test]
fn swapping_the_signatures_of_the_top_stake_producers_is_rejected() {
    // The verifier checks approvals by descending stake and stops past 2/3: the two swapped
    // slots are the first two it checks, so the swap is always seen.
    for s in accepted_steps() {
        let order = present_by_stake(&s, &s.block.approvals_after_next);
        let a = order[0];
        let b_idx = *order[1..]
            .iter()
            .find(|&&j| key(&s, j) != key(&s, a))
            .expect("a second present producer with another key");
        let mut b = s.block.clone();
        b.approvals_after_next.swap(a, b_idx);
        let mut lc = s.lc.clone();
        let err = reject(&mut lc, &b, &s.label());
        assert_eq!(err, Error::InvalidSignature { index: a }, "{}", s.label());
    }
}

#[test]
fn a_signature_moved_into_an_absent_producers_slot_is_rejected() {
    // Move the top-stake producer's signature into the highest-stake empty slot. It is checked
    // (and must fail) whenever the verifier reaches that slot before 2/3 of the stake is proven
    // by the other, genuine, signatures. When the genuine ones alone pass 2/3 the block is still
    // authentic and signed by >2/3 of the stake: accepting it is then correct, so such blocks
    // are not counted here (the moved signature is never consulted).
    let mut tested = 0;
    let mut stayed_valid = 0;
    for s in accepted_steps() {
        let n = s.producers.producers.len();
        let approvals = &s.block.approvals_after_next;
        let a = first_checked(&s.producers, approvals);
        let Some(e) = s
            .producers
            .by_stake
            .iter()
            .map(|&i| i as usize)
            .find(|&i| !present(&s.producers, approvals, i) && key(&s, i) != key(&s, a))
        else {
            continue;
        };
        let mut b = s.block.clone();
        if b.approvals_after_next.len() < n {
            b.approvals_after_next.resize(n, None);
        }
        let moved = b.approvals_after_next[a].take();
        b.approvals_after_next[e] = moved;
        // Stake proven by genuine signatures before the verifier reaches slot `e`.
        let before_e: u128 = s
            .producers
            .by_stake
            .iter()
            .map(|&i| i as usize)
            .take_while(|&i| i != e)
            .filter(|&i| i != a && present(&s.producers, approvals, i))
            .map(|i| s.producers.producers[i].stake())
            .sum();
        let mut lc = s.lc.clone();
        if more_than_two_thirds(before_e, s.producers.total_stake) {
            stayed_valid += 1;
            continue;
        }
        let err = reject(&mut lc, &b, &s.label());
        assert_eq!(err, Error::InvalidSignature { index: e }, "{}", s.label());
        tested += 1;
    }
    println!("moved signature checked in {tested} blocks; {stayed_valid} stayed validly signed");
    assert!(
        tested >= 10,
        "moved signature checked in only {tested} blocks ({stayed_valid} stayed valid)"
    );
}

#[test]
fn approvals_truncated_to_at_most_two_thirds_of_the_stake_are_rejected() {
    // The approvals list is covered by no hash: a relayer can cut it. The threshold is over the
    // stake of EVERY producer of the epoch, so the verdict is NotEnoughApprovals with the full
    // total; a verifier that summed `total` over the (truncated) list would accept these.
    let mut small = 0;
    for s in accepted_steps() {
        let total = s.producers.total_stake;
        let approvals = &s.block.approvals_after_next;
        // Longest prefix holding at most 2/3 of the stake, and a few short ones.
        let longest = (0..=approvals.len())
            .rev()
            .find(|&k| !more_than_two_thirds(present_stake(&s.producers, &approvals[..k]), total))
            .unwrap();
        assert!(longest < approvals.len());
        let mut lc = s.lc.clone();
        for k in [0, 1, 2, 3, 5, longest / 2, longest] {
            let k = k.min(longest);
            let mut b = s.block.clone();
            b.approvals_after_next.truncate(k);
            let kept = present_stake(&s.producers, &b.approvals_after_next);
            let what = format!("{} truncated to {k}", s.label());
            let err = reject(&mut lc, &b, &what);
            assert_eq!(
                err,
                Error::NotEnoughApprovals {
                    approved: kept,
                    total
                },
                "{what}"
            );
            // The attack: counting the total over the approvals present would let this pass.
            if kept > 0 {
                assert!(more_than_two_thirds(kept, kept), "{what}");
                if kept * 100 < total * 10 {
                    small += 1;
                }
            }
        }
    }
    println!("{small} truncations kept a non-zero stake under 10% of the total");
    assert!(
        small >= 10,
        "only {small} truncations under 10% of the stake"
    );
}

#[test]
fn absent_approvals_leaving_at_most_two_thirds_are_rejected() {
    // Blank the present approvals from the top of the stake order until at most 2/3 remain.
    for s in accepted_steps() {
        let total = s.producers.total_stake;
        let mut b = s.block.clone();
        for i in present_by_stake(&s, &s.block.approvals_after_next) {
            if !more_than_two_thirds(present_stake(&s.producers, &b.approvals_after_next), total) {
                break;
            }
            b.approvals_after_next[i] = None;
        }
        let kept = present_stake(&s.producers, &b.approvals_after_next);
        let mut lc = s.lc.clone();
        let err = reject(&mut lc, &b, &s.label());
        assert_eq!(
            err,
            Error::NotEnoughApprovals {
                approved: kept,
                total
            },
            "{}",
            s.label()
        );
        // And no approvals at all.
        let mut b = s.block.clone();
        b.approvals_after_next.clear();
        let err = reject(&mut lc, &b, &s.label());
        assert_eq!(err, Error::NotEnoughApprovals { approved: 0, total });
    }
}

#[test]
fn approvals_past_the_producer_list_are_ignored() {
    // Mainnet blocks with 101 approvals for 100 producers: the trailing one belongs to the next
    // epoch. Whatever it holds (a bad ed25519 or even a secp256k1 signature) must not matter.
    let mut tested = 0;
    for s in accepted_steps() {
        let n = s.producers.producers.len();
        if s.block.approvals_after_next.len() <= n {
            continue;
        }
        for extra in [
            Some(Signature::Ed25519([7; 64])),
            Some(Signature::Secp256k1([7; 65])),
            None,
        ] {
            let mut b = s.block.clone();
            b.approvals_after_next[n] = extra;
            let mut lc = s.lc.clone();
            let v = lc
                .apply(&C, &b)
                .unwrap_or_else(|e| panic!("{}: {e}", s.label()));
            assert_eq!(lc.head_view().hash, v.hash);
        }
        tested += 1;
    }
    assert!(tested >= 2);
}

/// Predict the verdict for a producer list given in the wrong order: approval `i` was made by
/// `signers[i]`, the client believes it belongs to `producers.producers[i]`; it verifies iff the
/// keys are equal (testnet producers share keys).
fn predict_reordered(
    producers: &EpochProducers,
    signers: &[ValidatorStakeView],
    approvals: &[Option<Signature>],
) -> Error {
    let total = producers.total_stake;
    let mut approved = 0u128;
    for &i in &producers.by_stake {
        let i = i as usize;
        if !present(producers, approvals, i) {
            continue;
        }
        if producers.producers[i].public_key() != signers[i].public_key() {
            return Error::InvalidSignature { index: i };
        }
        approved += producers.producers[i].stake();
        assert!(
            !more_than_two_thirds(approved, total),
            "this reordering would verify"
        );
    }
    Error::NotEnoughApprovals { approved, total }
}

#[test]
fn a_reordered_producer_list_is_rejected() {
    // testnet-93M-shared-keys: `bps` are the producers of the head's own epoch, installed as
    // given (the head's next_bp_hash does not cover them), so a wrong order is only caught by
    // the signatures.
    let case = chain("testnet-93M-shared-keys");
    let head = case.head();
    let block = &case.blocks()[0];
    let bps = case.bps().unwrap();
    assert_eq!(head.inner_lite.epoch_id, block.inner_lite.epoch_id);
    let reorders: Vec<(&str, Vec<ValidatorStakeView>)> = vec![
        ("reversed", bps.iter().rev().cloned().collect()),
        ("rotated by 1", {
            let mut v = bps.clone();
            v.rotate_left(1);
            v
        }),
        ("first two swapped", {
            let mut v = bps.clone();
            v.swap(0, 1);
            v
        }),
        // The order of the plain `validators` RPC is not the epoch's order either.
        ("sorted by account id", {
            let mut v = bps.clone();
            v.sort_by(|a, b| a.account_id().cmp(b.account_id()));
            v
        }),
    ];
    for (how, reordered) in reorders {
        assert_ne!(reordered, bps);
        let state = trusted_state_for(
            &C,
            &LightClientBlockLiteView::from(&head),
            head.next_bps.clone(),
            Some(reordered.clone()),
            Some(&block.inner_lite.epoch_id),
        )
        .expect("an unchecked epoch set is installed as given");
        let mut lc = LightClient::new(state);
        let producers = EpochProducers::new(reordered).unwrap();
        let want = predict_reordered(&producers, &bps, &block.approvals_after_next);
        assert!(matches!(want, Error::InvalidSignature { .. }), "{how}");
        let err = reject(&mut lc, block, how);
        assert_eq!(err, want, "{how}");
    }
}

#[test]
fn a_reordered_next_bps_is_rejected() {
    let mut tested = 0;
    // In a block: next_bps reordered no longer hashes to next_bp_hash.
    for s in accepted_steps() {
        let bps = s
            .block
            .next_bps
            .clone()
            .expect("real blocks carry next_bps");
        let mut variants = vec![bps.iter().rev().cloned().collect::<Vec<_>>()];
        let mut v = bps.clone();
        v.rotate_left(1);
        variants.push(v);
        let mut v = bps.clone();
        v.swap(0, bps.len() - 1);
        variants.push(v);
        let mut lc = s.lc.clone();
        for v in variants {
            assert_ne!(v, bps);
            let mut b = s.block.clone();
            b.next_bps = Some(v);
            let err = reject(&mut lc, &b, &s.label());
            assert_eq!(err, Error::NextBpsHashMismatch, "{}", s.label());
            tested += 1;
        }
    }
    // At initialisation: a head's next_bps in the wrong order is refused.
    for case in manifest().light_client_chains {
        let head = case.head();
        let Some(bps) = head.next_bps.clone() else {
            continue;
        };
        let reversed: Vec<_> = bps.iter().rev().cloned().collect();
        let err = trusted_state_for(
            &C,
            &LightClientBlockLiteView::from(&head),
            Some(reversed),
            None,
            None,
        )
        .err()
        .unwrap_or_else(|| panic!("{}: reversed next_bps accepted", case.name));
        assert_eq!(err, Error::NextBpsHashMismatch, "{}", case.name);
        tested += 1;
    }
    assert!(tested > 90);
}

#[test]
fn a_block_two_epochs_ahead_is_rejected_as_epoch_skipped() {
    // The manifest case.
    let case = chain("testnet-105M-skip-epoch");
    let mut lc = start(&case);
    let block = &case.blocks()[0];
    assert_eq!(reject(&mut lc, block, &case.name), Error::EpochSkipped);

    // Derived: from testnet-105M's trusted head, every block past the next epoch.
    let steps = accepted_steps();
    let chain_steps: Vec<_> = steps.iter().filter(|s| s.case == "testnet-105M").collect();
    let first = chain_steps[0];
    let mut lc = first.lc.clone();
    let head = lc.head_view().clone();
    let mut tested = 0;
    for s in &chain_steps[1..] {
        let e = s.block.inner_lite.epoch_id;
        if e == head.epoch_id || e == head.next_epoch_id {
            continue;
        }
        assert_eq!(
            reject(&mut lc, &s.block, &s.label()),
            Error::EpochSkipped,
            "{}",
            s.label()
        );
        tested += 1;
    }
    assert!(tested >= 10);
}

#[test]
fn the_same_block_again_and_a_lower_block_are_rejected_as_not_newer() {
    for case in manifest().light_client_chains {
        let mut lc = start(&case);
        let mut accepted: Vec<LightClientBlockView> = Vec::new();
        for (b, step) in case.blocks().into_iter().zip(&case.steps) {
            if lc.apply(&C, &b).is_ok() {
                accepted.push(b);
            } else {
                assert_eq!(step.expect, xsc_vectors::Verdict::Reject);
            }
        }
        let Some(last) = accepted.last() else {
            continue;
        };
        let h = last.inner_lite.height;
        // Replay of the accepted head.
        let err = reject(&mut lc, last, &format!("{} replay", case.name));
        assert_eq!(err, Error::BlockNotNewer { head: h, block: h });
        // Every earlier block.
        for b in &accepted[..accepted.len() - 1] {
            let err = reject(&mut lc, b, &format!("{} lower", case.name));
            assert_eq!(
                err,
                Error::BlockNotNewer {
                    head: h,
                    block: b.inner_lite.height
                }
            );
        }
        // The trusted head itself.
        let err = reject(&mut lc, &case.head(), &format!("{} head", case.name));
        assert!(matches!(err, Error::BlockNotNewer { head, .. } if head == h));
    }
}

#[test]
fn a_tampered_next_bps_is_rejected() {
    type BpsTamper = fn(&mut Vec<ValidatorStakeView>);
    fn v1(v: &mut ValidatorStakeView) -> &mut xsc_core::ValidatorStakeViewV1 {
        match v {
            ValidatorStakeView::V1(v) => v,
        }
    }
    let tampers: &[(&str, BpsTamper)] = &[
        ("stake + 1", |bps| v1(&mut bps[0]).stake += 1),
        ("last stake - 1", |bps| {
            let n = bps.len() - 1;
            v1(&mut bps[n]).stake -= 1
        }),
        ("stake doubled", |bps| v1(&mut bps[1]).stake *= 2),
        ("account changed", |bps| {
            v1(&mut bps[0]).account_id.push('x');
        }),
        ("account replaced", |bps| {
            v1(&mut bps[2]).account_id = "attacker.near".into();
        }),
        ("key changed", |bps| {
            if let PublicKey::Ed25519(k) = &mut v1(&mut bps[0]).public_key {
                k[5] ^= 1;
            }
        }),
        ("key replaced by secp256k1", |bps| {
            v1(&mut bps[0]).public_key = PublicKey::Secp256k1([3; 64]);
        }),
        ("first entry dropped", |bps| {
            bps.remove(0);
        }),
        ("last entry dropped", |bps| {
            bps.pop();
        }),
        ("entry added", |bps| {
            let mut extra = bps[0].clone();
            v1(&mut extra).account_id = "attacker.near".into();
            bps.push(extra);
        }),
        ("entry duplicated", |bps| {
            let d = bps[0].clone();
            bps.push(d);
        }),
    ];
    for s in accepted_steps() {
        let mut lc = s.lc.clone();
        for (how, t) in tampers {
            let mut b = s.block.clone();
            t(b.next_bps.as_mut().unwrap());
            let what = format!("{}: next_bps {how}", s.label());
            assert_eq!(
                reject(&mut lc, &b, &what),
                Error::NextBpsHashMismatch,
                "{what}"
            );
        }
        // An empty list is refused before hashing.
        let mut b = s.block.clone();
        b.next_bps = Some(Vec::new());
        assert_eq!(reject(&mut lc, &b, &s.label()), Error::InvalidProducerSet);
    }
}

#[test]
fn a_block_changing_epoch_without_next_bps_is_rejected() {
    let mut tested = 0;
    for s in accepted_steps().into_iter().filter(|s| s.changes_epoch()) {
        let mut b = s.block.clone();
        b.next_bps = None;
        let mut lc = s.lc.clone();
        assert_eq!(
            reject(&mut lc, &b, &s.label()),
            Error::NextBpsMissing,
            "{}",
            s.label()
        );
        tested += 1;
    }
    assert!(tested >= 15, "only {tested} epoch changes");
}

/// The light client of `s` with the producer set of the block's epoch replaced.
fn with_producers(s: &ChainStep, producers: Vec<ValidatorStakeView>) -> LightClient {
    LightClient::new(TrustedState {
        head: s.lc.head_view().clone(),
        epochs: vec![(
            s.block.inner_lite.epoch_id,
            EpochProducers::new(producers).unwrap(),
        )],
    })
}

fn set_key(v: &mut ValidatorStakeView, key: PublicKey) {
    match v {
        ValidatorStakeView::V1(v) => v.public_key = key,
    }
}

#[test]
fn a_non_ed25519_producer_key_is_rejected_as_unsupported() {
    for s in accepted_steps() {
        let approvals = &s.block.approvals_after_next;
        // Sanity: the substituted set with the real keys accepts the block.
        let mut lc = with_producers(&s, s.producers.producers.clone());
        lc.apply(&C, &s.block)
            .unwrap_or_else(|e| panic!("{}: {e}", s.label()));
        // The highest-stake producer with an approval, and the lowest-stake one (whose
        // signature the verifier would never reach: the key check is structural).
        let order = present_by_stake(&s, approvals);
        for i in [order[0], *order.last().unwrap()] {
            let mut bps = s.producers.producers.clone();
            set_key(&mut bps[i], PublicKey::Secp256k1([9; 64]));
            let mut lc = with_producers(&s, bps);
            assert_eq!(
                reject(&mut lc, &s.block, &s.label()),
                Error::UnsupportedKey { index: i },
                "{}",
                s.label()
            );
        }
    }
}

#[test]
fn a_secp256k1_signature_in_an_approval_slot_is_rejected_as_unsupported() {
    for s in accepted_steps() {
        let approvals = &s.block.approvals_after_next;
        let n = s.producers.producers.len();
        let order = present_by_stake(&s, approvals);
        let absent = (0..n).find(|&i| !present(&s.producers, approvals, i));
        let mut slots = vec![order[0], *order.last().unwrap()];
        slots.extend(absent);
        let mut lc = s.lc.clone();
        for i in slots {
            let mut b = s.block.clone();
            if b.approvals_after_next.len() <= i {
                b.approvals_after_next.resize(i + 1, None);
            }
            b.approvals_after_next[i] = Some(Signature::Secp256k1([5; 65]));
            assert_eq!(
                reject(&mut lc, &b, &s.label()),
                Error::UnsupportedSignature { index: i },
                "{}",
                s.label()
            );
        }
    }
}

fn bs58_typed(prefix: &str, n: usize) -> String {
    format!("{prefix}:{}", bs58::encode(vec![0x5a; n]).into_string())
}

/// Deserialize without ever panicking; return the error text.
fn json_error<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> String {
    let r = std::panic::catch_unwind(move || serde_json::from_value::<T>(v))
        .expect("deserializing must never panic");
    match r {
        Ok(_) => panic!("malformed input was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_wrong_length_signature_or_key_in_json_is_a_decode_error_not_a_panic() {
    let s = &accepted_steps()[0];
    let file = &chain(&s.case).steps[s.step].block;
    let json = xsc_vectors::read_json(file);
    let slot = json["approvals_after_next"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| !a.is_null())
        .unwrap();
    for (sig, want) in [
        (bs58_typed("ed25519", 63), "expected 64 bytes, got 63"),
        (bs58_typed("ed25519", 65), "expected 64 bytes, got 65"),
        (bs58_typed("ed25519", 0), "expected 64 bytes, got 0"),
        (bs58_typed("secp256k1", 64), "expected 65 bytes, got 64"),
        ("ed25519:0OIl".to_string(), "invalid base58"),
        (bs58_typed("bls", 64), "unknown signature type"),
    ] {
        let mut j = json.clone();
        j["approvals_after_next"][slot] = serde_json::Value::String(sig.clone());
        let err = json_error::<LightClientBlockView>(j);
        assert!(err.contains(want), "{sig}: {err}");
    }
    for (key, want) in [
        (bs58_typed("ed25519", 31), "expected 32 bytes, got 31"),
        (bs58_typed("ed25519", 33), "expected 32 bytes, got 33"),
        (bs58_typed("secp256k1", 65), "expected 64 bytes, got 65"),
    ] {
        let mut j = json.clone();
        j["next_bps"][0]["public_key"] = serde_json::Value::String(key.clone());
        let err = json_error::<LightClientBlockView>(j);
        assert!(err.contains(want), "{key}: {err}");
    }
    // Hashes too.
    let mut j = json.clone();
    j["prev_block_hash"] = serde_json::Value::String(bs58::encode([1u8; 31]).into_string());
    let err = json_error::<LightClientBlockView>(j);
    assert!(err.contains("expected 32 bytes, got 31"), "{err}");
}

#[test]
fn shared_keys_among_producers_are_accepted() {
    // testnet-93M-shared-keys: several producers share one key. Producers are never
    // de-duplicated; each slot is verified with its own producer's (shared) key.
    let case = chain("testnet-93M-shared-keys");
    let bps = case.bps().unwrap();
    let keys: Vec<&PublicKey> = bps.iter().map(|v| v.public_key()).collect();
    let dup_key = keys
        .iter()
        .find(|k| keys.iter().filter(|k2| k2 == k).count() > 1)
        .expect("the case must have producers that share a key");
    let sharing: Vec<usize> = (0..bps.len()).filter(|&i| keys[i] == *dup_key).collect();
    assert!(sharing.len() >= 3, "{sharing:?}");
    let block = &case.blocks()[0];
    let signed: Vec<usize> = sharing
        .iter()
        .copied()
        .filter(|&i| matches!(block.approvals_after_next.get(i), Some(Some(_))))
        .collect();
    // Ed25519 is deterministic: the same key signs the same message identically in every slot.
    assert!(signed.len() >= 2, "{signed:?}");
    for w in signed.windows(2) {
        assert_eq!(
            block.approvals_after_next[w[0]],
            block.approvals_after_next[w[1]]
        );
    }
    let mut lc = start(&case);
    let v = lc.apply(&C, block).expect("shared keys are accepted");
    assert_eq!(v.hash, case.steps[0].block_hash);
    assert_eq!(lc.head_view().hash, case.steps[0].block_hash);
}

#[test]
fn a_producer_set_for_the_wrong_epoch_is_rejected_as_unknown() {
    // The client knows producers only for the epochs its head implies: a block whose epoch is
    // the head's next one but whose producers were never installed is refused, not guessed.
    let s = accepted_steps()
        .into_iter()
        .find(|s| s.changes_epoch())
        .unwrap();
    let mut lc = LightClient::new(TrustedState {
        head: s.lc.head_view().clone(),
        epochs: vec![(CryptoHash([1; 32]), s.producers.clone())],
    });
    assert_eq!(
        reject(&mut lc, &s.block, &s.label()),
        Error::UnknownEpochProducers
    );
}
