//! The fast path: outcomes the light client verified and forwarded (`verify_and_forward` →
//! `on_proven_outcome`).

use super::*;
use near_plugins::Pausable;
use xsc_interfaces::MessageKind;

fn greet_logs(nsn: u64) -> Vec<String> {
    cross_call_logs(
        nsn,
        1,
        &cross_call_event("greeter.b.near", "greet", "{}", 5),
    )
}

fn kind_msg(kind: MessageKind) -> Vec<u8> {
    borsh::to_vec(&kind).unwrap()
}

/// `on_proven_outcome` as the light client calls it, with `deposit` from the relayer.
fn forwarded(c: &mut Connector, from: &str, deposit: u128, o: ProvenOutcome, msg: Vec<u8>) {
    Call::contract(from, RELAYER).deposit(deposit).set();
    c.on_proven_outcome(acc(RELAYER), o, msg);
}

fn rejected_code() -> String {
    event(XSC, "delivery_rejected")["code"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_forwarded_outcome_from_the_light_client_is_delivered() {
    let mut c = setup();
    forwarded(
        &mut c,
        LIGHT_CLIENT,
        5,
        ok_outcome(greet_logs(0)),
        kind_msg(MessageKind::CrossCall),
    );
    let calls = function_calls();
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        (EXECUTOR, "execute")
    );
    assert_eq!(event(XSC, "delivered")["nsn"], "0");
    assert!(c.is_delivered(U64(0)));
    // The relayer's whole deposit comes back (a Calimero call uses none of it).
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 5)]);
}

#[test]
fn only_the_configured_light_client_may_forward_outcomes() {
    let mut c = setup();
    for caller in ["mallory.near", RELAYER, LOCKER] {
        let msg = expect_panic(|| {
            forwarded(
                &mut c,
                caller,
                0,
                ok_outcome(greet_logs(0)),
                kind_msg(MessageKind::CrossCall),
            )
        });
        assert!(msg.starts_with("ERR_NOT_LIGHT_CLIENT"), "{msg}");
    }
    Call::by(ADMIN).set();
    assert!(!c.is_delivered(U64(0)));
}

#[test]
fn a_forwarded_outcome_with_an_unknown_kind_is_refused_and_refunded() {
    let mut c = setup();
    for msg in [vec![], vec![9], vec![0, 0]] {
        forwarded(&mut c, LIGHT_CLIENT, 3, ok_outcome(greet_logs(0)), msg);
        assert_eq!(rejected_code(), "ERR_INVALID_KIND");
        // No kind was named: the event says so rather than naming one.
        assert!(event(XSC, "delivery_rejected")["kind"].is_null());
        assert_eq!(transfers(), vec![(RELAYER.to_string(), 3)]);
        assert!(function_calls().is_empty());
    }
    assert!(!c.is_delivered(U64(0)));
}

#[test]
fn a_forwarded_outcome_is_checked_like_any_delivery() {
    let mut c = setup();
    // Not the locker.
    let o = outcome(
        "mallory.a.near",
        ExecutionStatusView::SuccessValue(vec![]),
        greet_logs(0),
    );
    forwarded(&mut c, LIGHT_CLIENT, 2, o, kind_msg(MessageKind::CrossCall));
    assert_eq!(rejected_code(), "ERR_WRONG_EXECUTOR");
    // A message of another kind than the one named.
    forwarded(
        &mut c,
        LIGHT_CLIENT,
        2,
        ok_outcome(greet_logs(0)),
        kind_msg(MessageKind::XcallResponse),
    );
    assert_eq!(rejected_code(), "ERR_NO_MESSAGE");
    assert!(!c.is_delivered(U64(0)));
    // Delivered once; the replay is refused and refunded.
    let cc = kind_msg(MessageKind::CrossCall);
    forwarded(
        &mut c,
        LIGHT_CLIENT,
        0,
        ok_outcome(greet_logs(0)),
        cc.clone(),
    );
    assert!(c.is_delivered(U64(0)));
    forwarded(&mut c, LIGHT_CLIENT, 4, ok_outcome(greet_logs(0)), cc);
    assert_eq!(rejected_code(), "ERR_ALREADY_DELIVERED");
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 4)]);
    assert!(function_calls().is_empty());
}

#[test]
fn pausing_a_delivery_method_pauses_its_fast_path_without_keeping_the_deposit() {
    let mut c = setup();
    Call::by(ADMIN).set();
    assert!(c.pa_pause_feature("cross_call_execute".into()));
    let cc = kind_msg(MessageKind::CrossCall);
    forwarded(
        &mut c,
        LIGHT_CLIENT,
        6,
        ok_outcome(greet_logs(0)),
        cc.clone(),
    );
    assert_eq!(rejected_code(), "ERR_PAUSED");
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 6)]);
    assert!(function_calls().is_empty());
    assert!(!c.is_delivered(U64(0)));
    Call::by(ADMIN).set();
    assert!(c.pa_unpause_feature("cross_call_execute".into()));
    forwarded(&mut c, LIGHT_CLIENT, 0, ok_outcome(greet_logs(0)), cc);
    assert!(c.is_delivered(U64(0)));
}

/// `on_proven_outcomes` as the light client calls it with a batch (`gas` Tgas left).
fn forwarded_batch(c: &mut Connector, from: &str, gas: u64, items: Vec<(ProvenOutcome, Vec<u8>)>) {
    Call::contract(from, RELAYER).gas(gas).set();
    c.on_proven_outcomes(acc(RELAYER), items);
}

