//! Proof under faults, on two sandbox chains: the real `xsc relay` binary, as a child process,
//! talks to each chain through two in-process RPC fault proxies (delays, dropped connections
//! before and after forwarding, HTTP 5xx, garbage and truncated replies, a lagging backend
//! answering `UNKNOWN_BLOCK` for blocks that exist). 50 `cross_call`s are sent from each chain
//! (100 messages each way: the calls and their responses) while the relayer is killed with
//! SIGKILL at random points at least 10 times and restarted. At the end every message was
//! delivered exactly once (each greeter counted 50 calls, each caller got 50 callbacks, the
//! connectors' watermarks equal the senders' counters with nothing ahead), none failed, and
//! nothing was skipped (every sequence number of each channel is in the queue, delivered).
//!
//! Ignored by default (it needs a neard sandbox binary, see `xsc_devnet::localnet`, and
//! `res/*.wasm`). Run:
//!
//! ```sh
//! scripts/build.sh
//! cargo test -p xsc-cli --test fault_injection -- --ignored --nocapture
//! ```
//!
//! `XSC_FAULT_SEED` fixes the faults' random seed (printed at the start); `XSC_NEARD_B` runs
//! chain B on another neard (an older protocol); `XSC_FAULT_PER_TX` sets the relayer's
//! `messages_per_transaction` (batch deliveries: messages that queued up while it was dead go
//! in batches, and a kill may fall between a batch's recording and its outcome).

use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xsc_bridge::deploy::{self, ChainAccess};
use xsc_bridge::queue::{EventState, ListFilter, MessageStore, SqliteStore};
use xsc_devnet::demo::{self, LocalPair, PairOptions};
use xsc_devnet::faultproxy::{FaultProxy, FaultRates};
use xsc_devnet::localnet::{find_neard, MISSING_BIN};

const PER_CHAIN: u64 = 50;
const MIN_KILLS: usize = 10;

fn res_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res")
}

fn spawn_relay(cfg: &Path, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_xsc"))
        .args(["relay", "--config", cfg.to_str().unwrap()])
        .env("RUST_LOG", "info,xsc_bridge::rpc=warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start xsc relay")
}

/// `channel()` of a connector.
async fn channel(p: &LocalPair, at: usize) -> Value {
    demo::view(
        &p.rpcs[at],
        &p.deployed[at].accounts.connector,
        "channel",
        json!({}),
    )
    .await
    .unwrap()
}

