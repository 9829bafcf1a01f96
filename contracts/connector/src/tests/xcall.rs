//! The xCall API (IIP-52): sending, fees, limits, delivery, execution, responses, rollback.

use super::*;
use crate::records::record_bytes;
use crate::{MessageState, PendingState, RequestState, DEFAULT_HANDLER_GAS, GAS_ON_EXECUTED};
use near_sdk::json_types::U128;
use xsc_interfaces::MessageKind;

const FEE_ADMIN: &str = "fees.b.near";
const BYTE: u128 = 10u128.pow(19);

fn to() -> String {
    format!("btp://{REMOTE_NET}/{REMOTE_DAPP}")
}

fn with_fees(c: &mut Connector, protocol: u128, relay: u128, rollback: u128) {
    grant(c, Role::FeeManager, FEE_ADMIN);
    Call::by(FEE_ADMIN).set();
    c.set_protocol_fee(U128(protocol));
    c.set_relay_fee(REMOTE_NET.into(), U128(relay), U128(rollback));
}

pub fn send(c: &mut Connector, deposit: u128, data: Vec<u8>, rollback: Option<Vec<u8>>) -> u64 {
    Call::contract(DAPP, USER).deposit(deposit).set();
    send_message(c, to(), data, rollback)
}

/// The destination storage component of the fee for `data_len` bytes.
fn storage_fee(c: &Connector, data_len: u32) -> u128 {
    Call::by(USER).set();
    c.get_fee(REMOTE_NET.into(), false, Some(data_len)).0
        - c.get_fees().relay_fee.0
        - c.get_fees().protocol_fee.0
}

/// Storage deposit of the pending record `send` creates for `rollback`.
fn pending_cost(rollback: &[u8]) -> u128 {
    let p = crate::PendingCall {
        from: acc(DAPP),
        to: to(),
        rollback: rollback.to_vec(),
        state: PendingState::AwaitingResponse,
        deposit: 0,
        channel: 0,
        handler_gas: DEFAULT_HANDLER_GAS.as_gas(),
        refund_to: None,
    };
    u128::from(record_bytes(&p)) * BYTE
}

#[test]
fn one_way_message_with_the_exact_fee_emits_iip52_and_transport_events() {
    let mut c = setup();
    with_fees(&mut c, 100, 1000, 500);
    let st3 = storage_fee(&c, 3);
    Call::by(USER).set();
    assert_eq!(
        c.get_fee(REMOTE_NET.into(), false, Some(3)),
        U128(1100 + st3)
    );
    assert_eq!(
        c.get_fee(REMOTE_NET.into(), true, Some(3)),
        U128(1600 + st3)
    );
    // Without a length: the largest message's storage, so that an IIP-52 caller is never short.
    assert_eq!(
        c.get_fee(REMOTE_NET.into(), false, None),
        U128(1100 + storage_fee(&c, 2048))
    );
    Call::by(USER).set();
    assert_err(|| c.get_fee("c".into(), false, None), "ERR_UNKNOWN_NETWORK");
    assert_err(
        || c.get_fee(REMOTE_NET.into(), false, Some(2049)),
        "ERR_DATA_TOO_LARGE",
    );
    assert_eq!(c.get_protocol_fee(), U128(100));

    let sn = send(&mut c, 1100 + st3, vec![1, 2, 3], None);
    assert_eq!(sn, 1);
    assert!(transfers().is_empty(), "nothing to refund");
    let sent = event(XCALL, "call_message_sent");
    assert_eq!(
        sent,
        serde_json::json!({"from": DAPP, "to": to(), "sn": "1", "nsn": "0"})
    );
    let TransportEvent::XcallMessage(m) = transport(MessageKind::XcallMessage).remove(0) else {
        unreachable!()
    };
    assert_eq!(m.dst, acc(LOCKER));
    assert_eq!(m.net, REMOTE_NET);
    assert_eq!(m.from, format!("btp://{LOCAL_NET}/{DAPP}"));
    assert_eq!(m.to, acc(REMOTE_DAPP));
    assert_eq!((m.sn, m.nsn), (U64(1), U64(0)));
    assert_eq!(m.data.0, vec![1, 2, 3]);
    assert!(!m.rollback);
    assert_eq!(
        m.expires_at,
        U64(NOW + crate::DEFAULT_MESSAGE_TTL_SECS * 1_000_000_000)
    );
    assert_eq!(m.handler_gas, Some(U64(DEFAULT_HANDLER_GAS.as_gas())));
    let f = c.get_fees();
    assert_eq!(
        (f.accrued_protocol, f.accrued_relay),
        (U128(100), U128(1000 + st3))
    );
    assert_eq!(c.message_state(U64(1)), MessageState::Sent);
    assert_eq!(c.message_state(U64(2)), MessageState::Unknown);
}

