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
//! 4. the **relayer account** `relayer.P` (its own account, never the admin): created with
//!    function-call keys only — one for `add_light_client_block` on the light client (the relay
//!    lane) and several for `verify_and_forward` and `verify_and_forward_batch` on the light
//!    client (or the connector's delivery methods) — whose secret keys are written to key files of mode 600; no full-access key.
//!
//! **Least privilege.** P becomes admin (`Dao`) of the light client and the connector; it is
//! not the relayer. No access key at all is added to a contract account (a contract account is
//! changed through its own methods: `Upgradable`, roles), so whoever holds a relayer host can
//! relay and pay gas, nothing more. The configuration [`relayer_config_toml`] writes names the
//! key files and refers to secrets (an RPC URL with an API key, an auth header's value) by
//! environment variable, never by value; it records each chain's height before deployment as
//! the indexer's `start_height`, so that no message sent before the relayer first runs is
//! missed.

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
    /// Create the relayer account and its keys on each chain.
    pub relayer: Option<RelayerSetup>,
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
            relayer: None,
        }
    }
}

/// The relayer account to create on each chain.
#[derive(Debug, Clone)]
pub struct RelayerSetup {
    /// The account, `relayer.<parent>` by default (`{parent}` is replaced).
    pub account: String,
    /// NEAR given to it (gas for updates and deliveries).
    pub balance: u128,
    /// Delivery keys (nonce lanes) besides the relay key.
    pub delivery_keys: usize,
    /// Delivery keys call the light client's `verify_and_forward` and
    /// `verify_and_forward_batch` (else the connector's delivery methods).
    pub fast_path: bool,
    /// Also add ONE full-access key, used only for deliveries that must attach a deposit
    /// (`xcall_receive_message` of a connector that still requires one). Never on a contract
    /// account; off by default.
    pub deposit_key: bool,
    /// Where the key files go (`<dir>/<chain name>/relay0.json`, `delivery1.json`, ...).
    pub keys_dir: PathBuf,
    /// Relayer instances sharing one queue (PostgreSQL): each gets its own keys (its own nonce
    /// lanes), instance 1 in `<dir>/<chain name>/`, instance k in `<dir>/<chain name>/instance<k>/`.
    pub instances: usize,
}

/// The relayer of one chain as deployed.
#[derive(Debug, Clone)]
pub struct RelayerKeys {
    pub account: String,
    /// Relay key first, then the delivery keys (instance 1's).
    pub key_files: Vec<PathBuf>,
    /// Every instance's key files, in the same order (`[0]` is `key_files`).
    pub instances: Vec<Vec<PathBuf>>,
}

/// What was deployed on one chain.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub name: String,
    pub chain_id: String,
    pub accounts: Accounts,
    /// Height of the light client's initial head (a block of the other chain).
    pub lc_head_height: u64,
    /// Final height of this chain before anything was deployed: no message of this chain's
    /// connector is older (the indexer's `start_height`).
    pub deploy_height: u64,
    /// Final height of this chain when deployment finished.
    pub final_height: u64,
    pub relayer: Option<RelayerKeys>,
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
/// `init`, in one transaction (all or nothing). **No access key is added**: the contract
/// account can only change through its own methods. An account that already holds the same
/// code is left alone; one that holds other code, or none, is an error: a live contract is
/// upgraded through its `Upgradable` role (`up_stage_code`, `up_deploy_code`), never
/// overwritten here.
pub async fn create_and_deploy(
    tx: &TxSender,
    account: &str,
    balance: u128,
    code: Vec<u8>,
    init: Option<(&str, serde_json::Value)>,
) -> Result<DeployStep, DeployError> {
    let init = init.map(|(m, args)| (m, serde_json::to_vec(&args).expect("json")));
    create_and_deploy_with(tx, account, balance, code, init).await
}