fn u64_of(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
        .unwrap_or_else(|| panic!("not a number: {v}"))
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
    u64_of(&v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a neard sandbox binary (NEAR_SANDBOX_BIN_PATH or ~/.xsc/bin/neard-sandbox) and res/*.wasm"]
async fn fault_injection_every_message_exactly_once_through_faults_and_kills() {
    let bin = find_neard().unwrap_or_else(|| panic!("{MISSING_BIN}"));
    let seed: u64 = std::env::var("XSC_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen());
    println!("fault seed {seed} (XSC_FAULT_SEED={seed} reproduces the faults)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let tmp = KeptOnFailure(Some(tempfile::tempdir().unwrap()));
    let dir = tmp.path();
    let opts = PairOptions {
        res_dir: res_dir(),
        chain_ids: ["fault-a".into(), "fault-b".into()],
        ..PairOptions::default()
    };
    let pair = Arc::new(
        LocalPair::start(&bin, dir, &opts, &|l| println!("{l}"))
            .await
            .unwrap(),
    );

    // Two faulty endpoints in front of each node.
    let mut proxies = Vec::new();
    for (i, node) in pair.nodes.iter().enumerate() {
        let mut two = Vec::new();
        for k in 0..2u64 {
            let p = FaultProxy::start(&node.rpc_url, seed ^ (i as u64 * 2 + k + 1))
                .await
                .unwrap();
            p.set_rates(FaultRates::harsh());
            two.push(p);
        }
        proxies.push(two);
    }
    let access = [0, 1].map(|i| ChainAccess {
        rpc_urls: proxies[i].iter().map(|p| p.url.clone()).collect(),
        rpc_header: None,
        key_files: vec![],
        start_height: None,
    });
    let db = dir.join("fault-relayer.db");
    let mut toml = deploy::relayer_config_toml(&pair.deployed, access, &db, "");
    // Batches by default, as the relayer's configuration has it; XSC_FAULT_PER_TX=1: each alone.
    let per_tx: Option<usize> = std::env::var("XSC_FAULT_PER_TX")
        .ok()
        .and_then(|s| s.parse().ok());
    if let Some(n) = per_tx {
        toml += &format!("messages_per_transaction = {n}\n");
    }
    let per_tx =
        per_tx.unwrap_or(xsc_bridge::config::RelayerConfig::default().messages_per_transaction);
    println!("messages per delivery transaction: {per_tx} (XSC_FAULT_PER_TX)");
    toml += "instance_id = \"fault-suite\"\ngap_check_interval_s = 15\nlog_format = \"compact\"\n\
             [relayer.temporary_retry]\ninitial_backoff_ms = 300\nmax_backoff_ms = 4000\n\
             [relayer.rpc_retry]\nmax_retries = 4\ninitial_backoff_ms = 100\nmax_backoff_ms = 1000\n";
    let toml = toml.replace("\nlight_client", "\nrpc_timeout_ms = 15000\nlight_client");
    let cfg = dir.join("fault-relayer.toml");
    std::fs::write(&cfg, &toml).unwrap();

    // The users send 50 cross calls from each chain, at random moments, straight to the nodes.
    let sending_done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(std::sync::Mutex::new(Vec::<(usize, u64)>::new()));
    let sender = {
        let (pair, done, sent) = (pair.clone(), sending_done.clone(), sent.clone());
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed.wrapping_add(1));
        tokio::spawn(async move {
            for i in 0..PER_CHAIN {
                for from in [0, 1] {
                    let (id, _) = demo::send_greeting(&pair, from, &format!("f{from}-{i}"))
                        .await
                        .unwrap();
                    sent.lock().unwrap().push((from, id));
                }
                let pause = rng.gen_range(0..600);
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            done.store(true, Ordering::SeqCst);
        })
    };

    // Kill the relayer at random points, at least MIN_KILLS times, while work is in flight.
    let kills = Arc::new(AtomicUsize::new(0));
    let mut run = 0;
    let started = Instant::now();
    while kills.load(Ordering::SeqCst) < MIN_KILLS || !sending_done.load(Ordering::SeqCst) {
        let mut child = spawn_relay(&cfg, &dir.join(format!("relay-{run}.log")));
        let alive = Duration::from_millis(rng.gen_range(1_500..9_000));
        tokio::time::sleep(alive).await;
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "xsc relay exited by itself ({status}); see {}",
                dir.join(format!("relay-{run}.log")).display()
            );
        }
        child.kill().unwrap(); // SIGKILL: no cleanup, no graceful shutdown
        child.wait().unwrap();
        let n = kills.fetch_add(1, Ordering::SeqCst) + 1;
        let q = SqliteStore::open(&db).unwrap().counts(None).await.unwrap();
        println!(
            "kill {n} after {:.1} s of run {run}: queue {q:?}, {} calls sent",
            alive.as_secs_f64(),
            sent.lock().unwrap().len()
        );
        run += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1_500))).await;
        assert!(
            started.elapsed() < Duration::from_secs(1800),
            "sending and killing took too long"
        );
    }
    sender.await.unwrap();

    // The last run: until every callback is in (faults still on).
    let mut child = spawn_relay(&cfg, &dir.join(format!("relay-{run}.log")));
    let ids = sent.lock().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(1200);
    for (from, id) in &ids {
        let left = deadline.saturating_duration_since(Instant::now());
        let (r, _) = demo::wait_greeting(&pair, *from, *id, left)
            .await
            .unwrap_or_else(|e| panic!("request {id} from chain {from}: {e}"));
        assert_eq!(
            r["state"],
            json!("ok"),
            "request {id} from chain {from}: {r}"
        );
    }
    // Let the bookkeeping of the last deliveries land, then stop.
    let store = SqliteStore::open(&db).unwrap();
    let settle = Instant::now() + Duration::from_secs(180);
    loop {
        let c = store.counts(None).await.unwrap();
        if c.pending == 0 && c.delivering == 0 || Instant::now() > settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Exactly once: each greeter executed each call once; each caller got each callback.
    for at in [0, 1] {
        assert_eq!(
            greeter_count(&pair, at).await,
            PER_CHAIN,
            "greeter on chain {at}"
        );
    }
    // Nothing skipped, nothing pending: each channel's watermark reached the sender's counter.
    for (src, dst) in [(0usize, 1usize), (1, 0)] {
        let out = channel(&pair, src).await;
        let inn = channel(&pair, dst).await;
        let next_out = u64_of(&out["next_out"]);
        assert_eq!(next_out, 2 * PER_CHAIN, "{src}: {out}");
        assert_eq!(u64_of(&inn["next_in"]), next_out, "{dst}: {inn}");
        assert_eq!(inn["ahead"], json!(0), "{inn}");
        let nsns = store
            .known_nsns(pair.name(src), pair.name(dst), 0, u64::MAX)
            .await
            .unwrap();
        assert_eq!(
            nsns,
            (0..next_out).collect::<Vec<_>>(),
            "every message queued once"
        );
    }
    // None failed, all settled.
    let c = store.counts(None).await.unwrap();
    println!("queue at the end: {c:?}");
    assert_eq!(c.failed, 0, "{c:?}");
    assert_eq!((c.pending, c.delivering), (0, 0), "{c:?}");
    assert_eq!(c.delivered, 4 * PER_CHAIN, "{c:?}");
    let all = store
        .list(&ListFilter {
            state: Some(EventState::Delivered),
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    let in_batches = all
        .iter()
        .filter(|e| {
            e.delivery
                .as_ref()
                .and_then(|d| d.get("batch"))
                .is_some_and(|b| !b.is_null())
        })
        .count();
    println!("{in_batches} of {} delivered in batches", all.len());
    if per_tx > 1 {
        assert!(
            in_batches > 0,
            "no batch formed: the batch path was not tested"
        );
    }
    let refusals: u32 = all.iter().map(|e| e.attempts).sum();
    let temporary: u32 = all.iter().map(|e| e.temp_failures).sum();
    println!(
        "{} kills; {} refusals counted, {} temporary failures absorbed",
        kills.load(Ordering::SeqCst),
        refusals,
        temporary
    );
    // The faults really happened, of every kind.
    let mut totals = json!({});
    for (i, two) in proxies.iter().enumerate() {
        for (k, p) in two.iter().enumerate() {
            let snap = p.counts().snapshot();
            println!("proxy {i}/{k}: {snap}");
            for (key, v) in snap.as_object().unwrap() {
                let t = totals[key].as_u64().unwrap_or(0) + v.as_u64().unwrap();
                totals[key] = json!(t);
            }
        }
    }
    for kind in [
        "delayed",
        "dropped_before_forwarding",
        "dropped_after_forwarding",
        "http_5xx",
        "garbage",
        "lagging_unknown_block",
    ] {
        assert!(
            totals[kind].as_u64().unwrap() > 0,
            "no {kind} fault injected: {totals}"
        );
    }
    assert!(kills.load(Ordering::SeqCst) >= MIN_KILLS);
    // No relayer log holds a panic; what the relayer went through, counted from its logs.
    let mut seen: Vec<(&str, usize)> = [
        "indexing stopped",
        "indexing step failed",
        "RPC call failed; retrying",
        "submission failed; looking for the transaction",
        "no outcome yet; polling tx status",
        "delivery delayed (temporary)",
        "an earlier delivery transaction executed",
        "pending again",
        "light client update failed",
        "transaction rejected; re-signing",
    ]
    .into_iter()
    .map(|k| (k, 0))
    .collect();
    for r in 0..=run {
        let log = std::fs::read_to_string(dir.join(format!("relay-{r}.log"))).unwrap_or_default();
        assert!(!log.contains("panicked"), "relay-{r}.log: a panic");
        for (k, n) in seen.iter_mut() {
            *n += log.matches(*k).count();
        }
    }
    println!("relayer log lines over all runs: {seen:?}");
    match Arc::try_unwrap(pair) {
        Ok(p) => p.stop().await,
        Err(_) => panic!("pair still shared"),
    }
}

/// A temporary directory removed when the test passes and kept when it fails: the relayer's logs
/// (`relay-<run>.log`), its queue and the chains' data are what a failure is diagnosed from.
struct KeptOnFailure(Option<tempfile::TempDir>);

impl KeptOnFailure {
    fn path(&self) -> &std::path::Path {
        self.0.as_ref().expect("present until dropped").path()
    }
}

impl Drop for KeptOnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(t) = self.0.take() {
                eprintln!(
                    "test failed: its directory is kept at {}",
                    t.keep().display()
                );
            }
        }
    }
}
