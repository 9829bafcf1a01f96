//! Who creates state pays: relayers attach nothing and get back whatever they attach; the
//! sender's fee covers the destination's storage; records are bounded.

use super::*;
use near_plugins::Pausable;
use xsc_interfaces::MessageKind;

const D: u128 = 123_456_789;

fn refunded_exactly(what: &str) {
    assert_eq!(transfers(), vec![(RELAYER.to_string(), D)], "{what}");
}

#[test]
fn every_delivery_returns_any_deposit_whatever_happens() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 5);
    // Delivered, refused, rejected: each kind.
    verified(
        &mut c,
        MessageKind::CrossCall,
        D,
        ok_outcome(cross_call_logs(0, 1, &call)),
    );
    refunded_exactly("cross_call delivered");
    verified(
        &mut c,
        MessageKind::CrossCall,
        D,
        ok_outcome(cross_call_logs(0, 1, &call)),
    );
    refunded_exactly("cross_call already delivered");
    let bad = cross_call_event(CONNECTOR, "greet", "{}", 5);
    verified(
        &mut c,
        MessageKind::CrossCall,
        D,
        ok_outcome(cross_call_logs(1, 2, &bad)),
    );
    refunded_exactly("cross_call refused");
    verified(
        &mut c,
        MessageKind::XcallMessage,
        D,
        ok_outcome(vec![xcall_message_log(2, 5, DAPP, b"x", true)]),
    );
    refunded_exactly("xcall message stored");
    verified(
        &mut c,
        MessageKind::XcallMessage,
        D,
        ok_outcome(vec![xcall_message_log(3, 6, LIGHT_CLIENT, b"x", true)]),
    );
    refunded_exactly("xcall message refused");
    verified(
        &mut c,
        MessageKind::XcallResponse,
        D,
        ok_outcome(vec![xcall_response_log(4, 99, 0)]),
    );
    refunded_exactly("unexpected response");
    let id = super::calimero::sent(&mut c);
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        D,
        ok_outcome(cross_response_logs(5, id, Some(b"1"))),
    );
    refunded_exactly("calimero response");
    Call::callback(vec![PromiseResult::Failed]).set();
    c.on_delivery_verified(
        MessageKind::CrossCall,
        acc(RELAYER),
        near_sdk::json_types::U128(D),
        Err(near_sdk::PromiseError::Failed),
    );
    refunded_exactly("proof rejected");
    // The fast path, paused or with a bad kind.
    Call::by(ADMIN).set();
    c.pa_pause_feature("xcall_receive_message".into());
    Call::contract(LIGHT_CLIENT, RELAYER).deposit(D).set();
    c.on_proven_outcome(
        acc(RELAYER),
        ok_outcome(vec![xcall_message_log(6, 7, DAPP, b"x", false)]),
        borsh::to_vec(&MessageKind::XcallMessage).unwrap(),
    );
    refunded_exactly("paused");
    Call::contract(LIGHT_CLIENT, RELAYER).deposit(D).set();
    c.on_proven_outcome(acc(RELAYER), ok_outcome(vec![]), vec![7]);
    refunded_exactly("bad kind");
}

#[test]
fn a_calimero_record_is_bounded_and_released_when_answered() {
    let mut c = setup();
    // The longest initiator and callback a record can hold.
    let initiator = format!("{}.near", "d".repeat(59));
    Call::by(ADMIN).set();
    c.allow(initiator.clone());
    flush(&mut c);
    let before = storage_usage();
    Call::contract(&initiator, USER).set();
    let id = c
        .cross_call(
            acc("greeter.a.near"),
            "greet".into(),
            "{}".into(),
            Gas::from_tgas(5),
            xsc_interfaces::BalanceArg(0),
            "c".repeat(256),
        )
        .0;
    flush(&mut c);
    let used = u128::from(storage_usage() - before);
    assert_eq!(
        used * 10u128.pow(19),
        crate::calimero::cross_call_record_bound()
    );
    // Answered: released.
    let mut logs = cross_response_logs(0, id, Some(b"1"));
    logs[0] = logs[0]
        .replace(DAPP, &initiator)
        .replace("on_result", &"c".repeat(256));
    verified(&mut c, MessageKind::CrossCallResponse, 0, ok_outcome(logs));
    flush(&mut c);
    // Only the replay watermark moved (no new entry): storage is back.
    assert_eq!(storage_usage(), before);
}

#[test]
fn a_two_way_messages_storage_goes_back_to_whom_the_sender_named() {
    let mut c = setup();
    Call::contract(DAPP, USER).deposit(NEAR).set();
    let sn = c
        .send_call_message(
            format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
            Base64VecU8(vec![1]),
            Some(Base64VecU8(vec![2])),
            None,
            Some(acc(USER)),
        )
        .0;
    let surplus = transfers();
    assert_eq!(surplus.len(), 1);
    assert_eq!(surplus[0].0, USER);
    let p = c.get_pending_message(U64(sn)).unwrap();
    assert_eq!(p.refund_to, acc(USER));
    // Everything attached is accounted for: fee + storage + surplus.
    let fee = c.get_fee(REMOTE_NET.into(), true, Some(1)).0;
    assert_eq!(fee + p.deposit.0 + surplus[0].1, NEAR);
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(0, sn, 0)]),
    );
    assert_eq!(transfers(), vec![(USER.to_string(), p.deposit.0)]);
}
