//! What the adversarial and upgrade suites share: a chain pair with relaying done by hand (so
//! that each test chooses what is delivered, when, how, with which gas and deposit), raw calls
//! that return failures instead of erring, exact balances and exact transfers.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use xsc_bridge::delivery::Relay;
use xsc_bridge::events::{parse_transport, MessageKind};
use xsc_bridge::lightclient_relay::{ContractTarget, LightClientRelay, RelayConfig, RpcSource};
use xsc_bridge::rpc::{BlockRef, FinalOutcome, OutcomeStatus, ProofTarget, RpcClient};
use xsc_bridge::tx::{actions, TxSender, MAX_GAS_300T};
use xsc_core::LightClientExecutionProof;
use xsc_devnet::demo::{LocalPair, PairOptions};
use xsc_devnet::localnet::{find_neard, MISSING_BIN};

pub const T: Duration = Duration::from_secs(240);
pub const NEAR: u128 = 10u128.pow(24);
pub const TGAS: u64 = 1_000_000_000_000;

pub fn res_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../res")
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/v0.1.0")
}

pub fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name))
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/build.sh)", dir.join(name).display()))
}

/// A chain pair plus the relayer's signers and light client relays, no service: deliveries are
/// made by the test.
pub struct Net {
    pub p: LocalPair,
    pub relays: [Relay; 2],
    /// The relayer's signer on each chain.
    pub relayer: [Arc<TxSender>; 2],
    _dir: tempfile::TempDir,
}

impl Net {
    pub async fn start(tag: &str) -> Net {
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
        Net::around(p, dir).await
    }

    pub async fn around(p: LocalPair, dir: tempfile::TempDir) -> Net {
        // Hand relaying signs as each chain's root account (as the connector's tests did before
        // the relayer got its own account): what is checked is the contracts, not the service.
        let [rpc_a, rpc_b] = p.rpcs.clone();
        let [tx_a, tx_b] = p.users.clone();
        let relay = |src: &RpcClient, dest: usize, tx: &Arc<TxSender>| -> Relay {
            LightClientRelay::new(
                RpcSource { rpc: src.clone() },
                ContractTarget::new(p.deployed[dest].accounts.light_client.clone(), tx.clone()),
                RelayConfig::new(p.name(1 - dest), p.name(dest)),
            )
        };
        let relays = [relay(&rpc_b, 0, &tx_a), relay(&rpc_a, 1, &tx_b)];
        Net {
            relays,
            relayer: [tx_a, tx_b],
            p,
            _dir: dir,
        }
    }

    pub fn acc(&self, i: usize) -> &xsc_bridge::deploy::Accounts {
        &self.p.deployed[i].accounts
    }

    pub fn name(&self, i: usize) -> &str {
        self.p.name(i)
    }

    pub fn rpc(&self, i: usize) -> &RpcClient {
        &self.p.rpcs[i]
    }

    pub async fn stop(self) {
        self.p.stop().await;
    }

    /// Deliver the `kind` message logged by `sender` (a connector on chain `from`) in `out` to
    /// `receiver` (a connector on the other chain), through its light client's fast path
    /// (`fast`) or the connector's own method, with `gas` and `deposit`. The message is the one
    /// addressed to `receiver` if there is one, else the first of its kind (to deliver it where it
    /// does not belong). The light client is updated first when needed. Returns the delivery
    /// transaction (not required to succeed).
    #[allow(clippy::too_many_arguments)]
    pub async fn deliver_to(
        &self,
        from: usize,
        sender: &str,
        out: &FinalOutcome,
        kind: MessageKind,
        receiver: &str,
        fast: bool,
        gas: u64,
        deposit: u128,
    ) -> FinalOutcome {
        let to = 1 - from;
        let (proof, head_height) = self.proof_of(from, sender, out, kind, receiver).await;
        let lc = self.acc(to).light_client.clone();
        let (target, method, args) = if fast {
            (
                lc.as_str(),
                "verify_and_forward",
                borsh::to_vec(&(&proof, head_height, receiver, borsh::to_vec(&kind).unwrap()))
                    .unwrap(),
            )
        } else {
            (
                receiver,
                kind.delivery_method(),
                borsh::to_vec(&(&proof, head_height)).unwrap(),
            )
        };
        self.relayer[to]
            .send(
                target,
                vec![actions::function_call(method, args, gas, deposit)],
            )
            .await
            .unwrap()
    }

