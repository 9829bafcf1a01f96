use super::*;
use crate::queue::{EventKey, EventState};
use serde_json::{json, Value};
use xsc_core::CryptoHash;

fn event(nsn: u64) -> StoredEvent {
    StoredEvent {
        id: nsn as i64,
        key: EventKey {
            source_chain: "a".into(),
            outcome_id: CryptoHash([nsn as u8; 32]),
            event_index: 0,
        },
        dest_chain: "b".into(),
        kind: "cross_call".into(),
        block_height: 10,
        nsn: Some(nsn),
        payload: json!({}),
        state: EventState::Delivering,
        attempts: 0,
        temp_failures: 0,
        last_error: None,
        next_retry_at: 0,
        delivery_tx: None,
        delivery: None,
        lease_owner: Some("me".into()),
        lease_until: Some(1),
        claim_seq: 1,
        source_time: None,
        created_at: 0,
        updated_at: 0,
        delivered_at: None,
    }
}

fn verdict(event: &str, nsn: Value, code: &str) -> String {
    let data = match event {
        "delivered" => json!({"kind": "cross_call", "nsn": nsn}),
        "message_refused" => {
            json!({"kind": "cross_call", "nsn": nsn, "target": "x.near", "code": code})
        }
        _ => json!({"kind": "cross_call", "nsn": nsn, "code": code, "refunded": "0"}),
    };
    format!(
        "EVENT_JSON:{}",
        json!({"standard": "xsc_connector", "version": "1.0.0", "event": event, "data": data})
    )
}

const TRANSPORT: &str = r#"EVENT_JSON:{"standard":"xsc_transport","version":"1.0.0","event":"cross_call_response","data":{"dst":"c.a","net":"a","nsn":"0","request_id":"1"}}"#;

/// A batch transaction's outcome: the light client's receipt, then the connector's with `logs`,
/// then a destination's receipt with a verdict-looking log of its own (ignored: not the
/// connector's).
fn outcome(logs: &[String], failure: bool) -> FinalOutcome {
    let receipt = |id: u8, executor: &str, logs: &[String]| {
        json!({"id": CryptoHash([id; 32]).to_string(), "block_hash": CryptoHash([9; 32]).to_string(),
               "proof": [],
               "outcome": {"logs": logs, "receipt_ids": [], "gas_burnt": 1, "tokens_burnt": "0",
                           "executor_id": executor, "status": {"SuccessValue": ""}}})
    };
    let status = if failure {
        json!({"Failure": {"ActionError": {"index": 0, "kind": {"FunctionCallError": {"ExecutionError": "Smart contract panicked: ERR_OUTCOME_ROOT_MISMATCH"}}}}})
    } else {
        json!({"SuccessValue": ""})
    };
    serde_json::from_value(json!({
        "final_execution_status": "FINAL",
        "status": status,
        "transaction": {"hash": CryptoHash([1; 32]).to_string(), "signer_id": "relayer.b", "receiver_id": "lc.b"},
        "transaction_outcome": receipt(1, "relayer.b", &[]),
        "receipts_outcome": [
            receipt(2, "lc.b", &[]),
            receipt(3, "connector.b", logs),
            receipt(4, "greeter.b", &[verdict("delivered", json!("99"), "")]),
        ],
    }))
    .unwrap()
}

#[test]
fn a_recorded_transaction_names_its_place_in_a_batch() {
    let h = CryptoHash([7; 32]).to_string();
    assert_eq!(
        TxRef::parse(&h),
        Some(TxRef {
            hash: h.clone(),
            place: None
        })
    );
    let r = TxRef::parse(&TxRef::in_batch(&h, 2, 5)).unwrap();
    assert_eq!((r.hash.as_str(), r.place), (h.as_str(), Some((2, 5))));
    for bad in [
        format!("{h}#5/5"),
        format!("{h}#0/33"),
        format!("{h}#x/2"),
        format!("{h}#1"),
        format!("{h}#-1/2"),
    ] {
        assert_eq!(TxRef::parse(&bad), None, "{bad}");
    }
}

