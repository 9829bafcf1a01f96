//! The durable message queue: every event the indexer finds is written here before anything
//! acts on it, and every delivery step is a recorded state transition.
//!
//! ```text
//!              claim_due (lease: owner + deadline)        mark_delivered
//!  pending ────────────────────────────────► delivering ───────────────────► delivered ── pruned
//!     ▲  ▲                                     │  │  │                                 (retention)
//!     │  └── mark_retry (temporary: no attempt │  │  └── lease expired: claimable again
//!     │       counted; on-chain refusal: one)──┘  │      by any claimer
//!     │                                           └── mark_failed ──► failed (dead letter)
//!     └──────────── requeue / retry <id> (operator) ◄──────────────────┘
//! ```
//!
//! A `delivered` event goes back to `pending` only when the sequence audit finds that the
//! destination connector does not know it ([`MessageStore::reopen_delivered`]): the outcome it
//! was recorded from was false (a lying node) or the record is wrong. Delivering it again is
//! safe: were it executed after all, the connector refuses it as delivered.
//!
//! # Claims are leases
//!
//! [`MessageStore::claim_due`] hands out events to one owner (an instance id) with a lease
//! deadline taken from the database's clock. Every later step of that delivery names its
//! [`ClaimToken`]; a step whose lease was lost (expired, then claimed by someone else) is
//! refused with [`QueueError::LeaseLost`], so two deliverers never both act on one claim. An
//! expired lease simply makes the event claimable again: nothing ever resets every in-flight
//! row at once (that would steal a live peer's work once several instances share a database).
//! At start an instance releases only its *own* earlier claims
//! ([`MessageStore::release_claims_of`]): its previous incarnation is dead (for SQLite the
//! instance lock guarantees it).
//!
//! # Attempts
//!
//! Only refusals by the destination chain count as delivery attempts ([`RetryKind::Refused`]);
//! an event is failed (dead-lettered) after `max_delivery_attempts` of them, or at once for a
//! refusal no retry can fix. Temporary failures (RPC errors, a light client update that failed,
//! an unconfirmed transaction, a paused connector) are counted separately
//! ([`RetryKind::Temporary`]) and never fail an event: an outage delays work, it never fails it.
//!
//! # Crash safety
//!
//! Each transition is one database transaction, durable (SQLite WAL, `synchronous=FULL`) before
//! the caller acts on it. The delivery transaction's hash is recorded
//! ([`MessageStore::set_delivery_tx`]) before it is submitted. A crash between claiming and
//! marking leaves the event `delivering` until its lease expires (or the instance restarts), and
//! it is delivered again. Delivering twice is harmless: the destination connector refuses a
//! message it has already executed, and [`classify_failure`] recognises that refusal as
//! "delivered".
//!
//! # Single-writer roles and fences
//!
//! A role that must have one writer at a time (the indexer of a chain, the light client relay
//! of a direction) is a named lease ([`MessageStore::try_lease`]) that its holder renews. A write
//! of such a role names its [`Fence`] and is made only while the lease is held, unexpired by the
//! store's clock, in the same transaction ([`MessageStore::record_indexed_fenced`],
//! [`MessageStore::record_relay_submission`]); otherwise it is refused with
//! [`QueueError::LeaseNotHeld`] and changes nothing. A server database also locks the lease row
//! for the duration of the write, so a takeover is ordered after it.
//!
//! # Backends
//!
//! [`MessageStore`] is async and leaks no backend type: SQLite ([`SqliteStore`], the embedded
//! default) runs every statement on a blocking thread, never on a tokio worker. PostgreSQL
//! ([`PostgresStore`], for several instances on one queue) claims with row locks
//! (`FOR UPDATE SKIP LOCKED`) and takes every timestamp from the server's `now()`.
//! [`open_store`] opens the one a [`Database`] names.

mod backend;
mod postgres;
mod sqlite;
#[cfg(test)]
mod suite;
#[cfg(test)]
mod tests;

