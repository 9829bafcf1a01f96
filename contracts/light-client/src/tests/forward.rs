//! `verify_and_forward`: the proven outcome, the deposit and the gas reach the receiver; a
//! deposit is refunded to the relayer exactly when the receiver's own call fails.

use super::common::*;
use super::proofs::client_with_root;
use crate::LightClient;
use near_sdk::mock::MockAction;
use near_sdk::test_utils::{get_created_receipts, get_logs};
use near_sdk::{AccountId, PromiseResult};
use xsc_vectors::{manifest, Verdict};

/// A valid manifest proof whose root is a block above the proven one, and a light client
/// trusting that block.
fn forwardable() -> (LightClient, xsc_core::LightClientExecutionProof, u64) {
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| {
            c.expect == Verdict::Valid && !xsc_vectors::proof(&c.proof).block_proof.is_empty()
        })
        .expect("a valid proof with a block proof");
    let proof = xsc_vectors::proof(&case.proof);
    let lc = client_with_root(case.root, case.block_height + 1);
    (lc, proof, case.block_height + 1)
}

fn forward_input(
    proof: &xsc_core::LightClientExecutionProof,
    height: u64,
    receiver: &str,
    msg: Vec<u8>,
) -> Vec<u8> {
    borsh::to_vec(&(proof, height, account(receiver), msg)).unwrap()
}

#[test]
fn a_zero_deposit_forward_is_one_call_with_no_refund_callback() {
    let (mut lc, proof, height) = forwardable();
    call_ctx(
        "relayer.near",
        forward_input(&proof, height, "connector.near", vec![2]),
        0,
        300,
    );
    lc.verify_and_forward();
    let receipts = get_created_receipts();
    assert_eq!(receipts.len(), 1, "no callback for a zero deposit");
    assert_eq!(receipts[0].receiver_id, account("connector.near"));
    assert_eq!(receipts[0].actions.len(), 1);
    let MockAction::FunctionCallWeight {
        method_name,
        args,
        attached_deposit,
        prepaid_gas,
        gas_weight,
        ..
    } = &receipts[0].actions[0]
    else {
        panic!("a function call: {:?}", receipts[0].actions);
    };
    assert_eq!(String::from_utf8_lossy(method_name), "on_proven_outcome");
    assert_eq!(attached_deposit.as_yoctonear(), 0);
    assert_eq!(*prepaid_gas, crate::GAS_FORWARD_MIN);
    assert_eq!(gas_weight.0, 1);
    let (sender, outcome, msg): (AccountId, xsc_core::ProvenOutcome, Vec<u8>) =
        borsh::from_slice(args).unwrap();
    assert_eq!(sender, account("relayer.near"));
    assert_eq!(outcome.id, proof.outcome_proof.id);
    assert_eq!(outcome.logs, proof.outcome_proof.outcome.logs);
    assert_eq!(msg, vec![2]);
}

#[test]
fn a_deposit_is_forwarded_with_a_zero_transfer_and_a_refund_callback() {
    let (mut lc, proof, height) = forwardable();
    call_ctx(
        "relayer.near",
        forward_input(&proof, height, "connector.near", vec![]),
        7,
        300,
    );
    lc.verify_and_forward();
    let receipts = get_created_receipts();
    assert_eq!(receipts.len(), 2, "{receipts:?}");
    let forward = &receipts[0];
    assert_eq!(forward.receiver_id, account("connector.near"));
    // The call carries the deposit, then a zero transfer: the receipt's own status (the last
    // action's) is what the callback sees, never a promise the receiver returns.
    match &forward.actions[..] {
        [MockAction::FunctionCallWeight {
            attached_deposit, ..
        }, MockAction::Transfer { deposit, .. }] => {
            assert_eq!(attached_deposit.as_yoctonear(), 7);
            assert_eq!(deposit.as_yoctonear(), 0);
        }
        a => panic!("{a:?}"),
    }
    let callback = &receipts[1];
    assert_eq!(callback.receiver_id, account(CONTRACT));
    assert_eq!(callback.receipt_indices, vec![0]);
    let MockAction::FunctionCallWeight {
        method_name,
        args,
        attached_deposit,
        prepaid_gas,
        gas_weight,
        ..
    } = &callback.actions[0]
    else {
        panic!("{:?}", callback.actions);
    };
    assert_eq!(String::from_utf8_lossy(method_name), "on_forward_settled");
    assert_eq!(attached_deposit.as_yoctonear(), 0);
    assert_eq!(*prepaid_gas, crate::GAS_FORWARD_REFUND);
    assert_eq!(
        gas_weight.0, 0,
        "the receiver gets the unused gas, not the callback"
    );
    let args: serde_json::Value = serde_json::from_slice(args).unwrap();
    assert_eq!(
        args,
        serde_json::json!({"sender_id": "relayer.near", "amount": "7"})
    );
}