#[test]
fn the_storage_component_covers_the_record_the_destination_stakes() {
    // What `get_fee` charges here for the destination's record is at least what a connector
    // of the other network stakes for it (computed on the receiving side).
    let mut c = setup();
    grant(&mut c, Role::FeeManager, FEE_ADMIN);
    for len in [0u32, 5, 1000, 2048] {
        let quoted = storage_fee(&c, len);
        let r = crate::Request {
            from: format!("btp://{LOCAL_NET}/{}", "x".repeat(64)),
            to: acc(&format!("{}.near", "y".repeat(59))),
            sn: u64::MAX,
            two_way: true,
            data: vec![0; len as usize],
            expires_at: u64::MAX,
            state: RequestState::Delivered,
            channel: u32::MAX,
            handler_gas: u64::MAX,
            deposit: u128::MAX,
            payer: None,
        };
        assert!(quoted >= u128::from(record_bytes(&r)) * BYTE, "{len}");
        // And the fee is priced at the configured price of the other chain's storage.
        Call::by(FEE_ADMIN).set();
        c.set_storage_byte_price(U128(BYTE * 2));
        assert_eq!(storage_fee(&c, len), quoted * 2);
        Call::by(FEE_ADMIN).set();
        c.set_storage_byte_price(U128(BYTE));
    }
}

#[test]
fn surplus_is_refunded_and_too_little_is_refused() {
    let mut c = setup();
    with_fees(&mut c, 100, 1000, 500);
    let need = 1100 + storage_fee(&c, 0);
    send(&mut c, need + 3900, vec![], None);
    assert_eq!(transfers(), vec![(DAPP.to_string(), 3900)]);
    let msg = expect_panic(|| send(&mut c, need - 1, vec![], None));
    assert!(msg.starts_with("ERR_INSUFFICIENT_FEE"), "{msg}");
    assert!(msg.contains(&need.to_string()), "{msg}");
    // The surplus goes where the sender says.
    Call::contract(DAPP, USER).deposit(need + 5).set();
    c.send_call_message(to(), Base64VecU8(vec![]), None, None, Some(acc(USER)));
    assert_eq!(transfers(), vec![(USER.to_string(), 5)]);
}

#[test]
fn a_two_way_message_pays_fee_and_the_storage_of_its_rollback_data() {
    let mut c = setup();
    with_fees(&mut c, 100, 1000, 500);
    let rollback = vec![9u8; 100];
    let cost = pending_cost(&rollback);
    Call::by(USER).set();
    assert!(c.get_send_deposit(100).0 >= cost);
    let fee = 1600 + storage_fee(&c, 1);
    // Exactly fee + storage.
    let sn = send(&mut c, fee + cost, vec![1], Some(rollback.clone()));
    assert!(transfers().is_empty());
    let p = c.get_pending_message(U64(sn)).unwrap();
    assert_eq!(p.deposit, U128(cost));
    assert_eq!(p.rollback.0, rollback);
    assert_eq!(p.state, PendingState::AwaitingResponse);
    assert_eq!((p.channel, p.refund_to), (0, acc(DAPP)));
    assert_eq!(c.message_state(U64(sn)), MessageState::AwaitingResponse);
    let TransportEvent::XcallMessage(m) = transport(MessageKind::XcallMessage).remove(0) else {
        panic!()
    };
    assert!(m.rollback);
    // The storage is charged on top of the fee.
    assert_err(
        || send(&mut c, fee + cost - 1, vec![1], Some(rollback.clone())),
        "ERR_INSUFFICIENT_FEE",
    );
}

