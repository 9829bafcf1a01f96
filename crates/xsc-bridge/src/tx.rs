//! Building, signing and submitting transactions with local nonce management.
//!
//! The access key's nonce is fetched once, then incremented locally for every transaction; an
//! `InvalidNonce` answer re-synchronises it (from the error's `ak_nonce`, else by fetching) and
//! the transaction is signed again with the next nonce. An invalid transaction never executed,
//! so re-signing it cannot execute anything twice. Re-sending the *same* signed bytes is safe
//! too: a node recognises a transaction it already has by its hash.

use crate::rpc::{BlockRef, FinalOutcome, RpcClient, RpcError, TxStatus, WaitUntil};
use crate::signer::{to_core_hash, TxSigner};
use base64::Engine;
use near_crypto::PublicKey;
use near_primitives::account::AccessKey;
use near_primitives::action::{
    Action, AddKeyAction, CreateAccountAction, DeployContractAction, FunctionCallAction,
    TransferAction,
};
use near_primitives::hash::CryptoHash as NearHash;
use near_primitives::transaction::{SignedTransaction, Transaction, TransactionV0};
use near_primitives::types::{AccountId, Balance, Gas};
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tracing::{debug, info, warn};
use xsc_core::CryptoHash;

/// 300 Tgas: the most a transaction may attach on older networks (Calimero shards, protocol 63).
pub const MAX_GAS_300T: u64 = 300_000_000_000_000;

/// Action constructors (near-primitives types).
pub mod actions {
    use super::*;

    pub fn function_call(method_name: &str, args: Vec<u8>, gas: u64, deposit: u128) -> Action {
        Action::FunctionCall(Box::new(FunctionCallAction {
            method_name: method_name.to_string(),
            args,
            gas: Gas::from_gas(gas),
            deposit: Balance::from_yoctonear(deposit),
        }))
    }

    pub fn deploy_contract(code: Vec<u8>) -> Action {
        Action::DeployContract(DeployContractAction { code })
    }

    pub fn create_account() -> Action {
        Action::CreateAccount(CreateAccountAction {})
    }

    pub fn transfer(deposit: u128) -> Action {
        Action::Transfer(TransferAction {
            deposit: Balance::from_yoctonear(deposit),
        })
    }

    pub fn add_full_access_key(public_key: PublicKey) -> Action {
        Action::AddKey(Box::new(AddKeyAction {
            public_key,
            access_key: AccessKey::full_access(),
        }))
    }

    /// CreateAccount + Transfer + AddKey (full access): a new sub-account with a key and funds.
    pub fn create_funded_account(public_key: PublicKey, deposit: u128) -> Vec<Action> {
        vec![
            create_account(),
            transfer(deposit),
            add_full_access_key(public_key),
        ]
    }
}

/// How a signed transaction is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitMode {
    /// `broadcast_tx_commit`: every nearcore version (old protocol-63 nodes lack `send_tx`).
    BroadcastCommit,
    /// `send_tx` waiting until the given stage (current nodes).
    SendTx(WaitUntil),
}

#[derive(Debug, Clone)]
pub struct TxOptions {
    pub submit: SubmitMode,
    /// Re-signing attempts after `InvalidNonce` / `Expired`.
    pub max_resign: u32,
    /// After a timeout, how long to poll `tx` for the outcome, and how often.
    pub status_timeout: Duration,
    pub status_poll: Duration,
    /// Reuse a final block hash as the transaction's reference for this long.
    pub block_hash_ttl: Duration,
}

