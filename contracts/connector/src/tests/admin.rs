//! Initialisation, configuration and views.

use super::*;

#[test]
fn init_sets_the_admin_and_the_configuration() {
    let c = setup();
    let cfg = c.config();
    assert_eq!(cfg.light_client, acc(LIGHT_CLIENT));
    assert_eq!(
        (cfg.local_net.as_str(), cfg.remote_net.as_str()),
        (LOCAL_NET, REMOTE_NET)
    );
    assert_eq!(cfg.locker, Some(acc(LOCKER)));
    assert_eq!(cfg.calimero_executor, acc(EXECUTOR));
    assert_eq!(c.calimero_executor(), acc(EXECUTOR));
    assert!(cfg.allow_list_enforced);
    assert_eq!(cfg.message_ttl, U64(crate::DEFAULT_MESSAGE_TTL_SECS));
    assert!(c.acl_has_role(Role::Dao.into(), acc(ADMIN)));
    let ch = c.channel();
    assert_eq!(
        (ch.next_in, ch.next_out, ch.window, ch.channel),
        (U64(0), U64(0), crate::DEFAULT_WINDOW, 0)
    );
    assert_eq!(ch.status, crate::ChannelStatus::Active);
    assert_eq!(c.channels(), vec![ch]);
    // Fees start at 0 (Calimero-compatible), storage priced at this chain's price.
    let f = c.get_fees();
    assert_eq!(f.cross_call_fee.0, 0);
    assert_eq!(f.storage_byte_price.0, 10u128.pow(19));
}

#[test]
fn the_executor_must_be_its_own_account() {
    for executor in [CONNECTOR, LIGHT_CLIENT] {
        fresh_storage();
        Call::by(ADMIN).set();
        let msg = expect_panic(|| {
            Connector::new(
                acc(LIGHT_CLIENT),
                acc(executor),
                LOCAL_NET.into(),
                REMOTE_NET.into(),
                None,
                None,
            )
        });
        assert!(msg.starts_with("ERR_INVALID_EXECUTOR"), "{msg}");
    }
}

#[test]
fn an_explicit_admin_gets_the_roles() {
    fresh_storage();
    Call::by("deployer.b.near").set();
    let c = Connector::new(
        acc(LIGHT_CLIENT),
        acc(EXECUTOR),
        LOCAL_NET.into(),
        REMOTE_NET.into(),
        None,
        Some(acc("dao.b.near")),
    );
    assert!(c.acl_has_role(Role::Dao.into(), acc("dao.b.near")));
    assert!(!c.acl_has_role(Role::Dao.into(), acc("deployer.b.near")));
}

#[test]
fn configuration_changes_are_events() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.set_light_client(acc("lc2.b.near"));
    assert_eq!(
        event(XSC, "config_changed"),
        serde_json::json!({"what": "light_client", "value": "lc2.b.near", "by": ADMIN})
    );
    assert_eq!(c.config().light_client, acc("lc2.b.near"));
    // The new light client is refused as a target too.
    assert!(c.is_denied(acc("lc2.b.near")));
    Call::by(ADMIN).set();
    c.set_locker(acc("connector2.a.near"));
    assert_eq!(
        event(XSC, "locker_set"),
        serde_json::json!({"locker": "connector2.a.near", "channel": 1, "by": ADMIN})
    );
}

#[test]
fn message_ttl_applies_to_messages_sent_afterwards() {
    let mut c = setup();
    Call::by(ADMIN).set();
    c.set_message_ttl(U64(120));
    assert_eq!(c.config().message_ttl, U64(120));
    Call::contract(DAPP, USER).deposit(NEAR).set();
    send_message(
        &mut c,
        format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
        vec![],
        None,
    );
    let expires = get_logs()
        .iter()
        .find_map(|l| TransportEvent::parse(l, xsc_interfaces::MessageKind::XcallMessage))
        .map(|e| match e {
            TransportEvent::XcallMessage(m) => m.expires_at,
            _ => unreachable!(),
        })
        .unwrap();
    assert_eq!(expires, U64(NOW + 120 * 1_000_000_000));
}

#[test]
fn a_connector_without_locker_accepts_no_delivery() {
    let mut c = new_connector(None);
    verified(
        &mut c,
        xsc_interfaces::MessageKind::CrossCall,
        0,
        ok_outcome(vec![]),
    );
    assert_eq!(
        event(XSC, "delivery_rejected")["code"],
        "ERR_LOCKER_NOT_SET"
    );
}
