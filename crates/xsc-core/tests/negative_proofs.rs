//! Negative cases for execution-outcome proofs, each derived from a REAL valid proof of
//! `shared/vectors` and checked against its real trusted root: every tampered part must give
//! its specific error. The chain of commitments is outcome → leaf → shard root (outcome_proof.proof)
//! → block outcome root (outcome_root_proof) = header.outcome_root → header hash =
//! outcome_proof.block_hash → block_proof → trusted root.

mod common;

use common::*;
use xsc_core::hashing::{block_hash, fold_path};
use xsc_core::proof::{outcome_leaf, MAX_MERKLE_PATH};
use xsc_core::views::Direction;
use xsc_core::{
    verify_outcome_proof, verify_outcome_proof_at, Crypto, CryptoHash, Error, ExecutionStatusView,
    LightClientExecutionProof, MerklePathItem, StoredBlock,
};

#[track_caller]
fn assert_rejected(case: &ProofCase, p: &LightClientExecutionProof, want: Error, what: &str) {
    assert_ne!(
        p, &case.proof,
        "{}: {what}: the tampering changed nothing",
        case.name
    );
    match verify_outcome_proof(&C, p, &case.root) {
        Ok(o) => panic!("{}: {what}: tampered proof accepted: {o:?}", case.name),
        Err(e) => assert_eq!(e, want, "{}: {what}", case.name),
    }
}

/// Every tampering of the outcome itself changes the leaf, so the folded outcome root no longer
/// equals the header's `outcome_root`.
fn outcome_tampering(
    tamper: impl Fn(&ProofCase) -> Vec<(String, LightClientExecutionProof)>,
) -> usize {
    let mut n = 0;
    for case in valid_proofs() {
        for (what, p) in tamper(&case) {
            assert_rejected(&case, &p, Error::OutcomeRootMismatch, &what);
            n += 1;
        }
    }
    n
}

fn other_char(c: char) -> char {
    if c == 'x' {
        'y'
    } else {
        'x'
    }
}

#[test]
fn a_tampered_log_is_rejected() {
    let mut with_logs = 0;
    let n = outcome_tampering(|case| {
        let logs = &case.proof.outcome_proof.outcome.logs;
        let mut out = Vec::new();
        for (li, log) in logs.iter().enumerate() {
            let chars: Vec<char> = log.chars().collect();
            for ci in [0, chars.len() / 2, chars.len().saturating_sub(1)] {
                if ci >= chars.len() {
                    continue;
                }
                let mut p = case.proof.clone();
                let mut c2 = chars.clone();
                c2[ci] = other_char(c2[ci]);
                p.outcome_proof.outcome.logs[li] = c2.into_iter().collect();
                out.push((format!("log {li} char {ci} changed"), p));
            }
            let mut p = case.proof.clone();
            p.outcome_proof.outcome.logs.remove(li);
            out.push((format!("log {li} removed"), p));
            let mut p = case.proof.clone();
            p.outcome_proof.outcome.logs[li].push(' ');
            out.push((format!("log {li} extended"), p));
            let mut p = case.proof.clone();
            p.outcome_proof.outcome.logs[li].pop();
            out.push((format!("log {li} shortened"), p));
        }
        for (what, extra) in [
            ("empty log added", String::new()),
            ("log added", "EVENT_JSON:{}".to_string()),
        ] {
            let mut p = case.proof.clone();
            p.outcome_proof.outcome.logs.push(extra.clone());
            out.push((what.to_string(), p.clone()));
            p.outcome_proof.outcome.logs.pop();
            p.outcome_proof.outcome.logs.insert(0, extra);
            out.push((format!("{what} in front"), p));
        }
        if logs.len() >= 2 {
            let mut p = case.proof.clone();
            p.outcome_proof.outcome.logs.swap(0, 1);
            out.push(("logs swapped".into(), p));
        }
        out
    });
    for case in valid_proofs() {
        if !case.proof.outcome_proof.outcome.logs.is_empty() {
            with_logs += 1;
        }
    }
    assert!(with_logs >= 4, "only {with_logs} proofs carry logs");
    assert!(n >= 60, "{n}");
}

