//! Throughput of 1, 2 and 3 relayer instances on one PostgreSQL queue, and of one on SQLite, in
//! one run on two local sandboxes (numbers for BENCHMARKS.md), and the round trip under load
//! with three instances.
//!
//! For each configuration, on the same chain pair: N `cross_call`s are sent from chain A while
//! no relayer runs, then the instances start (real `xsc relay` processes, each with its own keys,
//! on a fresh queue that starts indexing at the current heights) and deliver the N calls
//! (A → B) and their N responses (B → A). Messages per minute per direction = N / the time from
//! the start of the relayers to the last greeting executed on B (A → B), and to the last callback
//! on A (B → A). Meanwhile the sandbox nodes' CPU (from /proc) and the gas used per block of
//! each chain are sampled, so a bound set by the nodes shows.
//!
//! Then, with three instances running, LOAD `cross_call`s are sent from A at once and each round
//! trip is measured exactly through the queue's records, in blocks of chain A: from the block
//! that included the user's transaction to the block that executed the callback. p50 and p99.
//!
//! ```sh
//! scripts/build.sh && cargo build --release -p xsc-cli -p xsc-devnet
//! scripts/pg-harness.sh run -- cargo run --release -p xsc-devnet --bin multi_bench -- [N] [LOAD]
//! ```
//! (needs a neard sandbox binary, `res/*.wasm`, a PostgreSQL server: `XSC_TEST_POSTGRES_URL`,
//! and the `xsc` binary beside this one or in `XSC_BIN`).

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xsc_bridge::deploy::QueueConfig;
use xsc_bridge::queue::{open_store, Database, DatabaseUrl, EventState, ListFilter, StoredEvent};
use xsc_bridge::rpc::{BlockRef, RpcClient};
use xsc_devnet::demo::{LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN};
use xsc_devnet::multi::{self, Greetings, RelayProcess, Sent};

type R<T> = Result<T, String>;

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// CPU seconds used so far by process `pid` and its threads (utime + stime).
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0; // USER_HZ on Linux
    let u: f64 = f.get(11).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    let s: f64 = f.get(12).and_then(|x| x.parse().ok()).unwrap_or(0.0);
    (u + s) / tick
}

/// The pids of the sandbox nodes (their `neard` children of this process's tree).
fn neard_pids(homes: &[&Path]) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmd = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if homes.iter().any(|h| cmd.contains(&h.display().to_string())) {
            out.push(pid);
        }
    }
    out
}

/// Gas used by the blocks of a chain from `from` to `to` (sum over chunks): total, blocks read,
/// the most in one block.
async fn gas_used(rpc: &RpcClient, from: u64, to: u64) -> R<(u64, u64, u64)> {
    let (mut total, mut blocks, mut max) = (0u64, 0u64, 0u64);
    for h in from..=to {
        let Ok(b) = rpc.call_value("block", json!({ "block_id": h })).await else {
            continue; // a skipped height
        };
        let g: u64 = b
            .get("chunks")
            .and_then(Value::as_array)
            .map(|c| {
                c.iter()
                    .filter(|x| x.get("height_included").and_then(Value::as_u64) == Some(h))
                    .filter_map(|x| x.get("gas_used").and_then(Value::as_u64))
                    .sum()
            })
            .unwrap_or(0);
        total += g;
        max = max.max(g);
        blocks += 1;
    }
    Ok((total, blocks, max))
}

/// The watermark of chain `at`'s connector: every message from the other chain below it is
/// delivered (one view: polling it does not load the node like one view per message would).
async fn next_in(pair: &LocalPair, at: usize) -> R<u64> {
    let v: Value = xsc_devnet::demo::view(
        &pair.rpcs[at],
        &pair.deployed[at].accounts.connector,
        "channel",
        json!({}),
    )
    .await?;
    multi::u64_of(&v["next_in"])
}