#[test]
fn storage_deposits_match_the_storage_actually_used() {
    let mut c = setup();
    flush(&mut c);
    let before = storage_usage();
    let sn = send(&mut c, NEAR, vec![1], Some(vec![7; 333]));
    flush(&mut c);
    let used = u128::from(storage_usage() - before);
    assert_eq!(
        c.get_pending_message(U64(sn)).unwrap().deposit.0,
        used * BYTE
    );

    let before = storage_usage();
    let o = ok_outcome(vec![xcall_message_log(0, 5, DAPP, &[3; 1000], true)]);
    verified(&mut c, MessageKind::XcallMessage, 0, o);
    flush(&mut c);
    // The replay window is the connector's own (bounded) cost; here nsn 0 is in order.
    let used = u128::from(storage_usage() - before);
    let r = c.get_request(U64(1)).unwrap();
    assert_eq!(r.deposit.0, used * BYTE);
    assert_eq!(r.payer, None, "staked by the connector");
    assert!(c.get_delivery_deposit(1000).0 >= r.deposit.0);
}

#[test]
fn size_limits_are_enforced_with_clear_errors() {
    let mut c = setup();
    send(&mut c, NEAR, vec![0; 2048], Some(vec![0; 1024]));
    assert_err(
        || send(&mut c, NEAR, vec![0; 2049], None),
        "ERR_DATA_TOO_LARGE",
    );
    assert_err(
        || send(&mut c, NEAR, vec![0; 1], Some(vec![0; 1025])),
        "ERR_ROLLBACK_TOO_LARGE",
    );
}

#[test]
fn rollback_data_only_from_a_contract() {
    let mut c = setup();
    Call::by(DAPP).deposit(NEAR).set();
    assert_err(
        || {
            c.send_call_message(
                to(),
                Base64VecU8(vec![]),
                Some(Base64VecU8(vec![1])),
                None,
                None,
            )
        },
        "ERR_ROLLBACK_NOT_CONTRACT",
    );
    // One-way from an account is fine.
    Call::by(DAPP).deposit(NEAR).set();
    c.send_call_message(to(), Base64VecU8(vec![]), None, None, None);
}

#[test]
fn addresses_must_be_btp_addresses_on_the_other_network() {
    let mut c = setup();
    let send_to = |c: &mut Connector, to: &str| {
        Call::contract(DAPP, USER).deposit(NEAR).set();
        c.send_call_message(to.into(), Base64VecU8(vec![]), None, None, None)
    };
    assert_err(|| send_to(&mut c, "dapp.a.near"), "ERR_INVALID_ADDRESS");
    assert_err(
        || send_to(&mut c, "btp://a/Not Valid"),
        "ERR_INVALID_ADDRESS",
    );
    assert_err(
        || send_to(&mut c, "btp://c/dapp.c.near"),
        "ERR_UNKNOWN_NETWORK",
    );
    assert_err(
        || send_to(&mut c, "btp://b/dapp.b.near"),
        "ERR_UNKNOWN_NETWORK",
    );
    assert_err(
        || send_to(&mut c, &format!("btp://a/{LOCKER}")),
        "ERR_TARGET_REFUSED",
    );
    Call::contract("stranger.b.near", USER).set();
    assert_err(
        || c.send_call_message(to(), Base64VecU8(vec![]), None, None, None),
        "ERR_NOT_ALLOWED",
    );
}