#[test]
fn a_tampered_status_is_rejected() {
    let mut kinds = [0usize; 2];
    let n = outcome_tampering(|case| {
        let status = &case.proof.outcome_proof.outcome.status;
        let mut variants: Vec<(&str, ExecutionStatusView)> = vec![
            ("switched to Failure", ExecutionStatusView::Failure),
            ("switched to Unknown", ExecutionStatusView::Unknown),
        ];
        match status {
            ExecutionStatusView::SuccessValue(v) => {
                let mut appended = v.clone();
                appended.push(0);
                variants.push((
                    "SuccessValue with a byte appended",
                    ExecutionStatusView::SuccessValue(appended),
                ));
                if !v.is_empty() {
                    let mut flipped = v.clone();
                    flipped[0] ^= 1;
                    variants.push((
                        "SuccessValue first byte changed",
                        ExecutionStatusView::SuccessValue(flipped),
                    ));
                    let mut flipped = v.clone();
                    *flipped.last_mut().unwrap() ^= 0x80;
                    variants.push((
                        "SuccessValue last byte changed",
                        ExecutionStatusView::SuccessValue(flipped),
                    ));
                    variants.push((
                        "SuccessValue emptied",
                        ExecutionStatusView::SuccessValue(Vec::new()),
                    ));
                    variants.push((
                        "SuccessValue truncated",
                        ExecutionStatusView::SuccessValue(v[..v.len() - 1].to_vec()),
                    ));
                }
                variants.push((
                    "switched to SuccessReceiptId",
                    ExecutionStatusView::SuccessReceiptId(case.proof.outcome_proof.id),
                ));
            }
            ExecutionStatusView::SuccessReceiptId(h) => {
                let mut f = *h;
                flip_hash(&mut f, 3);
                variants.push((
                    "SuccessReceiptId changed",
                    ExecutionStatusView::SuccessReceiptId(f),
                ));
                variants.push((
                    "switched to SuccessValue(empty)",
                    ExecutionStatusView::SuccessValue(Vec::new()),
                ));
                variants.push((
                    "switched to SuccessValue(the receipt id bytes)",
                    ExecutionStatusView::SuccessValue(h.0.to_vec()),
                ));
            }
            other => panic!("{}: unexpected status {other:?}", case.name),
        }
        variants
            .into_iter()
            .map(|(what, st)| {
                let mut p = case.proof.clone();
                p.outcome_proof.outcome.status = st;
                (what.to_string(), p)
            })
            .collect()
    });
    for case in valid_proofs() {
        match case.proof.outcome_proof.outcome.status {
            ExecutionStatusView::SuccessValue(_) => kinds[0] += 1,
            ExecutionStatusView::SuccessReceiptId(_) => kinds[1] += 1,
            _ => {}
        }
    }
    assert!(kinds[0] >= 3 && kinds[1] >= 2, "{kinds:?}");
    assert!(n >= 50, "{n}");
}

#[test]
fn a_tampered_receipt_id_is_rejected() {
    let n = outcome_tampering(|case| {
        let ids = &case.proof.outcome_proof.outcome.receipt_ids;
        let mut out = Vec::new();
        for i in 0..ids.len() {
            let mut p = case.proof.clone();
            flip_hash(&mut p.outcome_proof.outcome.receipt_ids[i], 0);
            out.push((format!("receipt id {i} first byte"), p));
            let mut p = case.proof.clone();
            flip_hash(&mut p.outcome_proof.outcome.receipt_ids[i], 31);
            out.push((format!("receipt id {i} last byte"), p));
            let mut p = case.proof.clone();
            p.outcome_proof.outcome.receipt_ids.remove(i);
            out.push((format!("receipt id {i} removed"), p));
        }
        let mut p = case.proof.clone();
        p.outcome_proof
            .outcome
            .receipt_ids
            .push(CryptoHash([4; 32]));
        out.push(("receipt id added".into(), p));
        // The outcome's own id (transaction hash or receipt id) is the first leaf hash.
        let mut p = case.proof.clone();
        flip_hash(&mut p.outcome_proof.id, 9);
        out.push(("outcome id".into(), p));
        out
    });
    assert!(n >= 40, "{n}");
}

