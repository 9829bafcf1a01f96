//! End to end: two local sandbox chains (distinct chain ids), everything deployed with the
//! deployment code of `xsc deploy`, and the real bridge service (both directions in-process).
//!
//! Ignored by default (they need a neard sandbox binary, see `xsc_devnet::localnet`). Run:
//!
//! ```sh
//! scripts/build.sh
//! cargo test -p xsc-devnet --test e2e_bridge -- --ignored --test-threads=1 --nocapture
//! ```

use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;
use xsc_bridge::delivery::{classify, Decision};
use xsc_bridge::events::MessageKind;
use xsc_bridge::indexer::{event_target, Indexer, IndexerConfig};
use xsc_bridge::queue::{EventState, ListFilter, MessageStore, SqliteStore};
use xsc_bridge::service::ServiceOptions;
use xsc_bridge::tx::{actions, MAX_GAS_300T};
use xsc_devnet::demo::{self, LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN};

const T: Duration = Duration::from_secs(240);
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn res_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res")
}

async fn pair(tag: &str) -> (LocalPair, tempfile::TempDir) {
    let bin = find_neard().unwrap_or_else(|| panic!("{MISSING_BIN}"));
    let dir = tempfile::tempdir().unwrap();
    let opts = PairOptions {
        res_dir: res_dir(),
        chain_ids: [format!("{tag}-a"), format!("{tag}-b")],
        ..PairOptions::default()
    };
    let p = LocalPair::start(&bin, dir.path(), &opts, &|l| println!("{l}"))
        .await
        .unwrap();
    (p, dir)
}

