//! A local chain pair with everything deployed and the bridge service, and the two round trips
//! of `xsc demo`. The end-to-end tests and the benchmark use the same pieces.
//!
//! [`LocalPair::start`]: two sandbox nodes ([`crate::localnet`]) with distinct chain ids,
//! deployment with [`xsc_bridge::deploy::deploy_pair`] (the code `xsc deploy` runs against testnet or
//! a Calimero shard), and a relayer [`Config`] for [`Service::start`].

use crate::localnet::{self, LocalNode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use xsc_bridge::config::Config;
use xsc_bridge::deploy::{
    self, ChainAccess, ChainTarget, DeployOptions, Deployed, RelayerSetup, NEAR,
};
use xsc_bridge::rpc::{BlockRef, FinalOutcome, RpcClient};
use xsc_bridge::service::{Service, ServiceOptions};
use xsc_bridge::signer::TxSigner;
use xsc_bridge::tx::{TxOptions, TxSender, MAX_GAS_300T};

pub type DemoResult<T> = Result<T, String>;

/// Attached to the demo ledger's `register` (its storage; the surplus is refunded).
pub const REGISTER_DEPOSIT: u128 = NEAR / 100;

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

#[derive(Debug, Clone)]
pub struct PairOptions {
    pub chain_ids: [String; 2],
    pub epoch_length: u64,
    pub res_dir: PathBuf,
    pub demo_dapps: bool,
    /// Chain B's neard when it differs from chain A's (an older protocol: the Calimero side).
    pub bin_b: Option<PathBuf>,
    /// Delivery keys (nonce lanes) of the relayer on each chain.
    pub delivery_keys: usize,
    /// Relayer instances (each with its own keys) that will share one queue.
    pub instances: usize,
}

impl Default for PairOptions {
    fn default() -> Self {
        PairOptions {
            chain_ids: ["xsc-a".into(), "xsc-b".into()],
            epoch_length: 100,
            res_dir: PathBuf::from("res"),
            demo_dapps: true,
            bin_b: localnet::find_neard_b(),
            delivery_keys: 4,
            instances: 1,
        }
    }
}

pub struct LocalPair {
    pub nodes: [LocalNode; 2],
    pub deployed: [Deployed; 2],
    pub config: Config,
    /// The root account (`test.near`) of each chain: deployer, admin and demo user. The relayer
    /// signs as `relayer.test.near`, with function-call keys.
    pub users: [Arc<TxSender>; 2],
    pub rpcs: [RpcClient; 2],
    pub dir: PathBuf,
    /// How the relayer accounts were set up.
    pub relayer: RelayerSetup,
}

impl LocalPair {
    /// Start two nodes under `dir`, deploy, and write `dir/relayer.toml`.
    pub async fn start(
        bin: &Path,
        dir: &Path,
        opts: &PairOptions,
        progress: &(dyn Fn(&str) + Sync),
    ) -> DemoResult<LocalPair> {
        std::fs::create_dir_all(dir).map_err(s)?;
        let nodes = localnet::start_pair(
            bin,
            opts.bin_b.as_deref(),
            dir,
            [&opts.chain_ids[0], &opts.chain_ids[1]],
            opts.epoch_length,
        )
        .await
        .map_err(s)?;
        for n in &nodes {
            let protocol = n
                .rpc()
                .status()
                .await
                .ok()
                .and_then(|st| st.protocol_version)
                .map_or_else(|| "?".to_string(), |v| v.to_string());
            progress(&format!(
                "started sandbox `{}` at {} (protocol {protocol}, home {})",
                n.chain_id,
                n.rpc_url,
                n.home.display()
            ));
        }
        let mut users = Vec::new();
        let mut targets = Vec::new();
        for n in &nodes {
            let rpc = n.rpc();
            let signer = TxSigner::from_key_file(&n.key_file).map_err(s)?;
            let tx = Arc::new(TxSender::new(
                rpc.clone(),
                Arc::new(signer),
                TxOptions::default(),
            ));
            users.push(tx.clone());
            targets.push(ChainTarget {
                name: n.chain_id.clone(),
                chain_id: n.chain_id.clone(),
                rpc,
                tx,
                accounts: deploy::Accounts::under(localnet::VALIDATOR),
            });
        }
        // The relayer is its own account with function-call keys only (`xsc deploy` does the
        // same), so that its nonces never race the users' and it holds no admin power.
        let relayer = RelayerSetup {
            account: format!("relayer.{}", localnet::VALIDATOR),
            balance: 50 * NEAR,
            delivery_keys: opts.delivery_keys,
            fast_path: true,
            // Deliveries attach no deposit (the sender's fee covers the destination's storage),
            // so function-call keys are all the relayer holds.
            deposit_key: false,
            keys_dir: dir.join("keys"),
            instances: opts.instances,
        };
        let dopts = DeployOptions {
            res_dir: opts.res_dir.clone(),
            demo: opts.demo_dapps,
            relayer: Some(relayer.clone()),
            ..DeployOptions::default()
        };
        let deployed = deploy::deploy_pair(&targets[0], &targets[1], &dopts, progress)
            .await
            .map_err(s)?;
        let db = dir.join("relayer.db");
        let toml = deploy::relayer_config_toml(
            &deployed,
            [0, 1].map(|i| ChainAccess {
                rpc_urls: vec![nodes[i].rpc_url.clone()],
                rpc_header: None,
                key_files: vec![],
                start_height: None,
            }),
            &db,
            "",
        );
        let cfg_path = dir.join("relayer.toml");
        std::fs::write(&cfg_path, &toml).map_err(s)?;
        let config =
            Config::from_toml_with_env(&toml, &cfg_path.display().to_string(), None, &|_| None)
                .map_err(s)?;
        let rpcs = [targets[0].rpc.clone(), targets[1].rpc.clone()];
        let users = [users[0].clone(), users[1].clone()];
        Ok(LocalPair {
            nodes,
            deployed,
            config,
            users,
            rpcs,
            dir: dir.to_path_buf(),
            relayer,
        })
    }

    /// Start the bridge service (in this process), indexing from the deployment heights.
    pub async fn start_service(&self, opts: ServiceOptions) -> DemoResult<Service> {
        Service::start(&self.config, opts).await.map_err(s)
    }

    pub async fn stop(self) {
        for n in self.nodes {
            n.stop().await;
        }
    }

    pub fn name(&self, i: usize) -> &str {
        &self.deployed[i].name
    }

    /// Run the deployment again over the deployed pair, as re-running `xsc deploy` would.
    pub async fn redeploy(&self, res_dir: &Path) -> DemoResult<[Deployed; 2]> {
        let targets: Vec<ChainTarget> = (0..2)
            .map(|i| ChainTarget {
                name: self.deployed[i].name.clone(),
                chain_id: self.deployed[i].chain_id.clone(),
                rpc: self.rpcs[i].clone(),
                tx: self.users[i].clone(),
                accounts: self.deployed[i].accounts.clone(),
            })
            .collect();
        let dopts = DeployOptions {
            res_dir: res_dir.to_path_buf(),
            demo: true,
            relayer: Some(self.relayer.clone()),
            ..DeployOptions::default()
        };
        deploy::deploy_pair(&targets[0], &targets[1], &dopts, &|_| {})
            .await
            .map_err(s)
    }
}

/// View call (optimistic).
pub async fn view<T: DeserializeOwned>(
    rpc: &RpcClient,
    account: &str,
    method: &str,
    args: Value,
) -> DemoResult<T> {
    rpc.view_call_json(account, method, &args, BlockRef::Optimistic)
        .await
        .map_err(s)
}

/// Call with JSON args, 300 Tgas; an on-chain failure is an error ([`deploy::call_json`]).
pub async fn call(
    tx: &TxSender,
    account: &str,
    method: &str,
    args: Value,
    deposit: u128,
) -> DemoResult<FinalOutcome> {
    deploy::call_json(tx, account, method, args, deposit)
        .await
        .map_err(s)
}

/// Height of the block that included the transaction.
pub async fn tx_height(rpc: &RpcClient, out: &FinalOutcome) -> DemoResult<u64> {
    let h = out
        .transaction_outcome
        .as_ref()
        .and_then(|o| o.block_hash)
        .ok_or("no transaction outcome block")?;
    Ok(rpc.block(BlockRef::Hash(h)).await.map_err(s)?.header.height)
}

pub async fn height(rpc: &RpcClient) -> DemoResult<u64> {
    Ok(rpc
        .block(BlockRef::Optimistic)
        .await
        .map_err(s)?
        .header
        .height)
}

/// Poll `f` every 200 ms until it gives `Some`, at most `timeout`.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> DemoResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = DemoResult<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if started.elapsed() > timeout {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn u64_of(v: &Value) -> Option<u64> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
}