#[test]
fn tampered_gas_tokens_or_executor_are_rejected() {
    let n = outcome_tampering(|case| {
        let o = &case.proof.outcome_proof.outcome;
        let mut out = Vec::new();
        let mut push = |what: &str, f: &dyn Fn(&mut LightClientExecutionProof)| {
            let mut p = case.proof.clone();
            f(&mut p);
            out.push((what.to_string(), p));
        };
        push("gas_burnt + 1", &|p| p.outcome_proof.outcome.gas_burnt += 1);
        push("gas_burnt high bit", &|p| {
            p.outcome_proof.outcome.gas_burnt ^= 1u64 << 63
        });
        push("tokens_burnt + 1", &|p| {
            p.outcome_proof.outcome.tokens_burnt += 1
        });
        push("tokens_burnt high bit", &|p| {
            p.outcome_proof.outcome.tokens_burnt ^= 1u128 << 127
        });
        push("executor_id changed", &|p| {
            let e = &mut p.outcome_proof.outcome.executor_id;
            let first = e.remove(0);
            e.insert(0, other_char(first));
        });
        push("executor_id suffixed", &|p| {
            p.outcome_proof.outcome.executor_id.push_str(".attacker")
        });
        push("executor_id replaced", &|p| {
            p.outcome_proof.outcome.executor_id = "attacker.near".into()
        });
        if o.gas_burnt > 0 {
            push("gas_burnt - 1", &|p| p.outcome_proof.outcome.gas_burnt -= 1);
        }
        if o.tokens_burnt > 0 {
            push("tokens_burnt - 1", &|p| {
                p.outcome_proof.outcome.tokens_burnt -= 1
            });
        }
        out
    });
    assert!(n >= 70, "{n}");
}

/// The three paths of a proof with the error a change in each must give.
#[derive(Clone, Copy, Debug)]
enum PathKind {
    Outcome,
    OutcomeRoot,
    Block,
}

const PATHS: [PathKind; 3] = [PathKind::Outcome, PathKind::OutcomeRoot, PathKind::Block];

fn path_mut(p: &mut LightClientExecutionProof, k: PathKind) -> &mut Vec<MerklePathItem> {
    match k {
        PathKind::Outcome => &mut p.outcome_proof.proof,
        PathKind::OutcomeRoot => &mut p.outcome_root_proof,
        PathKind::Block => &mut p.block_proof,
    }
}

fn path_error(k: PathKind) -> Error {
    match k {
        PathKind::Outcome | PathKind::OutcomeRoot => Error::OutcomeRootMismatch,
        PathKind::Block => Error::BlockRootMismatch,
    }
}

fn flip_direction(d: &mut Direction) {
    *d = match d {
        Direction::Left => Direction::Right,
        Direction::Right => Direction::Left,
    };
}

#[test]
fn a_flipped_path_direction_is_rejected() {
    let mut per_kind = [0usize; 3];
    for case in valid_proofs() {
        for (ki, k) in PATHS.into_iter().enumerate() {
            let len = path_mut(&mut case.proof.clone(), k).len();
            for i in 0..len {
                let mut p = case.proof.clone();
                flip_direction(&mut path_mut(&mut p, k)[i].direction);
                assert_rejected(&case, &p, path_error(k), &format!("{k:?} path item {i}"));
                per_kind[ki] += 1;
            }
        }
    }
    assert!(per_kind.iter().all(|&n| n >= 5), "{per_kind:?}");
}