#[test]
fn only_messages_on_their_first_try_go_in_a_batch() {
    assert!(!goes_alone(&event(1)));
    let mut refused = event(1);
    refused.attempts = 1;
    assert!(goes_alone(&refused));
    let mut recorded = event(1);
    recorded.delivery_tx = Some(CryptoHash([3; 32]).to_string());
    assert!(goes_alone(&recorded), "its transaction may have executed");
    let mut after_batch = event(1);
    after_batch.last_error = Some(format!("{BATCH_TAG}ERR_NOT_ENOUGH_GAS"));
    assert!(goes_alone(&after_batch));
    // A temporary failure that was not the batch's keeps it batchable.
    let mut outage = event(1);
    outage.temp_failures = 3;
    outage.last_error = Some("proof: transport error".into());
    assert!(!goes_alone(&outage));
}

#[test]
fn each_message_gets_the_verdict_at_its_place() {
    let logs = vec![
        verdict("delivered", json!("3"), ""),
        TRANSPORT.to_string(),
        "a plain log line".to_string(),
        verdict("message_refused", json!("4"), "ERR_TARGET_REFUSED"),
        verdict("delivery_rejected", Value::Null, "ERR_PAUSED"),
    ];
    let out = outcome(&logs, false);
    let v = batch_verdicts(&out, "connector.b", &[Some(3), Some(4), Some(5)]).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(decide(v[0], 3), Decision::Delivered(None));
    assert_eq!(
        decide(v[1], 3),
        Decision::Delivered(Some("ERR_TARGET_REFUSED".into()))
    );
    assert!(matches!(decide(v[2], 3), Decision::Temporary(_)));
    // Unknown sequence numbers (a later claim knows only its own) match anything.
    assert!(batch_verdicts(&out, "connector.b", &[None, Some(4), None]).is_some());
}

#[test]
fn verdicts_that_do_not_line_up_decide_nothing() {
    let three = vec![
        verdict("delivered", json!("3"), ""),
        verdict("delivered", json!("4"), ""),
        verdict("delivered", json!("5"), ""),
    ];
    let out = outcome(&three, false);
    let nsns = [Some(3), Some(4), Some(5)];
    assert!(batch_verdicts(&out, "connector.b", &nsns).is_some());
    // Reordered, one missing, one too many, another connector.
    assert!(batch_verdicts(&out, "connector.b", &[Some(4), Some(3), Some(5)]).is_none());
    assert!(batch_verdicts(&outcome(&three[..2], false), "connector.b", &nsns).is_none());
    assert!(batch_verdicts(&out, "connector.b", &nsns[..2]).is_none());
    assert!(batch_verdicts(&out, "other.b", &nsns).is_none());
    assert!(batch_verdicts(&outcome(&[], false), "connector.b", &nsns).is_none());
}

#[test]
fn too_little_gas_in_a_batch_is_the_batchs_fault_alone_it_counts() {
    let line = verdict("delivery_rejected", json!("3"), "ERR_NOT_ENOUGH_GAS");
    match decide(&line, 4) {
        Decision::Temporary(r) => assert!(r.starts_with(BATCH_TAG), "{r}"),
        d => panic!("{d:?}"),
    }
    assert!(matches!(decide(&line, 1), Decision::Retry(_)));
    let permanent = verdict("delivery_rejected", json!("3"), "ERR_WRONG_EXECUTOR");
    assert!(matches!(decide(&permanent, 4), Decision::Failed(_)));
}

#[test]
fn a_batched_message_is_answered_by_the_responses_naming_its_request() {
    let response = |request: u64| {
        format!(
            r#"EVENT_JSON:{{"standard":"xsc_connector","version":"1.0.0","event":"cross_call_response","data":{{"dst":"c.a","net":"a","nsn":"{request}","request_id":"{request}"}}}}"#
        )
    };
    let mut out = outcome(&[verdict("delivered", json!("3"), "")], false);
    // Two callbacks of the batch, each answering one of its calls.
    for (i, request) in [(5u8, 7u64), (6, 8)] {
        let mut r = out.receipts_outcome[1].clone();
        r.id = CryptoHash([i; 32]);
        r.outcome.logs = vec![response(request)];
        out.receipts_outcome.push(r);
    }
    assert_eq!(
        crate::delivery::responses_to(&out, "cross_call", 8),
        vec![CryptoHash([6; 32])]
    );
    assert_eq!(
        crate::delivery::responses_to(&out, "cross_call", 7),
        vec![CryptoHash([5; 32])]
    );
    assert!(crate::delivery::responses_to(&out, "cross_call", 9).is_empty());
    // Responses are not answered, and xCall messages are answered by xCall responses only.
    assert!(crate::delivery::responses_to(&out, "cross_call_response", 7).is_empty());
    assert!(crate::delivery::responses_to(&out, "xcall_message", 7).is_empty());
}