/// A delivery is marked `delivered` in the queue after the chain has executed it, so the effects
/// (a greeter count, a balance) can be visible a moment before the bookkeeping: wait (bounded)
/// until nothing is pending or in flight before asserting on the queue's counts.
async fn settled_counts(store: &dyn MessageStore) -> xsc_bridge::queue::StateCounts {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let c = store.counts(None).await.unwrap();
        if (c.pending == 0 && c.delivering == 0) || std::time::Instant::now() > deadline {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn greeter_count(p: &LocalPair, at: usize) -> u64 {
    let v: Value = demo::view(
        &p.rpcs[at],
        &p.deployed[at].accounts.greeter,
        "get_count",
        json!({}),
    )
    .await
    .unwrap();
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn e2e_cross_call_round_trip_both_ways() {
    let _g = ONE_AT_A_TIME.lock().await;
    let (p, _dir) = pair("cc").await;
    let svc = p.start_service(ServiceOptions::default()).await.unwrap();
    for from in [0, 1] {
        let rt = demo::cross_call_round_trip(&p, from, "round", T)
            .await
            .unwrap();
        println!(
            "round trip from {}: request {} sent #{} callback #{} ({} blocks): {}",
            p.name(from),
            rt.request_id,
            rt.sent_height,
            rt.callback_height,
            rt.callback_height - rt.sent_height,
            rt.result
        );
        assert_eq!(
            rt.result,
            json!({"state": "ok", "value": "Hello, round!"}),
            "{:?}",
            rt
        );
    }
    assert_eq!(greeter_count(&p, 0).await, 1);
    assert_eq!(greeter_count(&p, 1).await, 1);
    let c = settled_counts(svc.store.as_ref()).await;
    assert_eq!((c.delivered, c.failed), (4, 0), "{c:?}");
    svc.shutdown(Duration::from_secs(30)).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn e2e_xcall_one_way_two_way_success_and_rollback() {
    let _g = ONE_AT_A_TIME.lock().await;
    let (p, _dir) = pair("xc").await;
    let svc = p.start_service(ServiceOptions::default()).await.unwrap();
    let user = "test.near";
    let conn_a = p.deployed[0].accounts.connector.clone();
    let ledger_a = p.deployed[0].accounts.xcall_transfer.clone();
    let ledger_b = p.deployed[1].accounts.xcall_transfer.clone();

    // One-way, sent by a user account straight to the connector.
    demo::call(&p.users[0], &conn_a, "allow", json!({ "rule": user }), 0)
        .await
        .unwrap();
    let fee: Value = demo::view(
        &p.rpcs[0],
        &conn_a,
        "get_fee",
        json!({"net": p.name(1), "rollback": false}),
    )
    .await
    .unwrap();
    let fee: u128 = fee.as_str().unwrap().parse().unwrap();
    let out = demo::call(
        &p.users[0],
        &conn_a,
        "send_call_message",
        json!({
            "to": format!("btp://{}/{}", p.name(1), p.deployed[1].accounts.greeter),
            "data": "aGVsbG8=",
            "rollback": null,
        }),
        fee,
    )
    .await
    .unwrap();
    let sn: Value = out.success_json().unwrap().unwrap();
    let sn: u64 = sn.as_str().unwrap().parse().unwrap();
    let req = demo::find_request(&p, 1, sn, T).await.unwrap();
    assert_eq!(req["two_way"], json!(false));
    println!("one-way sn {sn} delivered as {req}");

    // Two-way success: the recipient is registered on B.
    demo::call(
        &p.users[1],
        &ledger_b,
        "register",
        json!({}),
        demo::REGISTER_DEPOSIT,
    )
    .await
    .unwrap();
    demo::call(
        &p.users[0],
        &ledger_a,
        "register",
        json!({}),
        demo::REGISTER_DEPOSIT,
    )
    .await
    .unwrap();
    demo::call(&p.users[0], &ledger_a, "mint", json!({"amount": "100"}), 0)
        .await
        .unwrap();
    let (sn, _) = demo::ledger_transfer(&p, 0, user, 30).await.unwrap();
    let req = demo::find_request(&p, 1, sn, T).await.unwrap();
    let req_id = req["req_id"].as_str().unwrap().to_string();
    demo::call(
        &p.users[1],
        &p.deployed[1].accounts.connector,
        "execute_call",
        json!({ "req_id": req_id }),
        0,
    )
    .await
    .unwrap();
    assert_eq!(demo::ledger_balance(&p, 1, user).await.unwrap(), Some(30));
    let st = demo::wait_message_state(&p, 0, sn, &["executed_ok"], T)
        .await
        .unwrap();
    println!("two-way success: sn {sn} {st}");
    assert_eq!(demo::ledger_balance(&p, 0, user).await.unwrap(), Some(70));

    // Two-way failure → rollback: the whole demo flow.
    demo::run_demo(&p, &|l| println!("{l}")).await.unwrap();
    let c = settled_counts(svc.store.as_ref()).await;
    assert_eq!(c.failed, 0, "{c:?}");
    svc.shutdown(Duration::from_secs(30)).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn e2e_many_messages_with_a_kill_and_restart() {
    let _g = ONE_AT_A_TIME.lock().await;
    let (p, _dir) = pair("many").await;
    let n = 60u64;
    let svc = p.start_service(ServiceOptions::default()).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(demo::send_greeting(&p, 0, &format!("m{i}")).await.unwrap());
    }
    // Kill the service mid-flight (tasks dropped at any await point), restart from the same
    // SQLite file.
    let delivered_before = svc.store.counts(None).await.unwrap().delivered;
    svc.abort();
    println!("service aborted with {delivered_before} delivered");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let svc = p.start_service(ServiceOptions::default()).await.unwrap();
    for (id, _) in &ids {
        let (r, _) = demo::wait_greeting(&p, 0, *id, T).await.unwrap();
        assert_eq!(r["state"], json!("ok"), "{r}");
    }
    assert_eq!(
        greeter_count(&p, 1).await,
        n,
        "each message executed exactly once"
    );
    let c = settled_counts(svc.store.as_ref()).await;
    assert_eq!(c.failed, 0, "{c:?}");
    assert_eq!(c.delivered, 2 * n, "{c:?}");
    svc.shutdown(Duration::from_secs(30)).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn e2e_fresh_messages_share_delivery_transactions_each_executed_once() {
    let _g = ONE_AT_A_TIME.lock().await;
    let (p, _dir) = pair("batch").await;
    let n = 24u64;
    let per_tx = 4;
    let svc = p
        .start_service(ServiceOptions {
            messages_per_transaction: Some(per_tx),
            ..ServiceOptions::default()
        })
        .await
        .unwrap();
    // A burst (batches form when several messages wait at once; one at a time, each goes alone).
    let sent = xsc_devnet::multi::Greetings::new(&p, 0)
        .unwrap()
        .send("b", n as usize)
        .await
        .unwrap();
    // Each callback carries its own greeting: no result went to another request.
    let mut greetings = std::collections::BTreeSet::new();
    for x in &sent {
        let (r, _) = demo::wait_greeting(&p, 0, x.request_id, T).await.unwrap();
        assert_eq!(r["state"], json!("ok"), "{r}");
        greetings.insert(r["value"].as_str().unwrap().to_string());
    }
    let expected: std::collections::BTreeSet<String> =
        (0..n).map(|i| format!("Hello, b{i}!")).collect();
    assert_eq!(greetings, expected);
    assert_eq!(
        greeter_count(&p, 1).await,
        n,
        "each message executed exactly once"
    );
    let c = settled_counts(svc.store.as_ref()).await;
    assert_eq!((c.delivered, c.failed), (2 * n, 0), "{c:?}");
    // Deliveries shared transactions: every message of a batch names the batch's transaction
    // and its place, no batch is larger than asked, and fewer transactions than messages ran.
    let delivered = svc
        .store
        .list(&ListFilter::state(EventState::Delivered, 1000))
        .await
        .unwrap();
    let mut batches: std::collections::HashMap<String, Vec<u64>> = Default::default();
    let mut alone = 0;
    for e in &delivered {
        let d = e.delivery.as_ref().expect("delivery info");
        match d.get("batch").filter(|b| !b.is_null()) {
            Some(b) => {
                let size = b["size"].as_u64().unwrap();
                assert!((2..=per_tx as u64).contains(&size), "{d}");
                batches
                    .entry(d["tx"].as_str().unwrap().to_string())
                    .or_default()
                    .push(b["index"].as_u64().unwrap());
            }
            None => alone += 1,
        }
    }
    for (tx, mut places) in batches.clone() {
        places.sort();
        assert_eq!(
            places,
            (0..places.len() as u64).collect::<Vec<_>>(),
            "batch {tx}"
        );
    }
    let in_batches: usize = batches.values().map(Vec::len).sum();
    println!(
        "{} messages: {in_batches} in {} batch transactions, {alone} alone",
        delivered.len(),
        batches.len()
    );
    assert!(in_batches >= n as usize / 2, "most went in batches");
    assert!(batches.len() < in_batches);
    svc.shutdown(Duration::from_secs(30)).await;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn e2e_tampered_and_replayed_proofs_are_rejected_on_chain() {
    let _g = ONE_AT_A_TIME.lock().await;
    let (p, _dir) = pair("tp").await;
    // Re-running the deployment changes nothing (every contract already holds its code).
    let heads: Vec<u64> = p.deployed.iter().map(|d| d.lc_head_height).collect();
    let again = p.redeploy(&res_dir()).await.unwrap();
    for (i, d) in again.iter().enumerate() {
        assert_eq!(d.accounts, p.deployed[i].accounts);
        assert_eq!(
            d.lc_head_height, heads[i],
            "light client {i} re-initialised"
        );
    }
    // No service: index and prove by hand with the service's pieces.
    let (id, _) = demo::send_greeting(&p, 0, "tamper").await.unwrap();
    let store = std::sync::Arc::new(SqliteStore::open_in_memory().unwrap());
    let mut icfg = IndexerConfig::new(
        p.name(0),
        p.name(1),
        &p.deployed[0].accounts.connector,
        &p.deployed[1].accounts.connector,
    );
    icfg.start_height = Some(p.deployed[0].final_height);
    let indexer = Indexer::new(p.rpcs[0].clone(), store.clone(), icfg);
    let ev = demo::wait_for("the indexed cross_call", T, || async {
        indexer.index_once().await.map_err(|e| e.to_string())?;
        Ok(store
            .list(&ListFilter::state(EventState::Pending, 10))
            .await
            .unwrap()
            .pop())
    })
    .await
    .unwrap();
    // Deliveries by hand, signed by B's root account (the relayer's function-call keys may
    // not call the connector directly).
    let tx_b = p.users[1].clone();
    let relay = xsc_bridge::lightclient_relay::LightClientRelay::new(
        xsc_bridge::lightclient_relay::RpcSource {
            rpc: p.rpcs[0].clone(),
        },
        xsc_bridge::lightclient_relay::ContractTarget::new(
            p.deployed[1].accounts.light_client.clone(),
            tx_b.clone(),
        ),
        xsc_bridge::lightclient_relay::RelayConfig::new(p.name(0), p.name(1)),
    );
    let head = relay.proof_head_for(ev.block_height, T).await.unwrap();
    let (kind, target) = event_target(&ev.kind, &ev.payload).unwrap();
    assert_eq!(kind, MessageKind::CrossCall);
    let proof = p.rpcs[0]
        .light_client_proof(&target, &head.hash)
        .await
        .unwrap();
    // `fast`: through the light client's `verify_and_forward` (what the service does); else the
    // connector's own (Calimero-format) delivery method.
    let send = |proof: xsc_core::LightClientExecutionProof, fast: bool| {
        let tx_b = tx_b.clone();
        let conn = p.deployed[1].accounts.connector.clone();
        let lc = p.deployed[1].accounts.light_client.clone();
        let h = head.height;
        async move {
            let (receiver, method, args) = if fast {
                let msg = borsh::to_vec(&kind).unwrap();
                (
                    lc,
                    "verify_and_forward",
                    borsh::to_vec(&(&proof, h, &conn, msg)).unwrap(),
                )
            } else {
                (
                    conn,
                    kind.delivery_method(),
                    borsh::to_vec(&(&proof, h)).unwrap(),
                )
            };
            let out = tx_b
                .send(
                    &receiver,
                    vec![actions::function_call(method, args, MAX_GAS_300T, 0)],
                )
                .await
                .unwrap();
            let logs: Vec<String> = out.logs().map(str::to_string).collect();
            (out.failure().map(|f| f.message.clone()), logs)
        }
    };
    // Tampered: the proven outcome altered (its hash no longer matches the merkle path), by
    // either path.
    let mut bad = proof.clone();
    bad.outcome_proof.outcome.gas_burnt += 1;
    let (fail, logs) = send(bad.clone(), false).await;
    println!("tampered: {fail:?} {logs:?}");
    assert!(
        logs.iter().any(|l| l.contains("ERR_PROOF_REJECTED"))
            || fail.as_deref().is_some_and(|f| f.contains("ERR_")),
        "{fail:?} {logs:?}"
    );
    let (fail, logs) = send(bad, true).await;
    println!("tampered, fast path: {fail:?} {logs:?}");
    assert!(
        fail.as_deref()
            .is_some_and(|f| f.contains("ERR_OUTCOME_ROOT_MISMATCH")),
        "{fail:?} {logs:?}"
    );
    // The fast path's receiver refuses anyone but its light client.
    let direct = tx_b
        .send(
            &p.deployed[1].accounts.connector,
            vec![actions::function_call(
                "on_proven_outcome",
                borsh::to_vec(&(
                    tx_b.signer().account_id().as_str(),
                    forged_outcome(&proof),
                    borsh::to_vec(&kind).unwrap(),
                ))
                .unwrap(),
                MAX_GAS_300T,
                0,
            )],
        )
        .await
        .unwrap();
    let fail = direct.failure().map(|f| f.message.clone());
    assert!(
        fail.as_deref()
            .is_some_and(|f| f.contains("ERR_NOT_LIGHT_CLIENT")),
        "{fail:?}"
    );
    assert_eq!(greeter_count(&p, 1).await, 0);
    // Valid: delivered.
    let (fail, logs) = send(proof.clone(), true).await;
    assert_eq!(
        classify(fail.as_deref(), logs.iter().map(String::as_str)),
        Decision::Delivered(None),
        "{fail:?} {logs:?}"
    );
    assert_eq!(greeter_count(&p, 1).await, 1);
    // Replayed, by either path: refused as already delivered, nothing executed again.
    let (fail, logs) = send(proof.clone(), false).await;
    println!("replayed: {fail:?}");
    assert!(
        fail.as_deref()
            .is_some_and(|f| f.contains("ERR_ALREADY_DELIVERED")),
        "{fail:?} {logs:?}"
    );
    let (fail, logs) = send(proof, true).await;
    println!("replayed, fast path: {fail:?} {logs:?}");
    assert!(
        logs.iter().any(|l| l.contains("ERR_ALREADY_DELIVERED")),
        "{fail:?} {logs:?}"
    );
    assert_eq!(
        classify(fail.as_deref(), logs.iter().map(String::as_str)),
        Decision::Delivered(None)
    );
    assert_eq!(greeter_count(&p, 1).await, 1);
    let _ = id;
    p.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn e2e_light_client_more_than_an_epoch_behind_catches_up() {
    use xsc_bridge::lightclient_relay::{
        ContractTarget, LightClientRelay, LightClientTarget, RelayConfig, RelayError, RpcSource,
    };
    use xsc_bridge::rpc::BlockRef;
    let _g = ONE_AT_A_TIME.lock().await;
    // Short epochs (50 blocks, ~30 s) so that the source can outrun the light client by two.
    let bin = find_neard().unwrap_or_else(|| panic!("{MISSING_BIN}"));
    let dir = tempfile::tempdir().unwrap();
    let opts = PairOptions {
        res_dir: res_dir(),
        chain_ids: ["ep-a".into(), "ep-b".into()],
        epoch_length: 50,
        ..PairOptions::default()
    };
    let p = LocalPair::start(&bin, dir.path(), &opts, &|l| println!("{l}"))
        .await
        .unwrap();
    let tx_b = p.users[1].clone();
    let relay = LightClientRelay::new(
        RpcSource {
            rpc: p.rpcs[0].clone(),
        },
        ContractTarget::new(p.deployed[1].accounts.light_client.clone(), tx_b.clone()),
        RelayConfig::new(p.name(0), p.name(1)),
    );
    // No service: B's light client of A stays at its initial head while A moves on.
    let head = relay.target().head().await.unwrap();
    // A message sent meanwhile.
    let (id, sent) = demo::send_greeting(&p, 0, "late").await.unwrap();
    println!(
        "light client head #{} (epoch {}); greeting {id} sent at #{sent}",
        head.height, head.epoch_id
    );
    let tip = demo::wait_for("the source two epochs ahead", T, || async {
        let b = p.rpcs[0]
            .block(BlockRef::Final)
            .await
            .map_err(|e| e.to_string())?;
        let e = b.header.epoch_id;
        Ok((e != head.epoch_id && e != head.next_epoch_id).then_some(b))
    })
    .await
    .unwrap();
    println!(
        "source final #{} in epoch {}: more than an epoch ahead of the light client",
        tip.header.height, tip.header.epoch_id
    );
    // A plain submission of the newest final block is refused: its epoch's producers are not
    // known to the light client.
    let anchor = p.rpcs[0]
        .block(BlockRef::Hash(tip.header.prev_hash))
        .await
        .unwrap();
    let newest = p.rpcs[0]
        .next_light_client_block(&anchor.header.prev_hash)
        .await
        .unwrap()
        .expect("a light client block after a block of the current epoch");
    let ne = newest.inner_lite.epoch_id;
    assert!(ne != head.epoch_id && ne != head.next_epoch_id);
    let e = relay.target().submit_block(&newest).await.unwrap_err();
    println!("plain submission of #{}: {e}", newest.inner_lite.height);
    assert!(
        matches!(&e, RelayError::Rejected { reason, .. } if reason.contains("ERR_EPOCH_SKIPPED")),
        "{e}"
    );
    assert_eq!(relay.target().head().await.unwrap(), head);
    // The documented recovery: next_light_client_block from the stale head gives the last block
    // of the following epoch; submit, ask again, one epoch per step.
    let steps = relay.catch_up().await.unwrap();
    for s in &steps {
        println!(
            "caught up: #{} new_epoch={} lean={}",
            s.height, s.new_epoch, s.lean
        );
    }
    assert!(
        steps.iter().filter(|s| s.new_epoch).count() >= 2,
        "{steps:?}"
    );
    let now = relay.target().head().await.unwrap();
    let tip_now = p.rpcs[0].block(BlockRef::Final).await.unwrap();
    assert!(
        now.epoch_id == tip_now.header.epoch_id || now.next_epoch_id == tip_now.header.epoch_id,
        "head {now:?} vs tip epoch {}",
        tip_now.header.epoch_id
    );
    // The service delivers the message sent while the light client was behind, and its
    // response comes back.
    let svc = p.start_service(ServiceOptions::default()).await.unwrap();
    let (r, _) = demo::wait_greeting(&p, 0, id, T).await.unwrap();
    assert_eq!(r, json!({"state": "ok", "value": "Hello, late!"}), "{r}");
    assert_eq!(greeter_count(&p, 1).await, 1);
    let c = settled_counts(svc.store.as_ref()).await;
    assert_eq!((c.delivered, c.failed), (2, 0), "{c:?}");
    svc.shutdown(Duration::from_secs(30)).await;
    p.stop().await;
}

/// What the light client would forward for `proof`, made up by a caller instead.
fn forged_outcome(proof: &xsc_core::LightClientExecutionProof) -> xsc_core::ProvenOutcome {
    let o = &proof.outcome_proof;
    xsc_core::ProvenOutcome {
        id: o.id,
        block_hash: o.block_hash,
        block_height: proof.block_header_lite.inner_lite.height,
        executor_id: o.outcome.executor_id.clone(),
        status: o.outcome.status.clone(),
        logs: o.outcome.logs.clone(),
        receipt_ids: o.outcome.receipt_ids.clone(),
        gas_burnt: o.outcome.gas_burnt,
        tokens_burnt: o.outcome.tokens_burnt,
    }
}
