//! Several relayer instances on one queue: who does what, decided by the database.
//!
//! Nothing here is a protocol of our own between instances: every decision is a row the
//! database grants ([`MessageStore::try_lease`], with the database's clock) or a write it fences
//! ([`Fence`]). Instances never talk to each other.
//!
//! - **Deliveries** need no role: every instance claims due events with a lease
//!   ([`MessageStore::claim_due`]); an expired claim returns to the pool.
//! - **Single-writer roles** ([`RoleLease`]): each chain's indexer (`indexer:<chain>`: its
//!   cursor) and each direction's light client relay (`relay:<source>-><dest>`: what the
//!   destination light client is sent). The holder renews every third of the lease; it acts
//!   only while its lease is certainly unexpired by its own monotonic clock, counted from before
//!   the renewal was sent (the database's deadline is later), and its writes are fenced by the
//!   lease in the database as well. A holder that dies is replaced within a lease (+ a poll).
//!   A graceful stop releases the roles at once.
//! - **The instance itself** ([`Instance`]): `instance:<id>` and one lease per access key
//!   (`key:<chain>:<public key>`), taken at start. A second live process with the same instance
//!   id, or another instance configured with one of this instance's keys (their nonces would
//!   collide), is refused with a clear error. Because a live instance id is unique, an instance
//!   may release its own earlier claims at start ([`MessageStore::release_claims_of`]): its
//!   previous incarnation is dead (its instance lease expired).
//! - **Light client submissions** ([`RelayGuard`]): the relay holder records each block's
//!   signed transaction (fenced) before it is sent, marks it included and landed; before it
//!   submits a block it first learns the fate of every submission it is not following itself
//!   (a dead holder's, or its own whose answer was lost), re-sending the recorded bytes when the
//!   node does not know them (the same transaction can execute only once). So no block is ever
//!   submitted twice, across instances and restarts. Other instances deliver against a block
//!   as soon as its transaction is included ([`RelayGuard::shared_head`]).

use crate::queue::{Fence, MessageStore, QueueError, RelaySubmission, SubmissionStatus};
use crate::rpc::{FinalOutcome, RpcClient, RpcError, WaitUntil};
use crate::tx::{wait_for_outcome, PreparedTx, TxError};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tracing::{debug, error, info, warn};
use xsc_core::client::Head;

/// Lease names.
pub fn indexer_role(source: &str) -> String {
    format!("indexer:{source}")
}

pub fn relay_role(source: &str, dest: &str) -> String {
    format!("relay:{source}->{dest}")
}

pub fn instance_lease(id: &str) -> String {
    format!("instance:{id}")
}

pub fn key_lease(chain: &str, public_key: &str) -> String {
    format!("key:{chain}:{public_key}")
}

/// A named lease this instance holds or waits for.
pub struct RoleLease {
    store: Arc<dyn MessageStore>,
    name: String,
    owner: String,
    ttl: Duration,
    /// Until when (monotonic) the lease is certainly held; `None`: not held.
    valid_until: Mutex<Option<Instant>>,
    held: watch::Sender<bool>,
}

impl std::fmt::Debug for RoleLease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RoleLease({} by {}, held {})",
            self.name,
            self.owner,
            self.held()
        )
    }
}

