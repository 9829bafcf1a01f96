//! The Calimero API: `cross_call`, `cross_call_execute`, `cross_call_receive_response`.

use super::*;
use crate::{
    GAS_CROSS_CALL_DONE, GAS_EXECUTOR, GAS_ON_DELIVERY_VERIFIED, GAS_SOURCE_CALLBACK,
    GAS_VERIFY_OUTCOME,
};
use xsc_interfaces::{BalanceArg, CalimeroCallback, MessageKind};

/// `cross_call` by the allowed dapp, as `sent` below, without setting the context.
fn cross_call(c: &mut Connector, method: &str, callback: &str) -> u64 {
    c.cross_call(
        acc("greeter.a.near"),
        method.into(),
        r#"{"name":"ada"}"#.into(),
        Gas::from_tgas(20),
        BalanceArg(0),
        callback.into(),
    )
    .0
}

/// The dapp sends a Calimero call with callback `on_result` (what `cross_response_logs`
/// answers); returns its request id.
pub fn sent(c: &mut Connector) -> u64 {
    Call::contract(DAPP, USER).set();
    cross_call(c, "greet", "on_result")
}

#[test]
fn cross_call_logs_calimeros_line_then_the_transport_event_and_returns_the_request_id() {
    let mut c = setup();
    Call::contract(DAPP, USER).set();
    let id = cross_call(&mut c, "greet", "on_greeting");
    assert_eq!(id, 1);
    let logs = get_logs();
    assert_eq!(logs.len(), 2, "{logs:?}");
    // Exactly Calimero's format: 8 colon-separated fields, base64 args, decimal gas/deposit.
    assert_eq!(
        logs[0],
        "CALIMERO_EVENT_CROSS_CALL:greeter.a.near:greet:eyJuYW1lIjoiYWRhIn0=:20000000000000:0:dapp.b.near:on_greeting"
    );
    assert_eq!(logs[0].split(':').count(), 8);
    let transport = TransportEvent::parse(&logs[1], MessageKind::CrossCall).unwrap();
    assert_eq!(
        transport,
        TransportEvent::CrossCall(xsc_interfaces::CalimeroMsg {
            dst: acc(LOCKER),
            net: REMOTE_NET.into(),
            nsn: U64(0),
            request_id: U64(1),
        })
    );
    // Ids and sequence numbers increase per call.
    Call::contract(DAPP, USER).set();
    assert_eq!(cross_call(&mut c, "greet", ""), 2);
    let t = TransportEvent::parse(&get_logs()[1], MessageKind::CrossCall).unwrap();
    assert_eq!(t.route().2, 1);
    assert!(get_logs()[0].ends_with(":dapp.b.near:"), "empty callback");
    // The first is recorded for its response; the second, without callback, needs no record.
    assert_eq!(
        c.get_cross_call(U64(1)),
        Some(crate::CrossCallView {
            request_id: U64(1),
            channel: 0,
            initiator: acc(DAPP),
            callback: "on_greeting".into()
        })
    );
    assert_eq!(c.get_cross_call(U64(2)), None);
}

#[test]
fn cross_call_rejects_what_calimeros_format_or_the_other_side_cannot_take() {
    let mut c = setup();
    let call = |c: &mut Connector,
                dest: &str,
                method: &str,
                args: String,
                gas: Gas,
                deposit: u128,
                callback: &str| {
        Call::contract(DAPP, USER).set();
        c.cross_call(
            acc(dest),
            method.into(),
            args,
            gas,
            BalanceArg(deposit),
            callback.into(),
        )
    };
    let g = Gas::from_tgas(10);
    let ok = String::from("{}");
    assert_err(
        || call(&mut c, "x.a.near", "a:b", ok.clone(), g, 0, "cb"),
        "ERR_INVALID_METHOD_NAME",
    );
    assert_err(
        || call(&mut c, "x.a.near", "", ok.clone(), g, 0, "cb"),
        "ERR_INVALID_METHOD_NAME",
    );
    assert_err(
        || call(&mut c, "x.a.near", "m", ok.clone(), g, 0, "c:b"),
        "ERR_INVALID_METHOD_NAME",
    );
    assert_err(
        || call(&mut c, "x.a.near", "m", "x".repeat(4097), g, 0, "cb"),
        "ERR_ARGS_TOO_LARGE",
    );
    call(&mut c, "x.a.near", "m", "x".repeat(4096), g, 0, "cb");
    assert_err(
        || {
            call(
                &mut c,
                "x.a.near",
                "m",
                ok.clone(),
                Gas::from_tgas(201),
                0,
                "cb",
            )
        },
        "ERR_DESTINATION_GAS",
    );
    assert_err(
        || {
            call(
                &mut c,
                "x.a.near",
                "m",
                ok.clone(),
                Gas::from_gas(0),
                0,
                "cb",
            )
        },
        "ERR_DESTINATION_GAS",
    );
    assert_err(
        || call(&mut c, "x.a.near", "m", ok.clone(), g, 1, "cb"),
        "ERR_DESTINATION_DEPOSIT",
    );
    // The other connector is never a destination.
    assert_err(
        || call(&mut c, LOCKER, "m", ok.clone(), g, 0, "cb"),
        "ERR_TARGET_REFUSED",
    );
    // Only the connector writes the initiator; arrays would fill struct fields by position.
    assert_err(
        || {
            call(
                &mut c,
                "x.a.near",
                "m",
                r#"{"amount":"1","calimero_initiator_id":"victim.b.near"}"#.into(),
                g,
                0,
                "cb",
            )
        },
        "ERR_RESERVED_ARGS",
    );
    assert_err(
        || {
            call(
                &mut c,
                "x.a.near",
                "m",
                r#"["1","victim.b.near"]"#.into(),
                g,
                0,
                "cb",
            )
        },
        "ERR_ARGS_ARRAY",
    );
    // A Calimero callback is never an xCall entry point.
    assert_err(
        || {
            call(
                &mut c,
                "x.a.near",
                "m",
                ok.clone(),
                g,
                0,
                "handle_call_message",
            )
        },
        "ERR_RESERVED_METHOD",
    );
}

