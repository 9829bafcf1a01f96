//! Queue → proofs → the destination connector.
//!
//! One batch ([`Deliverer::run`] keeps up to `concurrency` deliveries in flight, claiming a new
//! batch whenever some are free):
//! 1. claim up to `batch` due events for the destination under this instance's lease
//!    ([`MessageStore::claim_due`]); the leases of the deliveries in flight are renewed while
//!    they run;
//! 2. make the destination light client take a block at or above the highest proof block among
//!    them ([`LightClientRelay::proof_head_nowait`]): **one light client update serves the whole
//!    batch** (and usually later ones: the head is reused until a message needs a newer block).
//!    The update is signed on the relay's own key and the deliveries wait only until it is
//!    *included* in a block, not executed: transactions included later execute after it;
//! 3. for each event, concurrently: a delivery transaction recorded by an earlier claim (a
//!    crash, a lost answer) is looked up first and, if it executed, decides; else
//!    `EXPERIMENTAL_light_client_proof` of its outcome against that head, then the delivery on
//!    the delivery lane with the fewest transactions in flight ([`KeyPool`]): by default the
//!    destination light client's `verify_and_forward(proof, head height, connector,
//!    borsh(kind))`, which calls the connector's `on_proven_outcome` (one receipt fewer than
//!    the connector's own delivery method of the kind with borsh `(proof, head height)`,
//!    Calimero's format, still available). The transaction's hash is recorded in the queue
//!    ([`MessageStore::set_delivery_tx`]) before it is submitted, under the claim: a claim that
//!    was lost submits nothing;
//! 4. the outcome decides ([`classify`]): the connector logged `delivered` or `message_refused`
//!    (consumed; a refused message gets a failure response to its source) → delivered; it
//!    refused because the message was already delivered (`ERR_ALREADY_DELIVERED`, as a panic
//!    of the entry or a `delivery_rejected` event of the callback) → delivered; a refusal that
//!    is no verdict on the message ([`TEMPORARY`]: the light client's state, a pause, the
//!    window) → retried, **not counted**; a refusal no retry fixes ([`PERMANENT`]) → failed at
//!    once (dead letter); any other refusal → retried with backoff, counted, failed after
//!    `max_attempts`. Everything that is not a refusal by the destination chain (RPC errors,
//!    an update that failed, an unconfirmed or invalid transaction) is temporary: an outage
//!    delays messages, it never fails them.

mod batch;

pub use batch::{batch_verdicts, goes_alone, single_decision, TxRef, BATCH_METHOD, BATCH_TAG};

use crate::events::{
    delivery_verdict, parse_transport, DeliveryLog, MessageKind, TransportMsg, ALREADY_DELIVERED,
    PERMANENT, TEMPORARY,
};
use crate::indexer::event_target;
use crate::keys::KeyPool;
use crate::lightclient_relay::{ContractTarget, LightClientRelay, RpcSource};
use crate::metrics::Metrics;
use crate::queue::{
    classify_failure, now_ms, ClaimToken, DeliveryVerdict, MessageStore, QueueError, RetryKind,
    StoredEvent,
};
use crate::rpc::{FinalOutcome, RetryPolicy, RpcClient};
use crate::tx::{actions, TxError, MAX_GAS_300T};
use serde_json::json;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::{debug, info, warn};
use xsc_core::client::Head;
use xsc_core::CryptoHash;

pub type Relay = LightClientRelay<RpcSource, ContractTarget>;

