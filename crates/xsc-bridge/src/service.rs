//! The bridge service: one process serving both directions of a chain pair.
//!
//! Per direction X → Y: an [`Indexer`] (X's connector events → queue, and the periodic
//! sequence audit against Y's watermark), a [`LightClientRelay`] (X's light client blocks → Y's
//! light client, at least once per epoch and on demand, signed on Y's relay key) and a
//! [`Deliverer`] (queue → proofs → Y's connector, on Y's delivery keys). Both directions share
//! one queue and one [`Metrics`] registry; each chain has one [`KeyPool`].
//!
//! **Starting.** The queue is opened (SQLite with its instance lock: a second process on the
//! same file refuses to start; PostgreSQL: any number of instances) and migrated; the instance
//! registers its id and keys in the queue ([`Instance`]: a live duplicate id, or a key another
//! live instance signs with, is refused), and its own earlier claims are released (its previous
//! incarnation is dead).
//!
//! **Several instances** ([`crate::coordination`]): deliveries are shared through claims; each
//! chain's indexer and each direction's light client relay run in one instance at a time, the
//! holder of their lease, and move to another within a lease when it dies. The chains need not be reachable: each task
//! retries until its chain answers, so the service starts during an outage of either chain, and
//! one chain down never stops what the other direction can still do (indexing goes on while
//! the destination is down). An RPC endpoint that answers with another chain id is refused: at
//! start when every endpoint of a chain does, later by disabling that endpoint.
//!
//! # Killed at any point: nothing lost, nothing doubled
//!
//! - **Nothing lost.** An event enters the queue in the same transaction that moves the
//!   indexer's cursor past its block ([`MessageStore::record_indexed`]; WAL,
//!   `synchronous=FULL`). Killed before that commit, the cursor has not moved and the blocks are
//!   read again; after it, the event is durable. An event leaves `pending`/`delivering` only by
//!   `mark_delivered` after the destination connector logged its delivery (or said it was
//!   already delivered), or by `mark_failed` after a refusal no retry can fix (kept with its
//!   reason, visible in `xsc status`, requeueable). A kill between claiming and marking leaves
//!   it `delivering` under this instance's lease, released at the next start (or by expiry).
//!   The sequence audit catches anything the indexer could have missed.
//! - **Nothing doubled.** A message may be *submitted* twice (killed after the transaction was
//!   sent and before it was marked), but the destination connector executes each `(channel,
//!   nsn)` at most once: the second submission fails with `ERR_ALREADY_DELIVERED`, which the
//!   deliverer classifies as delivered; before submitting again it looks up the transaction
//!   recorded by the earlier claim. Re-indexing cannot double either: queue keys are
//!   `(source chain, outcome id, log index)`.
//!
//! A graceful [`Service::shutdown`] lets the steps in progress finish; [`Service::abort`] drops
//! every task at its next await point (a kill, minus the process: the fault-injection suite
//! kills the real `xsc relay` process instead).

use crate::config::Config;
use crate::coordination::{indexer_role, relay_role, Instance, RelayGuard, RoleLease};
use crate::delivery::{Deliverer, DeliveryConfig, DeliveryStats, Relay};
use crate::health::Health;
use crate::indexer::{Indexer, IndexerConfig};
use crate::keys::{KeyPool, LaneNeeds, LaneRole};
use crate::lightclient_relay::{ContractTarget, LightClientRelay, RelayConfig, RpcSource};
use crate::metrics::{Metrics, RpcMetrics};
use crate::queue::{open_store, EventState, MessageStore, QueueError};
use crate::rpc::{BlockRef, RpcClient, RpcError};
use crate::tx::TxOptions;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServiceError(pub String);

fn err(e: impl std::fmt::Display) -> ServiceError {
    ServiceError(e.to_string())
}

