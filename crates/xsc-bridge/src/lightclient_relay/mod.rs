//! Keeps a destination chain's light client up to date with a source chain.
//!
//! One step ([`LightClientRelay::relay_once`]): read the light client's head (view `head()`),
//! ask the source node for `next_light_client_block(head.hash)`, and submit the answer with
//! `add_light_client_block` (borsh arguments). The block must be in the head's epoch or the next
//! one. In lean mode a block that stays in the head's epoch is sent without `next_bps`: the
//! light client already holds the next epoch's producers (checked once per epoch), and dropping
//! them saves the gas of reading up to ~100 entries.
//!
//! **Falling behind.** nearcore answers `next_light_client_block(h)` with its latest final block
//! when `h` is in the current epoch or the one before; when `h` is older, with the *last block of
//! `h`'s next epoch*. Submitting that and asking again therefore walks forward one epoch per
//! step until the light client is current ([`LightClientRelay::catch_up`]). A regular node keeps
//! headers and epoch light client blocks for only a few epochs: a light client further behind
//! than that can only be brought forward through an **archival** RPC node (or re-initialised by
//! its `RecoveryManager`).
//!
//! **When to relay.** Blocks cost gas, so the relay submits one
//! - on demand: [`LightClientRelay::ensure_height`] ("hold a block at height ≥ h") before a
//!   proof is requested; one update serves every message pending below it; and
//! - at least once per epoch: [`LightClientRelay::keep_up`] relays when the source's final block
//!   is in another epoch than the light client's head, so it never falls an epoch behind.
//!
//! **Proof heads.** `EXPERIMENTAL_light_client_proof` must be asked relative to a block the
//! destination light client stores; the node wants that head to be final and the proven block
//! (the one whose header carries the outcome root) not above it. Every block the relay submits
//! comes from `next_light_client_block`, hence is final. [`choose_proof_height`] picks the height.

mod contract;
#[cfg(test)]
mod tests;

pub use contract::{ContractTarget, RpcSource, StoredRangeView};

use crate::metrics::Metrics;
use crate::queue::{now_ms, MessageStore, QueueError, RelayedBlock};
use crate::rpc::RpcError;
use crate::tx::TxError;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use tracing::{debug, info, warn};
use xsc_core::client::Head;
use xsc_core::hashing::block_hash;
use xsc_core::{CryptoHash, LightClientBlockLiteView, LightClientBlockView, NativeCrypto};

/// How often [`LightClientRelay::ensure_height`] looks for a new final block on the source
/// (at most; blocks come every ~0.6-1 s).
const FINALITY_POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Tx(#[from] TxError),
    #[error(transparent)]
    Store(#[from] QueueError),
    /// The light client refused the block (its `ERR_*` reason).
    #[error("light client rejected block {height}: {reason}")]
    Rejected { height: u64, reason: String },
    /// The node offered a block the light client cannot take (another node than the one the
    /// light client follows, or a reorganised chain).
    #[error(
        "block {height} is in epoch {block_epoch}, neither the head's ({head_epoch}) nor the next"
    )]
    UnexpectedEpoch {
        height: u64,
        block_epoch: CryptoHash,
        head_epoch: CryptoHash,
    },
    #[error("block {0} starts a new epoch but carries no next_bps")]
    MissingNextBps(u64),
    #[error("light client head {have} did not reach {want} within {waited:?}")]
    Timeout {
        want: u64,
        have: u64,
        waited: Duration,
    },
    #[error("catching up: still behind after {0} steps")]
    TooManySteps(u32),
    /// Another instance holds this direction's relay lease: it submits, this one waits for its
    /// blocks.
    #[error("{0} is held by another instance")]
    NotRelayer(String),
    /// The record of earlier submissions could not be read or settled: nothing submitted.
    #[error("relay coordination: {0}")]
    Coordination(String),
}

/// The source chain's final block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTip {
    pub final_height: u64,
    pub epoch_id: CryptoHash,
}

/// What the relay reads from the source chain.
pub trait BlockSource: Send + Sync {
    fn next_light_client_block(
        &self,
        last_known: &CryptoHash,
    ) -> impl Future<Output = Result<Option<LightClientBlockView>, RelayError>> + Send;
    fn chain_tip(&self) -> impl Future<Output = Result<ChainTip, RelayError>> + Send;
}

/// A submitted block's transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Submitted {
    pub tx_hash: Option<CryptoHash>,
    pub gas_burnt: u64,
}