#[test]
fn protocol_fee_handler_and_relay_fee_collector() {
    let mut c = setup();
    with_fees(&mut c, 100, 1000, 0);
    // No destination storage in this test: only the protocol and relay fees.
    Call::by(FEE_ADMIN).set();
    c.set_storage_byte_price(U128(0));
    send(&mut c, 1100, vec![], None);
    send(&mut c, 1100, vec![], None);
    Call::by(USER).set();
    assert_err(|| c.claim_protocol_fees(), "ERR_NO_FEE_HANDLER");
    assert_err(|| c.claim_relay_fees(), "ERR_NO_FEE_COLLECTOR");
    // Setting the handler sends it what accrued (IIP-52).
    Call::by(FEE_ADMIN).set();
    drop(c.set_protocol_fee_handler(Some(acc("handler.b.near"))));
    assert_eq!(transfers(), vec![("handler.b.near".to_string(), 200)]);
    assert_eq!(c.get_protocol_fee_handler(), Some(acc("handler.b.near")));
    assert_eq!(c.get_fees().accrued_protocol, U128(0));
    Call::by(FEE_ADMIN).set();
    c.set_relay_fee_collector(Some(acc("relayers.b.near")));
    Call::by(USER).set();
    drop(c.claim_relay_fees());
    assert_eq!(transfers(), vec![("relayers.b.near".to_string(), 2000)]);
    assert_eq!(event(XSC, "fees_claimed")["amount"], "2000");
    Call::by(USER).set();
    assert_err(|| c.claim_relay_fees(), "ERR_NOTHING_TO_CLAIM");
    // A failed transfer is credited back.
    Call::callback(vec![PromiseResult::Failed]).set();
    c.on_fees_claimed(crate::fees::FeeKind::Relay, U128(2000));
    assert_eq!(c.get_fees().accrued_relay, U128(2000));
    // Later protocol fees go out on claim.
    send(&mut c, 1100, vec![], None);
    Call::by(USER).set();
    drop(c.claim_protocol_fees());
    assert_eq!(transfers(), vec![("handler.b.near".to_string(), 100)]);
    // Only the fee admin sets fees.
    Call::by(USER).set();
    assert!(expect_panic(|| c.set_protocol_fee(U128(1))).contains("Insufficient"));
    assert!(expect_panic(|| c.set_protocol_fee_handler(None)).contains("Insufficient"));
    assert!(
        expect_panic(|| c.set_relay_fee(REMOTE_NET.into(), U128(1), U128(1)))
            .contains("Insufficient")
    );
}

// --- the destination side ---

fn receive(c: &mut Connector, nsn: u64, sn: u64, two_way: bool, deposit: u128) {
    let o = ok_outcome(vec![xcall_message_log(nsn, sn, DAPP, b"hello", two_way)]);
    verified(c, MessageKind::XcallMessage, deposit, o);
}

#[test]
fn a_delivered_message_waits_for_execute_call_staked_by_the_connector() {
    let mut c = setup();
    // A relayer attaches nothing; whatever it attaches comes back.
    receive(&mut c, 0, 5, false, 77);
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 77)]);
    assert_eq!(
        event(XCALL, "call_message"),
        serde_json::json!({
            "from": format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
            "to": DAPP,
            "sn": "5",
            "req_id": "1"
        })
    );
    let r = c.get_request(U64(1)).unwrap();
    assert_eq!(r.payer, None);
    assert!(r.deposit.0 > 0);
    assert_eq!(r.data.0, b"hello".to_vec());
    assert_eq!(
        (r.channel, r.handler_gas),
        (0, U64(DEFAULT_HANDLER_GAS.as_gas()))
    );
    assert_eq!(c.request_state(U64(1)), MessageState::Delivered);
}

#[test]
fn a_connector_that_cannot_stake_the_request_rejects_the_delivery_for_a_retry() {
    let mut c = setup();
    let o = ok_outcome(vec![xcall_message_log(0, 5, DAPP, b"hello", false)]);
    let bytes = borsh::to_vec(&o).unwrap();
    Call::callback(vec![PromiseResult::Successful(bytes.clone())])
        .balance(NEAR / 1000)
        .set();
    c.on_delivery_verified(
        MessageKind::XcallMessage,
        acc(RELAYER),
        U128(9),
        Ok(o.clone()),
    );
    assert_eq!(
        event(XSC, "delivery_rejected"),
        serde_json::json!({"kind": "xcall_message", "nsn": "0", "code": "ERR_CONNECTOR_BALANCE", "refunded": "9"})
    );
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 9)]);
    assert!(!c.is_delivered(U64(0)));
    assert_eq!(c.request_state(U64(1)), MessageState::Unknown);
    // Funded again: the same proof goes through.
    verified(&mut c, MessageKind::XcallMessage, 0, o);
    assert_eq!(c.request_state(U64(1)), MessageState::Delivered);
}