#[test]
fn the_calimero_fee_is_zero_by_default_and_charged_with_surplus_refunded_when_set() {
    let mut c = setup();
    // Default: nothing to attach; anything attached comes back.
    Call::contract(DAPP, USER).deposit(7).set();
    cross_call(&mut c, "greet", "cb");
    assert_eq!(transfers(), vec![(DAPP.to_string(), 7)]);
    assert_eq!(c.get_fees().accrued_relay.0, 0);
    grant(&mut c, Role::FeeManager, "fees.b.near");
    Call::by("fees.b.near").set();
    c.set_cross_call_fee(near_sdk::json_types::U128(1000));
    assert_eq!(c.get_cross_call_fee().0, 1000);
    Call::contract(DAPP, USER).deposit(999).set();
    let msg = expect_panic(|| cross_call(&mut c, "greet", "cb"));
    assert!(msg.starts_with("ERR_INSUFFICIENT_FEE"), "{msg}");
    Call::contract(DAPP, USER).deposit(1500).set();
    cross_call(&mut c, "greet", "cb");
    assert_eq!(transfers(), vec![(DAPP.to_string(), 500)]);
    assert_eq!(c.get_fees().accrued_relay.0, 1000);
    Call::by(USER).set();
    assert!(
        expect_panic(|| c.set_cross_call_fee(near_sdk::json_types::U128(0)))
            .contains("Insufficient")
    );
}

#[test]
fn a_connector_that_cannot_cover_a_record_refuses_the_call() {
    let mut c = setup();
    flush(&mut c);
    Call::contract(DAPP, USER).balance(1).set();
    assert_err(
        || cross_call(&mut c, "greet", "cb"),
        "ERR_CONNECTOR_BALANCE",
    );
}

#[test]
fn cross_call_needs_a_locker_and_an_allowed_caller() {
    let mut c = new_connector(None);
    Call::by(ADMIN).set();
    c.allow(DAPP.into());
    Call::contract(DAPP, USER).set();
    assert_err(|| cross_call(&mut c, "greet", "cb"), "ERR_LOCKER_NOT_SET");
    Call::by(ADMIN).set();
    c.set_locker(acc(LOCKER));
    Call::contract("other.b.near", USER).set();
    assert_err(|| cross_call(&mut c, "greet", "cb"), "ERR_NOT_ALLOWED");
    Call::contract(DAPP, USER).set();
    cross_call(&mut c, "greet", "cb");
}

