//! Upgrade in place (issue 8): a chain pair deployed from the previous main's wasm (tag
//! `v0.1.0`, `tests/fixtures/v0.1.0/`), messages of both APIs in flight in every stage, the
//! connectors upgraded through their `Upgradable` role (`up_stage_code` + `up_deploy_code`
//! running `migrate`), and every message completing afterwards with exact ledger balances and
//! deposits. The light clients stay at v0.1.0 (their migration is another change).
//!
//! Ignored by default (a neard sandbox binary is needed). Run:
//!
//! ```sh
//! scripts/build.sh
//! cargo test -p xsc-devnet --test upgrade -- --ignored --test-threads=1 --nocapture
//! ```

mod common;

use common::*;
use serde_json::{json, Value};
use xsc_bridge::deploy::create_and_deploy;
use xsc_bridge::events::MessageKind;
use xsc_bridge::rpc::FinalOutcome;
use xsc_bridge::tx::{actions, MAX_GAS_300T};
use xsc_devnet::demo::{LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN, VALIDATOR};

const A: usize = 0;
const B: usize = 1;
const XCALL: &str = "xcall";
const XSC: &str = "xsc_connector";

/// Deliver with the v1 rules (a deposit for xCall messages: v1 took the request's storage from
/// the relayer).
async fn deliver_v1(net: &Net, from: usize, out: &FinalOutcome, kind: MessageKind) -> FinalOutcome {
    let deposit = if kind == MessageKind::XcallMessage {
        NEAR / 10
    } else {
        0
    };
    let (s, r) = (
        net.acc(from).connector.clone(),
        net.acc(1 - from).connector.clone(),
    );
    let d = net
        .deliver_to(from, &s, out, kind, &r, true, MAX_GAS_300T, deposit)
        .await;
    assert!(
        event(&d, XSC, "delivered").is_some(),
        "{:?} {:?}",
        d.failure(),
        d.logs().collect::<Vec<_>>()
    );
    d
}

fn sn_of(out: &FinalOutcome) -> String {
    event(out, XCALL, "call_message_sent").unwrap()["sn"]
        .as_str()
        .unwrap()
        .to_string()
}

