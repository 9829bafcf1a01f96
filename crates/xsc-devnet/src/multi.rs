//! Several `xsc relay` processes on one queue, on a local chain pair: what the multi-instance
//! suite (`tests/multi_instance.rs`) and the benchmark (`src/bin/multi_bench.rs`) stand on.
//!
//! - [`fresh_postgres_database`]: a new database on a throw-away PostgreSQL server
//!   (`XSC_TEST_POSTGRES_URL`, which `scripts/test.sh` / `scripts/pg-harness.sh` start);
//! - [`instance_config`]: the configuration `xsc deploy --instances N` writes for instance k;
//! - [`RelayProcess`]: the real `xsc` binary as a child process, killed with SIGKILL;
//! - [`Greetings`]: many `cross_call`s sent at once from one chain;
//! - [`light_client_transactions`]: every transaction to a light client, read back from the
//!   chain's blocks (which block heights were submitted, by which key, with what outcome).

use crate::demo::{self, LocalPair};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use xsc_bridge::deploy::{self, ChainAccess, QueueConfig};
use xsc_bridge::events::parse_transport;
use xsc_bridge::rpc::{ActionView, RpcClient};
use xsc_bridge::signer::TxSigner;
use xsc_bridge::tx::{TxOptions, TxSender, MAX_GAS_300T};
use xsc_core::{CryptoHash, LightClientBlockView};

pub type R<T> = Result<T, String>;

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The variable naming the test server.
pub const POSTGRES_URL_ENV: &str = "XSC_TEST_POSTGRES_URL";

/// A new, empty database on the server named by [`POSTGRES_URL_ENV`]; its URL.
pub async fn fresh_postgres_database(tag: &str) -> R<String> {
    let base = std::env::var(POSTGRES_URL_ENV).map_err(|_| {
        format!("{POSTGRES_URL_ENV} is not set: a PostgreSQL server is needed (scripts/pg-harness.sh run -- ...)")
    })?;
    let name = format!(
        "xsc_{tag}_{}_{:08x}",
        std::process::id(),
        rand::random::<u32>()
    );
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .map_err(|e| format!("{POSTGRES_URL_ENV}: {e}"))?;
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(s)?;
    drop(client);
    let _ = task.await;
    let mut u = reqwest::Url::parse(&base).map_err(s)?;
    u.set_path(&format!("/{name}"));
    Ok(u.to_string())
}

/// Instance `k`'s configuration (1-based) on `queue`, as `xsc deploy --instances N` writes it,
/// with `extra` appended to its `[relayer]` section; the heights each chain's indexer starts at.
pub fn instance_config(
    pair: &LocalPair,
    queue: &QueueConfig<'_>,
    k: usize,
    start_heights: [Option<u64>; 2],
    extra: &str,
) -> String {
    let access = [0, 1].map(|i| ChainAccess {
        rpc_urls: vec![pair.nodes[i].rpc_url.clone()],
        rpc_header: None,
        key_files: vec![],
        start_height: start_heights[i],
    });
    let mut toml = deploy::instance_config_toml(&pair.deployed, access, queue, "", Some(k));
    toml += extra;
    toml
}