/// [`create_and_deploy`] with raw init arguments (e.g. borsh).
pub async fn create_and_deploy_with(
    tx: &TxSender,
    account: &str,
    balance: u128,
    code: Vec<u8>,
    init: Option<(&str, Vec<u8>)>,
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
    let mut acts = vec![
        actions::create_account(),
        actions::transfer(balance),
        actions::deploy_contract(code),
    ];
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

/// The public key of an existing key file, or a new random key written to `path` (mode 600).
fn key_file(path: &Path, account: &str) -> Result<near_crypto::PublicKey, DeployError> {
    if path.exists() {
        return Ok(crate::signer::TxSigner::from_key_file(path)
            .map_err(err)?
            .public_key());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
    }
    let secret = near_crypto::SecretKey::from_random(near_crypto::KeyType::ED25519);
    crate::signer::write_key_file(
        path,
        &json!({
            "account_id": account,
            "public_key": secret.public_key().to_string(),
            "private_key": secret.to_string(),
        }),
    )
    .map_err(|e| err(format!("{}: {e}", path.display())))?;
    Ok(secret.public_key())
}

/// Create the relayer account of chain `x` with its keys (or check an existing one has them).
pub async fn deploy_relayer(
    x: &ChainTarget,
    setup: &RelayerSetup,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<RelayerKeys, DeployError> {
    let account = setup.account.clone();
    let dir = setup.keys_dir.join(&x.name);
    let lc = x.accounts.light_client.as_str();
    let (receiver, methods): (&str, Vec<&str>) = if setup.fast_path {
        (
            lc,
            vec!["verify_and_forward", crate::delivery::BATCH_METHOD],
        )
    } else {
        (
            x.accounts.connector.as_str(),
            xsc_interfaces::MessageKind::ALL
                .iter()
                .map(|k| k.delivery_method())
                .collect(),
        )
    };
    let mut keys = Vec::new();
    let mut per_instance = Vec::new();
    for k in 1..=setup.instances.max(1) {
        // Each instance its own keys: instances never share a nonce.
        let dir = if k == 1 {
            dir.clone()
        } else {
            dir.join(format!("instance{k}"))
        };
        let first = keys.len();
        let relay = dir.join("relay0.json");
        let relay_pk = key_file(&relay, &account)?;
        keys.push((
            relay,
            relay_pk.clone(),
            actions::add_function_call_key(relay_pk, lc, &["add_light_client_block"], None),
        ));
        for i in 1..=setup.delivery_keys.max(1) {
            let f = dir.join(format!("delivery{i}.json"));
            let pk = key_file(&f, &account)?;
            keys.push((
                f,
                pk.clone(),
                actions::add_function_call_key(pk, receiver, &methods, None),
            ));
        }
        if setup.deposit_key {
            let f = dir.join("deposit.json");
            let pk = key_file(&f, &account)?;
            keys.push((f, pk.clone(), actions::add_full_access_key(pk)));
        }
        per_instance.push(
            keys[first..]
                .iter()
                .map(|(f, _, _): &(PathBuf, _, _)| f.clone())
                .collect::<Vec<_>>(),
        );
    }
    match x
        .rpc
        .view_account(&account, BlockRef::Optimistic)
        .await
        .map_err(err)?
    {
        None => {
            let mut acts = vec![actions::create_account(), actions::transfer(setup.balance)];
            acts.extend(keys.iter().map(|(_, _, a)| a.clone()));
            let out = x.tx.send(&account, acts).await.map_err(err)?;
            if let Some(f) = out.failure() {
                return Err(err(format!("creating {account}: {}", f.message)));
            }
            let n = setup.instances.max(1);
            progress(&format!(
                "[{}] relayer account {account}: {}{} function-call keys{} (key files in {})",
                x.name,
                if n > 1 {
                    format!("{n} instances × ")
                } else {
                    String::new()
                },
                keys.len() / n - setup.deposit_key as usize,
                if setup.deposit_key {
                    " and one full-access key for deposits"
                } else {
                    ""
                },
                dir.display()
            ));
        }
        Some(_) => {
            for (f, pk, _) in &keys {
                x.rpc
                    .view_access_key(&account, &pk.to_string(), BlockRef::Optimistic)
                    .await
                    .map_err(|e| {
                        err(format!(
                            "{account} exists but lacks the key of {} ({e}): use other key files or another relayer account",
                            f.display()
                        ))
                    })?;
            }
            progress(&format!(
                "[{}] relayer account {account} already has its {} keys; unchanged",
                x.name,
                keys.len()
            ));
        }
    }
    Ok(RelayerKeys {
        account,
        key_files: per_instance[0].clone(),
        instances: per_instance,
    })
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
    let mut deploy_heights = Vec::new();
    for c in [a, b] {
        deploy_heights.push(
            c.rpc
                .block(BlockRef::Final)
                .await
                .map_err(err)?
                .header
                .height,
        );
    }
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
        let relayer = match &opts.relayer {
            Some(setup) => {
                let mut setup = setup.clone();
                setup.account = setup
                    .account
                    .replace("{parent}", x.tx.signer().account_id().as_str());
                Some(deploy_relayer(x, &setup, progress).await?)
            }
            None => None,
        };
        out.push((x, lc_head_height, relayer));
    }
    let mut deployed = Vec::new();
    for (i, (x, lc_head_height, relayer)) in out.into_iter().enumerate() {
        let fin = x.rpc.block(BlockRef::Final).await.map_err(err)?;
        deployed.push(Deployed {
            name: x.name.clone(),
            chain_id: x.chain_id.clone(),
            accounts: x.accounts.clone(),
            lc_head_height,
            deploy_height: deploy_heights[i],
            final_height: fin.header.height,
            relayer,
        });
    }
    let b = deployed.pop().expect("two");
    let a = deployed.pop().expect("two");
    Ok([a, b])
}

/// Per chain: what the relayer configuration needs besides [`Deployed`].
pub struct ChainAccess<'a> {
    /// RPC URLs as written to the configuration: literal, or `${VAR}` for a URL holding a
    /// secret.
    pub rpc_urls: Vec<String>,
    /// `(name, environment variable holding the value)` of an RPC auth header.
    pub rpc_header: Option<(&'a str, &'a str)>,
    /// Key files when no relayer account was deployed (an existing relayer).
    pub key_files: Vec<PathBuf>,
    /// The first height to index (default: the deployment height).
    pub start_height: Option<u64>,
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_list<S: AsRef<str>>(v: &[S]) -> String {
    format!(
        "[{}]",
        v.iter()
            .map(|s| toml_str(s.as_ref()))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Whether a URL carries something that looks like a secret (user info or a query string):
/// such a URL must reach the configuration as `${VAR}`, not by value.
pub fn url_has_secret(url: &str) -> bool {
    reqwest::Url::parse(url)
        .map(|u| !u.username().is_empty() || u.password().is_some() || u.query().is_some())
        .unwrap_or(false)
}

/// The relayer configuration (TOML) for a deployed pair. Secrets are referred to, never
/// written: the RPC URLs as given (`${VAR}` for one with a key), the header's value by
/// environment variable, the keys by file.
pub fn relayer_config_toml(
    deployed: &[Deployed; 2],
    access: [ChainAccess<'_>; 2],
    database: &Path,
    metrics_listen: &str,
) -> String {
    instance_config_toml(
        deployed,
        access,
        &QueueConfig::Sqlite(database),
        metrics_listen,
        None,
    )
}

/// The queue named in a written configuration.
#[derive(Debug, Clone, Copy)]
pub enum QueueConfig<'a> {
    /// An SQLite file: one relayer process.
    Sqlite(&'a Path),
    /// A PostgreSQL URL as it is written (`${VAR}` in place of a password): several instances.
    Postgres(&'a str),
}

/// The configuration of relayer instance `instance` (1-based; `None`: the only one) of a
/// deployed pair: its own keys ([`RelayerKeys::instances`]) and `instance_id = "relayer-<k>"`,
/// on the shared queue. Secrets are referred to, never written (see [`relayer_config_toml`]).
pub fn instance_config_toml(
    deployed: &[Deployed; 2],
    access: [ChainAccess<'_>; 2],
    queue: &QueueConfig<'_>,
    metrics_listen: &str,
    instance: Option<usize>,
) -> String {
    let mut s = String::from(
        "# Written by `xsc deploy`. Secrets are not in this file: keys are in the key files named\n\
         # here (mode 600), RPC URLs with an API key and header values come from the environment.\n",
    );
    for (i, (d, acc)) in deployed.iter().zip(access.iter()).enumerate() {
        let section = if i == 0 { "chain_a" } else { "chain_b" };
        let files = match (&d.relayer, instance) {
            (Some(r), Some(k)) => r
                .instances
                .get(k.saturating_sub(1))
                .cloned()
                .unwrap_or_default(),
            (Some(r), None) => r.key_files.clone(),
            (None, _) => acc.key_files.clone(),
        };
        let key_files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        s += &format!(
            "\n[{section}]\nname = {}\nchain_id = {}\nrpc_urls = {}\nlight_client = {}\nconnector = {}\nsigner_key_files = {}\nstart_height = {}\n",
            toml_str(&d.name),
            toml_str(&d.chain_id),
            toml_list(&acc.rpc_urls),
            toml_str(&d.accounts.light_client),
            toml_str(&d.accounts.connector),
            toml_list(&key_files),
            acc.start_height.unwrap_or(d.deploy_height),
        );
        if let Some((n, var)) = acc.rpc_header {
            s += &format!(
                "rpc_header = {{ name = {}, value_env = {} }}\n",
                toml_str(n),
                toml_str(var)
            );
        }
    }
    let queue = match queue {
        QueueConfig::Sqlite(p) => format!("database = {}", toml_str(&p.display().to_string())),
        QueueConfig::Postgres(u) => format!("database_url = {}", toml_str(u)),
    };
    s += &format!(
        "\n[relayer]\n{queue}\nmetrics_listen = {}\npoll_interval_ms = 500\n",
        toml_str(metrics_listen)
    );
    if let Some(k) = instance {
        s += &format!("instance_id = {}\n", toml_str(&format!("relayer-{k}")));
    }
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
        // No access key of any kind on a contract account.
        assert!(
            !actions.iter().any(|a| matches!(a, Action::AddKey(_))),
            "{actions:?}"
        );
    }

    fn target(mock: &MockRpc) -> ChainTarget {
        ChainTarget {
            name: "chain-x".into(),
            chain_id: "x".into(),
            rpc: crate::rpc::RpcClient::new(crate::rpc::RpcClientConfig::new(mock.url.clone()))
                .unwrap(),
            tx: Arc::new(sender(&mock.url)),
            accounts: Accounts::under("test.near"),
        }
    }

    #[tokio::test]
    async fn the_relayer_gets_function_call_keys_only_and_private_key_files() {
        use near_primitives::account::AccessKeyPermission;
        let (mock, sent) = node(None).await;
        let dir = tempfile::tempdir().unwrap();
        let setup = RelayerSetup {
            account: "relayer.test.near".into(),
            balance: 7,
            delivery_keys: 3,
            fast_path: true,
            deposit_key: false,
            keys_dir: dir.path().join("keys"),
            instances: 1,
        };
        let keys = deploy_relayer(&target(&mock), &setup, &|_| {})
            .await
            .unwrap();
        assert_eq!(keys.key_files.len(), 4);
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        assert_eq!(
            sent[0].transaction.receiver_id().as_str(),
            "relayer.test.near"
        );
        let mut perms = Vec::new();
        for a in sent[0].transaction.actions() {
            if let Action::AddKey(k) = a {
                match &k.access_key.permission {
                    AccessKeyPermission::FunctionCall(fc) => {
                        assert_eq!(fc.allowance, None);
                        perms.push((fc.receiver_id.clone(), fc.method_names.clone()));
                    }
                    AccessKeyPermission::FullAccess => panic!("a full-access key"),
                    p => panic!("{p:?}"),
                }
            }
        }
        assert_eq!(
            perms,
            vec![
                (
                    "lc.test.near".to_string(),
                    vec!["add_light_client_block".to_string()]
                ),
                (
                    "lc.test.near".to_string(),
                    vec![
                        "verify_and_forward".to_string(),
                        "verify_and_forward_batch".to_string()
                    ]
                ),
                (
                    "lc.test.near".to_string(),
                    vec![
                        "verify_and_forward".to_string(),
                        "verify_and_forward_batch".to_string()
                    ]
                ),
                (
                    "lc.test.near".to_string(),
                    vec![
                        "verify_and_forward".to_string(),
                        "verify_and_forward_batch".to_string()
                    ]
                ),
            ]
        );
        // Each key file loads (so it is private: mode 600) and matches the key added.
        for (f, a) in keys
            .key_files
            .iter()
            .zip(
                sent[0]
                    .transaction
                    .actions()
                    .iter()
                    .filter_map(|a| match a {
                        Action::AddKey(k) => Some(k.public_key.clone()),
                        _ => None,
                    }),
            )
        {
            let signer = crate::signer::TxSigner::from_key_file(f).unwrap();
            assert_eq!(signer.public_key(), a);
            assert_eq!(signer.account_id().as_str(), "relayer.test.near");
        }
    }

    #[tokio::test]
    async fn the_connector_path_and_the_deposit_key_are_explicit() {
        use near_primitives::account::AccessKeyPermission;
        let (mock, sent) = node(None).await;
        let dir = tempfile::tempdir().unwrap();
        let setup = RelayerSetup {
            account: "relayer.test.near".into(),
            balance: 7,
            delivery_keys: 1,
            fast_path: false,
            deposit_key: true,
            keys_dir: dir.path().to_path_buf(),
            instances: 1,
        };
        deploy_relayer(&target(&mock), &setup, &|_| {})
            .await
            .unwrap();
        let sent = sent.lock().unwrap();
        let perms: Vec<_> = sent[0]
            .transaction
            .actions()
            .iter()
            .filter_map(|a| match a {
                Action::AddKey(k) => Some(k.access_key.permission.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(perms.len(), 3);
        match &perms[1] {
            AccessKeyPermission::FunctionCall(fc) => {
                assert_eq!(fc.receiver_id, "connector.test.near");
                assert_eq!(fc.method_names.len(), 4);
            }
            p => panic!("{p:?}"),
        }
        assert!(matches!(perms[2], AccessKeyPermission::FullAccess));
    }

    #[tokio::test]
    async fn each_instance_gets_its_own_keys_and_its_own_configuration() {
        let (mock, sent) = node(None).await;
        let dir = tempfile::tempdir().unwrap();
        let setup = RelayerSetup {
            account: "relayer.test.near".into(),
            balance: 7,
            delivery_keys: 2,
            fast_path: true,
            deposit_key: false,
            keys_dir: dir.path().join("keys"),
            instances: 3,
        };
        let keys = deploy_relayer(&target(&mock), &setup, &|_| {})
            .await
            .unwrap();
        // One transaction creates the account with every instance's keys.
        let sent = sent.lock().unwrap();
        assert_eq!(sent.len(), 1);
        let added: Vec<String> = sent[0]
            .transaction
            .actions()
            .iter()
            .filter_map(|a| match a {
                Action::AddKey(k) => Some(k.public_key.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(added.len(), 3 * 3);
        let unique: std::collections::HashSet<_> = added.iter().collect();
        assert_eq!(unique.len(), 9, "no key shared between instances");
        assert_eq!(keys.instances.len(), 3);
        assert_eq!(keys.instances[0], keys.key_files);
        assert!(keys.instances[2][0].ends_with("instance3/relay0.json"));
        // Each instance's configuration names its own keys, its own id, the shared queue.
        let deployed = ["a", "b"].map(|n| Deployed {
            name: format!("chain-{n}"),
            chain_id: format!("net-{n}"),
            accounts: Accounts::under(&format!("{n}.near")),
            lc_head_height: 1,
            deploy_height: 1000,
            final_height: 1010,
            relayer: Some(keys.clone()),
        });
        let mut seen = std::collections::HashSet::new();
        for k in 1..=3 {
            let access = [0, 1].map(|_| ChainAccess {
                rpc_urls: vec!["http://127.0.0.1:3030".into()],
                rpc_header: None,
                key_files: vec![],
                start_height: None,
            });
            let toml = instance_config_toml(
                &deployed,
                access,
                &QueueConfig::Postgres("postgres://xsc:${XSC_PG_PASSWORD}@db/xsc"),
                "127.0.0.1:0",
                Some(k),
            );
            assert!(!toml.contains("secret"), "{toml}");
            let env = |v: &str| (v == "XSC_PG_PASSWORD").then(|| "secret".to_string());
            let cfg = crate::config::Config::from_toml_with_env(&toml, "i", None, &env).unwrap();
            assert_eq!(cfg.instance_id(), format!("relayer-{k}"));
            assert!(cfg.database().shared());
            for f in cfg.chain_a.key_files() {
                assert!(seen.insert(f), "a key file of two instances");
            }
            let signers = cfg.chain_a.load_signers().unwrap();
            assert_eq!(signers.len(), 3);
        }
    }

    #[test]
    fn the_written_configuration_refers_to_secrets_and_loads() {
        let deployed = ["a", "b"].map(|n| Deployed {
            name: format!("chain-{n}"),
            chain_id: format!("net-{n}"),
            accounts: Accounts::under(&format!("{n}.near")),
            lc_head_height: 1,
            deploy_height: 1000,
            final_height: 1010,
            relayer: Some(RelayerKeys {
                account: format!("relayer.{n}.near"),
                key_files: vec![
                    PathBuf::from(format!("/keys/{n}/relay0.json")),
                    PathBuf::from(format!("/keys/{n}/delivery1.json")),
                ],
                instances: vec![vec![
                    PathBuf::from(format!("/keys/{n}/relay0.json")),
                    PathBuf::from(format!("/keys/{n}/delivery1.json")),
                ]],
            }),
        });
        let toml = relayer_config_toml(
            &deployed,
            [
                ChainAccess {
                    rpc_urls: vec![
                        "${A_RPC_SECRET}".into(),
                        "https://rpc.testnet.near.org".into(),
                    ],
                    rpc_header: None,
                    key_files: vec![],
                    start_height: Some(900),
                },
                ChainAccess {
                    rpc_urls: vec!["https://shard.example".into()],
                    rpc_header: Some(("x-api-key", "SHARD_HEADER_VALUE")),
                    key_files: vec![],
                    start_height: None,
                },
            ],
            Path::new("/var/lib/xsc/q.db"),
            "127.0.0.1:9464",
        );
        assert!(
            toml.contains(r#"rpc_urls = ["${A_RPC_SECRET}", "https://rpc.testnet.near.org"]"#),
            "{toml}"
        );
        assert!(
            toml.contains(r#"value_env = "SHARD_HEADER_VALUE""#),
            "{toml}"
        );
        assert!(
            !toml.contains("private_key") && !toml.contains("ed25519:"),
            "{toml}"
        );
        let env = |k: &str| match k {
            "A_RPC_SECRET" => Some("https://provider.example/?apiKey=zzz".to_string()),
            "SHARD_HEADER_VALUE" => Some("hdr".to_string()),
            _ => None,
        };
        let cfg = crate::config::Config::from_toml_with_env(&toml, "deploy", None, &env).unwrap();
        assert_eq!(cfg.chain_a.start_height, Some(900));
        assert_eq!(
            cfg.chain_b.start_height,
            Some(1000),
            "the deployment height"
        );
        assert_eq!(cfg.chain_a.key_files().len(), 2);
        assert_eq!(cfg.chain_b.header().unwrap().value, "hdr");
        assert!(url_has_secret("https://provider.example/?apiKey=zzz"));
        assert!(url_has_secret("https://u:p@provider.example/"));
        assert!(!url_has_secret("https://rpc.testnet.near.org"));
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