#[test]
fn cross_call_execute_makes_one_hop_to_the_light_client_with_borsh_args() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 20);
    let mut proof = xsc_vectors::proof("proofs/calimero-cross-call-event.json");
    proof.outcome_proof.outcome.executor_id = LOCKER.into();
    proof.outcome_proof.outcome.logs = cross_call_logs(0, 1, &call);
    Call::by(RELAYER).deposit(5).gas(100).set();
    let promise = c.cross_call_execute(proof.clone(), 42);
    drop(promise);
    let calls = function_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (receiver, method, args, gas, deposit) = &calls[0];
    assert_eq!(
        (receiver.as_str(), method.as_str()),
        (LIGHT_CLIENT, "verify_outcome")
    );
    assert_eq!(*args, xsc_interfaces::delivery_args(&proof, 42));
    assert_eq!((*gas, *deposit), (GAS_VERIFY_OUTCOME, 0));
    let (receiver, method, args, gas, _) = &calls[1];
    assert_eq!(
        (receiver.as_str(), method.as_str()),
        (CONNECTOR, "on_delivery_verified")
    );
    assert_eq!(*gas, GAS_ON_DELIVERY_VERIFIED);
    // Borsh (kind, relayer, deposit): the relayer's deposit travels to the callback.
    let (kind, relayer, deposit): (MessageKind, AccountId, near_sdk::json_types::U128) =
        borsh::from_slice(args).unwrap();
    assert_eq!(kind, MessageKind::CrossCall);
    assert_eq!(relayer, acc(RELAYER));
    assert_eq!(deposit.0, 5);
}

#[test]
fn cross_call_execute_refuses_hopeless_deliveries_before_the_hop() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 20);
    let base = {
        let mut p = xsc_vectors::proof("proofs/calimero-cross-call-event.json");
        p.outcome_proof.outcome.executor_id = LOCKER.into();
        p.outcome_proof.outcome.logs = cross_call_logs(0, 1, &call);
        p
    };
    let try_deliver = |c: &mut Connector, p: &xsc_core::LightClientExecutionProof, tgas: u64| {
        Call::by(RELAYER).gas(tgas).set();
        let p = p.clone();
        expect_panic(move || drop(c.cross_call_execute(p, 1)))
    };
    let mut wrong = base.clone();
    wrong.outcome_proof.outcome.executor_id = "mallory.a.near".into();
    assert!(try_deliver(&mut c, &wrong, 300).starts_with("ERR_WRONG_EXECUTOR"));
    let mut failed = base.clone();
    failed.outcome_proof.outcome.status = ExecutionStatusView::Failure;
    assert!(try_deliver(&mut c, &failed, 300).starts_with("ERR_OUTCOME_NOT_SUCCESS"));
    // The real Calimero outcome: a Calimero line without our transport event is no message.
    let mut calimero_only = xsc_vectors::proof("proofs/calimero-cross-call-event.json");
    calimero_only.outcome_proof.outcome.executor_id = LOCKER.into();
    assert!(try_deliver(&mut c, &calimero_only, 300).starts_with("ERR_NO_MESSAGE"));
    // Gas: overhead + executor + destination gas + the finishing callback.
    let need = (crate::GAS_DELIVERY_OVERHEAD.as_tgas() + GAS_EXECUTOR.as_tgas())
        + 20
        + GAS_CROSS_CALL_DONE.as_tgas();
    let msg = try_deliver(&mut c, &base, need - 1);
    assert!(msg.starts_with("ERR_NOT_ENOUGH_GAS"), "{msg}");
    Call::by(RELAYER).gas(need).set();
    drop(c.cross_call_execute(base.clone(), 1));
}

#[test]
fn delivered_call_is_made_by_the_executor_with_the_requested_gas_and_the_initiator() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", r#"{"name":"ada"}"#, 20);
    // Other lines before the message: the event is found in any position, not only logs[0].
    let mut logs = vec!["some other log".to_string(), "EVENT_JSON:{}".to_string()];
    logs.extend(cross_call_logs(0, 9, &call));
    verified(&mut c, MessageKind::CrossCall, 3, ok_outcome(logs));
    let calls = function_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    // Never the connector itself: its executor.
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        (EXECUTOR, "execute")
    );
    assert_eq!(calls[0].3, GAS_EXECUTOR.saturating_add(Gas::from_tgas(20)));
    assert_eq!(calls[0].4, 0);
    let (dest, method, args, gas): (AccountId, String, Vec<u8>, u64) =
        borsh::from_slice(&calls[0].2).unwrap();
    assert_eq!((dest, method.as_str()), (acc("greeter.b.near"), "greet"));
    assert_eq!(
        String::from_utf8(args).unwrap(),
        format!(r#"{{"calimero_initiator_id":"{REMOTE_DAPP}","name":"ada"}}"#)
    );
    assert_eq!(gas, Gas::from_tgas(20).as_gas());
    assert_eq!(
        (calls[1].0.as_str(), calls[1].1.as_str()),
        (CONNECTOR, "on_cross_call_finished")
    );
    assert_eq!(calls[1].3, GAS_CROSS_CALL_DONE);
    let (request_id, initiator, callback, dest, channel): (u64, String, String, AccountId, u32) =
        borsh::from_slice(&calls[1].2).unwrap();
    assert_eq!(
        (request_id, initiator.as_str(), callback.as_str(), channel),
        (9, REMOTE_DAPP, "on_result", 0)
    );
    assert_eq!(dest, acc("greeter.b.near"));
    assert_eq!(event(XSC, "delivered")["nsn"], "0");
    // Nothing is kept from the relayer.
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 3)]);
    assert!(c.is_delivered(U64(0)));
}