fn rejected_codes() -> Vec<String> {
    events(XSC)
        .into_iter()
        .filter(|(e, _)| e == "delivery_rejected")
        .map(|(_, d)| d["code"].as_str().unwrap().to_string())
        .collect()
}

fn executor_calls() -> usize {
    function_calls()
        .iter()
        .filter(|(to, method, ..)| to == EXECUTOR && method == "execute")
        .count()
}

#[test]
fn a_batch_delivers_each_message_in_order_and_a_replay_inside_it_once() {
    let mut c = setup();
    let cc = kind_msg(MessageKind::CrossCall);
    forwarded_batch(
        &mut c,
        LIGHT_CLIENT,
        300,
        vec![
            (ok_outcome(greet_logs(0)), cc.clone()),
            (ok_outcome(greet_logs(1)), cc.clone()),
            (ok_outcome(greet_logs(0)), cc),
        ],
    );
    assert_eq!(executor_calls(), 2);
    let delivered: Vec<_> = events(XSC)
        .into_iter()
        .filter(|(e, _)| e == "delivered")
        .map(|(_, d)| d["nsn"].clone())
        .collect();
    assert_eq!(delivered, vec!["0", "1"]);
    assert_eq!(rejected_codes(), vec!["ERR_ALREADY_DELIVERED"]);
    assert!(c.is_delivered(U64(0)) && c.is_delivered(U64(1)));
    assert!(transfers().is_empty(), "no deposit rides on a batch");
}

#[test]
fn only_the_configured_light_client_may_forward_a_batch() {
    let mut c = setup();
    for caller in ["mallory.near", RELAYER, LOCKER] {
        let msg = expect_panic(|| {
            forwarded_batch(
                &mut c,
                caller,
                300,
                vec![(ok_outcome(greet_logs(0)), kind_msg(MessageKind::CrossCall))],
            )
        });
        assert!(msg.starts_with("ERR_NOT_LIGHT_CLIENT"), "{msg}");
    }
    Call::by(ADMIN).set();
    assert!(!c.is_delivered(U64(0)));
}

#[test]
fn a_bad_item_of_a_batch_is_refused_alone() {
    let mut c = setup();
    let cc = kind_msg(MessageKind::CrossCall);
    let wrong_executor = outcome(
        "mallory.a.near",
        ExecutionStatusView::SuccessValue(vec![]),
        greet_logs(0),
    );
    forwarded_batch(
        &mut c,
        LIGHT_CLIENT,
        300,
        vec![
            (ok_outcome(greet_logs(0)), vec![9]),
            (wrong_executor, cc.clone()),
            (
                ok_outcome(greet_logs(0)),
                kind_msg(MessageKind::XcallResponse),
            ),
            (ok_outcome(greet_logs(0)), cc),
        ],
    );
    assert_eq!(
        rejected_codes(),
        vec!["ERR_INVALID_KIND", "ERR_WRONG_EXECUTOR", "ERR_NO_MESSAGE"]
    );
    assert_eq!(executor_calls(), 1);
    assert!(c.is_delivered(U64(0)));
}

#[test]
fn a_batch_that_runs_out_of_gas_refuses_the_rest_undelivered() {
    let mut c = setup();
    let cc = kind_msg(MessageKind::CrossCall);
    // One `greet` (5 Tgas) needs 61 Tgas to start and attaches 36: 70 Tgas carry one.
    forwarded_batch(
        &mut c,
        LIGHT_CLIENT,
        70,
        vec![
            (ok_outcome(greet_logs(0)), cc.clone()),
            (ok_outcome(greet_logs(1)), cc.clone()),
        ],
    );
    assert_eq!(executor_calls(), 1);
    assert_eq!(rejected_codes(), vec!["ERR_NOT_ENOUGH_GAS"]);
    assert!(c.is_delivered(U64(0)));
    // Not delivered: a later delivery with enough gas takes it.
    assert!(!c.is_delivered(U64(1)));
    forwarded_batch(
        &mut c,
        LIGHT_CLIENT,
        300,
        vec![(ok_outcome(greet_logs(1)), cc)],
    );
    assert!(c.is_delivered(U64(1)));
}

#[test]
fn a_batch_larger_than_the_light_client_sends_is_refused_whole() {
    let mut c = setup();
    let cc = kind_msg(MessageKind::CrossCall);
    let items = (0..=xsc_interfaces::MAX_FORWARD_BATCH as u64)
        .map(|n| (ok_outcome(greet_logs(n)), cc.clone()))
        .collect();
    forwarded_batch(&mut c, LIGHT_CLIENT, 300, items);
    assert_eq!(rejected_codes(), vec!["ERR_BATCH_TOO_LARGE"]);
    assert_eq!(executor_calls(), 0);
    assert!(!c.is_delivered(U64(0)));
}

#[test]
fn pausing_a_delivery_method_pauses_it_in_batches() {
    let mut c = setup();
    Call::by(ADMIN).set();
    assert!(c.pa_pause_feature("cross_call_execute".into()));
    forwarded_batch(
        &mut c,
        LIGHT_CLIENT,
        300,
        vec![
            (ok_outcome(greet_logs(0)), kind_msg(MessageKind::CrossCall)),
            (ok_outcome(greet_logs(1)), kind_msg(MessageKind::CrossCall)),
        ],
    );
    assert_eq!(rejected_codes(), vec!["ERR_PAUSED", "ERR_PAUSED"]);
    assert_eq!(executor_calls(), 0);
    assert!(!c.is_delivered(U64(0)));
}