    /// The proof of the `kind` message logged by `sender` (a connector on chain `from`) in `out`
    /// (the one addressed to `receiver` if there is one, else the first of its kind), against a
    /// head the other chain's light client holds (updated first when needed): `(proof, head)`.
    pub async fn proof_of(
        &self,
        from: usize,
        sender: &str,
        out: &FinalOutcome,
        kind: MessageKind,
        receiver: &str,
    ) -> (LightClientExecutionProof, u64) {
        let to = 1 - from;
        let find = |to: Option<&str>| {
            out.receipts_outcome.iter().find(|o| {
                o.outcome.executor_id == sender
                    && o.outcome.logs.iter().any(|l| {
                        parse_transport(l)
                            .is_some_and(|m| m.kind == kind && to.is_none_or(|to| m.dst == to))
                    })
            })
        };
        let item = find(Some(receiver))
            .or_else(|| find(None))
            .unwrap_or_else(|| {
                panic!(
                    "no `{}` for {receiver} logged by {sender} in {:?}: {:?}",
                    kind.event_name(),
                    out.tx_hash(),
                    out.logs().collect::<Vec<_>>()
                )
            });
        let bh = item.block_hash.expect("outcome block");
        let height = self
            .rpc(from)
            .block(BlockRef::Hash(bh))
            .await
            .unwrap()
            .header
            .height;
        // The proof block is the block after the executing one (when it has a chunk, as sandbox
        // blocks do); the light client must hold it or a later block.
        let head = self.relays[to].proof_head_for(height + 1, T).await.unwrap();
        let proof = self
            .rpc(from)
            .light_client_proof(
                &ProofTarget::Receipt {
                    receipt_id: item.id,
                    receiver_id: sender.to_string(),
                },
                &head.hash,
            )
            .await
            .unwrap();
        (proof, head.height)
    }

    /// [`Self::deliver_to`] between the deployed connectors, fast path, 300 Tgas, no deposit.
    pub async fn deliver(
        &self,
        from: usize,
        out: &FinalOutcome,
        kind: MessageKind,
    ) -> FinalOutcome {
        let (sender, receiver) = (
            self.acc(from).connector.clone(),
            self.acc(1 - from).connector.clone(),
        );
        self.deliver_to(from, &sender, out, kind, &receiver, true, MAX_GAS_300T, 0)
            .await
    }
}

/// A call as `tx`'s signer; the outcome whatever it is.
pub async fn call_raw(
    tx: &TxSender,
    account: &str,
    method: &str,
    args: Value,
    deposit: u128,
    gas: u64,
) -> FinalOutcome {
    tx.call_function(
        account,
        method,
        serde_json::to_vec(&args).unwrap(),
        gas,
        deposit,
    )
    .await
    .unwrap()
}

/// A call that must succeed, 300 Tgas.
pub async fn call_ok(
    tx: &TxSender,
    account: &str,
    method: &str,
    args: Value,
    deposit: u128,
) -> FinalOutcome {
    let out = call_raw(tx, account, method, args.clone(), deposit, MAX_GAS_300T).await;
    assert_eq!(
        failures(&out),
        Vec::<String>::new(),
        "{account}.{method}({args}) failed: {:?}",
        out.failure()
    );
    assert!(
        out.failure().is_none(),
        "{account}.{method}: {:?}",
        out.failure()
    );
    out
}

/// The failure of the transaction, which must fail with `code` in its message.
pub fn assert_fails_with(out: &FinalOutcome, code: &str) {
    let f = out.failure().unwrap_or_else(|| {
        panic!(
            "expected {code}, the call succeeded; logs {:?}",
            out.logs().collect::<Vec<_>>()
        )
    });
    assert!(
        f.message.contains(code),
        "expected {code}, got {}",
        f.message
    );
}

/// Every receipt failure's message, in order.
pub fn failures(out: &FinalOutcome) -> Vec<String> {
    out.receipts_outcome
        .iter()
        .filter_map(|o| match &o.outcome.status {
            OutcomeStatus::Failure(f) => Some(format!("{}: {}", o.outcome.executor_id, f.message)),
            _ => None,
        })
        .collect()
}