impl Default for TxOptions {
    fn default() -> Self {
        TxOptions {
            submit: SubmitMode::BroadcastCommit,
            max_resign: 3,
            status_timeout: Duration::from_secs(60),
            status_poll: Duration::from_secs(1),
            block_hash_ttl: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TxError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error("transaction rejected: {0}")]
    Invalid(String),
    #[error("transaction {tx_hash} submitted but no outcome within {waited:?}; ask `tx` later")]
    Unconfirmed {
        tx_hash: CryptoHash,
        waited: Duration,
    },
    #[error("invalid account id `{0}`")]
    AccountId(String),
    #[error("still InvalidNonce after {0} re-signs")]
    NonceRetriesExhausted(u32),
}

/// A signed transaction ready to submit; its hash is known before submission (record it to
/// find the outcome after a crash).
#[derive(Debug, Clone)]
pub struct PreparedTx {
    pub signed: SignedTransaction,
    pub hash: CryptoHash,
    pub base64: String,
}

impl PreparedTx {
    pub fn new(signed: SignedTransaction) -> Self {
        let bytes = borsh::to_vec(&signed).expect("borsh of a transaction");
        PreparedTx {
            hash: to_core_hash(&signed.get_hash()),
            base64: base64::engine::general_purpose::STANDARD.encode(bytes),
            signed,
        }
    }
}

/// Signs and submits transactions for one account key on one chain.
pub struct TxSender {
    rpc: RpcClient,
    signer: Arc<TxSigner>,
    opts: TxOptions,
    nonce: Mutex<Option<u64>>,
    block_hash: Mutex<Option<(NearHash, Instant)>>,
}

/// What an `InvalidTxError` says, found anywhere in an error's JSON or text.
#[derive(Debug, PartialEq, Eq)]
enum Rejection {
    /// `InvalidNonce`, with the access key's nonce when given.
    Nonce(Option<u64>),
    Expired,
}

fn find_key<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => m
            .get(key)
            .or_else(|| m.values().find_map(|v| find_key(v, key))),
        Value::Array(a) => a.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

fn has_string(v: &Value, s: &str) -> bool {
    match v {
        Value::String(x) => x == s,
        Value::Object(m) => m.values().any(|v| has_string(v, s)),
        Value::Array(a) => a.iter().any(|v| has_string(v, s)),
        _ => false,
    }
}

fn rejection_in(v: &Value, text: &str) -> Option<Rejection> {
    if let Some(n) = find_key(v, "InvalidNonce") {
        return Some(Rejection::Nonce(n.get("ak_nonce").and_then(Value::as_u64)));
    }
    if text.contains("InvalidNonce") {
        return Some(Rejection::Nonce(None));
    }
    if find_key(v, "Expired").is_some() || has_string(v, "Expired") || text.contains("Expired") {
        return Some(Rejection::Expired);
    }
    None
}

fn rejection_of_error(e: &RpcError) -> Option<Rejection> {
    let h = e.as_handler()?;
    if h.cause == "INVALID_TRANSACTION"
        || h.cause.is_empty()
        || h.message.contains("InvalidTxError")
    {
        rejection_in(&h.info, &h.message)
    } else {
        None
    }
}

fn rejection_of_outcome(o: &FinalOutcome) -> Option<Rejection> {
    match &o.status {
        TxStatus::Failure(f) if find_key(&f.raw, "InvalidTxError").is_some() => {
            rejection_in(&f.raw, "")
        }
        _ => None,
    }
}

impl TxSender {
    pub fn new(rpc: RpcClient, signer: Arc<TxSigner>, opts: TxOptions) -> Self {
        TxSender {
            rpc,
            signer,
            opts,
            nonce: Mutex::new(None),
            block_hash: Mutex::new(None),
        }
    }

    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    pub fn signer(&self) -> &TxSigner {
        &self.signer
    }

    /// Forget the local nonce; the next transaction fetches it again.
    pub async fn reset_nonce(&self) {
        *self.nonce.lock().await = None;
    }

    async fn next_nonce(&self) -> Result<u64, TxError> {
        let mut guard = self.nonce.lock().await;
        let current = match *guard {
            Some(n) => n,
            None => {
                let ak = self
                    .rpc
                    .view_access_key(
                        self.signer.account_id().as_str(),
                        &self.signer.public_key().to_string(),
                        BlockRef::Optimistic,
                    )
                    .await?;
                debug!(account = %self.signer.account_id(), nonce = ak.nonce, "fetched access key nonce");
                ak.nonce
            }
        };
        let next = current + 1;
        *guard = Some(next);
        Ok(next)
    }

    async fn set_nonce_floor(&self, ak_nonce: Option<u64>) {
        let mut guard = self.nonce.lock().await;
        *guard = match (ak_nonce, *guard) {
            (Some(ak), Some(local)) => Some(ak.max(local)),
            (Some(ak), None) => Some(ak),
            (None, _) => None,
        };
    }

    async fn reference_block(&self, fresh: bool) -> Result<NearHash, TxError> {
        let mut guard = self.block_hash.lock().await;
        if let Some((h, at)) = *guard {
            if !fresh && at.elapsed() < self.opts.block_hash_ttl {
                return Ok(h);
            }
        }
        let b = self.rpc.block(BlockRef::Final).await?;
        let h = NearHash(b.header.hash.0);
        *guard = Some((h, Instant::now()));
        Ok(h)
    }

    /// Sign a transaction to `receiver_id` with the next nonce.
    pub async fn prepare(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
    ) -> Result<PreparedTx, TxError> {
        self.prepare_inner(receiver_id, actions, false).await
    }

    async fn prepare_inner(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
        fresh_block: bool,
    ) -> Result<PreparedTx, TxError> {
        let receiver_id: AccountId = receiver_id
            .parse()
            .map_err(|_| TxError::AccountId(receiver_id.to_string()))?;
        let block_hash = self.reference_block(fresh_block).await?;
        let nonce = self.next_nonce().await?;
        let tx = Transaction::V0(TransactionV0 {
            signer_id: self.signer.account_id().clone(),
            public_key: self.signer.public_key(),
            nonce,
            receiver_id,
            block_hash,
            actions,
        });
        Ok(PreparedTx::new(self.signer.sign(tx)))
    }

