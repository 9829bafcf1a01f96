//! Safety: proof outcome checks, privileged targets, deny and allow lists, relayer deposits, gas,
//! pause, upgrade and roles.

use super::*;
use near_plugins::{Pausable, Upgradable};
use near_sdk::PromiseError;
use xsc_interfaces::{BalanceArg, MessageKind};

fn rejected_code() -> String {
    event(XSC, "delivery_rejected")["code"]
        .as_str()
        .unwrap()
        .to_string()
}

fn greet_logs(dest: &str, nsn: u64) -> Vec<String> {
    cross_call_logs(nsn, 1, &cross_call_event(dest, "greet", "{}", 5))
}

#[test]
fn a_proof_the_light_client_rejects_delivers_nothing_and_refunds_the_relayer() {
    let mut c = setup();
    Call::callback(vec![PromiseResult::Failed]).set();
    c.on_delivery_verified(
        MessageKind::CrossCall,
        acc(RELAYER),
        near_sdk::json_types::U128(NEAR),
        Err(PromiseError::Failed),
    );
    assert_eq!(rejected_code(), "ERR_PROOF_REJECTED");
    assert_eq!(transfers(), vec![(RELAYER.to_string(), NEAR)]);
    assert!(function_calls().is_empty());
}

#[test]
fn wrong_executor_is_refused_and_the_deposit_refunded() {
    let mut c = setup();
    let o = outcome(
        "mallory.a.near",
        ExecutionStatusView::SuccessValue(vec![]),
        greet_logs("greeter.b.near", 0),
    );
    verified(&mut c, MessageKind::CrossCall, 9, o);
    assert_eq!(rejected_code(), "ERR_WRONG_EXECUTOR");
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 9)]);
    assert!(function_calls().is_empty());
    assert!(!c.is_delivered(U64(0)));
}

#[test]
fn failed_or_unknown_outcome_status_is_refused() {
    let mut c = setup();
    for status in [ExecutionStatusView::Failure, ExecutionStatusView::Unknown] {
        let o = outcome(LOCKER, status, greet_logs("greeter.b.near", 0));
        verified(&mut c, MessageKind::CrossCall, 0, o);
        assert_eq!(rejected_code(), "ERR_OUTCOME_NOT_SUCCESS");
        assert!(function_calls().is_empty());
    }
    // A receipt-id success (the outcome returned a promise) is a success.
    let o = outcome(
        LOCKER,
        ExecutionStatusView::SuccessReceiptId(CryptoHash([1; 32])),
        greet_logs("greeter.b.near", 0),
    );
    verified(&mut c, MessageKind::CrossCall, 0, o);
    assert_eq!(function_calls().len(), 2);
}

#[test]
fn inbound_calls_into_the_executor_are_refused_like_the_connector() {
    let mut c = setup();
    verified(
        &mut c,
        MessageKind::CrossCall,
        0,
        ok_outcome(greet_logs(EXECUTOR, 0)),
    );
    assert!(function_calls().is_empty());
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_TARGET_REFUSED");
    assert!(c.is_denied(acc(EXECUTOR)));
    // Nor may an xCall message go to it.
    let o = ok_outcome(vec![xcall_message_log(1, 6, EXECUTOR, b"x", false)]);
    verified(&mut c, MessageKind::XcallMessage, 0, o);
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_TARGET_REFUSED");
}

#[test]
fn inbound_calls_into_the_connector_its_light_client_or_denied_accounts_are_refused() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.deny(acc("treasury.b.near"));
    for (nsn, target) in [CONNECTOR, LIGHT_CLIENT, "treasury.b.near"]
        .iter()
        .enumerate()
    {
        verified(
            &mut c,
            MessageKind::CrossCall,
            0,
            ok_outcome(greet_logs(target, nsn as u64)),
        );
        // Nothing is called; the message is consumed (it can never block the channel) and
        // answered with FAILED! so that the dapp on the other chain learns about it.
        assert!(function_calls().is_empty(), "{target}");
        let refused = event(XSC, "message_refused");
        assert_eq!(refused["code"], "ERR_TARGET_REFUSED");
        assert_eq!(refused["target"], *target);
        let logs = get_logs();
        let response = logs
            .iter()
            .find(|l| l.starts_with("CALIMERO_EVENT_CROSS_RESPONSE:"))
            .unwrap();
        assert_eq!(
            *response,
            format!("CALIMERO_EVENT_CROSS_RESPONSE:{REMOTE_DAPP}:on_result:FAILED!:{target}")
        );
        assert!(c.is_delivered(U64(nsn as u64)));
    }
    // Views agree.
    assert!(c.is_denied(acc(CONNECTOR)) && c.is_denied(acc(LIGHT_CLIENT)));
    assert!(!c.is_denied(acc("greeter.b.near")));
    Call::by(ADMIN).set();
    c.undeny(acc("treasury.b.near"));
    assert!(!c.is_denied(acc("treasury.b.near")));
}