/// Upper bound of the indexer's polling interval (`relayer.poll_interval_ms` may lower it).
const INDEXER_POLL: Duration = Duration::from_millis(200);
/// How often the watcher refreshes gauges and health.
const WATCH_EVERY: Duration = Duration::from_secs(3);
/// Bound on one probe of the watcher.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a starting service waits for a dying predecessor's instance lock.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Knobs not in the configuration file (tests, demo, benchmarks).
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    /// First height to index per chain (`[a, b]`) when the queue has no cursor yet; overrides
    /// `start_height` of the configuration.
    pub start_heights: [Option<u64>; 2],
    /// Serve `/metrics`, `/health`, `/ready` at `relayer.metrics_listen`.
    pub serve_metrics: bool,
    /// Override `relayer.delivery_batch`.
    pub delivery_batch: Option<usize>,
    /// Override `relayer.max_deliveries_in_flight`.
    pub delivery_concurrency: Option<usize>,
    /// Override `relayer.messages_per_transaction` (used with the fast path only).
    pub messages_per_transaction: Option<usize>,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        ServiceOptions {
            start_heights: [None, None],
            serve_metrics: true,
            delivery_batch: None,
            delivery_concurrency: None,
            messages_per_transaction: None,
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

    /// `source->dest`.
    pub fn name(&self) -> String {
        format!("{}->{}", self.source, self.dest)
    }
}

/// One chain's RPC client and keys.
pub struct Chain {
    pub name: String,
    pub rpc: RpcClient,
    pub keys: Arc<KeyPool>,
}

pub struct Service {
    pub metrics: Arc<Metrics>,
    pub store: Arc<dyn MessageStore>,
    pub health: Arc<Health>,
    /// `[a, b]`.
    pub chains: [Arc<Chain>; 2],
    /// `[a → b, b → a]`.
    pub directions: [Direction; 2],
    /// Where `/metrics`, `/health` and `/ready` are served.
    pub metrics_addr: Option<std::net::SocketAddr>,
    shutdown: Arc<watch::Sender<bool>>,
    tasks: Vec<JoinHandle<()>>,
    /// Set when the instance's registration was lost (another process took its name).
    lost: Arc<std::sync::atomic::AtomicBool>,
    /// This instance's roles (`indexer:<chain>`, `relay:<source>-><dest>`).
    pub roles: Vec<Arc<RoleLease>>,
}

/// Open the queue (SQLite: with its instance lock, waiting briefly for a predecessor that is
/// dying).
async fn open_queue(cfg: &Config) -> Result<Arc<dyn MessageStore>, ServiceError> {
    let db = cfg.database();
    let started = Instant::now();
    loop {
        match open_store(&db, true).await {
            Ok(s) => {
                info!(database = %db, backend = db.backend(), "queue opened");
                return Ok(s);
            }
            Err(QueueError::Locked(_)) if started.elapsed() < LOCK_WAIT => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(err(format!("{db}: {e}"))),
        }
    }
}

/// The RPC client and key pool of each chain (`[a, b]`), without talking to the chains.
pub fn chains(cfg: &Config, metrics: &Arc<Metrics>) -> Result<[Arc<Chain>; 2], ServiceError> {
    let mut out = Vec::new();
    for chain in cfg.chains() {
        let rpc = RpcClient::new(cfg.rpc_client_config(chain)).map_err(err)?;
        rpc.set_observer(Arc::new(RpcMetrics {
            metrics: metrics.clone(),
            chain: chain.name.clone(),
        }));
        for i in 0..chain.rpc_urls_all().len() {
            metrics
                .rpc_endpoint_up
                .with_label_values(&[chain.name.as_str(), &format!("rpc{i}")])
                .set(1);
        }
        let signers = chain
            .load_signers()
            .map_err(|e| err(format!("{}: {e}", chain.name)))?;
        if signers.is_empty() {
            return Err(err(format!("{}: no relayer key configured", chain.name)));
        }
        let keys = Arc::new(KeyPool::new(
            &chain.name,
            &rpc,
            signers,
            TxOptions::default(),
        ));
        if keys.shared() {
            warn!(chain = %chain.name, "one relayer key: light client updates and deliveries share its nonces; configure several keys (signer_key_files)");
        }
        for role in [LaneRole::Relay, LaneRole::Delivery] {
            metrics
                .key_lanes
                .with_label_values(&[chain.name.as_str(), role.as_str()])
                .set(keys.lanes().iter().filter(|l| l.role == role).count() as i64);
        }
        info!(chain = %chain.name, endpoints = ?rpc.endpoints(), keys = keys.lanes().len(), "chain configured");
        out.push(Arc::new(Chain {
            name: chain.name.clone(),
            rpc,
            keys,
        }));
    }
    let b = out.pop().expect("two chains");
    let a = out.pop().expect("two chains");
    Ok([a, b])
}

