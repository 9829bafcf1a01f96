//! Building, signing and submitting transactions: one [`TxSender`] is one **nonce lane** (one
//! access key); [`crate::keys`] pools several of them per chain.
//!
//! The access key's nonce is fetched once, then incremented locally for every transaction. It
//! only ever moves up: an `InvalidNonce` answer raises it to the node's `ak_nonce` (or to a
//! freshly fetched one) and the transaction is signed again with the next nonce; nothing resets
//! it while other transactions of the lane are in flight (their nonces stay valid: a nonce only
//! has to exceed the key's). An invalid transaction never executed, so re-signing it cannot
//! execute anything twice. Re-sending the *same* signed bytes is safe too: a node recognises a
//! transaction it already has by its hash.
//!
//! **Ordered submission.** Within a lane, transactions reach the node in nonce order: signing
//! and handing over are serialised, and the next transaction is signed only once the node
//! answered the previous one or an acceptance window passed. Transactions go with
//! `broadcast_tx_commit`, which validates before it waits for execution: a rejection
//! (`InvalidNonce`, `Expired`, `NotEnoughBalance`, a key that may not call this method) is an
//! answer within milliseconds of the node, never hidden. (`send_tx` with `wait_until: NONE`, or
//! `broadcast_tx_async`, answer before validating: measured on a current sandbox, both an expired
//! transaction and a stale nonce get a success reply and are then dropped silently.) The window
//! adapts to the endpoint: four times its typical reply time for quick requests, between
//! `accept_window_min` and `accept_window`. A lane meanwhile has many transactions in flight.

