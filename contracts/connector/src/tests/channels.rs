//! Channels: `set_locker` retires a channel, `declare_channel_dead` ends it; every record is
//! answered and matched on its own channel.

use super::e2e::{deliver, proven, run, two_chains, Storage, A, B};
use super::*;
use crate::{ChannelStatus, MessageState};
use xsc_interfaces::MessageKind;

const LOCKER2: &str = "connector2.a.near";

fn response_of(logs: &[String]) -> xsc_interfaces::XcallResponseMsg {
    match logs
        .iter()
        .find_map(|l| TransportEvent::parse(l, MessageKind::XcallResponse))
    {
        Some(TransportEvent::XcallResponse(r)) => r,
        _ => panic!("no xcall_response in {logs:?}"),
    }
}

/// A second connector on chain a whose locker is B.
fn second_connector_on_a() -> (Storage, Connector) {
    let mut storage = Storage::new();
    let (mut a2, _, _) = run(&mut storage, Call::by("admin.a.near").on(LOCKER2), || {
        Connector::new(
            acc("lc.a.near"),
            acc("executor2.a.near"),
            "a".into(),
            "b".into(),
            Some(acc(B)),
            None,
        )
    });
    run(&mut storage, Call::by("admin.a.near").on(LOCKER2), || {
        a2.allow("dapp.a.near".into())
    });
    (storage, a2)
}

fn send_two_way(storage: &mut Storage, c: &mut Connector, on: &'static str) -> (U64, Vec<String>) {
    let (sn, logs, _) = run(
        storage,
        Call::contract("dapp.a.near", "user.a.near")
            .on(on)
            .deposit(NEAR),
        || {
            c.send_call_message(
                "btp://b/ledger.b.near".into(),
                Base64VecU8(b"credit".to_vec()),
                Some(Base64VecU8(b"refund".to_vec())),
                None,
                None,
            )
        },
    );
    (sn, logs)
}

