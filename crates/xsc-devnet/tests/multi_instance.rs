//! Proof on two sandbox chains that several relayer instances share one PostgreSQL queue safely:
//! three real `xsc relay` processes (each with its own keys, as `xsc deploy --instances 3`
//! writes them), 250 `cross_call`s sent from each chain (500 messages each way: the calls and
//! the other chain's responses), the instance holding the light client relay killed with SIGKILL
//! mid-flight, a third instance started later. At the end:
//! - every message was delivered exactly once (each greeter counted 250 calls, every caller got
//!   its 250 callbacks, each channel's watermark equals the sender's counter, nothing ahead;
//!   every sequence number is in the queue once, delivered), none failed;
//! - no nonce error cost a delivery (no refusal counted, no nonce rejection in any log);
//! - the light client relay never submitted the same block twice, read back from the chains'
//!   blocks (every `add_light_client_block` transaction, its block height and its outcome).
//!
//! Ignored by default: it needs a neard sandbox binary, `res/*.wasm`, a PostgreSQL server
//! (`XSC_TEST_POSTGRES_URL`) and the `xsc` binary (`cargo build -p xsc-cli`). `scripts/test.sh`
//! runs it (RAN/SKIPPED). By hand:
//!
//! ```sh
//! scripts/build.sh && cargo build -p xsc-cli
//! scripts/pg-harness.sh run -- cargo test -p xsc-devnet --test multi_instance -- --ignored --nocapture
//! ```

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use xsc_bridge::deploy::QueueConfig;
use xsc_bridge::queue::{DatabaseUrl, EventState, ListFilter, MessageStore, PostgresStore};
use xsc_bridge::rpc::BlockRef;
use xsc_devnet::demo::{LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN};
use xsc_devnet::multi::{self, Greetings, RelayProcess, Sent};

const PER_CHAIN: usize = 250;
const INSTANCES: usize = 3;

