//! Upgrade in place from the v1 layout (tag v0.1.0): the state and every v1 record in flight.

use super::*;
use crate::migrate::{write_v1, ConnectorV1, FeesV1};
use crate::records::{PendingCallV1, RequestV1};
use crate::{MessageState, PendingState, RequestState, StorageKey};
use near_sdk::store::{LookupMap, LookupSet};
use xsc_interfaces::MessageKind;

const RETIRED: &str = "connector0.a.near";

/// A v1 connector as v1 left it: roles and plugin state from a real init, then the v1 `STATE`
/// with records in flight of both APIs.
fn v1_chain() {
    let _ = setup();
    let mut delivered = LookupSet::new(StorageKey::Delivered);
    // Channel 3, message 12 delivered ahead of the watermark 10.
    delivered.insert((3u32, 12u64));
    let mut pending = LookupMap::new(StorageKey::Pending);
    pending.insert(
        3u64,
        PendingCallV1 {
            from: acc(DAPP),
            to: format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
            rollback: vec![1],
            state: PendingState::AwaitingResponse,
            deposit: 100,
        },
    );
    pending.insert(
        4u64,
        PendingCallV1 {
            from: acc(DAPP),
            to: format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
            rollback: vec![2],
            state: PendingState::RollbackEnabled,
            deposit: 200,
        },
    );
    let mut requests = LookupMap::new(StorageKey::Requests);
    requests.insert(
        2u64,
        RequestV1 {
            from: format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
            to: acc(DAPP),
            sn: 9,
            two_way: true,
            data: b"hi".to_vec(),
            expires_at: NOW + 3600 * 1_000_000_000,
            state: RequestState::Delivered,
            payer: acc(RELAYER),
            deposit: 50,
        },
    );
    let old = ConnectorV1 {
        light_client: acc(LIGHT_CLIENT),
        local_net: LOCAL_NET.into(),
        remote_net: REMOTE_NET.into(),
        locker: Some(acc(LOCKER)),
        retired_lockers: vec![acc(RETIRED)],
        channel: 3,
        next_out: 20,
        next_in: 10,
        ahead: 1,
        window: 64,
        delivered,
        next_request_id: 7,
        next_sn: 5,
        next_req_id: 3,
        message_ttl: 3600 * 1_000_000_000,
        allow_list_enforced: true,
        allow_suffixes: vec![".dapps.b.near".into()],
        allow_list: LookupSet::new(StorageKey::AllowList),
        deny_list: LookupSet::new(StorageKey::DenyList),
        fees: FeesV1 {
            protocol_fee: 1,
            protocol_fee_handler: Some(acc("handler.b.near")),
            accrued_protocol: 2,
            relay_fee: 3,
            relay_rollback_fee: 4,
            relay_fee_collector: None,
            accrued_relay: 5,
        },
        pending,
        requests,
        sent_archive: LookupMap::new(StorageKey::SentArchive),
        received_archive: LookupMap::new(StorageKey::ReceivedArchive),
    };
    let mut old = old;
    old.pending.flush();
    old.requests.flush();
    write_v1(&old);
    near_sdk::env::storage_remove(&borsh::to_vec(&StorageKey::StateVersion).unwrap());
}

fn migrated() -> Connector {
    v1_chain();
    Call::by(CONNECTOR).set();
    Connector::migrate(acc(EXECUTOR))
}

#[test]
fn migrate_keeps_the_configuration_the_channel_the_fees_and_the_roles() {
    let mut c = migrated();
    let cfg = c.config();
    assert_eq!(cfg.locker, Some(acc(LOCKER)));
    assert_eq!(cfg.calimero_executor, acc(EXECUTOR));
    assert_eq!(cfg.message_ttl, U64(3600));
    assert_eq!(cfg.allow_suffixes, vec!["*.dapps.b.near".to_string()]);
    let ch = c.channel();
    assert_eq!(
        (ch.channel, ch.next_out, ch.next_in, ch.ahead, ch.window),
        (3, U64(20), U64(10), 1, 64)
    );
    // The v1 replay entry still counts.
    assert!(c.is_delivered(U64(12)) && c.is_delivered(U64(9)) && !c.is_delivered(U64(11)));
    let f = c.get_fees();
    assert_eq!(
        (
            f.protocol_fee.0,
            f.accrued_protocol.0,
            f.relay_fee.0,
            f.relay_rollback_fee.0,
            f.accrued_relay.0
        ),
        (1, 2, 3, 4, 5)
    );
    assert_eq!(f.cross_call_fee.0, 0);
    assert!(c.acl_has_role(Role::Dao.into(), acc(ADMIN)));
    // A locker v1 had replaced can still never come back; a new one can be set.
    Call::by(ADMIN).set();
    assert_err(|| c.set_locker(acc(RETIRED)), "ERR_LOCKER_REUSED");
    Call::by(ADMIN).set();
    c.set_locker(acc("connector9.a.near"));
    assert_eq!(c.channel().channel, 4);
}