pub use backend::{open_store, Database, DatabaseUrl};
pub use postgres::{PostgresStore, POSTGRES_SCHEMA_VERSION};
pub use sqlite::{SqliteStore, SCHEMA_VERSION};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;
use xsc_core::CryptoHash;

#[derive(Debug, Clone, thiserror::Error)]
pub enum QueueError {
    /// The database failed (I/O, corruption, constraint, a busy timeout). The text is the
    /// backend's, without its types.
    #[error("database: {0}")]
    Backend(String),
    #[error("event {id}: cannot go from {from} to {to}")]
    InvalidTransition {
        id: i64,
        from: EventState,
        to: EventState,
    },
    /// The claim this step belongs to is no longer held (its lease expired and the event was
    /// claimed again, or it was already settled).
    #[error("event {id}: the claim of {owner} (#{seq}) is no longer held")]
    LeaseLost { id: i64, owner: String, seq: i64 },
    #[error("event {0} not found")]
    NotFound(i64),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
    /// Another process holds the database's instance lock.
    #[error("{0}")]
    Locked(String),
    /// A fenced write of a single-writer role whose lease `owner` does not hold (expired, or
    /// taken over by another instance): nothing was written.
    #[error("lease {name} is not held by {owner}")]
    LeaseNotHeld { name: String, owner: String },
}

pub type Result<T> = std::result::Result<T, QueueError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// Waiting for delivery (or for its retry time).
    Pending,
    /// Claimed by a deliverer (under a lease); a delivery transaction may be in flight.
    Delivering,
    Delivered,
    /// Dead letter: refused on chain for a reason a retry cannot fix, or out of attempts.
    /// `xsc retry <id>` / `xsc requeue` put it back.
    Failed,
}

impl EventState {
    pub const ALL: [EventState; 4] = [
        EventState::Pending,
        EventState::Delivering,
        EventState::Delivered,
        EventState::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            EventState::Pending => "pending",
            EventState::Delivering => "delivering",
            EventState::Delivered => "delivered",
            EventState::Failed => "failed",
        }
    }
}

impl fmt::Display for EventState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventState {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        EventState::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown event state `{s}`"))
    }
}

/// What identifies an event: the outcome (receipt or transaction) that emitted it on the source
/// chain and its index among that outcome's events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct EventKey {
    pub source_chain: String,
    pub outcome_id: CryptoHash,
    pub event_index: u32,
}

/// An event as the indexer found it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub key: EventKey,
    pub dest_chain: String,
    /// Connector-defined kind (e.g. which delivery method it needs).
    pub kind: String,
    /// Height of the source block whose header carries the outcome's root (the proof block).
    pub block_height: u64,
    /// The channel sequence number (`nsn`) of the message, when the event has one.
    pub nsn: Option<u64>,
    /// Unix milliseconds of the source block that executed the outcome, when known.
    pub source_time: Option<i64>,
    /// Connector-defined data (the event's JSON, proof parameters, ...).
    pub payload: Value,
}

/// Who holds a claim, and which claim it is: every step after [`MessageStore::claim_due`] names
/// it, and the store refuses the step when the claim is no longer held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClaimToken {
    pub id: i64,
    pub owner: String,
    /// Increases with every claim of the event (a fencing token).
    pub seq: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub id: i64,
    pub key: EventKey,
    pub dest_chain: String,
    pub kind: String,
    pub block_height: u64,
    pub nsn: Option<u64>,
    pub payload: Value,
    pub state: EventState,
    /// Refusals by the destination chain (counted delivery attempts).
    pub attempts: u32,
    /// Temporary failures (RPC, light client update, unconfirmed transaction, ...); never fail
    /// the event.
    pub temp_failures: u32,
    pub last_error: Option<String>,
    /// Unix milliseconds; a pending event is due from then on.
    pub next_retry_at: i64,
    /// Hash of the last delivery transaction signed for it.
    pub delivery_tx: Option<String>,
    /// What the delivery produced (transaction, block, receipts that emitted a response), JSON.
    pub delivery: Option<Value>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub claim_seq: i64,
    pub source_time: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub delivered_at: Option<i64>,
}

