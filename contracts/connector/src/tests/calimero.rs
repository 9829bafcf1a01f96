//! The Calimero API: `cross_call`, `cross_call_execute`, `cross_call_receive_response`.

use super::*;
use crate::{
    GAS_CROSS_CALL_DONE, GAS_ON_DELIVERY_VERIFIED, GAS_SOURCE_CALLBACK, GAS_VERIFY_OUTCOME,
};
use xsc_interfaces::{BalanceArg, CalimeroCallback, MessageKind};

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
}

#[test]
fn cross_call_needs_a_locker_and_an_allowed_caller() {
    fresh_storage();
    Call::by(ADMIN).set();
    let mut c = Connector::new(
        acc(LIGHT_CLIENT),
        LOCAL_NET.into(),
        REMOTE_NET.into(),
        None,
        None,
    );
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
    // Gas: overhead + destination gas + the finishing callback.
    let msg = try_deliver(&mut c, &base, 50);
    assert!(msg.starts_with("ERR_NOT_ENOUGH_GAS"), "{msg}");
    Call::by(RELAYER).gas(25 + 20 + 6).set();
    drop(c.cross_call_execute(base.clone(), 1));
}

#[test]
fn delivered_call_reaches_the_destination_with_the_requested_gas_and_args() {
    let mut c = setup();
    let call = cross_call_event("greeter.b.near", "greet", r#"{"name":"ada"}"#, 20);
    // Other lines before the message: the event is found in any position, not only logs[0].
    let mut logs = vec!["some other log".to_string(), "EVENT_JSON:{}".to_string()];
    logs.extend(cross_call_logs(0, 9, &call));
    verified(&mut c, MessageKind::CrossCall, 3, ok_outcome(logs));
    let calls = function_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0].0, "greeter.b.near");
    assert_eq!(calls[0].1, "greet");
    assert_eq!(calls[0].2, br#"{"name":"ada"}"#.to_vec());
    assert_eq!(calls[0].3, Gas::from_tgas(20));
    assert_eq!(calls[0].4, 0);
    assert_eq!(
        (calls[1].0.as_str(), calls[1].1.as_str()),
        (CONNECTOR, "on_cross_call_done")
    );
    assert_eq!(calls[1].3, GAS_CROSS_CALL_DONE);
    let (request_id, initiator, callback, dest): (u64, String, String, AccountId) =
        borsh::from_slice(&calls[1].2).unwrap();
    assert_eq!(
        (request_id, initiator.as_str(), callback.as_str()),
        (9, REMOTE_DAPP, "on_result")
    );
    assert_eq!(dest, acc("greeter.b.near"));
    assert_eq!(event(XSC, "delivered")["nsn"], "0");
    // Nothing is kept from the relayer.
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 3)]);
    assert!(c.is_delivered(U64(0)));
}

#[test]
fn response_is_logged_in_calimeros_format_with_the_request_id() {
    let mut c = setup();
    let done = |c: &mut Connector, result: PromiseResult| {
        Call::callback(vec![result]).set();
        c.on_cross_call_done(
            9,
            REMOTE_DAPP.into(),
            "on_result".into(),
            acc("greeter.b.near"),
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
}

#[test]
fn proven_response_calls_the_source_callback_with_calimeros_json_and_the_request_id() {
    let mut c = setup();
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(0, 4, Some(b"\"Hello\""))),
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
            "request_id": "4"
        })
    );
    let parsed: CalimeroCallback = serde_json::from_slice(args).unwrap();
    assert_eq!(parsed.request_id, U64(4));

    // FAILED! becomes `"response": null`.
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(1, 5, None)),
    );
    let json: serde_json::Value = serde_json::from_slice(&function_calls()[0].2).unwrap();
    assert!(json["response"].is_null());
    assert_eq!(json["request_id"], "5");
}

#[test]
fn response_without_callback_method_is_consumed_without_a_call() {
    let mut c = setup();
    let mut logs = cross_response_logs(0, 4, Some(b"1"));
    logs[0] = CrossResponseEvent::parse(&logs[0])
        .map(|mut r| {
            r.source_contract_method = String::new();
            r.to_log()
        })
        .unwrap();
    verified(&mut c, MessageKind::CrossCallResponse, 0, ok_outcome(logs));
    assert!(function_calls().is_empty());
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
