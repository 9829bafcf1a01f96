//! The light client contract in a sandbox: deployment, initialisation and every method, with
//! the argument encodings the contract expects (JSON for `new`, views and admin methods; borsh
//! for `add_light_client_block` and `verify_outcome`).

use crate::artifacts;
use crate::sandbox::TX_GAS;
use anyhow::{anyhow, Context, Result};
use near_workspaces::network::Sandbox;
use near_workspaces::result::ExecutionFinalResult;
use near_workspaces::types::NearToken;
use near_workspaces::{Account, AccountId, Contract, Worker};
use serde::{Deserialize, Serialize};
use serde_json::json;
use xsc_core::client::{Head, StoredBlock};
use xsc_core::{
    CryptoHash, LightClientBlockView, LightClientExecutionProof, ProvenOutcome, ValidatorStakeView,
};

/// Arguments of `new` (JSON).
#[derive(Clone, Debug, Serialize)]
pub struct InitArgs {
    pub head: LightClientBlockView,
    pub epoch_producers: Option<Vec<ValidatorStakeView>>,
    #[serde(flatten)]
    pub window: WindowArgs,
    pub admin: Option<AccountId>,
}

/// The proof window's configuration, as `new` and `migrate` take it (all optional).
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq, Eq)]
pub struct WindowArgs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring_size: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_hours: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval_minutes: Option<u32>,
}

impl WindowArgs {
    pub fn ring(ring_size: u32) -> Self {
        WindowArgs {
            ring_size: Some(ring_size),
            ..Default::default()
        }
    }
}

/// `window()` view: what is provable now.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ProvableWindow {
    #[serde(with = "xsc_core::primitives::dec_str")]
    pub head: u64,
    #[serde(deserialize_with = "dec_vec")]
    pub recent: Vec<u64>,
    #[serde(deserialize_with = "dec_vec")]
    pub checkpoints: Vec<u64>,
    pub legacy: Option<serde_json::Value>,
}

fn dec_vec<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u64>, D::Error> {
    let v: Vec<String> = Deserialize::deserialize(d)?;
    v.iter()
        .map(|s| s.parse().map_err(serde::de::Error::custom))
        .collect()
}

/// `stored_range()` view.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StoredRange {
    #[serde(with = "xsc_core::primitives::dec_str")]
    pub oldest_height: u64,
    #[serde(with = "xsc_core::primitives::dec_str")]
    pub newest_height: u64,
    #[serde(with = "xsc_core::primitives::dec_str")]
    pub count: u64,
}

/// `config()` view.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Config {
    pub ring_size: u32,
    pub retention_hours: u32,
    pub checkpoint_interval_minutes: u32,
    pub checkpoint_capacity: u32,
    #[serde(with = "xsc_core::primitives::dec_str")]
    pub window_storage_bytes: u64,
}

/// Roles of the contract (`near-plugins` access control), as their JSON names.
pub mod roles {
    pub const DAO: &str = "Dao";
    pub const PAUSE_MANAGER: &str = "PauseManager";
    pub const UNPAUSE_MANAGER: &str = "UnpauseManager";
    pub const CONFIG_MANAGER: &str = "ConfigManager";
    pub const RECOVERY_MANAGER: &str = "RecoveryManager";
}

/// Borsh arguments of `verify_outcome`: the tuple `(proof, height)`.
pub fn verify_outcome_args(proof: &LightClientExecutionProof, height: u64) -> Vec<u8> {
    borsh::to_vec(&(proof, height)).expect("borsh of a proof")
}

/// A deployed light client contract.
pub struct LightClientContract {
    pub contract: Contract,
}

impl LightClientContract {
    /// Deploy `res/xsc_light_client.wasm` to a fresh account and call `new` from that account.
    pub async fn deploy(worker: &Worker<Sandbox>, init: &InitArgs) -> Result<Self> {
        Self::deploy_by(worker, init, None).await
    }

    /// Deploy `res/xsc_light_client.wasm` to a fresh account; `new` is called by `caller` (who
    /// becomes the admin when `init.admin` is `None`), or by the contract account itself.
    pub async fn deploy_by(
        worker: &Worker<Sandbox>,
        init: &InitArgs,
        caller: Option<&Account>,
    ) -> Result<Self> {
        let wasm = artifacts::load(artifacts::LIGHT_CLIENT)?;
        let contract = worker.dev_deploy(&wasm).await.context("deploy")?;
        let call = match caller {
            Some(caller) => caller.call(contract.id(), "new"),
            None => contract.call("new"),
        };
        let result = call
            .args_json(init)
            .gas(TX_GAS)
            .transact()
            .await
            .context("new")?;
        if let Some(f) = crate::outcome::failure(&result) {
            return Err(anyhow!("new failed: {f}"));
        }
        Ok(Self { contract })
    }

