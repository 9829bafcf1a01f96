//! Queue → proofs → the destination connector.
//!
//! One batch ([`Deliverer::run`] keeps up to `concurrency` deliveries in flight, claiming a new
//! batch whenever some are free):
//! 1. claim up to `batch` due events for the destination ([`MessageStore::claim_due`]);
//! 2. make the destination light client take a block above the highest proof block among them
//!    ([`LightClientRelay::proof_head_nowait`]): **one light client update serves the whole
//!    batch** (and usually later ones: the head is reused until a message needs a newer block).
//!    The deliveries do not wait for the update to execute: signed after it by the same key,
//!    they are ordered after it on chain;
//! 3. for each event, concurrently: `EXPERIMENTAL_light_client_proof` of its outcome against
//!    that head, then the delivery: by default the destination light client's
//!    `verify_and_forward(proof, head height, connector, borsh(kind))`, which calls the
//!    connector's `on_proven_outcome` (one receipt fewer than the connector's own delivery
//!    method of the kind with borsh `(proof, head height)`, Calimero's format, still available). The transaction's hash is recorded in the queue
//!    ([`MessageStore::set_delivery_tx`]) before it is submitted;
//! 4. the outcome decides ([`classify`]): the connector logged `delivered` or `message_refused`
//!    (consumed; a refused message gets a failure response to its source) → delivered; it
//!    refused because the message was already delivered (`ERR_ALREADY_DELIVERED`, as a panic of
//!    the entry or a `delivery_rejected` event of the callback) → delivered; a retryable
//!    reason (window, gas, RPC trouble, unconfirmed transaction) → pending again with
//!    exponential backoff, failed after `max_attempts`; anything else → failed with its reason.

use crate::events::{delivery_verdict, DeliveryLog, MessageKind, ALREADY_DELIVERED, RETRYABLE};
use crate::indexer::event_target;
use crate::lightclient_relay::{ContractTarget, LightClientRelay, RpcSource};
use crate::metrics::Metrics;
use crate::queue::{
    classify_failure, now_ms, DeliveryVerdict, MessageStore, QueueError, StoredEvent,
};
use crate::rpc::{RetryPolicy, RpcClient};
use crate::tx::{actions, TxSender, MAX_GAS_300T};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};
use xsc_core::client::Head;

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
    /// Delivery transactions in flight at once.
    pub concurrency: usize,
    /// Prepaid gas of a delivery (a Calimero call needs 25 Tgas plus its destination gas).
    pub gas: u64,
    /// Deposit attached to `xcall_receive_message`. None is needed (the connector stakes the
    /// request's storage, paid by the sender's fee; anything attached is refunded); a connector
    /// deployed before that change needed 0.1 NEAR.
    pub xcall_deposit: u128,
    pub max_attempts: u32,
    pub retry: RetryPolicy,
    pub poll_interval: Duration,
    /// How long to wait for the source chain to finalise a block above a message.
    pub relay_timeout: Duration,
}

impl DeliveryConfig {
    pub fn new(source: &str, dest: &str, dest_connector: &str) -> Self {
        DeliveryConfig {
            source: source.into(),
            dest: dest.into(),
            dest_connector: dest_connector.into(),
            via_light_client: None,
            batch: 64,
            concurrency: 32,
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
            poll_interval: Duration::from_millis(500),
            relay_timeout: Duration::from_secs(60),
        }
    }
}

/// Totals since start (for benchmarks and status).
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub delivered: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    /// Gas burnt by delivery transactions (all their receipts).
    pub gas_burnt: AtomicU64,
    pub transactions: AtomicU64,
}

/// What to do with an event after a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Delivered(Option<String>),
    Retry(String),
    Failed(String),
}