impl StoredEvent {
    /// How many times the sequence audit put this event back after a delivery the destination
    /// did not know (`delivery.reopened`; kept across its later delivery records).
    pub fn reopens(&self) -> u32 {
        self.delivery
            .as_ref()
            .and_then(|d| d.get("reopened"))
            .and_then(Value::as_u64)
            .map_or(0, |n| n.min(u64::from(u32::MAX)) as u32)
    }

    /// The claim this event is held under (meaningful while `delivering`).
    pub fn claim(&self) -> Option<ClaimToken> {
        match (self.state, &self.lease_owner) {
            (EventState::Delivering, Some(owner)) => Some(ClaimToken {
                id: self.id,
                owner: owner.clone(),
                seq: self.claim_seq,
            }),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub pending: u64,
    pub delivering: u64,
    pub delivered: u64,
    pub failed: u64,
}

impl StateCounts {
    pub fn get(&self, s: EventState) -> u64 {
        match s {
            EventState::Pending => self.pending,
            EventState::Delivering => self.delivering,
            EventState::Delivered => self.delivered,
            EventState::Failed => self.failed,
        }
    }

    fn get_mut(&mut self, s: EventState) -> &mut u64 {
        match s {
            EventState::Pending => &mut self.pending,
            EventState::Delivering => &mut self.delivering,
            EventState::Delivered => &mut self.delivered,
            EventState::Failed => &mut self.failed,
        }
    }
}

/// Where the indexer of a source chain stands: every block up to `height` was read, and `hash`
/// is the hash of the last existing block at or below it (the next block must name it as its
/// `prev_hash`). `hash` is `None` only in databases written before hashes were kept: the
/// indexer then anchors the chain again before reading on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cursor {
    pub height: u64,
    pub hash: Option<CryptoHash>,
}

/// A light client block submitted to a destination light client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayedBlock {
    /// The chain whose light client received the block.
    pub dest_chain: String,
    pub height: u64,
    pub hash: CryptoHash,
    pub epoch_id: CryptoHash,
    pub tx_hash: Option<String>,
    /// Unix milliseconds.
    pub relayed_at: i64,
}

/// A named lease that must be held by `owner` for a write to happen (see the module's
/// "Single-writer roles and fences").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Fence {
    pub name: String,
    pub owner: String,
}

/// A named lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseInfo {
    pub name: String,
    pub owner: String,
    /// Unix milliseconds (store clock); expired when not above the store's now.
    pub until: i64,
}

/// Where a light client block transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionStatus {
    /// Signed and recorded, maybe handed to the node: its fate must be known before the block
    /// (or a later one) is submitted again.
    Signed,
    /// In a block of the destination chain; not executed yet.
    Included,
    /// Executed, and the light client took the block.
    Landed,
    /// Will never take effect: refused on chain, or never valid (expired, nonce used).
    Failed,
}

impl SubmissionStatus {
    pub const ALL: [SubmissionStatus; 4] = [
        SubmissionStatus::Signed,
        SubmissionStatus::Included,
        SubmissionStatus::Landed,
        SubmissionStatus::Failed,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            SubmissionStatus::Signed => "signed",
            SubmissionStatus::Included => "included",
            SubmissionStatus::Landed => "landed",
            SubmissionStatus::Failed => "failed",
        }
    }

    /// Order of the lifecycle: a status only moves to a higher rank (landed and failed are
    /// final).
    fn rank(&self) -> u8 {
        match self {
            SubmissionStatus::Signed => 0,
            SubmissionStatus::Included => 1,
            SubmissionStatus::Landed | SubmissionStatus::Failed => 2,
        }
    }

    /// Whether a record at `self` may be moved to `to`.
    pub fn may_become(&self, to: SubmissionStatus) -> bool {
        self.rank() < to.rank()
    }
}