/// The destination light client.
pub trait LightClientTarget: Send + Sync {
    fn head(&self) -> impl Future<Output = Result<Head, RelayError>> + Send;
    fn has_epoch_producers(
        &self,
        epoch_id: &CryptoHash,
    ) -> impl Future<Output = Result<bool, RelayError>> + Send;
    /// Whether this relayer may submit blocks now (several instances on one queue: only the
    /// holder of the relay lease does). Others wait for the holder's blocks.
    fn may_submit(&self) -> bool {
        true
    }
    /// Submit a block; an on-chain refusal is [`RelayError::Rejected`].
    fn submit_block(
        &self,
        block: &LightClientBlockView,
    ) -> impl Future<Output = Result<Submitted, RelayError>> + Send;
    /// Hand the block's transaction to the destination node and return as soon as it is
    /// included in a block, without waiting for its execution: a transaction included later
    /// (whatever key signed it) executes after it, so after the light client took the block.
    /// The returned future resolves with the outcome. By default: [`Self::submit_block`],
    /// waited for.
    fn submit_block_nowait(
        &self,
        block: &LightClientBlockView,
    ) -> impl Future<Output = Result<PendingSubmission, RelayError>> + Send {
        async move {
            let r = self.submit_block(block).await;
            Ok(Box::pin(async move { r }) as PendingSubmission)
        }
    }
}

/// The outcome of a block submitted with [`LightClientTarget::submit_block_nowait`].
pub type PendingSubmission =
    std::pin::Pin<Box<dyn Future<Output = Result<Submitted, RelayError>> + Send + 'static>>;

/// The next block to submit after a head, checked against it.
struct NextBlock {
    block: LightClientBlockView,
    hash: CryptoHash,
    same_epoch: bool,
    lean: bool,
}

impl NextBlock {
    fn head(&self) -> Head {
        let inner = &self.block.inner_lite;
        Head {
            height: inner.height,
            hash: self.hash,
            epoch_id: inner.epoch_id,
            next_epoch_id: inner.next_epoch_id,
            block_merkle_root: inner.block_merkle_root,
            timestamp: inner.timestamp,
        }
    }
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Name of the source chain (labels, relay records).
    pub source: String,
    /// Name of the destination chain.
    pub dest: String,
    /// Strip `next_bps` from blocks that stay in the head's epoch.
    pub lean: bool,
    /// How long to wait between checks when waiting for the source chain.
    pub poll_interval: Duration,
    /// Bound on the blocks one `catch_up` submits.
    pub max_catch_up_steps: u32,
}

impl RelayConfig {
    pub fn new(source: &str, dest: &str) -> Self {
        RelayConfig {
            source: source.into(),
            dest: dest.into(),
            lean: true,
            poll_interval: Duration::from_secs(1),
            max_catch_up_steps: 1000,
        }
    }
}

/// A block the relay submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayedInfo {
    pub height: u64,
    pub hash: CryptoHash,
    pub epoch_id: CryptoHash,
    /// The block moved the light client into a new epoch.
    pub new_epoch: bool,
    /// Sent without `next_bps`.
    pub lean: bool,
    pub submitted: Submitted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayStep {
    /// The source has nothing newer than the light client's head.
    UpToDate {
        head_height: u64,
    },
    Relayed(RelayedInfo),
}

pub struct LightClientRelay<S, T> {
    source: S,
    target: T,
    cfg: RelayConfig,
    store: Option<Arc<dyn MessageStore>>,
    metrics: Option<Arc<Metrics>>,
    /// Serialises steps: concurrent callers would submit the same block twice.
    step_lock: Mutex<()>,
    /// An epoch whose producers the light client is known to hold.
    known_producers: Mutex<Option<CryptoHash>>,
    /// The last block submitted without waiting ([`Self::proof_head_nowait`]) while its
    /// transaction has not executed: the base of the next step, so no block is sent twice.
    in_flight: std::sync::Mutex<Option<Head>>,
}

/// Which stored light client height to prove an outcome against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofHeight {
    /// Ask `EXPERIMENTAL_light_client_proof` with the hash of the stored block at this height,
    /// then call `verify_outcome(proof, height)`.
    Use(u64),
    /// No stored block is high enough: relay until the head is at least `min_height`.
    NeedRelay { min_height: u64 },
}

