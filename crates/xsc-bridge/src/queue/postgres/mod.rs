//! [`MessageStore`] on a PostgreSQL server: the queue of several relayer instances.
//!
//! - **Claims** take due rows with `FOR UPDATE SKIP LOCKED` in one statement that also writes
//!   the claim (owner, lease deadline from the server's clock, fencing sequence): two instances
//!   claiming at once never get the same event and never wait for each other. An expired lease
//!   makes its event claimable again; nothing resets other owners' rows.
//! - **Every timestamp** (lease deadlines, retry times, settlement, named leases) is the
//!   server's `now()` (`xsc_now_ms()`), never a host's clock.
//! - **Fenced writes** of single-writer roles lock the lease row (`FOR SHARE`) in the same
//!   transaction: a takeover of the lease (an `UPDATE` of that row) is ordered after the write.
//! - A connection pool of the relayer's own (tokio-postgres with deadpool; async: no blocking
//!   thread needed), statements prepared once per connection; every statement has a
//!   server-side timeout, so a stuck connection surfaces as an error. TLS (rustls) is used when
//!   the server offers it (`sslmode=prefer`, the default) or required (`sslmode=require`);
//!   certificates are checked against the webpki roots.
//!
//! Versioned migrations ([`schema`]) run at connect.

mod schema;

pub use schema::POSTGRES_SCHEMA_VERSION;

use super::*;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::str::FromStr;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row as PgRow;

/// Connections per instance: enough for the deliveries in flight of both directions, the
/// indexers and the watcher without queueing behind each other.
const POOL_SIZE: u32 = 12;
/// Server-side bound of one statement.
const STATEMENT_TIMEOUT: &str = "-c statement_timeout=30s";

const EVENT_COLUMNS: &str = "id, source_chain, outcome_id, event_index, dest_chain, kind, \
     block_height, nsn, payload, state, attempts, temp_failures, last_error, next_retry_at, \
     delivery_tx, delivery, lease_owner, lease_until, claim_seq, source_time, created_at, \
     updated_at, delivered_at";

const SUBMISSION_COLUMNS: &str =
    "dest_chain, height, head, tx_hash, signer, signed_tx, owner, status, created_at, updated_at";

/// The driver's error as ours: its text (the server's message and detail when it has one),
/// without its type, and never the connection URL.
fn backend(e: tokio_postgres::Error) -> QueueError {
    if let Some(db) = e.as_db_error() {
        let mut s = format!("{}: {}", db.code().code(), db.message());
        if let Some(d) = db.detail() {
            s += &format!(" ({d})");
        }
        return QueueError::Backend(s);
    }
    let mut s = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(x) = src {
        s += &format!(": {x}");
        src = x.source();
    }
    QueueError::Backend(s)
}

fn pool_error(e: deadpool_postgres::PoolError) -> QueueError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => backend(e),
        e => QueueError::Backend(format!("connection pool: {e}")),
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> QueueError {
    QueueError::Corrupt(format!("{what}: {e}"))
}

