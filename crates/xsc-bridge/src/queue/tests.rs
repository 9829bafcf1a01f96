use super::*;
use serde_json::json;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

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

/// A clock the test moves by hand.
#[derive(Clone)]
struct TestClock(Arc<AtomicI64>);

impl TestClock {
    fn new() -> Self {
        TestClock(Arc::new(AtomicI64::new(1_700_000_000_000)))
    }
    fn clock(&self) -> sqlite::Clock {
        let c = self.0.clone();
        Arc::new(move || c.load(Ordering::SeqCst))
    }
    fn advance(&self, d: Duration) {
        self.0.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

fn mem(clock: &TestClock) -> SqliteStore {
    SqliteStore::open_in_memory_with(clock.clock()).unwrap()
}

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

#[tokio::test]
async fn insert_is_idempotent() {
    let s = SqliteStore::open_in_memory().unwrap();
    assert_eq!(s.insert_events(&[ev(1, 0)]).await.unwrap(), 1);
    assert_eq!(s.insert_events(&[ev(1, 0)]).await.unwrap(), 0);
    // Same key, different payload: still one row, the first one.
    let mut again = ev(1, 0);
    again.payload = json!({"other": true});
    assert_eq!(s.insert_events(&[again]).await.unwrap(), 0);
    // Another index of the same outcome is another event.
    assert_eq!(s.insert_events(&[ev(1, 1)]).await.unwrap(), 1);
    assert_eq!(s.counts(None).await.unwrap().pending, 2);
    let stored = s.find(&ev(1, 0).key).await.unwrap().unwrap();
    assert_eq!(stored.payload, json!({"n": 1, "i": 0, "nsn": "1"}));
    assert_eq!(
        (stored.state, stored.attempts, stored.nsn),
        (EventState::Pending, 0, Some(1))
    );
    assert_eq!(stored.source_time, Some(1_000));
}

#[tokio::test]
async fn indexing_moves_cursor_and_events_together() {
    let s = SqliteStore::open_in_memory().unwrap();
    assert_eq!(s.cursor("a").await.unwrap(), None);
    let c1 = Cursor {
        height: 110,
        hash: Some(CryptoHash([7; 32])),
    };
    assert_eq!(
        s.record_indexed("a", c1, &[ev(1, 0), ev(2, 0)])
            .await
            .unwrap(),
        2
    );
    assert_eq!(s.cursor("a").await.unwrap(), Some(c1));
    // Re-indexing the same range after a restart adds nothing.
    let c2 = Cursor {
        height: 112,
        hash: Some(CryptoHash([8; 32])),
    };
    assert_eq!(
        s.record_indexed("a", c2, &[ev(2, 0), ev(3, 0)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(s.cursor("a").await.unwrap(), Some(c2));
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
    assert_eq!(s.cursor("b").await.unwrap(), None);
    assert_eq!(s.known_nsns("a", "b", 0, 10).await.unwrap(), vec![1, 2, 3]);
    assert_eq!(s.known_nsns("a", "b", 2, 3).await.unwrap(), vec![2]);
    assert!(s.known_nsns("b", "a", 0, 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn claims_are_leases_and_every_step_names_its_claim() {
    let clock = TestClock::new();
    let s = mem(&clock);
    s.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0)])
        .await
        .unwrap();
    // Nothing for another destination.
    assert!(s.claim_due("c", "i1", 10, LEASE).await.unwrap().is_empty());
    let claimed = s.claim_due("b", "i1", 2, LEASE).await.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|e| e.key.outcome_id.0[0])
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    for e in &claimed {
        assert_eq!(e.state, EventState::Delivering);
        assert_eq!(e.lease_owner.as_deref(), Some("i1"));
        assert_eq!(e.lease_until, Some(clock.now() + 30_000));
        assert_eq!(
            (e.attempts, e.claim_seq),
            (0, 1),
            "a claim is not an attempt"
        );
    }
    // Held events are not claimed again, by anyone.
    let rest = s
        .claim_due("b", "i2", 10, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    let (e1, e2, e3) = (&claimed[0], &claimed[1], &rest[0]);

    s.set_delivery_tx(&claim(e1), "TxHash1").await.unwrap();
    s.mark_delivered(e1.id, None, Some(&json!({"tx": "TxHash1"})))
        .await
        .unwrap();
    let d = s.get(e1.id).await.unwrap().unwrap();
    assert_eq!(d.state, EventState::Delivered);
    assert_eq!(d.delivery_tx.as_deref(), Some("TxHash1"));
    assert_eq!(d.delivery, Some(json!({"tx": "TxHash1"})));
    assert_eq!(d.delivered_at, Some(clock.now()));
    assert_eq!(d.lease_owner, None);
    // Delivered stays delivered: the claim is gone, and confirming again changes nothing.
    assert!(matches!(
        s.mark_retry(&claim(e1), RetryKind::Temporary, "x", Duration::ZERO)
            .await
            .unwrap_err(),
        QueueError::LeaseLost { .. }
    ));
    assert!(s.mark_failed(&claim(e1), "x").await.is_err());
    assert!(s.set_delivery_tx(&claim(e1), "other").await.is_err());
    s.mark_delivered(e1.id, Some("Later"), None).await.unwrap();
    assert_eq!(
        s.get(e1.id).await.unwrap().unwrap().delivery_tx.as_deref(),
        Some("TxHash1")
    );

    // A temporary failure: due later, no attempt counted.
    s.mark_retry(
        &claim(e2),
        RetryKind::Temporary,
        "RPC timeout",
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let r = s.get(e2.id).await.unwrap().unwrap();
    assert_eq!(
        (
            r.state,
            r.last_error.as_deref(),
            r.attempts,
            r.temp_failures
        ),
        (EventState::Pending, Some("RPC timeout"), 0, 1)
    );
    assert_eq!(r.next_retry_at, clock.now() + 60_000);
    assert!(s.claim_due("b", "i1", 10, LEASE).await.unwrap().is_empty());
    clock.advance(Duration::from_secs(60));
    let again = s.claim_due("b", "i1", 10, LEASE).await.unwrap();
    assert_eq!((again.len(), again[0].claim_seq), (1, 2));
    // An on-chain refusal counts.
    s.mark_retry(
        &claim(&again[0]),
        RetryKind::Refused,
        "ERR_NOT_ENOUGH_GAS",
        Duration::ZERO,
    )
    .await
    .unwrap();
    let r = s.get(e2.id).await.unwrap().unwrap();
    assert_eq!((r.attempts, r.temp_failures), (1, 1));

    // Dead letter, then an operator's retry with a fresh budget.
    s.mark_failed(&claim(e3), "ERR_WRONG_EXECUTOR")
        .await
        .unwrap();
    let f = s.get(e3.id).await.unwrap().unwrap();
    assert_eq!((f.state, f.attempts), (EventState::Failed, 1));
    assert!(matches!(
        s.requeue(e2.id).await.unwrap_err(),
        QueueError::InvalidTransition {
            from: EventState::Pending,
            ..
        }
    ));
    s.requeue(e3.id).await.unwrap();
    let p = s.get(e3.id).await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.attempts, p.last_error.as_deref()),
        (EventState::Pending, 0, Some("ERR_WRONG_EXECUTOR"))
    );

    assert!(matches!(
        s.mark_delivered(999, None, None).await.unwrap_err(),
        QueueError::NotFound(999)
    ));
    assert!(matches!(
        s.requeue(999).await.unwrap_err(),
        QueueError::NotFound(999)
    ));
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 2,
            delivering: 0,
            delivered: 1,
            failed: 0
        }
    );
}

#[tokio::test]
async fn an_expired_lease_returns_the_event_to_the_pool_and_fences_the_old_holder() {
    let clock = TestClock::new();
    let s = mem(&clock);
    s.insert_events(&[ev(1, 0)]).await.unwrap();
    let first = s.claim_due("b", "i1", 10, LEASE).await.unwrap().remove(0);
    // Within the lease: nobody else gets it; renewing keeps it.
    clock.advance(Duration::from_secs(20));
    assert!(s.claim_due("b", "i2", 10, LEASE).await.unwrap().is_empty());
    assert_eq!(s.extend_leases("i1", &[first.id], LEASE).await.unwrap(), 1);
    assert_eq!(
        s.extend_leases("i2", &[first.id], LEASE).await.unwrap(),
        0,
        "not i2's"
    );
    clock.advance(Duration::from_secs(20));
    assert!(
        s.claim_due("b", "i2", 10, LEASE).await.unwrap().is_empty(),
        "renewed"
    );
    // i1 goes silent; its lease runs out and i2 takes the event.
    clock.advance(Duration::from_secs(11));
    let second = s.claim_due("b", "i2", 10, LEASE).await.unwrap().remove(0);
    assert_eq!(second.id, first.id);
    assert_eq!(
        (second.lease_owner.as_deref(), second.claim_seq),
        (Some("i2"), 2)
    );
    // The late i1 can no longer act on its claim...
    for r in [
        s.set_delivery_tx(&claim(&first), "Late").await,
        s.mark_retry(&claim(&first), RetryKind::Refused, "x", Duration::ZERO)
            .await,
        s.mark_failed(&claim(&first), "x").await,
    ] {
        assert!(
            matches!(r.unwrap_err(), QueueError::LeaseLost { ref owner, seq: 1, .. } if owner == "i1")
        );
    }
    assert_eq!(s.extend_leases("i1", &[first.id], LEASE).await.unwrap(), 0);
    // ... and i2's claim is intact.
    s.set_delivery_tx(&claim(&second), "Tx2").await.unwrap();
    let e = s.get(first.id).await.unwrap().unwrap();
    assert_eq!(
        (e.state, e.delivery_tx.as_deref(), e.attempts),
        (EventState::Delivering, Some("Tx2"), 0)
    );
    // Even the same owner claiming again after expiry gets a new fencing token.
    clock.advance(Duration::from_secs(31));
    let third = s.claim_due("b", "i2", 10, LEASE).await.unwrap().remove(0);
    assert_eq!(third.claim_seq, 3);
    assert!(s.mark_failed(&claim(&second), "x").await.is_err());
}

#[tokio::test]
async fn an_instance_releases_only_its_own_claims() {
    let clock = TestClock::new();
    let s = mem(&clock);
    s.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0)])
        .await
        .unwrap();
    let mine = s.claim_due("b", "me", 2, LEASE).await.unwrap();
    let theirs = s.claim_due("b", "peer", 1, LEASE).await.unwrap();
    s.set_delivery_tx(&claim(&mine[0]), "Signed").await.unwrap();
    let released = s.release_claims_of("me").await.unwrap();
    assert_eq!(
        released.iter().map(|e| e.id).collect::<Vec<_>>(),
        mine.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(released[0].delivery_tx.as_deref(), Some("Signed"));
    let c = s.counts(None).await.unwrap();
    assert_eq!(
        (c.pending, c.delivering),
        (2, 1),
        "the peer's claim is untouched"
    );
    let peer = s.get(theirs[0].id).await.unwrap().unwrap();
    assert_eq!(peer.lease_owner.as_deref(), Some("peer"));
    // Mine are claimable at once, with the recorded transaction kept for checking.
    let again = s.claim_due("b", "me", 10, LEASE).await.unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].delivery_tx.as_deref(), Some("Signed"));
}