#[test]
fn a_message_claiming_the_local_network_is_refused_and_a_two_way_one_answered() {
    let mut c = setup();
    let o = ok_outcome(vec![xcall_message_log_from(
        0,
        5,
        &format!("btp://{LOCAL_NET}/{DAPP}"),
        DAPP,
        b"x",
        true,
    )]);
    verified(&mut c, MessageKind::XcallMessage, NEAR, o);
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_INVALID_SOURCE");
    assert_eq!(transfers(), vec![(RELAYER.to_string(), NEAR)]);
    assert!(c.get_request(U64(1)).is_none());
    let response = get_logs()
        .iter()
        .find_map(|l| TransportEvent::parse(l, MessageKind::XcallResponse))
        .unwrap();
    let TransportEvent::XcallResponse(r) = response else {
        unreachable!()
    };
    assert_eq!(
        (r.sn, r.code, r.msg.as_str()),
        (U64(5), -1, "ERR_INVALID_SOURCE")
    );
    assert_eq!(r.dst, acc(LOCKER));
}

#[test]
fn a_message_into_a_denied_account_is_refused() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.deny(acc(DAPP));
    receive(&mut c, 0, 5, false, NEAR);
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_TARGET_REFUSED");
    assert!(c.get_request(U64(1)).is_none());
    let o = ok_outcome(vec![xcall_message_log(1, 6, CONNECTOR, b"x", true)]);
    verified(&mut c, MessageKind::XcallMessage, NEAR, o);
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_TARGET_REFUSED");
    assert!(get_logs()
        .iter()
        .any(|l| l.contains("\"event\":\"xcall_response\"")));
}

#[test]
fn a_message_delivered_after_its_expiry_is_answered_with_a_failure() {
    let mut c = setup();
    let o = ok_outcome(vec![xcall_message_log(0, 5, DAPP, b"x", true)]);
    let bytes = borsh::to_vec(&o).unwrap();
    Call::callback(vec![PromiseResult::Successful(bytes)])
        .at(NOW + 7200 * 1_000_000_000)
        .set();
    c.on_delivery_verified(MessageKind::XcallMessage, acc(RELAYER), U128(NEAR), Ok(o));
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_EXPIRED");
    assert!(get_logs()
        .iter()
        .any(|l| l.contains("\"event\":\"xcall_response\"") && l.contains("ERR_EXPIRED")));
}

fn execute(c: &mut Connector, req_id: u64) {
    Call::by(USER).gas(100).set();
    c.execute_call(U64(req_id));
}

fn executed(c: &mut Connector, req_id: u64, ok: bool) {
    let result = if ok {
        PromiseResult::Successful(vec![])
    } else {
        PromiseResult::Failed
    };
    Call::callback(vec![result]).set();
    c.on_call_executed(req_id);
}

#[test]
fn execute_call_hands_the_message_to_the_dapp_once_at_a_time() {
    let mut c = setup();
    receive(&mut c, 0, 5, false, NEAR);
    execute(&mut c, 1);
    let calls = function_calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        (DAPP, "handle_call_message")
    );
    let args: serde_json::Value = serde_json::from_slice(&calls[0].2).unwrap();
    assert_eq!(
        args,
        serde_json::json!({"from": format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"), "data": "aGVsbG8="})
    );
    assert_eq!(calls[0].3, DEFAULT_HANDLER_GAS);
    assert_eq!(
        (calls[1].1.as_str(), calls[1].3),
        ("on_call_executed", GAS_ON_EXECUTED)
    );
    assert_eq!(c.request_state(U64(1)), MessageState::Executing);
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_call(U64(1)), "ERR_REQUEST_IN_PROGRESS");
    Call::by(USER).gas(20).set();
    assert_err(|| c.execute_call(U64(2)), "ERR_UNKNOWN_REQUEST");
}

#[test]
fn execute_call_needs_enough_gas() {
    let mut c = setup();
    receive(&mut c, 0, 5, false, NEAR);
    Call::by(USER).gas(20).set();
    assert_err(|| c.execute_call(U64(1)), "ERR_NOT_ENOUGH_GAS");
    assert_eq!(c.request_state(U64(1)), MessageState::Delivered);
}