#[test]
fn a_single_delivery_counts_only_a_verdict_that_names_its_message() {
    let c = "connector.b";
    let d = |logs: &[String]| single_decision(&outcome(logs, false), c, Some(5));
    let mismatch = |d: Decision, why: &str| match d {
        Decision::Temporary(r) => {
            assert!(r.starts_with(VERDICT_MISMATCH) && r.contains(why), "{r}")
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        d(&[verdict("delivered", json!("5"), "")]),
        Decision::Delivered(None)
    );
    assert_eq!(
        d(&[verdict("message_refused", json!("5"), "ERR_DENIED")]),
        Decision::Delivered(Some("ERR_DENIED".into()))
    );
    // A refusal that names no message (the connector's replay answer) still counts.
    assert_eq!(
        d(&[verdict(
            "delivery_rejected",
            Value::Null,
            "ERR_ALREADY_DELIVERED"
        )]),
        Decision::Delivered(None)
    );
    // An earlier message of the outcome settled instead (the connector takes the first one
    // not delivered yet): this one is delivered again, nothing counted.
    mismatch(
        d(&[verdict("delivered", json!("4"), "")]),
        "settled message 4",
    );
    mismatch(
        d(&[verdict("message_refused", json!("4"), "ERR_DENIED")]),
        "settled message 4",
    );
    // A later one: the connector passed over this one, delivered before.
    for later in [
        verdict("delivered", json!("6"), ""),
        verdict("delivery_rejected", json!("6"), "ERR_NOT_ENOUGH_GAS"),
    ] {
        assert_eq!(d(&[later]), Decision::Delivered(None));
    }
    // Two verdicts for one message: nothing decided.
    mismatch(
        d(&[
            verdict("delivered", json!("5"), ""),
            verdict("delivered", json!("6"), ""),
        ]),
        "2 verdicts",
    );
    // Another message of the outcome was turned back: this one waits behind it, and the refusal
    // counts (a message that can never go must not hold this one forever at a cost per try),
    // never failing it at once for the other's permanent refusal.
    for code in ["ERR_NOT_ENOUGH_GAS", "ERR_WRONG_EXECUTOR"] {
        match d(&[verdict("delivery_rejected", json!("4"), code)]) {
            Decision::Retry(r) => assert!(r.contains("message 4") && r.contains(code), "{r}"),
            other => panic!("{code}: {other:?}"),
        }
    }
    // ... and a temporary one stays temporary.
    assert!(matches!(
        d(&[verdict("delivery_rejected", json!("4"), "ERR_PAUSED")]),
        Decision::Temporary(_)
    ));
    // No connector verdict at all: the old rule (delivered), whatever a destination logs.
    assert_eq!(d(&[TRANSPORT.to_string()]), Decision::Delivered(None));
    let mut out = outcome(&[TRANSPORT.to_string()], false);
    out.receipts_outcome[2].outcome.logs = vec![verdict(
        "delivery_rejected",
        json!("5"),
        "ERR_WRONG_EXECUTOR",
    )];
    assert_eq!(single_decision(&out, c, Some(5)), Decision::Delivered(None));
    // With the connector's verdict, only that line decides (not a destination's before it).
    let mut out = outcome(&[verdict("delivered", json!("5"), "")], false);
    out.receipts_outcome.swap(1, 2);
    out.receipts_outcome[1].outcome.logs = vec![verdict(
        "delivery_rejected",
        json!("5"),
        "ERR_WRONG_EXECUTOR",
    )];
    assert_eq!(single_decision(&out, c, Some(5)), Decision::Delivered(None));
    // A failed transaction is judged by its status.
    match single_decision(
        &outcome(&[verdict("delivered", json!("6"), "")], true),
        c,
        Some(5),
    ) {
        Decision::Temporary(r) => assert!(r.contains("ERR_OUTCOME_ROOT_MISMATCH"), "{r}"),
        other => panic!("{other:?}"),
    }
}
