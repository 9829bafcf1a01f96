//! Exact gas of the connector's operations on two local sandboxes (numbers for BENCHMARKS.md).
//!
//! Everything is deployed with the deployment code of `xsc deploy` ([`LocalPair::start`]); no
//! relayer service runs: this bin sends each message, relays the light client block and
//! delivers the proof itself, so that it knows every transaction's hash. Gas comes from
//! `EXPERIMENTAL_tx_status` (`wait_until: FINAL`): the transaction's conversion plus every
//! receipt of `receipts_outcome`, each attributed to its executor and method.
//!
//! `cargo run --release -p xsc-devnet --bin connector_gas` (needs a neard sandbox binary and
//! `res/*.wasm`).

use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use xsc_bridge::delivery::{classify, Decision, Relay};
use xsc_bridge::deploy::NEAR;
use xsc_bridge::events::{parse_transport, MessageKind};
use xsc_bridge::lightclient_relay::{ContractTarget, LightClientRelay, RelayConfig, RpcSource};
use xsc_bridge::rpc::{BlockRef, FinalOutcome, ProofTarget, RpcClient};
use xsc_bridge::tx::{actions, TxSender, MAX_GAS_300T};
use xsc_core::CryptoHash;
use xsc_devnet::demo::{self, LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN, VALIDATOR};

type R<T> = Result<T, String>;

const T: Duration = Duration::from_secs(300);
const TGAS: f64 = 1e12;