/// The attack: after `set_locker`, executing a request of the old channel must not
/// answer the new locker, whose own message with the same sn would then roll back although it
/// succeeds.
#[test]
fn an_old_request_executed_after_set_locker_never_rolls_back_the_new_lockers_message() {
    let (mut a_storage, mut a, mut b_storage, mut b) = two_chains();
    let (mut a2_storage, mut a2) = second_connector_on_a();

    // A (old locker) sends sn 1, two-way; B receives it as request 1 on channel 0.
    let (sn_a, a_logs) = send_two_way(&mut a_storage, &mut a, A);
    deliver(
        &mut b_storage,
        &mut b,
        B,
        MessageKind::XcallMessage,
        0,
        proven(A, a_logs),
    );

    // B's owner replaces the locker with A2 (channel 1).
    run(&mut b_storage, Call::by(ADMIN).on(B), || {
        b.set_locker(acc(LOCKER2))
    });

    // A2 sends its own sn 1, two-way; B receives it as request 2 on channel 1.
    let (sn_a2, a2_logs) = send_two_way(&mut a2_storage, &mut a2, LOCKER2);
    assert_eq!(sn_a, sn_a2, "the same sn on both connectors");
    deliver(
        &mut b_storage,
        &mut b,
        B,
        MessageKind::XcallMessage,
        0,
        proven(LOCKER2, a2_logs),
    );
    let (channels, _, _) = run(&mut b_storage, Call::by(USER).on(B), || {
        (
            b.get_request(U64(1)).unwrap().channel,
            b.get_request(U64(2)).unwrap().channel,
        )
    });
    assert_eq!(channels, (0, 1));

    // The old request fails on B: its failure goes back to A, on channel 0 (nsn 0 there).
    run(&mut b_storage, Call::by(USER).on(B).gas(100), || {
        b.execute_call(U64(1))
    });
    let ((), b_fail_logs, _) = run(
        &mut b_storage,
        Call::callback(vec![PromiseResult::Failed]).on(B),
        || b.on_call_executed(1),
    );
    let r = response_of(&b_fail_logs);
    assert_eq!(
        (r.dst.as_str(), r.nsn, r.sn, r.code),
        (A, U64(0), U64(1), -1)
    );

    // Relayed to A2 anyway: not for it, nothing happens to its message.
    let (logs, _) = deliver(
        &mut a2_storage,
        &mut a2,
        LOCKER2,
        MessageKind::XcallResponse,
        0,
        proven(B, b_fail_logs.clone()),
    );
    assert!(
        logs.iter().any(|l| l.contains("ERR_NO_MESSAGE")),
        "{logs:?}"
    );
    let (st, _, _) = run(&mut a2_storage, Call::by(USER).on(LOCKER2), || {
        a2.message_state(sn_a2)
    });
    assert_eq!(st, MessageState::AwaitingResponse);

    // A2's message then succeeds on B; A2 learns it on channel 1 (nsn 0 there).
    run(&mut b_storage, Call::by(USER).on(B).gas(100), || {
        b.execute_call(U64(2))
    });
    let ((), b_ok_logs, _) = run(
        &mut b_storage,
        Call::callback(vec![PromiseResult::Successful(vec![])]).on(B),
        || b.on_call_executed(2),
    );
    let r = response_of(&b_ok_logs);
    assert_eq!((r.dst.as_str(), r.nsn, r.code), (LOCKER2, U64(0), 0));
    deliver(
        &mut a2_storage,
        &mut a2,
        LOCKER2,
        MessageKind::XcallResponse,
        0,
        proven(B, b_ok_logs),
    );
    let (st, _, _) = run(&mut a2_storage, Call::by(USER).on(LOCKER2), || {
        a2.message_state(sn_a2)
    });
    assert_eq!(st, MessageState::ExecutedOk, "never rolled back");

    // A gets its failure (its record is on the channel the response comes from): rollback.
    deliver(
        &mut a_storage,
        &mut a,
        A,
        MessageKind::XcallResponse,
        0,
        proven(B, b_fail_logs),
    );
    let (st, _, _) = run(&mut a_storage, Call::by(USER).on(A), || {
        a.message_state(sn_a)
    });
    assert_eq!(st, MessageState::ExecutionFailed);
}

#[test]
fn a_response_from_the_new_locker_never_matches_a_record_of_the_old_channel() {
    let mut c = setup();
    let sn = super::xcall::send(&mut c, NEAR, vec![1], Some(vec![2]));
    let id = super::calimero::sent(&mut c);
    Call::by(ADMIN).set();
    c.set_locker(acc(LOCKER2));
    // The new locker answers sn and request id of the old channel: refused, nothing changes.
    let o = from_locker(vec![xcall_response_log(0, sn, -1)], LOCKER2);
    verified(&mut c, MessageKind::XcallResponse, 0, o);
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    assert_eq!(c.message_state(U64(sn)), MessageState::AwaitingResponse);
    let o = from_locker(cross_response_logs(1, id, Some(b"1")), LOCKER2);
    verified(&mut c, MessageKind::CrossCallResponse, 0, o);
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    assert!(function_calls().is_empty());
    assert!(c.get_cross_call(U64(id)).is_some());
    // The old locker's answers are accepted on the old channel.
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(0, sn, -1)]),
    );
    assert_eq!(c.message_state(U64(sn)), MessageState::ExecutionFailed);
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(1, id, Some(b"1"))),
    );
    assert_eq!(function_calls()[0].1, "on_result");
    let chans = c.channels();
    assert_eq!(chans.len(), 2);
    assert_eq!(
        (chans[1].channel, chans[1].status, chans[1].next_in),
        (0, ChannelStatus::Retired, U64(2))
    );
    // The new channel consumed the two refused answers (they can never block it).
    assert_eq!(
        (chans[0].channel, chans[0].status, chans[0].next_in),
        (1, ChannelStatus::Active, U64(2))
    );
}

