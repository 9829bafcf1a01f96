//! The suite on SQLite: a file database (so that several handles share it, as instances would)
//! and a clock the tests move by hand.

use super::super::sqlite::Clock;
use super::*;
use std::sync::atomic::{AtomicI64, Ordering};

pub(crate) struct SqliteBackend {
    dir: tempfile::TempDir,
    now: Arc<AtomicI64>,
}

pub(crate) async fn sqlite_backend() -> SqliteBackend {
    SqliteBackend {
        dir: tempfile::tempdir().unwrap(),
        now: Arc::new(AtomicI64::new(1_700_000_000_000)),
    }
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn handle(&self) -> Arc<dyn MessageStore> {
        let now = self.now.clone();
        let clock: Clock = Arc::new(move || now.load(Ordering::SeqCst));
        Arc::new(SqliteStore::open_with(&self.dir.path().join("queue.db"), false, clock).unwrap())
    }

    async fn advance(&self, d: Duration) {
        self.now.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
}

store_suite!(sqlite_backend);
