//! Exactly-once delivery with bounded storage.

use super::*;
use xsc_interfaces::MessageKind;

fn call_logs(nsn: u64) -> Vec<String> {
    cross_call_logs(
        nsn,
        nsn + 1,
        &cross_call_event("greeter.b.near", "greet", "{}", 5),
    )
}

fn deliver(c: &mut Connector, nsn: u64) {
    verified(c, MessageKind::CrossCall, 0, ok_outcome(call_logs(nsn)));
}

fn rejected_code() -> Option<String> {
    events(XSC)
        .into_iter()
        .find(|(e, _)| e == "delivery_rejected")
        .map(|(_, d)| d["code"].as_str().unwrap().to_string())
}

#[test]
fn the_same_sequence_number_is_delivered_once() {
    let mut c = setup();
    deliver(&mut c, 0);
    assert_eq!(function_calls().len(), 2);
    assert!(c.is_delivered(U64(0)));
    // Again: nothing called, the relayer's deposit comes back.
    verified(&mut c, MessageKind::CrossCall, 7, ok_outcome(call_logs(0)));
    assert!(function_calls().is_empty());
    assert_eq!(rejected_code().as_deref(), Some("ERR_ALREADY_DELIVERED"));
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 7)]);
    // The entry refuses it before the light client hop.
    let mut p = xsc_vectors::proof("proofs/calimero-cross-call-event.json");
    p.outcome_proof.outcome.executor_id = LOCKER.into();
    p.outcome_proof.outcome.logs = call_logs(0);
    Call::by(RELAYER).set();
    assert_err(|| drop(c.cross_call_execute(p, 1)), "ERR_ALREADY_DELIVERED");
}

#[test]
fn out_of_order_deliveries_within_the_window_are_accepted_and_the_watermark_catches_up() {
    let mut c = setup();
    flush(&mut c);
    let base = storage_usage();
    deliver(&mut c, 2);
    deliver(&mut c, 1);
    let ch = c.channel();
    assert_eq!((ch.next_in, ch.ahead), (U64(0), 2));
    assert!(storage_usage() > base, "two entries ahead of the watermark");
    assert!(c.is_delivered(U64(1)) && c.is_delivered(U64(2)) && !c.is_delivered(U64(0)));
    deliver(&mut c, 0);
    let ch = c.channel();
    assert_eq!((ch.next_in, ch.ahead), (U64(3), 0));
    // The window's entries were deleted: storage is back where it started.
    assert_eq!(storage_usage(), base);
    for nsn in 0..3 {
        verified(
            &mut c,
            MessageKind::CrossCall,
            0,
            ok_outcome(call_logs(nsn)),
        );
        assert_eq!(rejected_code().as_deref(), Some("ERR_ALREADY_DELIVERED"));
    }
}

#[test]
fn a_message_beyond_the_window_waits_for_the_older_ones() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.set_window(4);
    verified(&mut c, MessageKind::CrossCall, 3, ok_outcome(call_logs(4)));
    assert_eq!(rejected_code().as_deref(), Some("ERR_BEYOND_WINDOW"));
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 3)]);
    assert!(!c.is_delivered(U64(4)));
    deliver(&mut c, 3);
    deliver(&mut c, 0);
    // Watermark 1: 4 is within the window now.
    deliver(&mut c, 4);
    assert!(c.is_delivered(U64(4)));
    assert_eq!(c.channel().ahead, 2);
}

#[test]
fn storage_stays_bounded_over_many_messages() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.set_window(8);
    flush(&mut c);
    let base = storage_usage();
    // Deliver 0..200 in a shuffled order that keeps each message within the window.
    let mut order: Vec<u64> = Vec::new();
    for block in (0..200u64).step_by(4) {
        order.extend([block + 3, block + 1, block + 2, block]);
    }
    let mut max_ahead = 0;
    for nsn in order {
        deliver(&mut c, nsn);
        max_ahead = max_ahead.max(c.channel().ahead);
        assert!(c.channel().ahead < 8);
    }
    assert_eq!(max_ahead, 3);
    assert_eq!(c.channel().next_in, U64(200));
    assert_eq!(
        storage_usage(),
        base,
        "nothing grows with the number of messages"
    );
}