fn req_of(out: &FinalOutcome) -> String {
    event(out, XCALL, "call_message").unwrap()["req_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn request_id_of(out: &FinalOutcome) -> u64 {
    let v: Value = out.success_json().unwrap().unwrap();
    v.as_str().unwrap().parse().unwrap()
}

async fn result_of(net: &Net, id: u64) -> Value {
    view(
        net.rpc(A),
        &net.acc(A).cross_call,
        "get_result",
        json!({"request_id": id.to_string()}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox), res/*.wasm and tests/fixtures/v0.1.0"]
async fn upgrade_from_v0_1_0_with_messages_of_both_apis_in_flight() {
    let bin = find_neard().unwrap_or_else(|| panic!("{MISSING_BIN}"));
    let dir = tempfile::tempdir().unwrap();
    // The deployment code with the v0.1.0 light client and connector (and the new executor,
    // which v1 does not know about: it is ready for the upgrade).
    let v1 = dir.path().join("v1-res");
    std::fs::create_dir_all(&v1).unwrap();
    for f in ["xsc_light_client.wasm", "xsc_connector.wasm"] {
        std::fs::copy(fixtures_dir().join(f), v1.join(f)).unwrap();
    }
    std::fs::copy(
        res_dir().join("xsc_calimero_executor.wasm"),
        v1.join("xsc_calimero_executor.wasm"),
    )
    .unwrap();
    let opts = PairOptions {
        res_dir: v1.clone(),
        chain_ids: ["upg-a".into(), "upg-b".into()],
        demo_dapps: false,
        ..PairOptions::default()
    };
    let p = LocalPair::start(&bin, &dir.path().join("chains"), &opts, &|l| {
        println!("{l}")
    })
    .await
    .unwrap();
    let net = Net::around(p, dir).await;
    let user = VALIDATOR;
    let (acc_a, acc_b) = (net.acc(A).clone(), net.acc(B).clone());
    // The v0.1.0 demo dapps, as v0.1.0 deployed them.
    for at in [A, B] {
        let acc = net.acc(at).clone();
        let tx = &net.p.users[at];
        create_and_deploy(
            tx,
            &acc.greeter,
            5 * NEAR,
            read(&fixtures_dir(), "xsc_demo_greeter.wasm"),
            None,
        )
        .await
        .unwrap();
        create_and_deploy(
            tx,
            &acc.cross_call,
            5 * NEAR,
            read(&fixtures_dir(), "xsc_demo_cross_call.wasm"),
            Some(("new", json!({"connector": acc.connector}))),
        )
        .await
        .unwrap();
        create_and_deploy(
            tx,
            &acc.xcall_transfer,
            5 * NEAR,
            read(&fixtures_dir(), "xsc_demo_xcall_transfer.wasm"),
            Some(("new", json!({"connector": acc.connector, "local_net": net.name(at), "peer": format!("btp://{}/{}", net.name(1 - at), net.acc(1 - at).xcall_transfer)}))),
        )
        .await
        .unwrap();
        for d in [&acc.cross_call, &acc.xcall_transfer] {
            call_ok(tx, &acc.connector, "allow", json!({"rule": d}), 0).await;
        }
        call_ok(tx, &acc.xcall_transfer, "register", json!({}), 0).await;
    }
    call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "mint",
        json!({"amount": "100"}),
        0,
    )
    .await;
    let v1_config = view(net.rpc(A), &acc_a.connector, "config", json!({})).await;
    assert!(
        v1_config.get("calimero_executor").is_none(),
        "v0.1.0 is deployed: {v1_config}"
    );

    // ── Messages in flight at every stage, both APIs. ──
    let greet = |name: &'static str| {
        let tx = net.p.users[A].clone();
        let cc = acc_a.cross_call.clone();
        let greeter = acc_b.greeter.clone();
        async move {
            call_ok(
                &tx,
                &cc,
                "greet_remote",
                json!({"greeter": greeter, "name": name}),
                0,
            )
            .await
        }
    };
    let transfer = |to: String, amount: u64| {
        let tx = net.p.users[A].clone();
        let l = acc_a.xcall_transfer.clone();
        async move {
            call_ok(
                &tx,
                &l,
                "transfer",
                json!({"to": to, "amount": amount.to_string()}),
                NEAR,
            )
            .await
        }
    };
    // Calimero 1: sent, not delivered.
    let c1 = greet("one").await;
    // Calimero 2: delivered and executed on B, its response not delivered.
    let c2 = greet("two").await;
    let c2_exec = deliver_v1(&net, A, &c2, MessageKind::CrossCall).await;
    // xCall 1: two-way, sent, not delivered.
    let x1 = transfer(user.to_string(), 30).await;
    // xCall 2: delivered on B (v1 request, its storage paid by the relayer), not executed.
    let x2 = transfer(user.to_string(), 20).await;
    let x2_d = deliver_v1(&net, A, &x2, MessageKind::XcallMessage).await;
    let x2_req = req_of(&x2_d);
    // xCall 3: executed on B, its success response not delivered.
    let x3 = transfer(user.to_string(), 10).await;
    let x3_d = deliver_v1(&net, A, &x3, MessageKind::XcallMessage).await;
    let x3_exec = call_ok(
        &net.p.users[B],
        &acc_b.connector,
        "execute_call",
        json!({"req_id": req_of(&x3_d)}),
        0,
    )
    .await;
    // xCall 4: failed on B (unregistered recipient), its failure response not delivered.
    let x4 = transfer(format!("nobody.{user}"), 5).await;
    let x4_d = deliver_v1(&net, A, &x4, MessageKind::XcallMessage).await;
    let x4_exec = call_raw(
        &net.p.users[B],
        &acc_b.connector,
        "execute_call",
        json!({"req_id": req_of(&x4_d)}),
        0,
        MAX_GAS_300T,
    )
    .await;
    assert_eq!(event(&x4_exec, XCALL, "call_executed").unwrap()["code"], -1);
    assert_eq!(ledger(&net, A, user).await, Some(35));
    let x2_pending = view(
        net.rpc(B),
        &acc_b.connector,
        "get_request",
        json!({"req_id": x2_req}),
    )
    .await;
    let x2_deposit: u128 = x2_pending["deposit"].as_str().unwrap().parse().unwrap();
    let relayer_b = net.relayer[B].signer().account_id().to_string();
    assert_eq!(x2_pending["payer"], json!(relayer_b));
    let channel_a_before = view(net.rpc(A), &acc_a.connector, "channel", json!({})).await;

    // ── Upgrade both connectors in place. ──
    let code = read(&res_dir(), "xsc_connector.wasm");
    let hash = {
        let h = xsc_bridge::deploy::code_hash(&code);
        h.to_string()
    };
    for at in [A, B] {
        let acc = net.acc(at).clone();
        let tx = &net.p.users[at];
        // Anyone else cannot stage code.
        let stranger = new_account(&net, at, "stranger", NEAR).await;
        let out = stranger
            .send(
                &acc.connector,
                vec![actions::function_call(
                    "up_stage_code",
                    code.clone(),
                    MAX_GAS_300T,
                    0,
                )],
            )
            .await
            .unwrap();
        assert_fails_with(&out, "Insufficient permissions");
        // Staging stores the code in the contract's storage: fund it first (the staged code is
        // deleted again below).
        let fund = tx
            .send(&acc.connector, vec![actions::transfer(8 * NEAR)])
            .await
            .unwrap();
        assert!(fund.failure().is_none(), "{:?}", fund.failure());
        let out = tx
            .send(
                &acc.connector,
                vec![actions::function_call(
                    "up_stage_code",
                    code.clone(),
                    MAX_GAS_300T,
                    0,
                )],
            )
            .await
            .unwrap();
        assert!(out.failure().is_none(), "{:?}", out.failure());
        let migrate_args =
            serde_json::to_vec(&json!({"calimero_executor": acc.calimero_executor})).unwrap();
        let out = call_ok(
            tx,
            &acc.connector,
            "up_deploy_code",
            json!({
                "hash": hash,
                "function_call_args": {
                    "function_name": "migrate",
                    "arguments": migrate_args,
                    "amount": "0",
                    "gas": (100 * TGAS).to_string(),
                },
            }),
            0,
        )
        .await;
        println!("[{}] upgraded: gas {}", net.name(at), out.total_gas_burnt());
        let cfg = view(net.rpc(at), &acc.connector, "config", json!({})).await;
        assert_eq!(cfg["calimero_executor"], json!(acc.calimero_executor));
        // Nobody calls migrate directly; a second migration through the role fails (the batch
        // fails, the code and state stay).
        let again = call_raw(
            tx,
            &acc.connector,
            "migrate",
            json!({"calimero_executor": acc.calimero_executor}),
            0,
            MAX_GAS_300T,
        )
        .await;
        assert_fails_with(&again, "ERR_PRIVATE");
        let again = call_raw(
            tx,
            &acc.connector,
            "up_deploy_code",
            json!({"hash": hash, "function_call_args": {"function_name": "migrate", "arguments": migrate_args, "amount": "0", "gas": (100 * TGAS).to_string()}}),
            0,
            MAX_GAS_300T,
        )
        .await;
        assert!(
            failures(&again).iter().any(|f| f.contains("ERR_MIGRATION")),
            "{:?}",
            failures(&again)
        );
        assert_eq!(
            view(net.rpc(at), &acc.connector, "config", json!({})).await,
            cfg
        );
        // Unstage (an empty argument deletes the staged code and frees its storage).
        let out = tx
            .send(
                &acc.connector,
                vec![actions::function_call(
                    "up_stage_code",
                    vec![],
                    MAX_GAS_300T,
                    0,
                )],
            )
            .await
            .unwrap();
        assert!(out.failure().is_none(), "{:?}", out.failure());
        assert_eq!(
            view(
                net.rpc(at),
                &acc.connector,
                "up_staged_code_hash",
                json!({})
            )
            .await,
            Value::Null
        );
    }
    let channel_a = view(net.rpc(A), &acc_a.connector, "channel", json!({})).await;
    assert_eq!(
        (
            channel_a["next_out"].clone(),
            channel_a["next_in"].clone(),
            channel_a["locker"].clone()
        ),
        (
            channel_a_before["next_out"].clone(),
            channel_a_before["next_in"].clone(),
            channel_a_before["locker"].clone()
        )
    );

    // ── Every message completes. ──
    // Calimero 2: its v1 response reaches the v1 dapp through the upgraded connector.
    let id2 = request_id_of(&c2);
    net.deliver(B, &c2_exec, MessageKind::CrossCallResponse)
        .await;
    assert_eq!(
        result_of(&net, id2).await,
        json!({"state": "ok", "value": "Hello, two!"})
    );
    // Calimero 1: delivered by the upgraded connector (through its executor), answered back.
    let id1 = request_id_of(&c1);
    let d = net.deliver(A, &c1, MessageKind::CrossCall).await;
    assert!(failures(&d).is_empty(), "{:?}", failures(&d));
    net.deliver(B, &d, MessageKind::CrossCallResponse).await;
    assert_eq!(
        result_of(&net, id1).await,
        json!({"state": "ok", "value": "Hello, one!"})
    );
    assert_eq!(
        view(net.rpc(B), &acc_b.greeter, "get_count", json!({})).await,
        json!("2")
    );
    // xCall 1: delivered without a deposit now, executed, answered.
    let d = net.deliver(A, &x1, MessageKind::XcallMessage).await;
    let ex = call_ok(
        &net.p.users[B],
        &acc_b.connector,
        "execute_call",
        json!({"req_id": req_of(&d)}),
        0,
    )
    .await;
    net.deliver(B, &ex, MessageKind::XcallResponse).await;
    // xCall 2: the v1 request executes; the relayer's v1 deposit goes back to it exactly.
    let ex2 = call_ok(
        &net.p.users[B],
        &acc_b.connector,
        "execute_call",
        json!({"req_id": x2_req}),
        0,
    )
    .await;
    let user_b = net.p.users[B].signer().account_id().to_string();
    assert_eq!(
        transfers(net.rpc(B), &ex2, &user_b).await,
        vec![(relayer_b.clone(), x2_deposit)]
    );
    net.deliver(B, &ex2, MessageKind::XcallResponse).await;
    // xCall 3 and 4: their v1 responses reach the upgraded source.
    net.deliver(B, &x3_exec, MessageKind::XcallResponse).await;
    net.deliver(B, &x4_exec, MessageKind::XcallResponse).await;
    for (out, want) in [
        (&x1, "executed_ok"),
        (&x2, "executed_ok"),
        (&x3, "executed_ok"),
        (&x4, "execution_failed"),
    ] {
        assert_eq!(
            view(
                net.rpc(A),
                &acc_a.connector,
                "message_state",
                json!({"sn": sn_of(out)})
            )
            .await,
            json!(want)
        );
    }
    call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "execute_rollback",
        json!({"sn": sn_of(&x4)}),
        0,
    )
    .await;
    assert_eq!(
        view(
            net.rpc(A),
            &acc_a.connector,
            "message_state",
            json!({"sn": sn_of(&x4)})
        )
        .await,
        json!("rolled_back")
    );
    // Exactly: A sent 30 + 20 + 10 (and 5, refunded); B received 60.
    assert_eq!(ledger(&net, A, user).await, Some(40));
    assert_eq!(ledger(&net, B, user).await, Some(60));

    // And new traffic works on the upgraded pair (a new message, with the new rules).
    let c3 = greet("three").await;
    let d = net.deliver(A, &c3, MessageKind::CrossCall).await;
    net.deliver(B, &d, MessageKind::CrossCallResponse).await;
    assert_eq!(
        result_of(&net, request_id_of(&c3)).await,
        json!({"state": "ok", "value": "Hello, three!"})
    );
    net.stop().await;
}