impl RoleLease {
    pub fn new(
        store: Arc<dyn MessageStore>,
        name: impl Into<String>,
        owner: impl Into<String>,
        ttl: Duration,
    ) -> Arc<Self> {
        Arc::new(RoleLease {
            store,
            name: name.into(),
            owner: owner.into(),
            ttl,
            valid_until: Mutex::new(None),
            held: watch::channel(false).0,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn owner(&self) -> &str {
        &self.owner
    }

    pub fn fence(&self) -> Fence {
        Fence {
            name: self.name.clone(),
            owner: self.owner.clone(),
        }
    }

    /// How long after a renewal was *sent* the holder still acts: the database's deadline is
    /// `ttl` after it *received* it; a quarter of the lease is left as a margin for clock rates.
    fn safe(&self) -> Duration {
        self.ttl - self.ttl / 4
    }

    /// Whether this instance certainly holds the lease now.
    pub fn held(&self) -> bool {
        let mut v = self.valid_until.lock().unwrap_or_else(|p| p.into_inner());
        match *v {
            Some(t) if Instant::now() < t => true,
            Some(_) => {
                *v = None;
                self.held.send_replace(false);
                false
            }
            None => false,
        }
    }

    /// Changes of [`Self::held`] (as seen by [`Self::tick`]).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.held.subscribe()
    }

    /// Take or renew the lease once. Returns whether it is held.
    pub async fn tick(&self) -> bool {
        let sent = Instant::now();
        let was = self.held();
        match self
            .store
            .try_lease(&self.name, &self.owner, self.ttl)
            .await
        {
            Ok(true) => {
                *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(sent + self.safe());
                if !was {
                    info!(role = %self.name, owner = %self.owner, "role taken");
                    self.held.send_replace(true);
                }
                true
            }
            Ok(false) => {
                *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
                if was {
                    warn!(role = %self.name, owner = %self.owner, "role lost to another instance");
                }
                self.held.send_replace(false);
                false
            }
            Err(e) => {
                // Held until the local deadline runs out by itself; not renewed.
                warn!(role = %self.name, error = %e, "lease renewal failed");
                self.held()
            }
        }
    }

    /// Renew while held, try to take it while not, until `shutdown`; then release it.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let held = self.tick().await;
            // A holder renews every third of the lease; a standby looks every second (or a
            // third of the lease, if shorter) so that it takes over soon after expiry.
            let every = if held {
                self.ttl / 3
            } else {
                (self.ttl / 3).min(Duration::from_secs(1))
            };
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        self.release().await;
    }

    /// Give the lease up now (a graceful stop).
    pub async fn release(&self) {
        *self.valid_until.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.held.send_replace(false);
        match self.store.release_lease(&self.name, &self.owner).await {
            Ok(true) => info!(role = %self.name, "role released"),
            Ok(false) => {}
            Err(e) => warn!(role = %self.name, error = %e, "role not released (it expires)"),
        }
    }
}

/// This process's registration: its instance id and its keys, each a lease.
pub struct Instance {
    pub id: String,
    /// `instance:<id>`, owned by this process (a unique token).
    pub lease: Arc<RoleLease>,
    /// `key:<chain>:<public key>`, owned by the instance id.
    pub keys: Vec<Arc<RoleLease>>,
}

/// Why an instance may not start.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("another live relayer process uses instance_id `{id}` (lease held by {holder}); give each instance its own relayer.instance_id")]
    DuplicateInstance { id: String, holder: String },
    #[error("key {key} on chain {chain} is used by live instance `{holder}`: two instances signing with one key would collide on its nonces; give each instance its own keys (xsc deploy --instances N)")]
    SharedKey {
        chain: String,
        key: String,
        holder: String,
    },
    #[error(transparent)]
    Store(#[from] QueueError),
}

/// Take a lease, waiting up to `wait` for another holder's to expire. `Ok(None)` when it did
/// not; then the holder's name is returned.
async fn take(
    store: &Arc<dyn MessageStore>,
    lease: &Arc<RoleLease>,
    wait: Duration,
) -> Result<Option<String>, QueueError> {
    let started = Instant::now();
    loop {
        if lease.tick().await {
            return Ok(None);
        }
        if started.elapsed() >= wait {
            let holder = store
                .leases(lease.name())
                .await?
                .into_iter()
                .find(|l| l.name == lease.name())
                .map(|l| l.owner)
                .unwrap_or_else(|| "?".into());
            return Ok(Some(holder));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

impl Instance {
    /// Register instance `id` with its signing keys (`(chain, public key)`). Waits up to one
    /// lease for a dead predecessor's leases to expire; refuses a live duplicate. `exclusive`:
    /// the database admits one process at a time (SQLite's instance lock), so a registration
    /// left behind is a dead predecessor's and is taken over at once.
    pub async fn register(
        store: Arc<dyn MessageStore>,
        id: &str,
        keys: &[(String, String)],
        ttl: Duration,
        exclusive: bool,
    ) -> Result<Instance, RegisterError> {
        let token = format!(
            "{id} (pid {} on {}, {:08x})",
            std::process::id(),
            hostname(),
            rand::random::<u32>()
        );
        let wait = ttl + Duration::from_secs(1);
        let lease = RoleLease::new(store.clone(), instance_lease(id), token, ttl);
        if exclusive {
            for l in store.leases(lease.name()).await? {
                if l.name == lease.name() {
                    store.release_lease(&l.name, &l.owner).await?;
                }
            }
        }
        if let Some(holder) = take(&store, &lease, wait).await? {
            return Err(RegisterError::DuplicateInstance {
                id: id.to_string(),
                holder,
            });
        }
        let mut held: Vec<Arc<RoleLease>> = Vec::new();
        let mut seen = HashSet::new();
        for (chain, pk) in keys {
            if !seen.insert((chain.clone(), pk.clone())) {
                continue;
            }
            let k = RoleLease::new(store.clone(), key_lease(chain, pk), id, ttl);
            if let Some(holder) = take(&store, &k, wait).await? {
                lease.release().await;
                for h in &held {
                    h.release().await;
                }
                return Err(RegisterError::SharedKey {
                    chain: chain.clone(),
                    key: pk.clone(),
                    holder,
                });
            }
            held.push(k);
        }
        info!(instance = id, keys = held.len(), "instance registered");
        Ok(Instance {
            id: id.to_string(),
            lease,
            keys: held,
        })
    }

    /// Keep the registration alive until `shutdown`, then release it. Returns early when the
    /// instance lease was lost (this process stalled longer than a lease and another took its
    /// name): the caller must stop.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> bool {
        let every = self.lease.ttl / 3;
        let mut lost = false;
        loop {
            if !self.lease.tick().await && !self.lease.held() {
                // Not renewed: lost for good only when someone else holds it.
                if let Ok(ls) = self.lease.store.leases(self.lease.name()).await {
                    if ls
                        .iter()
                        .any(|l| l.name == self.lease.name() && l.owner != self.lease.owner())
                    {
                        error!(instance = %self.id, "instance lease taken by another process: stopping");
                        lost = true;
                        break;
                    }
                }
            }
            for k in &self.keys {
                k.tick().await;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        for k in &self.keys {
            k.release().await;
        }
        if !lost {
            self.lease.release().await;
        }
        !lost
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "?".into())
}

/// How long [`RelayGuard::settle`] waits for a submission's outcome.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// The light client relay of one direction across instances (see the module's documentation).
pub struct RelayGuard {
    store: Arc<dyn MessageStore>,
    lease: Arc<RoleLease>,
    dest: String,
    /// The destination chain: transaction status, re-sending.
    rpc: RpcClient,
    /// Submissions this process made and is following to their end.
    mine: Mutex<HashSet<String>>,
}

impl RelayGuard {
    pub fn new(
        store: Arc<dyn MessageStore>,
        lease: Arc<RoleLease>,
        dest: &str,
        rpc: RpcClient,
    ) -> Arc<Self> {
        Arc::new(RelayGuard {
            store,
            lease,
            dest: dest.to_string(),
            rpc,
            mine: Mutex::default(),
        })
    }

    pub fn lease(&self) -> &Arc<RoleLease> {
        &self.lease
    }

    /// Whether this instance is the relay of this direction now.
    pub fn may_submit(&self) -> bool {
        self.lease.held()
    }

    fn mine(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.mine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The highest block whose transaction is included (or landed), by any instance: deliveries
    /// signed now are included after it, so they execute after the light client took it.
    pub async fn shared_head(&self) -> Option<Head> {
        match self.store.newest_included_submission(&self.dest).await {
            Ok(s) => s.map(|s| s.head),
            Err(e) => {
                debug!(dest = %self.dest, error = %e, "shared light client head not read");
                None
            }
        }
    }

    /// Record a signed block transaction before it is sent (fenced by the relay lease).
    pub async fn record(&self, tx: &PreparedTx, head: &Head) -> Result<(), String> {
        if !self.lease.held() {
            return Err(format!(
                "{} is not held by this instance",
                self.lease.name()
            ));
        }
        let sub = RelaySubmission {
            dest_chain: self.dest.clone(),
            height: head.height,
            head: head.clone(),
            tx_hash: tx.hash.to_string(),
            signer: tx.signed.transaction.signer_id().to_string(),
            signed_tx: tx.base64.clone(),
            owner: self.lease.owner().to_string(),
            status: SubmissionStatus::Signed,
            created_at: 0,
            updated_at: 0,
        };
        self.store
            .record_relay_submission(&self.lease.fence(), &sub)
            .await
            .map_err(|e| e.to_string())?;
        self.mine().insert(sub.tx_hash);
        Ok(())
    }

    async fn set(&self, tx_hash: &str, status: SubmissionStatus) {
        if let Err(e) = self
            .store
            .set_submission_status(&self.dest, tx_hash, status)
            .await
        {
            warn!(dest = %self.dest, tx = tx_hash, ?status, error = %e, "light client submission status not recorded");
        }
        if matches!(status, SubmissionStatus::Landed | SubmissionStatus::Failed) {
            self.mine().remove(tx_hash);
        }
    }

    /// The transaction is in a block.
    pub async fn included(&self, tx_hash: &str) {
        self.set(tx_hash, SubmissionStatus::Included).await
    }

    /// Its outcome: the light client took the block, or not.
    pub async fn settled(&self, tx_hash: &str, success: bool) {
        let s = if success {
            SubmissionStatus::Landed
        } else {
            SubmissionStatus::Failed
        };
        self.set(tx_hash, s).await
    }

    /// A transaction this process no longer follows (its answer was lost): the next
    /// [`Self::settle`] finds out what became of it.
    pub fn forget(&self, tx_hash: &str) {
        self.mine().remove(tx_hash);
    }

    /// Before submitting a block: the fate of every recorded submission this process is not
    /// following must be known (an `Err` means: not now, nothing may be submitted).
    pub async fn settle(&self) -> Result<(), String> {
        let open = self
            .store
            .open_submissions(&self.dest)
            .await
            .map_err(|e| e.to_string())?;
        for s in open {
            if self.mine().contains(&s.tx_hash) {
                continue;
            }
            info!(dest = %self.dest, height = s.height, tx = %s.tx_hash, by = %s.owner, status = ?s.status, "an earlier light client submission is unresolved; settling it before relaying");
            let outcome = self.resolve(&s).await?;
            let status = match &outcome {
                Some(o) if o.failure().is_none() => SubmissionStatus::Landed,
                _ => SubmissionStatus::Failed,
            };
            self.store
                .set_submission_status(&self.dest, &s.tx_hash, status)
                .await
                .map_err(|e| e.to_string())?;
            info!(dest = %self.dest, height = s.height, tx = %s.tx_hash, ?status, "earlier light client submission settled");
        }
        Ok(())
    }

    /// The final outcome of a recorded submission: `Some` once executed, `None` when it can
    /// never execute (the node refuses its bytes: expired, nonce used).
    async fn resolve(&self, s: &RelaySubmission) -> Result<Option<FinalOutcome>, String> {
        let hash: xsc_core::CryptoHash = s
            .tx_hash
            .parse()
            .map_err(|e| format!("recorded tx hash {}: {e:?}", s.tx_hash))?;
        match self.rpc.tx_status(&hash, &s.signer).await {
            Ok(o) if o.is_done() => return Ok(Some(o)),
            Ok(_) => return self.wait(&hash, &s.signer).await.map(Some),
            // A node that waits for execution before answering times out on a transaction it
            // never saw: as unknown as UNKNOWN_TRANSACTION.
            Err(e) if e.is_cause("UNKNOWN_TRANSACTION") || e.is_cause("TIMEOUT_ERROR") => {}
            Err(e) => return Err(format!("status of {}: {e}", s.tx_hash)),
        }
        // Unknown to the node: it was never sent, or it is still travelling. The same bytes
        // again: at most one of them can ever execute.
        let sent = match self.rpc.send_tx(&s.signed_tx, WaitUntil::Included).await {
            Err(e) if method_missing(&e) => self.rpc.broadcast_tx_commit(&s.signed_tx).await,
            r => r,
        };
        match sent {
            Ok(o) if o.is_done() => Ok(Some(o)),
            Ok(_) => self.wait(&hash, &s.signer).await.map(Some),
            Err(e) if is_invalid_tx(&e) => {
                // Refused as invalid: never executable — unless that very transaction executed
                // meanwhile (its nonce is then used by itself).
                match self.rpc.tx_status(&hash, &s.signer).await {
                    Ok(o) if o.is_done() => Ok(Some(o)),
                    _ => {
                        warn!(dest = %self.dest, tx = %s.tx_hash, error = %e, "recorded light client transaction can never execute");
                        Ok(None)
                    }
                }
            }
            Err(e) => Err(format!("re-sending {}: {e}", s.tx_hash)),
        }
    }

    async fn wait(
        &self,
        hash: &xsc_core::CryptoHash,
        signer: &str,
    ) -> Result<FinalOutcome, String> {
        wait_for_outcome(
            &self.rpc,
            hash,
            signer,
            Duration::from_millis(500),
            SETTLE_WAIT,
        )
        .await
        .map_err(|e: TxError| e.to_string())
    }
}

/// How often the relay holder looks at the queue for messages above the light client's head.
const DEMAND_POLL: Duration = Duration::from_millis(200);

/// The light client relay of one direction, in the instance holding its lease (idle in the
/// others): a block at or above the proof block of every message queued for the destination,
/// whichever instance claimed it (its own deliverer also asks directly), and at least one block
/// per epoch ([`crate::lightclient_relay::LightClientRelay::keep_up`]).
pub async fn run_relay_role(
    relay: Arc<crate::delivery::Relay>,
    lease: Arc<RoleLease>,
    store: Arc<dyn MessageStore>,
    dest: String,
    mut shutdown: watch::Receiver<bool>,
) {
    use crate::lightclient_relay::RelayError;
    let keep_up_every = relay.config().poll_interval;
    let mut last_keep_up: Option<Instant> = None;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if lease.held() {
            match store.open_max_block_height(&dest).await {
                Ok(Some(max)) => match relay.effective_head().await {
                    // A head at the highest proof block serves (see `choose_proof_height`).
                    Ok(head) if head.height < max => {
                        match relay.proof_head_nowait(max, Duration::from_secs(2)).await {
                            Ok(h) => {
                                debug!(dest = %dest, head = h.height, max, "relayed for queued messages")
                            }
                            Err(RelayError::Timeout { .. }) | Err(RelayError::NotRelayer(_)) => {}
                            Err(e) => {
                                warn!(dest = %dest, error = %e, "light client relay for queued messages failed")
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => debug!(dest = %dest, error = %e, "light client head not read"),
                },
                Ok(None) => {}
                Err(e) => warn!(dest = %dest, error = %e, "queue not read"),
            }
            if last_keep_up.is_none_or(|t| t.elapsed() >= keep_up_every) {
                last_keep_up = Some(Instant::now());
                match relay.keep_up().await {
                    Ok(_) | Err(RelayError::NotRelayer(_)) => {}
                    Err(e) => warn!(dest = %dest, error = %e, "light client relay step failed"),
                }
            }
        } else {
            last_keep_up = None;
        }
        tokio::select! {
            _ = tokio::time::sleep(DEMAND_POLL) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn method_missing(e: &RpcError) -> bool {
    e.is_cause("METHOD_NOT_FOUND")
        || e.mentions("Method not found")
        || e.mentions("method not found")
}

fn is_invalid_tx(e: &RpcError) -> bool {
    e.is_cause("INVALID_TRANSACTION")
        || e.mentions("InvalidTxError")
        || e.mentions("InvalidNonce")
        || e.mentions("Expired")
}

#[cfg(test)]
mod tests;