/// A Calimero `cross_call` round trip from chain `from` (demo-cross-call) to the greeter on the
/// other chain and back.
#[derive(Debug, Clone)]
pub struct RoundTrip {
    pub request_id: u64,
    pub sent_height: u64,
    pub callback_height: u64,
    pub result: Value,
}

/// Send the cross call; returns `(request_id, height)`.
pub async fn send_greeting(pair: &LocalPair, from: usize, name: &str) -> DemoResult<(u64, u64)> {
    let (id, height, _) = send_greeting_traced(pair, from, name).await?;
    Ok((id, height))
}

/// [`send_greeting`], also returning the transaction's outcome.
pub async fn send_greeting_traced(
    pair: &LocalPair,
    from: usize,
    name: &str,
) -> DemoResult<(u64, u64, FinalOutcome)> {
    let to = 1 - from;
    let out = call(
        &pair.users[from],
        &pair.deployed[from].accounts.cross_call,
        "greet_remote",
        json!({ "greeter": pair.deployed[to].accounts.greeter, "name": name }),
        0,
    )
    .await?;
    let id: Value = out.success_json().ok_or("no return value")?.map_err(s)?;
    let request_id = u64_of(&id).ok_or_else(|| format!("request id: {id}"))?;
    let height = tx_height(&pair.rpcs[from], &out).await?;
    Ok((request_id, height, out))
}

