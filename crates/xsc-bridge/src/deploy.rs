//! Deployment of a chain pair: builds nothing, deploys the wasm artifacts of `res/` with plain
//! transactions (the same code for local sandboxes, NEAR testnet and Calimero shards).
//!
//! On each chain X (the other one is Y), signed by X's deployer account `P`:
//! 1. the light client at `lc.P`: one transaction creates the account, funds it, adds P's key,
//!    deploys `xsc_light_client.wasm` and calls `new{head, epoch_producers}` with, **from Y's
//!    RPC**, a final light client block (`next_light_client_block` of a block a few heights
//!    below Y's final head) and the ordered producers of its epoch
//!    (`EXPERIMENTAL_validators_ordered` at that block). A failed init undoes the whole batch;
//! 2. the connector at `connector.P`, the same way, `new{light_client, local_net, remote_net,
//!    locker}` with the locker being Y's connector: this is `set_locker` done at init (the
//!    connector's `set_locker` is for replacing it later);
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
    pub max_stored_blocks: Option<u32>,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            res_dir: PathBuf::from("res"),
            demo: false,
            contract_balance: 10 * NEAR,
            dapp_balance: 5 * NEAR,
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

/// Create `account` (a sub-account of the signer), fund it, add the signer's key, deploy `code`
/// and call `init` with JSON `args`: one transaction, undone entirely if any step fails.
pub async fn create_and_deploy(
    tx: &TxSender,
    account: &str,
    balance: u128,
    code: Vec<u8>,
    init: Option<(&str, serde_json::Value)>,
) -> Result<(), DeployError> {
    let mut acts = actions::create_funded_account(tx.signer().public_key(), balance);
    acts.push(actions::deploy_contract(code));
    if let Some((method, args)) = init {
        acts.push(actions::function_call(
            method,
            serde_json::to_vec(&args).expect("json"),
            MAX_GAS_300T,
            0,
        ));
    }
    let out = tx.send(account, acts).await.map_err(err)?;
    if let Some(f) = out.failure() {
        return Err(err(format!("deploying {account}: {}", f.message)));
    }
    info!(account, gas = out.total_gas_burnt(), "deployed");
    Ok(())
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
        let (lc_args, lc_head_height) =
            light_client_init_args(&y.rpc, opts.max_stored_blocks).await?;
        progress(&format!(
            "[{}] light client {} tracks {} from its block #{lc_head_height}",
            x.name, x.accounts.light_client, y.name
        ));
        create_and_deploy(
            &x.tx,
            &x.accounts.light_client,
            opts.contract_balance,
            lc_wasm.clone(),
            Some(("new", lc_args)),
        )
        .await?;
        create_and_deploy(
            &x.tx,
            &x.accounts.connector,
            opts.contract_balance,
            conn_wasm.clone(),
            Some((
                "new",
                json!({
                    "light_client": x.accounts.light_client,
                    "local_net": x.name,
                    "remote_net": y.name,
                    "locker": y.accounts.connector,
                    "admin": null,
                }),
            )),
        )
        .await?;
        progress(&format!(
            "[{}] connector {} (locker {} on {})",
            x.name, x.accounts.connector, y.accounts.connector, y.name
        ));
        if let Some((greeter, cross, xfer)) = &demo_wasm {
            create_and_deploy(
                &x.tx,
                &x.accounts.greeter,
                opts.dapp_balance,
                greeter.clone(),
                None,
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
