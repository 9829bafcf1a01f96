//! Local single-validator `neard` sandbox nodes on loopback, for `xsc demo`, the end-to-end
//! tests and the benchmark. Each node gets its own home directory, chain id and ports:
//! `neard --home H init --chain-id ID --account-id test.near`, then genesis and config are
//! patched (epoch length, transaction validity, loopback addresses) and `neard --home H run`
//! starts it. The node is killed when its [`LocalNode`] is dropped.
//!
//! The binary: `NEAR_SANDBOX_BIN_PATH`, else `$HOME/.xsc/bin/neard-sandbox` ([`find_neard`]).
//! Short epochs: `epoch_length` 20 with the default `transaction_validity_period` (100) makes
//! the node panic; the validity period is therefore set to the epoch length (50/50 works).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use xsc_bridge::rpc::{BlockRef, RpcClient, RpcClientConfig};

pub const DEFAULT_BIN: &str = ".xsc/bin/neard-sandbox";
pub const VALIDATOR: &str = "test.near";

pub const MISSING_BIN: &str =
    "no neard sandbox binary found. Set NEAR_SANDBOX_BIN_PATH to a neard \
built with `--features sandbox` (e.g. `cargo build -p neard --release --features sandbox` in a \
nearcore checkout), or put one at $HOME/.xsc/bin/neard-sandbox. (near-workspaces downloads one \
automatically on machines with internet access; its path is then printed by `near-sandbox`.)";

/// `NEAR_SANDBOX_BIN_PATH` if it names a file, else `$HOME/.xsc/bin/neard-sandbox` if it exists.
pub fn find_neard() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NEAR_SANDBOX_BIN_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if p.is_file() {
            return Some(p);
        }
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let p = Path::new(&home).join(DEFAULT_BIN);
    p.is_file().then_some(p)
}

/// Where the binary for the second chain (`B`, the "Calimero side") is looked for when
/// `XSC_NEARD_B` is not set: a node of an older protocol, e.g. a neard built from Calimero's
/// nearcore fork (protocol 63). `scripts/test.sh` runs the end-to-end suite a second time with it
/// when it exists.
pub const DEFAULT_BIN_B: &str = ".xsc/bin/neard-sandbox-p63";

/// The binary for chain B when it should differ from chain A's: `XSC_NEARD_B` if it names a
/// file. `None`: both chains run [`find_neard`]'s binary.
pub fn find_neard_b() -> Option<PathBuf> {
    std::env::var_os("XSC_NEARD_B")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_file())
}

/// The fixed place of an older-protocol binary ([`DEFAULT_BIN_B`]), if one is there.
pub fn default_neard_b() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let p = Path::new(&home).join(DEFAULT_BIN_B);
    p.is_file().then_some(p)
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LocalnetError(pub String);

fn err(e: impl std::fmt::Display) -> LocalnetError {
    LocalnetError(e.to_string())
}

#[derive(Debug, Clone)]
pub struct NodeOptions {
    pub chain_id: String,
    pub epoch_length: u64,
    /// Where to put the node's home (a fresh subdirectory `<chain_id>` is made).
    pub base_dir: PathBuf,
}

pub struct LocalNode {
    pub chain_id: String,
    pub rpc_url: String,
    pub home: PathBuf,
    /// near-cli key file of `test.near`, the validator and the funded root account.
    pub key_file: PathBuf,
    child: Option<tokio::process::Child>,
}

impl std::fmt::Debug for LocalNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalNode")
            .field("chain_id", &self.chain_id)
            .field("rpc_url", &self.rpc_url)
            .field("home", &self.home)
            .finish()
    }
}

fn free_port() -> Result<u16, LocalnetError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(err)?;
    Ok(l.local_addr().map_err(err)?.port())
}

fn patch_json(path: &Path, f: impl FnOnce(&mut serde_json::Value)) -> Result<(), LocalnetError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let mut v: serde_json::Value = serde_json::from_str(&text).map_err(err)?;
    f(&mut v);
    std::fs::write(path, serde_json::to_string_pretty(&v).map_err(err)?).map_err(err)
}