/// Choose the light client height for the proof of an outcome whose proof block (the block whose
/// header carries the outcome root: the first block with a new chunk of the shard after the
/// executing block) is at `proof_block`. Pass `executed_at + 1` when only the executing block
/// is known: that is a lower bound, and the proof's `block_header_lite` tells the real one.
///
/// The newest stored block (the head) is chosen when it is at or above `proof_block`: it is
/// final (it came from `next_light_client_block`), the block merkle root it carries covers every
/// earlier block, and it stays in the light client's window longest. A head *equal* to the proof
/// block serves too: nearcore (protocol 63 and current alike) then answers an empty
/// `block_proof` and the light client compares the proven block with the head's hash. Waiting
/// for a final block above it instead cost one block per message leg.
pub fn choose_proof_height(newest_stored: u64, proof_block: u64) -> ProofHeight {
    if newest_stored >= proof_block {
        ProofHeight::Use(newest_stored)
    } else {
        ProofHeight::NeedRelay {
            min_height: proof_block,
        }
    }
}

impl<S: BlockSource, T: LightClientTarget> LightClientRelay<S, T> {
    pub fn new(source: S, target: T, cfg: RelayConfig) -> Self {
        LightClientRelay {
            source,
            target,
            cfg,
            store: None,
            metrics: None,
            step_lock: Mutex::new(()),
            known_producers: Mutex::new(None),
            in_flight: std::sync::Mutex::new(None),
        }
    }

    /// Record every relayed block in `store` (relay state).
    pub fn with_store(mut self, store: Arc<dyn MessageStore>) -> Self {
        self.store = Some(store);
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn config(&self) -> &RelayConfig {
        &self.cfg
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    pub fn target(&self) -> &T {
        &self.target
    }

    async fn next_producers_known(&self, head: &Head) -> Result<bool, RelayError> {
        let mut known = self.known_producers.lock().await;
        if *known == Some(head.next_epoch_id) {
            return Ok(true);
        }
        let has = self.target.has_epoch_producers(&head.next_epoch_id).await?;
        if has {
            *known = Some(head.next_epoch_id);
        }
        Ok(has)
    }

    /// The light client's head, or the block submitted after it whose transaction is still in
    /// flight.
    ///
    /// The block in flight is forgotten only once the light client's head (as the destination
    /// node's view shows it, which may trail the transaction's execution) reached it, or when
    /// its update failed: forgetting it as soon as the update executed let the next caller see
    /// the stale head and submit a block nobody needed.
    pub async fn effective_head(&self) -> Result<Head, RelayError> {
        let head = self.target.head().await?;
        let mut pending = self.in_flight.lock().expect("in_flight lock");
        Ok(match pending.as_ref() {
            Some(p) if p.height > head.height => p.clone(),
            Some(_) => {
                *pending = None;
                head
            }
            None => head,
        })
    }

    /// The source's next light client block after `head`, checked: `None` when there is none.
    async fn next_block(&self, head: &Head) -> Result<Option<NextBlock>, RelayError> {
        let Some(mut block) = self.source.next_light_client_block(&head.hash).await? else {
            return Ok(None);
        };
        let inner = &block.inner_lite;
        let (height, epoch_id) = (inner.height, inner.epoch_id);
        if height <= head.height {
            return Ok(None);
        }
        let same_epoch = epoch_id == head.epoch_id;
        if !same_epoch && epoch_id != head.next_epoch_id {
            return Err(RelayError::UnexpectedEpoch {
                height,
                block_epoch: epoch_id,
                head_epoch: head.epoch_id,
            });
        }
        if !same_epoch && block.next_bps.is_none() {
            return Err(RelayError::MissingNextBps(height));
        }
        let lean = same_epoch
            && self.cfg.lean
            && block.next_bps.is_some()
            && self.next_producers_known(head).await?;
        if lean {
            block.next_bps = None;
        }
        let hash = block_hash(&NativeCrypto, &LightClientBlockLiteView::from(&block));
        debug!(source = %self.cfg.source, dest = %self.cfg.dest, height, %hash, lean, new_epoch = !same_epoch, "submitting light client block");
        Ok(Some(NextBlock {
            block,
            hash,
            same_epoch,
            lean,
        }))
    }

    /// Log, record and count a block whose transaction executed.
    async fn landed(
        &self,
        next: &NextBlock,
        submitted: Submitted,
    ) -> Result<RelayedInfo, RelayError> {
        let inner = &next.block.inner_lite;
        let (height, epoch_id, hash, lean) = (inner.height, inner.epoch_id, next.hash, next.lean);
        info!(
            source = %self.cfg.source, dest = %self.cfg.dest, height, %hash, lean,
            new_epoch = !next.same_epoch, gas = submitted.gas_burnt, "light client block relayed"
        );
        if let Some(store) = &self.store {
            store
                .record_relayed_block(&RelayedBlock {
                    dest_chain: self.cfg.dest.clone(),
                    height,
                    hash,
                    epoch_id,
                    tx_hash: submitted.tx_hash.map(|h| h.to_string()),
                    relayed_at: now_ms(),
                })
                .await?;
        }
        if let Some(m) = &self.metrics {
            let mode = if lean { "lean" } else { "full" };
            m.lc_blocks_relayed
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str(), mode])
                .inc();
            m.lc_gas_burnt
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                .inc_by(submitted.gas_burnt);
        }
        Ok(RelayedInfo {
            height,
            hash,
            epoch_id,
            new_epoch: !next.same_epoch,
            lean,
            submitted,
        })
    }