/// Refuse a chain all of whose endpoints serve another chain; tolerate one that is down.
async fn check_chain_id(chain: &Chain) -> Result<(), ServiceError> {
    match tokio::time::timeout(Duration::from_secs(10), chain.rpc.status()).await {
        Ok(Err(e @ RpcError::WrongChain { .. })) => Err(err(format!("{}: {e}", chain.name))),
        Ok(Err(e)) => {
            warn!(chain = %chain.name, error = %e, "chain unreachable at start; the service runs and retries");
            Ok(())
        }
        Err(_) => {
            warn!(chain = %chain.name, "chain did not answer at start; the service runs and retries");
            Ok(())
        }
        Ok(Ok(_)) => Ok(()),
    }
}

impl Service {
    /// Open the queue, release this instance's earlier claims, start every task.
    pub async fn start(cfg: &Config, opts: ServiceOptions) -> Result<Service, ServiceError> {
        let instance = cfg.instance_id();
        let store: Arc<dyn MessageStore> = open_queue(cfg).await?;
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(Health::new(
            Duration::from_secs(cfg.relayer.ready_max_pending_age_s),
            cfg.relayer.ready_max_index_lag_blocks,
        ));
        let chains = chains(cfg, &metrics)?;
        // The instance's name and keys, before touching any claim: a live duplicate (or an
        // instance signing with one of our keys) is refused here.
        let keys: Vec<(String, String)> = chains
            .iter()
            .flat_map(|c| {
                c.keys
                    .lanes()
                    .iter()
                    .map(|l| (c.name.clone(), l.sender.signer().public_key().to_string()))
            })
            .collect();
        let registration = Arc::new(
            Instance::register(
                store.clone(),
                &instance,
                &keys,
                cfg.role_lease(),
                !cfg.database().shared(),
            )
            .await
            .map_err(err)?,
        );
        let released = store.release_claims_of(&instance).await.map_err(err)?;
        if !released.is_empty() {
            warn!(
                instance, count = released.len(),
                "deliveries this instance had in flight when it stopped are pending again (a repeated delivery is refused on chain as already delivered)"
            );
        }
        for c in &chains {
            check_chain_id(c).await?;
        }
        let [ca, cb] = cfg.chains();
        let (shutdown, rx) = watch::channel(false);
        let shutdown = Arc::new(shutdown);
        let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut tasks = Vec::new();
        {
            let (reg, r, stop, lost) = (
                registration.clone(),
                rx.clone(),
                shutdown.clone(),
                lost.clone(),
            );
            tasks.push(tokio::spawn(async move {
                if !reg.run(r).await {
                    lost.store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = stop.send(true);
                }
            }));
        }
        let mut roles = Vec::new();
        let mut dirs = Vec::new();
        for (i, (src, dst)) in [(ca, cb), (cb, ca)].into_iter().enumerate() {
            let (src_chain, dst_chain) = (&chains[i], &chains[1 - i]);
            let mut rcfg = RelayConfig::new(&src.name, &dst.name);
            rcfg.lean = cfg.relayer.lean_mode;
            rcfg.poll_interval = cfg.poll_interval();
            let relay_lease = RoleLease::new(
                store.clone(),
                relay_role(&src.name, &dst.name),
                instance.clone(),
                cfg.role_lease(),
            );
            let index_lease = RoleLease::new(
                store.clone(),
                indexer_role(&src.name),
                instance.clone(),
                cfg.role_lease(),
            );
            for l in [&relay_lease, &index_lease] {
                let (task_lease, r) = ((*l).clone(), rx.clone());
                tasks.push(tokio::spawn(async move { task_lease.run(r).await }));
                roles.push((*l).clone());
            }
            let guard = RelayGuard::new(
                store.clone(),
                relay_lease.clone(),
                &dst.name,
                dst_chain.rpc.clone(),
            );
            let mut target =
                ContractTarget::new(dst.light_client.clone(), dst_chain.keys.relay_lane())
                    .with_guard(guard);
            target.gas = cfg.lc_gas();
            let relay = Arc::new(
                LightClientRelay::new(
                    RpcSource {
                        rpc: src_chain.rpc.clone(),
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
            dcfg.temporary_retry = cfg.relayer.temporary_retry.clone();
            dcfg.batch = opts.delivery_batch.unwrap_or(cfg.relayer.delivery_batch);
            dcfg.per_transaction = opts
                .messages_per_transaction
                .unwrap_or(cfg.relayer.messages_per_transaction);
            dcfg.concurrency = opts
                .delivery_concurrency
                .unwrap_or(cfg.relayer.max_deliveries_in_flight);
            dcfg.poll_interval = cfg.poll_interval().min(Duration::from_millis(500));
            dcfg.owner = instance.clone();
            dcfg.lease = Duration::from_secs(cfg.relayer.lease_s);
            let deliverer = Arc::new(
                Deliverer::new(
                    store.clone(),
                    relay.clone(),
                    src_chain.rpc.clone(),
                    dst_chain.keys.clone(),
                    dcfg,
                )
                .with_metrics(metrics.clone()),
            );
            let mut icfg = IndexerConfig::new(&src.name, &dst.name, &src.connector, &dst.connector);
            icfg.start_height = opts.start_heights[i].or(src.start_height);
            // A new final block every ~0.6-1.2 s: look 4 times per block at most, so a message
            // waits ~0.1 s on average for the indexer, not a fraction of a block.
            icfg.poll_interval = cfg.poll_interval().min(INDEXER_POLL);
            let indexer = Arc::new(
                Indexer::new(src_chain.rpc.clone(), store.clone(), icfg)
                    .with_metrics(metrics.clone())
                    .with_wake(deliverer.wake_handle())
                    .with_lease(index_lease),
            );
            {
                let (ix, r1) = (indexer.clone(), rx.clone());
                tasks.push(tokio::spawn(async move { ix.run(r1).await }));
                let (ix, r, dst_rpc) = (indexer.clone(), rx.clone(), dst_chain.rpc.clone());
                let every = Duration::from_secs(cfg.relayer.gap_check_interval_s);
                tasks.push(tokio::spawn(async move {
                    ix.run_audit(dst_rpc, every, r).await
                }));
                let (rl, r2, st) = (relay.clone(), rx.clone(), store.clone());
                let (lease, dest) = (relay_lease.clone(), dst.name.clone());
                tasks.push(tokio::spawn(async move {
                    crate::coordination::run_relay_role(rl, lease, st, dest, r2).await
                }));
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
        let b = dirs.pop().expect("two directions");
        let a = dirs.pop().expect("two directions");
        let directions = [a, b];
        let watcher = Watcher {
            store: store.clone(),
            metrics: metrics.clone(),
            health: health.clone(),
            chains: chains.clone(),
            relays: [directions[0].relay.clone(), directions[1].relay.clone()],
            needs: [lane_needs(cfg, 0), lane_needs(cfg, 1)],
        };
        let r4 = rx.clone();
        tasks.push(tokio::spawn(async move { watcher.run(r4).await }));
        if cfg.relayer.retention_days > 0 {
            let (s, r5) = (store.clone(), rx.clone());
            let keep = Duration::from_secs(cfg.relayer.retention_days * 86_400);
            tasks.push(tokio::spawn(async move { retention(s, keep, r5).await }));
        }
        let mut metrics_addr = None;
        if opts.serve_metrics {
            if let Some(addr) = cfg.metrics_addr() {
                match crate::metrics::serve(addr, metrics.clone(), Some(health.clone()), rx.clone())
                    .await
                {
                    Ok((bound, task)) => {
                        metrics_addr = Some(bound);
                        tasks.push(task)
                    }
                    Err(e) => warn!(%addr, error = %e, "metrics endpoint not started"),
                }
            }
        }
        Ok(Service {
            metrics,
            store,
            health,
            chains,
            directions,
            metrics_addr,
            shutdown,
            tasks,
            lost,
            roles,
        })
    }

    /// Whether the instance's registration was lost (another process took its name while this
    /// one stalled): the service stopped itself.
    pub fn registration_lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Ask every task to stop after its current step, and wait (at most `timeout`; then abort).
    pub async fn shutdown(self, timeout: Duration) {
        let _ = self.shutdown.send(true);
        let handles: Vec<_> = self.tasks.iter().map(|t| t.abort_handle()).collect();
        let all = futures_join(self.tasks);
        if tokio::time::timeout(timeout, all).await.is_err() {
            warn!("shutdown timed out; tasks aborted");
            for h in handles {
                h.abort();
            }
        }
        info!("bridge service stopped");
    }

    /// Drop every task at its next await point, as a kill would.
    pub fn abort(self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Run until Ctrl-C / SIGTERM (or until the instance's registration is lost), then shut
    /// down gracefully. Returns `false` when the registration was lost.
    pub async fn run_until_signal(self) -> bool {
        let mut stopped = self.shutdown.subscribe();
        tokio::select! {
            _ = wait_for_signal() => info!("signal received; shutting down"),
            _ = stopped.wait_for(|s| *s) => error!("instance registration lost; shutting down"),
        }
        let ok = !self.registration_lost();
        self.shutdown(Duration::from_secs(60)).await;
        ok
    }
}

/// What chain `i`'s relayer keys must be able to call: `[relay lane, delivery lanes]`.
fn lane_needs(cfg: &Config, i: usize) -> [LaneNeeds; 2] {
    let c = cfg.chains()[i];
    let relay = LaneNeeds {
        receiver: c.light_client.clone(),
        methods: vec!["add_light_client_block".into()],
    };
    let delivery = if cfg.relayer.fast_path {
        LaneNeeds {
            receiver: c.light_client.clone(),
            methods: vec!["verify_and_forward".into()],
        }
    } else {
        LaneNeeds {
            receiver: c.connector.clone(),
            methods: crate::events::MessageKind::ALL
                .iter()
                .map(|k| k.delivery_method().to_string())
                .collect(),
        }
    };
    [relay, delivery]
}

/// Refreshes gauges and health: queue counts and oldest pending age per destination, chain
/// reachability, indexer and light client lag, relayer balances, key permissions.
struct Watcher {
    store: Arc<dyn MessageStore>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    chains: [Arc<Chain>; 2],
    relays: [Arc<Relay>; 2],
    needs: [[LaneNeeds; 2]; 2],
}

impl Watcher {
    async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        let mut keys_checked = [false, false];
        let mut last_balance: Option<Instant> = None;
        loop {
            self.health.heartbeat();
            self.queue().await;
            let mut finals = [None, None];
            for (i, c) in self.chains.iter().enumerate() {
                // A probe: no retries, bounded, so one chain's outage never holds up the rest.
                let probe = c.rpc.with_retry(crate::rpc::RetryPolicy::none());
                let answer = tokio::time::timeout(PROBE_TIMEOUT, probe.block(BlockRef::Final))
                    .await
                    .unwrap_or_else(|_| {
                        Err(RpcError::Timeout {
                            method: "block".into(),
                            after: PROBE_TIMEOUT,
                        })
                    });
                match answer {
                    Ok(b) => {
                        finals[i] = Some((b.header.height, b.header.epoch_id));
                        self.health.chain_result(&c.name, Ok(b.header.height));
                        self.metrics
                            .chain_reachable
                            .with_label_values(&[c.name.as_str()])
                            .set(1);
                    }
                    Err(e) => {
                        self.health.chain_result(&c.name, Err(e.to_string()));
                        self.metrics
                            .chain_reachable
                            .with_label_values(&[c.name.as_str()])
                            .set(0);
                        continue;
                    }
                }
                if !keys_checked[i] {
                    let [relay, delivery] = &self.needs[i];
                    let checked = tokio::time::timeout(
                        PROBE_TIMEOUT,
                        c.keys.check_permissions(relay, delivery),
                    )
                    .await
                    .unwrap_or_else(|_| {
                        Err(RpcError::Timeout {
                            method: "query".into(),
                            after: PROBE_TIMEOUT,
                        })
                    });
                    match checked {
                        Ok(problems) => {
                            keys_checked[i] = true;
                            for p in problems {
                                error!(chain = %c.name, "{p}");
                            }
                        }
                        Err(e) => {
                            warn!(chain = %c.name, error = %e, "key permissions not read yet")
                        }
                    }
                }
                for lane in c.keys.lanes() {
                    self.metrics
                        .nonce_resyncs
                        .with_label_values(&[c.name.as_str(), lane.sender.label()])
                        .set(lane.sender.nonce_resyncs() as i64);
                }
            }
            if last_balance.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                self.balances().await;
                last_balance = Some(Instant::now());
            }
            for (i, relay) in self.relays.iter().enumerate() {
                self.direction(i, relay, finals[i]).await;
            }
            tokio::select! {
                _ = tokio::time::sleep(WATCH_EVERY) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }

    async fn queue(&self) {
        let now = crate::queue::now_ms();
        let mut ok = Ok(());
        for c in &self.chains {
            let dest = c.name.as_str();
            match self.store.counts(Some(dest)).await {
                Ok(counts) => self.metrics.set_queue_counts(dest, &counts),
                Err(e) => ok = Err(e.to_string()),
            }
            match self.store.oldest_open(dest).await {
                Ok(t) => {
                    let age = t.map_or(0, |t| ((now - t).max(0) / 1000) as u64);
                    self.metrics
                        .oldest_pending_age
                        .with_label_values(&[dest])
                        .set(age as i64);
                    for src in self.chains.iter().filter(|s| s.name != c.name) {
                        let name = format!("{}->{dest}", src.name);
                        self.health
                            .set_direction(&name, |d| d.oldest_pending_age_s = Some(age));
                    }
                }
                Err(e) => ok = Err(e.to_string()),
            }
        }
        self.health.store_result(ok);
    }

    async fn balances(&self) {
        for c in &self.chains {
            let mut accounts: Vec<String> = c
                .keys
                .lanes()
                .iter()
                .map(|l| l.sender.signer().account_id().to_string())
                .collect();
            accounts.sort();
            accounts.dedup();
            let probe = c.rpc.with_retry(crate::rpc::RetryPolicy::none());
            for a in accounts {
                let info =
                    tokio::time::timeout(PROBE_TIMEOUT, probe.view_account(&a, BlockRef::Final))
                        .await;
                if let Ok(Ok(Some(info))) = info {
                    if let Some(amount) = info.amount {
                        self.metrics
                            .relayer_balance
                            .with_label_values(&[c.name.as_str(), &a])
                            .set(amount as f64 / 1e24);
                    }
                }
            }
        }
    }

    /// Direction `i` (source `chains[i]`): indexer lag and light client currency.
    async fn direction(
        &self,
        i: usize,
        relay: &Arc<Relay>,
        source_final: Option<(u64, xsc_core::CryptoHash)>,
    ) {
        let (src, dst) = (&self.chains[i], &self.chains[1 - i]);
        let name = format!("{}->{}", src.name, dst.name);
        let stalled = self
            .metrics
            .indexer_stalled
            .with_label_values(&[src.name.as_str()])
            .get()
            != 0;
        let cursor = self.store.cursor(&src.name).await.ok().flatten();
        let Some((final_height, epoch)) = source_final else {
            self.health.set_direction(&name, |d| {
                d.stalled = stalled;
                d.index_lag = None;
                d.light_client_current = None;
            });
            return;
        };
        let head = tokio::time::timeout(PROBE_TIMEOUT, relay.effective_head())
            .await
            .ok()
            .and_then(Result::ok);
        if let Some(h) = &head {
            self.metrics
                .light_client_lag_blocks
                .with_label_values(&[src.name.as_str(), dst.name.as_str()])
                .set(final_height.saturating_sub(h.height) as i64);
        }
        self.health.set_direction(&name, |d| {
            d.stalled = stalled;
            d.index_lag = cursor.map(|c| final_height.saturating_sub(c.height));
            d.light_client_lag = head.as_ref().map(|h| final_height.saturating_sub(h.height));
            d.light_client_current = head
                .as_ref()
                .map(|h| h.epoch_id == epoch || h.next_epoch_id == epoch);
        });
    }
}

/// Delete delivered messages older than `keep`, in batches, every 10 minutes.
async fn retention(
    store: Arc<dyn MessageStore>,
    keep: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        loop {
            match store.prune(keep, 5_000).await {
                Ok(n) if n >= 5_000 => continue,
                Ok(n) => {
                    if n > 0 {
                        info!(deleted = n, "delivered messages past retention deleted");
                    }
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "retention failed; retrying later");
                    break;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(600)) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Events still open (pending or delivering), for waiting until a queue settles.
pub async fn open_events(store: &dyn MessageStore) -> Result<u64, QueueError> {
    let c = store.counts(None).await?;
    Ok(c.get(EventState::Pending) + c.get(EventState::Delivering))
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
