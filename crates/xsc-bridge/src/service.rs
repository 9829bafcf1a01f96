//! The bridge service: one process serving both directions of a chain pair.
//!
//! Per direction X → Y: an [`Indexer`] (X's connector events → queue), a [`LightClientRelay`]
//! (X's light client blocks → Y's light client, at least once per epoch and on demand) and a
//! [`Deliverer`] (queue → proofs → Y's connector). Both directions share one SQLite queue and
//! one [`Metrics`] registry; each chain has one [`TxSender`] (its relayer key), shared by the
//! relay and the deliverer that sign there, so nonces come from one sequence.
//!
//! At startup each chain's `status.chain_id` is checked against the configuration, and events
//! a crash left `delivering` are put back to `pending` ([`MessageStore::recover_in_flight`]).
//!
//! # Killed at any point: nothing lost, nothing doubled
//!
//! - **Nothing lost.** An event enters the queue in the same SQLite transaction that moves the
//!   indexer's cursor past its block ([`MessageStore::record_indexed`]; WAL, `synchronous=FULL`).
//!   Killed before that commit, the cursor has not moved and the heights are read again; after
//!   it, the event is durable. An event leaves `pending`/`delivering` only by `mark_delivered`
//!   after the destination connector logged its delivery (or said it was already delivered),
//!   or by `mark_failed` after an on-chain rejection that no retry can fix (kept with its reason,
//!   visible in `xsc status`, requeueable). A kill between claiming and marking leaves it
//!   `delivering`, and the next start makes it `pending` again.
//! - **Nothing doubled.** A message may therefore be *submitted* twice (killed after the
//!   transaction was sent and before it was marked), but the destination connector executes
//!   each `(channel, nsn)` at most once: the second submission fails with
//!   `ERR_ALREADY_DELIVERED` (in the entry, or as a `delivery_rejected` event of the callback
//!   when both raced through the light client hop), which the deliverer classifies as delivered.
//!   Re-indexing cannot double either: queue keys are `(source chain, outcome id, log index)`.
//!
//! A graceful [`Service::shutdown`] lets the steps in progress finish; [`Service::abort`] drops
//! every task at its next await point (what a kill does, minus the process).

use crate::config::Config;
use crate::delivery::{Deliverer, DeliveryConfig, DeliveryStats, Relay};
use crate::indexer::{Indexer, IndexerConfig};
use crate::lightclient_relay::{ContractTarget, LightClientRelay, RelayConfig, RpcSource};
use crate::metrics::Metrics;
use crate::queue::{MessageStore, SqliteStore};
use crate::rpc::RpcClient;
use crate::tx::{TxOptions, TxSender};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

fn err(e: impl std::fmt::Display) -> ServiceError {
    ServiceError(e.to_string())
}

/// Upper bound of the indexer's polling interval (`relayer.poll_interval_ms` may lower it).
const INDEXER_POLL: Duration = Duration::from_millis(200);

/// Knobs not in the configuration file (tests, demo, benchmarks).
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// First height to index per chain (`[a, b]`) when the queue has no cursor yet; `None`: the
    /// current final height.
    pub start_heights: [Option<u64>; 2],
    /// Serve Prometheus metrics at `relayer.metrics_listen`.
    pub serve_metrics: bool,
    pub delivery_batch: usize,
    pub delivery_concurrency: usize,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            start_heights: [None, None],
            serve_metrics: true,
            delivery_batch: 64,
            delivery_concurrency: 32,
        }
    }
}

/// One direction's parts.
pub struct Direction {
    pub source: String,
    pub dest: String,
    pub indexer: Arc<Indexer>,
    pub relay: Arc<Relay>,
    pub deliverer: Arc<Deliverer>,
}

impl Direction {
    pub fn stats(&self) -> &Arc<DeliveryStats> {
        &self.deliverer.stats
    }
}