/// PostgreSQL text cannot hold NUL; text that came from outside (an error message from the
/// chain) gets U+FFFD in its place instead of failing the write.
fn text(s: &str) -> String {
    if s.contains('\0') {
        s.replace('\0', "\u{FFFD}")
    } else {
        s.to_string()
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn u32_col(r: &PgRow, col: &str) -> Result<u32> {
    let v: i64 = r.try_get(col).map_err(backend)?;
    u32::try_from(v).map_err(|_| corrupt(col, format!("{v} out of range")))
}

fn event_from_row(r: &PgRow) -> Result<StoredEvent> {
    let g = backend;
    let outcome_id: String = r.try_get("outcome_id").map_err(g)?;
    let payload: String = r.try_get("payload").map_err(g)?;
    let state: String = r.try_get("state").map_err(g)?;
    let delivery: Option<String> = r.try_get("delivery").map_err(g)?;
    Ok(StoredEvent {
        id: r.try_get("id").map_err(g)?,
        key: EventKey {
            source_chain: r.try_get("source_chain").map_err(g)?,
            outcome_id: outcome_id
                .parse()
                .map_err(|e| corrupt("outcome_id", format!("{e:?}")))?,
            event_index: u32_col(r, "event_index")?,
        },
        dest_chain: r.try_get("dest_chain").map_err(g)?,
        kind: r.try_get("kind").map_err(g)?,
        block_height: r.try_get::<_, i64>("block_height").map_err(g)? as u64,
        nsn: r
            .try_get::<_, Option<i64>>("nsn")
            .map_err(g)?
            .map(|n| n as u64),
        payload: serde_json::from_str(&payload).map_err(|e| corrupt("payload", e))?,
        state: state.parse().map_err(QueueError::Corrupt)?,
        attempts: u32_col(r, "attempts")?,
        temp_failures: u32_col(r, "temp_failures")?,
        last_error: r.try_get("last_error").map_err(g)?,
        next_retry_at: r.try_get("next_retry_at").map_err(g)?,
        delivery_tx: r.try_get("delivery_tx").map_err(g)?,
        delivery: delivery
            .map(|d| serde_json::from_str(&d))
            .transpose()
            .map_err(|e| corrupt("delivery", e))?,
        lease_owner: r.try_get("lease_owner").map_err(g)?,
        lease_until: r.try_get("lease_until").map_err(g)?,
        claim_seq: r.try_get("claim_seq").map_err(g)?,
        source_time: r.try_get("source_time").map_err(g)?,
        created_at: r.try_get("created_at").map_err(g)?,
        updated_at: r.try_get("updated_at").map_err(g)?,
        delivered_at: r.try_get("delivered_at").map_err(g)?,
    })
}

fn events_from_rows(rows: &[PgRow]) -> Result<Vec<StoredEvent>> {
    rows.iter().map(event_from_row).collect()
}

fn relayed_from_row(r: &PgRow) -> Result<RelayedBlock> {
    let g = backend;
    let hash: String = r.try_get("hash").map_err(g)?;
    let epoch: String = r.try_get("epoch_id").map_err(g)?;
    Ok(RelayedBlock {
        dest_chain: r.try_get("dest_chain").map_err(g)?,
        height: r.try_get::<_, i64>("height").map_err(g)? as u64,
        hash: hash
            .parse()
            .map_err(|e| corrupt("hash", format!("{e:?}")))?,
        epoch_id: epoch
            .parse()
            .map_err(|e| corrupt("epoch_id", format!("{e:?}")))?,
        tx_hash: r.try_get("tx_hash").map_err(g)?,
        relayed_at: r.try_get("relayed_at").map_err(g)?,
    })
}

fn submission_from_row(r: &PgRow) -> Result<RelaySubmission> {
    let g = backend;
    let head: String = r.try_get("head").map_err(g)?;
    let status: String = r.try_get("status").map_err(g)?;
    Ok(RelaySubmission {
        dest_chain: r.try_get("dest_chain").map_err(g)?,
        height: r.try_get::<_, i64>("height").map_err(g)? as u64,
        head: serde_json::from_str(&head).map_err(|e| corrupt("head", e))?,
        tx_hash: r.try_get("tx_hash").map_err(g)?,
        signer: r.try_get("signer").map_err(g)?,
        signed_tx: r.try_get("signed_tx").map_err(g)?,
        owner: r.try_get("owner").map_err(g)?,
        status: status.parse().map_err(QueueError::Corrupt)?,
        created_at: r.try_get("created_at").map_err(g)?,
        updated_at: r.try_get("updated_at").map_err(g)?,
    })
}

pub struct PostgresStore {
    pool: Pool,
    /// Where it is, for logs (no password).
    shown: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresStore({})", self.shown)
    }
}

/// Statement parameters.
type P<'a> = &'a [&'a (dyn ToSql + Sync)];

/// rustls with the webpki roots (ring provider): the TLS stack the RPC client uses too.
fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| QueueError::Backend(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `"e.id, e.source_chain, ..."`: the event columns of a table alias.
fn columns_of(alias: &str) -> String {
    EVENT_COLUMNS
        .split(", ")
        .map(|c| format!("{alias}.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

use std::sync::Arc;

impl PostgresStore {
    /// Connect to `url` and apply the migrations this build has and the database lacks. A
    /// password missing from the URL is taken from `PGPASSWORD` when set.
    pub async fn connect(url: &DatabaseUrl) -> Result<Self> {
        let mut cfg = tokio_postgres::Config::from_str(url.expose())
            .map_err(|e| QueueError::Backend(format!("{url}: {e}")))?;
        if cfg.get_password().is_none() {
            if let Ok(pw) = std::env::var("PGPASSWORD") {
                cfg.password(pw);
            }
        }
        cfg.application_name("xsc-relayer");
        cfg.options(STATEMENT_TIMEOUT);
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(10));
        }
        let mgr = Manager::from_config(
            cfg,
            tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(POOL_SIZE as usize)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(30)))
            .create_timeout(Some(Duration::from_secs(15)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| QueueError::Backend(format!("{url}: connection pool: {e}")))?;
        let store = PostgresStore {
            pool,
            shown: url.to_string(),
        };
        let mut c = store.client().await.map_err(|e| match e {
            QueueError::Backend(m) => QueueError::Backend(format!("{url}: {m}")),
            e => e,
        })?;
        schema::migrate(&mut c).await?;
        Ok(store)
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        let c = self.client().await?;
        let v: Option<i64> = c
            .query_one("SELECT max(version) FROM xsc_schema", &[])
            .await
            .map_err(backend)?
            .get(0);
        Ok(v.unwrap_or(0))
    }

    async fn client(&self) -> Result<Object> {
        self.pool.get().await.map_err(pool_error)
    }

    async fn query(&self, sql: &str, params: P<'_>) -> Result<Vec<PgRow>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(backend)?;
        c.query(&st, params).await.map_err(backend)
    }

    async fn query_opt(&self, sql: &str, params: P<'_>) -> Result<Option<PgRow>> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(backend)?;
        c.query_opt(&st, params).await.map_err(backend)
    }

    async fn execute(&self, sql: &str, params: P<'_>) -> Result<u64> {
        let c = self.client().await?;
        let st = c.prepare_cached(sql).await.map_err(backend)?;
        c.execute(&st, params).await.map_err(backend)
    }

    /// Inside a transaction: refuse unless `fence` is held, unexpired; lock the lease row until
    /// commit so that a takeover waits for this write.
    async fn check_fence(tx: &deadpool_postgres::Transaction<'_>, fence: &Fence) -> Result<()> {
        let st = tx
            .prepare_cached(
                "SELECT 1 FROM leases WHERE name = $1 AND owner = $2 AND until > xsc_now_ms()
                 FOR SHARE",
            )
            .await
            .map_err(backend)?;
        match tx
            .query_opt(&st, &[&fence.name, &fence.owner])
            .await
            .map_err(backend)?
        {
            Some(_) => Ok(()),
            None => Err(QueueError::LeaseNotHeld {
                name: fence.name.clone(),
                owner: fence.owner.clone(),
            }),
        }
    }

    async fn insert(tx: &deadpool_postgres::Transaction<'_>, events: &[NewEvent]) -> Result<usize> {
        let st = tx
            .prepare_cached(
                "INSERT INTO events (source_chain, outcome_id, event_index, dest_chain, kind,
                    block_height, nsn, payload, state, attempts, next_retry_at, source_time,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, xsc_now_ms(), $9,
                    xsc_now_ms(), xsc_now_ms())
                 ON CONFLICT (source_chain, outcome_id, event_index) DO NOTHING",
            )
            .await
            .map_err(backend)?;
        let mut new = 0;
        for e in events {
            let n = tx
                .execute(
                    &st,
                    &[
                        &e.key.source_chain,
                        &e.key.outcome_id.to_string(),
                        &i64::from(e.key.event_index),
                        &e.dest_chain,
                        &text(&e.kind),
                        &(e.block_height as i64),
                        &e.nsn.map(|n| n as i64),
                        &text(&e.payload.to_string()),
                        &e.source_time,
                    ],
                )
                .await
                .map_err(backend)?;
            new += n as usize;
        }
        Ok(new)
    }

    async fn set_cursor(
        tx: &deadpool_postgres::Transaction<'_>,
        source_chain: &str,
        c: &Cursor,
    ) -> Result<()> {
        let st = tx
            .prepare_cached(
                "INSERT INTO cursors (source_chain, height, block_hash, updated_at)
                 VALUES ($1, $2, $3, xsc_now_ms())
                 ON CONFLICT (source_chain) DO UPDATE SET height = excluded.height,
                    block_hash = excluded.block_hash, updated_at = excluded.updated_at",
            )
            .await
            .map_err(backend)?;
        tx.execute(
            &st,
            &[
                &source_chain,
                &(c.height as i64),
                &c.hash.map(|h| h.to_string()),
            ],
        )
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// `record_indexed`, fenced or not, in one transaction.
    async fn record(
        &self,
        fence: Option<&Fence>,
        source_chain: &str,
        cursor: Option<&Cursor>,
        events: &[NewEvent],
    ) -> Result<usize> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        if let Some(f) = fence {
            Self::check_fence(&tx, f).await?;
        }
        let new = Self::insert(&tx, events).await?;
        if let Some(cursor) = cursor {
            Self::set_cursor(&tx, source_chain, cursor).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(new)
    }

    /// `Ok` when an operator's move of event `id` to `to` changed a row (`n`); else why not:
    /// [`QueueError::InvalidTransition`] from its state, or [`QueueError::NotFound`].
    async fn moved_or_refused(&self, n: u64, id: i64, to: EventState) -> Result<()> {
        if n > 0 {
            return Ok(());
        }
        let from = self.state_of(id).await?;
        Err(QueueError::InvalidTransition { id, from, to })
    }

    async fn state_of(&self, id: i64) -> Result<EventState> {
        let row = self
            .query_opt("SELECT state FROM events WHERE id = $1", &[&id])
            .await?;
        let s: String = row
            .ok_or(QueueError::NotFound(id))?
            .try_get(0)
            .map_err(backend)?;
        s.parse().map_err(QueueError::Corrupt)
    }

    /// Apply `set_sql` (an `UPDATE ... SET` tail whose parameters start at `$4`, given in
    /// `extra`) to the event held under `claim`; [`QueueError::LeaseLost`] when it is not.
    async fn with_claim(
        &self,
        claim: &ClaimToken,
        to: EventState,
        set_sql: &str,
        extra: &[&(dyn ToSql + Sync)],
    ) -> Result<()> {
        let sql = format!(
            "UPDATE events SET state = '{}', updated_at = xsc_now_ms(){set_sql}
             WHERE id = $1 AND state = 'delivering' AND lease_owner = $2 AND claim_seq = $3",
            to.as_str()
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&claim.id, &claim.owner, &claim.seq];
        params.extend_from_slice(extra);
        if self.execute(&sql, &params).await? == 1 {
            return Ok(());
        }
        self.state_of(claim.id).await?;
        Err(QueueError::LeaseLost {
            id: claim.id,
            owner: claim.owner.clone(),
            seq: claim.seq,
        })
    }
}

#[async_trait]
impl MessageStore for PostgresStore {
    async fn cursor(&self, source_chain: &str) -> Result<Option<Cursor>> {
        let Some(r) = self
            .query_opt(
                "SELECT height, block_hash FROM cursors WHERE source_chain = $1",
                &[&source_chain],
            )
            .await?
        else {
            return Ok(None);
        };
        let height: i64 = r.try_get("height").map_err(backend)?;
        let hash: Option<String> = r.try_get("block_hash").map_err(backend)?;
        Ok(Some(Cursor {
            height: height as u64,
            hash: hash
                .map(|s| {
                    s.parse()
                        .map_err(|e| corrupt("cursor hash", format!("{e:?}")))
                })
                .transpose()?,
        }))
    }

    async fn record_indexed(
        &self,
        source_chain: &str,
        cursor: Cursor,
        events: &[NewEvent],
    ) -> Result<usize> {
        self.record(None, source_chain, Some(&cursor), events).await
    }

    async fn insert_events(&self, events: &[NewEvent]) -> Result<usize> {
        self.record(None, "", None, events).await
    }

    async fn known_nsns(
        &self,
        source_chain: &str,
        dest_chain: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<u64>> {
        let (from, to) = (
            from.min(i64::MAX as u64) as i64,
            to.min(i64::MAX as u64) as i64,
        );
        let rows = self
            .query(
                "SELECT DISTINCT nsn FROM events
                 WHERE source_chain = $1 AND dest_chain = $2 AND nsn >= $3 AND nsn < $4
                 ORDER BY nsn",
                &[&source_chain, &dest_chain, &from, &to],
            )
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<_, i64>(0).map_err(backend)? as u64))
            .collect()
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
        let (from, to) = (
            from.min(i64::MAX as u64) as i64,
            to.min(i64::MAX as u64) as i64,
        );
        let (age, limit) = (ms(settled_for), i64::try_from(limit).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE source_chain = $1 AND dest_chain = $2 AND nsn >= $3 AND nsn < $4
               AND state = 'delivered' AND delivered_at <= xsc_now_ms() - $5
             ORDER BY nsn, id LIMIT $6"
        );
        let rows = self
            .query(
                &sql,
                &[&source_chain, &dest_chain, &from, &to, &age, &limit],
            )
            .await?;
        events_from_rows(&rows)
    }

    async fn claim_due(
        &self,
        dest_chain: &str,
        owner: &str,
        limit: usize,
        lease: Duration,
    ) -> Result<Vec<StoredEvent>> {
        // Rows another claimer has locked are skipped, not waited for; a row that changed
        // under us (claimed and committed meanwhile) is re-checked against the WHERE clause
        // when it is locked, and dropped when it no longer qualifies.
        let sql = format!(
            "WITH due AS (
                SELECT id FROM events
                WHERE dest_chain = $1 AND state IN ('pending', 'delivering') AND (
                    (state = 'pending' AND next_retry_at <= xsc_now_ms())
                    OR (state = 'delivering'
                        AND (lease_until IS NULL OR lease_until <= xsc_now_ms())))
                ORDER BY id
                LIMIT $3
                FOR UPDATE SKIP LOCKED)
             UPDATE events AS e SET state = 'delivering', lease_owner = $2,
                lease_until = xsc_now_ms() + $4, claim_seq = e.claim_seq + 1,
                updated_at = xsc_now_ms()
             FROM due WHERE e.id = due.id
             RETURNING {}",
            columns_of("e")
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .query(&sql, &[&dest_chain, &owner, &limit, &ms(lease)])
            .await?;
        let mut out = events_from_rows(&rows)?;
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    async fn extend_leases(&self, owner: &str, ids: &[i64], lease: Duration) -> Result<usize> {
        let n = self
            .execute(
                "UPDATE events SET lease_until = xsc_now_ms() + $1
                 WHERE id = ANY($2) AND lease_owner = $3 AND state = 'delivering'",
                &[&ms(lease), &ids, &owner],
            )
            .await?;
        Ok(n as usize)
    }

    async fn release_claims_of(&self, owner: &str) -> Result<Vec<StoredEvent>> {
        // Returns the rows as they were held (the subquery's snapshot), like SQLite.
        let sql = format!(
            "UPDATE events AS e SET state = 'pending', next_retry_at = xsc_now_ms(),
                updated_at = xsc_now_ms(), lease_owner = NULL, lease_until = NULL
             FROM (SELECT {EVENT_COLUMNS} FROM events
                   WHERE state = 'delivering' AND lease_owner = $1 FOR UPDATE) AS held
             WHERE e.id = held.id
             RETURNING {}",
            columns_of("held")
        );
        let rows = self.query(&sql, &[&owner]).await?;
        let mut out = events_from_rows(&rows)?;
        out.sort_by_key(|e| e.id);
        Ok(out)
    }

    async fn set_delivery_tx(&self, claim: &ClaimToken, tx_hash: &str) -> Result<()> {
        let tx_hash = text(tx_hash);
        self.with_claim(
            claim,
            EventState::Delivering,
            ", delivery_tx = $4",
            &[&tx_hash],
        )
        .await
    }

    async fn mark_delivered(
        &self,
        id: i64,
        tx_hash: Option<&str>,
        delivery: Option<&Value>,
    ) -> Result<()> {
        let tx_hash = tx_hash.map(text);
        let delivery = delivery.map(|d| text(&d.to_string()));
        let n = self
            .execute(
                "UPDATE events SET state = 'delivered', updated_at = xsc_now_ms(),
                    delivered_at = xsc_now_ms(), delivery_tx = COALESCE($2, delivery_tx),
                    delivery = COALESCE($3, delivery), lease_owner = NULL, lease_until = NULL
                 WHERE id = $1 AND state <> 'delivered'",
                &[&id, &tx_hash, &delivery],
            )
            .await?;
        if n == 0 {
            // Already delivered (settled by another claim): nothing to do. Missing: error.
            self.state_of(id).await?;
        }
        Ok(())
    }

    async fn mark_retry(
        &self,
        claim: &ClaimToken,
        kind: RetryKind,
        error: &str,
        delay: Duration,
    ) -> Result<()> {
        let counter = match kind {
            RetryKind::Temporary => ", temp_failures = temp_failures + 1",
            RetryKind::Refused => ", attempts = attempts + 1",
        };
        let (error, delay) = (text(error), ms(delay));
        self.with_claim(
            claim,
            EventState::Pending,
            &format!(
                ", last_error = $4, next_retry_at = xsc_now_ms() + $5, lease_owner = NULL,
                 lease_until = NULL{counter}"
            ),
            &[&error, &delay],
        )
        .await
    }

    async fn mark_failed(&self, claim: &ClaimToken, error: &str) -> Result<()> {
        let error = text(error);
        self.with_claim(
            claim,
            EventState::Failed,
            ", last_error = $4, attempts = attempts + 1, lease_owner = NULL, lease_until = NULL",
            &[&error],
        )
        .await
    }

    async fn requeue(&self, id: i64) -> Result<()> {
        let n = self
            .execute(
                "UPDATE events SET state = 'pending', attempts = 0, next_retry_at = xsc_now_ms(),
                    updated_at = xsc_now_ms()
                 WHERE id = $1 AND state = 'failed'",
                &[&id],
            )
            .await?;
        self.moved_or_refused(n, id, EventState::Pending).await
    }

    async fn reopen_delivered(&self, id: i64, reason: &str, reopens: u32) -> Result<()> {
        let note = serde_json::json!({ "reopened": reopens }).to_string();
        let n = self
            .execute(
                "UPDATE events SET state = 'pending', attempts = 0, next_retry_at = xsc_now_ms(),
                    updated_at = xsc_now_ms(), delivered_at = NULL, delivery_tx = NULL,
                    delivery = $3, last_error = $2
                 WHERE id = $1 AND state = 'delivered'",
                &[&id, &text(reason), &note],
            )
            .await?;
        self.moved_or_refused(n, id, EventState::Pending).await
    }

    async fn requeue_failed(&self, dest_chain: Option<&str>) -> Result<usize> {
        let n = self
            .execute(
                "UPDATE events SET state = 'pending', attempts = 0, next_retry_at = xsc_now_ms(),
                    updated_at = xsc_now_ms()
                 WHERE state = 'failed' AND ($1::text IS NULL OR dest_chain = $1)",
                &[&dest_chain],
            )
            .await?;
        Ok(n as usize)
    }

    async fn get(&self, id: i64) -> Result<Option<StoredEvent>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        self.query_opt(&sql, &[&id])
            .await?
            .as_ref()
            .map(event_from_row)
            .transpose()
    }

    async fn find(&self, key: &EventKey) -> Result<Option<StoredEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE source_chain = $1 AND outcome_id = $2 AND event_index = $3"
        );
        self.query_opt(
            &sql,
            &[
                &key.source_chain,
                &key.outcome_id.to_string(),
                &i64::from(key.event_index),
            ],
        )
        .await?
        .as_ref()
        .map(event_from_row)
        .transpose()
    }

    async fn find_by_outcomes(
        &self,
        source_chain: &str,
        outcome_ids: &[CryptoHash],
    ) -> Result<Vec<StoredEvent>> {
        let ids: Vec<String> = outcome_ids.iter().map(|h| h.to_string()).collect();
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE source_chain = $1 AND outcome_id = ANY($2)
             ORDER BY array_position($2, outcome_id), event_index"
        );
        let rows = self.query(&sql, &[&source_chain, &ids]).await?;
        events_from_rows(&rows)
    }

    async fn counts(&self, dest_chain: Option<&str>) -> Result<StateCounts> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        // Fold the deltas appended since the last call, in key order (a concurrent fold waits
        // for this one's deleted rows, then skips them).
        tx.execute(
            "WITH moved AS (DELETE FROM event_count_deltas RETURNING dest_chain, state, delta)
             INSERT INTO event_counts AS c (dest_chain, state, n)
             SELECT dest_chain, state, sum(delta) FROM moved
             GROUP BY dest_chain, state ORDER BY dest_chain, state
             ON CONFLICT (dest_chain, state) DO UPDATE SET n = c.n + excluded.n",
            &[],
        )
        .await
        .map_err(backend)?;
        let rows = tx
            .query(
                "SELECT state, sum(n)::bigint FROM event_counts
                 WHERE $1::text IS NULL OR dest_chain = $1 GROUP BY state",
                &[&dest_chain],
            )
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        let mut counts = StateCounts::default();
        for r in rows {
            let state: String = r.try_get(0).map_err(backend)?;
            let n: i64 = r.try_get(1).map_err(backend)?;
            *counts.get_mut(state.parse().map_err(QueueError::Corrupt)?) = n.max(0) as u64;
        }
        Ok(counts)
    }

    async fn oldest_open(&self, dest_chain: &str) -> Result<Option<i64>> {
        let r = self
            .query_opt(
                "SELECT min(created_at) FROM events
                 WHERE dest_chain = $1 AND state IN ('pending', 'delivering')",
                &[&dest_chain],
            )
            .await?;
        match r {
            Some(r) => r.try_get(0).map_err(backend),
            None => Ok(None),
        }
    }

    async fn list(&self, f: &ListFilter) -> Result<Vec<StoredEvent>> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR dest_chain = $2)
               AND id > $3
             ORDER BY id LIMIT $4"
        );
        let rows = self
            .query(
                &sql,
                &[
                    &f.state.map(|s| s.as_str()),
                    &f.dest_chain.as_deref(),
                    &f.after_id.unwrap_or(0),
                    &i64::try_from(f.limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        events_from_rows(&rows)
    }

    async fn prune(&self, older_than: Duration, limit: usize) -> Result<usize> {
        let (age, limit) = (ms(older_than), i64::try_from(limit).unwrap_or(i64::MAX));
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        let n = tx
            .execute(
                "DELETE FROM events WHERE id IN (
                    SELECT id FROM events
                    WHERE state = 'delivered' AND delivered_at < xsc_now_ms() - $1
                    ORDER BY delivered_at LIMIT $2 FOR UPDATE SKIP LOCKED)",
                &[&age, &limit],
            )
            .await
            .map_err(backend)?;
        // Relay records as old, except each destination's newest.
        tx.execute(
            "DELETE FROM lc_relay WHERE (dest_chain, height) IN (
                SELECT dest_chain, height FROM lc_relay AS r
                WHERE relayed_at < xsc_now_ms() - $1
                  AND height < (SELECT max(height) FROM lc_relay WHERE dest_chain = r.dest_chain)
                ORDER BY relayed_at LIMIT $2)",
            &[&age, &limit],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "DELETE FROM lc_submissions WHERE (dest_chain, tx_hash) IN (
                SELECT dest_chain, tx_hash FROM lc_submissions AS s
                WHERE status IN ('landed', 'failed') AND updated_at < xsc_now_ms() - $1
                  AND height < (SELECT max(height) FROM lc_submissions
                                WHERE dest_chain = s.dest_chain)
                ORDER BY updated_at LIMIT $2)",
            &[&age, &limit],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n as usize)
    }

    async fn now_ms(&self) -> Result<i64> {
        let r = self.query("SELECT xsc_now_ms()", &[]).await?;
        r.first()
            .ok_or_else(|| QueueError::Backend("no clock".into()))?
            .try_get(0)
            .map_err(backend)
    }

    async fn record_relayed_block(&self, b: &RelayedBlock) -> Result<()> {
        self.execute(
            "INSERT INTO lc_relay (dest_chain, height, hash, epoch_id, tx_hash, relayed_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (dest_chain, height) DO UPDATE SET hash = excluded.hash,
                epoch_id = excluded.epoch_id, tx_hash = excluded.tx_hash,
                relayed_at = excluded.relayed_at",
            &[
                &b.dest_chain,
                &(b.height as i64),
                &b.hash.to_string(),
                &b.epoch_id.to_string(),
                &b.tx_hash.as_deref().map(text),
                &b.relayed_at,
            ],
        )
        .await?;
        Ok(())
    }

    async fn last_relayed_block(&self, dest_chain: &str) -> Result<Option<RelayedBlock>> {
        self.query_opt(
            "SELECT dest_chain, height, hash, epoch_id, tx_hash, relayed_at FROM lc_relay
             WHERE dest_chain = $1 ORDER BY height DESC LIMIT 1",
            &[&dest_chain],
        )
        .await?
        .as_ref()
        .map(relayed_from_row)
        .transpose()
    }

    async fn relayed_blocks(
        &self,
        dest_chain: &str,
        min_height: u64,
        limit: usize,
    ) -> Result<Vec<RelayedBlock>> {
        let rows = self
            .query(
                "SELECT dest_chain, height, hash, epoch_id, tx_hash, relayed_at FROM lc_relay
                 WHERE dest_chain = $1 AND height >= $2 ORDER BY height LIMIT $3",
                &[
                    &dest_chain,
                    &(min_height.min(i64::MAX as u64) as i64),
                    &i64::try_from(limit).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        rows.iter().map(relayed_from_row).collect()
    }

    async fn try_lease(&self, name: &str, owner: &str, ttl: Duration) -> Result<bool> {
        let n = self
            .execute(
                "INSERT INTO leases AS l (name, owner, until) VALUES ($1, $2, xsc_now_ms() + $3)
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until
                 WHERE l.owner = excluded.owner OR l.until <= xsc_now_ms()",
                &[&name, &owner, &ms(ttl)],
            )
            .await?;
        Ok(n == 1)
    }

    async fn release_lease(&self, name: &str, owner: &str) -> Result<bool> {
        let n = self
            .execute(
                "DELETE FROM leases WHERE name = $1 AND owner = $2",
                &[&name, &owner],
            )
            .await?;
        Ok(n == 1)
    }

    async fn leases(&self, prefix: &str) -> Result<Vec<LeaseInfo>> {
        let rows = self
            .query(
                "SELECT name, owner, until FROM leases
                 WHERE left(name, length($1)) = $1 ORDER BY name",
                &[&prefix],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(LeaseInfo {
                    name: r.try_get(0).map_err(backend)?,
                    owner: r.try_get(1).map_err(backend)?,
                    until: r.try_get(2).map_err(backend)?,
                })
            })
            .collect()
    }

    async fn record_indexed_fenced(
        &self,
        fence: &Fence,
        source_chain: &str,
        cursor: Cursor,
        events: &[NewEvent],
    ) -> Result<usize> {
        self.record(Some(fence), source_chain, Some(&cursor), events)
            .await
    }

    async fn record_relay_submission(&self, fence: &Fence, sub: &RelaySubmission) -> Result<()> {
        let head = serde_json::to_string(&sub.head).map_err(|e| corrupt("head", e))?;
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(backend)?;
        Self::check_fence(&tx, fence).await?;
        tx.execute(
            "INSERT INTO lc_submissions (dest_chain, tx_hash, height, head, signer, signed_tx,
                owner, status, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, xsc_now_ms(), xsc_now_ms())
             ON CONFLICT (dest_chain, tx_hash) DO NOTHING",
            &[
                &sub.dest_chain,
                &text(&sub.tx_hash),
                &(sub.height as i64),
                &head,
                &text(&sub.signer),
                &text(&sub.signed_tx),
                &sub.owner,
                &sub.status.as_str(),
            ],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn set_submission_status(
        &self,
        dest_chain: &str,
        tx_hash: &str,
        status: SubmissionStatus,
    ) -> Result<()> {
        // Only forward: signed → included → landed | failed.
        let from: Vec<String> = SubmissionStatus::ALL
            .into_iter()
            .filter(|s| s.may_become(status))
            .map(|s| s.as_str().to_string())
            .collect();
        let n = self
            .execute(
                "UPDATE lc_submissions SET status = $3, updated_at = xsc_now_ms()
                 WHERE dest_chain = $1 AND tx_hash = $2 AND status = ANY($4)",
                &[&dest_chain, &tx_hash, &status.as_str(), &from],
            )
            .await?;
        if n == 0
            && self
                .query_opt(
                    "SELECT 1 FROM lc_submissions WHERE dest_chain = $1 AND tx_hash = $2",
                    &[&dest_chain, &tx_hash],
                )
                .await?
                .is_none()
        {
            return Err(QueueError::NotFound(0));
        }
        Ok(())
    }

    async fn open_submissions(&self, dest_chain: &str) -> Result<Vec<RelaySubmission>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM lc_submissions
             WHERE dest_chain = $1 AND status IN ('signed', 'included')
             ORDER BY height, created_at"
        );
        let rows = self.query(&sql, &[&dest_chain]).await?;
        rows.iter().map(submission_from_row).collect()
    }

    async fn newest_included_submission(
        &self,
        dest_chain: &str,
    ) -> Result<Option<RelaySubmission>> {
        let sql = format!(
            "SELECT {SUBMISSION_COLUMNS} FROM lc_submissions
             WHERE dest_chain = $1 AND status IN ('included', 'landed')
             ORDER BY height DESC LIMIT 1"
        );
        self.query_opt(&sql, &[&dest_chain])
            .await?
            .as_ref()
            .map(submission_from_row)
            .transpose()
    }

    async fn open_max_block_height(&self, dest_chain: &str) -> Result<Option<u64>> {
        let r = self
            .query_opt(
                "SELECT max(block_height) FROM events
                 WHERE dest_chain = $1 AND state IN ('pending', 'delivering')",
                &[&dest_chain],
            )
            .await?;
        let h: Option<i64> = match r {
            Some(r) => r.try_get(0).map_err(backend)?,
            None => None,
        };
        Ok(h.map(|h| h as u64))
    }
}
