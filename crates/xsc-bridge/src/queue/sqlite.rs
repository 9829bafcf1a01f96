//! [`MessageStore`] on an embedded SQLite database (WAL, `synchronous=FULL`).

use super::*;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::Path;
use std::sync::Mutex;

/// Bump with a migration in `migrate` when the schema changes.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA_V1: &str = r#"
CREATE TABLE cursors (
    source_chain TEXT PRIMARY KEY,
    height       INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE TABLE events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source_chain  TEXT    NOT NULL,
    outcome_id    TEXT    NOT NULL,
    event_index   INTEGER NOT NULL,
    dest_chain    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    block_height  INTEGER NOT NULL,
    payload       TEXT    NOT NULL,
    state         TEXT    NOT NULL
                  CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    next_retry_at INTEGER NOT NULL,
    delivery_tx   TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (source_chain, outcome_id, event_index)
);
CREATE INDEX events_due ON events (dest_chain, state, next_retry_at);
CREATE INDEX events_state ON events (state);
CREATE TABLE lc_relay (
    dest_chain TEXT    NOT NULL,
    height     INTEGER NOT NULL,
    hash       TEXT    NOT NULL,
    epoch_id   TEXT    NOT NULL,
    tx_hash    TEXT,
    relayed_at INTEGER NOT NULL,
    PRIMARY KEY (dest_chain, height)
);
"#;

const EVENT_COLUMNS: &str =
    "id, source_chain, outcome_id, event_index, dest_chain, kind, block_height, \
     payload, state, attempts, last_error, next_retry_at, delivery_tx, created_at, updated_at";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

fn corrupt(e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(e.to_string().into())
}

fn event_from_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let outcome_id: String = r.get(2)?;
    let payload: String = r.get(7)?;
    let state: String = r.get(8)?;
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
        payload: serde_json::from_str(&payload).map_err(corrupt)?,
        state: state.parse().map_err(corrupt)?,
        attempts: r.get(9)?,
        last_error: r.get(10)?,
        next_retry_at: r.get(11)?,
        delivery_tx: r.get(12)?,
        created_at: r.get(13)?,
        updated_at: r.get(14)?,
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

fn map_corrupt(e: rusqlite::Error) -> QueueError {
    match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => QueueError::Corrupt(inner.to_string()),
        e => QueueError::Db(e),
    }
}

fn insert(tx: &rusqlite::Transaction<'_>, e: &NewEvent, now: i64) -> Result<bool> {
    let n = tx.execute(
        "INSERT INTO events (source_chain, outcome_id, event_index, dest_chain, kind, block_height,
                             payload, state, attempts, next_retry_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', 0, ?8, ?8, ?8)
         ON CONFLICT (source_chain, outcome_id, event_index) DO NOTHING",
        params![
            e.key.source_chain,
            e.key.outcome_id.to_string(),
            e.key.event_index,
            e.dest_chain,
            e.kind,
            e.block_height as i64,
            e.payload.to_string(),
            now,
        ],
    )?;
    Ok(n == 1)
}