impl FromStr for SubmissionStatus {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        SubmissionStatus::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown submission status `{s}`"))
    }
}

/// A light client block's transaction, recorded before it is handed to the destination node
/// (under the relay's [`Fence`]): whoever relays next first learns what became of it, so no
/// block is ever submitted twice, even across instances and restarts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RelaySubmission {
    /// The chain whose light client receives the block.
    pub dest_chain: String,
    pub height: u64,
    /// The light client head the block makes once it executes.
    pub head: xsc_core::client::Head,
    pub tx_hash: String,
    /// Account that signed the transaction (to look up its status).
    pub signer: String,
    /// The signed transaction, base64 (public once sent; re-sending the same bytes can never
    /// execute it twice).
    pub signed_tx: String,
    /// The instance that signed it.
    pub owner: String,
    pub status: SubmissionStatus,
    /// Unix milliseconds (store clock); set by the store.
    pub created_at: i64,
    pub updated_at: i64,
}

/// Why a delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    /// Not the destination's verdict on the message (RPC error, a light client update that
    /// failed, an unconfirmed transaction, a paused connector, a message ahead of the window):
    /// retried without limit, no attempt counted.
    Temporary,
    /// The destination chain refused the delivery for a reason a later attempt may fix: one
    /// attempt counted.
    Refused,
}

/// Which events [`MessageStore::list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub state: Option<EventState>,
    pub dest_chain: Option<String>,
    /// Only events with an id above this (paging).
    pub after_id: Option<i64>,
    pub limit: usize,
}

impl ListFilter {
    pub fn state(state: EventState, limit: usize) -> Self {
        ListFilter {
            state: Some(state),
            limit,
            ..Default::default()
        }
    }
}

/// The queue's storage. Every method is one atomic, durable transaction; timestamps (lease
/// deadlines, retry times, `created_at`...) come from the store's clock, never the caller's.
/// Implementations must be safe to share between tasks and must not block the async runtime.
#[async_trait]
pub trait MessageStore: Send + Sync {
    // ----- indexing -----

