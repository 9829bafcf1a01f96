//! The durable message queue: every event the indexer finds is written here before anything
//! acts on it, and every delivery step is a recorded state transition.
//!
//! ```text
//!            claim_due                mark_delivered
//!  pending ─────────────► delivering ───────────────► delivered
//!     ▲                     │   │
//!     └──── mark_retry ─────┘   └── mark_failed ────► failed ── requeue ──► pending
//!     └──── recover_in_flight (at startup: a crash left it delivering)
//! ```
//!
//! Crash safety: each transition is one database transaction, durable (SQLite WAL,
//! `synchronous=FULL`) before the caller acts on it. A crash after `claim_due` and before
//! `mark_delivered` leaves the event `delivering`; at startup the service calls
//! [`MessageStore::recover_in_flight`], which puts such events back to `pending` (keeping the
//! delivery transaction hash recorded with [`MessageStore::set_delivery_tx`]) so they are
//! delivered again. Delivering twice must therefore be harmless, and it is made so on chain:
//! the connector refuses a message it has already executed. The relayer recognises that
//! refusal ([`classify_failure`] with the connector's "already delivered" error codes) and
//! marks the event delivered instead of failing it or retrying it forever. Before delivering
//! again it may also ask `tx` for the recorded hash and mark the event delivered when that
//! transaction succeeded.

mod sqlite;
#[cfg(test)]
mod tests;

pub use sqlite::SqliteStore;

use serde_json::Value;
use std::fmt;
use std::str::FromStr;
use xsc_core::CryptoHash;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("event {id}: cannot go from {from} to {to}")]
    InvalidTransition {
        id: i64,
        from: EventState,
        to: EventState,
    },
    #[error("event {0} not found")]
    NotFound(i64),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew { found: i64, supported: i64 },
}

pub type Result<T> = std::result::Result<T, QueueError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventState {
    /// Waiting for delivery (or for its retry time).
    Pending,
    /// Claimed by a deliverer; a delivery transaction may be in flight.
    Delivering,
    Delivered,
    /// Rejected on chain for a reason a retry cannot fix, or out of attempts.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// Height of the source block that executed the outcome.
    pub block_height: u64,
    /// Connector-defined data (the event's JSON, proof parameters, ...).
    pub payload: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: i64,
    pub key: EventKey,
    pub dest_chain: String,
    pub kind: String,
    pub block_height: u64,
    pub payload: Value,
    pub state: EventState,
    /// Delivery attempts started (claims).
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Unix milliseconds; a pending event is due from then on.
    pub next_retry_at: i64,
    /// Hash of the last delivery transaction signed for it.
    pub delivery_tx: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
}

/// A light client block submitted to a destination light client.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The queue's storage. Every method is one atomic, durable transaction. Implementations must be
/// safe to share between tasks.
pub trait MessageStore: Send + Sync {
    /// Last indexed height of `source_chain`.
    fn cursor(&self, source_chain: &str) -> Result<Option<u64>>;
    fn set_cursor(&self, source_chain: &str, height: u64) -> Result<()>;
    /// Insert the events found up to `height` and move the cursor there, atomically: after a
    /// crash either both happened or neither (re-indexing then re-inserts the same events,
    /// which is harmless). Returns how many events were new.
    fn record_indexed(&self, source_chain: &str, height: u64, events: &[NewEvent])
        -> Result<usize>;

    /// Insert one event; `false` if its key is already known (the stored row is unchanged).
    fn insert_event(&self, event: &NewEvent) -> Result<bool>;
    fn get(&self, id: i64) -> Result<Option<StoredEvent>>;
    fn find(&self, key: &EventKey) -> Result<Option<StoredEvent>>;
    /// Move up to `limit` pending events for `dest_chain` due at `now_ms` to `delivering`
    /// (oldest first), counting an attempt for each, and return them.
    fn claim_due(&self, dest_chain: &str, now_ms: i64, limit: usize) -> Result<Vec<StoredEvent>>;
    /// Record the delivery transaction's hash (before submitting it). Only while delivering.
    fn set_delivery_tx(&self, id: i64, tx_hash: &str) -> Result<()>;
    /// delivering → delivered.
    fn mark_delivered(&self, id: i64, tx_hash: Option<&str>) -> Result<()>;
    /// delivering → pending, due again at `next_retry_at_ms`, with the error kept.
    fn mark_retry(&self, id: i64, error: &str, next_retry_at_ms: i64) -> Result<()>;
    /// pending or delivering → failed, with the reason.
    fn mark_failed(&self, id: i64, error: &str) -> Result<()>;
    /// failed → pending (an operator's retry); the attempt count is kept.
    fn requeue(&self, id: i64) -> Result<()>;
    /// At startup: every `delivering` event (left by a crash) back to `pending`, due now.
    /// Returns them as they were (with their `delivery_tx`, if any, to check first).
    fn recover_in_flight(&self) -> Result<Vec<StoredEvent>>;
    fn counts(&self, dest_chain: Option<&str>) -> Result<StateCounts>;
    /// Events in `state` (all when `None`), oldest first.
    fn list(&self, state: Option<EventState>, limit: usize) -> Result<Vec<StoredEvent>>;

    fn record_relayed_block(&self, block: &RelayedBlock) -> Result<()>;
    fn last_relayed_block(&self, dest_chain: &str) -> Result<Option<RelayedBlock>>;
    /// Relayed blocks at or above `min_height`, lowest first.
    fn relayed_blocks(
        &self,
        dest_chain: &str,
        min_height: u64,
        limit: usize,
    ) -> Result<Vec<RelayedBlock>>;
}

/// What a failed delivery means for its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryVerdict {
    /// The destination already executed this message (an earlier attempt succeeded, e.g. before
    /// a crash): mark it delivered.
    AlreadyDelivered,
    /// A transient problem (RPC, gas price, light client not yet at the needed height): retry.
    Retry,
    /// Rejected on chain for a reason a retry cannot fix: mark it failed with this reason.
    Rejected,
}

/// Classify the error text of a failed delivery. `already_delivered` are the connector's error
/// codes for a replayed message (e.g. `ERR_ALREADY_DELIVERED`); `retryable` are codes after
/// which a retry can succeed (e.g. the light client lacking the proof's block).
pub fn classify_failure(
    error: &str,
    already_delivered: &[&str],
    retryable: &[&str],
) -> DeliveryVerdict {
    if already_delivered.iter().any(|m| error.contains(m)) {
        DeliveryVerdict::AlreadyDelivered
    } else if retryable.iter().any(|m| error.contains(m)) {
        DeliveryVerdict::Retry
    } else {
        DeliveryVerdict::Rejected
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