impl LocalNode {
    /// Initialise and start a node; returns once its RPC answers and it produces blocks.
    pub async fn start(bin: &Path, opts: &NodeOptions) -> Result<LocalNode, LocalnetError> {
        let home = opts.base_dir.join(&opts.chain_id);
        if home.exists() {
            std::fs::remove_dir_all(&home).map_err(err)?;
        }
        std::fs::create_dir_all(&home).map_err(err)?;
        let init = tokio::process::Command::new(bin)
            .arg("--home")
            .arg(&home)
            .args([
                "init",
                "--chain-id",
                &opts.chain_id,
                "--account-id",
                VALIDATOR,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .await
            .map_err(|e| err(format!("{}: {e}", bin.display())))?;
        if !init.status.success() {
            return Err(err(format!(
                "neard init failed: {}",
                String::from_utf8_lossy(&init.stderr)
            )));
        }
        // Our key loader refuses key files others may read.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["validator_key.json", "node_key.json"] {
                let p = home.join(f);
                if p.exists() {
                    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))
                        .map_err(err)?;
                }
            }
        }
        let validity = opts.epoch_length.min(100);
        patch_json(&home.join("genesis.json"), |g| {
            g["epoch_length"] = opts.epoch_length.into();
            g["transaction_validity_period"] = validity.into();
        })?;
        let rpc_port = free_port()?;
        let net_port = free_port()?;
        patch_json(&home.join("config.json"), |c| {
            c["rpc"]["addr"] = format!("127.0.0.1:{rpc_port}").into();
            c["network"]["addr"] = format!("127.0.0.1:{net_port}").into();
            c["network"]["boot_nodes"] = "".into();
            // Keep the whole history of these short-lived chains (a node keeps 5 epochs by
            // default: 500 blocks, ~5 minutes here). A relayer kept down longer than that
            // cannot ask this node for the light client block after a collected head; on a
            // real network that is what `archival_rpc_url` is for.
            c["gc_num_epochs_to_keep"] = 100_000.into();
            if let Some(p) = c.get_mut("rpc").and_then(|r| r.get_mut("prometheus_addr")) {
                *p = serde_json::Value::Null;
            }
        })?;
        let log = std::fs::File::create(home.join("neard.log")).map_err(err)?;
        let log2 = log.try_clone().map_err(err)?;
        let child = tokio::process::Command::new(bin)
            .arg("--home")
            .arg(&home)
            .arg("run")
            .env(
                "RUST_LOG",
                std::env::var("XSC_NEARD_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(log)
            .stderr(log2)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| err(format!("{}: {e}", bin.display())))?;
        let node = LocalNode {
            chain_id: opts.chain_id.clone(),
            rpc_url: format!("http://127.0.0.1:{rpc_port}"),
            key_file: home.join("validator_key.json"),
            home,
            child: Some(child),
        };
        node.wait_ready(Duration::from_secs(60)).await?;
        Ok(node)
    }

    pub fn rpc(&self) -> RpcClient {
        RpcClient::new(RpcClientConfig::new(self.rpc_url.clone())).expect("rpc client")
    }

    async fn wait_ready(&self, timeout: Duration) -> Result<(), LocalnetError> {
        let mut cfg = RpcClientConfig::new(self.rpc_url.clone());
        cfg.retry = xsc_bridge::rpc::RetryPolicy::none();
        cfg.timeout = Duration::from_secs(2);
        let rpc = RpcClient::new(cfg).map_err(err)?;
        let started = Instant::now();
        loop {
            if let Ok(b) = rpc.block(BlockRef::Final).await {
                if b.header.height >= 3 {
                    return Ok(());
                }
            }
            if started.elapsed() > timeout {
                return Err(err(format!(
                    "node {} did not become ready within {timeout:?}; see {}",
                    self.chain_id,
                    self.home.join("neard.log").display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Kill the node and wait for it to exit.
    pub async fn stop(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }
}

/// Two nodes with distinct chain ids; chain B runs `bin_b` when given (an older protocol, as a
/// Calimero shard does), else `bin`.
pub async fn start_pair(
    bin: &Path,
    bin_b: Option<&Path>,
    base_dir: &Path,
    chain_ids: [&str; 2],
    epoch_length: u64,
) -> Result<[LocalNode; 2], LocalnetError> {
    let mk = |id: &str| NodeOptions {
        chain_id: id.to_string(),
        epoch_length,
        base_dir: base_dir.to_path_buf(),
    };
    let a = LocalNode::start(bin, &mk(chain_ids[0])).await?;
    let b = LocalNode::start(bin_b.unwrap_or(bin), &mk(chain_ids[1])).await?;
    Ok([a, b])
}