    /// Where the indexer of `source_chain` stands.
    async fn cursor(&self, source_chain: &str) -> Result<Option<Cursor>>;
    /// Insert the events found up to `cursor` and move the cursor there, atomically: after a
    /// crash either both happened or neither (re-indexing then re-inserts the same events,
    /// which is harmless). Returns how many events were new.
    async fn record_indexed(
        &self,
        source_chain: &str,
        cursor: Cursor,
        events: &[NewEvent],
    ) -> Result<usize>;
    /// Insert events without moving any cursor (a gap found by comparing sequence numbers,
    /// read again). Returns how many were new.
    async fn insert_events(&self, events: &[NewEvent]) -> Result<usize>;
    /// The sequence numbers in `[from, to)` of the queued events from `source_chain` to
    /// `dest_chain` (any state).
    async fn known_nsns(
        &self,
        source_chain: &str,
        dest_chain: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u64>>;
    /// The events from `source_chain` to `dest_chain` with a sequence number in `[from, to)`
    /// recorded `delivered` at least `settled_for` ago, lowest sequence numbers first, at most
    /// `limit`: the sequence audit asks the destination connector whether it knows them.
    async fn delivered_in_range(
        &self,
        source_chain: &str,
        dest_chain: &str,
        from: u64,
        to: u64,
        settled_for: Duration,
        limit: usize,
    ) -> Result<Vec<StoredEvent>>;

    // ----- deliveries -----

    /// Claim up to `limit` events for `dest_chain` (oldest first) for `owner`, until now +
    /// `lease`: pending events that are due, and delivering events whose lease expired.
    async fn claim_due(
        &self,
        dest_chain: &str,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<StoredEvent>>;
    /// Extend the leases of `owner`'s claims among `ids` to now + `lease`. Returns how many are
    /// still held.
    async fn extend_leases(&self, owner: &str, ids: &[i64], lease: Duration) -> Result<usize>;
    /// Make every event claimed by `owner` claimable again at once (the same instance
    /// restarting: its previous incarnation is dead). Other owners' claims are untouched.
    async fn release_claims_of(&self, owner: &str) -> Result<Vec<StoredEvent>>;
    /// Record the delivery transaction's hash (before submitting it). Only while the claim is
    /// held.
    async fn set_delivery_tx(&self, claim: &ClaimToken, tx_hash: &str) -> Result<()>;
    /// Settle an event as delivered (the destination executed it, or refused it as already
    /// delivered), with what the delivery produced. A fact from the chain: accepted from
    /// `pending` and `delivering` whoever holds the claim.
    async fn mark_delivered(
        &self,
        id: i64,
        tx_hash: Option<&str>,
        delivery: Option<&Value>,
    ) -> Result<()>;
    /// delivering → pending, due again after `delay`, with the error kept; counts an attempt
    /// when `kind` is [`RetryKind::Refused`].
    async fn mark_retry(
        &self,
        claim: &ClaimToken,
        kind: RetryKind,
        error: &str,
        delay: Duration,
    ) -> Result<()>;
    /// delivering → failed (dead letter), with the reason (counted as a refusal).
    async fn mark_failed(&self, claim: &ClaimToken, error: &str) -> Result<()>;

    // ----- operators -----

    /// failed → pending, due now, with a fresh attempt budget (`xsc retry <id>`).
    async fn requeue(&self, id: i64) -> Result<()>;
    /// delivered → pending, due now: the destination connector does not know the delivery
    /// recorded for this event (a node reported an outcome that never happened, or a bug). The
    /// recorded transaction and result are dropped (a later claim must not read the same false
    /// outcome again) but for how many times it was reopened (`reopens`, the result's
    /// `{"reopened": n}`, which the next delivery record carries on), `reason` is kept as the
    /// last error, with a fresh attempt budget. Any other state:
    /// [`QueueError::InvalidTransition`], nothing changes.
    async fn reopen_delivered(&self, id: i64, reason: &str, reopens: u32) -> Result<()>;
    /// Every failed event (for `dest_chain`, or all) back to pending (`xsc requeue`).
    async fn requeue_failed(&self, dest_chain: Option<&str>) -> Result<usize>;
    async fn get(&self, id: i64) -> Result<Option<StoredEvent>>;
    async fn find(&self, key: &EventKey) -> Result<Option<StoredEvent>>;
    /// The events emitted by any of `outcome_ids` (a delivery's receipts: its responses).
    async fn find_by_outcomes(
        &self,
        source_chain: &str,
        outcome_ids: &[CryptoHash],
    ) -> Result<Vec<StoredEvent>>;
    /// Events per state, maintained incrementally (no table scan).
    async fn counts(&self, dest_chain: Option<&str>) -> Result<StateCounts>;
    /// `created_at` of the oldest event not yet settled (pending or delivering) for
    /// `dest_chain`.
    async fn oldest_open(&self, dest_chain: &str) -> Result<Option<i64>>;
    async fn list(&self, filter: &ListFilter) -> Result<Vec<StoredEvent>>;
    /// Delete delivered events settled more than `older_than` ago, and relayed-block records as
    /// old, at most `limit` rows of each. Returns how many events were deleted.
    async fn prune(&self, older_than: Duration, limit: usize) -> Result<usize>;
    /// The store's clock (Unix milliseconds).
    async fn now_ms(&self) -> Result<i64>;

    // ----- light client relay -----

    async fn record_relayed_block(&self, block: &RelayedBlock) -> Result<()>;
    async fn last_relayed_block(&self, dest_chain: &str) -> Result<Option<RelayedBlock>>;
    /// Relayed blocks at or above `min_height`, lowest first.
    async fn relayed_blocks(
        &self,
        dest_chain: &str,
        min_height: u64,
        limit: usize,
    ) -> Result<Vec<RelayedBlock>>;

    // ----- single-writer roles -----

    /// Take or renew the named lease (e.g. the indexer of a chain) for `owner` until now + `ttl`.
    /// `false` while another owner holds it unexpired.
    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool>;
    /// Give the named lease up if `owner` holds it (a graceful stop: another instance takes the
    /// role at once instead of after expiry). Returns whether it was held.
    async fn release_lease(&self, name: &str, owner: &str) -> Result<bool>;
    /// The leases whose names start with `prefix`, expired or not, by name.
    async fn leases(&self, prefix: &str) -> Result<Vec<LeaseInfo>>;
    /// [`Self::record_indexed`], only while `fence` is held: else [`QueueError::LeaseNotHeld`]
    /// and nothing is written.
    async fn record_indexed_fenced(
        &self,
        fence: &Fence,
        source_chain: &str,
        cursor: Cursor,
        events: &[NewEvent],
    ) -> Result<usize>;

    // ----- light client submissions (relay across instances) -----

    /// Record a light client block transaction before it is sent, only while `fence` is held
    /// (else [`QueueError::LeaseNotHeld`]). `created_at`/`updated_at` are the store's.
    async fn record_relay_submission(&self, fence: &Fence, sub: &RelaySubmission) -> Result<()>;
    /// Move a submission forward (signed → included → landed | failed); a move backwards or
    /// out of a final status is ignored. [`QueueError::NotFound`] (id 0) when unknown.
    async fn set_submission_status(
        &self,
        dest_chain: &str,
        tx_hash: &str,
        status: SubmissionStatus,
    ) -> Result<()>;
    /// Submissions whose fate is not known yet (signed or included), lowest height first.
    async fn open_submissions(&self, dest_chain: &str) -> Result<Vec<RelaySubmission>>;
    /// The highest submission that is included or landed (a light client head that other
    /// instances may deliver against once it is in a block).
    async fn newest_included_submission(&self, dest_chain: &str)
        -> Result<Option<RelaySubmission>>;
    /// The highest proof block among the events for `dest_chain` not yet settled (pending or
    /// delivering): the light client must hold a block at or above it.
    async fn open_max_block_height(&self, dest_chain: &str) -> Result<Option<u64>>;
}

/// What a failed delivery means for its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryVerdict {
    /// The destination already executed this message (an earlier attempt succeeded, e.g. before
    /// a crash): mark it delivered.
    AlreadyDelivered,
    /// Not a verdict on the message (the light client lacking a block, a paused connector, a
    /// message ahead of the window): retry without counting an attempt.
    Temporary,
    /// A refusal a later attempt may fix: retry, counting an attempt.
    Retry,
    /// Refused on chain for a reason a retry cannot fix: mark it failed with this reason.
    Rejected,
}

/// Classify the error text of a failed delivery. `already_delivered` are the connector's error
/// codes for a replayed message (e.g. `ERR_ALREADY_DELIVERED`); `temporary` are codes caused by
/// something other than the message (the light client's state, a pause); `retryable` are codes
/// after which a retry can succeed; `permanent` are codes no retry can fix. Anything else is a
/// counted refusal ([`DeliveryVerdict::Retry`]): an unknown error never dead-letters a message
/// at once.
pub fn classify_failure(
    error: &str,
    already_delivered: &[&str],
    temporary: &[&str],
    permanent: &[&str],
) -> DeliveryVerdict {
    if already_delivered.iter().any(|m| error.contains(m)) {
        DeliveryVerdict::AlreadyDelivered
    } else if temporary.iter().any(|m| error.contains(m)) {
        DeliveryVerdict::Temporary
    } else if permanent.iter().any(|m| error.contains(m)) {
        DeliveryVerdict::Rejected
    } else {
        DeliveryVerdict::Retry
    }
}

/// Milliseconds since the Unix epoch (the host clock).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
