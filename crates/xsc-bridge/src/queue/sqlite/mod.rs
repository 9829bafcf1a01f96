//! [`MessageStore`] on an embedded SQLite database (WAL, `synchronous=FULL`).
//!
//! Every call runs on tokio's blocking pool (`spawn_blocking`), never on an async worker. One
//! connection writes (transactions are `IMMEDIATE`: the write lock is taken at `BEGIN`, so two
//! writers never deadlock on an upgrade); a second connection serves reads, which WAL lets run
//! while a write is in progress. Counts per state are kept by triggers, so the gauges read a
//! handful of rows instead of counting the table.
//!
//! A service process takes the database's **instance lock** ([`SqliteStore::open_exclusive`]):
//! an exclusive `flock` on `<database>.lock`, released by the kernel when the process dies, so
//! a second `xsc relay` on the same database refuses to start and a killed one never leaves a
//! stale lock behind. Tools (`xsc status`, `xsc requeue`) open without it.

mod schema;

#[cfg(test)]
pub(crate) use schema::SCHEMA_V1;
pub use schema::SCHEMA_VERSION;

use super::*;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Errors inside this module: SQLite's or ours. Never leaves it (converted to [`QueueError`]).
pub(crate) enum E {
    Sql(rusqlite::Error),
    Q(QueueError),
}

impl From<rusqlite::Error> for E {
    fn from(e: rusqlite::Error) -> Self {
        E::Sql(e)
    }
}

impl From<QueueError> for E {
    fn from(e: QueueError) -> Self {
        E::Q(e)
    }
}

impl From<E> for QueueError {
    fn from(e: E) -> Self {
        match e {
            E::Q(q) => q,
            E::Sql(rusqlite::Error::ToSqlConversionFailure(inner))
            | E::Sql(rusqlite::Error::FromSqlConversionFailure(_, _, inner)) => {
                QueueError::Corrupt(inner.to_string())
            }
            E::Sql(e) => QueueError::Backend(e.to_string()),
        }
    }
}

type R<T> = std::result::Result<T, E>;

const EVENT_COLUMNS: &str = "id, source_chain, outcome_id, event_index, dest_chain, kind, \
     block_height, nsn, payload, state, attempts, temp_failures, last_error, next_retry_at, \
     delivery_tx, delivery, lease_owner, lease_until, claim_seq, source_time, created_at, \
     updated_at, delivered_at";

fn corrupt(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.to_string().into())
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let outcome_id: String = r.get(2)?;
    let payload: String = r.get(8)?;
    let state: String = r.get(9)?;
    let delivery: Option<String> = r.get(15)?;
    Ok(StoredEvent {
        id: r.get(0)?,
        key: EventKey {
            source_chain: r.get(1)?,
            outcome_id: outcome_id.parse().map_err(corrupt)?,
            event_index: r.get(3)?,
        },
        dest_chain: r.get(4)?,
        kind: r.get(5)?,
        block_height: r.get::<_, i64>(6)? as u64,
        nsn: r.get::<_, Option<i64>>(7)?.map(|n| n as u64),
        payload: serde_json::from_str(&payload).map_err(corrupt)?,
        state: state.parse().map_err(corrupt)?,
        attempts: r.get(10)?,
        temp_failures: r.get(11)?,
        last_error: r.get(12)?,
        next_retry_at: r.get(13)?,
        delivery_tx: r.get(14)?,
        delivery: delivery
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(corrupt)?,
        lease_owner: r.get(16)?,
        lease_until: r.get(17)?,
        claim_seq: r.get(18)?,
        source_time: r.get(19)?,
        created_at: r.get(20)?,
        updated_at: r.get(21)?,
        delivered_at: r.get(22)?,
    })
}

fn relayed_from_row(r: &Row<'_>) -> rusqlite::Result<RelayedBlock> {
    let hash: String = r.get(2)?;
    let epoch: String = r.get(3)?;
    Ok(RelayedBlock {
        dest_chain: r.get(0)?,
        height: r.get::<_, i64>(1)? as u64,
        hash: hash.parse().map_err(corrupt)?,
        epoch_id: epoch.parse().map_err(corrupt)?,
        tx_hash: r.get(4)?,
        relayed_at: r.get(5)?,
    })
}