pub struct Service {
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn MessageStore>,
    /// `[a → b, b → a]`.
    pub directions: [Direction; 2],
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// The RPC client and transaction sender of each chain (`[a, b]`), with the chain ids checked.
pub async fn connect(cfg: &Config) -> Result<[(RpcClient, Arc<TxSender>); 2], ServiceError> {
    let mut out = Vec::new();
    for chain in cfg.chains() {
        let rpc = RpcClient::new(cfg.rpc_client_config(chain)).map_err(err)?;
        let status = rpc
            .status()
            .await
            .map_err(|e| err(format!("{}: status: {e}", chain.name)))?;
        if status.chain_id != chain.chain_id {
            return Err(err(format!(
                "{}: the RPC at {} serves chain `{}`, the configuration expects `{}`",
                chain.name, chain.rpc_url, status.chain_id, chain.chain_id
            )));
        }
        let signer = chain
            .load_signer()
            .map_err(|e| err(format!("{}: {e}", chain.name)))?;
        let tx = Arc::new(TxSender::new(
            rpc.clone(),
            Arc::new(signer),
            TxOptions::default(),
        ));
        out.push((rpc, tx));
    }
    let b = out.pop().expect("two chains");
    let a = out.pop().expect("two chains");
    Ok([a, b])
}

impl Service {
    /// Connect, recover, and start every task.
    pub async fn start(cfg: &Config, opts: ServiceOptions) -> Result<Service, ServiceError> {
        let store: Arc<dyn MessageStore> =
            Arc::new(SqliteStore::open(&cfg.relayer.database).map_err(err)?);
        let recovered = store.recover_in_flight().map_err(err)?;
        if !recovered.is_empty() {
            warn!(
                count = recovered.len(),
                "events left in flight by a previous run are pending again (a repeated delivery is refused on chain as already delivered)"
            );
        }
        let metrics = Arc::new(Metrics::new());
        let chains = connect(cfg).await?;
        let [ca, cb] = cfg.chains();
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let mut dirs = Vec::new();
        for (i, (src, dst)) in [(ca, cb), (cb, ca)].into_iter().enumerate() {
            let (src_rpc, _) = &chains[i];
            let (_, dst_tx) = &chains[1 - i];
            let mut rcfg = RelayConfig::new(&src.name, &dst.name);
            rcfg.lean = cfg.relayer.lean_mode;
            rcfg.poll_interval = cfg.poll_interval();
            let mut target = ContractTarget::new(dst.light_client.clone(), dst_tx.clone());
            target.gas = cfg.lc_gas();
            let relay = Arc::new(
                LightClientRelay::new(
                    RpcSource {
                        rpc: src_rpc.clone(),
                    },
                    target,
                    rcfg,
                )
                .with_store(store.clone())
                .with_metrics(metrics.clone()),
            );
            let mut dcfg = DeliveryConfig::new(&src.name, &dst.name, &dst.connector);
            dcfg.max_attempts = cfg.relayer.max_delivery_attempts;
            dcfg.via_light_client = cfg.relayer.fast_path.then(|| dst.light_client.clone());
            dcfg.retry = cfg.relayer.delivery_retry.clone();
            dcfg.batch = opts.delivery_batch;
            dcfg.concurrency = opts.delivery_concurrency;
            dcfg.poll_interval = cfg.poll_interval().min(Duration::from_millis(500));
            let deliverer = Arc::new(
                Deliverer::new(
                    store.clone(),
                    relay.clone(),
                    src_rpc.clone(),
                    dst_tx.clone(),
                    dcfg,
                )
                .with_metrics(metrics.clone()),
            );
            let mut icfg = IndexerConfig::new(&src.name, &dst.name, &src.connector, &dst.connector);
            icfg.start_height = opts.start_heights[i];
            // A new final block every ~0.6-1.2 s: look 4 times per block at most, so a message
            // waits ~0.1 s on average for the indexer, not a fraction of a block.
            icfg.poll_interval = cfg.poll_interval().min(INDEXER_POLL);
            let indexer = Arc::new(
                Indexer::new(src_rpc.clone(), store.clone(), icfg)
                    .with_metrics(metrics.clone())
                    .with_wake(deliverer.wake_handle()),
            );
            {
                let (ix, r1) = (indexer.clone(), rx.clone());
                tasks.push(tokio::spawn(async move { ix.run(r1).await }));
                let (r, r2) = (relay.clone(), rx.clone());
                tasks.push(tokio::spawn(async move { r.run(r2).await }));
                let (d, r3) = (deliverer.clone(), rx.clone());
                tasks.push(tokio::spawn(async move { d.run(r3).await }));
            }
            info!(source = %src.name, dest = %dst.name, "direction started");
            dirs.push(Direction {
                source: src.name.clone(),
                dest: dst.name.clone(),
                indexer,
                relay,
                deliverer,
            });
        }
        if opts.serve_metrics {
            if let Some(addr) = cfg.metrics_addr() {
                match crate::metrics::serve(addr, metrics.clone(), rx.clone()).await {
                    Ok((_, task)) => tasks.push(task),
                    Err(e) => warn!(%addr, error = %e, "metrics endpoint not started"),
                }
            }
        }
        let b = dirs.pop().expect("two directions");
        let a = dirs.pop().expect("two directions");
        Ok(Service {
            metrics,
            store,
            directions: [a, b],
            shutdown,
            tasks,
        })
    }

    /// Ask every task to stop after its current step, and wait (at most `timeout`; then abort).
    pub async fn shutdown(self, timeout: Duration) {
        let _ = self.shutdown.send(true);
        let all = futures_join(self.tasks);
        if tokio::time::timeout(timeout, all).await.is_err() {
            warn!("shutdown timed out; tasks aborted");
        }
        info!("bridge service stopped");
    }

    /// Drop every task at its next await point, as a kill would.
    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Run until Ctrl-C / SIGTERM, then shut down gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        info!("signal received; shutting down");
        self.shutdown(Duration::from_secs(60)).await;
    }
}

async fn futures_join(tasks: Vec<JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
