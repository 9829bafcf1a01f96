//! What only the SQLite store has: its durable settings, schema versions and migration, the
//! instance lock, a killed process, failure classification. The store's contract, the same on
//! every backend, is tested in [`super::suite`] (which runs on SQLite too).

use super::*;
use serde_json::json;
use std::path::Path;

fn ev(outcome: u8, index: u32) -> NewEvent {
    NewEvent {
        key: EventKey {
            source_chain: "a".into(),
            outcome_id: CryptoHash([outcome; 32]),
            event_index: index,
        },
        dest_chain: "b".into(),
        kind: "cross_call".into(),
        block_height: 100 + outcome as u64,
        nsn: Some(outcome as u64),
        source_time: Some(1_000),
        payload: json!({"n": outcome, "i": index, "nsn": outcome.to_string()}),
    }
}

const LEASE: Duration = Duration::from_secs(30);

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("queue.db")).unwrap()
}

fn claim(e: &StoredEvent) -> ClaimToken {
    e.claim().expect("held")
}

#[test]
fn durable_settings_are_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let (mode, sync) = open(&dir).durability().unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    let c = rusqlite::Connection::open(dir.path().join("queue.db")).unwrap();
    c.pragma_update(None, "user_version", 99).unwrap();
    drop(c);
    let e = SqliteStore::open(&dir.path().join("queue.db")).unwrap_err();
    assert!(
        matches!(e, QueueError::SchemaTooNew { found: 99, .. }),
        "{e}"
    );
}

/// A database exactly as version 1 of the service left it: a cursor without a hash, events in
/// every state (one left `delivering` by a crash, with its transaction recorded and 3 claims
/// counted as attempts), relay records.
fn version_1_database(path: &Path) {
    let c = rusqlite::Connection::open(path).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.execute_batch(sqlite::SCHEMA_V1).unwrap();
    c.pragma_update(None, "user_version", 1).unwrap();
    c.execute("INSERT INTO cursors VALUES ('a', 500, 1)", [])
        .unwrap();
    let rows = [
        (1u8, "pending", 9, None, r#"{"nsn":1,"receipt_id":"x"}"#),
        (2, "delivering", 3, Some("CrashTx"), r#"{"nsn":"2"}"#),
        (3, "delivered", 1, Some("DoneTx"), r#"{"nsn":3}"#),
        (4, "failed", 10, None, r#"{"nsn":4}"#),
        (5, "pending", 0, None, r#"{"no_nsn":true}"#),
    ];
    for (o, state, attempts, tx, payload) in rows {
        c.execute(
            "INSERT INTO events (source_chain, outcome_id, event_index, dest_chain, kind,
                block_height, payload, state, attempts, last_error, next_retry_at, delivery_tx,
                created_at, updated_at)
             VALUES ('a', ?1, 0, 'b', 'cross_call', 400, ?2, ?3, ?4, 'old error', 0, ?5, 100, 200)",
            rusqlite::params![
                CryptoHash([o; 32]).to_string(),
                payload,
                state,
                attempts,
                tx
            ],
        )
        .unwrap();
    }
    c.execute(
        "INSERT INTO lc_relay VALUES ('b', 450, ?1, ?1, 'RelayTx', 300)",
        [CryptoHash([7; 32]).to_string()],
    )
    .unwrap();
}

#[tokio::test]
async fn a_version_1_database_is_migrated_and_keeps_working() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    version_1_database(&path);
    let s = SqliteStore::open_exclusive(&path).unwrap();
    let v: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    // The cursor keeps its height; its hash is unknown (the indexer anchors it again).
    assert_eq!(
        s.cursor("a").await.unwrap(),
        Some(Cursor {
            height: 500,
            hash: None
        })
    );
    // Every row is there, with its sequence number read from the payload.
    let all = s
        .list(&ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(
        all.iter().map(|e| e.nsn).collect::<Vec<_>>(),
        vec![Some(1), Some(2), Some(3), Some(4), None]
    );
    assert_eq!(
        s.known_nsns("a", "b", 0, 100).await.unwrap(),
        vec![1, 2, 3, 4]
    );
    // Counts were rebuilt from the rows.
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 2,
            delivering: 1,
            delivered: 1,
            failed: 1
        }
    );
    // Open events get a fresh attempt budget (version 1 counted claims); a dead letter keeps its
    // count; a delivered row gets its settlement time.
    assert_eq!(all[0].attempts, 0);
    assert_eq!(all[1].attempts, 0);
    assert_eq!(all[3].attempts, 10);
    assert_eq!(all[2].delivered_at, Some(200));
    // The row a crash left delivering has no lease: claimable at once, its transaction kept.
    let claimed = s.claim_due("b", "new", 10, LEASE).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|e| e.key.outcome_id.0[0])
            .collect::<Vec<_>>(),
        vec![1, 2, 5]
    );
    assert_eq!(claimed[1].delivery_tx.as_deref(), Some("CrashTx"));
    for e in &claimed {
        s.mark_delivered(e.id, None, None).await.unwrap();
    }
    s.requeue(all[3].id).await.unwrap();
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 1,
            delivering: 0,
            delivered: 4,
            failed: 0
        }
    );
    assert_eq!(
        s.last_relayed_block("b").await.unwrap().unwrap().height,
        450
    );
    // And it stays at the new version when opened again.
    drop(s);
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.counts(None).await.unwrap().delivered, 4);
}

