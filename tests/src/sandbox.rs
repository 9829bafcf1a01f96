//! Finding a `neard` sandbox binary and starting a sandbox through near-workspaces.
//!
//! near-workspaces is built without its `install` feature: it never downloads `neard`, and
//! near-sandbox runs the binary named by `NEAR_SANDBOX_BIN_PATH`. We look for one in
//! `NEAR_SANDBOX_BIN_PATH`, then in the fixed place `$HOME/.xsc/bin/neard-sandbox`
//! ([`DEFAULT_BIN`]), which `scripts/test.sh` and CI use too.

use anyhow::{bail, Context, Result};
use near_workspaces::network::Sandbox;
use near_workspaces::types::Gas;
use near_workspaces::Worker;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The fixed place of the sandbox binary, relative to `$HOME`.
pub const DEFAULT_BIN: &str = ".xsc/bin/neard-sandbox";

/// Gas attached to every transaction. Older NEAR networks (and the sandbox used here) cap a
/// transaction's prepaid gas at 300 Tgas; near-workspaces' `max_gas()` asks for 1 PGas and is
/// refused there.
pub const TX_GAS: Gas = Gas::from_tgas(300);

/// What a test prints when it needs a sandbox and none is found.
pub const MISSING_BIN: &str = "no neard sandbox binary: set NEAR_SANDBOX_BIN_PATH or put one at \
     $HOME/.xsc/bin/neard-sandbox (scripts/test.sh runs the sandbox suite only when one is found)";

fn usable(path: &Path) -> bool {
    path.is_file()
}

/// `NEAR_SANDBOX_BIN_PATH` if it names an existing file, else `$HOME/.xsc/bin/neard-sandbox`
/// if that exists, else `None`.
pub fn find_sandbox_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NEAR_SANDBOX_BIN_PATH").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if usable(&p) {
            return Some(p);
        }
    }
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let p = Path::new(&home).join(DEFAULT_BIN);
    usable(&p).then_some(p)
}

/// Like [`find_sandbox_bin`], but a missing binary is an error: a sandbox test that runs
/// without one must fail, never pass.
pub fn require_sandbox_bin() -> Result<PathBuf> {
    find_sandbox_bin().with_context(|| MISSING_BIN.to_string())
}

static ENV_LOCK: Mutex<()> = Mutex::new(());

/// Point near-sandbox at `bin` (it reads `NEAR_SANDBOX_BIN_PATH` when it starts a node).
fn export_bin(bin: &Path) {
    let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if std::env::var_os("NEAR_SANDBOX_BIN_PATH").as_deref() != Some(bin.as_os_str()) {
        std::env::set_var("NEAR_SANDBOX_BIN_PATH", bin);
    }
}

/// Start a fresh sandbox node (its own home directory and ports); it stops when the worker
/// is dropped.
pub async fn start() -> Result<Worker<Sandbox>> {
    let bin = require_sandbox_bin()?;
    export_bin(&bin);
    match near_workspaces::sandbox().await {
        Ok(worker) => Ok(worker),
        Err(e) => bail!(
            "could not start the sandbox {}: {e:#} ({:?}); set NEAR_ENABLE_SANDBOX_LOG=1 to see \
             its output",
            bin.display(),
            std::error::Error::source(&e)
        ),
    }
}

/// A fresh sandbox with two funded accounts: `admin` (initialises contracts, so it is their
/// admin) and `relayer`.
pub struct TestEnv {
    pub worker: Worker<Sandbox>,
    pub admin: near_workspaces::Account,
    pub relayer: near_workspaces::Account,
}

pub async fn test_env() -> Result<TestEnv> {
    let worker = start().await?;
    let admin = worker.dev_create_account().await.context("admin account")?;
    let relayer = worker
        .dev_create_account()
        .await
        .context("relayer account")?;
    Ok(TestEnv {
        worker,
        admin,
        relayer,
    })
}

/// Balance of `account` in yoctoNEAR.
pub async fn balance(
    worker: &Worker<Sandbox>,
    account: &near_workspaces::AccountId,
) -> Result<u128> {
    Ok(worker.view_account(account).await?.balance.as_yoctonear())
}

/// Storage usage of `account` in bytes.
pub async fn storage_usage(
    worker: &Worker<Sandbox>,
    account: &near_workspaces::AccountId,
) -> Result<u64> {
    Ok(worker.view_account(account).await?.storage_usage)
}

/// Wait until the refunds of `result` have executed: every receipt's block plus three are
/// final. near-workspaces returns once the transaction's own receipts are done; the refund
/// receipts they create run in the next blocks, and exact balance checks must see them.
pub async fn settled(
    worker: &Worker<Sandbox>,
    result: &near_workspaces::result::ExecutionFinalResult,
) -> Result<()> {
    let rpc = crate::rpc::Rpc::new(&worker.rpc_addr());
    let mut last = 0u64;
    for o in result.outcomes() {
        let b = rpc
            .call(
                "block",
                serde_json::json!({ "block_id": o.block_hash.to_string() }),
            )
            .await?;
        last = last.max(b["header"]["height"].as_u64().unwrap_or(0));
    }
    for _ in 0..300 {
        let fin = rpc
            .call("block", serde_json::json!({ "finality": "final" }))
            .await?;
        if fin["header"]["height"].as_u64().unwrap_or(0) >= last + 3 {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    bail!("the chain did not finalise 3 blocks past {last}")
}