/// Decide from a delivery transaction's final status text (`failure`) and logs.
pub fn classify<'a>(failure: Option<&str>, logs: impl IntoIterator<Item = &'a str>) -> Decision {
    let verdict_of = |reason: &str| match classify_failure(reason, ALREADY_DELIVERED, RETRYABLE) {
        DeliveryVerdict::AlreadyDelivered => Decision::Delivered(None),
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

pub struct Deliverer {
    store: Arc<dyn MessageStore>,
    relay: Arc<Relay>,
    /// The source chain's RPC (proofs).
    source_rpc: RpcClient,
    /// Signs on the destination chain (shared with the relay: one nonce sequence).
    tx: Arc<TxSender>,
    cfg: DeliveryConfig,
    metrics: Option<Arc<Metrics>>,
    /// Woken by the indexer when it queued new events (else: `poll_interval`).
    wake: Arc<tokio::sync::Notify>,
    pub stats: Arc<DeliveryStats>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Store(#[from] QueueError),
}

impl Deliverer {
    pub fn new(
        store: Arc<dyn MessageStore>,
        relay: Arc<Relay>,
        source_rpc: RpcClient,
        tx: Arc<TxSender>,
        cfg: DeliveryConfig,
    ) -> Self {
        Deliverer {
            store,
            relay,
            source_rpc,
            tx,
            cfg,
            metrics: None,
            wake: Arc::default(),
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
        self.update_gauges();
        Ok(n)
    }

    /// Claim up to `max` due events, get a light client head above all of them (one update for
    /// the batch, handed to the destination node without waiting for it to execute:
    /// [`LightClientRelay::proof_head_nowait`]) and spawn their deliveries into `set`, each
    /// holding one of `permits`. Returns how many were claimed.
    async fn start_batch(
        self: &Arc<Self>,
        permits: &Arc<tokio::sync::Semaphore>,
        set: &mut tokio::task::JoinSet<Result<(), DeliveryError>>,
        max: usize,
    ) -> Result<usize, DeliveryError> {
        let events = self
            .store
            .claim_due(&self.cfg.dest, now_ms(), max.min(self.cfg.batch))?;
        if events.is_empty() {
            return Ok(0);
        }
        let n = events.len();
        let max_block = events.iter().map(|e| e.block_height).max().unwrap_or(0);
        let head = match self
            .relay
            .proof_head_nowait(max_block, self.cfg.relay_timeout)
            .await
        {
            Ok(h) => h,
            Err(e) => {
                warn!(dest = %self.cfg.dest, error = %e, "light client update failed; retrying the batch");
                for ev in &events {
                    self.retry_or_fail(ev, &format!("light client update: {e}"))?;
                }
                return Ok(n);
            }
        };
        info!(
            source = %self.cfg.source, dest = %self.cfg.dest, events = n, max_block,
            head = head.height, "proof head ready; delivering"
        );
        for ev in events {
            let this = self.clone();
            let head = head.clone();
            let permit = permits.clone().acquire_owned().await.expect("semaphore");
            set.spawn(async move {
                let _p = permit;
                this.deliver_one(ev, head).await
            });
        }
        Ok(n)
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

    fn update_gauges(&self) {
        if let Some(m) = &self.metrics {
            if let Ok(c) = self.store.counts(Some(&self.cfg.dest)) {
                m.set_queue_counts(&self.cfg.dest, &c);
            }
        }
    }

    async fn deliver_one(&self, ev: StoredEvent, head: Head) -> Result<(), DeliveryError> {
        let Some((kind, target)) = event_target(&ev.kind, &ev.payload) else {
            self.store
                .mark_failed(ev.id, "unknown kind or payload (not a connector message)")?;
            return Ok(());
        };
        let proof = match self
            .source_rpc
            .light_client_proof(&target, &head.hash)
            .await
        {
            Ok(p) => p,
            Err(e) => return self.retry_or_fail(&ev, &format!("proof: {e}")),
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
        let store = self.store.clone();
        let id = ev.id;
        let mut record_err = None;
        let sent = self
            .tx
            .send_with(
                receiver,
                vec![actions::function_call(method, args, self.cfg.gas, deposit)],
                |h| {
                    if let Err(e) = store.set_delivery_tx(id, &h.to_string()) {
                        record_err = Some(e);
                    }
                },
            )
            .await;
        if let Some(e) = record_err {
            return Err(e.into());
        }
        let outcome = match sent {
            Ok(o) => o,
            Err(e) => return self.retry_or_fail(&ev, &format!("transaction: {e}")),
        };
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
        self.stats
            .gas_burnt
            .fetch_add(outcome.total_gas_burnt(), Ordering::Relaxed);
        let tx_hash = outcome.tx_hash().map(|h| h.to_string());
        let failure = outcome.failure().map(|f| f.message.clone());
        match classify(failure.as_deref(), outcome.logs()) {
            Decision::Delivered(refused) => {
                self.store.mark_delivered(ev.id, tx_hash.as_deref())?;
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                if let Some(m) = &self.metrics {
                    m.events_delivered
                        .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                        .inc();
                }
                info!(
                    source = %self.cfg.source, dest = %self.cfg.dest, id = ev.id, kind = %ev.kind,
                    nsn = ?ev.payload.get("nsn"), head = head.height, tx = ?tx_hash,
                    refused = ?refused, already = failure.is_some(), "delivered"
                );
                Ok(())
            }
            Decision::Retry(reason) => self.retry_or_fail(&ev, &reason),
            Decision::Failed(reason) => self.fail(&ev, &reason),
        }
    }

    fn fail(&self, ev: &StoredEvent, reason: &str) -> Result<(), DeliveryError> {
        warn!(dest = %self.cfg.dest, id = ev.id, kind = %ev.kind, reason, "delivery failed for good");
        self.store.mark_failed(ev.id, reason)?;
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.events_failed
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                .inc();
        }
        Ok(())
    }

    fn retry_or_fail(&self, ev: &StoredEvent, reason: &str) -> Result<(), DeliveryError> {
        if ev.attempts >= self.cfg.max_attempts {
            return self.fail(ev, &format!("{reason} (after {} attempts)", ev.attempts));
        }
        let delay = self.cfg.retry.delay(ev.attempts.saturating_sub(1));
        warn!(dest = %self.cfg.dest, id = ev.id, kind = %ev.kind, attempts = ev.attempts, ?delay, reason, "delivery will be retried");
        self.stats.retried.fetch_add(1, Ordering::Relaxed);
        self.store
            .mark_retry(ev.id, reason, now_ms() + delay.as_millis() as i64)?;
        Ok(())
    }

    /// Deliver until `shutdown` turns true, with up to `concurrency` deliveries in flight: a new
    /// batch is claimed whenever deliveries are free, without waiting for earlier batches to
    /// finish. On shutdown the deliveries in flight finish first (their transactions are
    /// recorded; a kill instead of a shutdown is covered by `recover_in_flight`).
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let permits = Arc::new(tokio::sync::Semaphore::new(self.cfg.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
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
                        0
                    }
                }
            };
            self.update_gauges();
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
        assert!(matches!(
            classify(Some("Smart contract panicked: ERR_BEYOND_WINDOW: x"), []),
            Decision::Retry(_)
        ));
        assert!(matches!(
            classify(Some("Smart contract panicked: ERR_WRONG_EXECUTOR: x"), []),
            Decision::Failed(_)
        ));
        let rejected = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivery_rejected","data":{"kind":"cross_call","nsn":null,"code":"ERR_ALREADY_DELIVERED","refunded":"0"}}"#;
        assert_eq!(classify(None, [rejected]), Decision::Delivered(None));
        let refused = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"message_refused","data":{"kind":"xcall_message","nsn":"1","target":"x","code":"ERR_EXPIRED"}}"#;
        assert_eq!(
            classify(None, [refused]),
            Decision::Delivered(Some("ERR_EXPIRED".into()))
        );
    }
}