    pub fn id(&self) -> &AccountId {
        self.contract.id()
    }

    /// `add_light_client_block` with the borsh of `block`, signed by `relayer`, attaching what
    /// `deposit_for_block` asks for (nothing, except when the block adds storage).
    pub async fn add_block(
        &self,
        relayer: &Account,
        block: &LightClientBlockView,
    ) -> Result<ExecutionFinalResult> {
        let deposit = self.deposit_for_block(block).await?;
        self.add_block_paying(relayer, block, deposit).await
    }

    /// `add_light_client_block` attaching `deposit` yoctoNEAR.
    pub async fn add_block_paying(
        &self,
        relayer: &Account,
        block: &LightClientBlockView,
        deposit: u128,
    ) -> Result<ExecutionFinalResult> {
        self.add_block_bytes_paying(relayer, borsh::to_vec(block)?, deposit)
            .await
    }

    /// `add_light_client_block` with raw argument bytes (for tampered encodings).
    pub async fn add_block_bytes(
        &self,
        relayer: &Account,
        args: Vec<u8>,
    ) -> Result<ExecutionFinalResult> {
        self.add_block_bytes_paying(relayer, args, 0).await
    }

    pub async fn add_block_bytes_paying(
        &self,
        relayer: &Account,
        args: Vec<u8>,
        deposit: u128,
    ) -> Result<ExecutionFinalResult> {
        Ok(relayer
            .call(self.id(), "add_light_client_block")
            .args(args)
            .deposit(NearToken::from_yoctonear(deposit))
            .gas(TX_GAS)
            .transact()
            .await?)
    }

    /// The `deposit_for_block` view: yoctoNEAR that `block` must attach.
    pub async fn deposit_for_block(&self, block: &LightClientBlockView) -> Result<u128> {
        let view = self
            .contract
            .view("deposit_for_block")
            .args(borsh::to_vec(block)?)
            .await
            .context("view deposit_for_block")?;
        let v: String = view.json().context("deposit_for_block: not a U128")?;
        Ok(v.parse()?)
    }

    /// `verify_and_forward(proof, height, receiver, msg)` (borsh), signed by `caller` with
    /// `deposit`.
    pub async fn verify_and_forward_tx(
        &self,
        caller: &Account,
        proof: &LightClientExecutionProof,
        height: u64,
        receiver: &AccountId,
        msg: &[u8],
        deposit: u128,
    ) -> Result<ExecutionFinalResult> {
        // An AccountId's borsh is its string's.
        let receiver: String = receiver.as_str().to_string();
        Ok(caller
            .call(self.id(), "verify_and_forward")
            .args(borsh::to_vec(&(proof, height, receiver, msg.to_vec()))?)
            .deposit(NearToken::from_yoctonear(deposit))
            .gas(TX_GAS)
            .transact()
            .await?)
    }

    /// `verify_outcome` as a transaction (what a connector's cross-contract call costs, plus the
    /// transaction itself).
    pub async fn verify_outcome_tx(
        &self,
        caller: &Account,
        proof: &LightClientExecutionProof,
        height: u64,
    ) -> Result<ExecutionFinalResult> {
        Ok(caller
            .call(self.id(), "verify_outcome")
            .args(verify_outcome_args(proof, height))
            .gas(TX_GAS)
            .transact()
            .await?)
    }

    /// `verify_outcome` as a view: `Ok(Err(message))` when the contract rejects the proof.
    pub async fn verify_outcome_view(
        &self,
        proof: &LightClientExecutionProof,
        height: u64,
    ) -> Result<std::result::Result<ProvenOutcome, String>> {
        match self
            .contract
            .view("verify_outcome")
            .args(verify_outcome_args(proof, height))
            .await
        {
            Ok(view) => Ok(Ok(borsh::from_slice(&view.result)
                .context("verify_outcome result is not a borsh ProvenOutcome")?)),
            Err(e) => Ok(Err(format!("{e:#} {:?}", std::error::Error::source(&e)))),
        }
    }

    /// Any JSON method, as `caller`.
    pub async fn call_json(
        &self,
        caller: &Account,
        method: &str,
        args: serde_json::Value,
    ) -> Result<ExecutionFinalResult> {
        Ok(caller
            .call(self.id(), method)
            .args_json(args)
            .gas(TX_GAS)
            .transact()
            .await?)
    }

