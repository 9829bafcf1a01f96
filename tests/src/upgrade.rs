//! Upgrading a deployed contract in place through near-plugins' `Upgradable`, as an operator
//! does: `up_stage_code(code)` then `up_deploy_code(hash, function_call_args)` running
//! `migrate` in the deployment's receipt.

use crate::sandbox::TX_GAS;
use anyhow::{Context, Result};
use near_workspaces::result::ExecutionFinalResult;
use near_workspaces::types::NearToken;
use near_workspaces::{Account, AccountId};
use serde_json::json;
use sha2::Digest;

/// The contracts of release v0.1.0 (`tests/fixtures/v0.1.0`, built from the tag).
pub fn v010(name: &str) -> Result<Vec<u8>> {
    let path = crate::artifacts::workspace_root()
        .join("tests/fixtures/v0.1.0")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).with_context(|| format!("read {}", path.display()))
}

/// `up_stage_code` (the raw code as input) by `caller`.
pub async fn stage(
    caller: &Account,
    contract: &AccountId,
    code: &[u8],
) -> Result<ExecutionFinalResult> {
    Ok(caller
        .call(contract, "up_stage_code")
        .args(code.to_vec())
        .gas(TX_GAS)
        .transact()
        .await?)
}

/// `up_deploy_code` of the staged `code` with `migrate(migrate_args)` in the same receipt.
pub async fn deploy_and_migrate(
    caller: &Account,
    contract: &AccountId,
    code: &[u8],
    migrate_args: &[u8],
) -> Result<ExecutionFinalResult> {
    let hash = bs58::encode(sha2::Sha256::digest(code)).into_string();
    Ok(caller
        .call(contract, "up_deploy_code")
        .args_json(json!({
            "hash": hash,
            "function_call_args": {
                "function_name": "migrate",
                "arguments": migrate_args,
                "amount": NearToken::from_yoctonear(0),
                "gas": near_workspaces::types::Gas::from_tgas(200),
            }
        }))
        .gas(TX_GAS)
        .transact()
        .await?)
}