#[test]
fn the_refund_callback_pays_back_the_relayer_only_when_the_receivers_call_failed() {
    let args = serde_json::to_vec(&serde_json::json!({"sender_id": "relayer.near", "amount": "7"}))
        .unwrap();
    // Failed: the deposit came back here, it goes to the relayer.
    call_ctx_with_results(CONTRACT, args.clone(), 0, 10, vec![PromiseResult::Failed]);
    LightClient::on_forward_settled(account("relayer.near"), near_sdk::json_types::U128(7));
    let receipts = get_created_receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].receiver_id, account("relayer.near"));
    assert!(matches!(
        &receipts[0].actions[..],
        [MockAction::Transfer { deposit, .. }] if deposit.as_yoctonear() == 7
    ));
    assert!(get_logs().iter().any(|l| l.contains("forward_refunded")));
    // Succeeded: the receiver kept the deposit, nothing is paid.
    call_ctx_with_results(
        CONTRACT,
        args,
        0,
        10,
        vec![PromiseResult::Successful(vec![])],
    );
    LightClient::on_forward_settled(account("relayer.near"), near_sdk::json_types::U128(7));
    assert!(get_created_receipts().is_empty());
    // `#[private]` (only this contract may call it) is enforced by near-sdk's entry point:
    // tested in the sandbox (`tests/tests/sandbox_light_client.rs`).
}

/// Changes a forwarding's proof, msg or height.
type Tamper = Box<dyn Fn(&mut xsc_core::LightClientExecutionProof, &mut Vec<u8>, &mut u64)>;

#[test]
fn verify_and_forward_forwards_nothing_for_a_bad_proof_a_long_msg_or_too_little_gas() {
    let cases: [(&str, Tamper, u64); 5] = [
        (
            "ERR_OUTCOME_ROOT_MISMATCH",
            Box::new(|p, _, _| p.outcome_proof.outcome.logs.push("x".into())),
            300,
        ),
        ("ERR_UNKNOWN_ROOT", Box::new(|_, _, h| *h += 1), 300),
        (
            "ERR_FORWARD_MSG_TOO_LONG",
            Box::new(|_, m, _| *m = vec![0; 1025]),
            300,
        ),
        ("ERR_NOT_ENOUGH_GAS", Box::new(|_, _, _| {}), 11),
        // With a deposit the callback's gas must fit too.
        ("ERR_NOT_ENOUGH_GAS", Box::new(|_, _, _| {}), 14),
    ];
    for (i, (code, tamper, gas)) in cases.iter().enumerate() {
        let (mut lc, mut proof, mut height) = forwardable();
        let mut msg = vec![1];
        tamper(&mut proof, &mut msg, &mut height);
        call_ctx(
            "relayer.near",
            forward_input(&proof, height, "connector.near", msg),
            7,
            *gas,
        );
        let e = try_run(|| lc.verify_and_forward()).expect_err(code);
        assert!(e.starts_with(code), "case {i}: {e}");
        assert!(get_created_receipts().is_empty(), "case {i}");
    }
}

fn batch_input(items: &[(&xsc_core::LightClientExecutionProof, u64, Vec<u8>)]) -> Vec<u8> {
    let items: Vec<_> = items.iter().map(|(p, h, m)| (*p, *h, m.clone())).collect();
    borsh::to_vec(&(account("connector.near"), items)).unwrap()
}