#[test]
fn a_tampered_path_is_rejected() {
    let mut per_kind = [0usize; 3];
    for case in valid_proofs() {
        for (ki, k) in PATHS.into_iter().enumerate() {
            let path = path_mut(&mut case.proof.clone(), k).clone();
            for i in 0..path.len() {
                for byte in [0, 31] {
                    let mut p = case.proof.clone();
                    flip_hash(&mut path_mut(&mut p, k)[i].hash, byte);
                    let what = format!("{k:?} path item {i} byte {byte}");
                    assert_rejected(&case, &p, path_error(k), &what);
                }
                let mut p = case.proof.clone();
                path_mut(&mut p, k).remove(i);
                assert_rejected(&case, &p, path_error(k), &format!("{k:?} item {i} removed"));
                if i + 1 < path.len() && path[i] != path[i + 1] {
                    let mut p = case.proof.clone();
                    path_mut(&mut p, k).swap(i, i + 1);
                    let what = format!("{k:?} items {i},{} swapped", i + 1);
                    assert_rejected(&case, &p, path_error(k), &what);
                }
                per_kind[ki] += 1;
            }
            // An extra item, at the end and at the front, for every path (empty ones too).
            for front in [false, true] {
                let mut p = case.proof.clone();
                let item = MerklePathItem {
                    hash: CryptoHash([6; 32]),
                    direction: Direction::Right,
                };
                if front {
                    path_mut(&mut p, k).insert(0, item);
                } else {
                    path_mut(&mut p, k).push(item);
                }
                let what = format!("{k:?} item added (front: {front})");
                assert_rejected(&case, &p, path_error(k), &what);
            }
        }
    }
    assert!(per_kind.iter().all(|&n| n >= 5), "{per_kind:?}");
}

#[test]
fn a_wrong_root_is_rejected() {
    let cases = valid_proofs();
    for case in &cases {
        let mut root = case.root;
        flip_hash(&mut root, 0);
        assert_eq!(
            verify_outcome_proof(&C, &case.proof, &root),
            Err(Error::BlockRootMismatch),
            "{}",
            case.name
        );
        assert_eq!(
            verify_outcome_proof(&C, &case.proof, &CryptoHash::zero()),
            Err(Error::BlockRootMismatch),
            "{}",
            case.name
        );
        // The roots of the other real proofs.
        for other in cases.iter().filter(|o| o.root != case.root) {
            assert_eq!(
                verify_outcome_proof(&C, &case.proof, &other.root),
                Err(Error::BlockRootMismatch),
                "{} against the root of {}",
                case.name,
                other.name
            );
        }
        // With a non-empty block proof, the header's own hash is not the root.
        if !case.proof.block_proof.is_empty() {
            assert_eq!(
                verify_outcome_proof(&C, &case.proof, &case.proof.outcome_proof.block_hash),
                Err(Error::BlockRootMismatch),
                "{}",
                case.name
            );
        }
    }
}

type HeaderTamper = fn(&mut LightClientExecutionProof);

#[test]
fn a_tampered_header_is_rejected() {
    let tampers: &[(&str, HeaderTamper, Error)] = &[
        (
            "inner_lite.outcome_root",
            |p| flip_hash(&mut p.block_header_lite.inner_lite.outcome_root, 0),
            Error::OutcomeRootMismatch,
        ),
        (
            "inner_lite.height",
            |p| p.block_header_lite.inner_lite.height ^= 1,
            Error::BlockHashMismatch,
        ),
        (
            "inner_lite.epoch_id",
            |p| flip_hash(&mut p.block_header_lite.inner_lite.epoch_id, 1),
            Error::BlockHashMismatch,
        ),
        (
            "inner_lite.next_epoch_id",
            |p| flip_hash(&mut p.block_header_lite.inner_lite.next_epoch_id, 2),
            Error::BlockHashMismatch,
        ),
        (
            "inner_lite.prev_state_root",
            |p| flip_hash(&mut p.block_header_lite.inner_lite.prev_state_root, 3),
            Error::BlockHashMismatch,
        ),
        (
            "inner_lite.timestamp",
            |p| p.block_header_lite.inner_lite.timestamp ^= 1,
            Error::BlockHashMismatch,
        ),
        (
            "inner_lite.next_bp_hash",
            |p| flip_hash(&mut p.block_header_lite.inner_lite.next_bp_hash, 4),
            Error::BlockHashMismatch,
        ),
        (
            "inner_lite.block_merkle_root",
            |p| flip_hash(&mut p.block_header_lite.inner_lite.block_merkle_root, 5),
            Error::BlockHashMismatch,
        ),
        (
            "prev_block_hash",
            |p| flip_hash(&mut p.block_header_lite.prev_block_hash, 6),
            Error::BlockHashMismatch,
        ),
        (
            "inner_rest_hash",
            |p| flip_hash(&mut p.block_header_lite.inner_rest_hash, 7),
            Error::BlockHashMismatch,
        ),
        (
            "outcome_proof.block_hash alone",
            |p| flip_hash(&mut p.outcome_proof.block_hash, 8),
            Error::BlockHashMismatch,
        ),
        (
            "outcome_proof.block_hash replaced by the header's prev_block_hash",
            |p| p.outcome_proof.block_hash = p.block_header_lite.prev_block_hash,
            Error::BlockHashMismatch,
        ),
    ];
    for case in valid_proofs() {
        for (what, t, want) in tampers {
            let mut p = case.proof.clone();
            t(&mut p);
            assert_rejected(&case, &p, want.clone(), what);
        }
    }
}

