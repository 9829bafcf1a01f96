//! Bridge benchmark on two local sandboxes (numbers for BENCHMARKS.md):
//! - round-trip latency in blocks of the source chain: from the block of the user's transaction
//!   to the block in which the callback was seen (optimistic view, polled), and exactly from
//!   the block that executed the connector's `cross_call` receipt to the block that executed
//!   the dapp's callback receipt (from the delivery transaction's outcome);
//! - messages delivered per minute per direction: N greetings are sent while the service is
//!   stopped, then the service starts and delivers the N calls (A → B) and their N responses
//!   (B → A);
//! - gas per message: delivery transactions plus the light client updates of that direction,
//!   divided by the messages delivered;
//! - round-trip latency under load: LOAD greetings are sent at once with the service running
//!   (the queue holds hundreds of messages), and each one's round trip is measured exactly, in
//!   blocks and seconds of chain A: from the block that included the user's transaction to the
//!   block that executed the dapp's callback (found through the queue: the call's delivery
//!   names the receipt that emitted the response, whose delivery transaction executed the
//!   callback). Reported as p50 and p99.
//!
//! `cargo run --release -p xsc-devnet --bin e2e_bench -- [N] [ROUND_TRIPS] [LOAD]` (needs a
//! neard sandbox binary and `res/*.wasm`; LOAD 0 skips the load part).

use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xsc_bridge::queue::{EventState, ListFilter};
use xsc_bridge::rpc::{BlockRef, FinalOutcome, RpcClient};
use xsc_bridge::service::{Service, ServiceOptions};
use xsc_devnet::demo::{self, LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN};
use xsc_devnet::multi::Greetings;

const T: Duration = Duration::from_secs(600);

fn lc_gas(svc: &Service, i: usize) -> u64 {
    let d = &svc.directions[i];
    svc.metrics
        .lc_gas_burnt
        .with_label_values(&[d.source.as_str(), d.dest.as_str()])
        .get()
}

fn lc_blocks(svc: &Service, i: usize) -> u64 {
    let d = &svc.directions[i];
    ["lean", "full"]
        .iter()
        .map(|m| {
            svc.metrics
                .lc_blocks_relayed
                .with_label_values(&[d.source.as_str(), d.dest.as_str(), m])
                .get()
        })
        .sum()
}

/// Height of the block that executed the first receipt of `executor` in `out`.
async fn receipt_height(
    rpc: &RpcClient,
    out: &FinalOutcome,
    executor: &str,
) -> Result<u64, String> {
    let bh = out
        .receipts_outcome
        .iter()
        .find(|o| o.outcome.executor_id == executor)
        .and_then(|o| o.block_hash)
        .ok_or_else(|| format!("no receipt of {executor}"))?;
    Ok(rpc
        .block(BlockRef::Hash(bh))
        .await
        .map_err(|e| e.to_string())?
        .header
        .height)
}