#[test]
fn a_response_into_a_privileged_or_denied_account_is_refused() {
    let mut c = setup();
    // Into the connector: no such request was ever sent (nothing sends as the connector).
    let mut logs = cross_response_logs(0, 1, Some(b"1"));
    logs[0] = logs[0].replace(DAPP, CONNECTOR);
    verified(&mut c, MessageKind::CrossCallResponse, 0, ok_outcome(logs));
    assert!(function_calls().is_empty());
    assert_eq!(
        event(XSC, "message_refused")["code"],
        "ERR_UNEXPECTED_RESPONSE"
    );
    // Into a dapp denied since it sent: refused, its record dropped.
    let id = super::calimero::sent(&mut c);
    Call::by(ADMIN).set();
    c.deny(acc(DAPP));
    verified(
        &mut c,
        MessageKind::CrossCallResponse,
        0,
        ok_outcome(cross_response_logs(1, id, Some(b"1"))),
    );
    assert!(function_calls().is_empty());
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_TARGET_REFUSED");
    assert_eq!(c.get_cross_call(U64(id)), None);
}

#[test]
fn the_allow_list_decides_who_may_send_with_exact_and_suffix_rules() {
    let mut c = setup();
    let send = |c: &mut Connector, who: &str| {
        Call::contract(who, USER).set();
        c.cross_call(
            acc("greeter.a.near"),
            "greet".into(),
            "{}".into(),
            Gas::from_tgas(5),
            BalanceArg(0),
            "cb".into(),
        )
    };
    send(&mut c, DAPP);
    assert_err(|| send(&mut c, "x.dapp.near"), "ERR_NOT_ALLOWED");
    Call::by(ADMIN).set();
    c.allow("*.dapp.near".into());
    send(&mut c, "x.dapp.near");
    send(&mut c, "a.x.dapp.near");
    // The parent itself and look-alikes do not match.
    assert_err(|| send(&mut c, "dapp.near"), "ERR_NOT_ALLOWED");
    assert_err(|| send(&mut c, "xdapp.near"), "ERR_NOT_ALLOWED");
    assert_eq!(c.config().allow_suffixes, vec!["*.dapp.near".to_string()]);
    assert!(c.is_allowed(acc("b.dapp.near")));
    Call::by(ADMIN).set();
    c.disallow("*.dapp.near".into());
    c.disallow(DAPP.into());
    assert_err(|| send(&mut c, "x.dapp.near"), "ERR_NOT_ALLOWED");
    assert_err(|| send(&mut c, DAPP), "ERR_NOT_ALLOWED");
    // Switched off: anyone.
    Call::by(ADMIN).set();
    c.set_allow_list_enforced(false);
    send(&mut c, "anyone.near");
}

#[test]
fn allow_rules_are_validated_and_bounded() {
    let mut c = setup();
    Call::by(ADMIN).set();
    assert_err(|| c.allow("*".into()), "ERR_INVALID_RULE");
    assert_err(|| c.allow("*.Bad!".into()), "ERR_INVALID_RULE");
    assert_err(|| c.allow("a.*.near".into()), "ERR_INVALID_RULE");
    for i in 0..16 {
        c.allow(format!("*.d{i}.near"));
    }
    // The same rule again is not a new rule.
    c.allow("*.d0.near".into());
    assert_err(|| c.allow("*.d16.near".into()), "ERR_TOO_MANY_RULES");
    // Exact rules are a set: no limit.
    c.allow("e.near".into());
}

#[test]
fn not_enough_gas_in_the_callback_defers_the_delivery_without_consuming_it() {
    let mut c = setup();
    let o = ok_outcome(cross_call_logs(
        0,
        1,
        &cross_call_event("greeter.b.near", "greet", "{}", 100),
    ));
    verified_with_gas(&mut c, MessageKind::CrossCall, 4, o.clone(), 50);
    assert_eq!(rejected_code(), "ERR_NOT_ENOUGH_GAS");
    assert!(function_calls().is_empty());
    assert_eq!(transfers(), vec![(RELAYER.to_string(), 4)]);
    assert!(!c.is_delivered(U64(0)));
    verified_with_gas(&mut c, MessageKind::CrossCall, 0, o, 180);
    assert_eq!(
        function_calls()[0].3,
        crate::GAS_EXECUTOR.saturating_add(Gas::from_tgas(100)),
        "the executor's own gas and the destination's"
    );
}