fn submission_from_row(r: &Row<'_>) -> rusqlite::Result<RelaySubmission> {
    let head: String = r.get(2)?;
    let status: String = r.get(7)?;
    Ok(RelaySubmission {
        dest_chain: r.get(0)?,
        height: r.get::<_, i64>(1)? as u64,
        head: serde_json::from_str(&head).map_err(corrupt)?,
        tx_hash: r.get(3)?,
        signer: r.get(4)?,
        signed_tx: r.get(5)?,
        owner: r.get(6)?,
        status: status.parse().map_err(corrupt)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

const SUBMISSION_COLUMNS: &str =
    "dest_chain, height, head, tx_hash, signer, signed_tx, owner, status, created_at, updated_at";

/// Inside a write transaction: refuse unless `fence` is held, unexpired at `now`.
fn check_fence(tx: &rusqlite::Transaction<'_>, fence: &Fence, now: i64) -> R<()> {
    let held: Option<i64> = tx
        .query_row(
            "SELECT 1 FROM leases WHERE name = ?1 AND owner = ?2 AND until > ?3",
            params![fence.name, fence.owner, now],
            |r| r.get(0),
        )
        .optional()?;
    match held {
        Some(_) => Ok(()),
        None => Err(E::Q(QueueError::LeaseNotHeld {
            name: fence.name.clone(),
            owner: fence.owner.clone(),
        })),
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A clock in Unix milliseconds (tests replace the host's).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The instance lock: an exclusive `flock` on `<database>.lock`, held while this value lives.
struct InstanceLock {
    _file: std::fs::File,
}

impl InstanceLock {
    fn acquire(db: &Path) -> Result<InstanceLock> {
        let mut name = db.as_os_str().to_owned();
        name.push(".lock");
        let path = PathBuf::from(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| QueueError::Backend(format!("{}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(QueueError::Locked(format!(
                    "another relayer process uses {} (instance lock {} is held{}); two processes must not share one SQLite queue",
                    db.display(),
                    path.display(),
                    if holder.trim().is_empty() { String::new() } else { format!(" by {}", holder.trim()) }
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(QueueError::Backend(format!(
                    "{}: cannot lock: {e}",
                    path.display()
                )))
            }
        }
        // Who holds it, for the refusal message of the next one (informational only: the lock
        // is the flock, not this text).
        use std::io::{Seek, Write};
        let mut f = &file;
        let _ = f.set_len(0);
        let _ = f.seek(std::io::SeekFrom::Start(0));
        let _ = write!(f, "pid {}", std::process::id());
        let _ = f.sync_all();
        Ok(InstanceLock { _file: file })
    }
}

/// The synchronous core, shared with the blocking tasks.
struct Inner {
    writer: Mutex<Connection>,
    /// A second connection for reads (`None` for in-memory databases, which cannot share).
    reader: Option<Mutex<Connection>>,
    clock: Clock,
    _lock: Option<InstanceLock>,
}

pub struct SqliteStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn configure(conn: &Connection) -> R<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // WAL: readers don't block the writer; FULL: a commit is on disk before it returns.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn default_clock() -> Clock {
    Arc::new(now_ms)
}

impl SqliteStore {
    /// Open (or create) the database at `path` and bring its schema up to date, without the
    /// instance lock (for tools that run beside the service: status, requeue).
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, false, default_clock())
    }

    /// [`Self::open`], holding the instance lock: fails with [`QueueError::Locked`] while
    /// another process holds it. The service opens its queue this way.
    pub fn open_exclusive(path: &Path) -> Result<Self> {
        Self::open_with(path, true, default_clock())
    }

    /// With a clock of the caller's (tests).
    pub fn open_with(path: &Path, exclusive: bool, clock: Clock) -> Result<Self> {
        let lock = if exclusive {
            Some(InstanceLock::acquire(path)?)
        } else {
            None
        };
        let open = || -> R<Connection> {
            let c = Connection::open(path)?;
            configure(&c)?;
            Ok(c)
        };
        let mut writer = open()?;
        schema::migrate(&mut writer)?;
        let reader = open()?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                reader: Some(Mutex::new(reader)),
                clock,
                _lock: lock,
            }),
        })
    }

    /// An in-memory database (tests; not durable).
    pub fn open_in_memory() -> Result<Self> {
        Self::open_in_memory_with(default_clock())
    }

    pub fn open_in_memory_with(clock: Clock) -> Result<Self> {
        let mut c = Connection::open_in_memory().map_err(E::from)?;
        configure(&c)?;
        schema::migrate(&mut c)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(c),
                reader: None,
                clock,
                _lock: None,
            }),
        })
    }

    /// `journal_mode` and `synchronous` as the connection reports them (for checks and logs).
    pub fn durability(&self) -> Result<(String, i64)> {
        Ok(self.inner.read(|c| {
            let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
            let sync: i64 = c.pragma_query_value(None, "synchronous", |r| r.get(0))?;
            Ok((mode, sync))
        })?)
    }

    /// Run `f` on the blocking pool with the shared core.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Inner) -> R<T> + Send + 'static,
    ) -> Result<T> {
        let inner = self.inner.clone();
        let joined = tokio::task::spawn_blocking(move || f(&inner).map_err(QueueError::from)).await;
        match joined {
            Ok(r) => r,
            Err(e) => Err(QueueError::Backend(format!("store task failed: {e}"))),
        }
    }
}