fn res_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs a neard sandbox binary, res/*.wasm, PostgreSQL (XSC_TEST_POSTGRES_URL) and the xsc binary"]
async fn three_instances_on_one_postgres_queue_deliver_every_message_once_through_a_kill() {
    let bin = find_neard().unwrap_or_else(|| panic!("{MISSING_BIN}"));
    let xsc = multi::find_xsc().unwrap();
    let url = multi::fresh_postgres_database("multi").await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let opts = PairOptions {
        res_dir: res_dir(),
        chain_ids: ["multi-a".into(), "multi-b".into()],
        instances: INSTANCES,
        ..PairOptions::default()
    };
    let pair = LocalPair::start(&bin, dir, &opts, &|l| println!("{l}"))
        .await
        .unwrap();
    // Claims and roles expire quickly, so that the kill's effects are seen within the test.
    let extra =
        "lease_s = 15\nrole_lease_s = 5\ngap_check_interval_s = 30\nlog_format = \"compact\"\n";
    let queue = QueueConfig::Postgres(&url);
    let cfgs: Vec<PathBuf> = (1..=INSTANCES)
        .map(|k| {
            let p = dir.join(format!("relayer-{k}.toml"));
            std::fs::write(
                &p,
                multi::instance_config(&pair, &queue, k, [None, None], extra),
            )
            .unwrap();
            p
        })
        .collect();
    let log = |k: usize, run: usize| dir.join(format!("relayer-{k}.{run}.log"));
    let mut procs: HashMap<usize, RelayProcess> = HashMap::new();
    for k in [1, 2] {
        procs.insert(
            k,
            RelayProcess::start(&xsc, k, &cfgs[k - 1], &log(k, 0)).unwrap(),
        );
    }
    let store = PostgresStore::connect(&DatabaseUrl::parse(&url).unwrap())
        .await
        .unwrap();

    // The users send from both chains, in bursts, while the relayers work.
    let senders = [0, 1].map(|from| {
        let g = Greetings::new(&pair, from).unwrap();
        tokio::spawn(async move {
            let mut all = Vec::new();
            for burst in 0..5 {
                all.extend(g.send(&format!("m{from}-{burst}-"), PER_CHAIN / 5).await?);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Ok::<Vec<Sent>, String>(all)
        })
    });

    // Mid-flight: kill the instance that relays light client blocks (and holds other roles and
    // claims), without any cleanup.
    let started = Instant::now();
    let killed = loop {
        let c = store.counts(None).await.unwrap();
        if c.delivered >= 150 {
            let roles = store.leases("relay:").await.unwrap();
            let holder = roles
                .iter()
                .filter_map(|l| l.owner.strip_prefix("relayer-"))
                .filter_map(|k| k.parse::<usize>().ok())
                .next()
                .unwrap_or(1);
            println!(
                "after {:.0} s, queue {c:?}; roles {:?}: killing instance {holder} (SIGKILL)",
                started.elapsed().as_secs_f64(),
                roles
                    .iter()
                    .map(|l| format!("{}={}", l.name, l.owner))
                    .collect::<Vec<_>>()
            );
            let p = procs.remove(&holder).unwrap();
            p.kill();
            break holder;
        }
        assert!(
            started.elapsed() < Duration::from_secs(900),
            "nothing delivered: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let kill_at = store.counts(None).await.unwrap();
    // The third instance joins later.
    tokio::time::sleep(Duration::from_secs(8)).await;
    procs.insert(
        3,
        RelayProcess::start(&xsc, 3, &cfgs[2], &log(3, 0)).unwrap(),
    );
    let mut sent = Vec::new();
    for s in senders {
        sent.extend(s.await.unwrap().unwrap());
    }
    println!(
        "{} greetings sent; queue when the third instance started: {:?}",
        sent.len(),
        store.counts(None).await.unwrap()
    );

    // Every callback in.
    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let n = multi::callbacks_in(&pair, &sent).await.unwrap();
        if n == sent.len() {
            break;
        }
        for (k, p) in procs.iter_mut() {
            assert!(p.alive(), "instance {k} exited; see {}", p.log.display());
        }
        assert!(
            Instant::now() < deadline,
            "{n}/{} callbacks after 30 min: {:?}",
            sent.len(),
            store.counts(None).await.unwrap()
        );
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let settle = Instant::now() + Duration::from_secs(180);
    while {
        let c = store.counts(None).await.unwrap();
        c.pending + c.delivering > 0
    } && Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "all {} callbacks in after {:.0} s",
        sent.len(),
        started.elapsed().as_secs_f64()
    );
    // Stop the survivors gracefully (they release their roles).
    let survivors: Vec<usize> = procs.keys().copied().collect();
    let logs: Vec<(usize, String)> = procs
        .drain()
        .map(|(k, p)| {
            let text = p.log_text();
            p.stop();
            (k, text)
        })
        .chain(std::iter::once((
            killed,
            std::fs::read_to_string(log(killed, 0)).unwrap_or_default(),
        )))
        .collect();
    assert!(
        store.leases("relay:").await.unwrap().is_empty(),
        "roles released at a graceful stop"
    );

    // Exactly once, nothing failed, nothing skipped.
    for at in [0, 1] {
        assert_eq!(
            multi::greeter_count(&pair, at).await.unwrap(),
            PER_CHAIN as u64,
            "greeter on chain {at}"
        );
    }
    for x in &sent {
        let r = multi::request_state(&pair, x.from, x.request_id)
            .await
            .unwrap();
        assert_eq!(
            r["state"], "ok",
            "request {} from {}: {r}",
            x.request_id, x.from
        );
    }
    for (src, dst) in [(0usize, 1usize), (1, 0)] {
        let out: serde_json::Value = xsc_devnet::demo::view(
            &pair.rpcs[src],
            &pair.deployed[src].accounts.connector,
            "channel",
            serde_json::json!({}),
        )
        .await
        .unwrap();
        let inn: serde_json::Value = xsc_devnet::demo::view(
            &pair.rpcs[dst],
            &pair.deployed[dst].accounts.connector,
            "channel",
            serde_json::json!({}),
        )
        .await
        .unwrap();
        let next_out = multi::u64_of(&out["next_out"]).unwrap();
        assert_eq!(next_out, 2 * PER_CHAIN as u64, "{src}: {out}");
        assert_eq!(multi::u64_of(&inn["next_in"]).unwrap(), next_out, "{inn}");
        assert_eq!(inn["ahead"], serde_json::json!(0), "{inn}");
        let nsns = store
            .known_nsns(pair.name(src), pair.name(dst), 0, u64::MAX)
            .await
            .unwrap();
        assert_eq!(nsns, (0..next_out).collect::<Vec<_>>(), "queued once each");
    }
    let c = store.counts(None).await.unwrap();
    println!("queue at the end: {c:?}");
    assert_eq!(
        (c.pending, c.delivering, c.failed, c.delivered),
        (0, 0, 0, 4 * PER_CHAIN as u64),
        "{c:?}"
    );
    let events = store
        .list(&ListFilter {
            state: Some(EventState::Delivered),
            limit: 100_000,
            ..Default::default()
        })
        .await
        .unwrap();
    // No nonce error cost a delivery: no refusal was counted, none mentions a nonce, and no
    // instance was told its nonce was wrong (each signs with its own keys).
    let refused: Vec<_> = events.iter().filter(|e| e.attempts > 0).collect();
    assert!(refused.is_empty(), "refusals counted: {refused:?}");
    assert!(events.iter().all(|e| !e
        .last_error
        .as_deref()
        .unwrap_or("")
        .to_lowercase()
        .contains("nonce")));
    let temporary: u32 = events.iter().map(|e| e.temp_failures).sum();
    // Why deliveries waited (the last reason of each event that had to), by error code.
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for e in events.iter().filter(|e| e.temp_failures > 0) {
        let r = e.last_error.as_deref().unwrap_or("?");
        let code = r
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| w.starts_with("ERR_"))
            .map(str::to_string)
            .unwrap_or_else(|| r.chars().take(60).collect());
        *reasons.entry(code).or_default() += 1;
    }
    println!("last temporary reason of the events that waited: {reasons:?}");
    for (k, text) in &logs {
        assert!(!text.contains("panicked"), "instance {k}: a panic");
        let nonce = text.matches("InvalidNonce").count() + text.matches("Nonce(").count();
        assert_eq!(nonce, 0, "instance {k}: nonce rejections in its log");
    }
    println!(
        "killed instance {killed} at {kill_at:?}; survivors {survivors:?}; {temporary} temporary failures absorbed (claims of the killed instance waited for their lease)"
    );

    // The light client relay never submitted a block twice, as the chains record it; every
    // submission succeeded; and which instance signed what.
    let keys: Vec<[HashSet<String>; 2]> = (1..=INSTANCES)
        .map(|k| {
            [0, 1].map(|i| {
                multi::instance_public_keys(&pair, i, k)
                    .unwrap()
                    .into_iter()
                    .collect()
            })
        })
        .collect();
    let instance_of = |i: usize, pk: &str| {
        (0..INSTANCES)
            .find(|k| keys[*k][i].contains(pk))
            .map(|k| k + 1)
    };
    let mut delivered_by: HashMap<usize, usize> = HashMap::new();
    for dest in [0usize, 1] {
        let rpc = &pair.rpcs[dest];
        let fin = rpc.block(BlockRef::Final).await.unwrap().header.height;
        let txs = multi::light_client_transactions(
            rpc,
            &pair.deployed[dest].accounts.light_client,
            pair.deployed[dest].deploy_height,
            fin,
        )
        .await
        .unwrap();
        let blocks: Vec<_> = txs
            .iter()
            .filter(|t| t.method == "add_light_client_block")
            .collect();
        assert!(
            !blocks.is_empty(),
            "no light client block relayed to {dest}"
        );
        let mut heights = HashSet::new();
        let mut by = HashMap::<usize, usize>::new();
        for t in &blocks {
            let h = t.submitted_height.expect("a decodable block");
            assert!(
                heights.insert(h),
                "block {h} submitted twice to chain {dest}'s light client (again in {})",
                t.tx_hash
            );
            let out = rpc.tx_status(&t.tx_hash, &t.signer).await.unwrap();
            assert!(
                out.failure().is_none(),
                "light client update {} failed: {:?}",
                t.tx_hash,
                out.failure()
            );
            *by.entry(instance_of(dest, &t.public_key).unwrap_or(0))
                .or_default() += 1;
        }
        // Deliveries alone or in batches.
        for t in txs
            .iter()
            .filter(|t| t.method.starts_with("verify_and_forward"))
        {
            *delivered_by
                .entry(instance_of(dest, &t.public_key).unwrap_or(0))
                .or_default() += 1;
        }
        println!(
            "chain {dest}: {} light client blocks, each height once, all executed; signed by instance: {by:?}",
            blocks.len()
        );
    }
    println!("delivery transactions by instance: {delivered_by:?}");
    assert!(
        !delivered_by.contains_key(&0),
        "a delivery signed by a key of no instance"
    );
    assert!(
        delivered_by.len() >= 2,
        "the work was shared by several instances: {delivered_by:?}"
    );
    pair.stop().await;
}
