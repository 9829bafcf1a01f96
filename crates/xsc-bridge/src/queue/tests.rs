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
        payload: json!({"n": outcome, "i": index}),
    }
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(&dir.path().join("queue.db")).unwrap()
}

#[test]
fn durable_settings_are_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let (mode, sync) = open(&dir).durability().unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    assert_eq!(sync, 2, "synchronous=FULL");
}

#[test]
fn insert_is_idempotent() {
    let s = SqliteStore::open_in_memory().unwrap();
    assert!(s.insert_event(&ev(1, 0)).unwrap());
    assert!(!s.insert_event(&ev(1, 0)).unwrap());
    // Same key, different payload: still one row, the first one.
    let mut again = ev(1, 0);
    again.payload = json!({"other": true});
    assert!(!s.insert_event(&again).unwrap());
    // Another index of the same outcome is another event.
    assert!(s.insert_event(&ev(1, 1)).unwrap());
    assert_eq!(s.counts(None).unwrap().pending, 2);
    let stored = s.find(&ev(1, 0).key).unwrap().unwrap();
    assert_eq!(stored.payload, json!({"n": 1, "i": 0}));
    assert_eq!(stored.state, EventState::Pending);
    assert_eq!(stored.attempts, 0);
}

#[test]
fn indexing_moves_cursor_and_events_together() {
    let s = SqliteStore::open_in_memory().unwrap();
    assert_eq!(s.cursor("a").unwrap(), None);
    assert_eq!(
        s.record_indexed("a", 110, &[ev(1, 0), ev(2, 0)]).unwrap(),
        2
    );
    assert_eq!(s.cursor("a").unwrap(), Some(110));
    // Re-indexing the same range after a restart adds nothing.
    assert_eq!(
        s.record_indexed("a", 112, &[ev(2, 0), ev(3, 0)]).unwrap(),
        1
    );
    assert_eq!(s.cursor("a").unwrap(), Some(112));
    assert_eq!(s.list(None, 10).unwrap().len(), 3);
    assert_eq!(s.cursor("b").unwrap(), None);
}

#[test]
fn state_transitions() {
    let s = SqliteStore::open_in_memory().unwrap();
    for i in 1..=3 {
        s.insert_event(&ev(i, 0)).unwrap();
    }
    let now = now_ms();
    // Nothing for another destination.
    assert!(s.claim_due("c", now, 10).unwrap().is_empty());
    let claimed = s.claim_due("b", now, 2).unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|e| e.key.outcome_id.0[0])
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert!(claimed
        .iter()
        .all(|e| e.state == EventState::Delivering && e.attempts == 1));
    // Claimed events are not claimed twice.
    let rest = s.claim_due("b", now, 10).unwrap();
    assert_eq!(rest.len(), 1);
    let (e1, e2, e3) = (claimed[0].id, claimed[1].id, rest[0].id);

    s.set_delivery_tx(e1, "TxHash1").unwrap();
    s.mark_delivered(e1, None).unwrap();
    let d = s.get(e1).unwrap().unwrap();
    assert_eq!(d.state, EventState::Delivered);
    assert_eq!(d.delivery_tx.as_deref(), Some("TxHash1"));
    // A delivered event stays delivered.
    assert!(matches!(
        s.mark_retry(e1, "x", now).unwrap_err(),
        QueueError::InvalidTransition {
            from: EventState::Delivered,
            to: EventState::Pending,
            ..
        }
    ));
    assert!(s.mark_failed(e1, "x").is_err());
    assert!(s.set_delivery_tx(e1, "other").is_err());

    // Retry later: not due before its time, due after, attempts counted.
    s.mark_retry(e2, "RPC timeout", now + 60_000).unwrap();
    let r = s.get(e2).unwrap().unwrap();
    assert_eq!(
        (r.state, r.last_error.as_deref()),
        (EventState::Pending, Some("RPC timeout"))
    );
    assert!(s.claim_due("b", now, 10).unwrap().is_empty());
    let again = s.claim_due("b", now + 60_000, 10).unwrap();
    assert_eq!((again.len(), again[0].attempts), (1, 2));

    s.mark_failed(e3, "ERR_INVALID_PROOF").unwrap();
    assert!(s.mark_delivered(e3, Some("t")).is_err());
    assert_eq!(
        s.list(Some(EventState::Failed), 10).unwrap()[0]
            .last_error
            .as_deref(),
        Some("ERR_INVALID_PROOF")
    );
    s.requeue(e3).unwrap();
    assert_eq!(s.get(e3).unwrap().unwrap().state, EventState::Pending);

    assert!(matches!(
        s.mark_delivered(999, None).unwrap_err(),
        QueueError::NotFound(999)
    ));
    assert_eq!(
        s.counts(Some("b")).unwrap(),
        StateCounts {
            pending: 1,
            delivering: 1,
            delivered: 1,
            failed: 0
        }
    );
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(&dir);
        s.record_indexed("a", 120, &[ev(1, 0), ev(2, 0)]).unwrap();
        let c = s.claim_due("b", now_ms(), 1).unwrap();
        s.mark_delivered(c[0].id, Some("Tx")).unwrap();
        s.record_relayed_block(&RelayedBlock {
            dest_chain: "b".into(),
            height: 130,
            hash: CryptoHash([9; 32]),
            epoch_id: CryptoHash([8; 32]),
            tx_hash: Some("RelayTx".into()),
            relayed_at: 1,
        })
        .unwrap();
    }
    let s = open(&dir);
    assert_eq!(s.cursor("a").unwrap(), Some(120));
    assert_eq!(
        s.counts(None).unwrap(),
        StateCounts {
            pending: 1,
            delivering: 0,
            delivered: 1,
            failed: 0
        }
    );
    let last = s.last_relayed_block("b").unwrap().unwrap();
    assert_eq!((last.height, last.hash), (130, CryptoHash([9; 32])));
    assert_eq!(s.relayed_blocks("b", 0, 10).unwrap().len(), 1);
    assert!(s.last_relayed_block("a").unwrap().is_none());
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