#[tokio::test]
async fn counts_follow_every_transition_without_scanning() {
    let clock = TestClock::new();
    let s = mem(&clock);
    let mut events: Vec<NewEvent> = (0..20u8).map(|i| ev(i, 0)).collect();
    for e in events.iter_mut().skip(15) {
        e.dest_chain = "c".into();
    }
    s.insert_events(&events).await.unwrap();
    let claimed = s.claim_due("b", "i", 10, LEASE).await.unwrap();
    for (n, e) in claimed.iter().enumerate() {
        match n % 4 {
            0 => s.mark_delivered(e.id, None, None).await.unwrap(),
            1 => s.mark_failed(&claim(e), "x").await.unwrap(),
            2 => s
                .mark_retry(&claim(e), RetryKind::Temporary, "x", Duration::ZERO)
                .await
                .unwrap(),
            _ => {}
        }
    }
    // What the counters say equals what the rows say.
    let all = s
        .list(&ListFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    for dest in ["b", "c"] {
        let mut want = StateCounts::default();
        for e in all.iter().filter(|e| e.dest_chain == dest) {
            *want.get_mut(e.state) += 1;
        }
        assert_eq!(s.counts(Some(dest)).await.unwrap(), want, "{dest}");
    }
    // b: 5 never claimed + 2 retried pending, 2 still delivering, 3 delivered, 3 failed; c: 5.
    assert_eq!(
        s.counts(None).await.unwrap(),
        StateCounts {
            pending: 12,
            delivering: 2,
            delivered: 3,
            failed: 3
        }
    );
}

#[tokio::test]
async fn the_oldest_open_event_and_retention() {
    let clock = TestClock::new();
    let s = mem(&clock);
    assert_eq!(s.oldest_open("b").await.unwrap(), None);
    let t0 = clock.now();
    s.insert_events(&[ev(1, 0)]).await.unwrap();
    clock.advance(Duration::from_secs(5));
    s.insert_events(&[ev(2, 0), ev(3, 0)]).await.unwrap();
    assert_eq!(s.oldest_open("b").await.unwrap(), Some(t0));
    let c = s.claim_due("b", "i", 1, LEASE).await.unwrap();
    assert_eq!(
        s.oldest_open("b").await.unwrap(),
        Some(t0),
        "delivering is still open"
    );
    s.mark_delivered(c[0].id, None, None).await.unwrap();
    assert_eq!(s.oldest_open("b").await.unwrap(), Some(t0 + 5_000));
    s.record_relayed_block(&RelayedBlock {
        dest_chain: "b".into(),
        height: 10,
        hash: CryptoHash([1; 32]),
        epoch_id: CryptoHash([2; 32]),
        tx_hash: None,
        relayed_at: clock.now(),
    })
    .await
    .unwrap();
    s.record_relayed_block(&RelayedBlock {
        dest_chain: "b".into(),
        height: 11,
        hash: CryptoHash([3; 32]),
        epoch_id: CryptoHash([2; 32]),
        tx_hash: None,
        relayed_at: clock.now(),
    })
    .await
    .unwrap();
    // Not old enough yet.
    assert_eq!(s.prune(Duration::from_secs(3600), 100).await.unwrap(), 0);
    clock.advance(Duration::from_secs(3601));
    assert_eq!(s.prune(Duration::from_secs(3600), 100).await.unwrap(), 1);
    assert!(s.get(c[0].id).await.unwrap().is_none());
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 2,
            ..Default::default()
        }
    );
    // The newest relay record of each destination stays.
    let left = s.relayed_blocks("b", 0, 10).await.unwrap();
    assert_eq!(left.iter().map(|b| b.height).collect::<Vec<_>>(), vec![11]);
}