/// The exact heights of one round trip from chain 0: the connector's `cross_call` receipt and
/// the dapp's callback receipt.
async fn exact_round_trip(
    pair: &LocalPair,
    svc: &Service,
    sent: &FinalOutcome,
) -> Result<(u64, u64), String> {
    let rpc = &pair.rpcs[0];
    let start = receipt_height(rpc, sent, &pair.deployed[0].accounts.connector).await?;
    let last = svc
        .store
        .list(&ListFilter::state(EventState::Delivered, 100_000))
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|e| e.kind == "cross_call_response" && e.dest_chain == pair.name(0))
        .max_by_key(|e| e.id)
        .ok_or("no delivered response")?;
    let tx: xsc_core::CryptoHash = last
        .delivery_tx
        .as_deref()
        .ok_or("no delivery transaction")?
        .parse()
        .map_err(|e| format!("{e:?}"))?;
    let relayer = pair.config.chains()[0]
        .load_signer()
        .map_err(|e| e.to_string())?
        .account_id()
        .to_string();
    let out = rpc
        .tx_status(&tx, &relayer)
        .await
        .map_err(|e| e.to_string())?;
    let end = receipt_height(rpc, &out, &pair.deployed[0].accounts.cross_call).await?;
    Ok((start, end))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);
    let trips: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let load: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    // Timestamped service logs on stderr (`RUST_LOG=xsc_bridge=debug` for the latency trace).
    let _ = xsc_bridge::logging::init(xsc_bridge::logging::LogFormat::Compact, "warn");
    let Some(bin) = find_neard() else {
        eprintln!("{MISSING_BIN}");
        std::process::exit(1);
    };
    let dir = std::env::temp_dir().join(format!("xsc-bench-{}", std::process::id()));
    let res = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res");
    let opts = PairOptions {
        res_dir: res,
        chain_ids: ["bench-a".into(), "bench-b".into()],
        ..PairOptions::default()
    };
    let pair = LocalPair::start(&bin, &dir, &opts, &|l| println!("{l}")).await?;

    // 1. Latency.
    let svc = pair.start_service(options()).await?;
    let mut lat = Vec::new();
    let mut exact = Vec::new();
    let mut secs = Vec::new();
    for i in 0..trips {
        let started = Instant::now();
        let (request_id, sent_height, sent) =
            demo::send_greeting_traced(&pair, 0, &format!("lat{i}")).await?;
        let (_, callback_height) = demo::wait_greeting(&pair, 0, request_id, T).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let blocks = callback_height - sent_height;
        // The service marks the response delivered once its transaction's outcome is final.
        let (cc, cb) = demo::wait_for("the response's delivery record", T, || async {
            Ok(exact_round_trip(&pair, &svc, &sent)
                .await
                .ok()
                .filter(|(_, cb)| *cb >= sent_height))
        })
        .await?;
        println!(
            "round trip {i}: user tx #{sent_height}, callback seen #{callback_height} = {blocks} blocks, {elapsed:.1} s; connector cross_call receipt #{cc} → callback receipt #{cb} = {} blocks",
            cb - cc
        );
        lat.push(blocks);
        exact.push(cb - cc);
        secs.push(elapsed);
    }
    svc.shutdown(Duration::from_secs(30)).await;
    lat.sort();
    exact.sort();

    // 2. Throughput and gas: N calls queued on A while the service is down.
    let mut per_dir = Vec::new();
    if n > 0 {
        let mut ids = Vec::new();
        for i in 0..n {
            ids.push(demo::send_greeting(&pair, 0, &format!("t{i}")).await?.0);
        }
        println!("{n} cross calls sent on {}", pair.name(0));
        let svc = Service::start(&pair.config, options())
            .await
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        let lc0 = [lc_gas(&svc, 0), lc_gas(&svc, 1)];
        let greeter = pair.deployed[1].accounts.greeter.clone();
        let base: u64 = {
            let v: serde_json::Value =
                demo::view(&pair.rpcs[1], &greeter, "get_count", serde_json::json!({})).await?;
            v.as_str().unwrap_or("0").parse().unwrap_or(0)
        };
        let t_ab = demo::wait_for("all calls delivered", T, || async {
            let v: serde_json::Value =
                demo::view(&pair.rpcs[1], &greeter, "get_count", serde_json::json!({})).await?;
            let c: u64 = v.as_str().unwrap_or("0").parse().unwrap_or(0);
            Ok((c >= base + n).then(|| started.elapsed()))
        })
        .await?;
        for id in &ids {
            demo::wait_greeting(&pair, 0, *id, T).await?;
        }
        let t_ba = started.elapsed();
        for (i, t) in [(0usize, t_ab), (1usize, t_ba)] {
            let d = &svc.directions[i];
            let st = d.stats();
            let delivered = st.delivered.load(Ordering::Relaxed).max(1);
            let gas_delivery = st.gas_burnt.load(Ordering::Relaxed);
            let gas_lc = lc_gas(&svc, i) - lc0[i];
            per_dir.push(format!(
            "{} → {}: {} messages in {:.1} s = {:.0} msg/min; {} delivery txs ({} retried); gas per message {:.2} Tgas delivery + {:.2} Tgas light client share ({} blocks relayed in total, {:.1} Tgas) = {:.2} Tgas",
            d.source,
            d.dest,
            n,
            t.as_secs_f64(),
            n as f64 * 60.0 / t.as_secs_f64(),
            st.transactions.load(Ordering::Relaxed),
            st.retried.load(Ordering::Relaxed),
            gas_delivery as f64 / delivered as f64 / 1e12,
            gas_lc as f64 / delivered as f64 / 1e12,
            lc_blocks(&svc, i),
            gas_lc as f64 / 1e12,
            (gas_delivery + gas_lc) as f64 / delivered as f64 / 1e12,
        ));
        }
        svc.shutdown(Duration::from_secs(30)).await;
    }

    // 3. Round trips while hundreds of messages are queued.
    let under_load = if load > 0 {
        Some(latency_under_load(&pair, load).await?)
    } else {
        None
    };
    pair.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    println!("\n=== results ===");
    if !lat.is_empty() {
        println!(
        "round trip, user's cross_call transaction → callback seen: median {} blocks (min {}, max {}) over {} trips; {:.1} s average",
        lat[lat.len() / 2],
        lat[0],
        lat[lat.len() - 1],
        lat.len(),
        secs.iter().sum::<f64>() / secs.len() as f64
    );
        println!(
        "round trip, connector's cross_call receipt → dapp's callback receipt (exact): median {} blocks (min {}, max {})",
        exact[exact.len() / 2],
        exact[0],
        exact[exact.len() - 1],
    );
    }
    for l in per_dir {
        println!("{l}");
    }
    if let Some(l) = under_load {
        println!("{l}");
    }
    Ok(())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Height and timestamp (ms) of a block of chain A.