/// Where the `xsc` binary is: `XSC_BIN`, else beside the running executable (a test or a bench
/// in `target/<profile>/`, or `target/<profile>/deps/`).
pub fn find_xsc() -> R<PathBuf> {
    if let Some(p) = std::env::var_os("XSC_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(s)?;
    let mut dir = exe.parent();
    while let Some(d) = dir {
        let c = d.join("xsc");
        if c.is_file() {
            return Ok(c);
        }
        if d.file_name().is_some_and(|n| n == "target") {
            break;
        }
        dir = d.parent();
    }
    Err(format!(
        "no xsc binary beside {} (cargo build -p xsc-cli, or set XSC_BIN)",
        exe.display()
    ))
}

/// One `xsc relay` process.
pub struct RelayProcess {
    pub instance: usize,
    pub log: PathBuf,
    child: Child,
}

impl RelayProcess {
    /// Start `xsc relay --config cfg`, logging to `log`.
    pub fn start(xsc: &Path, instance: usize, cfg: &Path, log: &Path) -> R<Self> {
        let file = std::fs::File::create(log).map_err(s)?;
        let child = Command::new(xsc)
            .args(["relay", "--config", &cfg.display().to_string()])
            .env("RUST_LOG", "info,xsc_bridge::rpc=warn")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .map_err(|e| format!("start {}: {e}", xsc.display()))?;
        Ok(RelayProcess {
            instance,
            log: log.to_path_buf(),
            child,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no cleanup, no release of anything.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait (a graceful stop).
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..600 {
            if !self.alive() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `greet_remote` sent: its request id, its message's sequence number, the block that
/// included the user's transaction.
#[derive(Debug, Clone)]
pub struct Sent {
    pub from: usize,
    pub request_id: u64,
    pub nsn: u64,
    pub block: CryptoHash,
}

/// `cross_call`s from one chain's demo dapp, many at once: a sender of its own with a short
/// acceptance window, so hundreds of transactions are handed over in seconds (one key, one
/// nonce lane, in order).
pub struct Greetings {
    pub from: usize,
    sender: Arc<TxSender>,
    caller: String,
    greeter: String,
}

impl Greetings {
    pub fn new(pair: &LocalPair, from: usize) -> R<Self> {
        let signer = TxSigner::from_key_file(&pair.nodes[from].key_file).map_err(s)?;
        Ok(Greetings {
            from,
            sender: Arc::new(TxSender::new(
                pair.rpcs[from].clone(),
                Arc::new(signer),
                TxOptions {
                    accept_window: Duration::from_millis(20),
                    ..TxOptions::default()
                },
            )),
            caller: pair.deployed[from].accounts.cross_call.clone(),
            greeter: pair.deployed[1 - from].accounts.greeter.clone(),
        })
    }

    /// Send `n` greetings named `<tag><i>` at once; returns them when all executed.
    pub async fn send(&self, tag: &str, n: usize) -> R<Vec<Sent>> {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let (sender, caller, greeter, from) = (
                self.sender.clone(),
                self.caller.clone(),
                self.greeter.clone(),
                self.from,
            );
            let name = format!("{tag}{i}");
            tasks.spawn(async move {
                let args = json!({ "greeter": greeter, "name": name });
                let out = sender
                    .call_function(
                        &caller,
                        "greet_remote",
                        serde_json::to_vec(&args).map_err(s)?,
                        MAX_GAS_300T,
                        0,
                    )
                    .await
                    .map_err(s)?;
                let id: Value = out
                    .success_json()
                    .ok_or_else(|| format!("greet_remote failed: {:?}", out.failure()))?
                    .map_err(s)?;
                let request_id = id
                    .as_str()
                    .and_then(|x| x.parse().ok())
                    .or_else(|| id.as_u64())
                    .ok_or("request id")?;
                let nsn = out
                    .logs()
                    .find_map(parse_transport)
                    .ok_or("no cross_call event")?
                    .nsn;
                let block = out
                    .transaction_outcome
                    .as_ref()
                    .and_then(|o| o.block_hash)
                    .ok_or("no block")?;
                Ok::<_, String>(Sent {
                    from,
                    request_id,
                    nsn,
                    block,
                })
            });
        }
        let mut out = Vec::with_capacity(n);
        while let Some(r) = tasks.join_next().await {
            out.push(r.map_err(s)??);
        }
        Ok(out)
    }
}

/// The demo dapp's record of a request (`null` while unknown).
pub async fn request_state(pair: &LocalPair, from: usize, id: u64) -> R<Value> {
    demo::view(
        &pair.rpcs[from],
        &pair.deployed[from].accounts.cross_call,
        "get_result",
        json!({ "request_id": id.to_string() }),
    )
    .await
}

/// How many of `sent` have their callback (any state but pending).
pub async fn callbacks_in(pair: &LocalPair, sent: &[Sent]) -> R<usize> {
    let mut n = 0;
    for x in sent {
        let r = request_state(pair, x.from, x.request_id).await?;
        if !r.is_null() && r.get("state").and_then(Value::as_str) != Some("pending") {
            n += 1;
        }
    }
    Ok(n)
}

/// `get_count` of the greeter on chain `at`.
pub async fn greeter_count(pair: &LocalPair, at: usize) -> R<u64> {
    let v: Value = demo::view(
        &pair.rpcs[at],
        &pair.deployed[at].accounts.greeter,
        "get_count",
        json!({}),
    )
    .await?;
    u64_of(&v)
}

pub fn u64_of(v: &Value) -> R<u64> {
    v.as_str()
        .and_then(|x| x.parse().ok())
        .or_else(|| v.as_u64())
        .ok_or_else(|| format!("not a number: {v}"))
}

/// A transaction to a light client, as the chain holds it.
#[derive(Debug, Clone)]
pub struct LightClientTx {
    pub tx_hash: CryptoHash,
    /// Block of the destination chain that included it.
    pub included_at: u64,
    pub signer: String,
    pub public_key: String,
    pub method: String,
    /// For `add_light_client_block`: the height of the block submitted (of the other chain).
    pub submitted_height: Option<u64>,
}

/// Every transaction to `light_client` included in blocks `from..=to` of the chain behind
/// `rpc` (skipped heights are passed over).
pub async fn light_client_transactions(
    rpc: &RpcClient,
    light_client: &str,
    from: u64,
    to: u64,
) -> R<Vec<LightClientTx>> {
    let mut out = Vec::new();
    for h in from..=to {
        let Some(block) = rpc.block_if_exists(h).await.map_err(s)? else {
            continue;
        };
        for ch in block.new_chunks() {
            let chunk = rpc.chunk(&ch.chunk_hash).await.map_err(s)?;
            for tx in &chunk.transactions {
                if tx.receiver_id != light_client {
                    continue;
                }
                for a in &tx.actions {
                    let ActionView::FunctionCall {
                        method_name, args, ..
                    } = a
                    else {
                        continue;
                    };
                    let submitted_height = (method_name == "add_light_client_block")
                        .then(|| borsh::from_slice::<LightClientBlockView>(args).ok())
                        .flatten()
                        .map(|b| b.inner_lite.height);
                    out.push(LightClientTx {
                        tx_hash: tx.hash,
                        included_at: h,
                        signer: tx.signer_id.clone(),
                        public_key: tx.public_key.clone().unwrap_or_default(),
                        method: method_name.clone(),
                        submitted_height,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The public keys of instance `k`'s key files on chain `i` (1-based `k`).
pub fn instance_public_keys(pair: &LocalPair, i: usize, k: usize) -> R<Vec<String>> {
    let r = pair.deployed[i]
        .relayer
        .as_ref()
        .ok_or("no relayer deployed")?;
    r.instances
        .get(k - 1)
        .ok_or_else(|| format!("no instance {k}"))?
        .iter()
        .map(|f| {
            TxSigner::from_key_file(f)
                .map(|x| x.public_key().to_string())
                .map_err(s)
        })
        .collect()
}
