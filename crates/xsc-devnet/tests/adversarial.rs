//! Adversarial suite (issue 8): two local sandbox chains, the real contracts, relaying done by
//! hand so that every attack chooses what is delivered, how and with which gas. Each attack is
//! refused, and the victims' state (ledger balances, results, connector state, deposits) is
//! checked exactly.
//!
//! Ignored by default (a neard sandbox binary is needed, see `xsc_devnet::localnet`). Run:
//!
//! ```sh
//! scripts/build.sh
//! cargo test -p xsc-devnet --test adversarial -- --ignored --test-threads=1 --nocapture
//! ```

mod common;

use common::*;
use serde_json::{json, Value};
use xsc_bridge::deploy::create_and_deploy;
use xsc_bridge::events::MessageKind;
use xsc_bridge::tx::MAX_GAS_300T;
use xsc_devnet::demo::REGISTER_DEPOSIT;
use xsc_devnet::localnet::VALIDATOR;

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const A: usize = 0;
const B: usize = 1;
const XSC: &str = "xsc_connector";
const XCALL: &str = "xcall";

/// `cross_call` by chain `at`'s root account (allowed to send in these tests).
async fn cross_call(
    net: &Net,
    at: usize,
    dest: &str,
    method: &str,
    args: &str,
    tgas: u64,
    callback: &str,
) -> xsc_bridge::rpc::FinalOutcome {
    call_raw(
        &net.p.users[at],
        &net.acc(at).connector,
        "cross_call",
        json!({
            "destination_contract_id": dest,
            "destination_contract_method": method,
            "destination_contract_args": args,
            "destination_gas": (tgas * TGAS).to_string(),
            "destination_deposit": "0",
            "source_callback_method": callback,
        }),
        0,
        MAX_GAS_300T,
    )
    .await
}

/// What an attack must not change on chain `at`: the connector's channels and fees, the ledger
/// balances of `accounts`, the cross-call demo's results 1..=50, the greeter's count.
async fn snapshot(net: &Net, at: usize, accounts: &[&str]) -> Value {
    let acc = net.acc(at);
    let rpc = net.rpc(at);
    let mut results = Vec::new();
    for id in 1..=50u64 {
        results.push(
            view(
                rpc,
                &acc.cross_call,
                "get_result",
                json!({"request_id": id.to_string()}),
            )
            .await,
        );
    }
    let mut ledgers = Vec::new();
    for a in accounts {
        ledgers.push(json!(ledger(net, at, a).await.map(|b| b.to_string())));
    }
    json!({
        "channels": view(rpc, &acc.connector, "channels", json!({})).await,
        "fees": view(rpc, &acc.connector, "get_fees", json!({})).await,
        "config": view(rpc, &acc.connector, "config", json!({})).await,
        "ledgers": ledgers,
        "results": results,
        "greetings": view(rpc, &acc.greeter, "get_count", json!({})).await,
    })
}

fn has_log(out: &xsc_bridge::rpc::FinalOutcome, needle: &str) -> bool {
    out.logs().any(|l| l.contains(needle))
}