    async fn view_json<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        args: serde_json::Value,
    ) -> Result<T> {
        let view = self
            .contract
            .view(method)
            .args_json(args)
            .await
            .with_context(|| format!("view {method}"))?;
        view.json()
            .with_context(|| format!("view {method}: unexpected JSON"))
    }

    pub async fn head(&self) -> Result<Head> {
        self.view_json("head", json!({})).await
    }

    pub async fn stored_range(&self) -> Result<StoredRange> {
        self.view_json("stored_range", json!({})).await
    }

    pub async fn block(&self, height: u64) -> Result<Option<StoredBlock>> {
        self.view_json("block", json!({ "height": height.to_string() }))
            .await
    }

    /// `{total_stake, producers: [{public_key, stake}]}` or `None`.
    pub async fn epoch_producers(
        &self,
        epoch_id: &CryptoHash,
    ) -> Result<Option<serde_json::Value>> {
        self.view_json("epoch_producers", json!({ "epoch_id": epoch_id }))
            .await
    }

    pub async fn config(&self) -> Result<Config> {
        self.view_json("config", json!({})).await
    }

    pub async fn window(&self) -> Result<ProvableWindow> {
        self.view_json("window", json!({})).await
    }

    pub async fn is_paused(&self, key: &str) -> Result<bool> {
        self.view_json("pa_is_paused", json!({ "key": key })).await
    }

    pub async fn has_role(&self, role: &str, account: &AccountId) -> Result<bool> {
        self.view_json(
            "acl_has_role",
            json!({ "role": role, "account_id": account }),
        )
        .await
    }

    /// `acl_grant_role` by `admin` (a super admin); fails unless the role was newly granted.
    pub async fn grant_role(&self, admin: &Account, role: &str, to: &AccountId) -> Result<()> {
        let r = self
            .call_json(
                admin,
                "acl_grant_role",
                json!({ "role": role, "account_id": to }),
            )
            .await?;
        match crate::outcome::failure(&r) {
            Some(f) => Err(anyhow!("acl_grant_role {role} {to}: {f}")),
            None => match r.json::<Option<bool>>()? {
                Some(true) => Ok(()),
                other => Err(anyhow!("acl_grant_role {role} {to} returned {other:?}")),
            },
        }
    }

    pub async fn pause(&self, caller: &Account, key: &str) -> Result<ExecutionFinalResult> {
        self.call_json(caller, "pa_pause_feature", json!({ "key": key }))
            .await
    }

    pub async fn unpause(&self, caller: &Account, key: &str) -> Result<ExecutionFinalResult> {
        self.call_json(caller, "pa_unpause_feature", json!({ "key": key }))
            .await
    }

    /// Any JSON method with a deposit.
    pub async fn call_json_paying(
        &self,
        caller: &Account,
        method: &str,
        args: serde_json::Value,
        deposit: u128,
    ) -> Result<ExecutionFinalResult> {
        Ok(caller
            .call(self.id(), method)
            .args_json(args)
            .deposit(NearToken::from_yoctonear(deposit))
            .gas(TX_GAS)
            .transact()
            .await?)
    }

    pub async fn set_ring_size(
        &self,
        caller: &Account,
        ring_size: u32,
        deposit: u128,
    ) -> Result<ExecutionFinalResult> {
        self.call_json_paying(
            caller,
            "set_ring_size",
            json!({ "ring_size": ring_size }),
            deposit,
        )
        .await
    }

    pub async fn set_retention(
        &self,
        caller: &Account,
        retention_hours: u32,
        checkpoint_interval_minutes: u32,
        deposit: u128,
    ) -> Result<ExecutionFinalResult> {
        self.call_json_paying(
            caller,
            "set_retention",
            json!({
                "retention_hours": retention_hours,
                "checkpoint_interval_minutes": checkpoint_interval_minutes
            }),
            deposit,
        )
        .await
    }

    /// `reset_head`, attaching 1 NEAR for new producer tables (the surplus is refunded).
    pub async fn reset_head(
        &self,
        caller: &Account,
        head: &LightClientBlockView,
        epoch_producers: &[ValidatorStakeView],
        reason: &str,
    ) -> Result<ExecutionFinalResult> {
        self.call_json_paying(
            caller,
            "reset_head",
            json!({ "head": head, "epoch_producers": epoch_producers, "reason": reason }),
            NearToken::from_near(1).as_yoctonear(),
        )
        .await
    }
}