#[test]
fn a_successful_execution_clears_the_request_and_frees_its_stake() {
    let mut c = setup();
    receive(&mut c, 0, 5, false, 0);
    flush(&mut c);
    let before = storage_usage();
    execute(&mut c, 1);
    executed(&mut c, 1, true);
    assert_eq!(
        event(XCALL, "call_executed"),
        serde_json::json!({"req_id": "1", "code": 0, "msg": ""})
    );
    // The connector's own stake: nothing to transfer, the storage is released.
    assert!(transfers().is_empty());
    flush(&mut c);
    assert!(storage_usage() < before);
    assert!(c.get_request(U64(1)).is_none());
    assert_eq!(c.request_state(U64(1)), MessageState::ExecutedOk);
    // One-way: no response.
    assert!(!get_logs().iter().any(|l| l.contains("xcall_response")));
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_call(U64(1)), "ERR_UNKNOWN_REQUEST");
}

#[test]
fn a_failed_one_way_execution_stays_retriable_until_it_succeeds() {
    let mut c = setup();
    receive(&mut c, 0, 5, false, NEAR);
    execute(&mut c, 1);
    executed(&mut c, 1, false);
    assert_eq!(
        event(XCALL, "call_executed"),
        serde_json::json!({"req_id": "1", "code": -1, "msg": "ERR_HANDLER_FAILED"})
    );
    assert_eq!(c.request_state(U64(1)), MessageState::ExecutionFailed);
    assert!(
        transfers().is_empty(),
        "the request stays, so does its deposit"
    );
    // Retry, fail again, retry, succeed.
    execute(&mut c, 1);
    executed(&mut c, 1, false);
    execute(&mut c, 1);
    assert_eq!(function_calls()[0].1, "handle_call_message");
    executed(&mut c, 1, true);
    assert_eq!(c.request_state(U64(1)), MessageState::ExecutedOk);
}

#[test]
fn a_failed_two_way_execution_is_reported_back_for_rollback() {
    let mut c = setup();
    receive(&mut c, 0, 5, true, NEAR);
    execute(&mut c, 1);
    executed(&mut c, 1, false);
    let r = get_logs()
        .iter()
        .find_map(|l| TransportEvent::parse(l, MessageKind::XcallResponse))
        .unwrap();
    let TransportEvent::XcallResponse(r) = r else {
        unreachable!()
    };
    assert_eq!((r.sn, r.code), (U64(5), -1));
    assert_eq!(c.request_state(U64(1)), MessageState::Failed);
    assert!(transfers().is_empty(), "the connector's stake, no transfer");
    // Reported once: not retriable (the source rolls back).
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_call(U64(1)), "ERR_UNKNOWN_REQUEST");
}

#[test]
fn a_successful_two_way_execution_reports_success() {
    let mut c = setup();
    receive(&mut c, 0, 5, true, NEAR);
    execute(&mut c, 1);
    executed(&mut c, 1, true);
    let r = get_logs()
        .iter()
        .find_map(|l| TransportEvent::parse(l, MessageKind::XcallResponse))
        .unwrap();
    let TransportEvent::XcallResponse(r) = r else {
        unreachable!()
    };
    assert_eq!((r.sn, r.code, r.nsn), (U64(5), 0, U64(0)));
}

#[test]
fn an_expired_request_is_cleared_instead_of_executed() {
    let mut c = setup();
    receive(&mut c, 0, 5, true, NEAR);
    receive(&mut c, 1, 6, false, NEAR);
    execute(&mut c, 2);
    executed(&mut c, 2, false);
    let later = NOW + 3601 * 1_000_000_000;
    for req_id in [1, 2] {
        Call::by(USER).gas(100).at(later).set();
        c.execute_call(U64(req_id));
        assert!(function_calls().is_empty());
        assert_eq!(event(XSC, "request_expired")["req_id"], req_id.to_string());
        assert!(transfers().is_empty());
        assert_eq!(c.request_state(U64(req_id)), MessageState::Expired);
        // Only the two-way message is answered.
        let answered = get_logs().iter().any(|l| l.contains("xcall_response"));
        assert_eq!(answered, req_id == 1);
    }
}

// --- back on the source side ---