impl SqliteStore {
    /// Open (or create) the database at `path` and bring its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        Self::init(Connection::open(path)?)
    }

    /// An in-memory database (tests; not durable).
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL: readers don't block the writer; FULL: a commit is on disk before it returns.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with_tx<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    /// `journal_mode` and `synchronous` as the connection reports them (for checks and logs).
    pub fn durability(&self) -> Result<(String, i64)> {
        self.with_conn(|c| {
            let mode: String = c.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
            let sync: i64 = c.pragma_query_value(None, "synchronous", |r| r.get(0))?;
            Ok((mode, sync))
        })
    }

    /// Move event `id` from one of `from` to `to`, setting extra columns; one transaction.
    fn transition(
        &self,
        id: i64,
        from: &[EventState],
        to: EventState,
        set_sql: &str,
        extra: &[&dyn rusqlite::ToSql],
    ) -> Result<()> {
        self.with_tx(|tx| {
            let state: Option<String> = tx
                .query_row("SELECT state FROM events WHERE id = ?1", [id], |r| r.get(0))
                .optional()?;
            let state: EventState = state
                .ok_or(QueueError::NotFound(id))?
                .parse()
                .map_err(QueueError::Corrupt)?;
            if !from.contains(&state) {
                return Err(QueueError::InvalidTransition {
                    id,
                    from: state,
                    to,
                });
            }
            let sql = format!(
                "UPDATE events SET state = '{}', updated_at = ?1{set_sql} WHERE id = ?2",
                to.as_str()
            );
            let now = now_ms();
            let mut args: Vec<&dyn rusqlite::ToSql> = vec![&now, &id];
            args.extend_from_slice(extra);
            tx.execute(&sql, args.as_slice())?;
            Ok(())
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(QueueError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version < 1 {
        tx.execute_batch(SCHEMA_V1)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

impl MessageStore for SqliteStore {
    fn cursor(&self, source_chain: &str) -> Result<Option<u64>> {
        self.with_conn(|c| {
            Ok(c.query_row(
                "SELECT height FROM cursors WHERE source_chain = ?1",
                [source_chain],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .map(|h| h as u64))
        })
    }

    fn set_cursor(&self, source_chain: &str, height: u64) -> Result<()> {
        self.with_tx(|tx| set_cursor(tx, source_chain, height))
    }

    fn record_indexed(
        &self,
        source_chain: &str,
        height: u64,
        events: &[NewEvent],
    ) -> Result<usize> {
        self.with_tx(|tx| {
            let now = now_ms();
            let mut new = 0;
            for e in events {
                new += insert(tx, e, now)? as usize;
            }
            set_cursor(tx, source_chain, height)?;
            Ok(new)
        })
    }

    fn insert_event(&self, event: &NewEvent) -> Result<bool> {
        self.with_tx(|tx| insert(tx, event, now_ms()))
    }

    fn get(&self, id: i64) -> Result<Option<StoredEvent>> {
        self.with_conn(|c| {
            c.query_row(
                &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1"),
                [id],
                event_from_row,
            )
            .optional()
            .map_err(map_corrupt)
        })
    }

    fn find(&self, key: &EventKey) -> Result<Option<StoredEvent>> {
        self.with_conn(|c| {
            c.query_row(
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
            .optional()
            .map_err(map_corrupt)
        })
    }

    fn claim_due(&self, dest_chain: &str, now_ms: i64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.with_tx(|tx| {
            let ids: Vec<i64> = {
                let mut st = tx.prepare(
                    "SELECT id FROM events
                     WHERE dest_chain = ?1 AND state = 'pending' AND next_retry_at <= ?2
                     ORDER BY id LIMIT ?3",
                )?;
                let ids = st
                    .query_map(params![dest_chain, now_ms, limit as i64], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                ids
            };
            let now = super::now_ms();
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                tx.execute(
                    "UPDATE events SET state = 'delivering', attempts = attempts + 1, updated_at = ?1
                     WHERE id = ?2",
                    params![now, id],
                )?;
                out.push(
                    tx.query_row(
                        &format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?1"),
                        [id],
                        event_from_row,
                    )
                    .map_err(map_corrupt)?,
                );
            }
            Ok(out)
        })
    }

    fn set_delivery_tx(&self, id: i64, tx_hash: &str) -> Result<()> {
        self.transition(
            id,
            &[EventState::Delivering],
            EventState::Delivering,
            ", delivery_tx = ?3",
            &[&tx_hash],
        )
    }

    fn mark_delivered(&self, id: i64, tx_hash: Option<&str>) -> Result<()> {
        self.transition(
            id,
            &[EventState::Delivering],
            EventState::Delivered,
            ", delivery_tx = COALESCE(?3, delivery_tx)",
            &[&tx_hash],
        )
    }

    fn mark_retry(&self, id: i64, error: &str, next_retry_at_ms: i64) -> Result<()> {
        self.transition(
            id,
            &[EventState::Delivering],
            EventState::Pending,
            ", last_error = ?3, next_retry_at = ?4",
            &[&error, &next_retry_at_ms],
        )
    }

    fn mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.transition(
            id,
            &[EventState::Pending, EventState::Delivering],
            EventState::Failed,
            ", last_error = ?3",
            &[&error],
        )
    }

    fn requeue(&self, id: i64) -> Result<()> {
        self.transition(
            id,
            &[EventState::Failed],
            EventState::Pending,
            ", next_retry_at = ?1",
            &[],
        )
    }

    fn recover_in_flight(&self) -> Result<Vec<StoredEvent>> {
        self.with_tx(|tx| {
            let stuck: Vec<StoredEvent> = {
                let mut st = tx.prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE state = 'delivering' ORDER BY id"
                ))?;
                let rows = st
                    .query_map([], event_from_row)?
                    .collect::<rusqlite::Result<_>>()
                    .map_err(map_corrupt)?;
                rows
            };
            let now = now_ms();
            tx.execute(
                "UPDATE events SET state = 'pending', next_retry_at = ?1, updated_at = ?1
                 WHERE state = 'delivering'",
                [now],
            )?;
            Ok(stuck)
        })
    }

    fn counts(&self, dest_chain: Option<&str>) -> Result<StateCounts> {
        self.with_conn(|c| {
            let mut st = c.prepare(
                "SELECT state, COUNT(*) FROM events WHERE ?1 IS NULL OR dest_chain = ?1 GROUP BY state",
            )?;
            let mut counts = StateCounts::default();
            let rows = st.query_map([dest_chain], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (state, n) = row?;
                let n = n as u64;
                match state.parse().map_err(QueueError::Corrupt)? {
                    EventState::Pending => counts.pending = n,
                    EventState::Delivering => counts.delivering = n,
                    EventState::Delivered => counts.delivered = n,
                    EventState::Failed => counts.failed = n,
                }
            }
            Ok(counts)
        })
    }

    fn list(&self, state: Option<EventState>, limit: usize) -> Result<Vec<StoredEvent>> {
        self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE ?1 IS NULL OR state = ?1 ORDER BY id LIMIT ?2"
            ))?;
            let rows = st.query_map(params![state.map(|s| s.as_str()), limit as i64], event_from_row)?;
            rows.collect::<rusqlite::Result<_>>().map_err(map_corrupt)
        })
    }

    fn record_relayed_block(&self, b: &RelayedBlock) -> Result<()> {
        self.with_tx(|tx| {
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
    }

    fn last_relayed_block(&self, dest_chain: &str) -> Result<Option<RelayedBlock>> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT dest_chain, height, hash, epoch_id, tx_hash, relayed_at FROM lc_relay
                 WHERE dest_chain = ?1 ORDER BY height DESC LIMIT 1",
                [dest_chain],
                relayed_from_row,
            )
            .optional()
            .map_err(map_corrupt)
        })
    }

    fn relayed_blocks(
        &self,
        dest_chain: &str,
        min_height: u64,
        limit: usize,
    ) -> Result<Vec<RelayedBlock>> {
        self.with_conn(|c| {
            let mut st = c.prepare(
                "SELECT dest_chain, height, hash, epoch_id, tx_hash, relayed_at FROM lc_relay
                 WHERE dest_chain = ?1 AND height >= ?2 ORDER BY height LIMIT ?3",
            )?;
            let rows = st.query_map(
                params![dest_chain, min_height as i64, limit as i64],
                relayed_from_row,
            )?;
            rows.collect::<rusqlite::Result<_>>().map_err(map_corrupt)
        })
    }
}

fn set_cursor(tx: &rusqlite::Transaction<'_>, source_chain: &str, height: u64) -> Result<()> {
    tx.execute(
        "INSERT INTO cursors (source_chain, height, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (source_chain) DO UPDATE SET height = excluded.height, updated_at = excluded.updated_at",
        params![source_chain, height as i64, now_ms()],
    )?;
    Ok(())
}