#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub source: String,
    pub dest: String,
    /// The connector on the destination chain.
    pub dest_connector: String,
    /// The destination light client, to deliver through its `verify_and_forward` (the fast
    /// path, one receipt fewer); `None`: call the connector's delivery method of the kind.
    pub via_light_client: Option<String>,
    /// Events claimed per step (they share one light client update).
    pub batch: usize,
    /// Messages per delivery transaction (1: each alone). More than one needs
    /// `via_light_client` and a key that may call its `verify_and_forward_batch`
    /// ([`batch`]); up to [`xsc_interfaces::MAX_FORWARD_BATCH`].
    pub per_transaction: usize,
    /// Delivery transactions in flight at once.
    pub concurrency: usize,
    /// Prepaid gas of a delivery (a Calimero call needs 25 Tgas plus its destination gas).
    pub gas: u64,
    /// Deposit attached to `xcall_receive_message`. None is needed (the connector stakes the
    /// request's storage, paid by the sender's fee; anything attached is refunded); a connector
    /// deployed before that change needed 0.1 NEAR.
    pub xcall_deposit: u128,
    /// Refusals by the destination chain before an event is failed.
    pub max_attempts: u32,
    /// Backoff after a refusal.
    pub retry: RetryPolicy,
    /// Backoff after a temporary failure (unbounded in count).
    pub temporary_retry: RetryPolicy,
    pub poll_interval: Duration,
    /// How long to wait for the source chain to finalise a block at or above a message's proof block.
    pub relay_timeout: Duration,
    /// This instance: the owner of its claims.
    pub owner: String,
    /// How long a claim is held without renewal.
    pub lease: Duration,
}

impl DeliveryConfig {
    pub fn new(source: &str, dest: &str, dest_connector: &str) -> Self {
        DeliveryConfig {
            source: source.into(),
            dest: dest.into(),
            dest_connector: dest_connector.into(),
            via_light_client: None,
            batch: 64,
            per_transaction: 4,
            concurrency: 128,
            gas: MAX_GAS_300T,
            xcall_deposit: 0,
            max_attempts: 10,
            retry: RetryPolicy {
                max_retries: u32::MAX,
                initial_backoff: Duration::from_secs(2),
                max_backoff: Duration::from_secs(300),
                multiplier: 2.0,
                jitter: 0.3,
            },
            temporary_retry: RetryPolicy {
                max_retries: u32::MAX,
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(30),
                multiplier: 2.0,
                jitter: 0.3,
            },
            poll_interval: Duration::from_millis(500),
            relay_timeout: Duration::from_secs(60),
            owner: "xsc-relayer".into(),
            lease: Duration::from_secs(60),
        }
    }
}

/// Totals since start (for benchmarks and status).
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    /// Retries after a refusal (counted attempts).
    pub retried: AtomicU64,
    /// Retries after a temporary failure.
    pub temporary: AtomicU64,
    /// Gas burnt by delivery transactions (all their receipts).
    pub gas_burnt: AtomicU64,
    pub transactions: AtomicU64,
}

/// What to do with an event after a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Delivered (with the connector's refusal code when it consumed the message without
    /// acting on it).
    Delivered(Option<String>),
    /// Not a verdict on the message: retry, no attempt counted.
    Temporary(String),
    /// Refused; a retry may succeed: retry, one attempt counted.
    Retry(String),
    /// Refused for good: dead letter.
    Failed(String),
}

/// Decide from a delivery transaction's final status text (`failure`) and logs.
pub fn classify<'a>(failure: Option<&str>, logs: impl IntoIterator<Item = &'a str>) -> Decision {
    let verdict_of =
        |reason: &str| match classify_failure(reason, ALREADY_DELIVERED, TEMPORARY, PERMANENT) {
            DeliveryVerdict::AlreadyDelivered => Decision::Delivered(None),
            DeliveryVerdict::Temporary => Decision::Temporary(reason.to_string()),
            DeliveryVerdict::Retry => Decision::Retry(reason.to_string()),
            DeliveryVerdict::Rejected => Decision::Failed(reason.to_string()),
        };
    if let Some(f) = failure {
        return verdict_of(f);
    }
    match delivery_verdict(logs) {
        Some(DeliveryLog::Delivered) | None => Decision::Delivered(None),
        Some(DeliveryLog::Refused { code }) => Decision::Delivered(Some(code)),
        Some(DeliveryLog::Rejected { code }) => verdict_of(&code),
    }
}