fn s(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// One receipt (or the transaction's conversion) with the gas it burnt.
#[derive(Debug, Clone)]
struct Item {
    id: CryptoHash,
    executor: String,
    predecessor: String,
    /// Method names, or the other actions (`Transfer`, …); `tx` for the conversion.
    what: String,
    gas: u64,
    tokens_burnt: u128,
    logs: Vec<String>,
    block_hash: Option<CryptoHash>,
    is_receipt: bool,
    /// The node's gas profile of a receipt (`metadata.gas_profile`): `(cost, gas)`, largest
    /// first. Shows where a receipt's gas goes (contract loading, instructions, host calls).
    profile: Vec<(String, u64)>,
}

/// A measured transaction.
#[derive(Debug, Clone)]
struct Measured {
    tx_hash: CryptoHash,
    items: Vec<Item>,
}

impl Measured {
    fn total(&self) -> u64 {
        self.items.iter().map(|i| i.gas).sum()
    }

    fn receipts(&self) -> usize {
        self.items.iter().filter(|i| i.is_receipt).count()
    }

    /// `(count, gas)` of the gas refunds (receipts from `system`).
    fn refunds(&self) -> (usize, u64) {
        let r = self.items.iter().filter(|i| i.predecessor == "system");
        (r.clone().count(), r.map(|i| i.gas).sum())
    }

    /// Gas of the receipts executed by `executor` calling `method`.
    fn gas_of(&self, executor: &str, method: &str) -> u64 {
        self.items
            .iter()
            .filter(|i| i.is_receipt && i.executor == executor && i.what == method)
            .map(|i| i.gas)
            .sum()
    }

    /// The receipt of `executor` whose logs hold a transport event of `kind`.
    fn message(&self, executor: &str, kind: MessageKind) -> R<&Item> {
        self.items
            .iter()
            .find(|i| {
                i.is_receipt
                    && i.executor == executor
                    && i.logs
                        .iter()
                        .any(|l| parse_transport(l).is_some_and(|m| m.kind == kind))
            })
            .ok_or_else(|| {
                format!(
                    "no `{}` event of {executor} in transaction {}",
                    kind.event_name(),
                    self.tx_hash
                )
            })
    }

    fn logs(&self) -> impl Iterator<Item = &str> {
        self.items
            .iter()
            .flat_map(|i| i.logs.iter().map(String::as_str))
    }
}

/// What a receipt does: its function calls' method names, else its action kinds.
fn receipt_what(receipt: &Value) -> String {
    let Some(acts) = receipt
        .pointer("/receipt/Action/actions")
        .and_then(Value::as_array)
    else {
        return if receipt.pointer("/receipt/Data").is_some() {
            "(data)".into()
        } else {
            "?".into()
        };
    };
    let names: Vec<String> = acts
        .iter()
        .map(|a| match a {
            Value::Object(m) => match m.get("FunctionCall") {
                Some(fc) => fc["method_name"].as_str().unwrap_or("?").to_string(),
                None => m.keys().next().cloned().unwrap_or_default(),
            },
            Value::String(x) => x.clone(),
            _ => "?".into(),
        })
        .collect();
    names.join("+")
}

/// Every outcome of a transaction with its gas, from `EXPERIMENTAL_tx_status` (final).
async fn measure(rpc: &RpcClient, tx_hash: &CryptoHash, sender: &str) -> R<Measured> {
    let mut v = Value::Null;
    for _ in 0..60 {
        // The array form: old nodes (protocol 63) take no other; they also give no
        // `final_execution_status`, and a reply with a final status is then complete.
        match rpc
            .call_value(
                "EXPERIMENTAL_tx_status",
                json!([tx_hash.to_string(), sender]),
            )
            .await
        {
            Ok(x)
                if match x.get("final_execution_status").and_then(Value::as_str) {
                    Some(st) => st == "FINAL",
                    None => x.get("status").is_some_and(|st| {
                        st.get("SuccessValue").is_some() || st.get("Failure").is_some()
                    }),
                } =>
            {
                v = x;
                break;
            }
            Ok(_) => {}
            Err(e) => eprintln!("EXPERIMENTAL_tx_status {tx_hash}: {e}; retrying"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    if v.is_null() {
        return Err(format!("transaction {tx_hash} not final"));
    }
    let out: FinalOutcome = serde_json::from_value(v.clone()).map_err(s)?;
    let mut receipts: HashMap<String, (String, String)> = HashMap::new();
    for r in v["receipts"].as_array().into_iter().flatten() {
        receipts.insert(
            r["receipt_id"].as_str().unwrap_or_default().to_string(),
            (
                r["predecessor_id"].as_str().unwrap_or_default().to_string(),
                receipt_what(r),
            ),
        );
    }
    let mut profiles: HashMap<String, Vec<(String, u64)>> = HashMap::new();
    for o in v["receipts_outcome"].as_array().into_iter().flatten() {
        let mut p: Vec<(String, u64)> = o
            .pointer("/outcome/metadata/gas_profile")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| {
                let name = c["cost"].as_str()?.to_string();
                let gas = u64_of(&c["gas_used"])?;
                Some((name, gas))
            })
            .collect();
        p.sort_by_key(|c| std::cmp::Reverse(c.1));
        profiles.insert(o["id"].as_str().unwrap_or_default().to_string(), p);
    }
    let mut items = Vec::new();
    if let Some(t) = &out.transaction_outcome {
        items.push(Item {
            id: t.id,
            executor: t.outcome.executor_id.clone(),
            predecessor: t.outcome.executor_id.clone(),
            what: "(transaction → receipt)".into(),
            gas: t.outcome.gas_burnt,
            tokens_burnt: t.outcome.tokens_burnt,
            logs: t.outcome.logs.clone(),
            block_hash: t.block_hash,
            is_receipt: false,
            profile: Vec::new(),
        });
    }
    for o in &out.receipts_outcome {
        let (predecessor, what) = receipts
            .get(&o.id.to_string())
            .cloned()
            .unwrap_or_else(|| ("?".into(), "?".into()));
        items.push(Item {
            id: o.id,
            executor: o.outcome.executor_id.clone(),
            predecessor,
            what,
            gas: o.outcome.gas_burnt,
            tokens_burnt: o.outcome.tokens_burnt,
            logs: o.outcome.logs.clone(),
            block_hash: o.block_hash,
            is_receipt: true,
            profile: profiles.remove(&o.id.to_string()).unwrap_or_default(),
        });
    }
    Ok(Measured {
        tx_hash: *tx_hash,
        items,
    })
}

/// A table row.
struct Row {
    op: String,
    total: u64,
    /// Total minus the destination's own receipt (or the part the row names).
    excl: Option<(u64, String)>,
    receipts: usize,
    m: Measured,
}

struct Bench {
    pair: LocalPair,
    /// The relayer's signer on each chain.
    relayer: [Arc<TxSender>; 2],
    /// `relays[i]` keeps chain i's light client up to date with the other chain.
    relays: [Relay; 2],
    rows: Vec<Row>,
    /// Deliver through the light client's `verify_and_forward` (the service's default) rather
    /// than the connector's own delivery methods.
    fast: bool,
}

impl Bench {
    fn conn(&self, i: usize) -> &str {
        &self.pair.deployed[i].accounts.connector
    }

    /// A user transaction (root account of chain `at`), measured.
    async fn user_call(
        &self,
        at: usize,
        account: &str,
        method: &str,
        args: Value,
        deposit: u128,
    ) -> R<(Measured, FinalOutcome)> {
        let out = demo::call(&self.pair.users[at], account, method, args, deposit).await?;
        let h = out.tx_hash().ok_or("no transaction hash")?;
        let m = measure(&self.pair.rpcs[at], &h, VALIDATOR).await?;
        Ok((m, out))
    }

    /// The receipt of `m` (on chain `from`) that logged the `kind` message, and the height of
    /// the block it executed in.
    async fn executed_at(
        &self,
        from: usize,
        m: &Measured,
        kind: MessageKind,
    ) -> R<(CryptoHash, u64)> {
        let item = m.message(self.conn(from), kind)?;
        let bh = item.block_hash.ok_or("outcome without block hash")?;
        let height = self.pair.rpcs[from]
            .block(BlockRef::Hash(bh))
            .await
            .map_err(s)?
            .header
            .height;
        Ok((item.id, height))
    }

    /// Deliver the `kind` message held by a receipt of `m` (executed on chain `from`) to the
    /// other chain: relay a light client block if needed, get the proof, call the delivery
    /// method. Returns the delivery transaction, measured.
    async fn deliver(
        &self,
        from: usize,
        m: &Measured,
        kind: MessageKind,
        deposit: u128,
    ) -> R<Measured> {
        let to = 1 - from;
        let (receipt_id, height) = self.executed_at(from, m, kind).await?;
        // The proof block is the block after the executing one (sandbox blocks all have chunks).
        let head = self.relays[to]
            .proof_head_for(height + 1, T)
            .await
            .map_err(s)?;
        let proof = self.pair.rpcs[from]
            .light_client_proof(
                &ProofTarget::Receipt {
                    receipt_id,
                    receiver_id: self.conn(from).to_string(),
                },
                &head.hash,
            )
            .await
            .map_err(s)?;
        let (receiver, method, args) = if self.fast {
            let msg = borsh::to_vec(&kind).map_err(s)?;
            (
                self.pair.deployed[to].accounts.light_client.as_str(),
                "verify_and_forward",
                borsh::to_vec(&(&proof, head.height, self.conn(to), msg)).map_err(s)?,
            )
        } else {
            (
                self.conn(to),
                kind.delivery_method(),
                borsh::to_vec(&(&proof, head.height)).map_err(s)?,
            )
        };
        let out = self.relayer[to]
            .send(
                receiver,
                vec![actions::function_call(method, args, MAX_GAS_300T, deposit)],
            )
            .await
            .map_err(s)?;
        let failure = out.failure().map(|f| f.message.clone());
        let d = classify(failure.as_deref(), out.logs());
        if d != Decision::Delivered(None) {
            return Err(format!(
                "{} of {} (block #{height}, head #{}): {d:?}; logs {:?}",
                kind.delivery_method(),
                receipt_id,
                head.height,
                out.logs().collect::<Vec<_>>()
            ));
        }
        let h = out.tx_hash().ok_or("no transaction hash")?;
        let signer = self.relayer[to].signer().account_id().to_string();
        measure(&self.pair.rpcs[to], &h, &signer).await
    }

    /// Deliver the `kind` messages of several transactions of chain `from` in one batch: one
    /// transaction calling the light client's `verify_and_forward_batch`, every proof against
    /// the same head. Checks that every message was delivered; returns the batch, measured.
    async fn deliver_batch(&self, from: usize, ms: &[Measured], kind: MessageKind) -> R<Measured> {
        let to = 1 - from;
        let mut items = Vec::new();
        for m in ms {
            items.push(self.executed_at(from, m, kind).await?);
        }
        let top = items.iter().map(|(_, h)| *h).max().ok_or("empty batch")?;
        let head = self.relays[to]
            .proof_head_for(top + 1, T)
            .await
            .map_err(s)?;
        let msg = borsh::to_vec(&kind).map_err(s)?;
        let mut batch = Vec::new();
        for (id, _) in &items {
            let proof = self.pair.rpcs[from]
                .light_client_proof(
                    &ProofTarget::Receipt {
                        receipt_id: *id,
                        receiver_id: self.conn(from).to_string(),
                    },
                    &head.hash,
                )
                .await
                .map_err(s)?;
            batch.push((proof, head.height, msg.clone()));
        }
        let args = borsh::to_vec(&(self.conn(to), &batch)).map_err(s)?;
        let out = self.relayer[to]
            .send(
                &self.pair.deployed[to].accounts.light_client,
                vec![actions::function_call(
                    "verify_and_forward_batch",
                    args,
                    MAX_GAS_300T,
                    0,
                )],
            )
            .await
            .map_err(s)?;
        let delivered = out
            .logs()
            .filter(|l| l.contains("\"event\":\"delivered\""))
            .count();
        if out.failure().is_some() || delivered != ms.len() {
            return Err(format!(
                "batch of {}: {delivered} delivered, failure {:?}; logs {:?}",
                ms.len(),
                out.failure().map(|f| f.message.clone()),
                out.logs().collect::<Vec<_>>()
            ));
        }
        let h = out.tx_hash().ok_or("no transaction hash")?;
        let signer = self.relayer[to].signer().account_id().to_string();
        measure(&self.pair.rpcs[to], &h, &signer).await
    }

    fn row(&mut self, op: &str, m: &Measured, excl: Option<(u64, &str)>) {
        println!(
            "measured: {op}: {:.3} Tgas, tx {}",
            m.total() as f64 / TGAS,
            m.tx_hash
        );
        self.rows.push(Row {
            op: op.to_string(),
            total: m.total(),
            excl: excl.map(|(g, what)| (g, what.to_string())),
            receipts: m.receipts(),
            m: m.clone(),
        });
    }

    /// A row whose "excluding" column is the total minus the receipts of `executor.method`.
    fn row_excl(&mut self, op: &str, m: &Measured, executor: &str, method: &str) -> R<()> {
        let dest = m.gas_of(executor, method);
        if dest == 0 {
            return Err(format!(
                "{op}: no receipt {executor}.{method} in {}",
                m.tx_hash
            ));
        }
        let what = format!("minus {executor}.{method}");
        self.row(op, m, Some((m.total() - dest, &what)));
        Ok(())
    }

    /// A row whose "excluding" column is only the receipts of `executor.method` (for the
    /// connector's own share of a dapp's transaction).
    fn row_only(&mut self, op: &str, m: &Measured, executor: &str, method: &str) -> R<()> {
        let g = m.gas_of(executor, method);
        if g == 0 {
            return Err(format!(
                "{op}: no receipt {executor}.{method} in {}",
                m.tx_hash
            ));
        }
        let what = format!("only {executor}.{method}");
        self.row(op, m, Some((g, &what)));
        Ok(())
    }
}

/// Every `add_light_client_block` transaction sent to chain `at`'s light client during the run
/// (the relays' updates: blocks of the other chain, one producer), measured: the light
/// client's gas per block under chain `at`'s fees. Found by reading every block of the chain
/// (a local sandbox: a few hundred blocks, one shard).
async fn light_client_updates(pair: &LocalPair, at: usize) -> R<Vec<Measured>> {
    let rpc = &pair.rpcs[at];
    let lc = pair.deployed[at].accounts.light_client.as_str();
    let tip = rpc.block(BlockRef::Final).await.map_err(s)?.header.height;
    let mut found = Vec::new();
    for h in 1..=tip {
        let Some(block) = rpc.block_if_exists(h).await.map_err(s)? else {
            continue;
        };
        for c in block.new_chunks() {
            let chunk = rpc.chunk(&c.chunk_hash).await.map_err(s)?;
            for t in &chunk.transactions {
                if t.receiver_id == lc && t.method_names().any(|m| m == "add_light_client_block") {
                    found.push((t.hash, t.signer_id.clone()));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (hash, signer) in found {
        out.push(measure(rpc, &hash, &signer).await?);
    }
    Ok(out)
}

/// A report line for the light client updates of one chain: count, median, min, max (Tgas) of
/// the whole transaction and of the light client's receipt alone.
fn light_client_line(chain: &str, protocol: &str, lc: &str, updates: &[Measured]) -> String {
    if updates.is_empty() {
        return format!("| {chain} | {protocol} | 0 | — | — | — |\n");
    }
    let stats = |mut v: Vec<u64>| {
        v.sort_unstable();
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (med, min, max) = stats(updates.iter().map(Measured::total).collect());
    let (rmed, _, _) = stats(
        updates
            .iter()
            .map(|m| m.gas_of(lc, "add_light_client_block"))
            .collect(),
    );
    format!(
        "| {chain} | {protocol} | {} | **{}** ({}–{}) | {} |\n",
        updates.len(),
        tg(med),
        tg(min),
        tg(max),
        tg(rmed)
    )
}

/// `cross_call` arguments of a user's direct call: `greet(name)` on `greeter` with 10 Tgas, no
/// source callback.
fn greet_by_cross_call(greeter: &str, name: &str) -> Value {
    json!({
        "destination_contract_id": greeter,
        "destination_contract_method": "greet",
        "destination_contract_args": json!({"name": name}).to_string(),
        "destination_gas": "10000000000000",
        "destination_deposit": "0",
        "source_callback_method": "",
    })
}

/// How many `cross_call` deliveries the batch row carries.
const BATCH: usize = 5;

fn tg(g: u64) -> String {
    format!("{:.3}", g as f64 / TGAS)
}

fn u64_of(v: &Value) -> Option<u64> {
    v.as_str()
        .and_then(|x| x.parse().ok())
        .or_else(|| v.as_u64())
}

/// `req_id` of the `call_message` event a delivery logged.
fn req_id_of(m: &Measured) -> R<u64> {
    m.logs()
        .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
        .filter_map(|j| serde_json::from_str::<Value>(j).ok())
        .find(|v| v["standard"] == "xcall" && v["event"] == "call_message")
        .and_then(|v| u64_of(&v["data"]["req_id"]))
        .ok_or_else(|| format!("no call_message event in {}", m.tx_hash))
}

fn wasm_size(res: &std::path::Path, name: &str) -> String {
    let p = res.join(name);
    match std::fs::metadata(&p) {
        Ok(md) => format!("{} bytes", md.len()),
        Err(e) => format!("unreadable ({e})"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> R<()> {
    let Some(bin) = find_neard() else {
        eprintln!("{MISSING_BIN}");
        std::process::exit(1);
    };
    let dir = std::env::temp_dir().join(format!("xsc-gas-{}", std::process::id()));
    let res = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res");
    let res = res.canonicalize().unwrap_or(res);
    let opts = PairOptions {
        res_dir: res.clone(),
        chain_ids: ["gas-a".into(), "gas-b".into()],
        ..PairOptions::default()
    };
    // `--entry`: deliver through the connector's own (Calimero-format) methods.
    let fast = !std::env::args().any(|a| a == "--entry");
    let pair = LocalPair::start(&bin, &dir, &opts, &|l| eprintln!("{l}")).await?;
    let result = run(pair, fast).await;
    let _ = std::fs::remove_dir_all(&dir);
    let (rows, bench_pair) = result?;
    // The fee parameters of chain B (where the `cross_call` deliveries run): what any receipt
    // costs before its code runs, hence the floor of a delivery of this design.
    let fees = match bench_pair.rpcs[1]
        .call_value(
            "EXPERIMENTAL_protocol_config",
            json!({ "finality": "final" }),
        )
        .await
    {
        Ok(config) => fee_floor(&config),
        Err(e) => format!("(EXPERIMENTAL_protocol_config failed: {e})\n"),
    };
    // The light client's gas per block on each chain (the updates the deliveries needed).
    let mut lc_report = String::from(
        "Light client updates (`add_light_client_block`, borsh, blocks of the other local chain: one producer) sent during the run, per chain that ran them:\n\n\
| chain | protocol | updates | transaction total, median (min–max) Tgas | light client receipt, median Tgas |\n|---|---|---:|---:|---:|\n",
    );
    for at in 0..2 {
        let protocol = match bench_pair.rpcs[at].status().await {
            Ok(st) => st
                .protocol_version
                .map_or_else(|| "?".to_string(), |v| v.to_string()),
            Err(e) => format!("? ({e})"),
        };
        let lc = bench_pair.deployed[at].accounts.light_client.clone();
        match light_client_updates(&bench_pair, at).await {
            Ok(updates) => {
                lc_report += &light_client_line(bench_pair.name(at), &protocol, &lc, &updates)
            }
            Err(e) => {
                lc_report += &format!(
                    "| {} | {protocol} | failed: {e} | | |\n",
                    bench_pair.name(at)
                )
            }
        }
    }
    bench_pair.stop().await;

    let mut report = String::new();
    report += &format!(
        "Command: `cargo run --release -p xsc-devnet --bin connector_gas{}` (two local neard sandboxes, ",
        if fast { "" } else { " -- --entry" }
    );
    report += &format!("{})\n\n", bin.display());
    report += if fast {
        "Deliveries: the fast path, the light client's `verify_and_forward` calling the connector's `on_proven_outcome` (the service's default). The rows name the connector method of the same kind.\n\n"
    } else {
        "Deliveries: the connector's own methods (`cross_call_execute`, …: Calimero's format), which call the light client's `verify_outcome` and wait for its answer.\n\n"
    };
    report += &format!(
        "Wasm used: `res/xsc_connector.wasm` {}, `res/xsc_calimero_executor.wasm` {}, `res/xsc_light_client.wasm` {}\n\n",
        wasm_size(&res, "xsc_connector.wasm"),
        wasm_size(&res, "xsc_calimero_executor.wasm"),
        wasm_size(&res, "xsc_light_client.wasm")
    );
    report += "| operation | total Tgas | excluding destination Tgas | receipts | of which gas refunds (from `system`): count, Tgas |\n";
    report += "|---|---:|---:|---:|---:|\n";
    for r in &rows {
        let excl = match &r.excl {
            Some((g, what)) => format!("{} ({what})", tg(*g)),
            None => "—".into(),
        };
        let (nref, gref) = r.m.refunds();
        report += &format!(
            "| {} | {} | {} | {} | {nref}, {} |\n",
            r.op,
            tg(r.total),
            excl,
            r.receipts,
            tg(gref)
        );
    }
    report += "\nTotal = gas burnt by the transaction's conversion plus all its receipts (refunds included); \
receipts = receipts in `receipts_outcome`. Light client updates (`add_light_client_block`) \
done before a delivery are separate transactions and not included. Per receipt (exact gas):\n";
    for r in &rows {
        report += &format!("\n**{}** (tx `{}`)\n\n", r.op, r.m.tx_hash);
        report += "| executor | predecessor | method / action | gas | Tgas | tokens burnt (yocto) | largest costs of the profile (Tgas) |\n|---|---|---|---:|---:|---:|---|\n";
        for i in &r.m.items {
            let profile = i
                .profile
                .iter()
                .take(6)
                .map(|(name, g)| format!("{name} {}", tg(*g)))
                .collect::<Vec<_>>()
                .join(", ");
            report += &format!(
                "| {} | {} | {} | {} | {} | {} | {profile} |\n",
                i.executor,
                i.predecessor,
                i.what,
                i.gas,
                tg(i.gas),
                i.tokens_burnt
            );
        }
    }
    report += "\n";
    report += &lc_report;
    report += "\n";
    report += &fees;
    println!("\n{report}");
    Ok(())
}

/// Chain B's per-receipt fees (from `EXPERIMENTAL_protocol_config`) and the floor they set
/// for a fast-path `cross_call` delivery excluding the destination's own receipt: the light
/// client's receipt, `on_proven_outcome`, the executor's `execute`, the destination's send fees
/// (paid by the executor) and the callback `on_cross_call_finished` with its data receipt,
/// before a single instruction or host call (the transaction's conversion is measured above).
fn fee_floor(config: &Value) -> String {
    let costs = &config["runtime_config"]["transaction_costs"];
    let ext = &config["runtime_config"]["wasm_config"]["ext_costs"];
    let fee = |path: &str| {
        let f = costs.pointer(path).cloned().unwrap_or(Value::Null);
        let g = |k: &str| u64_of(&f[k]).unwrap_or(0);
        (g("send_sir").max(g("send_not_sir")), g("execution"))
    };
    let receipt = fee("/action_receipt_creation_config");
    let call = fee("/action_creation_config/function_call_cost");
    let data = fee("/data_receipt_creation_config/base_cost");
    let load_base = u64_of(&ext["contract_loading_base"]).unwrap_or(0);
    let load_byte = u64_of(&ext["contract_loading_bytes"]).unwrap_or(0);
    let per_call = receipt.0 + receipt.1 + call.0 + call.1;
    // LC: execution only (its send is in the transaction's conversion); connector, executor,
    // callback: send + execution; destination: send only; one data receipt (send + execution).
    let floor = (receipt.1 + call.1) + 3 * per_call + (receipt.0 + call.0) + data.0 + data.1;
    let mut out = format!(
        "Fees of chain B (protocol {}), gas: action receipt send {} / execution {}; function call send {} / execution {}; data receipt send {} / execution {}; contract loading {} + {} per byte.\n",
        config["protocol_version"], receipt.0, receipt.1, call.0, call.1, data.0, data.1, load_base, load_byte
    );
    out += &format!(
        "Floor of a fast-path `cross_call` delivery excluding the destination, fees only (4 function-call receipts, the destination's send fees, 1 data receipt; transaction conversion not included): {} Tgas; contract loading adds {} Tgas per load + {} Tgas per 100 KB.\n",
        tg(floor),
        tg(load_base),
        tg(load_byte * 100_000)
    );
    out
}

async fn run(pair: LocalPair, fast: bool) -> R<(Vec<Row>, LocalPair)> {
    // Deliveries are signed by the chains' root accounts: the relayer's function-call keys may
    // not call the connector's own delivery methods nor attach deposits, and who signs does
    // not change the gas of the receipts measured.
    let (rpc_a, rpc_b) = (pair.rpcs[0].clone(), pair.rpcs[1].clone());
    let (tx_a, tx_b) = (pair.users[0].clone(), pair.users[1].clone());
    let relay = |src: &RpcClient, dest: usize, tx: &Arc<TxSender>| -> Relay {
        LightClientRelay::new(
            RpcSource { rpc: src.clone() },
            ContractTarget::new(
                pair.deployed[dest].accounts.light_client.clone(),
                tx.clone(),
            ),
            RelayConfig::new(pair.name(1 - dest), pair.name(dest)),
        )
    };
    let relays = [relay(&rpc_b, 0, &tx_a), relay(&rpc_a, 1, &tx_b)];
    let mut b = Bench {
        relayer: [tx_a, tx_b],
        relays,
        rows: Vec::new(),
        pair,
        fast,
    };
    let p = &b.pair;
    let (na, nb) = (p.name(0).to_string(), p.name(1).to_string());
    let acc_a = p.deployed[0].accounts.clone();
    let acc_b = p.deployed[1].accounts.clone();
    let user = VALIDATOR;

    // Setup: the user may send directly through connector A; the user is registered on both
    // ledgers and holds 100 on A.
    demo::call(
        &p.users[0],
        &acc_a.connector,
        "allow",
        json!({ "rule": user }),
        0,
    )
    .await?;
    demo::call(
        &p.users[1],
        &acc_b.xcall_transfer,
        "register",
        json!({}),
        demo::REGISTER_DEPOSIT,
    )
    .await?;
    demo::call(
        &p.users[0],
        &acc_a.xcall_transfer,
        "register",
        json!({}),
        demo::REGISTER_DEPOSIT,
    )
    .await?;
    demo::call(
        &p.users[0],
        &acc_a.xcall_transfer,
        "mint",
        json!({"amount": "100"}),
        0,
    )
    .await?;

    // ── Calimero API ──
    // 1. cross_call by a user transaction straight to the connector (no source callback).
    let (direct, _) = b
        .user_call(
            0,
            &acc_a.connector,
            "cross_call",
            greet_by_cross_call(&acc_b.greeter, "direct"),
            0,
        )
        .await?;
    b.row("`cross_call` (user tx → connector)", &direct, None);
    let exec = b.deliver(0, &direct, MessageKind::CrossCall, 0).await?;
    b.row_excl(
        "`cross_call_execute` (of the direct call; destination greet 10 Tgas prepaid)",
        &exec,
        &acc_b.greeter,
        "greet",
    )?;
    match exec.message(&acc_b.connector, MessageKind::CrossCallResponse) {
        Ok(_) => {
            let resp = b
                .deliver(1, &exec, MessageKind::CrossCallResponse, 0)
                .await?;
            b.row(
                "`cross_call_receive_response` (no source callback)",
                &resp,
                None,
            );
        }
        Err(e) => println!("direct cross_call: no response to deliver ({e})"),
    }

    // 2. cross_call through the demo-cross-call dapp, its execution and response.
    let (dapp, _) = b
        .user_call(
            0,
            &acc_a.cross_call,
            "greet_remote",
            json!({"greeter": acc_b.greeter, "name": "dapp"}),
            0,
        )
        .await?;
    b.row_only(
        "demo-cross-call `greet_remote` → `cross_call` (whole tx; excl. column = the connector's `cross_call` receipt only)",
        &dapp,
        &acc_a.connector,
        "cross_call",
    )?;
    let exec = b.deliver(0, &dapp, MessageKind::CrossCall, 0).await?;
    b.row_excl(
        "`cross_call_execute` (dapp's call)",
        &exec,
        &acc_b.greeter,
        "greet",
    )?;
    let resp = b
        .deliver(1, &exec, MessageKind::CrossCallResponse, 0)
        .await?;
    b.row_excl(
        "`cross_call_receive_response` (with source callback `on_greeting`)",
        &resp,
        &acc_a.cross_call,
        "on_greeting",
    )?;

    // 2a. Deliveries in a batch: BATCH direct `cross_call`s delivered by one
    // `verify_and_forward_batch`. Each `greet` with 10 Tgas attaches 41 Tgas and needs 66 to
    // start: the 300 Tgas of one transaction carry six on protocol 86, five on protocol 63
    // (where the light client's receipt keeps more for its fees).
    let mut sent = Vec::new();
    for i in 0..BATCH {
        let (m, _) = b
            .user_call(
                0,
                &acc_a.connector,
                "cross_call",
                greet_by_cross_call(&acc_b.greeter, &format!("batch {i}")),
                0,
            )
            .await?;
        sent.push(m);
    }
    let batch = b.deliver_batch(0, &sent, MessageKind::CrossCall).await?;
    b.row_excl(
        &format!("`cross_call_execute` × {BATCH} in one batch (`verify_and_forward_batch`; excl. column = all {BATCH}, minus their `greet`s)"),
        &batch,
        &acc_b.greeter,
        "greet",
    )?;

    // 2b. A Calimero destination returning 2 MiB (the most a 200 Tgas destination can return
    // to a callback on current protocols): what reading it costs `on_cross_call_finished`.
    let hostile = format!("hostile.{user}");
    xsc_bridge::deploy::create_and_deploy(
        &b.pair.users[1],
        &hostile,
        5 * NEAR,
        std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res/xsc_demo_hostile.wasm"),
        )
        .map_err(s)?,
        None,
    )
    .await
    .map_err(s)?;
    for (len, label) in [(0u64, "empty"), (2 << 20, "2 MiB")] {
        let (sent, _) = b
            .user_call(
                0,
                &acc_a.connector,
                "cross_call",
                json!({
                    "destination_contract_id": hostile,
                    "destination_contract_method": "big",
                    "destination_contract_args": json!({"len": len.to_string()}).to_string(),
                    "destination_gas": "200000000000000",
                    "destination_deposit": "0",
                    "source_callback_method": "",
                }),
                0,
            )
            .await?;
        let exec = b.deliver(0, &sent, MessageKind::CrossCall, 0).await?;
        b.row_only(
            &format!("`cross_call_execute`, destination returns {label} (excl. column = `on_cross_call_finished` only)"),
            &exec,
            &acc_b.connector,
            "on_cross_call_finished",
        )?;
    }

    // ── xCall API ──
    let fee = |rollback: bool| {
        let rpc = b.pair.rpcs[0].clone();
        let conn = acc_a.connector.clone();
        let nb = nb.clone();
        async move {
            let v: Value = demo::view(
                &rpc,
                &conn,
                "get_fee",
                // The exact data length ("hello"): no surplus to refund.
                json!({"net": nb, "rollback": rollback, "data_len": 5}),
            )
            .await?;
            v.as_str()
                .and_then(|x| x.parse::<u128>().ok())
                .ok_or_else(|| format!("get_fee: {v}"))
        }
    };
    let fee1 = fee(false).await?;
    // Relayers attach nothing: the connector stakes the request (the sender's fee paid for it).
    let deliver_deposit = 0;

    // 3. One-way send_call_message by a user.
    let (one_way, _) = b
        .user_call(
            0,
            &acc_a.connector,
            "send_call_message",
            json!({
                "to": format!("btp://{nb}/{}", acc_b.greeter),
                "data": "aGVsbG8=",
                "rollback": null,
            }),
            fee1,
        )
        .await?;
    b.row(
        "`send_call_message` one-way (user tx → connector)",
        &one_way,
        None,
    );
    let recv = b
        .deliver(0, &one_way, MessageKind::XcallMessage, deliver_deposit)
        .await?;
    b.row("`xcall_receive_message` (one-way)", &recv, None);
    let req = req_id_of(&recv)?;
    let (ex, _) = b
        .user_call(
            1,
            &acc_b.connector,
            "execute_call",
            json!({"req_id": req.to_string()}),
            0,
        )
        .await?;
    b.row_excl(
        "`execute_call` one-way, destination fails (greeter has no `handle_call_message`)",
        &ex,
        &acc_b.greeter,
        "handle_call_message",
    )?;

    // 4. Two-way, succeeds: the ledger's transfer to a registered account.
    let (ok_send, _) = b
        .user_call(
            0,
            &acc_a.xcall_transfer,
            "transfer",
            json!({"to": user, "amount": "30"}),
            NEAR,
        )
        .await?;
    b.row_only(
        "demo-xcall-transfer `transfer` → `send_call_message` two-way (whole tx; excl. column = the connector's `send_call_message` receipt only)",
        &ok_send,
        &acc_a.connector,
        "send_call_message",
    )?;
    let recv = b
        .deliver(0, &ok_send, MessageKind::XcallMessage, deliver_deposit)
        .await?;
    b.row("`xcall_receive_message` (two-way)", &recv, None);
    let req = req_id_of(&recv)?;
    let (ex, _) = b
        .user_call(
            1,
            &acc_b.connector,
            "execute_call",
            json!({"req_id": req.to_string()}),
            0,
        )
        .await?;
    b.row_excl(
        "`execute_call` two-way, succeeds",
        &ex,
        &acc_b.xcall_transfer,
        "handle_call_message",
    )?;
    let resp = b.deliver(1, &ex, MessageKind::XcallResponse, 0).await?;
    b.row(
        "`xcall_receive_response` (success, clears the message)",
        &resp,
        None,
    );

    // 5. Two-way, fails on the destination, rolled back on the source.
    let (fail_send, _) = b
        .user_call(
            0,
            &acc_a.xcall_transfer,
            "transfer",
            json!({"to": format!("nobody.{user}"), "amount": "40"}),
            NEAR,
        )
        .await?;
    b.row_only(
        "demo-xcall-transfer `transfer` (to be rolled back) (excl. column = connector's `send_call_message` receipt only)",
        &fail_send,
        &acc_a.connector,
        "send_call_message",
    )?;
    let recv = b
        .deliver(0, &fail_send, MessageKind::XcallMessage, deliver_deposit)
        .await?;
    b.row("`xcall_receive_message` (two-way, will fail)", &recv, None);
    let req = req_id_of(&recv)?;
    let (ex, _) = b
        .user_call(
            1,
            &acc_b.connector,
            "execute_call",
            json!({"req_id": req.to_string()}),
            0,
        )
        .await?;
    b.row_excl(
        "`execute_call` two-way, destination fails (failure response)",
        &ex,
        &acc_b.xcall_transfer,
        "handle_call_message",
    )?;
    let resp = b.deliver(1, &ex, MessageKind::XcallResponse, 0).await?;
    b.row(
        "`xcall_receive_response` (failure → rollback pending)",
        &resp,
        None,
    );
    let sn = {
        let v: Value = ok_send_sn(&fail_send)?;
        u64_of(&v).ok_or("sn")?
    };
    let st = demo::message_state(&b.pair, 0, sn).await?;
    println!("message {sn} on {na}: {st}");
    let (rb, _) = b
        .user_call(
            0,
            &acc_a.connector,
            "execute_rollback",
            json!({"sn": sn.to_string()}),
            0,
        )
        .await?;
    b.row_excl(
        "`execute_rollback`",
        &rb,
        &acc_a.xcall_transfer,
        "handle_call_message",
    )?;
    let st = demo::message_state(&b.pair, 0, sn).await?;
    println!("message {sn} on {na} after rollback: {st}");
    if st != "rolled_back" {
        return Err(format!("message {sn} is `{st}`, expected rolled_back"));
    }
    Ok((b.rows, b.pair))
}

/// The sn a `send_call_message` receipt returned (the connector's receipt's success value).
fn ok_send_sn(m: &Measured) -> R<Value> {
    m.logs()
        .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
        .filter_map(|j| serde_json::from_str::<Value>(j).ok())
        .find(|v| v["standard"] == "xcall" && v["event"] == "call_message_sent")
        .map(|v| v["data"]["sn"].clone())
        .ok_or_else(|| format!("no call_message_sent event in {}", m.tx_hash))
}
