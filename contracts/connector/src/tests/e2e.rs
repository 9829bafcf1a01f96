//! Two connectors on two mocked chains, each message carried by the other connector's real logs
//! (the light client's reply is simulated: the outcome it would prove is the sender's outcome).

use super::*;
use xsc_interfaces::MessageKind;

pub(super) const A: &str = "connector.a.near";
pub(super) const B: &str = "connector.b.near";

pub(super) type Storage = HashMap<Vec<u8>, Vec<u8>>;
pub(super) type Calls = Vec<(String, String, Vec<u8>, Gas, u128)>;

/// Run `f` on the chain whose storage is `storage`; return its result, logs and calls.
pub(super) fn run<R>(
    storage: &mut Storage,
    call: Call,
    f: impl FnOnce() -> R,
) -> (R, Vec<String>, Calls) {
    call.set_with_storage(std::mem::take(storage));
    let r = f();
    let logs = get_logs();
    let calls = function_calls();
    *storage = near_sdk::mock::with_mocked_blockchain(|b| b.take_storage());
    (r, logs, calls)
}

/// The outcome the light client of the other chain proves for what `executor` logged.
pub(super) fn proven(executor: &str, logs: Vec<String>) -> ProvenOutcome {
    outcome(executor, ExecutionStatusView::SuccessValue(vec![]), logs)
}

pub(super) fn deliver(
    storage: &mut Storage,
    connector: &mut Connector,
    on: &'static str,
    kind: MessageKind,
    deposit: u128,
    o: ProvenOutcome,
) -> (Vec<String>, Calls) {
    let bytes = borsh::to_vec(&o).unwrap();
    let call = Call::callback(vec![PromiseResult::Successful(bytes)]).on(on);
    let ((), logs, calls) = run(storage, call, || {
        connector.on_delivery_verified(
            kind,
            acc(RELAYER),
            near_sdk::json_types::U128(deposit),
            Ok(o),
        )
    });
    (logs, calls)
}

pub(super) fn two_chains() -> (Storage, Connector, Storage, Connector) {
    fresh_storage();
    let mut a_storage = Storage::new();
    let mut b_storage = Storage::new();
    let (mut a, _, _) = run(&mut a_storage, Call::by("admin.a.near").on(A), || {
        Connector::new(
            acc("lc.a.near"),
            acc("executor.a.near"),
            "a".into(),
            "b".into(),
            Some(acc(B)),
            None,
        )
    });
    run(&mut a_storage, Call::by("admin.a.near").on(A), || {
        a.allow("dapp.a.near".into())
    });
    let (b, _, _) = run(&mut b_storage, Call::by(ADMIN).on(B), || {
        Connector::new(
            acc(LIGHT_CLIENT),
            acc(EXECUTOR),
            "b".into(),
            "a".into(),
            Some(acc(A)),
            None,
        )
    });
    (a_storage, a, b_storage, b)
}