async fn block_at(rpc: &RpcClient, h: xsc_core::CryptoHash) -> Result<(u64, u64), String> {
    let b = rpc
        .block(BlockRef::Hash(h))
        .await
        .map_err(|e| e.to_string())?;
    Ok((
        b.header.height,
        b.header.timestamp_ns().unwrap_or(0) / 1_000_000,
    ))
}

/// The service's options: `XSC_BENCH_IN_FLIGHT`, `XSC_BENCH_BATCH` and `XSC_BENCH_PER_TX`
/// override the configuration's deliveries in flight, claim size and messages per delivery
/// transaction.
fn options() -> ServiceOptions {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse().ok());
    ServiceOptions {
        delivery_concurrency: env("XSC_BENCH_IN_FLIGHT"),
        delivery_batch: env("XSC_BENCH_BATCH"),
        messages_per_transaction: env("XSC_BENCH_PER_TX"),
        ..ServiceOptions::default()
    }
}

/// Send `load` greetings from chain A at once (the service running), wait for every callback,
/// and measure each round trip exactly from the queue's records.
async fn latency_under_load(pair: &LocalPair, load: usize) -> Result<String, String> {
    let svc = pair.start_service(options()).await?;
    // A sender of its own with a short acceptance window (the users' sender is not used meanwhile).
    let greetings = Greetings::new(pair, 0)?;
    let (a, b) = (pair.name(0).to_string(), pair.name(1).to_string());
    // Queue depth, sampled every second.
    let depth = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let sampler = {
        let (store, depth, b) = (svc.store.clone(), depth.clone(), b.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(c) = store.counts(Some(&b)).await {
                    depth.lock().unwrap().push(c.pending + c.delivering);
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let started = Instant::now();
    let sent = greetings.send("load", load).await?;
    let sent_in = started.elapsed();
    println!(
        "{load} greetings sent from {a} in {:.1} s",
        sent_in.as_secs_f64()
    );
    // Every callback in.
    let mut left: Vec<u64> = sent.iter().map(|s| s.request_id).collect();
    let deadline = Instant::now() + Duration::from_secs(3600);
    while !left.is_empty() {
        let mut still = Vec::new();
        for id in left {
            let r: Value = demo::view(
                &pair.rpcs[0],
                &pair.deployed[0].accounts.cross_call,
                "get_result",
                json!({ "request_id": id.to_string() }),
            )
            .await?;
            if r.is_null() || r.get("state").and_then(Value::as_str) == Some("pending") {
                still.push(id);
            }
        }
        left = still;
        if Instant::now() > deadline {
            return Err(format!("{} callbacks missing after an hour", left.len()));
        }
        if !left.is_empty() {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    let all_in = started.elapsed();
    // Exact heights through the queue's records.
    let settle = Instant::now() + Duration::from_secs(120);
    while xsc_bridge::service::open_events(svc.store.as_ref())
        .await
        .map_err(|e| e.to_string())?
        > 0
        && Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sampler.abort();
    let delivered = svc
        .store
        .list(&ListFilter::state(EventState::Delivered, 1_000_000))
        .await
        .map_err(|e| e.to_string())?;
    let calls: HashMap<u64, &xsc_bridge::queue::StoredEvent> = delivered
        .iter()
        .filter(|e| e.kind == "cross_call" && e.dest_chain == b)
        .filter_map(|e| e.nsn.map(|n| (n, e)))
        .collect();
    let relayer = pair.config.chains()[0]
        .load_signer()
        .map_err(|e| e.to_string())?
        .account_id()
        .to_string();
    let rpc = &pair.rpcs[0];
    let (mut blocks, mut secs) = (Vec::new(), Vec::new());
    for s in &sent {
        let call = calls
            .get(&s.nsn)
            .ok_or_else(|| format!("call nsn {} not delivered in the queue", s.nsn))?;
        let responses: Vec<xsc_core::CryptoHash> = call
            .delivery
            .as_ref()
            .and_then(|d| d.get("responses"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str()?.parse().ok()).collect())
            .unwrap_or_default();
        let resp = svc
            .store
            .find_by_outcomes(&b, &responses)
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|e| e.kind == "cross_call_response")
            .ok_or_else(|| format!("no response of call {}", s.nsn))?;
        let tx: xsc_core::CryptoHash = resp
            .delivery_tx
            .as_deref()
            .ok_or("response without delivery transaction")?
            .parse()
            .map_err(|e| format!("{e:?}"))?;
        let out = rpc
            .tx_status(&tx, &relayer)
            .await
            .map_err(|e| e.to_string())?;
        let cb = out
            .receipts_outcome
            .iter()
            .find(|o| o.outcome.executor_id == pair.deployed[0].accounts.cross_call)
            .and_then(|o| o.block_hash)
            .ok_or("no callback receipt")?;
        let (h0, t0) = block_at(rpc, s.block).await?;
        let (h1, t1) = block_at(rpc, cb).await?;
        blocks.push(h1.saturating_sub(h0) as f64);
        secs.push(t1.saturating_sub(t0) as f64 / 1000.0);
    }
    svc.shutdown(Duration::from_secs(30)).await;
    blocks.sort_by(|x, y| x.total_cmp(y));
    secs.sort_by(|x, y| x.total_cmp(y));
    let depth = depth.lock().unwrap().clone();
    let max_depth = depth.iter().copied().max().unwrap_or(0);
    Ok(format!(
        "round trip under load ({load} cross calls sent at once from {a} in {:.1} s; up to {max_depth} messages queued for {b}; all callbacks in after {:.1} s): user transaction block → callback receipt block on {a}: p50 {} blocks / {:.1} s, p99 {} blocks / {:.1} s (min {}, max {} blocks)",
        sent_in.as_secs_f64(),
        all_in.as_secs_f64(),
        pct(&blocks, 0.5),
        pct(&secs, 0.5),
        pct(&blocks, 0.99),
        pct(&secs, 0.99),
        blocks[0],
        blocks[blocks.len() - 1],
    ))
}