    /// Submit a prepared transaction and wait for its outcome. After a timeout the outcome is
    /// polled with `tx` until `status_timeout`. A failed execution is an `Ok` outcome whose
    /// status is a failure; an invalid transaction is an error.
    pub async fn submit(&self, tx: &PreparedTx) -> Result<FinalOutcome, TxError> {
        let sender = self.signer.account_id().as_str();
        let r = match self.opts.submit {
            SubmitMode::BroadcastCommit => self.rpc.broadcast_tx_commit(&tx.base64).await,
            SubmitMode::SendTx(w) => self.rpc.send_tx(&tx.base64, w).await,
        };
        match r {
            Ok(o) => Ok(o),
            Err(e)
                if matches!(e, RpcError::Timeout { .. })
                    || e.is_cause("TIMEOUT_ERROR")
                    || e.mentions("Timeout") && e.kind() == "handler" =>
            {
                warn!(tx = %tx.hash, error = %e, "no outcome yet; polling tx status");
                self.wait_for_outcome(&tx.hash, sender).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Poll `tx` until the transaction has a final status or `status_timeout` passes.
    pub async fn wait_for_outcome(
        &self,
        tx_hash: &CryptoHash,
        sender: &str,
    ) -> Result<FinalOutcome, TxError> {
        let started = Instant::now();
        loop {
            match self.rpc.tx_status(tx_hash, sender).await {
                Ok(o) if o.is_done() => return Ok(o),
                Ok(_) => {}
                Err(e) if e.is_cause("UNKNOWN_TRANSACTION") || e.is_retryable() => {
                    debug!(tx = %tx_hash, error = %e, "outcome not available yet")
                }
                Err(e) => return Err(e.into()),
            }
            if started.elapsed() >= self.opts.status_timeout {
                return Err(TxError::Unconfirmed {
                    tx_hash: *tx_hash,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(self.opts.status_poll).await;
        }
    }

    /// Sign, submit, and on `InvalidNonce` / `Expired` re-sign and submit again.
    /// `on_signed` sees each transaction hash before it is submitted.
    pub async fn send_with(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
        mut on_signed: impl FnMut(&CryptoHash),
    ) -> Result<FinalOutcome, TxError> {
        let mut fresh_block = false;
        for attempt in 0..=self.opts.max_resign {
            let tx = self
                .prepare_inner(receiver_id, actions.clone(), fresh_block)
                .await?;
            on_signed(&tx.hash);
            let rejection = match self.submit(&tx).await {
                Ok(o) => match rejection_of_outcome(&o) {
                    None => {
                        info!(tx = %tx.hash, receiver = receiver_id, success = o.is_success(), gas = o.total_gas_burnt(), "transaction executed");
                        return Ok(o);
                    }
                    Some(r) => r,
                },
                Err(TxError::Rpc(e)) => match rejection_of_error(&e) {
                    Some(r) => r,
                    None if e.cause() == Some("INVALID_TRANSACTION") => {
                        return Err(TxError::Invalid(e.to_string()))
                    }
                    None => return Err(TxError::Rpc(e)),
                },
                Err(e) => return Err(e),
            };
            warn!(tx = %tx.hash, attempt, ?rejection, "transaction rejected; re-signing");
            match rejection {
                Rejection::Nonce(ak) => self.set_nonce_floor(ak).await,
                Rejection::Expired => fresh_block = true,
            }
        }
        Err(TxError::NonceRetriesExhausted(self.opts.max_resign))
    }

    /// Sign and hand the transaction to the node with `broadcast_tx_async`, without waiting for
    /// its execution (then [`Self::wait_for_outcome`]). When this returns, the node has queued
    /// the transaction, so one this sender submits next reaches the node after it, and its higher
    /// nonce orders it after this one in the chunk.
    pub async fn broadcast_nowait(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
    ) -> Result<PreparedTx, TxError> {
        let tx = self.prepare_inner(receiver_id, actions, false).await?;
        self.rpc.broadcast_tx_async(&tx.base64).await?;
        Ok(tx)
    }

    pub async fn send(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
    ) -> Result<FinalOutcome, TxError> {
        self.send_with(receiver_id, actions, |_| {}).await
    }

    pub async fn call_function(
        &self,
        receiver_id: &str,
        method_name: &str,
        args: Vec<u8>,
        gas: u64,
        deposit: u128,
    ) -> Result<FinalOutcome, TxError> {
        self.send(
            receiver_id,
            vec![actions::function_call(method_name, args, gas, deposit)],
        )
        .await
    }

    /// Deploy `code` to `account_id` (the signer's own account, or one it just created with this
    /// key).
    pub async fn deploy_contract(
        &self,
        account_id: &str,
        code: Vec<u8>,
    ) -> Result<FinalOutcome, TxError> {
        self.send(account_id, vec![actions::deploy_contract(code)])
            .await
    }

    /// Create `new_account_id` (a sub-account of the signer) with `deposit` and a full-access key.
    pub async fn create_account(
        &self,
        new_account_id: &str,
        public_key: PublicKey,
        deposit: u128,
    ) -> Result<FinalOutcome, TxError> {
        self.send(
            new_account_id,
            actions::create_funded_account(public_key, deposit),
        )
        .await
    }
}

#[cfg(test)]
mod tests;