#[test]
fn a_batch_is_verified_whole_and_forwarded_in_one_call() {
    let (mut lc, proof, height) = forwardable();
    call_ctx(
        "relayer.near",
        batch_input(&[(&proof, height, vec![2]), (&proof, height, vec![0])]),
        0,
        300,
    );
    lc.verify_and_forward_batch();
    let receipts = get_created_receipts();
    assert_eq!(receipts.len(), 1, "one call for the whole batch");
    assert_eq!(receipts[0].receiver_id, account("connector.near"));
    let [MockAction::FunctionCallWeight {
        method_name,
        args,
        attached_deposit,
        prepaid_gas,
        gas_weight,
        ..
    }] = &receipts[0].actions[..]
    else {
        panic!("one function call: {:?}", receipts[0].actions);
    };
    assert_eq!(String::from_utf8_lossy(method_name), "on_proven_outcomes");
    assert_eq!(attached_deposit.as_yoctonear(), 0);
    assert_eq!(*prepaid_gas, crate::GAS_FORWARD_MIN);
    assert_eq!(gas_weight.0, 1);
    let (sender, items): (AccountId, Vec<(xsc_core::ProvenOutcome, Vec<u8>)>) =
        borsh::from_slice(args).unwrap();
    assert_eq!(sender, account("relayer.near"));
    assert_eq!(items.len(), 2);
    // In the caller's order, each with its own msg, each the outcome the single path proves.
    call_ctx(
        "relayer.near",
        borsh::to_vec(&(&proof, height)).unwrap(),
        0,
        300,
    );
    let single: xsc_core::ProvenOutcome =
        borsh::from_slice(&lc.verify_outcome_bytes(&borsh::to_vec(&(&proof, height)).unwrap()))
            .unwrap();
    assert_eq!(items[0], (single.clone(), vec![2]));
    assert_eq!(items[1], (single, vec![0]));
}

#[test]
fn a_batch_forwards_nothing_when_any_item_is_bad_or_the_batch_is_empty_or_too_large() {
    let max = xsc_interfaces::MAX_FORWARD_BATCH;
    let cases: [(&str, Tamper, usize, u64); 6] = [
        (
            "ERR_OUTCOME_ROOT_MISMATCH",
            Box::new(|p, _, _| p.outcome_proof.outcome.logs.push("x".into())),
            3,
            300,
        ),
        ("ERR_UNKNOWN_ROOT", Box::new(|_, _, h| *h += 1), 3, 300),
        (
            "ERR_FORWARD_MSG_TOO_LONG",
            Box::new(|_, m, _| *m = vec![0; 1025]),
            3,
            300,
        ),
        ("ERR_BATCH_SIZE", Box::new(|_, _, _| {}), 0, 300),
        ("ERR_BATCH_SIZE", Box::new(|_, _, _| {}), max + 1, 300),
        ("ERR_NOT_ENOUGH_GAS", Box::new(|_, _, _| {}), 3, 11),
    ];
    for (i, (code, tamper, count, gas)) in cases.iter().enumerate() {
        let (mut lc, proof, height) = forwardable();
        // Good items with the tampered one last: nothing of the batch may be forwarded.
        let (mut bad, mut msg, mut bad_height) = (proof.clone(), vec![1], height);
        tamper(&mut bad, &mut msg, &mut bad_height);
        let mut items: Vec<(&xsc_core::LightClientExecutionProof, u64, Vec<u8>)> = Vec::new();
        for j in 0..*count {
            if j + 1 == *count {
                items.push((&bad, bad_height, msg.clone()));
            } else {
                items.push((&proof, height, vec![1]));
            }
        }
        call_ctx("relayer.near", batch_input(&items), 0, *gas);
        let e = try_run(|| lc.verify_and_forward_batch()).expect_err(code);
        assert!(e.starts_with(code), "case {i}: {e}");
        assert!(get_created_receipts().is_empty(), "case {i}");
    }
}

#[test]
fn a_batch_with_trailing_bytes_is_refused() {
    // (A deposit is refused by near-sdk's entry point before the method runs, as for any
    // method that is not `#[payable]`: checked in the sandbox.)
    let (mut lc, proof, height) = forwardable();
    let mut input = batch_input(&[(&proof, height, vec![1])]);
    input.push(0);
    call_ctx("relayer.near", input, 0, 300);
    let e = try_run(|| lc.verify_and_forward_batch()).expect_err("trailing bytes");
    assert!(e.starts_with("ERR_INVALID_INPUT"), "{e}");
    assert!(get_created_receipts().is_empty());
}

#[test]
fn pausing_verify_and_forward_pauses_the_batch_too() {
    use near_plugins::Pausable;
    let (mut lc, proof, height) = forwardable();
    set_caller("admin.near");
    assert!(lc.pa_pause_feature("verify_and_forward".into()));
    call_ctx(
        "relayer.near",
        batch_input(&[(&proof, height, vec![1])]),
        0,
        300,
    );
    let e = try_run(|| lc.verify_and_forward_batch()).expect_err("paused");
    assert!(e.contains("Pausable: Method is paused"), "{e}");
    assert!(get_created_receipts().is_empty());
    set_caller("admin.near");
    assert!(lc.pa_unpause_feature("verify_and_forward".into()));
    call_ctx(
        "relayer.near",
        batch_input(&[(&proof, height, vec![1])]),
        0,
        300,
    );
    lc.verify_and_forward_batch();
    assert_eq!(get_created_receipts().len(), 1);
}
