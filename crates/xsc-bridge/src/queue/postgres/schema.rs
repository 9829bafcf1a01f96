//! Versioned migrations of the PostgreSQL queue, applied at connect in one transaction under a
//! transaction-scoped advisory lock (several instances starting together migrate once; PostgreSQL
//! DDL is transactional, so a migration is applied whole or not at all). The version is kept in
//! `xsc_schema`; a database migrated by a newer build is refused
//! ([`super::QueueError::SchemaTooNew`]). The same scheme as the SQLite queue's (a list of
//! versioned SQL scripts), so both evolve alike.
//!
//! Timestamps are Unix milliseconds (`BIGINT`), the trait's unit, taken from the server's clock
//! by `xsc_now_ms()` (the transaction's `now()`): every instance sees one clock. Payloads are
//! JSON text, not `jsonb`: `jsonb` refuses the escaped NUL character that a message from the
//! chain may carry, and a refused insert would stall indexing.

use super::{backend, QueueError, Result};

/// The schema this build writes. Bump with a new entry in [`MIGRATIONS`].
pub const POSTGRES_SCHEMA_VERSION: i64 = 1;

const V1: &str = r#"
CREATE FUNCTION xsc_now_ms() RETURNS BIGINT LANGUAGE sql STABLE
    AS $$ SELECT (extract(epoch FROM now()) * 1000)::bigint $$;

CREATE TABLE cursors (
    source_chain TEXT   PRIMARY KEY,
    height       BIGINT NOT NULL,
    block_hash   TEXT,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source_chain  TEXT    NOT NULL,
    outcome_id    TEXT    NOT NULL,
    event_index   BIGINT  NOT NULL,
    dest_chain    TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    block_height  BIGINT  NOT NULL,
    nsn           BIGINT,
    payload       TEXT    NOT NULL,
    state         TEXT    NOT NULL
                  CHECK (state IN ('pending', 'delivering', 'delivered', 'failed')),
    attempts      BIGINT  NOT NULL DEFAULT 0,
    temp_failures BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT,
    next_retry_at BIGINT  NOT NULL,
    delivery_tx   TEXT,
    delivery      TEXT,
    lease_owner   TEXT,
    lease_until   BIGINT,
    claim_seq     BIGINT  NOT NULL DEFAULT 0,
    source_time   BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    delivered_at  BIGINT,
    UNIQUE (source_chain, outcome_id, event_index)
);
-- Claims: the open events of a destination in id order.
CREATE INDEX events_open ON events (dest_chain, state, id)
    WHERE state IN ('pending', 'delivering');
-- The highest proof block still open (what the light client must pass).
CREATE INDEX events_open_height ON events (dest_chain, block_height)
    WHERE state IN ('pending', 'delivering');
CREATE INDEX events_nsn ON events (source_chain, dest_chain, nsn);
CREATE INDEX events_settled ON events (delivered_at) WHERE state = 'delivered';
CREATE INDEX events_lease ON events (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX events_state ON events (state, dest_chain) WHERE state <> 'delivered';

-- Counts per state without scanning the table and without a hot row: every change of state
-- appends deltas (inserts never wait for each other); `counts` folds them into event_counts.
CREATE TABLE event_counts (
    dest_chain TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    n          BIGINT NOT NULL,
    PRIMARY KEY (dest_chain, state)
);
CREATE TABLE event_count_deltas (
    dest_chain TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    delta      BIGINT NOT NULL
);
CREATE FUNCTION xsc_count_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO event_count_deltas (dest_chain, state, delta)
            VALUES (OLD.dest_chain, OLD.state, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO event_count_deltas (dest_chain, state, delta)
            VALUES (NEW.dest_chain, NEW.state, 1);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER events_count_insert_delete AFTER INSERT OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION xsc_count_events();
CREATE TRIGGER events_count_update AFTER UPDATE OF state, dest_chain ON events
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
                       OR OLD.dest_chain IS DISTINCT FROM NEW.dest_chain)
    EXECUTE FUNCTION xsc_count_events();

CREATE TABLE lc_relay (
    dest_chain TEXT   NOT NULL,
    height     BIGINT NOT NULL,
    hash       TEXT   NOT NULL,
    epoch_id   TEXT   NOT NULL,
    tx_hash    TEXT,
    relayed_at BIGINT NOT NULL,
    PRIMARY KEY (dest_chain, height)
);
CREATE INDEX lc_relay_time ON lc_relay (relayed_at);

CREATE TABLE lc_submissions (
    dest_chain TEXT   NOT NULL,
    tx_hash    TEXT   NOT NULL,
    height     BIGINT NOT NULL,
    head       TEXT   NOT NULL,
    signer     TEXT   NOT NULL,
    signed_tx  TEXT   NOT NULL,
    owner      TEXT   NOT NULL,
    status     TEXT   NOT NULL
               CHECK (status IN ('signed', 'included', 'landed', 'failed')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (dest_chain, tx_hash)
);
CREATE INDEX lc_submissions_status ON lc_submissions (dest_chain, status, height);

CREATE TABLE leases (
    name  TEXT   PRIMARY KEY,
    owner TEXT   NOT NULL,
    until BIGINT NOT NULL
);
"#;

/// `(version, description, sql)`, in order. Never edit one that shipped: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "queue, leases, light client submissions", V1)];

/// Key of the advisory lock that serialises migrations (`xsc_migr` in ASCII).
const MIGRATION_LOCK: i64 = 0x7873_635f_6d69_6772;

/// Bring the database to [`POSTGRES_SCHEMA_VERSION`]; refuse one written by a newer build.
pub(super) async fn migrate(client: &mut tokio_postgres::Client) -> Result<()> {
    let tx = client.transaction().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(backend)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS xsc_schema (
            version     BIGINT      PRIMARY KEY,
            description TEXT        NOT NULL,
            applied_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        )",
    )
    .await
    .map_err(backend)?;
    let found: Option<i64> = tx
        .query_one("SELECT max(version) FROM xsc_schema", &[])
        .await
        .map_err(backend)?
        .get(0);
    let found = found.unwrap_or(0);
    if found > POSTGRES_SCHEMA_VERSION {
        return Err(QueueError::SchemaTooNew {
            found,
            supported: POSTGRES_SCHEMA_VERSION,
        });
    }
    for (version, description, sql) in MIGRATIONS {
        if *version <= found {
            continue;
        }
        tx.batch_execute(sql).await.map_err(backend)?;
        tx.execute(
            "INSERT INTO xsc_schema (version, description) VALUES ($1, $2)",
            &[version, description],
        )
        .await
        .map_err(backend)?;
        tracing::info!(version, "queue database (PostgreSQL) migrated");
    }
    tx.commit().await.map_err(backend)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_migration_is_the_schema_version() {
        assert_eq!(
            MIGRATIONS.last().map(|m| m.0),
            Some(POSTGRES_SCHEMA_VERSION)
        );
        for (i, (v, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1, "versions are consecutive from 1");
        }
    }
}