fn respond(c: &mut Connector, nsn: u64, sn: u64, code: i32) {
    let o = ok_outcome(vec![xcall_response_log(nsn, sn, code)]);
    verified(c, MessageKind::XcallResponse, 0, o);
}

#[test]
fn a_success_response_clears_the_message_and_refunds_its_storage() {
    let mut c = setup();
    let sn = send(&mut c, NEAR, vec![1], Some(vec![2]));
    let deposit = c.get_pending_message(U64(sn)).unwrap().deposit.0;
    respond(&mut c, 0, sn, 0);
    assert_eq!(
        event(XCALL, "response_message"),
        serde_json::json!({"sn": "1", "code": 0, "msg": ""})
    );
    assert_eq!(transfers(), vec![(DAPP.to_string(), deposit)]);
    assert!(c.get_pending_message(U64(sn)).is_none());
    assert_eq!(c.message_state(U64(sn)), MessageState::ExecutedOk);
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_rollback(U64(sn)), "ERR_UNKNOWN_SN");
}

#[test]
fn rollback_only_after_a_failure_response_and_retriable_until_it_succeeds() {
    let mut c = setup();
    let sn = send(&mut c, NEAR, vec![1], Some(vec![2, 2]));
    let deposit = c.get_pending_message(U64(sn)).unwrap().deposit.0;
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_rollback(U64(sn)), "ERR_ROLLBACK_NOT_ENABLED");
    respond(&mut c, 0, sn, -1);
    assert_eq!(event(XCALL, "response_message")["code"], -1);
    assert_eq!(
        event(XCALL, "rollback_message"),
        serde_json::json!({"sn": "1"})
    );
    assert_eq!(c.message_state(U64(sn)), MessageState::ExecutionFailed);

    Call::by(USER).gas(100).set();
    c.execute_rollback(U64(sn));
    let calls = function_calls();
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        (DAPP, "handle_call_message")
    );
    let args: serde_json::Value = serde_json::from_slice(&calls[0].2).unwrap();
    // `from` is the connector itself: the dapp recognises a rollback by it.
    assert_eq!(
        args,
        serde_json::json!({"from": format!("btp://{LOCAL_NET}/{CONNECTOR}"), "data": "AgI="})
    );
    assert_eq!(c.message_state(U64(sn)), MessageState::Executing);
    Call::by(USER).gas(100).set();
    assert_err(|| c.execute_rollback(U64(sn)), "ERR_ROLLBACK_IN_PROGRESS");

    // The rollback handler fails: retriable.
    Call::callback(vec![PromiseResult::Failed]).set();
    c.on_rollback_executed(sn);
    assert_eq!(event(XCALL, "rollback_executed")["code"], -1);
    assert_eq!(c.message_state(U64(sn)), MessageState::ExecutionFailed);
    Call::by(USER).gas(100).set();
    c.execute_rollback(U64(sn));
    Call::callback(vec![PromiseResult::Successful(vec![])]).set();
    c.on_rollback_executed(sn);
    assert_eq!(
        event(XCALL, "rollback_executed"),
        serde_json::json!({"sn": "1", "code": 0, "msg": ""})
    );
    assert_eq!(transfers(), vec![(DAPP.to_string(), deposit)]);
    assert_eq!(c.message_state(U64(sn)), MessageState::RolledBack);
}

#[test]
fn responses_are_accepted_only_for_two_way_messages_awaiting_them() {
    let mut c = setup();
    let one_way = send(&mut c, NEAR, vec![1], None);
    let two_way = send(&mut c, NEAR, vec![1], Some(vec![1]));
    // Never sent, one-way, and (after the first) already answered: refused, consumed.
    respond(&mut c, 0, 99, -1);
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    respond(&mut c, 1, one_way, -1);
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    assert_eq!(c.message_state(U64(one_way)), MessageState::Sent);
    respond(&mut c, 2, two_way, -1);
    assert_eq!(event(XCALL, "rollback_message")["sn"], two_way.to_string());
    respond(&mut c, 3, two_way, 0);
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    assert_eq!(c.message_state(U64(two_way)), MessageState::ExecutionFailed);
    assert_eq!(
        c.get_pending_message(U64(two_way)).unwrap().state,
        PendingState::RollbackEnabled
    );
}