#[tokio::test]
async fn a_named_lease_has_one_holder_until_it_expires() {
    let clock = TestClock::new();
    let s = mem(&clock);
    assert!(s.try_lease("indexer:a", "i1", LEASE).await.unwrap());
    assert!(
        s.try_lease("indexer:a", "i1", LEASE).await.unwrap(),
        "renewal"
    );
    assert!(!s.try_lease("indexer:a", "i2", LEASE).await.unwrap());
    assert!(
        s.try_lease("indexer:b", "i2", LEASE).await.unwrap(),
        "another name"
    );
    clock.advance(LEASE);
    assert!(
        s.try_lease("indexer:a", "i2", LEASE).await.unwrap(),
        "expired: taken over"
    );
    assert!(!s.try_lease("indexer:a", "i1", LEASE).await.unwrap());
}

#[tokio::test]
async fn responses_are_found_by_the_outcomes_of_a_delivery() {
    let s = SqliteStore::open_in_memory().unwrap();
    s.insert_events(&[ev(1, 0), ev(1, 1), ev(2, 0)])
        .await
        .unwrap();
    let found = s
        .find_by_outcomes("a", &[CryptoHash([1; 32]), CryptoHash([9; 32])])
        .await
        .unwrap();
    assert_eq!(
        found.iter().map(|e| e.key.event_index).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert!(s
        .find_by_outcomes("b", &[CryptoHash([1; 32])])
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(&dir);
        s.record_indexed(
            "a",
            Cursor {
                height: 120,
                hash: Some(CryptoHash([5; 32])),
            },
            &[ev(1, 0), ev(2, 0)],
        )
        .await
        .unwrap();
        let c = s.claim_due("b", "i", 1, LEASE).await.unwrap();
        s.mark_delivered(c[0].id, Some("Tx"), None).await.unwrap();
        s.record_relayed_block(&RelayedBlock {
            dest_chain: "b".into(),
            height: 130,
            hash: CryptoHash([9; 32]),
            epoch_id: CryptoHash([8; 32]),
            tx_hash: Some("RelayTx".into()),
            relayed_at: 1,
        })
        .await
        .unwrap();
    }
    let s = open(&dir);
    assert_eq!(s.cursor("a").await.unwrap().map(|c| c.height), Some(120));
    assert_eq!(
        s.counts(None).await.unwrap(),
        StateCounts {
            pending: 1,
            delivering: 0,
            delivered: 1,
            failed: 0
        }
    );
    let last = s.last_relayed_block("b").await.unwrap().unwrap();
    assert_eq!((last.height, last.hash), (130, CryptoHash([9; 32])));
    assert_eq!(s.relayed_blocks("b", 0, 10).await.unwrap().len(), 1);
    assert!(s.last_relayed_block("a").await.unwrap().is_none());
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_never_hand_out_an_event_twice() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(open(&dir));
    let events: Vec<NewEvent> = (0..60u32).map(|i| ev((i % 250) as u8, i)).collect();
    s.insert_events(&events).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let c = s.claim_due("b", &format!("w{w}"), 7, LEASE).await.unwrap();
                    if c.is_empty() {
                        return got;
                    }
                    got.extend(c.into_iter().map(|e| e.id));
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!((n, all.len()), (60, 60));
}
