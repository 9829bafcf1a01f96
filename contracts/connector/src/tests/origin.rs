//! Origin is unforgeable: the connector calls a dapp only with an xCall message, an xCall
//! rollback or the Calimero response to that dapp's own request; an inbound Calimero call is made
//! by the executor. The issue's two attacks, at the unit level (the sandbox suite runs them with
//! the real contracts).

use super::*;
use xsc_interfaces::MessageKind;

const LEDGER: &str = "ledger.b.near";

/// Every call the connector made in the current call, as (receiver, method).
fn targets() -> Vec<(String, String)> {
    function_calls()
        .into_iter()
        .map(|(r, m, ..)| (r, m))
        .collect()
}

#[test]
fn a_calimero_call_into_handle_call_message_is_made_by_the_executor_with_its_origin() {
    let mut c = setup();
    // The issue's first attack: a cross_call from the other chain into the ledger's xCall entry
    // point, posing as a rollback of this connector (`from` = its own BTP address).
    let forged = format!(
        r#"{{"from":"btp://{LOCAL_NET}/{CONNECTOR}","data":"eyJvcCI6InJlZnVuZCIsInRvIjoibWFsbG9yeS5iLm5lYXIiLCJhbW91bnQiOiIxMDAwMDAwIn0="}}"#
    );
    let call = cross_call_event(LEDGER, "handle_call_message", &forged, 10);
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(cross_call_logs(0, 1, &call)),
    );
    // The connector calls only its executor (and itself back); never the ledger.
    assert_eq!(
        targets(),
        vec![
            (EXECUTOR.to_string(), "execute".to_string()),
            (CONNECTOR.to_string(), "on_cross_call_finished".to_string())
        ]
    );
    // What the ledger would receive, from the executor: the remote initiator is named.
    let (dest, method, args, _): (AccountId, String, Vec<u8>, u64) =
        borsh::from_slice(&function_calls()[0].2).unwrap();
    assert_eq!(
        (dest.as_str(), method.as_str()),
        (LEDGER, "handle_call_message")
    );
    let v: serde_json::Value = serde_json::from_slice(&args).unwrap();
    assert_eq!(v["calimero_initiator_id"], REMOTE_DAPP);
}

#[test]
fn a_calimero_call_cannot_pose_as_a_source_callback() {
    let mut c = setup();
    // The issue's second attack: a cross_call from the other chain into a dapp's Calimero
    // callback, with a result for a request id that was never sent.
    let forged = r#"{"response":[34,72,105,34],"calimero_predecessor_id":"greeter.a.near","request_id":"42"}"#;
    let call = cross_call_event("demo.b.near", "on_greeting", forged, 10);
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(cross_call_logs(0, 1, &call)),
    );
    assert_eq!(targets()[0], (EXECUTOR.to_string(), "execute".to_string()));
    assert!(!targets().iter().any(|(r, _)| r == "demo.b.near"));
}

#[test]
fn the_connector_calls_a_dapp_only_on_the_three_paths_it_recognises() {
    let mut c = setup();
    // 1. An xCall message: handle_call_message, `from` on the remote network.
    verified(
        &mut c,
        MessageKind::XcallMessage,
        0,
        ok_outcome(vec![xcall_message_log(0, 5, DAPP, b"m", false)]),
    );
    Call::by(USER).gas(100).set();
    c.execute_call(U64(1));
    let (to, method, args, ..) = function_calls().remove(0);
    let args: serde_json::Value = serde_json::from_slice(&args).unwrap();
    assert_eq!(
        (to.as_str(), method.as_str()),
        (DAPP, "handle_call_message")
    );
    assert_eq!(args["from"], format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"));
    // 2. A rollback: handle_call_message, `from` = this connector on the local network.
    let sn = super::xcall::send(&mut c, NEAR, vec![1], Some(vec![2]));
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(1, sn, -1)]),
    );
    Call::by(USER).gas(100).set();
    c.execute_rollback(U64(sn));
    let (to, method, args, ..) = function_calls().remove(0);
    let args: serde_json::Value = serde_json::from_slice(&args).unwrap();
    assert_eq!(
        (to.as_str(), method.as_str()),
        (DAPP, "handle_call_message")
    );
    assert_eq!(args["from"], format!("btp://{LOCAL_NET}/{CONNECTOR}"));
    // 3. A Calimero response: the dapp's own callback, for its own request, once.
    let id = super::calimero::sent(&mut c);
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(2, id, Some(b"1"))),
    );
    assert_eq!(targets(), vec![(DAPP.to_string(), "on_result".to_string())]);
    // A message can never claim to come from the local network (it would pose as a rollback).
    verified(
        &mut c,
        MessageKind::XcallMessage,
        0,
        ok_outcome(vec![xcall_message_log_from(
            3,
            6,
            &format!("btp://{LOCAL_NET}/{CONNECTOR}"),
            DAPP,
            b"r",
            false,
        )]),
    );
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_INVALID_SOURCE");
}

#[test]
fn a_response_can_never_call_an_xcall_entry_point() {
    let mut c = setup();
    // Refused when sending…
    Call::contract(DAPP, USER).set();
    assert_err(
        || {
            c.cross_call(
                acc("x.a.near"),
                "m".into(),
                "{}".into(),
                Gas::from_tgas(5),
                xsc_interfaces::BalanceArg(0),
                "handle_call_message".into(),
            )
        },
        "ERR_RESERVED_METHOD",
    );
    // …and, should a response name it anyway (a v1 request answered after the upgrade), when
    // delivering it.
    c.legacy.below_request_id = 10;
    let mut logs = cross_response_logs(0, 3, Some(b"1"));
    logs[0] = logs[0].replace(":on_result:", ":handle_call_message:");
    verified(&mut c, MessageKind::CrossCallResponse, 0, ok_outcome(logs));
    assert!(function_calls().is_empty());
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_INVALID_METHOD_NAME"
    );
}