use crate::rpc::{BlockRef, FinalOutcome, RpcClient, RpcError, TxStatus, WaitUntil};
use crate::signer::{to_core_hash, TxSigner};
use base64::Engine;
use near_crypto::PublicKey;
use near_primitives::account::{AccessKey, AccessKeyPermission, FunctionCallPermission};
use near_primitives::action::{
    Action, AddKeyAction, CreateAccountAction, DeployContractAction, FunctionCallAction,
    TransferAction,
};
use near_primitives::hash::CryptoHash as NearHash;
use near_primitives::transaction::{SignedTransaction, Transaction, TransactionV0};
use near_primitives::types::{AccountId, Balance, Gas};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tracing::{debug, warn};
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

    /// A function-call access key: it may only call `methods` (all when empty) on `receiver`,
    /// attach no deposit, and spend no more than `allowance` on gas (`None`: unlimited).
    pub fn add_function_call_key(
        public_key: PublicKey,
        receiver: &str,
        methods: &[&str],
        allowance: Option<u128>,
    ) -> Action {
        Action::AddKey(Box::new(AddKeyAction {
            public_key,
            access_key: AccessKey {
                nonce: 0,
                permission: AccessKeyPermission::FunctionCall(FunctionCallPermission {
                    allowance: allowance.map(Balance::from_yoctonear),
                    receiver_id: receiver.to_string(),
                    method_names: methods.iter().map(|m| m.to_string()).collect(),
                }),
            },
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
    /// `broadcast_tx_commit`: every nearcore version (old protocol-63 nodes lack `send_tx`);
    /// it reports a rejection at once.
    BroadcastCommit,
    /// `send_tx` waiting until the given stage (current nodes).
    SendTx(WaitUntil),
}

#[derive(Debug, Clone)]
pub struct TxOptions {
    pub submit: SubmitMode,
    /// At most how long the lane waits for the node's first answer before signing its next
    /// transaction (the window is four times the endpoint's typical reply time, within
    /// `accept_window_min..=accept_window`).
    pub accept_window: Duration,
    pub accept_window_min: Duration,
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
            accept_window: Duration::from_millis(300),
            accept_window_min: Duration::from_millis(20),
            max_resign: 3,
            status_timeout: Duration::from_secs(60),
            status_poll: Duration::from_secs(1),
            // Well inside the shortest validity period in use (100 blocks on the sandboxes).
            block_hash_ttl: Duration::from_secs(20),
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
    /// The caller's record of the signed transaction failed: it was not submitted.
    #[error("not submitted: recording the transaction failed: {0}")]
    NotRecorded(String),
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

/// The outcome of a transaction handed over by [`TxSender::send_until_included`].
pub type PendingOutcome =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<FinalOutcome, TxError>> + Send>>;

/// Signs and submits transactions for one access key on one chain: one nonce lane.
pub struct TxSender {
    rpc: RpcClient,
    signer: Arc<TxSigner>,
    opts: TxOptions,
    /// Name in logs and metrics.
    label: String,
    /// The last nonce used (`None`: not fetched yet).
    nonce: Mutex<Option<u64>>,
    /// Held while a transaction is signed and handed to the node (ordered submission).
    submitting: Mutex<()>,
    block_hash: Mutex<Option<(NearHash, Instant)>>,
    in_flight: AtomicUsize,
    resyncs: AtomicU64,
    /// Whether the node knows `send_tx` (0: not asked yet, 1: yes, 2: no; old nodes).
    send_tx: AtomicU8,
}

/// Counts a transaction in flight on a lane while alive.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(c: &'a AtomicUsize) -> Self {
        c.fetch_add(1, Ordering::Relaxed);
        InFlight(c)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
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

/// A node without the method (`send_tx` on old nodes).
fn is_method_not_found(e: &RpcError) -> bool {
    e.is_cause("METHOD_NOT_FOUND")
        || e.mentions("Method not found")
        || e.mentions("method not found")
}

impl TxSender {
    pub fn new(rpc: RpcClient, signer: Arc<TxSigner>, opts: TxOptions) -> Self {
        let label = format!("{}/{}", signer.account_id(), signer.public_key());
        TxSender {
            rpc,
            signer,
            opts,
            label,
            nonce: Mutex::new(None),
            submitting: Mutex::new(()),
            block_hash: Mutex::new(None),
            in_flight: AtomicUsize::new(0),
            resyncs: AtomicU64::new(0),
            send_tx: AtomicU8::new(0),
        }
    }

    /// Name the lane in logs and metrics.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    pub fn label(&self) -> &str {
        &self.label
    }

    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    pub fn signer(&self) -> &TxSigner {
        &self.signer
    }

    /// Transactions of this lane handed over and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// How often the lane's nonce was re-synchronised with the node.
    pub fn nonce_resyncs(&self) -> u64 {
        self.resyncs.load(Ordering::Relaxed)
    }

    /// How long a submission may go unanswered before the lane signs its next transaction.
    pub fn accept_window(&self) -> Duration {
        let adaptive = self
            .rpc
            .typical_latency()
            .map_or(self.opts.accept_window, |l| l * 4);
        adaptive.clamp(
            self.opts.accept_window_min.min(self.opts.accept_window),
            self.opts.accept_window,
        )
    }

    /// The last nonce this lane used, if known.
    pub async fn local_nonce(&self) -> Option<u64> {
        *self.nonce.lock().await
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
                debug!(lane = %self.label, nonce = ak.nonce, "fetched access key nonce");
                ak.nonce
            }
        };
        let next = current + 1;
        *guard = Some(next);
        Ok(next)
    }

    /// Raise the local nonce to `ak_nonce` when it is behind; never lowers it, so transactions
    /// of this lane in flight keep their (valid) nonces.
    async fn set_nonce_floor(&self, ak_nonce: u64) {
        let mut guard = self.nonce.lock().await;
        *guard = Some(guard.map_or(ak_nonce, |local| local.max(ak_nonce)));
        self.resyncs.fetch_add(1, Ordering::Relaxed);
    }

    /// [`Self::set_nonce_floor`] with the access key's nonce fetched now.
    async fn resync_nonce(&self) -> Result<(), TxError> {
        let ak = self
            .rpc
            .view_access_key(
                self.signer.account_id().as_str(),
                &self.signer.public_key().to_string(),
                BlockRef::Optimistic,
            )
            .await?;
        self.set_nonce_floor(ak.nonce).await;
        Ok(())
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

    /// Submit a prepared transaction and wait for its outcome. After a timeout (or a broken
    /// connection) the outcome is polled with `tx` until `status_timeout`. A failed execution
    /// is an `Ok` outcome whose status is a failure; an invalid transaction is an error.
    pub async fn submit(&self, tx: &PreparedTx) -> Result<FinalOutcome, TxError> {
        let r = match self.opts.submit {
            SubmitMode::BroadcastCommit => self.rpc.broadcast_tx_commit(&tx.base64).await,
            SubmitMode::SendTx(w) => self.rpc.send_tx(&tx.base64, w).await,
        };
        self.after_submit(tx, r).await
    }

    /// Poll `tx` until the transaction has a final status or `status_timeout` passes.
    pub async fn wait_for_outcome(
        &self,
        tx_hash: &CryptoHash,
        sender: &str,
    ) -> Result<FinalOutcome, TxError> {
        wait_for_outcome(
            &self.rpc,
            tx_hash,
            sender,
            self.opts.status_poll,
            self.opts.status_timeout,
        )
        .await
    }

    /// Hand `tx` to the node and return its answer; the lane is free for its next transaction
    /// as soon as the node answered or the acceptance window passed.
    async fn submit_ordered(
        &self,
        guard: tokio::sync::MutexGuard<'_, ()>,
        tx: &PreparedTx,
    ) -> Result<FinalOutcome, TxError> {
        let rpc = self.rpc.clone();
        let (b64, mode) = (tx.base64.clone(), self.opts.submit);
        let mut call = tokio::spawn(async move {
            match mode {
                SubmitMode::BroadcastCommit => rpc.broadcast_tx_commit(&b64).await,
                SubmitMode::SendTx(w) => rpc.send_tx(&b64, w).await,
            }
        });
        let early = tokio::time::timeout(self.accept_window(), &mut call).await;
        drop(guard);
        let joined = match early {
            Ok(joined) => joined,
            Err(_) => call.await,
        };
        let r = joined.map_err(|e| {
            TxError::Rpc(RpcError::parse(
                "broadcast_tx_commit",
                format!("submission task: {e}"),
            ))
        })?;
        self.after_submit(tx, r).await
    }

    /// A submission's answer: the outcome, or after a timeout or a broken connection the
    /// outcome polled with `tx` (the transaction may have reached the node).
    async fn after_submit(
        &self,
        tx: &PreparedTx,
        r: Result<FinalOutcome, RpcError>,
    ) -> Result<FinalOutcome, TxError> {
        let sender = self.signer.account_id().as_str();
        match r {
            Ok(o) => Ok(o),
            Err(e)
                if matches!(e, RpcError::Timeout { .. })
                    || e.is_cause("TIMEOUT_ERROR")
                    || e.mentions("Timeout") && e.kind() == "handler" =>
            {
                warn!(lane = %self.label, tx = %tx.hash, error = %e, "no outcome yet; polling tx status");
                self.wait_for_outcome(&tx.hash, sender).await
            }
            Err(e) if e.is_endpoint_fault() => {
                warn!(lane = %self.label, tx = %tx.hash, error = %e, "submission failed; looking for the transaction");
                // It reached a node, or it did not: a few blocks tell.
                let lookup = self.opts.status_timeout.min(Duration::from_secs(15));
                match wait_for_outcome(&self.rpc, &tx.hash, sender, self.opts.status_poll, lookup)
                    .await
                {
                    Ok(o) => Ok(o),
                    Err(TxError::Unconfirmed { .. }) => Err(e.into()),
                    Err(other) => Err(other),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After a rejection: whether to re-sign with a fresh reference block.
    async fn on_rejection(&self, tx: &PreparedTx, rejection: Rejection) -> Result<bool, TxError> {
        warn!(lane = %self.label, tx = %tx.hash, ?rejection, "transaction rejected; re-signing");
        match rejection {
            Rejection::Nonce(Some(ak)) => {
                self.set_nonce_floor(ak).await;
                Ok(false)
            }
            Rejection::Nonce(None) => {
                self.resync_nonce().await?;
                Ok(false)
            }
            Rejection::Expired => Ok(true),
        }
    }

    /// What a submission's answer means: the outcome to return, or a rejection to re-sign
    /// after.
    fn verdict(
        r: Result<FinalOutcome, TxError>,
    ) -> Result<Result<FinalOutcome, Rejection>, TxError> {
        match r {
            Ok(o) => Ok(match rejection_of_outcome(&o) {
                None => Ok(o),
                Some(rej) => Err(rej),
            }),
            Err(TxError::Rpc(e)) => match rejection_of_error(&e) {
                Some(rej) => Ok(Err(rej)),
                None if e.cause() == Some("INVALID_TRANSACTION") => {
                    Err(TxError::Invalid(e.to_string()))
                }
                None => Err(TxError::Rpc(e)),
            },
            Err(e) => Err(e),
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
        self.send_recorded(receiver_id, actions, |h| {
            on_signed(&h);
            std::future::ready(Ok::<(), String>(()))
        })
        .await
    }

    /// [`Self::send_with`] with an asynchronous record of each signed transaction's hash
    /// (e.g. into the queue), made before it is submitted: when the record fails, nothing is
    /// submitted ([`TxError::NotRecorded`]).
    pub async fn send_recorded<F, Fut>(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
        mut record: F,
    ) -> Result<FinalOutcome, TxError>
    where
        F: FnMut(CryptoHash) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let _in_flight = InFlight::new(&self.in_flight);
        let mut fresh_block = false;
        for _ in 0..=self.opts.max_resign {
            let guard = self.submitting.lock().await;
            let tx = self
                .prepare_inner(receiver_id, actions.clone(), fresh_block)
                .await?;
            record(tx.hash).await.map_err(TxError::NotRecorded)?;
            match Self::verdict(self.submit_ordered(guard, &tx).await)? {
                Ok(o) => {
                    debug!(lane = %self.label, tx = %tx.hash, receiver = receiver_id, success = o.is_success(), gas = o.total_gas_burnt(), "transaction executed");
                    return Ok(o);
                }
                Err(rejection) => fresh_block = self.on_rejection(&tx, rejection).await?,
            }
        }
        Err(TxError::NonceRetriesExhausted(self.opts.max_resign))
    }

    /// Sign and submit, returning once the transaction is **included** in a block, with a
    /// future for its outcome. Its receipt then executes before that of any transaction
    /// included later, whichever lane signed it. Uses `send_tx` with `wait_until: INCLUDED` on
    /// nodes that have it; old nodes (no `send_tx`) answer after execution, later but just as
    /// ordered. A rejection is an error here, never hidden behind the future.
    pub async fn send_until_included(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
    ) -> Result<(CryptoHash, PendingOutcome), TxError> {
        self.send_until_included_recorded(receiver_id, actions, |_| {
            std::future::ready(Ok::<(), String>(()))
        })
        .await
    }

    /// [`Self::send_until_included`] with an asynchronous record of each signed transaction
    /// (e.g. into the queue, so that another instance can learn its fate), made before it is
    /// handed to the node: when the record fails, nothing is sent ([`TxError::NotRecorded`]).
    pub async fn send_until_included_recorded<F, Fut>(
        &self,
        receiver_id: &str,
        actions: Vec<Action>,
        mut record: F,
    ) -> Result<(CryptoHash, PendingOutcome), TxError>
    where
        F: FnMut(&PreparedTx) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let mut fresh_block = false;
        for _ in 0..=self.opts.max_resign {
            let _in_flight = InFlight::new(&self.in_flight);
            let guard = self.submitting.lock().await;
            let tx = self
                .prepare_inner(receiver_id, actions.clone(), fresh_block)
                .await?;
            record(&tx).await.map_err(TxError::NotRecorded)?;
            let mut answer = None;
            if self.send_tx.load(Ordering::Relaxed) != 2 {
                match self.rpc.send_tx(&tx.base64, WaitUntil::Included).await {
                    Err(e) if is_method_not_found(&e) => {
                        debug!(lane = %self.label, "the node has no send_tx; waiting for execution instead");
                        self.send_tx.store(2, Ordering::Relaxed);
                    }
                    r => {
                        self.send_tx.store(1, Ordering::Relaxed);
                        answer = Some(r);
                    }
                }
            }
            let answer = match answer {
                Some(r) => r,
                None => self.rpc.broadcast_tx_commit(&tx.base64).await,
            };
            drop(guard);
            match Self::verdict(self.after_submit(&tx, answer).await)? {
                Ok(o) if o.is_done() => return Ok((tx.hash, Box::pin(async move { Ok(o) }))),
                Ok(_) => {
                    let rpc = self.rpc.clone();
                    let sender = self.signer.account_id().to_string();
                    let (hash, poll, timeout) =
                        (tx.hash, self.opts.status_poll, self.opts.status_timeout);
                    return Ok((
                        tx.hash,
                        Box::pin(async move {
                            wait_for_outcome(&rpc, &hash, &sender, poll, timeout).await
                        }),
                    ));
                }
                Err(rejection) => fresh_block = self.on_rejection(&tx, rejection).await?,
            }
        }
        Err(TxError::NonceRetriesExhausted(self.opts.max_resign))
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

/// Poll `tx` until the transaction has a final status or `timeout` passes.
pub async fn wait_for_outcome(
    rpc: &RpcClient,
    tx_hash: &CryptoHash,
    sender: &str,
    poll: Duration,
    timeout: Duration,
) -> Result<FinalOutcome, TxError> {
    let started = Instant::now();
    loop {
        match rpc.tx_status(tx_hash, sender).await {
            Ok(o) if o.is_done() => return Ok(o),
            Ok(_) => {}
            Err(e) if e.is_cause("UNKNOWN_TRANSACTION") || e.is_retryable() => {
                debug!(tx = %tx_hash, error = %e, "outcome not available yet")
            }
            Err(e) => return Err(e.into()),
        }
        if started.elapsed() >= timeout {
            return Err(TxError::Unconfirmed {
                tx_hash: *tx_hash,
                waited: started.elapsed(),
            });
        }
        tokio::time::sleep(poll).await;
    }
}

#[cfg(test)]
mod tests;