impl Inner {
    fn now(&self) -> i64 {
        (self.clock)()
    }

    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> R<T>) -> R<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> R<T>) -> R<T> {
        match &self.reader {
            Some(r) => f(&r.lock().unwrap_or_else(|p| p.into_inner())),
            None => f(&self.writer.lock().unwrap_or_else(|p| p.into_inner())),
        }
    }

    fn insert(tx: &rusqlite::Transaction<'_>, e: &NewEvent, now: i64) -> R<bool> {
        let n = tx.execute(
            "INSERT INTO events (source_chain, outcome_id, event_index, dest_chain, kind,
                                 block_height, nsn, payload, state, attempts, next_retry_at,
                                 source_time, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?10, ?9, ?9)
             ON CONFLICT (source_chain, outcome_id, event_index) DO NOTHING",
            params![
                e.key.source_chain,
                e.key.outcome_id.to_string(),
                e.key.event_index,
                e.dest_chain,
                e.kind,
                e.block_height as i64,
                e.nsn.map(|n| n as i64),
                e.payload.to_string(),
                now,
                e.source_time,
            ],
        )?;
        Ok(n == 1)
    }

    fn event(c: &Connection, id: i64) -> R<Option<StoredEvent>> {
        Ok(c.query_row(
            &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1"),
            [id],
            event_from_row,
        )
        .optional()?)
    }

    /// `Ok` when an operator's move of event `id` to `to` changed a row (`n`); else why not:
    /// [`QueueError::InvalidTransition`] from its state, or [`QueueError::NotFound`].
    fn moved_or_refused(c: &Connection, n: usize, id: i64, to: EventState) -> R<()> {
        if n > 0 {
            return Ok(());
        }
        let from = Inner::state_of(c, id)?;
        Err(E::Q(QueueError::InvalidTransition { id, from, to }))
    }

    fn state_of(c: &Connection, id: i64) -> R<EventState> {
        let s: Option<String> = c
            .query_row("SELECT state FROM events WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        Ok(s.ok_or(QueueError::NotFound(id))?
            .parse()
            .map_err(QueueError::Corrupt)?)
    }

    /// Apply `set_sql` (an `UPDATE ... SET` tail using `?1` = now and `?2..` = `extra`) to the
    /// event held under `claim`; [`QueueError::LeaseLost`] when it is not.
    fn with_claim(
        &self,
        claim: &ClaimToken,
        to: EventState,
        set_sql: &str,
        extra: &[&dyn rusqlite::ToSql],
    ) -> R<()> {
        self.write(|tx| {
            let now = self.now();
            let sql = format!(
                "UPDATE events SET state = '{}', updated_at = ?1{set_sql}
                 WHERE id = ?{a} AND state = 'delivering' AND lease_owner = ?{b} AND claim_seq = ?{c}",
                to.as_str(),
                a = extra.len() + 2,
                b = extra.len() + 3,
                c = extra.len() + 4,
            );
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&now];
            args.extend_from_slice(extra);
            args.push(&claim.id);
            args.push(&claim.owner);
            args.push(&claim.seq);
            if tx.execute(&sql, args.as_slice())? == 1 {
                return Ok(());
            }
            Self::state_of(tx, claim.id)?;
            Err(E::Q(QueueError::LeaseLost {
                id: claim.id,
                owner: claim.owner.clone(),
                seq: claim.seq,
            }))
        })
    }

    fn list(&self, f: &ListFilter) -> R<Vec<StoredEvent>> {
        self.read(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM events
                 WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR dest_chain = ?2)
                   AND id > ?3
                 ORDER BY id LIMIT ?4"
            ))?;
            let rows = st.query_map(
                params![
                    f.state.map(|s| s.as_str()),
                    f.dest_chain,
                    f.after_id.unwrap_or(0),
                    f.limit as i64
                ],
                event_from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}