    /// One step: submit the source's next light client block after the head (or after the
    /// block in flight), if any, and wait for its execution.
    pub async fn relay_once(&self) -> Result<RelayStep, RelayError> {
        if !self.target.may_submit() {
            return Err(RelayError::NotRelayer(format!(
                "{}->{}",
                self.cfg.source, self.cfg.dest
            )));
        }
        let _guard = self.step_lock.lock().await;
        let head = self.effective_head().await?;
        let Some(next) = self.next_block(&head).await? else {
            return Ok(RelayStep::UpToDate {
                head_height: head.height,
            });
        };
        let height = next.block.inner_lite.height;
        let submitted = match self.target.submit_block(&next.block).await {
            Ok(s) => s,
            // Another relayer got there first: nothing lost.
            Err(RelayError::Rejected { reason, .. }) if reason.contains("ERR_BLOCK_NOT_NEWER") => {
                warn!(
                    height,
                    "light client already past this block (another relayer?)"
                );
                let head = self.target.head().await?;
                return Ok(RelayStep::UpToDate {
                    head_height: head.height,
                });
            }
            Err(e) => return Err(e),
        };
        Ok(RelayStep::Relayed(self.landed(&next, submitted).await?))
    }

    /// Make sure the light client holds a block at height ≥ `min_height` (final on the source,
    /// like every relayed block) and return its head. Waits for the source chain to produce and
    /// finalise such a block, up to `timeout`.
    pub async fn ensure_height(
        &self,
        min_height: u64,
        timeout: Duration,
    ) -> Result<Head, RelayError> {
        let started = Instant::now();
        loop {
            let head = self.target.head().await?;
            if head.height >= min_height {
                return Ok(head);
            }
            // No final block at `min_height` yet: relaying now would submit a block that is too
            // low and cost a second update (one destination transaction, ~3 blocks) right after.
            // Wait for the source to finalise one, then relay once.
            let tip = self.source.chain_tip().await?;
            if tip.final_height < min_height {
                if started.elapsed() >= timeout {
                    return Err(RelayError::Timeout {
                        want: min_height,
                        have: head.height,
                        waited: started.elapsed(),
                    });
                }
                tokio::time::sleep(self.cfg.poll_interval.min(FINALITY_POLL)).await;
                continue;
            }
            let step = match self.relay_once().await {
                // Another instance relays: wait for its block like for an up-to-date source.
                Err(RelayError::NotRelayer(_)) => RelayStep::UpToDate {
                    head_height: head.height,
                },
                r => r?,
            };
            match step {
                RelayStep::Relayed(_) => continue,
                RelayStep::UpToDate { head_height } => {
                    if started.elapsed() >= timeout {
                        return Err(RelayError::Timeout {
                            want: min_height,
                            have: head_height,
                            waited: started.elapsed(),
                        });
                    }
                    tokio::time::sleep(self.cfg.poll_interval).await;
                }
            }
        }
    }

    /// Relay while the light client is behind the source's current epoch (one step per epoch
    /// when far behind). Returns the blocks submitted.
    pub async fn catch_up(&self) -> Result<Vec<RelayedInfo>, RelayError> {
        let mut relayed = Vec::new();
        for _ in 0..self.cfg.max_catch_up_steps {
            let tip = self.source.chain_tip().await?;
            let head = self.target.head().await?;
            self.observe_lag(&tip, &head);
            if head.epoch_id == tip.epoch_id {
                return Ok(relayed);
            }
            match self.relay_once().await? {
                RelayStep::Relayed(info) => relayed.push(info),
                RelayStep::UpToDate { .. } => return Ok(relayed),
            }
        }
        Err(RelayError::TooManySteps(self.cfg.max_catch_up_steps))
    }

    /// The periodic check: relay if the source moved to another epoch than the light client's
    /// head ("at least once per epoch"), and update the lag metric.
    pub async fn keep_up(&self) -> Result<Vec<RelayedInfo>, RelayError> {
        self.catch_up().await
    }