#[test]
fn v1_xcall_records_complete_after_the_migration() {
    let mut c = migrated();
    // Views read v1 records as they are.
    assert_eq!(c.message_state(U64(3)), MessageState::AwaitingResponse);
    assert_eq!(c.get_request(U64(2)).unwrap().payer, Some(acc(RELAYER)));
    // A sent two-way message: its success response clears it, the dapp gets its deposit.
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(10, 3, 0)]),
    );
    assert_eq!(transfers(), vec![(DAPP.to_string(), 100)]);
    assert_eq!(c.message_state(U64(3)), MessageState::ExecutedOk);
    // A v1 message awaiting its rollback rolls back.
    Call::by(USER).gas(200).set();
    c.execute_rollback(U64(4));
    Call::callback(vec![PromiseResult::Successful(vec![])]).set();
    c.on_rollback_executed(4);
    assert_eq!(transfers(), vec![(DAPP.to_string(), 200)]);
    assert_eq!(c.message_state(U64(4)), MessageState::RolledBack);
    // A v1 request: executed, answered on the channel, the relayer's v1 deposit returned.
    Call::by(USER).gas(200).set();
    c.execute_call(U64(2));
    assert_eq!(function_calls()[0].1, "handle_call_message");
    Call::callback(vec![PromiseResult::Successful(vec![])]).set();
    c.on_call_executed(2);
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 50)]);
    let TransportEvent::XcallResponse(r) = transport(MessageKind::XcallResponse).remove(0) else {
        unreachable!()
    };
    assert_eq!(
        (r.dst, r.nsn, r.sn, r.code),
        (acc(LOCKER), U64(20), U64(9), 0)
    );
    assert_eq!(c.request_state(U64(2)), MessageState::ExecutedOk);
    // New ids continue after v1's.
    let sn = super::xcall::send(&mut c, NEAR, vec![1], None);
    assert_eq!(sn, 5);
}

#[test]
fn v1_calimero_calls_get_their_responses_and_nothing_else_does() {
    let mut c = migrated();
    // Request 5 was sent by v1 (no record): its response is accepted on the v1 channel.
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(10, 5, Some(b"1"))),
    );
    assert_eq!(function_calls()[0].1, "on_result");
    // Request 8 was never sent: no record, not below the v1 watermark.
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(11, 8, Some(b"1"))),
    );
    assert!(function_calls().is_empty());
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    // A v1 callback in flight across the upgrade answers on the v1 channel.
    Call::callback(vec![PromiseResult::Successful(b"1".to_vec())]).set();
    c.on_cross_call_done(6, REMOTE_DAPP.into(), "cb".into(), acc("greeter.b.near"));
    assert_eq!(
        transport(MessageKind::CrossCallResponse)[0].route(),
        (&acc(LOCKER), REMOTE_NET, 20)
    );
}

#[test]
fn migrate_runs_once_and_only_from_the_contract_itself() {
    v1_chain();
    // near-sdk does not enforce `#[private]` on an init method: the contract checks it.
    for who in [ADMIN, "mallory.b.near", EXECUTOR] {
        Call::by(who).set();
        assert_err(|| Connector::migrate(acc("mallory.b.near")), "ERR_PRIVATE");
    }
    Call::by(CONNECTOR).set();
    assert_err(
        || Connector::migrate(acc(CONNECTOR)),
        "ERR_INVALID_EXECUTOR",
    );
    Call::by(CONNECTOR).set();
    let c = Connector::migrate(acc(EXECUTOR));
    near_sdk::env::state_write(&c);
    Call::by(CONNECTOR).set();
    assert_err(|| Connector::migrate(acc(EXECUTOR)), "ERR_MIGRATION");
    // A fresh v2 connector is no v1 either.
    let c = setup();
    near_sdk::env::state_write(&c);
    Call::by(CONNECTOR).set();
    assert_err(|| Connector::migrate(acc(EXECUTOR)), "ERR_MIGRATION");
}