/// Recompute every commitment from the outcome up to `outcome_proof.block_hash`, as a forger
/// who controls the whole proof would: only the trusted root can catch the forgery.
fn reseal(p: &mut LightClientExecutionProof) {
    let leaf = outcome_leaf(&C, &p.outcome_proof.id, &p.outcome_proof.outcome);
    let shard_root = fold_path(&C, leaf, &p.outcome_proof.proof);
    let outcome_root = fold_path(
        &C,
        CryptoHash(C.sha256(&shard_root.0)),
        &p.outcome_root_proof,
    );
    p.block_header_lite.inner_lite.outcome_root = outcome_root;
    p.outcome_proof.block_hash = block_hash(&C, &p.block_header_lite);
}

#[test]
fn a_self_consistent_forgery_is_rejected_by_the_trusted_root() {
    type Forge = fn(&mut LightClientExecutionProof);
    let forgeries: &[(&str, Forge)] = &[
        ("executor_id", |p| {
            p.outcome_proof.outcome.executor_id = "attacker.near".into()
        }),
        ("status", |p| {
            p.outcome_proof.outcome.status = ExecutionStatusView::SuccessValue(b"1".to_vec())
        }),
        ("logs", |p| {
            p.outcome_proof
                .outcome
                .logs
                .push("EVENT_JSON:{\"forged\":true}".into())
        }),
        ("header timestamp", |p| {
            p.block_header_lite.inner_lite.timestamp += 1
        }),
        ("header height", |p| {
            p.block_header_lite.inner_lite.height += 1
        }),
    ];
    for case in valid_proofs() {
        // The recomputation reproduces the real proof exactly.
        let mut same = case.proof.clone();
        reseal(&mut same);
        assert_eq!(same, case.proof, "{}", case.name);
        for (what, forge) in forgeries {
            let mut p = case.proof.clone();
            forge(&mut p);
            reseal(&mut p);
            assert_rejected(&case, &p, Error::BlockRootMismatch, what);
        }
    }
}

#[test]
fn a_path_longer_than_the_maximum_is_rejected() {
    let filler = MerklePathItem {
        hash: CryptoHash([8; 32]),
        direction: Direction::Left,
    };
    for case in valid_proofs() {
        for k in PATHS {
            // One past the maximum: refused before any hashing.
            let mut p = case.proof.clone();
            path_mut(&mut p, k).resize(MAX_MERKLE_PATH + 1, filler.clone());
            assert_rejected(&case, &p, Error::ProofPathTooLong, &format!("{k:?} of 65"));
            let mut p = case.proof.clone();
            path_mut(&mut p, k).resize(10_000, filler.clone());
            assert_rejected(
                &case,
                &p,
                Error::ProofPathTooLong,
                &format!("{k:?} of 10000"),
            );
            // Exactly the maximum is not "too long": it fails on the hashes instead.
            let mut p = case.proof.clone();
            path_mut(&mut p, k).resize(MAX_MERKLE_PATH, filler.clone());
            assert_rejected(&case, &p, path_error(k), &format!("{k:?} of 64"));
        }
    }
}

