//! The suite on PostgreSQL: a fresh database per test on the server named by
//! `XSC_TEST_POSTGRES_URL` (a throw-away server: the tests create databases `xsc_t_*` on it and
//! leave them for the server's removal). The clock is the server's: time passes by sleeping.
//! `#[ignore]`d: `scripts/test.sh` starts a server and runs them with `--ignored`; run by hand
//! without the variable they fail, never pass.

use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

pub(crate) const URL_ENV: &str = "XSC_TEST_POSTGRES_URL";

pub(crate) struct PostgresBackend {
    url: DatabaseUrl,
}

/// The server's URL with another database name.
fn with_database(url: &str, db: &str) -> String {
    let mut u = reqwest::Url::parse(url).expect("XSC_TEST_POSTGRES_URL is a URL");
    u.set_path(&format!("/{db}"));
    u.to_string()
}

/// A new empty database on the test server; its URL.
pub(crate) async fn fresh_database() -> DatabaseUrl {
    static N: AtomicU32 = AtomicU32::new(0);
    let base = std::env::var(URL_ENV).unwrap_or_else(|_| {
        panic!("{URL_ENV} is not set: these tests need a PostgreSQL server (scripts/test.sh starts one)")
    });
    let name = format!(
        "xsc_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst),
        rand::random::<u32>()
    );
    let (client, conn) = tokio_postgres::connect(&base, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {URL_ENV}: {e}"));
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    drop(client);
    let _ = task.await;
    DatabaseUrl::parse(&with_database(&base, &name)).unwrap()
}

pub(crate) async fn postgres_backend() -> PostgresBackend {
    PostgresBackend {
        url: fresh_database().await,
    }
}

#[async_trait]
impl Backend for PostgresBackend {
    async fn handle(&self) -> Arc<dyn MessageStore> {
        Arc::new(PostgresStore::connect(&self.url).await.unwrap())
    }

    async fn advance(&self, d: Duration) {
        // `xsc_now_ms()` rounds to the millisecond: a little more than `d`.
        tokio::time::sleep(d + Duration::from_millis(20)).await;
    }
}

store_suite!(postgres_backend, ignored);

// PostgreSQL-only: migrations and the server's clock.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: XSC_TEST_POSTGRES_URL (scripts/test.sh starts a throw-away server)"]
async fn instances_starting_together_migrate_once_and_reconnect_without_change() {
    let url = fresh_database().await;
    let stores = futures_join_all((0..4).map(|_| {
        let url = url.clone();
        async move { PostgresStore::connect(&url).await }
    }))
    .await;
    for s in &stores {
        assert_eq!(
            s.as_ref().unwrap().schema_version().await.unwrap(),
            POSTGRES_SCHEMA_VERSION
        );
    }
    let s = stores.into_iter().next().unwrap().unwrap();
    s.insert_events(&[ev(1, 0)]).await.unwrap();
    let again = PostgresStore::connect(&url).await.unwrap();
    assert_eq!(again.counts(None).await.unwrap().pending, 1, "data kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: XSC_TEST_POSTGRES_URL (scripts/test.sh starts a throw-away server)"]
async fn a_database_of_a_newer_build_is_refused() {
    let url = fresh_database().await;
    drop(PostgresStore::connect(&url).await.unwrap());
    let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
        .batch_execute("INSERT INTO xsc_schema (version, description) VALUES (99, 'future')")
        .await
        .unwrap();
    let e = PostgresStore::connect(&url).await.unwrap_err();
    assert!(
        matches!(e, QueueError::SchemaTooNew { found: 99, supported } if supported == POSTGRES_SCHEMA_VERSION),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: XSC_TEST_POSTGRES_URL (scripts/test.sh starts a throw-away server)"]
async fn the_clock_is_the_servers_not_the_hosts() {
    let url = fresh_database().await;
    let s = PostgresStore::connect(&url).await.unwrap();
    let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let server: i64 = client
        .query_one("SELECT (extract(epoch FROM now()) * 1000)::bigint", &[])
        .await
        .unwrap()
        .get(0);
    let store = s.now_ms().await.unwrap();
    assert!((store - server).abs() < 5_000, "{store} vs {server}");
    // A lease deadline is the server's now + ttl, as the server reads it back.
    let (t0, _, t1) = timed(&s, s.try_lease("x", "me", Duration::from_secs(7))).await;
    let until: i64 = client
        .query_one("SELECT until FROM leases WHERE name = 'x'", &[])
        .await
        .unwrap()
        .get(0);
    within(until, t0 + 7_000, t1 + 7_000, "lease until");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: XSC_TEST_POSTGRES_URL (scripts/test.sh starts a throw-away server)"]
async fn a_takeover_waits_for_a_fenced_write_in_flight() {
    // The holder's fenced write locks the lease row; a takeover (an update of that row) is
    // ordered after it, so the new holder sees the write once it holds the lease.
    let url = fresh_database().await;
    let s = PostgresStore::connect(&url).await.unwrap();
    assert!(s
        .try_lease("relay", "old", Duration::from_millis(300))
        .await
        .unwrap());
    let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    // A transaction of "old" that checked its fence and holds the row lock.
    client.batch_execute("BEGIN").await.unwrap();
    let held = client
        .query_opt(
            "SELECT 1 FROM leases WHERE name = 'relay' AND owner = 'old' AND until > xsc_now_ms() FOR SHARE",
            &[],
        )
        .await
        .unwrap();
    assert!(held.is_some());
    tokio::time::sleep(Duration::from_millis(400)).await; // the lease expires meanwhile
    let taker = PostgresStore::connect(&url).await.unwrap();
    let take = tokio::spawn(async move {
        let got = taker
            .try_lease("relay", "new", Duration::from_secs(60))
            .await
            .unwrap();
        (got, std::time::Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !take.is_finished(),
        "the takeover waits for the write in flight"
    );
    let committed = std::time::Instant::now();
    client.batch_execute("COMMIT").await.unwrap();
    let (got, at) = take.await.unwrap();
    assert!(got, "then takes the expired lease");
    assert!(at >= committed);
}

async fn futures_join_all<F>(fs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut handles = Vec::new();
    for f in fs {
        handles.push(tokio::spawn(f));
    }
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