struct RunResult {
    label: String,
    ab: f64,
    ba: f64,
    t_ab: Duration,
    t_ba: Duration,
    node_cpu: f64,
    relayer_cpu: f64,
    gas: [(u64, u64, u64); 2],
}

async fn final_height(rpc: &RpcClient) -> R<u64> {
    Ok(rpc.block(BlockRef::Final).await.map_err(s)?.header.height)
}

/// One configuration: `instances` relayers on `queue`, N greetings queued before they start.
#[allow(clippy::too_many_arguments)]
async fn run(
    pair: &LocalPair,
    xsc: &Path,
    dir: &Path,
    label: &str,
    queue: &QueueConfig<'_>,
    instances: usize,
    n: usize,
) -> R<RunResult> {
    let starts = [
        final_height(&pair.rpcs[0]).await?,
        final_height(&pair.rpcs[1]).await?,
    ];
    let base = [next_in(pair, 0).await?, next_in(pair, 1).await?];
    let sent = Greetings::new(pair, 0)?
        .send(&format!("{label}-"), n)
        .await?;
    println!("[{label}] {n} greetings queued on chain A; starting {instances} instance(s)");
    let extra = "log_format = \"compact\"\n";
    let mut procs = Vec::new();
    for k in 1..=instances {
        let cfg = dir.join(format!("{label}-{k}.toml"));
        std::fs::write(
            &cfg,
            multi::instance_config(pair, queue, k, [Some(starts[0]), Some(starts[1])], extra),
        )
        .map_err(s)?;
        procs.push(RelayProcess::start(
            xsc,
            k,
            &cfg,
            &dir.join(format!("{label}-{k}.log")),
        )?);
    }
    let homes: Vec<&Path> = pair.nodes.iter().map(|n| n.home.as_path()).collect();
    let nodes = neard_pids(&homes);
    let node_cpu0: f64 = nodes.iter().map(|p| cpu_seconds(*p)).sum();
    let started = Instant::now();
    let h0 = [
        final_height(&pair.rpcs[0]).await?,
        final_height(&pair.rpcs[1]).await?,
    ];
    let mut t_ab = None;
    let deadline = started + Duration::from_secs(1800);
    let t_ba = loop {
        // A → B: the calls (B's watermark); B → A: their responses, which execute the callbacks
        // (A's watermark).
        if t_ab.is_none() && next_in(pair, 1).await? >= base[1] + n as u64 {
            t_ab = Some(started.elapsed());
        }
        if t_ab.is_some() && next_in(pair, 0).await? >= base[0] + n as u64 {
            break started.elapsed();
        }
        if Instant::now() > deadline {
            return Err(format!("[{label}] not delivered within 30 min"));
        }
        for p in procs.iter_mut() {
            if !p.alive() {
                return Err(format!(
                    "[{label}] instance {} exited: {}",
                    p.instance,
                    p.log.display()
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let t_ab = t_ab.unwrap_or(t_ba);
    let node_cpu = nodes.iter().map(|p| cpu_seconds(*p)).sum::<f64>() - node_cpu0;
    let relayer_cpu: f64 = procs.iter().map(|p| cpu_seconds(p.pid())).sum();
    let h1 = [
        final_height(&pair.rpcs[0]).await?,
        final_height(&pair.rpcs[1]).await?,
    ];
    for p in procs {
        p.stop();
    }
    if multi::callbacks_in(pair, &sent).await? != sent.len() {
        return Err(format!("[{label}] a callback is missing"));
    }
    let gas = [
        gas_used(&pair.rpcs[0], h0[0], h1[0]).await?,
        gas_used(&pair.rpcs[1], h0[1], h1[1]).await?,
    ];
    let r = RunResult {
        label: label.to_string(),
        ab: n as f64 * 60.0 / t_ab.as_secs_f64(),
        ba: n as f64 * 60.0 / t_ba.as_secs_f64(),
        t_ab,
        t_ba,
        node_cpu: node_cpu / t_ba.as_secs_f64(),
        relayer_cpu: relayer_cpu / t_ba.as_secs_f64(),
        gas,
    };
    println!(
        "[{label}] A→B {:.0} msg/min ({:.1} s), B→A {:.0} msg/min ({:.1} s); sandbox nodes {:.2} CPU cores, relayers {:.2}",
        r.ab,
        t_ab.as_secs_f64(),
        r.ba,
        t_ba.as_secs_f64(),
        r.node_cpu,
        r.relayer_cpu
    );
    Ok(r)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The height of the block that executed `tx`'s receipt of `executor`.
async fn receipt_block(rpc: &RpcClient, tx: &str, sender: &str, executor: &str) -> R<u64> {
    let hash: xsc_core::CryptoHash = tx.parse().map_err(|e| format!("{e:?}"))?;
    let out = rpc.tx_status(&hash, sender).await.map_err(s)?;
    let bh = out
        .receipts_outcome
        .iter()
        .find(|o| o.outcome.executor_id == executor)
        .and_then(|o| o.block_hash)
        .ok_or_else(|| format!("no receipt of {executor} in {tx}"))?;
    Ok(rpc
        .block(BlockRef::Hash(bh))
        .await
        .map_err(s)?
        .header
        .height)
}

/// With three instances running on `queue`: LOAD greetings at once; each round trip exactly.
async fn latency_under_load(
    pair: &LocalPair,
    xsc: &Path,
    dir: &Path,
    url: &str,
    load: usize,
) -> R<String> {
    let queue = QueueConfig::Postgres(url);
    let starts = [
        final_height(&pair.rpcs[0]).await?,
        final_height(&pair.rpcs[1]).await?,
    ];
    let mut procs = Vec::new();
    for k in 1..=3 {
        let cfg = dir.join(format!("load-{k}.toml"));
        std::fs::write(
            &cfg,
            multi::instance_config(
                pair,
                &queue,
                k,
                [Some(starts[0]), Some(starts[1])],
                "log_format = \"compact\"\n",
            ),
        )
        .map_err(s)?;
        procs.push(RelayProcess::start(
            xsc,
            k,
            &cfg,
            &dir.join(format!("load-{k}.log")),
        )?);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let store = open_store(
        &Database::Postgres(DatabaseUrl::parse(url).map_err(s)?),
        false,
    )
    .await
    .map_err(s)?;
    let b = pair.name(1).to_string();
    let depth = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let sampler = {
        let (store, depth) = (store.clone(), depth.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(c) = store.counts(None).await {
                    depth.lock().unwrap().push(c.pending + c.delivering);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };
    let base = next_in(pair, 0).await?;
    let sent: Vec<Sent> = Greetings::new(pair, 0)?.send("load-", load).await?;
    let deadline = Instant::now() + Duration::from_secs(1800);
    while next_in(pair, 0).await? < base + load as u64 {
        if Instant::now() > deadline {
            return Err("load: callbacks missing after 30 min".into());
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let settle = Instant::now() + Duration::from_secs(120);
    while xsc_bridge::service::open_events(store.as_ref())
        .await
        .map_err(s)?
        > 0
        && Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    sampler.abort();
    for p in procs {
        p.stop();
    }
    let delivered = store
        .list(&ListFilter::state(EventState::Delivered, 1_000_000))
        .await
        .map_err(s)?;
    let calls: HashMap<u64, &StoredEvent> = delivered
        .iter()
        .filter(|e| e.kind == "cross_call" && e.dest_chain == b)
        .filter_map(|e| e.nsn.map(|n| (n, e)))
        .collect();
    let relayer = pair.deployed[0]
        .relayer
        .as_ref()
        .ok_or("no relayer")?
        .account
        .clone();
    let rpc = &pair.rpcs[0];
    let mut blocks = Vec::new();
    for x in &sent {
        let call = calls
            .get(&x.nsn)
            .ok_or_else(|| format!("call nsn {} not delivered", x.nsn))?;
        let responses: Vec<xsc_core::CryptoHash> = call
            .delivery
            .as_ref()
            .and_then(|d| d.get("responses"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().and_then(|h| h.parse().ok()))
                    .collect()
            })
            .unwrap_or_default();
        let resp = store
            .find_by_outcomes(&b, &responses)
            .await
            .map_err(s)?
            .into_iter()
            .find(|e| e.kind == "cross_call_response")
            .ok_or("no response event")?;
        let tx = resp.delivery_tx.ok_or("response not delivered")?;
        let end = receipt_block(rpc, &tx, &relayer, &pair.deployed[0].accounts.cross_call).await?;
        let start = rpc
            .block(BlockRef::Hash(x.block))
            .await
            .map_err(s)?
            .header
            .height;
        blocks.push(end.saturating_sub(start) as f64);
    }
    blocks.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let max_depth = depth.lock().unwrap().iter().copied().max().unwrap_or(0);
    Ok(format!(
        "round trip with 3 instances, {load} greetings sent at once (queue up to {max_depth} open messages): p50 {} blocks, p99 {} blocks (min {}, max {})",
        pct(&blocks, 0.5),
        pct(&blocks, 0.99),
        blocks[0],
        blocks[blocks.len() - 1]
    ))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> R<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let load: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(500);
    let Some(bin) = find_neard() else {
        eprintln!("{MISSING_BIN}");
        std::process::exit(1);
    };
    let xsc = multi::find_xsc()?;
    let dir = std::env::temp_dir().join(format!("xsc-multi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(s)?;
    let opts = PairOptions {
        res_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res"),
        chain_ids: ["mbench-a".into(), "mbench-b".into()],
        instances: 3,
        ..PairOptions::default()
    };
    let pair = LocalPair::start(&bin, &dir, &opts, &|l| println!("{l}")).await?;
    let mut results = Vec::new();
    let sqlite = dir.join("bench.db");
    results.push(
        run(
            &pair,
            &xsc,
            &dir,
            "sqlite-1",
            &QueueConfig::Sqlite(&sqlite),
            1,
            n,
        )
        .await?,
    );
    for k in 1..=3 {
        let url = multi::fresh_postgres_database(&format!("bench{k}")).await?;
        results.push(
            run(
                &pair,
                &xsc,
                &dir,
                &format!("postgres-{k}"),
                &QueueConfig::Postgres(&url),
                k,
                n,
            )
            .await?,
        );
    }
    let load_line = if load > 0 {
        let url = multi::fresh_postgres_database("benchload").await?;
        Some(latency_under_load(&pair, &xsc, &dir, &url, load).await?)
    } else {
        None
    };
    pair.stop().await;
    let _ = std::fs::remove_dir_all(&dir);

    println!("\n=== results ({n} cross calls per configuration) ===");
    println!("| queue, instances | A → B msg/min | B → A msg/min | A → B s | B → A s | sandbox nodes, CPU cores | relayers, CPU cores | gas per block A / B (mean, max; Tgas) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for r in &results {
        let g = |i: usize| {
            let (t, b, m) = r.gas[i];
            format!(
                "{:.0}, {:.0}",
                t as f64 / b.max(1) as f64 / 1e12,
                m as f64 / 1e12
            )
        };
        println!(
            "| {} | {:.0} | {:.0} | {:.1} | {:.1} | {:.2} | {:.2} | {} / {} |",
            r.label,
            r.ab,
            r.ba,
            r.t_ab.as_secs_f64(),
            r.t_ba.as_secs_f64(),
            r.node_cpu,
            r.relayer_cpu,
            g(0),
            g(1)
        );
    }
    if let Some(l) = load_line {
        println!("{l}");
    }
    Ok(())
}