    /// The stored height to prove an outcome of `proof_block` against, relaying first when
    /// needed (see [`choose_proof_height`]). Returns the head (height and hash to ask the proof
    /// for).
    pub async fn proof_head_for(
        &self,
        proof_block: u64,
        timeout: Duration,
    ) -> Result<Head, RelayError> {
        let head = self.target.head().await?;
        match choose_proof_height(head.height, proof_block) {
            ProofHeight::Use(_) => Ok(head),
            ProofHeight::NeedRelay { min_height } => self.ensure_height(min_height, timeout).await,
        }
    }

    /// Like [`Self::proof_head_for`], but without waiting for the light client update to
    /// execute: its head is returned once the update's transaction is included in a block
    /// ([`LightClientTarget::submit_block_nowait`]). A delivery submitted after that is
    /// included later, so it reaches the light client after the update's own receipt executed,
    /// and the proof is checked against a stored block, whichever key signed it; this saves a
    /// destination block or two of waiting per message leg. Should the update fail, deliveries
    /// against its head are refused on chain with a temporary reason and retried.
    pub async fn proof_head_nowait(
        self: &Arc<Self>,
        proof_block: u64,
        timeout: Duration,
    ) -> Result<Head, RelayError>
    where
        S: 'static,
        T: 'static,
    {
        let started = Instant::now();
        loop {
            let head = self.effective_head().await?;
            if head.height >= proof_block {
                return Ok(head);
            }
            // Only a final block at or above the proof block serves (see `ensure_height`).
            let tip = self.source.chain_tip().await?;
            if tip.final_height >= proof_block {
                match self.relay_once_nowait().await {
                    Ok(Some(h)) => {
                        if h.height >= proof_block {
                            return Ok(h);
                        }
                        continue;
                    }
                    Ok(None) => {}
                    // Another instance relays (it sees the queued messages): wait for its block.
                    Err(RelayError::NotRelayer(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if started.elapsed() >= timeout {
                return Err(RelayError::Timeout {
                    want: proof_block,
                    have: head.height,
                    waited: started.elapsed(),
                });
            }
            tokio::time::sleep(self.cfg.poll_interval.min(FINALITY_POLL)).await;
        }
    }

    /// Submit the next block after the effective head without waiting for it to execute (see
    /// [`Self::proof_head_nowait`]); a task records it when it lands. Returns its head.
    async fn relay_once_nowait(self: &Arc<Self>) -> Result<Option<Head>, RelayError>
    where
        S: 'static,
        T: 'static,
    {
        if !self.target.may_submit() {
            return Err(RelayError::NotRelayer(format!(
                "{}->{}",
                self.cfg.source, self.cfg.dest
            )));
        }
        let _guard = self.step_lock.lock().await;
        let base = self.effective_head().await?;
        let Some(next) = self.next_block(&base).await? else {
            return Ok(None);
        };
        let pending = self.target.submit_block_nowait(&next.block).await?;
        let head = next.head();
        *self.in_flight.lock().expect("in_flight lock") = Some(head.clone());
        let this = self.clone();
        let hash = head.hash;
        tokio::spawn(async move {
            let height = next.block.inner_lite.height;
            match pending.await {
                Ok(s) => {
                    if let Err(e) = this.landed(&next, s).await {
                        warn!(height, error = %e, "relayed block not recorded");
                    }
                    // Stays the effective head until the light client's view shows it.
                    return;
                }
                Err(RelayError::Rejected { reason, .. })
                    if reason.contains("ERR_BLOCK_NOT_NEWER") =>
                {
                    warn!(
                        height,
                        "light client already past this block (another relayer?)"
                    );
                }
                Err(e) => {
                    warn!(source = %this.cfg.source, dest = %this.cfg.dest, height, error = %e, "light client update failed; deliveries against it will be retried");
                }
            }
            let mut g = this.in_flight.lock().expect("in_flight lock");
            if g.as_ref().is_some_and(|h| h.hash == hash) {
                *g = None;
            }
        });
        Ok(Some(head))
    }

    fn observe_lag(&self, tip: &ChainTip, head: &Head) {
        if let Some(m) = &self.metrics {
            m.light_client_lag_blocks
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                .set(tip.final_height.saturating_sub(head.height) as i64);
        }
    }

    /// Run `keep_up` every `poll_interval` until `shutdown` turns true. Errors are logged and
    /// retried on the next tick.
    pub async fn run(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.keep_up().await {
                warn!(source = %self.cfg.source, dest = %self.cfg.dest, error = %e, "light client relay step failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
