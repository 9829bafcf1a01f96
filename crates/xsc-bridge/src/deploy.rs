//! Deployment of a chain pair: builds nothing, deploys the wasm artifacts of `res/` with plain
//! transactions (the same code for local sandboxes, NEAR testnet and Calimero shards).
//!
//! On each chain X (the other one is Y), signed by X's deployer account `P`:
//! 1. the light client at `lc.P`: one transaction creates the account, funds it, adds P's key,
//!    deploys `xsc_light_client.wasm` and calls `new{head, epoch_producers}` with, **from Y's
//!    RPC**, a final light client block (`next_light_client_block` of a block a few heights
//!    below Y's final head) and the ordered producers of its epoch
//!    (`EXPERIMENTAL_validators_ordered` at that block). A failed init undoes the whole batch;
//! 2. the connector at `connector.P`, the same way, `new{light_client, calimero_executor,
//!    local_net, remote_net, locker}` with the locker being Y's connector: this is `set_locker`
//!    done at init (the connector's `set_locker` is for replacing it later); then its Calimero
//!    executor at `calimero-executor.P`, created, funded, deployed and initialised (borsh
//!    `new(connector)`) in one transaction **without any access key**: nobody can ever change
//!    what inbound Calimero calls are made from;
//! 3. optionally the demo dapps (`greeter.P`, `cross-call.P`, `xcall-transfer.P`), each put on
//!    the connector's allow list.
//!
//! P becomes admin (`Dao`) of the light client and the connector, and relays with the
//! configuration [`relayer_config_toml`] writes.

use crate::rpc::{BlockRef, RpcClient};
use crate::tx::{actions, TxSender, MAX_GAS_300T};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tracing::info;
use xsc_core::hashing::block_hash;
use xsc_core::{LightClientBlockLiteView, LightClientBlockView, NativeCrypto};

pub const NEAR: u128 = 1_000_000_000_000_000_000_000_000;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeployError(pub String);

fn err(e: impl std::fmt::Display) -> DeployError {
    DeployError(e.to_string())
}

/// The accounts of one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accounts {
    pub light_client: String,
    pub connector: String,
    /// The connector's Calimero executor (no access key).
    pub calimero_executor: String,
    pub greeter: String,
    pub cross_call: String,
    pub xcall_transfer: String,
}

impl Accounts {
    /// Sub-accounts of `parent`.
    pub fn under(parent: &str) -> Self {
        Accounts {
            light_client: format!("lc.{parent}"),
            connector: format!("connector.{parent}"),
            calimero_executor: format!("calimero-executor.{parent}"),
            greeter: format!("greeter.{parent}"),
            cross_call: format!("cross-call.{parent}"),
            xcall_transfer: format!("xcall-transfer.{parent}"),
        }
    }
}

/// One chain to deploy on.
pub struct ChainTarget {
    /// Network id (`btp://<name>/…`), also the chain's name in the relayer configuration.
    pub name: String,
    /// `status.chain_id` of the node.
    pub chain_id: String,
    pub rpc: RpcClient,
    /// Signs as the deployer (the parent of every account).
    pub tx: Arc<TxSender>,
    pub accounts: Accounts,
}

#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// Directory of the wasm artifacts (`res/`).
    pub res_dir: PathBuf,
    pub demo: bool,
    /// Balance given to the light client and connector accounts (storage of their code and
    /// state).
    pub contract_balance: u128,
    pub dapp_balance: u128,
    /// Balance of the Calimero executor account (its code and one account id).
    pub executor_balance: u128,
    pub max_stored_blocks: Option<u32>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            res_dir: PathBuf::from("res"),
            demo: false,
            contract_balance: 10 * NEAR,
            dapp_balance: 5 * NEAR,
            executor_balance: NEAR,
            max_stored_blocks: None,
        }
    }
}

/// What was deployed on one chain.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub name: String,
    pub chain_id: String,
    pub accounts: Accounts,
    /// Height of the light client's initial head (a block of the other chain).
    pub lc_head_height: u64,
    /// Final height of this chain when deployment finished (index from here).
    pub final_height: u64,
}

fn unchanged(step: DeployStep) -> &'static str {
    match step {
        DeployStep::Deployed => "",
        DeployStep::Unchanged => " already deployed; unchanged",
    }
}