#[test]
fn a_paused_method_refuses_until_unpaused_and_only_roles_pause() {
    let mut c = setup();
    let send = |c: &mut Connector| {
        Call::contract(DAPP, USER).set();
        c.cross_call(
            acc("greeter.a.near"),
            "greet".into(),
            "{}".into(),
            Gas::from_tgas(5),
            BalanceArg(0),
            "cb".into(),
        )
    };
    Call::by("mallory.near").set();
    assert!(expect_panic(|| c.pa_pause_feature("cross_call".into())).contains("Insufficient"));
    Call::by(ADMIN).set();
    assert!(c.pa_pause_feature("cross_call".into()));
    let msg = expect_panic(|| send(&mut c));
    assert!(msg.contains("Pausable: Method is paused"), "{msg}");
    // Other methods go on.
    Call::contract(DAPP, USER).deposit(NEAR).set();
    send_message(
        &mut c,
        format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
        vec![1],
        None,
    );
    Call::by(ADMIN).set();
    assert!(c.pa_unpause_feature("cross_call".into()));
    send(&mut c);
    // "ALL" pauses every pausable method, deliveries included.
    Call::by(ADMIN).set();
    c.pa_pause_feature("ALL".into());
    assert!(expect_panic(|| send(&mut c)).contains("Pausable"));
    let mut p = xsc_vectors::proof("proofs/calimero-cross-call-event.json");
    p.outcome_proof.outcome.executor_id = LOCKER.into();
    p.outcome_proof.outcome.logs = greet_logs("greeter.b.near", 0);
    Call::by(RELAYER).set();
    assert!(expect_panic(|| drop(c.cross_call_execute(p, 1))).contains("Pausable"));
    Call::by(RELAYER).set();
    assert!(expect_panic(|| c.execute_call(U64(1))).contains("Pausable"));
}

#[test]
fn only_roles_stage_upgrades_and_administer() {
    let mut c = setup();
    Call::by("mallory.near").set();
    assert!(expect_panic(|| c.up_stage_code()).contains("Insufficient"));
    assert!(expect_panic(|| c.set_locker(acc("x.a.near"))).contains("Insufficient"));
    assert!(expect_panic(|| c.set_light_client(acc("x.b.near"))).contains("Insufficient"));
    assert!(expect_panic(|| c.allow("mallory.near".into())).contains("Insufficient"));
    assert!(expect_panic(|| c.deny(acc("x.near"))).contains("Insufficient"));
    assert!(expect_panic(|| c.set_window(5)).contains("Insufficient"));
    assert!(
        expect_panic(|| c.set_protocol_fee(near_sdk::json_types::U128(1))).contains("Insufficient")
    );
    // A ConfigManager administers lists and limits but not the locker.
    grant(&mut c, Role::ConfigManager, "ops.b.near");
    Call::by("ops.b.near").set();
    c.allow("ops-dapp.b.near".into());
    c.set_window(16);
    assert_err(|| c.set_window(0), "ERR_INVALID_WINDOW");
    assert_err(|| c.set_window(1025), "ERR_INVALID_WINDOW");
    c.set_message_ttl(U64(3600));
    assert_err(|| c.set_message_ttl(U64(59)), "ERR_INVALID_TTL");
    assert!(expect_panic(|| c.set_locker(acc("x.a.near"))).contains("Insufficient"));
    // The Dao stages code.
    Call::by(ADMIN).set();
    c.up_stage_code();
}

#[test]
fn init_validates_networks() {
    fresh_storage();
    Call::by(ADMIN).set();
    for (local, remote) in [("a", "a"), ("", "b"), ("a/b", "c"), ("a", "b:c")] {
        let msg = expect_panic(|| {
            Connector::new(
                acc(LIGHT_CLIENT),
                acc(EXECUTOR),
                local.into(),
                remote.into(),
                None,
                None,
            )
        });
        assert!(
            msg.starts_with("ERR_INVALID_NETWORK"),
            "{local} {remote}: {msg}"
        );
    }
}