#[test]
fn non_object_arguments_pass_unchanged_and_forged_initiators_are_refused_at_delivery() {
    let mut c = setup();
    // Not JSON (a borsh method, say): unchanged, no origin.
    let call = cross_call_event("greeter.b.near", "raw", "\u{1}\u{2}", 5);
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(cross_call_logs(0, 1, &call)),
    );
    let (_, _, args, _): (AccountId, String, Vec<u8>, u64) =
        borsh::from_slice(&function_calls()[0].2).unwrap();
    assert_eq!(args, vec![1, 2]);
    // A locker that let the key through (an older or a hostile one): refused, FAILED! back.
    for (nsn, args) in [
        (
            1,
            r#"{"calimero_initiator_id":"victim.a.near","amount":"9"}"#,
        ),
        (2, r#"{"calimero\u005finitiator_id":"victim.a.near"}"#),
        (3, r#"["9","victim.a.near"]"#),
    ] {
        let call = cross_call_event("greeter.b.near", "greet", args, 5);
        verified(
            &mut c,
            MessageKind::CrossCall,
            0,
            ok_outcome(cross_call_logs(nsn, 1, &call)),
        );
        assert!(function_calls().is_empty(), "{args}");
        let code = event(XSC, "message_refused")["code"].clone();
        assert!(
            code == "ERR_RESERVED_ARGS" || code == "ERR_ARGS_ARRAY",
            "{code}"
        );
        assert!(get_logs()
            .iter()
            .any(|l| l.starts_with("CALIMERO_EVENT_CROSS_RESPONSE:") && l.contains(":FAILED!:")));
    }
}

#[test]
fn response_is_logged_in_calimeros_format_with_the_request_id() {
    let mut c = setup();
    let done = |c: &mut Connector, result: PromiseResult| {
        Call::callback(vec![result]).set();
        c.on_cross_call_finished(
            9,
            REMOTE_DAPP.into(),
            "on_result".into(),
            acc("greeter.b.near"),
            0,
        );
        get_logs()
    };
    let logs = done(
        &mut c,
        PromiseResult::Successful(b"\"Hello, ada!\"".to_vec()),
    );
    assert_eq!(
        logs[0],
        "CALIMERO_EVENT_CROSS_RESPONSE:dapp.a.near:on_result:IkhlbGxvLCBhZGEhIg==:greeter.b.near"
    );
    assert_eq!(
        TransportEvent::parse(&logs[1], MessageKind::CrossCallResponse).unwrap(),
        TransportEvent::CrossCallResponse(xsc_interfaces::CalimeroMsg {
            dst: acc(LOCKER),
            net: REMOTE_NET.into(),
            nsn: U64(0),
            request_id: U64(9),
        })
    );
    let logs = done(&mut c, PromiseResult::Failed);
    assert_eq!(
        logs[0],
        "CALIMERO_EVENT_CROSS_RESPONSE:dapp.a.near:on_result:FAILED!:greeter.b.near"
    );
    assert_eq!(
        TransportEvent::parse(&logs[1], MessageKind::CrossCallResponse)
            .unwrap()
            .route()
            .2,
        1
    );
    // Too long to relay: reported as failed, with the reason.
    let logs = done(&mut c, PromiseResult::Successful(vec![b'x'; 4097]));
    assert!(
        logs.iter().any(|l| l.contains("result_too_long")),
        "{logs:?}"
    );
    assert!(logs.iter().any(|l| l.ends_with(":FAILED!:greeter.b.near")));
    // The largest result NEAR passes (4 MiB): the same, nothing stranded.
    let logs = done(&mut c, PromiseResult::Successful(vec![b'x'; 4 << 20]));
    assert!(
        logs.iter().any(|l| l.contains(r#""len":"4194304""#)),
        "{logs:?}"
    );
    assert!(logs.iter().any(|l| l.ends_with(":FAILED!:greeter.b.near")));
    // The v1 callback (in flight across an upgrade) answers on the migration's channel.
    Call::callback(vec![PromiseResult::Successful(b"1".to_vec())]).set();
    c.on_cross_call_done(10, REMOTE_DAPP.into(), "cb".into(), acc("greeter.b.near"));
    let t = transport(MessageKind::CrossCallResponse);
    assert_eq!(t[0].route(), (&acc(LOCKER), REMOTE_NET, 4));
}

#[test]
fn proven_response_calls_the_source_callback_with_calimeros_json_and_the_request_id() {
    let mut c = setup();
    let id = sent(&mut c);
    let id2 = sent(&mut c);
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(0, id, Some(b"\"Hello\""))),
    );
    let calls = function_calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    let (receiver, method, args, gas, deposit) = &calls[0];
    assert_eq!((receiver.as_str(), method.as_str()), (DAPP, "on_result"));
    assert_eq!((*gas, *deposit), (GAS_SOURCE_CALLBACK, 0));
    let json: serde_json::Value = serde_json::from_slice(args).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "response": b"\"Hello\"".to_vec(),
            "calimero_predecessor_id": "greeter.a.near",
            "request_id": id.to_string()
        })
    );
    let parsed: CalimeroCallback = serde_json::from_slice(args).unwrap();
    assert_eq!(parsed.request_id, U64(id));
    assert_eq!(
        c.get_cross_call(U64(id)),
        None,
        "answered: the record is gone"
    );

    // FAILED! becomes `"response": null`.
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(1, id2, None)),
    );
    let json: serde_json::Value = serde_json::from_slice(&function_calls()[0].2).unwrap();
    assert!(json["response"].is_null());
    assert_eq!(json["request_id"], id2.to_string());
}