fn read_wasm(dir: &Path, name: &str) -> Result<Vec<u8>, DeployError> {
    let p = dir.join(name);
    std::fs::read(&p).map_err(|e| {
        err(format!(
            "{}: {e} (build the contracts first: scripts/build.sh)",
            p.display()
        ))
    })
}

/// A final light client block of the chain behind `rpc` and the ordered producers of its
/// epoch: the trusted initial state of a light client of that chain.
pub async fn light_client_init_args(
    rpc: &RpcClient,
    max_stored_blocks: Option<u32>,
) -> Result<(serde_json::Value, u64), DeployError> {
    for _ in 0..60 {
        let fin = rpc.block(BlockRef::Final).await.map_err(err)?;
        // `next_light_client_block` of the final block itself may answer nothing; a block a few
        // heights below gets the latest final light client block.
        let mut h = fin.header.height.saturating_sub(5).max(1);
        let base = loop {
            if let Some(b) = rpc.block_if_exists(h).await.map_err(err)? {
                break b;
            }
            h = h.saturating_sub(1);
            if h == 0 {
                return Err(err("no block to start from"));
            }
        };
        let lcb: Option<LightClientBlockView> = rpc
            .next_light_client_block(&base.header.hash)
            .await
            .map_err(err)?;
        if let Some(lcb) = lcb {
            let hash = block_hash(&NativeCrypto, &LightClientBlockLiteView::from(&lcb));
            let producers = rpc
                .validators_ordered(BlockRef::Hash(hash))
                .await
                .map_err(err)?;
            let height = lcb.inner_lite.height;
            let args = json!({
                "head": lcb,
                "epoch_producers": producers,
                "max_stored_blocks": max_stored_blocks,
                "admin": null,
            });
            return Ok((args, height));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(err("the node gave no light client block within a minute"))
}

/// What a deployment step found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeployStep {
    /// Created, deployed and initialised now.
    Deployed,
    /// Already holds exactly this code (and was initialised in the same transaction that
    /// deployed it): nothing done. Re-running `xsc deploy` therefore completes a deployment
    /// that stopped half-way and changes nothing in a finished one.
    Unchanged,
}

/// sha256 of a wasm, as `view_account`'s `code_hash`.
pub fn code_hash(code: &[u8]) -> xsc_core::CryptoHash {
    use sha2::Digest;
    xsc_core::CryptoHash(sha2::Sha256::digest(code).into())
}

/// Create `account` (a sub-account of the signer) with `balance`, deploy `code` and call
/// `init`, in one transaction (all or nothing). An account that already holds the same code is
/// left alone; one that holds other code, or none, is an error: a live contract is upgraded
/// through its `Upgradable` role (`up_stage_code`, `up_deploy_code`), never overwritten here.
pub async fn create_and_deploy(
    tx: &TxSender,
    account: &str,
    balance: u128,
    code: Vec<u8>,
    init: Option<(&str, serde_json::Value)>,
) -> Result<DeployStep, DeployError> {
    let init = init.map(|(m, args)| (m, serde_json::to_vec(&args).expect("json")));
    create_and_deploy_with(tx, account, balance, code, init, true).await
}

/// [`create_and_deploy`] with raw init arguments, and without adding the signer's key when
/// `with_key` is false (an account nobody can ever sign for: its code can never change).
pub async fn create_and_deploy_with(
    tx: &TxSender,
    account: &str,
    balance: u128,
    code: Vec<u8>,
    init: Option<(&str, Vec<u8>)>,
    with_key: bool,
) -> Result<DeployStep, DeployError> {
    let want = code_hash(&code);
    if let Some(info) = tx
        .rpc()
        .view_account(account, BlockRef::Optimistic)
        .await
        .map_err(err)?
    {
        if info.code_hash == want {
            info!(account, "already deployed with this code; unchanged");
            return Ok(DeployStep::Unchanged);
        }
        return Err(err(if info.has_code() {
            format!(
                "{account} already holds other code (hash {}, this wasm {want}): upgrade it through its Upgradable role, or deploy under other account names"
            , info.code_hash)
        } else {
            format!(
                "{account} exists without code; xsc deploy creates its accounts as sub-accounts of the signer: delete it or deploy under other account names"
            )
        }));
    }
    let mut acts = if with_key {
        actions::create_funded_account(tx.signer().public_key(), balance)
    } else {
        vec![actions::create_account(), actions::transfer(balance)]
    };
    acts.push(actions::deploy_contract(code));
    if let Some((method, args)) = init {
        acts.push(actions::function_call(method, args, MAX_GAS_300T, 0));
    }
    let out = tx.send(account, acts).await.map_err(err)?;
    if let Some(f) = out.failure() {
        return Err(err(format!("deploying {account}: {}", f.message)));
    }
    info!(account, gas = out.total_gas_burnt(), "deployed");
    Ok(DeployStep::Deployed)
}

/// Call `method` with JSON `args`; an on-chain failure is an error.
pub async fn call_json(
    tx: &TxSender,
    account: &str,
    method: &str,
    args: serde_json::Value,
    deposit: u128,
) -> Result<crate::rpc::FinalOutcome, DeployError> {
    let out = tx
        .call_function(
            account,
            method,
            serde_json::to_vec(&args).expect("json"),
            MAX_GAS_300T,
            deposit,
        )
        .await
        .map_err(err)?;
    if let Some(f) = out.failure() {
        return Err(err(format!("{account}.{method}: {}", f.message)));
    }
    Ok(out)
}

/// Deploy everything on both chains. `progress` receives a line per step.
pub async fn deploy_pair(
    a: &ChainTarget,
    b: &ChainTarget,
    opts: &DeployOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<[Deployed; 2], DeployError> {
    if a.name == b.name {
        return Err(err("the two chains need different names (network ids)"));
    }
    let lc_wasm = read_wasm(&opts.res_dir, "xsc_light_client.wasm")?;
    let conn_wasm = read_wasm(&opts.res_dir, "xsc_connector.wasm")?;
    let exec_wasm = read_wasm(&opts.res_dir, "xsc_calimero_executor.wasm")?;
    let demo_wasm = if opts.demo {
        Some((
            read_wasm(&opts.res_dir, "xsc_demo_greeter.wasm")?,
            read_wasm(&opts.res_dir, "xsc_demo_cross_call.wasm")?,
            read_wasm(&opts.res_dir, "xsc_demo_xcall_transfer.wasm")?,
        ))
    } else {
        None
    };
    let mut out = Vec::new();
    for (x, y) in [(a, b), (b, a)] {
        for (c, label) in [(x, "x"), (y, "y")] {
            let status = c.rpc.status().await.map_err(err)?;
            if status.chain_id != c.chain_id {
                return Err(err(format!(
                    "{} ({label}): the RPC serves chain `{}`, expected `{}`",
                    c.name, status.chain_id, c.chain_id
                )));
            }
        }
        let existing_lc = x
            .rpc
            .view_account(&x.accounts.light_client, BlockRef::Optimistic)
            .await
            .map_err(err)?;
        let lc_head_height = if existing_lc.is_some_and(|i| i.code_hash == code_hash(&lc_wasm)) {
            let head: xsc_core::client::Head = x
                .rpc
                .view_call_json(
                    &x.accounts.light_client,
                    "head",
                    &json!({}),
                    BlockRef::Optimistic,
                )
                .await
                .map_err(err)?;
            progress(&format!(
                "[{}] light client {} already deployed (head #{}); unchanged",
                x.name, x.accounts.light_client, head.height
            ));
            head.height
        } else {
            let (lc_args, lc_head_height) =
                light_client_init_args(&y.rpc, opts.max_stored_blocks).await?;
            create_and_deploy(
                &x.tx,
                &x.accounts.light_client,
                opts.contract_balance,
                lc_wasm.clone(),
                Some(("new", lc_args)),
            )
            .await?;
            progress(&format!(
                "[{}] light client {} tracks {} from its block #{lc_head_height}",
                x.name, x.accounts.light_client, y.name
            ));
            lc_head_height
        };
        let conn_step = create_and_deploy(
            &x.tx,
            &x.accounts.connector,
            opts.contract_balance,
            conn_wasm.clone(),
            Some((
                "new",
                json!({
                    "light_client": x.accounts.light_client,
                    "calimero_executor": x.accounts.calimero_executor,
                    "local_net": x.name,
                    "remote_net": y.name,
                    "locker": y.accounts.connector,
                    "admin": null,
                }),
            )),
        )
        .await?;
        progress(&format!(
            "[{}] connector {} (locker {} on {}){}",
            x.name,
            x.accounts.connector,
            y.accounts.connector,
            y.name,
            unchanged(conn_step)
        ));
        // Borsh of the account id (a string; the executor's init validates it).
        let exec_step = create_and_deploy_with(
            &x.tx,
            &x.accounts.calimero_executor,
            opts.executor_balance,
            exec_wasm.clone(),
            Some(("new", borsh::to_vec(&x.accounts.connector).map_err(err)?)),
            false,
        )
        .await?;
        progress(&format!(
            "[{}] Calimero executor {} (no access key){}",
            x.name,
            x.accounts.calimero_executor,
            unchanged(exec_step)
        ));
        if let Some((greeter, cross, xfer)) = &demo_wasm {
            create_and_deploy(
                &x.tx,
                &x.accounts.greeter,
                opts.dapp_balance,
                greeter.clone(),
                Some((
                    "new",
                    json!({ "calimero_executor": x.accounts.calimero_executor }),
                )),
            )
            .await?;
            create_and_deploy(
                &x.tx,
                &x.accounts.cross_call,
                opts.dapp_balance,
                cross.clone(),
                Some(("new", json!({ "connector": x.accounts.connector }))),
            )
            .await?;
            create_and_deploy(
                &x.tx,
                &x.accounts.xcall_transfer,
                opts.dapp_balance,
                xfer.clone(),
                Some((
                    "new",
                    json!({
                        "connector": x.accounts.connector,
                        "local_net": x.name,
                        "peer": format!("btp://{}/{}", y.name, y.accounts.xcall_transfer),
                    }),
                )),
            )
            .await?;
            for dapp in [&x.accounts.cross_call, &x.accounts.xcall_transfer] {
                call_json(
                    &x.tx,
                    &x.accounts.connector,
                    "allow",
                    json!({ "rule": dapp }),
                    0,
                )
                .await?;
            }
            progress(&format!(
                "[{}] demo dapps {}, {}, {} (allowed to send)",
                x.name, x.accounts.greeter, x.accounts.cross_call, x.accounts.xcall_transfer
            ));
        }
        out.push((x, lc_head_height));
    }
    let mut deployed = Vec::new();
    for (x, lc_head_height) in out {
        let fin = x.rpc.block(BlockRef::Final).await.map_err(err)?;
        deployed.push(Deployed {
            name: x.name.clone(),
            chain_id: x.chain_id.clone(),
            accounts: x.accounts.clone(),
            lc_head_height,
            final_height: fin.header.height,
        });
    }
    let b = deployed.pop().expect("two");
    let a = deployed.pop().expect("two");
    Ok([a, b])
}

/// Per chain: what the relayer configuration needs besides [`Deployed`].
pub struct ChainAccess<'a> {
    pub rpc_url: &'a str,
    /// `(name, value)` of an RPC auth header.
    pub rpc_header: Option<(&'a str, &'a str)>,
    pub key_file: &'a Path,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The relayer configuration (TOML) for a deployed pair.
pub fn relayer_config_toml(
    deployed: &[Deployed; 2],
    access: [ChainAccess<'_>; 2],
    database: &Path,
    metrics_listen: &str,
) -> String {
    let mut s = String::from("# Written by `xsc deploy`.\n");
    for (i, (d, acc)) in deployed.iter().zip(access.iter()).enumerate() {
        let section = if i == 0 { "chain_a" } else { "chain_b" };
        s += &format!(
            "\n[{section}]\nname = {}\nchain_id = {}\nrpc_url = {}\nlight_client = {}\nconnector = {}\nsigner_key_file = {}\n",
            toml_str(&d.name),
            toml_str(&d.chain_id),
            toml_str(acc.rpc_url),
            toml_str(&d.accounts.light_client),
            toml_str(&d.accounts.connector),
            toml_str(&acc.key_file.display().to_string()),
        );
        if let Some((n, v)) = acc.rpc_header {
            s += &format!(
                "rpc_header = {{ name = {}, value = {} }}\n",
                toml_str(n),
                toml_str(v)
            );
        }
    }
    s += &format!(
        "\n[relayer]\ndatabase = {}\nmetrics_listen = {}\npoll_interval_ms = 500\n",
        toml_str(&database.display().to_string()),
        toml_str(metrics_listen)
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{fixture_result, handler_error, signed_tx, test_sender, MockRpc, Reply};
    use crate::tx::TxOptions;
    use near_primitives::transaction::{Action, SignedTransaction};

    fn sender(url: &str) -> TxSender {
        test_sender(url, "test.near", "deployer", TxOptions::default())
    }

    /// A node where `view_account` of the target answers `account` (`None`: unknown account);
    /// returns the transactions it was sent.
    async fn node(
        account: Option<Value>,
    ) -> (MockRpc, Arc<std::sync::Mutex<Vec<SignedTransaction>>>) {
        let sent: Arc<std::sync::Mutex<Vec<SignedTransaction>>> = Arc::default();
        let s2 = sent.clone();
        let mock = MockRpc::start(move |_, method, params| match method {
            "query" if params["request_type"] == "view_account" => match &account {
                Some(a) => Reply::Result(a.clone()),
                None => Reply::Error(handler_error(
                    "UNKNOWN_ACCOUNT",
                    "account lc.test.near does not exist while viewing",
                )),
            },
            "query" => Reply::Result(json!({"nonce": 1, "permission": "FullAccess"})),
            "block" => Reply::Result(fixture_result("block-current.json")),
            "broadcast_tx_commit" => {
                s2.lock()
                    .unwrap()
                    .push(signed_tx(params[0].as_str().unwrap()));
                Reply::Result(fixture_result("tx-success.json"))
            }
            m => panic!("unexpected {m}"),
        })
        .await;
        (mock, sent)
    }

    fn account_with(code_hash: xsc_core::CryptoHash) -> Value {
        json!({"amount": "1", "locked": "0", "code_hash": code_hash.to_string(),
               "storage_usage": 100, "storage_paid_at": 0, "block_height": 1,
               "block_hash": xsc_core::CryptoHash::zero().to_string()})
    }

    use serde_json::Value;
    const CODE: &[u8] = b"\0asm not really";

    #[tokio::test]
    async fn a_missing_account_is_created_deployed_and_initialised_in_one_transaction() {
        let (mock, sent) = node(None).await;
        let tx = sender(&mock.url);
        let step = create_and_deploy(
            &tx,
            "lc.test.near",
            5,
            CODE.to_vec(),
            Some(("new", json!({}))),
        )
        .await
        .unwrap();
        assert_eq!(step, DeployStep::Deployed);
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let actions = sent[0].transaction.actions();
        assert!(matches!(actions[0], Action::CreateAccount(_)));
        assert!(actions
            .iter()
            .any(|a| matches!(a, Action::DeployContract(d) if d.code == CODE)));
        assert!(matches!(actions.last(), Some(Action::FunctionCall(f)) if f.method_name == "new"));
    }

    #[tokio::test]
    async fn an_account_holding_the_same_code_is_left_alone() {
        let (mock, sent) = node(Some(account_with(code_hash(CODE)))).await;
        let tx = sender(&mock.url);
        let step = create_and_deploy(
            &tx,
            "lc.test.near",
            5,
            CODE.to_vec(),
            Some(("new", json!({}))),
        )
        .await
        .unwrap();
        assert_eq!(step, DeployStep::Unchanged);
        assert!(sent.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_account_with_other_code_or_none_is_an_error_and_nothing_is_sent() {
        for (existing, want) in [
            (code_hash(b"other wasm"), "already holds other code"),
            (xsc_core::CryptoHash::zero(), "exists without code"),
        ] {
            let (mock, sent) = node(Some(account_with(existing))).await;
            let tx = sender(&mock.url);
            let e = create_and_deploy(&tx, "lc.test.near", 5, CODE.to_vec(), None)
                .await
                .unwrap_err();
            assert!(e.0.contains(want), "{e}");
            assert!(sent.lock().unwrap().is_empty());
        }
    }
}