#[test]
fn one_outcome_with_several_messages_is_delivered_one_message_per_delivery() {
    let mut c = setup();
    let mut logs = call_logs(0);
    logs.extend(call_logs(1));
    let o = ok_outcome(logs);
    verified(&mut c, MessageKind::CrossCall, 0, o.clone());
    assert_eq!(event(XSC, "delivered")["nsn"], "0");
    verified(&mut c, MessageKind::CrossCall, 0, o.clone());
    assert_eq!(event(XSC, "delivered")["nsn"], "1");
    verified(&mut c, MessageKind::CrossCall, 0, o);
    assert_eq!(rejected_code().as_deref(), Some("ERR_ALREADY_DELIVERED"));
}

#[test]
fn messages_for_another_connector_or_network_are_not_for_us() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 5);
    let for_other = |dst: &str, net: &str| {
        vec![
            call.to_log(),
            TransportEvent::CrossCall(xsc_interfaces::CalimeroMsg {
                dst: acc(dst),
                net: net.into(),
                nsn: U64(0),
                request_id: U64(1),
            })
            .to_log(),
        ]
    };
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(for_other("other.b.near", LOCAL_NET)),
    );
    assert_eq!(rejected_code().as_deref(), Some("ERR_NO_MESSAGE"));
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(for_other(CONNECTOR, "c")),
    );
    assert_eq!(rejected_code().as_deref(), Some("ERR_NO_MESSAGE"));
}

#[test]
fn a_new_locker_starts_a_new_channel_and_the_old_ones_calls_are_never_executed_again() {
    let mut c = setup();
    deliver(&mut c, 0);
    deliver(&mut c, 2);
    Call::by(ADMIN).set();
    c.set_locker(acc("connector2.a.near"));
    let ch = c.channel();
    assert_eq!(
        (ch.next_in, ch.next_out, ch.ahead, ch.channel),
        (U64(0), U64(0), 0, 1)
    );
    // The old locker's calls are refused now (answered with a failure on its channel), and
    // its replay window still knows what it delivered.
    verified(&mut c, MessageKind::CrossCall, 0, ok_outcome(call_logs(1)));
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_CHANNEL_RETIRED");
    assert!(function_calls().is_empty());
    verified(&mut c, MessageKind::CrossCall, 0, ok_outcome(call_logs(2)));
    assert_eq!(rejected_code().as_deref(), Some("ERR_ALREADY_DELIVERED"));
    // Once declared dead, nothing from it is accepted at all.
    Call::by(ADMIN).set();
    c.declare_channel_dead(0);
    verified(&mut c, MessageKind::CrossCall, 0, ok_outcome(call_logs(3)));
    assert_eq!(rejected_code().as_deref(), Some("ERR_WRONG_EXECUTOR"));
    // The new locker's sequence starts at 0, and 2 is not delivered on the new channel.
    let from_new = |nsn| {
        outcome(
            "connector2.a.near",
            ExecutionStatusView::SuccessValue(vec![]),
            call_logs(nsn),
        )
    };
    verified(&mut c, MessageKind::CrossCall, 0, from_new(2));
    assert_eq!(event(XSC, "delivered")["nsn"], "2");
    verified(&mut c, MessageKind::CrossCall, 0, from_new(0));
    assert_eq!(event(XSC, "delivered")["nsn"], "0");
    // Neither lock can be set again.
    Call::by(ADMIN).set();
    assert_err(|| c.set_locker(acc(LOCKER)), "ERR_LOCKER_REUSED");
    assert_err(
        || c.set_locker(acc("connector2.a.near")),
        "ERR_LOCKER_REUSED",
    );
}