/// Wait for the callback of `request_id`; returns `(result, height seen)`.
pub async fn wait_greeting(
    pair: &LocalPair,
    from: usize,
    request_id: u64,
    timeout: Duration,
) -> DemoResult<(Value, u64)> {
    let rpc = &pair.rpcs[from];
    let account = &pair.deployed[from].accounts.cross_call;
    wait_for("the cross_call callback", timeout, || async move {
        let r: Value = view(
            rpc,
            account,
            "get_result",
            json!({ "request_id": request_id.to_string() }),
        )
        .await?;
        if r.is_null() || r.get("state").and_then(Value::as_str) == Some("pending") {
            return Ok(None);
        }
        Ok(Some((r, height(rpc).await?)))
    })
    .await
}

pub async fn cross_call_round_trip(
    pair: &LocalPair,
    from: usize,
    name: &str,
    timeout: Duration,
) -> DemoResult<RoundTrip> {
    let (request_id, sent_height) = send_greeting(pair, from, name).await?;
    let (result, callback_height) = wait_greeting(pair, from, request_id, timeout).await?;
    Ok(RoundTrip {
        request_id,
        sent_height,
        callback_height,
        result,
    })
}

/// The request id on chain `at` of the xCall message `sn` from the other chain.
pub async fn find_request(
    pair: &LocalPair,
    at: usize,
    sn: u64,
    timeout: Duration,
) -> DemoResult<Value> {
    let rpc = &pair.rpcs[at];
    let conn = &pair.deployed[at].accounts.connector;
    wait_for(
        "the xCall message on the destination",
        timeout,
        || async move {
            for req_id in 1..=1000u64 {
                let r: Value = view(
                    rpc,
                    conn,
                    "get_request",
                    json!({ "req_id": req_id.to_string() }),
                )
                .await?;
                if r.is_null() {
                    // Ids are sequential; a cleared request is null too, so look a bit further.
                    let state: Value = view(
                        rpc,
                        conn,
                        "request_state",
                        json!({ "req_id": req_id.to_string() }),
                    )
                    .await?;
                    if state == json!("unknown") {
                        return Ok(None);
                    }
                    continue;
                }
                if r.get("sn").and_then(u64_of) == Some(sn) {
                    return Ok(Some(r));
                }
            }
            Ok(None)
        },
    )
    .await
}

/// State of a sent xCall message (by sn) on chain `at`.
pub async fn message_state(pair: &LocalPair, at: usize, sn: u64) -> DemoResult<String> {
    let v: Value = view(
        &pair.rpcs[at],
        &pair.deployed[at].accounts.connector,
        "message_state",
        json!({ "sn": sn.to_string() }),
    )
    .await?;
    Ok(v.as_str().unwrap_or_default().to_string())
}

pub async fn wait_message_state(
    pair: &LocalPair,
    at: usize,
    sn: u64,
    want: &[&str],
    timeout: Duration,
) -> DemoResult<String> {
    wait_for("the xCall response", timeout, || async move {
        let st = message_state(pair, at, sn).await?;
        Ok(want.contains(&st.as_str()).then_some(st))
    })
    .await
}

/// `transfer` on the ledger of chain `from`; returns `(sn, height)`.
pub async fn ledger_transfer(
    pair: &LocalPair,
    from: usize,
    to: &str,
    amount: u128,
) -> DemoResult<(u64, u64)> {
    let out = call(
        &pair.users[from],
        &pair.deployed[from].accounts.xcall_transfer,
        "transfer",
        json!({ "to": to, "amount": amount.to_string() }),
        NEAR,
    )
    .await?;
    let v: Value = out.success_json().ok_or("no return value")?.map_err(s)?;
    let sn = u64_of(&v).ok_or_else(|| format!("sn: {v}"))?;
    Ok((sn, tx_height(&pair.rpcs[from], &out).await?))
}

pub async fn ledger_balance(
    pair: &LocalPair,
    at: usize,
    account: &str,
) -> DemoResult<Option<u128>> {
    let v: Value = view(
        &pair.rpcs[at],
        &pair.deployed[at].accounts.xcall_transfer,
        "balance_of",
        json!({ "account_id": account }),
    )
    .await?;
    Ok(v.as_str().and_then(|s| s.parse().ok()))
}