const CRASH_DB_ENV: &str = "XSC_QUEUE_CRASH_DB";

/// Child half of `crash_between_delivering_and_delivered_is_recovered`: claims the events,
/// records a delivery transaction hash for one, then dies without any cleanup (abort: no
/// destructors, no clean database close), as a killed process would. A no-op unless the parent
/// test runs it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CRASH_DB_ENV) else {
        return;
    };
    let s = SqliteStore::open(Path::new(&path)).unwrap();
    let claimed = s.claim_due("b", now_ms(), 10).unwrap();
    assert_eq!(claimed.len(), 3);
    s.set_delivery_tx(claimed[0].id, "SignedButUnconfirmed")
        .unwrap();
    // ... the delivery transaction would be submitted here ...
    std::process::abort();
}

#[test]
fn crash_between_delivering_and_delivered_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.record_indexed("a", 110, &[ev(1, 0), ev(2, 0), ev(3, 0)])
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

    // Restart.
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(
        s.counts(None).unwrap().delivering,
        3,
        "the claims were durable before the crash"
    );
    assert!(
        s.claim_due("b", now_ms(), 10).unwrap().is_empty(),
        "in flight: not claimable yet"
    );
    let recovered = s.recover_in_flight().unwrap();
    assert_eq!(recovered.len(), 3);
    assert_eq!(
        recovered[0].delivery_tx.as_deref(),
        Some("SignedButUnconfirmed")
    );
    // Picked up again, with the attempt counted and the recorded transaction kept for checking.
    let again = s.claim_due("b", now_ms(), 10).unwrap();
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|e| e.attempts == 2));
    assert_eq!(
        again[0].delivery_tx.as_deref(),
        Some("SignedButUnconfirmed")
    );
    // The connector rejects the replay of the message delivered before the crash: recognised as
    // delivered, not failed.
    let verdict = classify_failure(
        "Smart contract panicked: ERR_ALREADY_DELIVERED",
        &["ERR_ALREADY_DELIVERED"],
        &["ERR_UNKNOWN_ROOT"],
    );
    assert_eq!(verdict, DeliveryVerdict::AlreadyDelivered);
    s.mark_delivered(again[0].id, None).unwrap();
    assert_eq!(
        s.get(again[0].id).unwrap().unwrap().state,
        EventState::Delivered
    );
    // Nothing was lost or duplicated.
    assert_eq!(s.list(None, 10).unwrap().len(), 3);
}

#[test]
fn failures_are_classified() {
    let already = ["ERR_ALREADY_DELIVERED"];
    let retry = ["ERR_UNKNOWN_ROOT", "Exceeded the prepaid gas"];
    assert_eq!(
        classify_failure("ERR_UNKNOWN_ROOT: no trusted block", &already, &retry),
        DeliveryVerdict::Retry
    );
    assert_eq!(
        classify_failure("ERR_INVALID_PROOF", &already, &retry),
        DeliveryVerdict::Rejected
    );
}

#[test]
fn concurrent_claims_never_hand_out_an_event_twice() {
    let dir = tempfile::tempdir().unwrap();
    let s = std::sync::Arc::new(open(&dir));
    let events: Vec<NewEvent> = (0..60u32).map(|i| ev((i % 250) as u8, i)).collect();
    s.record_indexed("a", 1, &events).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let s = s.clone();
            std::thread::spawn(move || {
                let mut got = Vec::new();
                loop {
                    let c = s.claim_due("b", now_ms(), 7).unwrap();
                    if c.is_empty() {
                        return got;
                    }
                    got.extend(c.into_iter().map(|e| e.id));
                }
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    let n = all.len();
    all.dedup();
    assert_eq!((n, all.len()), (60, 60));
}