fn garbage() -> CryptoHash {
    CryptoHash([0xEE; 32])
}

#[test]
fn verify_at_with_an_empty_block_proof_checks_the_stored_hash_only() {
    let mut tested = 0;
    for case in valid_proofs()
        .into_iter()
        .filter(|c| c.proof.block_proof.is_empty())
    {
        let p = &case.proof;
        let h = p.block_header_lite.inner_lite.height;
        // The proven block is the stored block itself.
        let stored = StoredBlock {
            height: h,
            hash: case.root,
            block_merkle_root: garbage(),
        };
        let o = verify_outcome_proof_at(&C, p, &stored).expect(&case.name);
        assert_eq!(o.block_height, h);
        // The block's merkle root is never used in place of its hash.
        let stored = StoredBlock {
            height: h,
            hash: garbage(),
            block_merkle_root: case.root,
        };
        assert_eq!(
            verify_outcome_proof_at(&C, p, &stored),
            Err(Error::BlockRootMismatch),
            "{}",
            case.name
        );
        // An empty path proves only the stored block: any other height is refused.
        for height in [h + 1, h - 1, h + 1000] {
            let stored = StoredBlock {
                height,
                hash: case.root,
                block_merkle_root: case.root,
            };
            assert_eq!(
                verify_outcome_proof_at(&C, p, &stored),
                Err(Error::ProofHeightMismatch {
                    proof_height: h,
                    root_height: height
                }),
                "{}",
                case.name
            );
        }
        tested += 1;
    }
    assert!(tested >= 2, "{tested}");
}

#[test]
fn verify_at_with_a_block_proof_checks_the_block_merkle_root_only() {
    let mut tested = 0;
    for case in valid_proofs()
        .into_iter()
        .filter(|c| !c.proof.block_proof.is_empty())
    {
        let p = &case.proof;
        let h = p.block_header_lite.inner_lite.height;
        // The stored block is later than the proven one: its block_merkle_root covers it.
        for height in [h + 1, h + 43_200] {
            let stored = StoredBlock {
                height,
                hash: garbage(),
                block_merkle_root: case.root,
            };
            let o = verify_outcome_proof_at(&C, p, &stored).expect(&case.name);
            assert_eq!(o.block_height, h);
        }
        // The stored hash is never used in place of the merkle root.
        let stored = StoredBlock {
            height: h + 1,
            hash: case.root,
            block_merkle_root: garbage(),
        };
        assert_eq!(
            verify_outcome_proof_at(&C, p, &stored),
            Err(Error::BlockRootMismatch),
            "{}",
            case.name
        );
        // Emptying the path does not turn the merkle root into a block hash.
        let mut emptied = p.clone();
        emptied.block_proof.clear();
        let stored = StoredBlock {
            height: h,
            hash: case.root,
            block_merkle_root: case.root,
        };
        assert_eq!(
            verify_outcome_proof_at(&C, &emptied, &stored),
            Err(Error::BlockRootMismatch),
            "{}",
            case.name
        );
        tested += 1;
    }
    assert!(tested >= 8, "{tested}");
}

#[test]
fn verify_at_refuses_a_proven_block_not_below_the_stored_block() {
    // A block's block_merkle_root covers only the blocks strictly before it.
    let mut tested = 0;
    for case in valid_proofs()
        .into_iter()
        .filter(|c| !c.proof.block_proof.is_empty())
    {
        let p = &case.proof;
        let h = p.block_header_lite.inner_lite.height;
        for height in [h, h - 1, 0] {
            // Even with the right root in both places.
            let stored = StoredBlock {
                height,
                hash: case.root,
                block_merkle_root: case.root,
            };
            assert_eq!(
                verify_outcome_proof_at(&C, p, &stored),
                Err(Error::ProofBlockTooNew {
                    proof_height: h,
                    root_height: height
                }),
                "{}",
                case.name
            );
        }
        tested += 1;
    }
    assert!(tested >= 8, "{tested}");
}