#[test]
fn requests_of_a_retired_channel_are_refused_and_answered_on_it() {
    let mut c = setup();
    // Some traffic on channel 0 first: its outbound counter is at 1.
    super::xcall::send(&mut c, NEAR, vec![1], None);
    Call::by(ADMIN).set();
    c.set_locker(acc(LOCKER2));
    // New messages from the old locker: refused, answered to it with channel 0's numbers.
    let o = ok_outcome(vec![xcall_message_log(0, 9, DAPP, b"x", true)]);
    verified(&mut c, MessageKind::XcallMessage, 0, o);
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_CHANNEL_RETIRED");
    let r = match transport(MessageKind::XcallResponse).remove(0) {
        TransportEvent::XcallResponse(r) => r,
        _ => unreachable!(),
    };
    assert_eq!(
        (r.dst, r.nsn, r.sn, r.code),
        (acc(LOCKER), U64(1), U64(9), -1)
    );
    assert!(c.get_request(U64(1)).is_none());
    let call = cross_call_event("greeter.b.near", "greet", "{}", 5);
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(cross_call_logs(1, 3, &call)),
    );
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_CHANNEL_RETIRED");
    assert!(function_calls().is_empty());
    let t = transport(MessageKind::CrossCallResponse);
    assert_eq!(t[0].route(), (&acc(LOCKER), REMOTE_NET, 2));
    // New messages go out on the new channel only.
    let sn = super::xcall::send(&mut c, NEAR, vec![1], None);
    let m = transport(MessageKind::XcallMessage).remove(0);
    assert_eq!(m.route(), (&acc(LOCKER2), REMOTE_NET, 0));
    assert_eq!(sn, 2);
}

#[test]
fn a_call_in_flight_across_set_locker_is_answered_on_its_own_channel() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 5);
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(cross_call_logs(0, 7, &call)),
    );
    let (rid, initiator, callback, dest, channel): (u64, String, String, AccountId, u32) =
        borsh::from_slice(&function_calls()[1].2).unwrap();
    Call::by(ADMIN).set();
    c.set_locker(acc(LOCKER2));
    Call::callback(vec![PromiseResult::Successful(b"1".to_vec())]).set();
    c.on_cross_call_finished(rid, initiator, callback, dest, channel);
    let t = transport(MessageKind::CrossCallResponse);
    assert_eq!(t[0].route(), (&acc(LOCKER), REMOTE_NET, 0));
}