fn set_cursor(tx: &rusqlite::Transaction<'_>, source_chain: &str, c: &Cursor, now: i64) -> R<()> {
    tx.execute(
        "INSERT INTO cursors (source_chain, height, block_hash, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (source_chain) DO UPDATE SET height = excluded.height,
            block_hash = excluded.block_hash, updated_at = excluded.updated_at",
        params![
            source_chain,
            c.height as i64,
            c.hash.map(|h| h.to_string()),
            now
        ],
    )?;
    Ok(())
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn cursor(&self, source_chain: &str) -> Result<Option<Cursor>> {
        let source = source_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                let row: Option<(i64, Option<String>)> = c
                    .query_row(
                        "SELECT height, block_hash FROM cursors WHERE source_chain = ?1",
                        [&source],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()?;
                Ok(match row {
                    None => None,
                    Some((h, hash)) => Some(Cursor {
                        height: h as u64,
                        hash: hash
                            .map(|s| {
                                s.parse()
                                    .map_err(|e| QueueError::Corrupt(format!("cursor hash: {e:?}")))
                            })
                            .transpose()?,
                    }),
                })
            })
        })
        .await
    }

    async fn record_indexed(
        &self,
        source_chain: &str,
        cursor: Cursor,
        events: &[NewEvent],
    ) -> Result<usize> {
        let (source, events) = (source_chain.to_string(), events.to_vec());
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let mut new = 0;
                for e in &events {
                    new += Inner::insert(tx, e, now)? as usize;
                }
                set_cursor(tx, &source, &cursor, now)?;
                Ok(new)
            })
        })
        .await
    }

    async fn insert_events(&self, events: &[NewEvent]) -> Result<usize> {
        let events = events.to_vec();
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let mut new = 0;
                for e in &events {
                    new += Inner::insert(tx, e, now)? as usize;
                }
                Ok(new)
            })
        })
        .await
    }

    async fn known_nsns(
        &self,
        source_chain: &str,
        dest_chain: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u64>> {
        let (s, d) = (source_chain.to_string(), dest_chain.to_string());
        self.run(move |i| {
            i.read(|c| {
                let mut st = c.prepare(
                    "SELECT DISTINCT nsn FROM events
                     WHERE source_chain = ?1 AND dest_chain = ?2 AND nsn >= ?3 AND nsn < ?4
                     ORDER BY nsn",
                )?;
                let rows = st.query_map(
                    params![
                        s,
                        d,
                        from.min(i64::MAX as u64) as i64,
                        to.min(i64::MAX as u64) as i64
                    ],
                    |r| r.get::<_, i64>(0),
                )?;
                Ok(rows
                    .map(|r| r.map(|n| n as u64))
                    .collect::<rusqlite::Result<_>>()?)
            })
        })
        .await
    }

    async fn delivered_in_range(
        &self,
        source_chain: &str,
        dest_chain: &str,
        from: u64,
        to: u64,
        settled_for: Duration,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let (s, d) = (source_chain.to_string(), dest_chain.to_string());
        self.run(move |i| {
            let before = i.now().saturating_sub(ms(settled_for));
            i.read(|c| {
                let mut st = c.prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE source_chain = ?1 AND dest_chain = ?2 AND nsn >= ?3 AND nsn < ?4
                       AND state = 'delivered' AND delivered_at <= ?5
                     ORDER BY nsn, id LIMIT ?6"
                ))?;
                let rows = st.query_map(
                    params![
                        s,
                        d,
                        from.min(i64::MAX as u64) as i64,
                        to.min(i64::MAX as u64) as i64,
                        before,
                        i64::try_from(limit).unwrap_or(i64::MAX)
                    ],
                    event_from_row,
                )?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
        })
        .await
    }

    async fn claim_due(
        &self,
        dest_chain: &str,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<StoredEvent>> {
        let (dest, owner) = (dest_chain.to_string(), owner.to_string());
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let ids: Vec<i64> = {
                    let mut st = tx.prepare(
                        "SELECT id FROM events
                         WHERE dest_chain = ?1 AND (
                            (state = 'pending' AND next_retry_at <= ?2)
                            OR (state = 'delivering' AND (lease_until IS NULL OR lease_until <= ?2)))
                         ORDER BY id LIMIT ?3",
                    )?;
                    let ids = st
                        .query_map(params![dest, now, limit as i64], |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    ids
                };
                let until = now.saturating_add(ms(lease));
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    tx.execute(
                        "UPDATE events SET state = 'delivering', lease_owner = ?1,
                            lease_until = ?2, claim_seq = claim_seq + 1, updated_at = ?3
                         WHERE id = ?4",
                        params![owner, until, now, id],
                    )?;
                    if let Some(e) = Inner::event(tx, id)? {
                        out.push(e);
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    async fn extend_leases(&self, owner: &str, ids: &[i64], lease: Duration) -> Result<usize> {
        let (owner, ids) = (owner.to_string(), ids.to_vec());
        self.run(move |i| {
            i.write(|tx| {
                let until = i.now().saturating_add(ms(lease));
                let mut st = tx.prepare(
                    "UPDATE events SET lease_until = ?1
                     WHERE id = ?2 AND lease_owner = ?3 AND state = 'delivering'",
                )?;
                let mut held = 0;
                for id in ids {
                    held += st.execute(params![until, id, owner])?;
                }
                Ok(held)
            })
        })
        .await
    }

    async fn release_claims_of(&self, owner: &str) -> Result<Vec<StoredEvent>> {
        let owner = owner.to_string();
        self.run(move |i| {
            i.write(|tx| {
                let held: Vec<StoredEvent> = {
                    let mut st = tx.prepare(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events
                         WHERE state = 'delivering' AND lease_owner = ?1 ORDER BY id"
                    ))?;
                    let rows = st
                        .query_map([&owner], event_from_row)?
                        .collect::<rusqlite::Result<_>>()?;
                    rows
                };
                let now = i.now();
                tx.execute(
                    "UPDATE events SET state = 'pending', next_retry_at = ?1, updated_at = ?1,
                        lease_owner = NULL, lease_until = NULL
                     WHERE state = 'delivering' AND lease_owner = ?2",
                    params![now, owner],
                )?;
                Ok(held)
            })
        })
        .await
    }

    async fn set_delivery_tx(&self, claim: &ClaimToken, tx_hash: &str) -> Result<()> {
        let (claim, tx_hash) = (claim.clone(), tx_hash.to_string());
        self.run(move |i| {
            i.with_claim(
                &claim,
                EventState::Delivering,
                ", delivery_tx = ?2",
                &[&tx_hash],
            )
        })
        .await
    }

    async fn mark_delivered(
        &self,
        id: i64,
        tx_hash: Option<&str>,
        delivery: Option<&Value>,
    ) -> Result<()> {
        let tx_hash = tx_hash.map(str::to_string);
        let delivery = delivery.map(Value::to_string);
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let n = tx.execute(
                    "UPDATE events SET state = 'delivered', updated_at = ?1, delivered_at = ?1,
                        delivery_tx = COALESCE(?2, delivery_tx), delivery = COALESCE(?3, delivery),
                        lease_owner = NULL, lease_until = NULL
                     WHERE id = ?4 AND state <> 'delivered'",
                    params![now, tx_hash, delivery, id],
                )?;
                if n == 0 {
                    // Already delivered (settled by another claim): nothing to do. Missing: error.
                    Inner::state_of(tx, id)?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn mark_retry(
        &self,
        claim: &ClaimToken,
        kind: RetryKind,
        error: &str,
        delay: Duration,
    ) -> Result<()> {
        let (claim, error) = (claim.clone(), error.to_string());
        self.run(move |i| {
            let at = i.now().saturating_add(ms(delay));
            let counter = match kind {
                RetryKind::Temporary => ", temp_failures = temp_failures + 1",
                RetryKind::Refused => ", attempts = attempts + 1",
            };
            i.with_claim(
                &claim,
                EventState::Pending,
                &format!(
                    ", last_error = ?2, next_retry_at = ?3, lease_owner = NULL, lease_until = NULL{counter}"
                ),
                &[&error, &at],
            )
        })
        .await
    }

    async fn mark_failed(&self, claim: &ClaimToken, error: &str) -> Result<()> {
        let (claim, error) = (claim.clone(), error.to_string());
        self.run(move |i| {
            i.with_claim(
                &claim,
                EventState::Failed,
                ", last_error = ?2, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL",
                &[&error],
            )
        })
        .await
    }

    async fn requeue(&self, id: i64) -> Result<()> {
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let n = tx.execute(
                    "UPDATE events SET state = 'pending', attempts = 0, next_retry_at = ?1,
                        updated_at = ?1
                     WHERE id = ?2 AND state = 'failed'",
                    params![now, id],
                )?;
                Inner::moved_or_refused(tx, n, id, EventState::Pending)
            })
        })
        .await
    }

    async fn reopen_delivered(&self, id: i64, reason: &str, reopens: u32) -> Result<()> {
        let reason = reason.to_string();
        let note = serde_json::json!({ "reopened": reopens }).to_string();
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let n = tx.execute(
                    "UPDATE events SET state = 'pending', attempts = 0, next_retry_at = ?1,
                        updated_at = ?1, delivered_at = NULL, delivery_tx = NULL, delivery = ?4,
                        last_error = ?2
                     WHERE id = ?3 AND state = 'delivered'",
                    params![now, reason, id, note],
                )?;
                Inner::moved_or_refused(tx, n, id, EventState::Pending)
            })
        })
        .await
    }

    async fn requeue_failed(&self, dest_chain: Option<&str>) -> Result<usize> {
        let dest = dest_chain.map(str::to_string);
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                Ok(tx.execute(
                    "UPDATE events SET state = 'pending', attempts = 0, next_retry_at = ?1,
                        updated_at = ?1
                     WHERE state = 'failed' AND (?2 IS NULL OR dest_chain = ?2)",
                    params![now, dest],
                )?)
            })
        })
        .await
    }

    async fn get(&self, id: i64) -> Result<Option<StoredEvent>> {
        self.run(move |i| i.read(|c| Inner::event(c, id))).await
    }

    async fn find(&self, key: &EventKey) -> Result<Option<StoredEvent>> {
        let key = key.clone();
        self.run(move |i| {
            i.read(|c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM events
                         WHERE source_chain = ?1 AND outcome_id = ?2 AND event_index = ?3"
                    ),
                    params![
                        key.source_chain,
                        key.outcome_id.to_string(),
                        key.event_index
                    ],
                    event_from_row,
                )
                .optional()?)
            })
        })
        .await
    }

    async fn find_by_outcomes(
        &self,
        source_chain: &str,
        outcome_ids: &[CryptoHash],
    ) -> Result<Vec<StoredEvent>> {
        let source = source_chain.to_string();
        let ids: Vec<String> = outcome_ids.iter().map(|h| h.to_string()).collect();
        self.run(move |i| {
            i.read(|c| {
                let mut st = c.prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events
                     WHERE source_chain = ?1 AND outcome_id = ?2 ORDER BY event_index"
                ))?;
                let mut out = Vec::new();
                for id in &ids {
                    for row in st.query_map(params![source, id], event_from_row)? {
                        out.push(row?);
                    }
                }
                Ok(out)
            })
        })
        .await
    }

    async fn counts(&self, dest_chain: Option<&str>) -> Result<StateCounts> {
        let dest = dest_chain.map(str::to_string);
        self.run(move |i| {
            i.read(|c| {
                let mut st = c.prepare(
                    "SELECT state, SUM(n) FROM event_counts
                     WHERE ?1 IS NULL OR dest_chain = ?1 GROUP BY state",
                )?;
                let mut counts = StateCounts::default();
                let rows = st.query_map([&dest], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?;
                for row in rows {
                    let (state, n) = row?;
                    let state: EventState = state.parse().map_err(QueueError::Corrupt)?;
                    *counts.get_mut(state) = n.max(0) as u64;
                }
                Ok(counts)
            })
        })
        .await
    }

    async fn oldest_open(&self, dest_chain: &str) -> Result<Option<i64>> {
        let dest = dest_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                let mut oldest: Option<i64> = None;
                for state in ["pending", "delivering"] {
                    let t: Option<i64> = c
                        .query_row(
                            "SELECT created_at FROM events WHERE dest_chain = ?1 AND state = ?2
                             ORDER BY id LIMIT 1",
                            params![dest, state],
                            |r| r.get(0),
                        )
                        .optional()?;
                    oldest = match (oldest, t) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                Ok(oldest)
            })
        })
        .await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<StoredEvent>> {
        let filter = filter.clone();
        self.run(move |i| i.list(&filter)).await
    }

    async fn prune(&self, older_than: Duration, limit: usize) -> Result<usize> {
        self.run(move |i| {
            i.write(|tx| {
                let before = i.now().saturating_sub(ms(older_than));
                let n = tx.execute(
                    "DELETE FROM events WHERE id IN (
                        SELECT id FROM events WHERE state = 'delivered' AND delivered_at < ?1
                        ORDER BY delivered_at LIMIT ?2)",
                    params![before, limit as i64],
                )?;
                // Relay records as old, except each destination's newest.
                tx.execute(
                    "DELETE FROM lc_relay WHERE rowid IN (
                        SELECT rowid FROM lc_relay AS r WHERE relayed_at < ?1
                          AND height < (SELECT MAX(height) FROM lc_relay WHERE dest_chain = r.dest_chain)
                        ORDER BY relayed_at LIMIT ?2)",
                    params![before, limit as i64],
                )?;
                // Settled light client transactions as old, except each destination's newest.
                tx.execute(
                    "DELETE FROM lc_submissions WHERE rowid IN (
                        SELECT rowid FROM lc_submissions AS s
                        WHERE status IN ('landed', 'failed') AND updated_at < ?1
                          AND height < (SELECT MAX(height) FROM lc_submissions
                                        WHERE dest_chain = s.dest_chain)
                        ORDER BY updated_at LIMIT ?2)",
                    params![before, limit as i64],
                )?;
                Ok(n)
            })
        })
        .await
    }

    async fn now_ms(&self) -> Result<i64> {
        Ok((self.inner.clock)())
    }

    async fn record_relayed_block(&self, b: &RelayedBlock) -> Result<()> {
        let b = b.clone();
        self.run(move |i| {
            i.write(|tx| {
                tx.execute(
                    "INSERT INTO lc_relay (dest_chain, height, hash, epoch_id, tx_hash, relayed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (dest_chain, height) DO UPDATE SET
                        hash = excluded.hash, epoch_id = excluded.epoch_id,
                        tx_hash = excluded.tx_hash, relayed_at = excluded.relayed_at",
                    params![
                        b.dest_chain,
                        b.height as i64,
                        b.hash.to_string(),
                        b.epoch_id.to_string(),
                        b.tx_hash,
                        b.relayed_at
                    ],
                )?;
                Ok(())
            })
        })
        .await
    }

    async fn last_relayed_block(&self, dest_chain: &str) -> Result<Option<RelayedBlock>> {
        let dest = dest_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                Ok(c.query_row(
                    "SELECT dest_chain, height, hash, epoch_id, tx_hash, relayed_at FROM lc_relay
                     WHERE dest_chain = ?1 ORDER BY height DESC LIMIT 1",
                    [&dest],
                    relayed_from_row,
                )
                .optional()?)
            })
        })
        .await
    }

    async fn relayed_blocks(
        &self,
        dest_chain: &str,
        min_height: u64,
        limit: usize,
    ) -> Result<Vec<RelayedBlock>> {
        let dest = dest_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                let mut st = c.prepare(
                    "SELECT dest_chain, height, hash, epoch_id, tx_hash, relayed_at FROM lc_relay
                     WHERE dest_chain = ?1 AND height >= ?2 ORDER BY height LIMIT ?3",
                )?;
                let rows = st.query_map(
                    params![dest, min_height as i64, limit as i64],
                    relayed_from_row,
                )?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
        })
        .await
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                let n = tx.execute(
                    "INSERT INTO leases (name, owner, until) VALUES (?1, ?2, ?3)
                     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                     WHERE leases.owner = excluded.owner OR leases.until <= ?4",
                    params![name, owner, now.saturating_add(ms(ttl)), now],
                )?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<bool> {
        let (name, owner) = (name.to_string(), owner.to_string());
        self.run(move |i| {
            i.write(|tx| {
                Ok(tx.execute(
                    "DELETE FROM leases WHERE name = ?1 AND owner = ?2",
                    params![name, owner],
                )? == 1)
            })
        })
        .await
    }

    async fn leases(&self, prefix: &str) -> Result<Vec<LeaseInfo>> {
        let prefix = prefix.to_string();
        self.run(move |i| {
            i.read(|c| {
                let mut st = c.prepare(
                    "SELECT name, owner, until FROM leases
                     WHERE substr(name, 1, length(?1)) = ?1 ORDER BY name",
                )?;
                let rows = st.query_map([&prefix], |r| {
                    Ok(LeaseInfo {
                        name: r.get(0)?,
                        owner: r.get(1)?,
                        until: r.get(2)?,
                    })
                })?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
        })
        .await
    }

    async fn record_indexed_fenced(
        &self,
        fence: &Fence,
        source_chain: &str,
        cursor: Cursor,
        events: &[NewEvent],
    ) -> Result<usize> {
        let (fence, source, events) = (fence.clone(), source_chain.to_string(), events.to_vec());
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                check_fence(tx, &fence, now)?;
                let mut new = 0;
                for e in &events {
                    new += Inner::insert(tx, e, now)? as usize;
                }
                set_cursor(tx, &source, &cursor, now)?;
                Ok(new)
            })
        })
        .await
    }

    async fn record_relay_submission(&self, fence: &Fence, sub: &RelaySubmission) -> Result<()> {
        let (fence, sub) = (fence.clone(), sub.clone());
        self.run(move |i| {
            i.write(|tx| {
                let now = i.now();
                check_fence(tx, &fence, now)?;
                let head = serde_json::to_string(&sub.head)
                    .map_err(|e| QueueError::Corrupt(e.to_string()))?;
                tx.execute(
                    "INSERT INTO lc_submissions (dest_chain, tx_hash, height, head, signer,
                        signed_tx, owner, status, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
                     ON CONFLICT (dest_chain, tx_hash) DO NOTHING",
                    params![
                        sub.dest_chain,
                        sub.tx_hash,
                        sub.height as i64,
                        head,
                        sub.signer,
                        sub.signed_tx,
                        sub.owner,
                        sub.status.as_str(),
                        now
                    ],
                )?;
                Ok(())
            })
        })
        .await
    }

    async fn set_submission_status(
        &self,
        dest_chain: &str,
        tx_hash: &str,
        status: SubmissionStatus,
    ) -> Result<()> {
        let (dest, hash) = (dest_chain.to_string(), tx_hash.to_string());
        self.run(move |i| {
            i.write(|tx| {
                let current: Option<String> = tx
                    .query_row(
                        "SELECT status FROM lc_submissions WHERE dest_chain = ?1 AND tx_hash = ?2",
                        params![dest, hash],
                        |r| r.get(0),
                    )
                    .optional()?;
                let current: SubmissionStatus = current
                    .ok_or(QueueError::NotFound(0))?
                    .parse()
                    .map_err(QueueError::Corrupt)?;
                if current.may_become(status) {
                    tx.execute(
                        "UPDATE lc_submissions SET status = ?1, updated_at = ?2
                         WHERE dest_chain = ?3 AND tx_hash = ?4",
                        params![status.as_str(), i.now(), dest, hash],
                    )?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn open_submissions(&self, dest_chain: &str) -> Result<Vec<RelaySubmission>> {
        let dest = dest_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                let mut st = c.prepare(&format!(
                    "SELECT {SUBMISSION_COLUMNS} FROM lc_submissions
                     WHERE dest_chain = ?1 AND status IN ('signed', 'included')
                     ORDER BY height, created_at"
                ))?;
                let rows = st.query_map([&dest], submission_from_row)?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
        })
        .await
    }

    async fn newest_included_submission(
        &self,
        dest_chain: &str,
    ) -> Result<Option<RelaySubmission>> {
        let dest = dest_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                Ok(c.query_row(
                    &format!(
                        "SELECT {SUBMISSION_COLUMNS} FROM lc_submissions
                         WHERE dest_chain = ?1 AND status IN ('included', 'landed')
                         ORDER BY height DESC LIMIT 1"
                    ),
                    [&dest],
                    submission_from_row,
                )
                .optional()?)
            })
        })
        .await
    }

    async fn open_max_block_height(&self, dest_chain: &str) -> Result<Option<u64>> {
        let dest = dest_chain.to_string();
        self.run(move |i| {
            i.read(|c| {
                let mut best: Option<i64> = None;
                for state in ["pending", "delivering"] {
                    let h: Option<i64> = c.query_row(
                        "SELECT MAX(block_height) FROM events WHERE dest_chain = ?1 AND state = ?2",
                        params![dest, state],
                        |r| r.get(0),
                    )?;
                    best = best.max(h);
                }
                Ok(best.map(|h| h as u64))
            })
        })
        .await
    }
}