#[test]
fn calimero_round_trip_between_two_connectors() {
    let (mut a_storage, mut a, mut b_storage, mut b) = two_chains();

    // Chain a: the dapp calls the greeter of chain b.
    let (request_id, a_logs, _) = run(
        &mut a_storage,
        Call::contract("dapp.a.near", "user.a.near").on(A),
        || {
            a.cross_call(
                acc("greeter.b.near"),
                "greet".into(),
                r#"{"name":"ada"}"#.into(),
                Gas::from_tgas(20),
                xsc_interfaces::BalanceArg(0),
                "on_greeting".into(),
            )
        },
    );

    // Chain b: the proven cross_call reaches the greeter through the executor, with the
    // initiator written into its arguments.
    let (_, calls) = deliver(
        &mut b_storage,
        &mut b,
        B,
        MessageKind::CrossCall,
        0,
        proven(A, a_logs),
    );
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        (EXECUTOR, "execute")
    );
    let (dest, method, args, gas): (AccountId, String, Vec<u8>, u64) =
        borsh::from_slice(&calls[0].2).unwrap();
    assert_eq!(
        (dest.as_str(), method.as_str()),
        ("greeter.b.near", "greet")
    );
    assert_eq!(
        args,
        br#"{"calimero_initiator_id":"dapp.a.near","name":"ada"}"#.to_vec()
    );
    assert_eq!(gas, Gas::from_tgas(20).as_gas());
    let (rid, initiator, callback, dest, channel): (u64, String, String, AccountId, u32) =
        borsh::from_slice(&calls[1].2).unwrap();
    assert_eq!(rid, request_id.0);
    assert_eq!(channel, 0);

    // Chain b: the greeter answered; the response is logged.
    let call = Call::callback(vec![PromiseResult::Successful(
        br#""Hello, ada!""#.to_vec(),
    )])
    .on(B);
    let ((), b_logs, _) = run(&mut b_storage, call, || {
        b.on_cross_call_finished(rid, initiator, callback, dest, channel)
    });

    // Chain a: the proven response reaches the dapp's callback with the request id.
    let (_, calls) = deliver(
        &mut a_storage,
        &mut a,
        A,
        MessageKind::CrossCallResponse,
        0,
        proven(B, b_logs),
    );
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        ("dapp.a.near", "on_greeting")
    );
    let args: xsc_interfaces::CalimeroCallback = serde_json::from_slice(&calls[0].2).unwrap();
    assert_eq!(args.response, Some(br#""Hello, ada!""#.to_vec()));
    assert_eq!(args.calimero_predecessor_id, acc("greeter.b.near"));
    assert_eq!(args.request_id, request_id);
    // Answered once: the record is gone, the same response again is refused.
    let (state, _, _) = run(&mut a_storage, Call::by(USER).on(A), || {
        a.get_cross_call(request_id)
    });
    assert_eq!(state, None);
}

#[test]
fn xcall_two_way_failure_rolls_the_source_back() {
    let (mut a_storage, mut a, mut b_storage, mut b) = two_chains();

    // Chain a: a transfer dapp sends a two-way message with its refund as rollback data.
    let (sn, a_logs, _) = run(
        &mut a_storage,
        Call::contract("dapp.a.near", "user.a.near")
            .on(A)
            .deposit(NEAR),
        || {
            a.send_call_message(
                "btp://b/ledger.b.near".into(),
                Base64VecU8(b"credit bob 5".to_vec()),
                Some(Base64VecU8(b"refund alice 5".to_vec())),
                None,
                None,
            )
        },
    );

    // Chain b: delivered, executed, fails; the failure goes back.
    deliver(
        &mut b_storage,
        &mut b,
        B,
        MessageKind::XcallMessage,
        NEAR,
        proven(A, a_logs),
    );
    let (_, _, calls) = run(&mut b_storage, Call::by(USER).on(B).gas(100), || {
        b.execute_call(U64(1))
    });
    let args: serde_json::Value = serde_json::from_slice(&calls[0].2).unwrap();
    assert_eq!(args["from"], "btp://a/dapp.a.near");
    let ((), b_logs, _) = run(
        &mut b_storage,
        Call::callback(vec![PromiseResult::Failed]).on(B),
        || b.on_call_executed(1),
    );

    // Chain a: the failure response enables the rollback; the dapp gets its rollback data.
    let (logs, _) = deliver(
        &mut a_storage,
        &mut a,
        A,
        MessageKind::XcallResponse,
        0,
        proven(B, b_logs),
    );
    assert!(logs
        .iter()
        .any(|l| l.contains("\"event\":\"rollback_message\"")));
    let (_, _, calls) = run(
        &mut a_storage,
        Call::by("user.a.near").on(A).gas(100),
        || a.execute_rollback(sn),
    );
    assert_eq!(
        (calls[0].0.as_str(), calls[0].1.as_str()),
        ("dapp.a.near", "handle_call_message")
    );
    let args: serde_json::Value = serde_json::from_slice(&calls[0].2).unwrap();
    assert_eq!(args["from"], "btp://a/connector.a.near");
    assert_eq!(args["data"], "cmVmdW5kIGFsaWNlIDU=");
    let (state, _, _) = run(
        &mut a_storage,
        Call::callback(vec![PromiseResult::Successful(vec![])]).on(A),
        || {
            a.on_rollback_executed(sn.0);
            a.message_state(sn)
        },
    );
    assert_eq!(state, crate::MessageState::RolledBack);
    let (state, _, _) = run(&mut b_storage, Call::by(USER).on(B), || {
        b.request_state(U64(1))
    });
    assert_eq!(state, crate::MessageState::Failed);
}