fn failed_at(out: &xsc_bridge::rpc::FinalOutcome, executor: &str, code: &str) -> bool {
    failures(out)
        .iter()
        .any(|f| f.starts_with(&format!("{executor}: ")) && f.contains(code))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn adversarial_the_issues_attacks_and_every_inbound_path_into_privileged_entry_points() {
    let _g = ONE_AT_A_TIME.lock().await;
    let net = Net::start("adv").await;
    let user = VALIDATOR;
    let (acc_a, acc_b) = (net.acc(A).clone(), net.acc(B).clone());
    let mallory = new_account(&net, A, "mallory", 10 * NEAR).await;
    let m = mallory.signer().account_id().to_string();
    // Chain A: the user holds 100 on the ledger, mallory 0. Chain B: its root (the attacker's
    // accomplice on the other chain) may send through connector B.
    call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "register",
        json!({}),
        REGISTER_DEPOSIT,
    )
    .await;
    call_ok(
        &mallory,
        &acc_a.xcall_transfer,
        "register",
        json!({}),
        REGISTER_DEPOSIT,
    )
    .await;
    call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "mint",
        json!({"amount": "100"}),
        0,
    )
    .await;
    call_ok(
        &net.p.users[B],
        &acc_b.connector,
        "allow",
        json!({"rule": user}),
        0,
    )
    .await;
    let watched = [user, m.as_str()];
    let before = snapshot(&net, A, &watched).await;
    println!("chain A before the attacks: {before}");

    // ── The issue's attack 1: a cross_call into the ledger's xCall entry point, posing as this
    // connector's rollback, to credit 1,000,000. ──
    let refund = json!({"op": "refund", "to": m, "amount": "1000000"}).to_string();
    for from in [
        format!("btp://{}/{}", net.name(A), acc_a.connector),
        format!("btp://{}/{}", net.name(B), acc_b.xcall_transfer),
    ] {
        let data = if from.contains(&acc_a.connector) {
            refund.clone()
        } else {
            json!({"op": "credit", "from": user, "to": m, "amount": "1000000"}).to_string()
        };
        let args = json!({"from": from, "data": b64(data.as_bytes())}).to_string();
        let sent = cross_call(
            &net,
            B,
            &acc_a.xcall_transfer,
            "handle_call_message",
            &args,
            20,
            "",
        )
        .await;
        assert!(sent.failure().is_none(), "{:?}", sent.failure());
        let d = net.deliver(B, &sent, MessageKind::CrossCall).await;
        println!("attack 1 ({from}): failures {:?}", failures(&d));
        assert!(event(&d, XSC, "delivered").is_some());
        // Made by the executor, refused by the ledger; answered FAILED!.
        assert!(
            failed_at(&d, &acc_a.xcall_transfer, "ERR_NOT_CONNECTOR"),
            "{:?}",
            failures(&d)
        );
        assert!(has_log(&d, ":FAILED!:"));
        assert_eq!(ledger(&net, A, &m).await, Some(0));
        assert_eq!(ledger(&net, A, user).await, Some(100));
    }

    // ── The issue's attack 2: a cross_call into the demo's Calimero callback, forging a
    // result for a request id never sent. ──
    let forged = json!({
        "response": b"\"Hello, mallory!\"".to_vec(),
        "calimero_predecessor_id": acc_b.greeter,
        "request_id": "42",
    })
    .to_string();
    let sent = cross_call(&net, B, &acc_a.cross_call, "on_greeting", &forged, 20, "").await;
    let d = net.deliver(B, &sent, MessageKind::CrossCall).await;
    assert!(
        failed_at(&d, &acc_a.cross_call, "ERR_NOT_CONNECTOR"),
        "{:?}",
        failures(&d)
    );
    assert_eq!(
        view(
            net.rpc(A),
            &acc_a.cross_call,
            "get_result",
            json!({"request_id": "42"})
        )
        .await,
        Value::Null
    );

    // ── Calimero calls into every other privileged entry point. ──
    // Into the connector itself: refused by the sending connector already.
    let sent = cross_call(
        &net,
        B,
        &acc_a.connector,
        "set_locker",
        r#"{"locker":"x.near"}"#,
        20,
        "",
    )
    .await;
    assert_fails_with(&sent, "ERR_TARGET_REFUSED");
    // Into the light client and the executor: refused at delivery, answered FAILED!.
    for (target, method) in [
        (&acc_a.light_client, "reset_head"),
        (&acc_a.calimero_executor, "execute"),
    ] {
        let sent = cross_call(&net, B, target, method, "{}", 20, "").await;
        let d = net.deliver(B, &sent, MessageKind::CrossCall).await;
        let refused = event(&d, XSC, "message_refused")
            .unwrap_or_else(|| panic!("{target}: {:?}", d.logs().collect::<Vec<_>>()));
        assert_eq!(refused["code"], "ERR_TARGET_REFUSED");
        assert!(has_log(&d, ":FAILED!:"));
    }
    // Into the owner-only mint, the private callback of the cross-call demo, and the greeter
    // with a forged initiator: each refused by the dapp (the executor is nobody to them).
    for (target, method, args, code) in [
        (
            &acc_a.xcall_transfer,
            "mint",
            json!({"amount": "1000000", "to": m}),
            "ERR_NOT_OWNER",
        ),
        (
            &acc_a.cross_call,
            "on_cross_call_sent",
            json!({}),
            "is private",
        ),
    ] {
        let sent = cross_call(&net, B, target, method, &args.to_string(), 20, "").await;
        let d = net.deliver(B, &sent, MessageKind::CrossCall).await;
        assert!(failed_at(&d, target, code), "{method}: {:?}", failures(&d));
    }
    // Arguments the connector reserves, and the reserved callback, cannot even be sent.
    for (args, cb, code) in [
        (
            json!({"name": "x", "calimero_initiator_id": m}).to_string(),
            "",
            "ERR_RESERVED_ARGS",
        ),
        (
            r#"{"name":"x","calimero\u005finitiator_id":"victim.near"}"#.to_string(),
            "",
            "ERR_RESERVED_ARGS",
        ),
        (json!(["x", m]).to_string(), "", "ERR_ARGS_ARRAY"),
        (
            "{}".to_string(),
            "handle_call_message",
            "ERR_RESERVED_METHOD",
        ),
    ] {
        let sent = cross_call(&net, B, &acc_a.greeter, "greet", &args, 20, cb).await;
        assert_fails_with(&sent, code);
    }
    // An honest Calimero call: the greeter learns the remote initiator, from the executor.
    let sent = cross_call(
        &net,
        B,
        &acc_a.greeter,
        "greet",
        r#"{"name":"origin"}"#,
        20,
        "",
    )
    .await;
    let d = net.deliver(B, &sent, MessageKind::CrossCall).await;
    assert!(failures(&d).is_empty(), "{:?}", failures(&d));
    let last = view(net.rpc(A), &acc_a.greeter, "last_greeting", json!({})).await;
    assert_eq!(
        last,
        json!({"name": "origin", "caller": acc_a.calimero_executor, "remote_initiator": user})
    );

    // ── xCall messages into privileged accounts and dapps. ──
    let fee: Value = view(
        net.rpc(B),
        &acc_b.connector,
        "get_fee",
        json!({"net": net.name(A), "rollback": false}),
    )
    .await;
    let fee: u128 = fee.as_str().unwrap().parse().unwrap();
    let send = |to: String, data: String| {
        let tx = net.p.users[B].clone();
        let conn = acc_b.connector.clone();
        async move {
            call_raw(
                &tx,
                &conn,
                "send_call_message",
                json!({"to": to, "data": b64(data.as_bytes())}),
                fee,
                MAX_GAS_300T,
            )
            .await
        }
    };
    // The connector itself: refused when sending.
    let sent = send(
        format!("btp://{}/{}", net.name(A), acc_a.connector),
        "x".into(),
    )
    .await;
    assert_fails_with(&sent, "ERR_TARGET_REFUSED");
    // Its light client and executor: refused at delivery.
    for target in [&acc_a.light_client, &acc_a.calimero_executor] {
        let sent = send(format!("btp://{}/{target}", net.name(A)), "x".into()).await;
        let d = net.deliver(B, &sent, MessageKind::XcallMessage).await;
        assert_eq!(
            event(&d, XSC, "message_refused").unwrap()["code"],
            "ERR_TARGET_REFUSED"
        );
    }
    // The ledger, from someone who is not its peer: delivered, and the ledger refuses to run it.
    let credit = json!({"op": "credit", "from": user, "to": m, "amount": "1000000"}).to_string();
    let sent = send(
        format!("btp://{}/{}", net.name(A), acc_a.xcall_transfer),
        credit,
    )
    .await;
    let d = net.deliver(B, &sent, MessageKind::XcallMessage).await;
    let req = event(&d, XCALL, "call_message").unwrap()["req_id"]
        .as_str()
        .unwrap()
        .to_string();
    let exec = call_raw(
        &mallory,
        &acc_a.connector,
        "execute_call",
        json!({"req_id": req}),
        0,
        MAX_GAS_300T,
    )
    .await;
    assert_eq!(event(&exec, XCALL, "call_executed").unwrap()["code"], -1);
    assert!(
        failed_at(&exec, &acc_a.xcall_transfer, "ERR_UNEXPECTED_SENDER"),
        "{:?}",
        failures(&exec)
    );

    // ── Direct calls by mallory to every privileged entry point on chain A. ──
    let forged_outcome = xsc_core::ProvenOutcome {
        id: xsc_core::CryptoHash([1; 32]),
        block_hash: xsc_core::CryptoHash([2; 32]),
        block_height: 1,
        executor_id: acc_b.connector.clone(),
        status: xsc_core::ExecutionStatusView::SuccessValue(vec![]),
        logs: sent.logs().map(str::to_string).collect(),
        receipt_ids: vec![],
        gas_burnt: 0,
        tokens_burnt: 0,
    };
    let raw = |account: String, method: &'static str, args: Vec<u8>, code: &'static str| {
        let tx = mallory.clone();
        async move {
            println!("direct {account}.{method}: expecting {code}");
            let out = tx
                .call_function(&account, method, args, MAX_GAS_300T, 0)
                .await
                .unwrap();
            assert_fails_with(&out, code);
        }
    };
    let jsonb = |v: Value| serde_json::to_vec(&v).unwrap();
    for method in [
        "on_delivery_verified",
        "on_cross_call_finished",
        "on_cross_call_done",
        "on_call_executed",
        "on_rollback_executed",
        "on_fees_claimed",
    ] {
        raw(acc_a.connector.clone(), method, vec![], "is private").await;
    }
    // An init method: near-sdk does not enforce `#[private]` there, the connector does.
    raw(
        acc_a.connector.clone(),
        "migrate",
        jsonb(json!({"calimero_executor": m})),
        "ERR_PRIVATE",
    )
    .await;
    raw(
        acc_a.connector.clone(),
        "on_proven_outcome",
        borsh::to_vec(&(
            m.clone(),
            forged_outcome.clone(),
            borsh::to_vec(&MessageKind::XcallMessage).unwrap(),
        ))
        .unwrap(),
        "ERR_NOT_LIGHT_CLIENT",
    )
    .await;
    raw(
        acc_a.connector.clone(),
        "on_proven_outcomes",
        borsh::to_vec(&(
            m.clone(),
            vec![(
                forged_outcome.clone(),
                borsh::to_vec(&MessageKind::XcallMessage).unwrap(),
            )],
        ))
        .unwrap(),
        "ERR_NOT_LIGHT_CLIENT",
    )
    .await;
    for (method, args) in [
        ("set_locker", json!({"locker": m})),
        ("declare_channel_dead", json!({"channel": 0})),
        ("allow", json!({"rule": m})),
        ("deny", json!({"account": acc_a.xcall_transfer})),
        ("set_window", json!({"window": 1})),
        ("set_message_ttl", json!({"seconds": "60"})),
        ("set_light_client", json!({"light_client": m})),
        ("set_protocol_fee", json!({"value": "1"})),
        (
            "set_relay_fee",
            json!({"net": net.name(B), "fee": "1", "rollback_fee": "1"}),
        ),
        ("set_relay_fee_collector", json!({"collector": m})),
        ("set_cross_call_fee", json!({"fee": "1"})),
        ("set_storage_byte_price", json!({"price": "0"})),
        ("pa_pause_feature", json!({"key": "ALL"})),
    ] {
        raw(
            acc_a.connector.clone(),
            method,
            jsonb(args),
            "Insufficient permissions",
        )
        .await;
    }
    // near-plugins' role administration answers `null` (not allowed) instead of panicking.
    for method in ["acl_grant_role", "acl_add_admin"] {
        let out = call_raw(
            &mallory,
            &acc_a.connector,
            method,
            json!({"role": "Dao", "account_id": m}),
            0,
            MAX_GAS_300T,
        )
        .await;
        assert_eq!(
            out.success_json::<Value>().unwrap().unwrap(),
            Value::Null,
            "{method}"
        );
    }
    assert_eq!(
        view(
            net.rpc(A),
            &acc_a.connector,
            "acl_has_role",
            json!({"role": "Dao", "account_id": m})
        )
        .await,
        json!(false)
    );
    raw(
        acc_a.connector.clone(),
        "up_stage_code",
        vec![0, 97, 115, 109],
        "Insufficient permissions",
    )
    .await;
    raw(
        acc_a.calimero_executor.clone(),
        "execute",
        borsh::to_vec(&(
            acc_a.xcall_transfer.clone(),
            "mint".to_string(),
            b"{}".to_vec(),
            10 * TGAS,
        ))
        .unwrap(),
        "ERR_NOT_CONNECTOR",
    )
    .await;
    raw(acc_a.xcall_transfer.clone(), "handle_call_message", jsonb(json!({"from": format!("btp://{}/{}", net.name(A), acc_a.connector), "data": b64(refund.as_bytes())})), "ERR_NOT_CONNECTOR").await;
    raw(
        acc_a.xcall_transfer.clone(),
        "mint",
        jsonb(json!({"amount": "1000000"})),
        "ERR_NOT_OWNER",
    )
    .await;
    raw(
        acc_a.xcall_transfer.clone(),
        "on_sent",
        jsonb(json!({"from": m, "amount": "1", "fee": "0"})),
        "is private",
    )
    .await;
    raw(
        acc_a.cross_call.clone(),
        "on_greeting",
        forged.clone().into_bytes(),
        "ERR_NOT_CONNECTOR",
    )
    .await;
    raw(
        acc_a.cross_call.clone(),
        "on_cross_call_sent",
        vec![],
        "is private",
    )
    .await;
    raw(
        acc_a.greeter.clone(),
        "greet",
        jsonb(json!({"name": "x", "calimero_initiator_id": user})),
        "ERR_UNPROVEN_ORIGIN",
    )
    .await;

    // The light client's fast path into anything but a connector: nothing happens there.
    let sent = send(
        format!("btp://{}/{}", net.name(A), acc_a.greeter),
        "x".into(),
    )
    .await;
    let d = net
        .deliver_to(
            B,
            &acc_b.connector,
            &sent,
            MessageKind::XcallMessage,
            &acc_a.xcall_transfer,
            true,
            MAX_GAS_300T,
            0,
        )
        .await;
    println!(
        "fast path into the ledger: {:?} {:?}",
        d.failure(),
        failures(&d)
    );
    assert!(!failures(&d).is_empty() || d.failure().is_some());

    // ── Batches (`verify_and_forward_batch` → `on_proven_outcomes`): two honest greetings
    // from B. One tampered proof, a deposit, or an oversized batch: nothing of it is delivered.
    // The honest batch delivers each once; sent again, each is refused as a replay. ──
    let greetings = view(net.rpc(A), &acc_a.greeter, "get_count", json!({})).await;
    let mut batch = Vec::new();
    for name in ["batch-1", "batch-2"] {
        let args = json!({"name": name}).to_string();
        let sent = cross_call(&net, B, &acc_a.greeter, "greet", &args, 10, "").await;
        assert!(sent.failure().is_none(), "{:?}", sent.failure());
        let (proof, head) = net
            .proof_of(
                B,
                &acc_b.connector,
                &sent,
                MessageKind::CrossCall,
                &acc_a.connector,
            )
            .await;
        batch.push((proof, head, borsh::to_vec(&MessageKind::CrossCall).unwrap()));
    }
    let send_batch = |items: Vec<(xsc_core::LightClientExecutionProof, u64, Vec<u8>)>,
                      deposit: u128| {
        let (lc, connector) = (acc_a.light_client.clone(), acc_a.connector.clone());
        let relayer = net.relayer[A].clone();
        async move {
            relayer
                .call_function(
                    &lc,
                    "verify_and_forward_batch",
                    borsh::to_vec(&(connector, items)).unwrap(),
                    MAX_GAS_300T,
                    deposit,
                )
                .await
                .unwrap()
        }
    };
    let mut tampered = batch.clone();
    tampered[1].0.outcome_proof.outcome.logs[0].push(' ');
    let out = send_batch(tampered, 0).await;
    assert_fails_with(&out, "ERR_OUTCOME_ROOT_MISMATCH");
    assert!(event(&out, XSC, "delivered").is_none());
    let out = send_batch(batch.clone(), 1).await;
    assert_fails_with(&out, "deposit");
    let oversized = batch.iter().cycle().take(33).cloned().collect();
    let out = send_batch(oversized, 0).await;
    assert_fails_with(&out, "ERR_BATCH_SIZE");
    assert_eq!(
        view(net.rpc(A), &acc_a.greeter, "get_count", json!({})).await,
        greetings,
        "nothing of a refused batch is delivered"
    );
    let out = send_batch(batch.clone(), 0).await;
    assert!(out.failure().is_none(), "{:?}", out.failure());
    let delivered = events(&out, XSC)
        .into_iter()
        .filter(|(e, _)| e == "delivered")
        .count();
    assert_eq!(delivered, 2, "{:?}", out.logs().collect::<Vec<_>>());
    assert!(failures(&out).is_empty(), "{:?}", failures(&out));
    let out = send_batch(batch, 0).await;
    assert!(event(&out, XSC, "delivered").is_none());
    let codes: Vec<_> = events(&out, XSC)
        .into_iter()
        .filter(|(e, _)| e == "delivery_rejected")
        .map(|(_, d)| d["code"].clone())
        .collect();
    assert_eq!(
        codes,
        vec![
            json!("ERR_ALREADY_DELIVERED"),
            json!("ERR_ALREADY_DELIVERED")
        ]
    );

    // Chain A is exactly as before, but for the one honest greeting and the two of the batch.
    let mut after = snapshot(&net, A, &watched).await;
    assert_eq!(after["greetings"], json!("3"));
    after["greetings"] = before["greetings"].clone();
    // The channel moved on (each message consumed once); nothing else changed.
    after["channels"] = before["channels"].clone();
    assert_eq!(after, before);
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn adversarial_starved_handlers_huge_results_and_gas_burners_strand_nothing() {
    let _g = ONE_AT_A_TIME.lock().await;
    let net = Net::start("gas").await;
    let user = VALIDATOR;
    let (acc_a, acc_b) = (net.acc(A).clone(), net.acc(B).clone());
    let hostile = format!("hostile.{user}");
    for at in [A, B] {
        create_and_deploy(
            &net.p.users[at],
            &hostile,
            5 * NEAR,
            read(&res_dir(), "xsc_demo_hostile.wasm"),
            None,
        )
        .await
        .unwrap();
        call_ok(
            &net.p.users[at],
            &net.acc(at).connector,
            "allow",
            json!({"rule": user}),
            0,
        )
        .await;
    }
    call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "register",
        json!({}),
        REGISTER_DEPOSIT,
    )
    .await;
    call_ok(
        &net.p.users[B],
        &acc_b.xcall_transfer,
        "register",
        json!({}),
        REGISTER_DEPOSIT,
    )
    .await;
    call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "mint",
        json!({"amount": "100"}),
        0,
    )
    .await;
    let griefer = new_account(&net, B, "griefer", 10 * NEAR).await;

    // ── A two-way transfer whose handler an executor tries to starve. ──
    let sent = call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "transfer",
        json!({"to": user, "amount": "30"}),
        NEAR,
    )
    .await;
    let sn = event(&sent, XCALL, "call_message_sent").unwrap()["sn"]
        .as_str()
        .unwrap()
        .to_string();
    // A relayer's deposit comes back exactly, whatever it attaches.
    let d = net
        .deliver_to(
            A,
            &acc_a.connector,
            &sent,
            MessageKind::XcallMessage,
            &acc_b.connector,
            true,
            MAX_GAS_300T,
            7 * NEAR / 10,
        )
        .await;
    let relayer_b = net.relayer[B].signer().account_id().to_string();
    assert_eq!(
        transfers(net.rpc(B), &d, &relayer_b).await,
        vec![(relayer_b.clone(), 7 * NEAR / 10)]
    );
    let req = event(&d, XCALL, "call_message").unwrap()["req_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = view(
        net.rpc(B),
        &acc_b.connector,
        "get_request",
        json!({"req_id": req}),
    )
    .await;
    let need: u64 = r["execute_gas"].as_str().unwrap().parse().unwrap();
    println!(
        "request {req}: handler_gas {}, execute_gas {need}",
        r["handler_gas"]
    );
    assert_eq!(r["payer"], Value::Null, "staked by the connector");
    for gas in [25 * TGAS, need - 1] {
        let out = call_raw(
            &griefer,
            &acc_b.connector,
            "execute_call",
            json!({"req_id": req}),
            0,
            gas,
        )
        .await;
        assert_fails_with(&out, "ERR_NOT_ENOUGH_GAS");
    }
    assert_eq!(
        view(
            net.rpc(B),
            &acc_b.connector,
            "request_state",
            json!({"req_id": req})
        )
        .await,
        json!("delivered")
    );
    let exec = call_raw(
        &griefer,
        &acc_b.connector,
        "execute_call",
        json!({"req_id": req}),
        0,
        need,
    )
    .await;
    assert!(
        exec.failure().is_none() && failures(&exec).is_empty(),
        "{:?} {:?}",
        exec.failure(),
        failures(&exec)
    );
    assert_eq!(event(&exec, XCALL, "call_executed").unwrap()["code"], 0);
    assert_eq!(ledger(&net, B, user).await, Some(30));
    net.deliver(B, &exec, MessageKind::XcallResponse).await;
    assert_eq!(
        view(
            net.rpc(A),
            &acc_a.connector,
            "message_state",
            json!({"sn": sn})
        )
        .await,
        json!("executed_ok")
    );
    assert_eq!(ledger(&net, A, user).await, Some(70));

    // ── Calimero calls to a destination returning huge results or burning all its gas. ──
    // Returning a result to a callback costs its producer ≈ 72 Tgas per MiB (protocol 86): with
    // 200 Tgas a destination returns 2 MiB (which the connector reads and reports as too long)
    // but cannot afford NEAR's 4 MiB (it fails itself). Either way: FAILED!, nothing stranded.
    for (method, args, too_long) in [
        (
            "big",
            json!({"len": (2u64 << 20).to_string()}).to_string(),
            Some("2097152"),
        ),
        (
            "big",
            json!({"len": (4u64 << 20).to_string()}).to_string(),
            None,
        ),
        ("burn", "{}".to_string(), None),
    ] {
        let sent = cross_call(&net, A, &hostile, method, &args, 200, "").await;
        assert!(sent.failure().is_none(), "{:?}", sent.failure());
        let d = net.deliver(A, &sent, MessageKind::CrossCall).await;
        let connector_failures: Vec<_> = failures(&d)
            .into_iter()
            .filter(|f| f.starts_with(&acc_b.connector) || f.starts_with(&acc_b.calimero_executor))
            .collect();
        println!(
            "cross_call {method} {args}: failures {:?}, gas {}",
            failures(&d),
            d.total_gas_burnt()
        );
        assert_eq!(connector_failures, Vec::<String>::new(), "{method}");
        assert!(
            has_log(&d, ":FAILED!:"),
            "{method}: {:?}",
            d.logs().collect::<Vec<_>>()
        );
        assert_eq!(
            event(&d, XSC, "result_too_long").map(|e| e["len"].clone()),
            too_long.map(|l| json!(l))
        );
        let back = net.deliver(B, &d, MessageKind::CrossCallResponse).await;
        assert!(
            event(&back, XSC, "delivered").is_some(),
            "{:?}",
            back.logs().collect::<Vec<_>>()
        );
    }

    // ── xCall handlers returning 2 MiB or burning all their gas. ──
    let fee: Value = view(
        net.rpc(A),
        &acc_a.connector,
        "get_fee",
        json!({"net": net.name(B), "rollback": false}),
    )
    .await;
    let fee: u128 = fee.as_str().unwrap().parse().unwrap();
    for (data, code, state) in [("big", 0, "executed_ok"), ("burn", -1, "execution_failed")] {
        let sent = call_ok(
            &net.p.users[A],
            &acc_a.connector,
            "send_call_message",
            json!({"to": format!("btp://{}/{hostile}", net.name(B)), "data": b64(data.as_bytes()), "handler_gas": (100 * TGAS).to_string()}),
            fee,
        )
        .await;
        let d = net.deliver(A, &sent, MessageKind::XcallMessage).await;
        let req = event(&d, XCALL, "call_message").unwrap()["req_id"]
            .as_str()
            .unwrap()
            .to_string();
        let exec = call_raw(
            &net.p.users[B],
            &acc_b.connector,
            "execute_call",
            json!({"req_id": req}),
            0,
            MAX_GAS_300T,
        )
        .await;
        println!(
            "xcall {data}: failures {:?}, gas {}",
            failures(&exec),
            exec.total_gas_burnt()
        );
        assert!(
            !failures(&exec)
                .iter()
                .any(|f| f.starts_with(&acc_b.connector)),
            "{:?}",
            failures(&exec)
        );
        assert_eq!(event(&exec, XCALL, "call_executed").unwrap()["code"], code);
        assert_eq!(
            view(
                net.rpc(B),
                &acc_b.connector,
                "request_state",
                json!({"req_id": req})
            )
            .await,
            json!(state)
        );
    }
    net.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn adversarial_locker_changed_mid_flight_never_rolls_back_a_success() {
    let _g = ONE_AT_A_TIME.lock().await;
    let net = Net::start("lock").await;
    let user = VALIDATOR;
    let (acc_a, acc_b) = (net.acc(A).clone(), net.acc(B).clone());
    let hostile = format!("hostile.{user}");
    let (a2, exec2, ledger2) = (
        format!("connector2.{user}"),
        format!("calimero-executor2.{user}"),
        format!("ledger2.{user}"),
    );
    // Chain A: a second connector A2 (locker B, its own executor, the same light client) and a
    // second ledger on it, whose peer is a test dapp on B that accepts its messages. Ledger 1's
    // peer is B's ledger, which fails credits to unregistered accounts.
    create_and_deploy(
        &net.p.users[B],
        &hostile,
        5 * NEAR,
        read(&res_dir(), "xsc_demo_hostile.wasm"),
        None,
    )
    .await
    .unwrap();
    create_and_deploy(
        &net.p.users[A],
        &a2,
        10 * NEAR,
        read(&res_dir(), "xsc_connector.wasm"),
        Some((
            "new",
            json!({
                "light_client": acc_a.light_client,
                "calimero_executor": exec2,
                "local_net": net.name(A),
                "remote_net": net.name(B),
                "locker": acc_b.connector,
                "admin": null,
            }),
        )),
    )
    .await
    .unwrap();
    xsc_bridge::deploy::create_and_deploy_with(
        &net.p.users[A],
        &exec2,
        NEAR,
        read(&res_dir(), "xsc_calimero_executor.wasm"),
        Some(("new", borsh::to_vec(&a2).unwrap())),
    )
    .await
    .unwrap();
    create_and_deploy(
        &net.p.users[A],
        &ledger2,
        5 * NEAR,
        read(&res_dir(), "xsc_demo_xcall_transfer.wasm"),
        Some((
            "new",
            json!({"connector": a2, "local_net": net.name(A), "peer": format!("btp://{}/{hostile}", net.name(B))}),
        )),
    )
    .await
    .unwrap();
    call_ok(&net.p.users[A], &a2, "allow", json!({"rule": ledger2}), 0).await;
    call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "allow",
        json!({"rule": user}),
        0,
    )
    .await;
    for l in [&acc_a.xcall_transfer, &ledger2] {
        call_ok(&net.p.users[A], l, "register", json!({}), REGISTER_DEPOSIT).await;
        call_ok(&net.p.users[A], l, "mint", json!({"amount": "100"}), 0).await;
    }
    call_ok(
        &net.p.users[B],
        &acc_b.xcall_transfer,
        "register",
        json!({}),
        REGISTER_DEPOSIT,
    )
    .await;

    // Old channel: ledger 1 sends sn 1, to an unregistered recipient (it will fail on B).
    let old = call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "transfer",
        json!({"to": format!("nobody.{user}"), "amount": "10"}),
        NEAR,
    )
    .await;
    let old_sn = event(&old, XCALL, "call_message_sent").unwrap()["sn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = net.deliver(A, &old, MessageKind::XcallMessage).await;
    let old_req = event(&d, XCALL, "call_message").unwrap()["req_id"]
        .as_str()
        .unwrap()
        .to_string();

    // B's owner replaces its locker with A2: channel 0 retired, channel 1 active.
    call_ok(
        &net.p.users[B],
        &acc_b.connector,
        "set_locker",
        json!({"locker": a2}),
        0,
    )
    .await;
    let chans = view(net.rpc(B), &acc_b.connector, "channels", json!({})).await;
    println!("B's channels: {chans}");
    assert_eq!(
        (chans[0]["status"].clone(), chans[1]["status"].clone()),
        (json!("active"), json!("retired"))
    );

    // New channel: ledger 2 sends its own sn (the same number), which will succeed on B.
    let new = call_ok(
        &net.p.users[A],
        &ledger2,
        "transfer",
        json!({"to": "ok.near", "amount": "20"}),
        NEAR,
    )
    .await;
    let new_sn = event(&new, XCALL, "call_message_sent").unwrap()["sn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(old_sn, new_sn, "the same sn on both connectors");
    let d = net
        .deliver_to(
            A,
            &a2,
            &new,
            MessageKind::XcallMessage,
            &acc_b.connector,
            true,
            MAX_GAS_300T,
            0,
        )
        .await;
    let new_req = event(&d, XCALL, "call_message").unwrap()["req_id"]
        .as_str()
        .unwrap()
        .to_string();

    // The issue's attack: the old request fails after the change. Its answer goes to A on
    // channel 0, never to A2.
    let fail = call_raw(
        &net.p.users[B],
        &acc_b.connector,
        "execute_call",
        json!({"req_id": old_req}),
        0,
        MAX_GAS_300T,
    )
    .await;
    assert!(fail.failure().is_none(), "{:?}", fail.failure());
    assert!(
        failed_at(&fail, &acc_b.xcall_transfer, "ERR_NOT_REGISTERED"),
        "{:?}",
        failures(&fail)
    );
    assert_eq!(event(&fail, XCALL, "call_executed").unwrap()["code"], -1);
    let resp = event(&fail, XSC, "xcall_response").unwrap();
    assert_eq!(
        (resp["dst"].clone(), resp["nsn"].clone()),
        (json!(acc_a.connector), json!("0"))
    );
    // Proven to A2 anyway: not for it; its message still awaits its own answer.
    let wrong = net
        .deliver_to(
            B,
            &acc_b.connector,
            &fail,
            MessageKind::XcallResponse,
            &a2,
            true,
            MAX_GAS_300T,
            0,
        )
        .await;
    assert_eq!(
        event(&wrong, XSC, "delivery_rejected").unwrap()["code"],
        "ERR_NO_MESSAGE"
    );
    assert_eq!(
        view(net.rpc(A), &a2, "message_state", json!({"sn": new_sn})).await,
        json!("awaiting_response")
    );
    // The new message succeeds on B; A2 learns it on channel 1: executed, never rolled back.
    let ok = call_ok(
        &net.p.users[B],
        &acc_b.connector,
        "execute_call",
        json!({"req_id": new_req}),
        0,
    )
    .await;
    assert_eq!(event(&ok, XCALL, "call_executed").unwrap()["code"], 0);
    assert_eq!(event(&ok, XSC, "xcall_response").unwrap()["dst"], json!(a2));
    net.deliver_to(
        B,
        &acc_b.connector,
        &ok,
        MessageKind::XcallResponse,
        &a2,
        true,
        MAX_GAS_300T,
        0,
    )
    .await;
    assert_eq!(
        view(net.rpc(A), &a2, "message_state", json!({"sn": new_sn})).await,
        json!("executed_ok")
    );
    assert_eq!(ledger_of(&net, &ledger2, user).await, Some(80));
    // A gets its failure on channel 0 and rolls back: exactly the 10 come back.
    net.deliver(B, &fail, MessageKind::XcallResponse).await;
    assert_eq!(
        view(
            net.rpc(A),
            &acc_a.connector,
            "message_state",
            json!({"sn": old_sn})
        )
        .await,
        json!("execution_failed")
    );
    call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "execute_rollback",
        json!({"sn": old_sn}),
        0,
    )
    .await;
    assert_eq!(ledger(&net, A, user).await, Some(100));

    // The retired channel refuses a new message from its locker, answering it as failed on it.
    let late = call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "transfer",
        json!({"to": user, "amount": "5"}),
        NEAR,
    )
    .await;
    let late_sn = event(&late, XCALL, "call_message_sent").unwrap()["sn"]
        .as_str()
        .unwrap()
        .to_string();
    let d = net.deliver(A, &late, MessageKind::XcallMessage).await;
    assert_eq!(
        event(&d, XSC, "message_refused").unwrap()["code"],
        "ERR_CHANNEL_RETIRED"
    );
    net.deliver(B, &d, MessageKind::XcallResponse).await;
    call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "execute_rollback",
        json!({"sn": late_sn}),
        0,
    )
    .await;
    assert_eq!(ledger(&net, A, user).await, Some(100));
    assert_eq!(ledger(&net, B, user).await, Some(0), "never credited on B");

    // A message whose answer can never come: A's owner moves to another locker and declares the
    // old channel dead; the message rolls back and its storage deposit comes back exactly.
    let stuck = call_ok(
        &net.p.users[A],
        &acc_a.xcall_transfer,
        "transfer",
        json!({"to": user, "amount": "7"}),
        NEAR,
    )
    .await;
    let stuck_sn = event(&stuck, XCALL, "call_message_sent").unwrap()["sn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(ledger(&net, A, user).await, Some(93));
    let pending = view(
        net.rpc(A),
        &acc_a.connector,
        "get_pending_message",
        json!({"sn": stuck_sn}),
    )
    .await;
    assert_eq!(pending["refund_to"], json!(user));
    let deposit: u128 = pending["deposit"].as_str().unwrap().parse().unwrap();
    call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "set_locker",
        json!({"locker": format!("gone.{user}")}),
        0,
    )
    .await;
    let rb = call_raw(
        &net.p.users[A],
        &acc_a.connector,
        "execute_rollback",
        json!({"sn": stuck_sn}),
        0,
        MAX_GAS_300T,
    )
    .await;
    assert_fails_with(&rb, "ERR_ROLLBACK_NOT_ENABLED");
    let dead = call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "declare_channel_dead",
        json!({"channel": 0}),
        0,
    )
    .await;
    assert_eq!(event(&dead, XSC, "channel_dead").unwrap()["channel"], 0);
    let rb = call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "execute_rollback",
        json!({"sn": stuck_sn}),
        0,
    )
    .await;
    assert_eq!(
        transfers(net.rpc(A), &rb, user).await,
        vec![(user.to_string(), deposit)]
    );
    assert_eq!(ledger(&net, A, user).await, Some(100));
    assert_eq!(
        view(
            net.rpc(A),
            &acc_a.connector,
            "message_state",
            json!({"sn": stuck_sn})
        )
        .await,
        json!("rolled_back")
    );

    // The surplus of a fee goes exactly where the sender says.
    let sink = new_account(&net, A, "sink", NEAR).await;
    let sink_id = sink.signer().account_id().to_string();
    let fee: Value = view(
        net.rpc(A),
        &acc_a.connector,
        "get_fee",
        json!({"net": net.name(B), "rollback": false, "data_len": 1}),
    )
    .await;
    let fee: u128 = fee.as_str().unwrap().parse().unwrap();
    let sink_before = balance(net.rpc(A), &sink_id).await;
    call_ok(
        &net.p.users[A],
        &acc_a.connector,
        "send_call_message",
        json!({"to": format!("btp://{}/{hostile}", net.name(B)), "data": b64(b"x"), "refund_to": sink_id}),
        fee + 12_345,
    )
    .await;
    assert_eq!(balance(net.rpc(A), &sink_id).await, sink_before + 12_345);
    net.stop().await;
}

async fn ledger_of(net: &Net, ledger: &str, account: &str) -> Option<u128> {
    let v = view(
        net.rpc(A),
        ledger,
        "balance_of",
        json!({"account_id": account}),
    )
    .await;
    v.as_str().map(|s| s.parse().unwrap())
}
