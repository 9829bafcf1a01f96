//! Versioned migrations of the SQLite queue (`PRAGMA user_version`), applied in order at open,
//! each in one exclusive transaction: an existing operator's database is brought up to date and
//! keeps every row.

use super::E;
use rusqlite::{params, Connection, TransactionBehavior};

/// The schema this build writes. Bump with a new entry in [`MIGRATIONS`].
pub const SCHEMA_VERSION: i64 = 3;

/// The first schema, exactly as version 1 of the service created it (kept verbatim: the
/// migration test builds a version-1 database with it).
pub(crate) const SCHEMA_V1: &str = r#"
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

/// Version 2: claims are leases (owner, deadline, fencing sequence), refusals and temporary
/// failures counted apart, the message's sequence number as a column (gap checks), what a
/// delivery produced, the indexer's last block hash (chained indexing), per-state counts kept by
/// triggers (gauges without scanning the table), named leases for single-writer roles.
const SCHEMA_V2: &str = r#"
ALTER TABLE events ADD COLUMN nsn INTEGER;
ALTER TABLE events ADD COLUMN temp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN lease_owner TEXT;
ALTER TABLE events ADD COLUMN lease_until INTEGER;
ALTER TABLE events ADD COLUMN claim_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN delivery TEXT;
ALTER TABLE events ADD COLUMN source_time INTEGER;
ALTER TABLE events ADD COLUMN delivered_at INTEGER;
ALTER TABLE cursors ADD COLUMN block_hash TEXT;
CREATE INDEX events_nsn ON events (source_chain, dest_chain, nsn);
CREATE INDEX events_open ON events (dest_chain, state, id);
CREATE INDEX events_settled ON events (state, delivered_at);
CREATE INDEX events_lease ON events (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX lc_relay_time ON lc_relay (relayed_at);

CREATE TABLE event_counts (
    dest_chain TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (dest_chain, state)
);
CREATE TRIGGER event_counts_insert AFTER INSERT ON events BEGIN
    INSERT OR IGNORE INTO event_counts (dest_chain, state, n) VALUES (NEW.dest_chain, NEW.state, 0);
    UPDATE event_counts SET n = n + 1 WHERE dest_chain = NEW.dest_chain AND state = NEW.state;
END;
CREATE TRIGGER event_counts_update AFTER UPDATE OF state ON events
WHEN OLD.state <> NEW.state BEGIN
    UPDATE event_counts SET n = n - 1 WHERE dest_chain = OLD.dest_chain AND state = OLD.state;
    INSERT OR IGNORE INTO event_counts (dest_chain, state, n) VALUES (NEW.dest_chain, NEW.state, 0);
    UPDATE event_counts SET n = n + 1 WHERE dest_chain = NEW.dest_chain AND state = NEW.state;
END;
CREATE TRIGGER event_counts_delete AFTER DELETE ON events BEGIN
    UPDATE event_counts SET n = n - 1 WHERE dest_chain = OLD.dest_chain AND state = OLD.state;
END;

CREATE TABLE leases (
    name  TEXT PRIMARY KEY,
    owner TEXT    NOT NULL,
    until INTEGER NOT NULL
);
"#;

/// Version 3: light client block transactions recorded before they are sent (several relayer
/// instances, or one restarted, learn what became of a block's transaction before submitting it
/// again), and an index for the highest proof block still open per destination.
const SCHEMA_V3: &str = r#"
CREATE TABLE lc_submissions (
    dest_chain TEXT    NOT NULL,
    tx_hash    TEXT    NOT NULL,
    height     INTEGER NOT NULL,
    head       TEXT    NOT NULL,
    signer     TEXT    NOT NULL,
    signed_tx  TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    status     TEXT    NOT NULL
               CHECK (status IN ('signed', 'included', 'landed', 'failed')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (dest_chain, tx_hash)
);
CREATE INDEX lc_submissions_status ON lc_submissions (dest_chain, status, height);
CREATE INDEX events_open_height ON events (dest_chain, state, block_height);
"#;

/// Data changes of version 2 that SQL alone cannot make.
fn migrate_v2_data(tx: &rusqlite::Transaction<'_>) -> Result<(), E> {
    // The sequence number, from the payload the indexer wrote (`"nsn": 7` or `"nsn": "7"`).
    let rows: Vec<(i64, String)> = {
        let mut st = tx.prepare("SELECT id, payload FROM events")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        rows
    };
    {
        let mut up = tx.prepare("UPDATE events SET nsn = ?1 WHERE id = ?2")?;
        for (id, payload) in rows {
            let nsn = serde_json::from_str::<serde_json::Value>(&payload)
                .ok()
                .and_then(|v| {
                    let n = v.get("nsn")?;
                    n.as_u64().or_else(|| n.as_str()?.parse().ok())
                });
            if let Some(n) = nsn {
                up.execute(params![n as i64, id])?;
            }
        }
    }
    // Version 1 counted every claim as an attempt; version 2 counts only refusals on chain.
    // Which of the old attempts were refusals is unknown: open events get a fresh budget
    // rather than being failed by attempts an outage burnt.
    tx.execute(
        "UPDATE events SET attempts = 0 WHERE state IN ('pending', 'delivering')",
        [],
    )?;
    // Settled rows get a settlement time (retention counts from it).
    tx.execute(
        "UPDATE events SET delivered_at = updated_at WHERE state = 'delivered'",
        [],
    )?;
    // Rows a crash of version 1 left `delivering` have no lease: NULL counts as expired, so
    // they are claimable at once.
    tx.execute(
        "INSERT INTO event_counts (dest_chain, state, n)
         SELECT dest_chain, state, COUNT(*) FROM events GROUP BY dest_chain, state",
        [],
    )?;
    Ok(())
}

type Migration = (
    i64,
    &'static str,
    Option<fn(&rusqlite::Transaction<'_>) -> Result<(), E>>,
);

const MIGRATIONS: &[Migration] = &[
    (1, SCHEMA_V1, None),
    (2, SCHEMA_V2, Some(migrate_v2_data)),
    (3, SCHEMA_V3, None),
];

/// Bring the database to [`SCHEMA_VERSION`]; refuse one written by a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), E> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(E::Q(super::QueueError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    for (version, sql, data) in MIGRATIONS {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Exclusive)?;
        // Read again inside the lock: another process may have migrated meanwhile.
        let current: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if current >= *version {
            continue;
        }
        tx.execute_batch(sql)?;
        if let Some(f) = data {
            f(&tx)?;
        }
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, "queue database migrated");
    }
    Ok(())
}