#[test]
fn responses_are_matched_against_what_was_sent_and_answered_once() {
    let mut c = setup();
    let id = sent(&mut c);
    let respond = |c: &mut Connector, nsn: u64, logs: Vec<String>| {
        verified(c, MessageKind::CrossCallResponse, 0, ok_outcome(logs));
        let _ = nsn;
        function_calls()
    };
    // Never sent.
    assert!(respond(&mut c, 0, cross_response_logs(0, 77, Some(b"1"))).is_empty());
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    // Sent, but the response names another callback or another initiator.
    let mut other_cb = cross_response_logs(1, id, Some(b"1"));
    other_cb[0] = other_cb[0].replace(":on_result:", ":withdraw:");
    assert!(respond(&mut c, 1, other_cb).is_empty());
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    let mut other_dapp = cross_response_logs(2, id, Some(b"1"));
    other_dapp[0] = other_dapp[0].replace(DAPP, "bank.b.near");
    assert!(respond(&mut c, 2, other_dapp).is_empty());
    // The genuine one, once.
    assert_eq!(
        respond(&mut c, 3, cross_response_logs(3, id, Some(b"1"))).len(),
        1
    );
    assert!(respond(&mut c, 4, cross_response_logs(4, id, Some(b"2"))).is_empty());
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
}

#[test]
fn response_without_callback_method_is_consumed_without_a_call() {
    let mut c = setup();
    Call::contract(DAPP, USER).set();
    let id = cross_call(&mut c, "greet", "");
    let mut logs = cross_response_logs(0, id, Some(b"1"));
    logs[0] = CrossResponseEvent::parse(&logs[0])
        .map(|mut r| {
            r.source_contract_method = String::new();
            r.to_log()
        })
        .unwrap();
    verified(&mut c, MessageKind::CrossCallResponse, 0, ok_outcome(logs));
    assert!(function_calls().is_empty());
    assert_eq!(event(XSC, "delivered")["nsn"], "0");
    assert!(c.is_delivered(U64(0)));
}

#[test]
fn a_kind_is_only_delivered_by_its_own_method() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 20);
    let o = ok_outcome(cross_call_logs(0, 1, &call));
    verified(&mut c, MessageKind::CrossCallResponse, 0, o.clone());
    assert_eq!(event(XSC, "delivery_rejected")["code"], "ERR_NO_MESSAGE");
    verified(&mut c, MessageKind::XcallMessage, 0, o);
    assert_eq!(event(XSC, "delivery_rejected")["code"], "ERR_NO_MESSAGE");
    assert!(!c.is_delivered(U64(0)));
}

#[test]
fn transport_event_without_its_calimero_line_is_consumed_as_malformed() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", "{}", 20);
    let logs = vec![cross_call_logs(0, 1, &call)[1].clone()];
    verified(&mut c, MessageKind::CrossCall, 0, ok_outcome(logs));
    let refused = event(XSC, "message_refused");
    assert_eq!(refused["code"], "ERR_MALFORMED_MESSAGE");
    assert!(function_calls().is_empty());
    // Consumed so that it never blocks the window.
    assert!(c.is_delivered(U64(0)));
}