/// The receipts of a delivery whose logs carry a transport event: the messages it sent back
/// (a `cross_call`'s response, an xCall result), indexed on this chain later.
pub fn response_outcomes(outcome: &FinalOutcome) -> Vec<CryptoHash> {
    outcome
        .receipts_outcome
        .iter()
        .filter(|o| o.outcome.logs.iter().any(|l| parse_transport(l).is_some()))
        .map(|o| o.id)
        .collect()
}

/// The receipts of a delivery that answer the request `request` of a message of kind `kind`
/// (see [`TransportMsg::request`]).
pub fn responses_to(outcome: &FinalOutcome, kind: &str, request: u64) -> Vec<CryptoHash> {
    let Some(answer) = MessageKind::from_event_name(kind).and_then(TransportMsg::response_kind)
    else {
        return Vec::new();
    };
    outcome
        .receipts_outcome
        .iter()
        .filter(|o| {
            o.outcome
                .logs
                .iter()
                .filter_map(|l| parse_transport(l))
                .any(|m| m.kind == answer && m.request == request)
        })
        .map(|o| o.id)
        .collect()
}

pub struct Deliverer {
    store: Arc<dyn MessageStore>,
    relay: Arc<Relay>,
    /// The source chain's RPC (proofs).
    source_rpc: RpcClient,
    /// Signs on the destination chain: the delivery lanes.
    keys: Arc<KeyPool>,
    cfg: DeliveryConfig,
    metrics: Option<Arc<Metrics>>,
    /// Woken by the indexer when it queued new events (else: `poll_interval`).
    wake: Arc<tokio::sync::Notify>,
    /// Events claimed by this deliverer and not settled yet (their leases are renewed).
    held: Mutex<HashSet<i64>>,
    /// Batches cannot work towards this destination (the light client has no batch method, or
    /// no delivery key may call it): each message alone until restart.
    no_batches: std::sync::atomic::AtomicBool,
    pub stats: Arc<DeliveryStats>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] QueueError),
}