/// The NEP-297 events of `standard` in the outcome: (event, data).
pub fn events(out: &FinalOutcome, standard: &str) -> Vec<(String, Value)> {
    out.logs()
        .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
        .filter_map(|j| serde_json::from_str::<Value>(j).ok())
        .filter(|v| v["standard"] == standard)
        .map(|v| {
            let data = match &v["data"] {
                Value::Array(a) => a.first().cloned().unwrap_or_default(),
                d => d.clone(),
            };
            (v["event"].as_str().unwrap_or_default().to_string(), data)
        })
        .collect()
}

pub fn event(out: &FinalOutcome, standard: &str, name: &str) -> Option<Value> {
    events(out, standard)
        .into_iter()
        .find(|(e, _)| e == name)
        .map(|(_, d)| d)
}

/// A view of the latest state (optimistic: it includes the transactions just executed).
pub async fn view(rpc: &RpcClient, account: &str, method: &str, args: Value) -> Value {
    rpc.view_call_json(account, method, &args, BlockRef::Optimistic)
        .await
        .unwrap_or_else(|e| panic!("{account}.{method}: {e}"))
}

/// Wait until a final view equals `want`.
pub async fn wait_view(rpc: &RpcClient, account: &str, method: &str, args: Value, want: Value) {
    let started = std::time::Instant::now();
    loop {
        let v = view(rpc, account, method, args.clone()).await;
        if v == want {
            return;
        }
        assert!(
            started.elapsed() < T,
            "{account}.{method}: {v}, waiting for {want}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// An account's balance (yoctoNEAR), latest state.
pub async fn balance(rpc: &RpcClient, account: &str) -> u128 {
    let v = rpc
        .call_value(
            "query",
            json!({"request_type": "view_account", "finality": "optimistic", "account_id": account}),
        )
        .await
        .unwrap();
    v["amount"].as_str().unwrap().parse().unwrap()
}

/// The ledger balance of `account` on chain `at` (`None`: not registered).
pub async fn ledger(net: &Net, at: usize, account: &str) -> Option<u128> {
    let v = view(
        net.rpc(at),
        &net.acc(at).xcall_transfer,
        "balance_of",
        json!({"account_id": account}),
    )
    .await;
    v.as_str().map(|s| s.parse().unwrap())
}

/// Non-zero transfers made by the receipts of a transaction (receiver, yoctoNEAR), refunds of gas
/// excluded: what the contracts sent.
pub async fn transfers(rpc: &RpcClient, out: &FinalOutcome, signer: &str) -> Vec<(String, u128)> {
    let hash = out.tx_hash().unwrap();
    let mut v = Value::Null;
    for _ in 0..60 {
        if let Ok(x) = rpc
            .call_value("EXPERIMENTAL_tx_status", json!([hash.to_string(), signer]))
            .await
        {
            if x.get("receipts").is_some() {
                v = x;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut out = Vec::new();
    for r in v["receipts"].as_array().into_iter().flatten() {
        if r["predecessor_id"] == "system" {
            continue;
        }
        for a in r
            .pointer("/receipt/Action/actions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = a.get("Transfer") {
                let amount: u128 = t["deposit"].as_str().unwrap().parse().unwrap();
                // A zero transfer moves nothing: the light client's fast path appends one to a
                // forward that carries a deposit, so that its refund callback sees the
                // receiver's own call, not the promises that call returns.
                if amount > 0 {
                    out.push((r["receiver_id"].as_str().unwrap().to_string(), amount));
                }
            }
        }
    }
    out
}

/// Create `name.test.near` (a sub-account of the chain's root) with `amount`, signed by the
/// root; returns a signer for it.
pub async fn new_account(net: &Net, at: usize, name: &str, amount: u128) -> Arc<TxSender> {
    let account = format!("{name}.{}", xsc_devnet::localnet::VALIDATOR);
    let secret = near_crypto::SecretKey::from_seed(near_crypto::KeyType::ED25519, name);
    let out = net.p.users[at]
        .create_account(&account, secret.public_key(), amount)
        .await
        .unwrap();
    assert!(out.failure().is_none(), "{account}: {:?}", out.failure());
    let signer = xsc_bridge::signer::TxSigner::from_seed(&account, name).unwrap();
    Arc::new(TxSender::new(
        net.rpc(at).clone(),
        Arc::new(signer),
        xsc_bridge::tx::TxOptions::default(),
    ))
}

pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