#[test]
fn two_services_never_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let first = SqliteStore::open_exclusive(&path).unwrap();
    let e = SqliteStore::open_exclusive(&path).unwrap_err();
    assert!(matches!(e, QueueError::Locked(_)), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    // Tools read beside the service.
    SqliteStore::open(&path).unwrap();
    drop(first);
    SqliteStore::open_exclusive(&path).unwrap();
}

const CRASH_DB_ENV: &str = "XSC_QUEUE_CRASH_DB";

/// Child half of `a_killed_instance_leaves_claims_that_come_back`: takes the instance lock,
/// claims the events, records a delivery transaction hash for one, then dies without any
/// cleanup (abort: no destructors, no clean database close), as a killed process would. A
/// no-op unless the parent test runs it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_DB_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let s = SqliteStore::open_exclusive(Path::new(&path)).unwrap();
        let claimed = s.claim_due("b", "relayer-1", 10, LEASE).await.unwrap();
        assert_eq!(claimed.len(), 3);
        s.set_delivery_tx(&claim(&claimed[0]), "SignedButUnconfirmed")
            .await
            .unwrap();
        // ... the delivery transaction would be submitted here ...
        std::process::abort();
    });
}

#[tokio::test]
async fn a_killed_instance_leaves_claims_that_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0)])
            .await
            .unwrap();
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "queue::tests::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_DB_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must die");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(6),
            "killed by SIGABRT, not a failed assertion"
        );
    }

    // The dead process's instance lock is gone with it.
    let s = SqliteStore::open_exclusive(&path).unwrap();
    assert_eq!(
        s.counts(None).await.unwrap().delivering,
        3,
        "the claims were durable before the crash"
    );
    // Another instance must wait for the leases to expire...
    assert!(s
        .claim_due("b", "relayer-2", 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    // ... the same instance, restarted, takes its own claims back at once.
    let released = s.release_claims_of("relayer-1").await.unwrap();
    assert_eq!(released.len(), 3);
    assert_eq!(
        released[0].delivery_tx.as_deref(),
        Some("SignedButUnconfirmed")
    );
    let again = s.claim_due("b", "relayer-1", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|e| e.attempts == 0 && e.claim_seq == 2));
    assert_eq!(
        again[0].delivery_tx.as_deref(),
        Some("SignedButUnconfirmed")
    );
    // The connector refuses the replay of the message delivered before the crash: recognised as
    // delivered, not failed.
    let verdict = classify_failure(
        "Smart contract panicked: ERR_ALREADY_DELIVERED",
        &["ERR_ALREADY_DELIVERED"],
        &["ERR_UNKNOWN_ROOT"],
        &["ERR_WRONG_EXECUTOR"],
    );
    assert_eq!(verdict, DeliveryVerdict::AlreadyDelivered);
    s.mark_delivered(again[0].id, None, None).await.unwrap();
    assert_eq!(
        s.get(again[0].id).await.unwrap().unwrap().state,
        EventState::Delivered
    );
    // Nothing was lost or duplicated.
    assert_eq!(
        s.list(&ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .len(),
        3
    );
}

#[test]
fn failures_are_classified() {
    let already = ["ERR_ALREADY_DELIVERED"];
    let temporary = ["ERR_UNKNOWN_ROOT", "ERR_PAUSED"];
    let permanent = ["ERR_WRONG_EXECUTOR"];
    let c = |e| classify_failure(e, &already, &temporary, &permanent);
    assert_eq!(
        c("ERR_UNKNOWN_ROOT: no trusted block"),
        DeliveryVerdict::Temporary
    );
    assert_eq!(c("ERR_WRONG_EXECUTOR: x"), DeliveryVerdict::Rejected);
    assert_eq!(
        c("Exceeded the prepaid gas"),
        DeliveryVerdict::Retry,
        "unknown: counted, not dead at once"
    );
    assert_eq!(
        c("ERR_ALREADY_DELIVERED"),
        DeliveryVerdict::AlreadyDelivered
    );
}