#[test]
fn a_dead_channel_ends_what_was_pending_on_it_with_every_deposit_returned() {
    let mut c = setup();
    let sn = super::xcall::send(&mut c, NEAR, vec![1], Some(vec![2]));
    let deposit = c.get_pending_message(U64(sn)).unwrap().deposit.0;
    let id = super::calimero::sent(&mut c);
    verified(
        &mut c,
        MessageKind::XcallMessage,
        0,
        ok_outcome(vec![xcall_message_log(0, 5, DAPP, b"x", true)]),
    );
    Call::by(ADMIN).set();
    c.set_locker(acc(LOCKER2));
    // Retired, not dead: nothing may end early.
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_rollback(U64(sn)), "ERR_ROLLBACK_NOT_ENABLED");
    Call::by(USER).gas(100).set();
    assert_err(|| c.abandon_cross_call(U64(id)), "ERR_CHANNEL_ALIVE");
    // Only the Dao declares, only a retired channel.
    Call::by(USER).set();
    assert!(expect_panic(|| c.declare_channel_dead(0)).contains("Insufficient"));
    Call::by(ADMIN).set();
    assert_err(|| c.declare_channel_dead(1), "ERR_CHANNEL_NOT_RETIRED");
    Call::by(ADMIN).set();
    c.declare_channel_dead(0);
    assert_eq!(
        event(XSC, "channel_dead"),
        serde_json::json!({"channel": 0, "locker": LOCKER, "by": ADMIN})
    );
    assert_eq!(c.channels().len(), 1);
    // The two-way message may be rolled back now (its answer will never come).
    assert_eq!(c.message_state(U64(sn)), MessageState::ExecutionFailed);
    Call::by(USER).gas(100).set();
    c.execute_rollback(U64(sn));
    assert_eq!(event(XCALL, "rollback_message")["sn"], sn.to_string());
    assert_eq!(function_calls()[0].1, "handle_call_message");
    Call::callback(vec![PromiseResult::Successful(vec![])]).set();
    c.on_rollback_executed(sn);
    assert_eq!(transfers(), vec![(DAPP.to_string(), deposit)]);
    assert_eq!(c.message_state(U64(sn)), MessageState::RolledBack);
    // A late response from the dead channel is not even looked at.
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(1, sn, 0)]),
    );
    assert_eq!(
        event(XSC, "delivery_rejected")["code"],
        "ERR_WRONG_EXECUTOR"
    );
    // The Calimero call ends with a failure callback, marked as the connector's own answer.
    Call::by(USER).gas(100).set();
    c.abandon_cross_call(U64(id));
    assert_eq!(
        event(XSC, "cross_call_abandoned")["request_id"],
        id.to_string()
    );
    let calls = function_calls();
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        (DAPP, "on_result")
    );
    let json: serde_json::Value = serde_json::from_slice(&calls[0].2).unwrap();
    assert_eq!(json["response"], serde_json::Value::Null);
    assert_eq!(json["calimero_predecessor_id"], CONNECTOR);
    Call::by(USER).gas(100).set();
    assert_err(|| c.abandon_cross_call(U64(id)), "ERR_UNKNOWN_REQUEST");
    // The request received on it expires unexecuted, its answer dropped (nothing goes out on it).
    Call::by(USER).gas(100).set();
    c.execute_call(U64(1));
    assert!(function_calls().is_empty());
    assert_eq!(event(XSC, "request_expired")["req_id"], "1");
    assert_eq!(
        event(XSC, "response_dropped"),
        serde_json::json!({"kind": "xcall_response", "channel": 0})
    );
    assert_eq!(c.request_state(U64(1)), MessageState::Expired);
}

#[test]
fn retired_channels_are_bounded_and_their_replay_state_deleted_when_dead() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.set_window(16);
    // Deliveries ahead of the watermark on channel 0: entries in the window.
    for nsn in [3, 5, 9] {
        let call = cross_call_event("greeter.b.near", "greet", "{}", 5);
        verified(
            &mut c,
            MessageKind::CrossCall,
            0,
            ok_outcome(cross_call_logs(nsn, nsn, &call)),
        );
    }
    flush(&mut c);
    assert_eq!(window_entries(0), 3);
    for i in 0..4 {
        Call::by(ADMIN).set();
        c.set_locker(acc(&format!("connector{}.a.near", i + 2)));
    }
    Call::by(ADMIN).set();
    assert_err(
        || c.set_locker(acc("connector9.a.near")),
        "ERR_TOO_MANY_CHANNELS",
    );
    Call::by(ADMIN).set();
    c.declare_channel_dead(0);
    assert_eq!(
        window_entries(0),
        0,
        "the dead channel's replay state is deleted"
    );
    Call::by(ADMIN).set();
    c.set_locker(acc("connector9.a.near"));
    assert_eq!(c.channels().len(), 5);
    // A dead channel's locker can never come back.
    Call::by(ADMIN).set();
    assert_err(|| c.set_locker(acc(LOCKER)), "ERR_LOCKER_REUSED");
}

/// Entries of channel `id` in the replay window, read from the storage itself.
fn window_entries(id: u32) -> usize {
    let prefix: Vec<u8> = [vec![0u8], id.to_le_bytes().to_vec()].concat();
    let storage = near_sdk::mock::with_mocked_blockchain(|b| b.take_storage());
    let n = storage
        .keys()
        .filter(|k| k.len() == 13 && k.starts_with(&prefix))
        .count();
    Call::by(ADMIN).set_with_storage(storage);
    n
}