/// Removes an event from the held set when its delivery ends, however it ends.
struct Held<'a>(&'a Deliverer, i64);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.1);
    }
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn MessageStore>,
        relay: Arc<Relay>,
        source_rpc: RpcClient,
        keys: Arc<KeyPool>,
        cfg: DeliveryConfig,
    ) -> Self {
        Deliverer {
            store,
            relay,
            source_rpc,
            keys,
            cfg,
            metrics: None,
            wake: Arc::default(),
            held: Mutex::default(),
            no_batches: Default::default(),
            stats: Arc::default(),
        }
    }

    /// Notified by the indexer of the same direction when it queued new events.
    pub fn wake_handle(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    pub fn with_metrics(mut self, m: Arc<Metrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    pub fn config(&self) -> &DeliveryConfig {
        &self.cfg
    }

    fn labels(&self) -> [&str; 2] {
        [self.cfg.source.as_str(), self.cfg.dest.as_str()]
    }

    /// One step: claim a batch, deliver it, wait for every delivery; returns how many events
    /// were claimed. ([`Self::run`] does not wait: it keeps up to `concurrency` deliveries in
    /// flight across batches.)
    pub async fn deliver_once(self: &Arc<Self>) -> Result<usize, DeliveryError> {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.cfg.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let n = self.start_batch(&permits, &mut set, self.cfg.batch).await?;
        while let Some(r) = set.join_next().await {
            Self::reaped(r)?;
        }
        Ok(n)
    }

    /// Claim up to `max` due events, get a light client head above all of them (one update for
    /// the batch: [`LightClientRelay::proof_head_nowait`]) and spawn their deliveries into
    /// `set`, each holding one of `permits`. Returns how many were claimed.
    async fn start_batch(
        self: &Arc<Self>,
        permits: &Arc<tokio::sync::Semaphore>,
        set: &mut tokio::task::JoinSet<Result<(), DeliveryError>>,
        max: usize,
    ) -> Result<usize, DeliveryError> {
        let events = self
            .store
            .claim_due(
                &self.cfg.dest,
                &self.cfg.owner,
                max.min(self.cfg.batch),
                self.cfg.lease,
            )
            .await?;
        if events.is_empty() {
            return Ok(0);
        }
        let n = events.len();
        let events = self.defer_beyond_window(events).await?;
        if events.is_empty() {
            return Ok(n);
        }
        {
            let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            held.extend(events.iter().map(|e| e.id));
        }
        let max_block = events.iter().map(|e| e.block_height).max().unwrap_or(0);
        let head = match self
            .relay
            .proof_head_nowait(max_block, self.cfg.relay_timeout)
            .await
        {
            Ok(h) => h,
            Err(e) => {
                warn!(dest = %self.cfg.dest, error = %e, "light client update failed; the batch waits");
                for ev in &events {
                    let _held = Held(self, ev.id);
                    self.temporary(ev, &format!("light client update: {e}"))
                        .await?;
                }
                return Ok(n);
            }
        };
        debug!(
            source = %self.cfg.source, dest = %self.cfg.dest, events = n, max_block,
            head = head.height, "proof head ready; delivering"
        );
        // One transaction each, or several messages on their first try per transaction.
        let per_tx =
            if self.cfg.via_light_client.is_some() && !self.no_batches.load(Ordering::Relaxed) {
                self.cfg
                    .per_transaction
                    .clamp(1, xsc_interfaces::MAX_FORWARD_BATCH)
            } else {
                1
            };
        let (alone, batchable): (Vec<_>, Vec<_>) = events
            .into_iter()
            .partition(|e| per_tx == 1 || goes_alone(e));
        let mut groups: Vec<Vec<StoredEvent>> = alone.into_iter().map(|e| vec![e]).collect();
        let mut batchable = batchable.into_iter().peekable();
        while batchable.peek().is_some() {
            groups.push(batchable.by_ref().take(per_tx).collect());
        }
        for mut group in groups {
            let this = self.clone();
            let head = head.clone();
            let permit = permits.clone().acquire_owned().await.expect("semaphore");
            set.spawn(async move {
                let _p = permit;
                let _held: Vec<Held<'_>> = group.iter().map(|e| Held(&this, e.id)).collect();
                if group.len() == 1 {
                    let ev = group.pop().expect("one event");
                    this.deliver_one(ev, head).await
                } else {
                    this.deliver_batch(group, head).await
                }
            });
        }
        Ok(n)
    }

    /// Keep back, without a transaction, the events the destination connector would refuse now
    /// as too far ahead of its watermark (`nsn - next_in >= window`, `ERR_BEYOND_WINDOW`): with
    /// several instances delivering at once, or older messages still held by a claim (an
    /// instance that died keeps its claims until their lease expires), a message may be claimed
    /// long before the connector can take it. They are due again shortly; nothing is sent, so no
    /// gas is spent on a refusal. When the connector cannot be read, every event goes ahead (the
    /// connector has the last word).
    async fn defer_beyond_window(
        &self,
        events: Vec<StoredEvent>,
    ) -> Result<Vec<StoredEvent>, DeliveryError> {
        #[derive(serde::Deserialize)]
        struct Channel {
            #[serde(deserialize_with = "crate::rpc::types::lenient_int::u64_")]
            next_in: u64,
            window: u32,
        }
        if events.iter().all(|e| e.nsn.is_none()) {
            return Ok(events);
        }
        let ch: Channel = match self.keys.lanes()[0]
            .sender
            .rpc()
            .view_call_json(
                &self.cfg.dest_connector,
                "channel",
                &json!({}),
                crate::rpc::BlockRef::Optimistic,
            )
            .await
        {
            Ok(c) => c,
            Err(e) => {
                debug!(dest = %self.cfg.dest, error = %e, "destination channel not read; not deferring");
                return Ok(events);
            }
        };
        let limit = ch.next_in.saturating_add(u64::from(ch.window.max(1)));
        let (ready, later): (Vec<_>, Vec<_>) = events
            .into_iter()
            .partition(|e| e.nsn.is_none_or(|n| n < limit));
        for e in &later {
            let Some(claim) = e.claim() else { continue };
            let reason = format!(
                "deferred (not sent): nsn {} is {} or more ahead of the destination's watermark {} (ERR_BEYOND_WINDOW)",
                e.nsn.unwrap_or(0),
                ch.window,
                ch.next_in
            );
            match self
                .store
                .mark_retry(
                    &claim,
                    RetryKind::Temporary,
                    &reason,
                    Duration::from_secs(1),
                )
                .await
            {
                Err(QueueError::LeaseLost { .. }) => {}
                r => r?,
            }
        }
        if !later.is_empty() {
            debug!(dest = %self.cfg.dest, deferred = later.len(), next_in = ch.next_in, window = ch.window, "messages beyond the destination's window deferred");
            if let Some(m) = &self.metrics {
                m.delivery_deferred
                    .with_label_values(&self.labels())
                    .inc_by(later.len() as u64);
            }
        }
        Ok(ready)
    }

    fn reaped(
        r: Result<Result<(), DeliveryError>, tokio::task::JoinError>,
    ) -> Result<(), DeliveryError> {
        match r {
            Ok(r) => r,
            Err(e) => {
                warn!(error = %e, "delivery task panicked");
                Ok(())
            }
        }
    }

    /// The outcome of a delivery transaction an earlier claim recorded, if it executed.
    async fn earlier_outcome(&self, tx: &TxRef) -> Option<FinalOutcome> {
        let tx_hash = tx.hash.as_str();
        let hash: CryptoHash = tx_hash.parse().ok()?;
        let mut accounts: Vec<String> = self
            .keys
            .lanes()
            .iter()
            .map(|l| l.sender.signer().account_id().to_string())
            .collect();
        accounts.dedup();
        for account in accounts {
            match self.keys.lanes()[0]
                .sender
                .rpc()
                .tx_status(&hash, &account)
                .await
            {
                Ok(o) if o.is_done() => return Some(o),
                Ok(_) => {}
                Err(e) => {
                    debug!(tx = tx_hash, error = %e, "earlier delivery transaction not found")
                }
            }
        }
        None
    }

    async fn deliver_one(&self, ev: StoredEvent, head: Head) -> Result<(), DeliveryError> {
        let Some(claim) = ev.claim() else {
            return Ok(());
        };
        // A transaction of an earlier claim (killed, or its answer lost) may have executed.
        if let Some(tx) = ev.delivery_tx.as_deref().and_then(TxRef::parse) {
            if let Some(out) = self.earlier_outcome(&tx).await {
                if let Some(Decision::Delivered(refused)) = self.earlier_decision(&tx, &ev, &out) {
                    info!(dest = %self.cfg.dest, id = ev.id, tx = %tx.hash, batch = ?tx.place, "an earlier delivery transaction executed");
                    return self
                        .delivered(&ev, &out, refused, &head, "earlier", tx.place)
                        .await;
                }
            }
        }
        let Some((kind, target)) = event_target(&ev.kind, &ev.payload) else {
            return self
                .fail(
                    &ev,
                    &claim,
                    "unknown kind or payload (not a connector message)",
                )
                .await;
        };
        let proof = match self
            .source_rpc
            .light_client_proof(&target, &head.hash)
            .await
        {
            Ok(p) => p,
            Err(e) => return self.temporary(&ev, &format!("proof: {e}")).await,
        };
        let (receiver, method, args) = match &self.cfg.via_light_client {
            Some(lc) => (
                lc.as_str(),
                "verify_and_forward",
                borsh::to_vec(&(
                    &proof,
                    head.height,
                    &self.cfg.dest_connector,
                    borsh::to_vec(&kind).expect("borsh of a kind"),
                ))
                .expect("borsh of a proof"),
            ),
            None => (
                self.cfg.dest_connector.as_str(),
                kind.delivery_method(),
                borsh::to_vec(&(&proof, head.height)).expect("borsh of a proof"),
            ),
        };
        let deposit = if kind == MessageKind::XcallMessage {
            self.cfg.xcall_deposit
        } else {
            0
        };
        let Some(lane) = self.keys.delivery_lane(receiver, method, deposit > 0) else {
            return self
                .temporary(
                    &ev,
                    &format!(
                        "no key of the relayer on {} may call {receiver}.{method}{}",
                        self.cfg.dest,
                        if deposit > 0 { " with a deposit" } else { "" }
                    ),
                )
                .await;
        };
        let store = self.store.clone();
        let sent = lane
            .send_recorded(
                receiver,
                vec![actions::function_call(method, args, self.cfg.gas, deposit)],
                |h| {
                    let (store, claim) = (store.clone(), claim.clone());
                    async move {
                        store
                            .set_delivery_tx(&claim, &h.to_string())
                            .await
                            .map_err(|e| e.to_string())
                    }
                },
            )
            .await;
        let outcome = match sent {
            Ok(o) => o,
            Err(TxError::NotRecorded(e)) => {
                // The claim was lost (another instance holds the event now) or the queue
                // failed: nothing was submitted.
                warn!(dest = %self.cfg.dest, id = ev.id, error = %e, "delivery not submitted");
                return Ok(());
            }
            Err(e) => return self.temporary(&ev, &format!("transaction: {e}")).await,
        };
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
        self.stats
            .gas_burnt
            .fetch_add(outcome.total_gas_burnt(), Ordering::Relaxed);
        match single_decision(&outcome, &self.cfg.dest_connector, ev.nsn) {
            Decision::Delivered(refused) => {
                self.delivered(&ev, &outcome, refused, &head, lane.label(), None)
                    .await
            }
            Decision::Temporary(reason) => self.temporary(&ev, &reason).await,
            Decision::Retry(reason) => self.refused(&ev, &claim, &reason).await,
            Decision::Failed(reason) => self.fail(&ev, &claim, &reason).await,
        }
    }

    async fn delivered(
        &self,
        ev: &StoredEvent,
        outcome: &FinalOutcome,
        refused: Option<String>,
        head: &Head,
        lane: &str,
        batch: Option<(usize, usize)>,
    ) -> Result<(), DeliveryError> {
        let tx_hash = outcome.tx_hash().map(|h| h.to_string());
        let failure = outcome.failure().map(|f| f.message.clone());
        // In a batch, a message's responses are those naming its request (messages queued by
        // an older indexer do not know theirs: the batch's responses are listed as such).
        let all = response_outcomes(outcome);
        let request = ev
            .payload
            .get("request")
            .and_then(serde_json::Value::as_u64);
        let (responses, batch_responses) = match (batch, request) {
            (None, _) => (all, Vec::new()),
            (Some(_), Some(r)) => (responses_to(outcome, &ev.kind, r), Vec::new()),
            (Some(_), None) => (Vec::new(), all),
        };
        let ids = |v: Vec<CryptoHash>| v.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        let (responses, batch_responses) = (ids(responses), ids(batch_responses));
        // A batch member's own verdict says whether it was delivered before (not the batch's).
        let already_delivered = match batch {
            // The failure settled it only if it was the replay refusal; else the connector's
            // verdict (a destination's own logs say nothing about it).
            None => {
                failure.is_some()
                    || batch_verdicts(outcome, &self.cfg.dest_connector, &[None])
                        .is_some_and(|v| v[0].contains("ERR_ALREADY_DELIVERED"))
            }
            Some((i, n)) => batch_verdicts(outcome, &self.cfg.dest_connector, &vec![None; n])
                .is_some_and(|v| v[i].contains("ERR_ALREADY_DELIVERED")),
        };
        let info = json!({
            "tx": tx_hash,
            "block": outcome.transaction_outcome.as_ref().and_then(|o| o.block_hash).map(|h| h.to_string()),
            "signer": outcome.transaction.as_ref().and_then(|t| t.signer_id.clone()),
            "lane": lane,
            "head": head.height,
            "refused": refused,
            "already_delivered": already_delivered,
            "responses": responses,
            "batch": batch.map(|(index, size)| json!({"index": index, "size": size})),
            "batch_responses": batch_responses,
            // The sequence audit's count of reopens, carried from record to record.
            "reopened": ev.reopens(),
        });
        match self
            .store
            .mark_delivered(ev.id, tx_hash.as_deref(), Some(&info))
            .await
        {
            Ok(()) => {}
            Err(e) => return Err(e.into()),
        }
        self.stats.delivered.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.events_delivered.with_label_values(&self.labels()).inc();
            let since = ev.source_time.unwrap_or(ev.created_at);
            let secs = (now_ms() - since).max(0) as f64 / 1000.0;
            m.delivery_latency
                .with_label_values(&self.labels())
                .observe(secs);
        }
        info!(
            source = %self.cfg.source, dest = %self.cfg.dest, id = ev.id, kind = %ev.kind,
            nsn = ?ev.nsn, head = head.height, tx = ?tx_hash, refused = ?refused,
            already = already_delivered, "delivered"
        );
        Ok(())
    }

    async fn fail(
        &self,
        ev: &StoredEvent,
        claim: &ClaimToken,
        reason: &str,
    ) -> Result<(), DeliveryError> {
        warn!(dest = %self.cfg.dest, id = ev.id, kind = %ev.kind, reason, "delivery refused for good: dead letter (xsc retry <id> to try again)");
        match self.store.mark_failed(claim, reason).await {
            Err(QueueError::LeaseLost { .. }) => return Ok(()),
            r => r?,
        }
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.events_failed.with_label_values(&self.labels()).inc();
        }
        Ok(())
    }

    /// A refusal by the destination chain: counted; failed after `max_attempts`.
    async fn refused(
        &self,
        ev: &StoredEvent,
        claim: &ClaimToken,
        reason: &str,
    ) -> Result<(), DeliveryError> {
        if let Some(m) = &self.metrics {
            m.delivery_refusals.with_label_values(&self.labels()).inc();
        }
        let attempts = ev.attempts + 1;
        if attempts >= self.cfg.max_attempts {
            return self
                .fail(ev, claim, &format!("{reason} (refused {attempts} times)"))
                .await;
        }
        let delay = self.cfg.retry.delay(ev.attempts);
        warn!(dest = %self.cfg.dest, id = ev.id, kind = %ev.kind, attempts, ?delay, reason, "delivery refused; will retry");
        self.stats.retried.fetch_add(1, Ordering::Relaxed);
        match self
            .store
            .mark_retry(claim, RetryKind::Refused, reason, delay)
            .await
        {
            Err(QueueError::LeaseLost { .. }) => Ok(()),
            r => Ok(r?),
        }
    }

    /// Not a verdict on the message: retried with backoff, without limit, not counted.
    async fn temporary(&self, ev: &StoredEvent, reason: &str) -> Result<(), DeliveryError> {
        let Some(claim) = ev.claim() else {
            return Ok(());
        };
        if let Some(m) = &self.metrics {
            m.delivery_temporary_failures
                .with_label_values(&self.labels())
                .inc();
        }
        let delay = self.cfg.temporary_retry.delay(ev.temp_failures.min(16));
        warn!(dest = %self.cfg.dest, id = ev.id, kind = %ev.kind, temp_failures = ev.temp_failures + 1, ?delay, reason, "delivery delayed (temporary)");
        self.stats.temporary.fetch_add(1, Ordering::Relaxed);
        match self
            .store
            .mark_retry(&claim, RetryKind::Temporary, reason, delay)
            .await
        {
            Err(QueueError::LeaseLost { .. }) => Ok(()),
            r => Ok(r?),
        }
    }

    /// Renew the leases of the deliveries in flight.
    async fn renew_leases(&self) {
        let ids: Vec<i64> = self
            .held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if ids.is_empty() {
            return;
        }
        match self
            .store
            .extend_leases(&self.cfg.owner, &ids, self.cfg.lease)
            .await
        {
            Ok(n) if n < ids.len() => {
                warn!(dest = %self.cfg.dest, held = ids.len(), renewed = n, "some claims were lost (settled or taken over)")
            }
            Ok(_) => {}
            Err(e) => warn!(dest = %self.cfg.dest, error = %e, "lease renewal failed"),
        }
    }

    /// Deliver until `shutdown` turns true, with up to `concurrency` deliveries in flight: a new
    /// batch is claimed whenever deliveries are free, without waiting for earlier batches to
    /// finish. On shutdown the deliveries in flight finish first (their transactions are
    /// recorded; a kill instead is covered by the leases).
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.cfg.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        // Leases are renewed on their own clock, however busy the claiming loop is.
        let renewer = {
            let this = self.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let every = (this.cfg.lease / 3).max(Duration::from_secs(1));
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(every) => this.renew_leases().await,
                        _ = stop.changed() => return,
                    }
                }
            })
        };
        loop {
            if *shutdown.borrow() {
                break;
            }
            while let Some(r) = set.try_join_next() {
                if let Err(e) = Self::reaped(r) {
                    warn!(dest = %self.cfg.dest, error = %e, "delivery failed to record");
                }
            }
            let free = permits.available_permits();
            let claimed = if free == 0 {
                0
            } else {
                match self.start_batch(&permits, &mut set, free).await {
                    Ok(n) => n,
                    Err(e) => {
                        warn!(dest = %self.cfg.dest, error = %e, "delivery step failed");
                        tokio::time::sleep(self.cfg.poll_interval).await;
                        0
                    }
                }
            };
            if claimed > 0 {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = self.wake.notified() => {}
                Some(r) = set.join_next(), if !set.is_empty() => {
                    if let Err(e) = Self::reaped(r) {
                        warn!(dest = %self.cfg.dest, error = %e, "delivery failed to record");
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        while let Some(r) = set.join_next().await {
            if let Err(e) = Self::reaped(r) {
                warn!(dest = %self.cfg.dest, error = %e, "delivery failed to record");
            }
        }
        renewer.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let delivered = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivered","data":{"kind":"cross_call","nsn":"1"}}"#;
        assert_eq!(classify(None, [delivered]), Decision::Delivered(None));
        assert_eq!(
            classify(
                Some("Smart contract panicked: ERR_ALREADY_DELIVERED: every such message"),
                []
            ),
            Decision::Delivered(None)
        );
        // Not a verdict on the message: temporary, never counted.
        for temporary in [
            "Smart contract panicked: ERR_BEYOND_WINDOW: x",
            "Smart contract panicked: ERR_UNKNOWN_ROOT: no trusted block",
            "Smart contract panicked: ERR_OUTCOME_ROOT_MISMATCH",
            "Smart contract panicked: Pausable: Method is paused",
            r#"{"InvalidTxError":{"NotEnoughBalance":{}}}"#,
        ] {
            assert!(
                matches!(classify(Some(temporary), []), Decision::Temporary(_)),
                "{temporary}"
            );
        }
        assert!(matches!(
            classify(Some("Smart contract panicked: ERR_WRONG_EXECUTOR: x"), []),
            Decision::Failed(_)
        ));
        // Unknown refusals are counted attempts, not dead letters at once.
        assert!(matches!(
            classify(Some("Exceeded the prepaid gas."), []),
            Decision::Retry(_)
        ));
        assert!(matches!(
            classify(
                Some("Smart contract panicked: ERR_NOT_ENOUGH_GAS: attach more"),
                []
            ),
            Decision::Retry(_)
        ));
        let rejected = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivery_rejected","data":{"kind":"cross_call","nsn":null,"code":"ERR_ALREADY_DELIVERED","refunded":"0"}}"#;
        assert_eq!(classify(None, [rejected]), Decision::Delivered(None));
        let paused = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivery_rejected","data":{"kind":"cross_call","nsn":"4","code":"ERR_PAUSED","refunded":"0"}}"#;
        assert!(matches!(classify(None, [paused]), Decision::Temporary(_)));
        let refused = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"message_refused","data":{"kind":"xcall_message","nsn":"1","target":"x","code":"ERR_EXPIRED"}}"#;
        assert_eq!(
            classify(None, [refused]),
            Decision::Delivered(Some("ERR_EXPIRED".into()))
        );
    }
}