/// The whole demo: a `cross_call` round trip A → B → A and a two-way xCall transfer whose
/// execution fails on B and is rolled back on A. Prints every step.
pub async fn run_demo(pair: &LocalPair, out: &(dyn Fn(&str) + Sync)) -> DemoResult<()> {
    let t = Duration::from_secs(180);
    let (a, b) = (pair.name(0).to_string(), pair.name(1).to_string());
    let user = localnet::VALIDATOR;

    out("── 1. Calimero cross_call round trip ──");
    let (request_id, sent) = send_greeting(pair, 0, "xsc").await?;
    out(&format!(
        "[{a}] {} called cross_call: greet(\"xsc\") on {}/{}; request id {request_id}, block #{sent}",
        pair.deployed[0].accounts.cross_call, b, pair.deployed[1].accounts.greeter
    ));
    let greeted = wait_for("the greeting on the destination", t, || async {
        let c: Value = view(
            &pair.rpcs[1],
            &pair.deployed[1].accounts.greeter,
            "get_count",
            json!({}),
        )
        .await?;
        if c.as_str().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0) > 0 {
            Ok(Some(height(&pair.rpcs[1]).await?))
        } else {
            Ok(None)
        }
    })
    .await?;
    out(&format!(
        "[{b}] the relayer proved the call; greeter executed it (seen at block #{greeted})"
    ));
    let (result, cb) = wait_greeting(pair, 0, request_id, t).await?;
    out(&format!(
        "[{a}] callback on_greeting recorded at block #{cb}: {result} — round trip {} blocks",
        cb.saturating_sub(sent)
    ));

    out("── 2. xCall two-way message that fails and is rolled back ──");
    let ledger_a = &pair.deployed[0].accounts.xcall_transfer;
    call(
        &pair.users[0],
        ledger_a,
        "register",
        json!({}),
        REGISTER_DEPOSIT,
    )
    .await?;
    call(
        &pair.users[0],
        ledger_a,
        "mint",
        json!({ "amount": "100" }),
        0,
    )
    .await?;
    out(&format!(
        "[{a}] {user} holds {:?} on {ledger_a}",
        ledger_balance(pair, 0, user).await?
    ));
    let nobody = "nobody.test.near";
    let (sn, sent) = ledger_transfer(pair, 0, nobody, 40).await?;
    out(&format!(
        "[{a}] transfer 40 to {nobody} on {b} (not registered there): xCall sn {sn}, block #{sent}; balance now {:?}",
        ledger_balance(pair, 0, user).await?
    ));
    let req = find_request(pair, 1, sn, t).await?;
    let req_id = req.get("req_id").and_then(u64_of).ok_or("req_id")?;
    out(&format!(
        "[{b}] message delivered as request {req_id} (at block #{}); executing it",
        height(&pair.rpcs[1]).await?
    ));
    let exec = pair.users[1]
        .call_function(
            &pair.deployed[1].accounts.connector,
            "execute_call",
            serde_json::to_vec(&json!({ "req_id": req_id.to_string() })).expect("json"),
            MAX_GAS_300T,
            0,
        )
        .await
        .map_err(s)?;
    let exec_h = tx_height(&pair.rpcs[1], &exec).await?;
    let failed_log = exec
        .logs()
        .find(|l| l.contains("ERR_NOT_REGISTERED") || l.contains("call_executed"))
        .map(str::to_string)
        .unwrap_or_default();
    out(&format!(
        "[{b}] execute_call({req_id}) at block #{exec_h}: handle_call_message failed (recipient not registered) {failed_log}"
    ));
    let st = wait_message_state(pair, 0, sn, &["execution_failed"], t).await?;
    out(&format!(
        "[{a}] failure response proven back: message {sn} is `{st}` (block #{})",
        height(&pair.rpcs[0]).await?
    ));
    let rb = call(
        &pair.users[0],
        &pair.deployed[0].accounts.connector,
        "execute_rollback",
        json!({ "sn": sn.to_string() }),
        0,
    )
    .await?;
    let rb_h = tx_height(&pair.rpcs[0], &rb).await?;
    let st = wait_message_state(pair, 0, sn, &["rolled_back"], t).await?;
    out(&format!(
        "[{a}] execute_rollback({sn}) at block #{rb_h}: `{st}`; {user}'s balance is back to {:?}",
        ledger_balance(pair, 0, user).await?
    ));
    out(&format!(
        "results: cross_call → {result}; xCall transfer → {st}, balance {:?} on {a}, {nobody} unknown on {b}",
        ledger_balance(pair, 0, user).await?
    ));
    Ok(())
}
