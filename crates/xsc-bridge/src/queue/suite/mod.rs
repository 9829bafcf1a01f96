//! The store's contract, tested against every backend: each test here runs on SQLite
//! ([`sqlite`], always) and on PostgreSQL ([`postgres`], `#[ignore]`d unless a server is given:
//! `scripts/test.sh` starts a throw-away one and runs them, reporting `RAN` or `SKIPPED`).
//!
//! A test gets a [`Backend`]: handles on one fresh database (each handle is another relayer
//! instance's view: its own connections) and a way to let time pass on the store's clock
//! (SQLite: a clock the test moves; PostgreSQL: the server's `now()`, so the test sleeps).
//! Every timestamp is compared with the store's own clock ([`MessageStore::now_ms`]), never
//! the host's.

mod postgres;
mod sqlite;

use super::*;
use async_trait::async_trait;
use serde_json::json;
use std::collections::HashSet;
use std::sync::Arc;

/// What a test runs on.
#[async_trait]
pub(crate) trait Backend: Send + Sync {
    /// A new handle (another instance's connections) on the test's database.
    async fn handle(&self) -> Arc<dyn MessageStore>;
    /// Let at least `d` pass on the store's clock.
    async fn advance(&self, d: Duration);
}

/// Lease of the tests' claims (short: the PostgreSQL run sleeps through it).
const LEASE: Duration = Duration::from_secs(2);

fn ev(outcome: u8, index: u32) -> NewEvent {
    ev_to("b", outcome, index)
}

fn ev_to(dest: &str, outcome: u8, index: u32) -> NewEvent {
    NewEvent {
        key: EventKey {
            source_chain: "a".into(),
            outcome_id: CryptoHash([outcome; 32]),
            event_index: index,
        },
        dest_chain: dest.into(),
        kind: "cross_call".into(),
        block_height: 100 + outcome as u64,
        nsn: Some(outcome as u64),
        source_time: Some(1_000),
        payload: json!({"n": outcome, "i": index, "nsn": outcome.to_string()}),
    }
}

fn claim(e: &StoredEvent) -> ClaimToken {
    e.claim().expect("held")
}

fn all() -> ListFilter {
    ListFilter {
        limit: 10_000,
        ..Default::default()
    }
}

fn fence(name: &str, owner: &str) -> Fence {
    Fence {
        name: name.into(),
        owner: owner.into(),
    }
}

fn submission(dest: &str, height: u64, tx: &str, owner: &str) -> RelaySubmission {
    RelaySubmission {
        dest_chain: dest.into(),
        height,
        head: xsc_core::client::Head {
            height,
            hash: CryptoHash([height as u8; 32]),
            epoch_id: CryptoHash([1; 32]),
            next_epoch_id: CryptoHash([2; 32]),
            block_merkle_root: CryptoHash([3; 32]),
            timestamp: 1_700_000_000_000_000_000 + height,
        },
        tx_hash: tx.into(),
        signer: "relayer.test.near".into(),
        signed_tx: format!("base64-of-{tx}"),
        owner: owner.into(),
        status: SubmissionStatus::Signed,
        created_at: 0,
        updated_at: 0,
    }
}

/// `f` between two readings of the store's clock: `(before, result, after)`.
async fn timed<T, F: std::future::Future<Output = T>>(s: &dyn MessageStore, f: F) -> (i64, T, i64) {
    let before = s.now_ms().await.unwrap();
    let out = f.await;
    let after = s.now_ms().await.unwrap();
    (before, out, after)
}

fn within(t: i64, lo: i64, hi: i64, what: &str) {
    assert!(lo <= t && t <= hi, "{what}: {t} not in [{lo}, {hi}]");
}

/// The counters (kept beside the rows, never a scan) agree with the rows: per destination and
/// in total.
async fn counts_match_rows(s: &dyn MessageStore, dests: &[&str]) {
    let rows = s.list(&all()).await.unwrap();
    let mut total = StateCounts::default();
    for e in &rows {
        *total.get_mut(e.state) += 1;
    }
    assert_eq!(s.counts(None).await.unwrap(), total, "all destinations");
    for dest in dests {
        let mut want = StateCounts::default();
        for e in rows.iter().filter(|e| e.dest_chain == *dest) {
            *want.get_mut(e.state) += 1;
        }
        assert_eq!(s.counts(Some(dest)).await.unwrap(), want, "{dest}");
    }
}

pub(crate) async fn insert_is_idempotent(b: &dyn Backend) {
    let s = b.handle().await;
    assert_eq!(s.insert_events(&[ev(1, 0)]).await.unwrap(), 1);
    assert_eq!(s.insert_events(&[ev(1, 0)]).await.unwrap(), 0);
    // Same key, different payload: still one row, the first one.
    let mut again = ev(1, 0);
    again.payload = json!({"other": true});
    assert_eq!(s.insert_events(&[again]).await.unwrap(), 0);
    // Another index of the same outcome is another event; so is another instance's insert of
    // the same one (idempotent across handles too).
    assert_eq!(s.insert_events(&[ev(1, 1)]).await.unwrap(), 1);
    let peer = b.handle().await;
    assert_eq!(peer.insert_events(&[ev(1, 1), ev(1, 0)]).await.unwrap(), 0);
    assert_eq!(s.counts(None).await.unwrap().pending, 2);
    let stored = s.find(&ev(1, 0).key).await.unwrap().unwrap();
    assert_eq!(stored.payload, json!({"n": 1, "i": 0, "nsn": "1"}));
    assert_eq!(
        (
            stored.state,
            stored.attempts,
            stored.nsn,
            stored.kind.as_str()
        ),
        (EventState::Pending, 0, Some(1), "cross_call")
    );
    assert_eq!(stored.source_time, Some(1_000));
    assert_eq!(stored.block_height, 101);
    assert_eq!(stored.key, ev(1, 0).key);
    assert!(s.find(&ev(9, 0).key).await.unwrap().is_none());
    assert!(s.get(stored.id + 1000).await.unwrap().is_none());
}

pub(crate) async fn indexing_moves_cursor_and_events_together(b: &dyn Backend) {
    let s = b.handle().await;
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
    // Re-indexing after a restart adds nothing twice.
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
    // Another instance reads the same cursor.
    assert_eq!(b.handle().await.cursor("a").await.unwrap(), Some(c2));
    assert_eq!(s.list(&all()).await.unwrap().len(), 3);
    assert_eq!(s.cursor("b").await.unwrap(), None);
    // A cursor without a hash (an old database's) round-trips as such.
    let c0 = Cursor {
        height: 5,
        hash: None,
    };
    s.record_indexed("z", c0, &[]).await.unwrap();
    assert_eq!(s.cursor("z").await.unwrap(), Some(c0));
    assert_eq!(s.known_nsns("a", "b", 0, 10).await.unwrap(), vec![1, 2, 3]);
    assert_eq!(s.known_nsns("a", "b", 2, 3).await.unwrap(), vec![2]);
    assert!(s.known_nsns("b", "a", 0, 10).await.unwrap().is_empty());
    assert_eq!(
        s.known_nsns("a", "b", 0, u64::MAX).await.unwrap(),
        vec![1, 2, 3]
    );
}

pub(crate) async fn claims_are_leases_and_every_step_names_its_claim(b: &dyn Backend) {
    let s = b.handle().await;
    s.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0)])
        .await
        .unwrap();
    // Nothing for another destination.
    assert!(s.claim_due("c", "i1", 10, LEASE).await.unwrap().is_empty());
    let (t0, claimed, t1) = timed(s.as_ref(), s.claim_due("b", "i1", 2, LEASE)).await;
    let claimed = claimed.unwrap();
    assert_eq!(
        claimed
            .iter()
            .map(|e| e.key.outcome_id.0[0])
            .collect::<Vec<_>>(),
        vec![1, 2],
        "oldest first"
    );
    for e in &claimed {
        assert_eq!(e.state, EventState::Delivering);
        assert_eq!(e.lease_owner.as_deref(), Some("i1"));
        within(
            e.lease_until.unwrap(),
            t0 + 2_000,
            t1 + 2_000,
            "lease deadline = store now + lease",
        );
        assert_eq!(
            (e.attempts, e.claim_seq),
            (0, 1),
            "a claim is not an attempt"
        );
        assert_eq!(e.claim().unwrap().owner, "i1");
    }
    // Held events are not claimed again, by anyone.
    let rest = b
        .handle()
        .await
        .claim_due("b", "i2", 10, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    let (e1, e2, e3) = (&claimed[0], &claimed[1], &rest[0]);

    s.set_delivery_tx(&claim(e1), "TxHash1").await.unwrap();
    let (t0, r, t1) = timed(
        s.as_ref(),
        s.mark_delivered(e1.id, None, Some(&json!({"tx": "TxHash1"}))),
    )
    .await;
    r.unwrap();
    let d = s.get(e1.id).await.unwrap().unwrap();
    assert_eq!(d.state, EventState::Delivered);
    assert_eq!(d.delivery_tx.as_deref(), Some("TxHash1"));
    assert_eq!(d.delivery, Some(json!({"tx": "TxHash1"})));
    within(d.delivered_at.unwrap(), t0, t1, "delivered_at");
    assert_eq!((d.lease_owner, d.lease_until), (None, None));
    // Delivered stays delivered: the claim is gone, and confirming again changes nothing.
    assert!(matches!(
        s.mark_retry(&claim(e1), RetryKind::Temporary, "x", Duration::ZERO)
            .await
            .unwrap_err(),
        QueueError::LeaseLost { .. }
    ));
    assert!(matches!(
        s.mark_failed(&claim(e1), "x").await.unwrap_err(),
        QueueError::LeaseLost { .. }
    ));
    assert!(s.set_delivery_tx(&claim(e1), "other").await.is_err());
    s.mark_delivered(e1.id, Some("Later"), None).await.unwrap();
    assert_eq!(
        s.get(e1.id).await.unwrap().unwrap().delivery_tx.as_deref(),
        Some("TxHash1")
    );

    // A temporary failure: due later, no attempt counted.
    let (t0, r, t1) = timed(
        s.as_ref(),
        s.mark_retry(&claim(e2), RetryKind::Temporary, "RPC timeout", LEASE),
    )
    .await;
    r.unwrap();
    let r = s.get(e2.id).await.unwrap().unwrap();
    assert_eq!(
        (
            r.state,
            r.last_error.as_deref(),
            r.attempts,
            r.temp_failures,
            r.lease_owner.as_deref()
        ),
        (EventState::Pending, Some("RPC timeout"), 0, 1, None)
    );
    within(r.next_retry_at, t0 + 2_000, t1 + 2_000, "next_retry_at");
    assert!(s.claim_due("b", "i1", 10, LEASE).await.unwrap().is_empty());
    // The old claim token no longer acts on the event.
    assert!(matches!(
        s.set_delivery_tx(&claim(e2), "Stale").await.unwrap_err(),
        QueueError::LeaseLost { .. }
    ));
    b.advance(LEASE).await;
    let again = s.claim_due("b", "i1", 10, LEASE).await.unwrap();
    assert_eq!((again.len(), again[0].claim_seq), (1, 2));
    // Claimed again by the same owner: the earlier claim's token is stale (fencing sequence),
    // so a delivery task left over from the first claim cannot act on the second.
    for stale in [
        s.set_delivery_tx(&claim(e2), "Stale").await,
        s.mark_retry(&claim(e2), RetryKind::Temporary, "x", Duration::ZERO)
            .await,
        s.mark_failed(&claim(e2), "x").await,
    ] {
        assert!(
            matches!(stale, Err(QueueError::LeaseLost { seq: 1, .. })),
            "{stale:?}"
        );
    }
    assert_eq!(
        s.get(e2.id).await.unwrap().unwrap().delivery_tx,
        None,
        "nothing written by the stale claim"
    );
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
    assert_eq!(
        (f.state, f.attempts, f.lease_owner),
        (EventState::Failed, 1, None)
    );
    assert!(matches!(
        s.requeue(e2.id).await.unwrap_err(),
        QueueError::InvalidTransition {
            from: EventState::Pending,
            to: EventState::Pending,
            ..
        }
    ));
    s.requeue(e3.id).await.unwrap();
    let p = s.get(e3.id).await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.attempts, p.last_error.as_deref()),
        (EventState::Pending, 0, Some("ERR_WRONG_EXECUTOR"))
    );
    let missing = e3.id + 1_000;
    assert!(matches!(
        s.mark_delivered(missing, None, None).await.unwrap_err(),
        QueueError::NotFound(id) if id == missing
    ));
    assert!(matches!(
        s.requeue(missing).await.unwrap_err(),
        QueueError::NotFound(id) if id == missing
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
    counts_match_rows(s.as_ref(), &["b"]).await;
}

/// An instance that stops renewing loses its claims to the pool once they expire, and can no
/// longer act on them; nobody's live claims are touched.
pub(crate) async fn an_expired_claim_returns_to_the_pool_and_fences_its_old_holder(
    b: &dyn Backend,
) {
    let (dead, live) = (b.handle().await, b.handle().await);
    dead.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0), ev(4, 0)])
        .await
        .unwrap();
    let mine = dead.claim_due("b", "dead", 2, LEASE).await.unwrap();
    let theirs = live
        .claim_due("b", "live", 2, Duration::from_secs(3600))
        .await
        .unwrap();
    assert_eq!((mine.len(), theirs.len()), (2, 2));
    dead.set_delivery_tx(&claim(&mine[0]), "SentBeforeDying")
        .await
        .unwrap();
    // Before expiry nothing is claimable.
    assert!(live
        .claim_due("b", "live", 10, LEASE)
        .await
        .unwrap()
        .is_empty());
    b.advance(LEASE).await;
    let taken = live.claim_due("b", "live", 10, LEASE).await.unwrap();
    assert_eq!(
        taken.iter().map(|e| e.id).collect::<Vec<_>>(),
        mine.iter().map(|e| e.id).collect::<Vec<_>>(),
        "exactly the expired claims, not the live instance's own"
    );
    assert!(taken
        .iter()
        .all(|e| e.claim_seq == 2 && e.attempts == 0 && e.lease_owner.as_deref() == Some("live")));
    assert_eq!(
        taken[0].delivery_tx.as_deref(),
        Some("SentBeforeDying"),
        "the new holder sees what the old one sent"
    );
    // The old holder is fenced off: every step of its claim is refused, its renewal holds none.
    for e in &mine {
        for r in [
            dead.set_delivery_tx(&claim(e), "Late").await,
            dead.mark_retry(&claim(e), RetryKind::Temporary, "x", Duration::ZERO)
                .await,
            dead.mark_retry(&claim(e), RetryKind::Refused, "x", Duration::ZERO)
                .await,
            dead.mark_failed(&claim(e), "x").await,
        ] {
            assert!(
                matches!(&r, Err(QueueError::LeaseLost { owner, seq: 1, .. }) if owner == "dead"),
                "{r:?}"
            );
        }
    }
    // ... and the new holder's claim is intact: it acts on it.
    live.set_delivery_tx(&claim(&taken[1]), "Tx2")
        .await
        .unwrap();
    let e = live.get(taken[1].id).await.unwrap().unwrap();
    assert_eq!(
        (e.state, e.delivery_tx.as_deref(), e.attempts),
        (EventState::Delivering, Some("Tx2"), 0)
    );
    let ids: Vec<i64> = mine.iter().map(|e| e.id).collect();
    assert_eq!(dead.extend_leases("dead", &ids, LEASE).await.unwrap(), 0);
    // The live one renews its own.
    let all_ids: Vec<i64> = theirs.iter().chain(&taken).map(|e| e.id).collect();
    assert_eq!(
        live.extend_leases("live", &all_ids, LEASE).await.unwrap(),
        4
    );
    // Renewal keeps a claim past its earlier deadline; one not renewed expires, and even its own
    // holder claiming it again gets a new fencing token that the earlier one cannot act under.
    let renewed: Vec<i64> = theirs.iter().chain(&taken[..1]).map(|e| e.id).collect();
    assert_eq!(
        live.extend_leases("live", &renewed, Duration::from_secs(3600))
            .await
            .unwrap(),
        3
    );
    b.advance(LEASE).await;
    let again = live.claim_due("b", "live", 10, LEASE).await.unwrap();
    assert_eq!(
        again
            .iter()
            .map(|e| (e.id, e.claim_seq))
            .collect::<Vec<_>>(),
        vec![(taken[1].id, 3)]
    );
    assert!(matches!(
        live.mark_failed(&claim(&taken[1]), "x").await.unwrap_err(),
        QueueError::LeaseLost { seq: 2, .. }
    ));
    // A fact from the chain is accepted whoever holds the claim.
    dead.mark_delivered(mine[1].id, Some("Tx"), None)
        .await
        .unwrap();
    assert_eq!(
        live.get(mine[1].id).await.unwrap().unwrap().state,
        EventState::Delivered
    );
}

/// `release_claims_of` (an instance restarting) touches its own claims only.
pub(crate) async fn releasing_claims_touches_only_that_instances_claims(b: &dyn Backend) {
    let (s, peer) = (b.handle().await, b.handle().await);
    s.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0)])
        .await
        .unwrap();
    let mine = s.claim_due("b", "me", 2, LEASE).await.unwrap();
    let theirs = peer.claim_due("b", "peer", 2, LEASE).await.unwrap();
    assert_eq!((mine.len(), theirs.len()), (2, 1));
    s.set_delivery_tx(&claim(&mine[0]), "Mine0").await.unwrap();
    let released = s.release_claims_of("me").await.unwrap();
    assert_eq!(
        released.iter().map(|e| e.id).collect::<Vec<_>>(),
        mine.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(released[0].delivery_tx.as_deref(), Some("Mine0"));
    assert!(released
        .iter()
        .all(|e| e.lease_owner.as_deref() == Some("me")));
    let c = s.counts(None).await.unwrap();
    assert_eq!(
        (c.pending, c.delivering),
        (2, 1),
        "released ones are pending again; the peer's claim still counts"
    );
    // The peer's claim is untouched and still its own.
    let p = peer.get(theirs[0].id).await.unwrap().unwrap();
    assert_eq!(
        (p.state, p.lease_owner.as_deref(), p.claim_seq),
        (EventState::Delivering, Some("peer"), 1)
    );
    peer.set_delivery_tx(&claim(&theirs[0]), "PeerTx")
        .await
        .unwrap();
    // Released events are claimable at once, by anyone; the peer's is not.
    let again = peer.claim_due("b", "peer", 10, LEASE).await.unwrap();
    assert_eq!(
        again.iter().map(|e| e.id).collect::<Vec<_>>(),
        mine.iter().map(|e| e.id).collect::<Vec<_>>()
    );
    assert_eq!(
        again[0].delivery_tx.as_deref(),
        Some("Mine0"),
        "the recorded transaction is kept for checking"
    );
    assert!(s.release_claims_of("nobody").await.unwrap().is_empty());
    assert_eq!(s.counts(None).await.unwrap().delivering, 3);
}

/// The sequence audit's view of deliveries: recorded `delivered` for long enough, by sequence
/// number; and a delivery the destination does not know is reopened without its false record.
pub(crate) async fn a_recorded_delivery_the_destination_does_not_know_is_reopened(b: &dyn Backend) {
    let (s, peer) = (b.handle().await, b.handle().await);
    s.insert_events(&[ev(1, 0), ev(2, 0), ev(3, 0), ev_to("c", 4, 0)])
        .await
        .unwrap();
    let held = s.claim_due("b", "i", 3, LEASE).await.unwrap();
    for e in &held {
        s.set_delivery_tx(&claim(e), &format!("tx{}", e.nsn.unwrap()))
            .await
            .unwrap();
    }
    let reported = json!({"tx": "tx2", "verdict": "accepted"});
    s.mark_delivered(held[1].id, None, Some(&reported))
        .await
        .unwrap();
    s.mark_delivered(held[0].id, None, None).await.unwrap();
    let c = s.claim_due("c", "i", 1, LEASE).await.unwrap();
    s.mark_delivered(c[0].id, None, None).await.unwrap();
    let nsns = |v: Vec<StoredEvent>| v.iter().map(|e| e.nsn.unwrap()).collect::<Vec<_>>();
    // Just delivered: not settled for a second yet.
    let settled = Duration::from_millis(1_000);
    assert!(s
        .delivered_in_range("a", "b", 0, 10, settled, 10)
        .await
        .unwrap()
        .is_empty());
    b.advance(Duration::from_millis(1_100)).await;
    let found = peer
        .delivered_in_range("a", "b", 0, 10, settled, 10)
        .await
        .unwrap();
    assert_eq!(
        nsns(found.clone()),
        vec![1, 2],
        "delivered only, by sequence number"
    );
    assert!(found.iter().all(|e| e.state == EventState::Delivered));
    assert_eq!(
        nsns(
            s.delivered_in_range("a", "b", 2, 10, settled, 10)
                .await
                .unwrap()
        ),
        vec![2]
    );
    assert_eq!(
        nsns(
            s.delivered_in_range("a", "b", 0, 10, settled, 1)
                .await
                .unwrap()
        ),
        vec![1],
        "at most `limit`"
    );
    assert!(s
        .delivered_in_range("a", "b", 0, u64::MAX, Duration::from_secs(3_600), 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        nsns(
            s.delivered_in_range("a", "c", 0, 10, settled, 10)
                .await
                .unwrap()
        ),
        vec![4]
    );

    let before = s.counts(Some("b")).await.unwrap();
    peer.reopen_delivered(held[1].id, "ERR_NOT_DELIVERED: not known", 1)
        .await
        .unwrap();
    let e = s.get(held[1].id).await.unwrap().unwrap();
    assert_eq!(e.state, EventState::Pending);
    assert_eq!(e.reopens(), 1);
    assert_eq!(
        (e.delivery_tx, e.delivery, e.delivered_at),
        (None, Some(json!({"reopened": 1})), None),
        "the false record is dropped, the count of reopens kept"
    );
    assert_eq!(
        e.last_error.as_deref(),
        Some("ERR_NOT_DELIVERED: not known")
    );
    assert_eq!((e.attempts, e.lease_owner), (0, None));
    assert!(e.next_retry_at <= s.now_ms().await.unwrap(), "due now");
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: before.pending + 1,
            delivered: before.delivered - 1,
            ..before
        }
    );
    // It is claimable again, like any pending event.
    let again = s.claim_due("b", "j", 10, LEASE).await.unwrap();
    assert_eq!(nsns(again.clone()), vec![2]);
    // Only a delivered event can be reopened (this one is held again: delivering).
    let err = s.reopen_delivered(again[0].id, "x", 1).await.unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::InvalidTransition {
                from: EventState::Delivering,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(matches!(
        s.reopen_delivered(9_999, "x", 1).await.unwrap_err(),
        QueueError::NotFound(9_999)
    ));
    assert_eq!(
        s.get(again[0].id).await.unwrap().unwrap().state,
        EventState::Delivering
    );
    // Refusals counted before a delivery that proved false are forgotten: a fresh budget.
    s.insert_events(&[ev_to("d", 8, 0)]).await.unwrap();
    let d = s.claim_due("d", "i", 1, LEASE).await.unwrap();
    s.mark_retry(&claim(&d[0]), RetryKind::Refused, "ERR_X", Duration::ZERO)
        .await
        .unwrap();
    let d = s.claim_due("d", "i", 1, LEASE).await.unwrap();
    assert_eq!(d[0].attempts, 1);
    s.mark_delivered(d[0].id, Some("tx8"), None).await.unwrap();
    s.reopen_delivered(d[0].id, "ERR_NOT_DELIVERED: x", 2)
        .await
        .unwrap();
    let e = s.get(d[0].id).await.unwrap().unwrap();
    assert_eq!((e.attempts, e.reopens()), (0, 2));
    counts_match_rows(s.as_ref(), &["b", "c", "d"]).await;
}

pub(crate) async fn counts_oldest_and_retention_follow_every_transition(b: &dyn Backend) {
    let (s, peer) = (b.handle().await, b.handle().await);
    assert_eq!(s.counts(None).await.unwrap(), StateCounts::default());
    assert_eq!(s.oldest_open("b").await.unwrap(), None);
    let (t0, r, t1) = timed(s.as_ref(), s.insert_events(&[ev(1, 0)])).await;
    r.unwrap();
    b.advance(Duration::from_millis(1_100)).await;
    let (p0, r, p1) = timed(
        peer.as_ref(),
        peer.insert_events(&[ev(2, 0), ev(3, 0), ev_to("c", 4, 0)]),
    )
    .await;
    r.unwrap();
    let oldest = s.oldest_open("b").await.unwrap().unwrap();
    within(
        oldest,
        t0,
        t1,
        "oldest open is the first event's created_at",
    );
    let c = s.claim_due("b", "i", 1, LEASE).await.unwrap();
    assert_eq!(
        s.oldest_open("b").await.unwrap(),
        Some(oldest),
        "delivering is still open"
    );
    let f = peer.claim_due("b", "j", 1, LEASE).await.unwrap();
    peer.mark_failed(&claim(&f[0]), "ERR_X").await.unwrap();
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 1,
            delivering: 1,
            delivered: 0,
            failed: 1
        }
    );
    assert_eq!(
        peer.counts(None).await.unwrap(),
        StateCounts {
            pending: 2,
            delivering: 1,
            delivered: 0,
            failed: 1
        }
    );
    assert_eq!(s.counts(Some("c")).await.unwrap().pending, 1);
    s.mark_delivered(c[0].id, None, None).await.unwrap();
    let later = s.oldest_open("b").await.unwrap().unwrap();
    assert!(later > oldest, "{later} > {oldest}");
    within(later, p0, p1, "then the next open event's created_at");
    assert_eq!(peer.requeue_failed(Some("c")).await.unwrap(), 0);
    assert_eq!(peer.requeue_failed(None).await.unwrap(), 1);
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 2,
            delivering: 0,
            delivered: 1,
            failed: 0
        }
    );
    counts_match_rows(s.as_ref(), &["b", "c"]).await;

    // Retention: delivered rows older than the limit go, with all but each destination's
    // newest relay record and settled submission.
    for h in [10, 11] {
        s.record_relayed_block(&RelayedBlock {
            dest_chain: "b".into(),
            height: h,
            hash: CryptoHash([h as u8; 32]),
            epoch_id: CryptoHash([2; 32]),
            tx_hash: None,
            relayed_at: s.now_ms().await.unwrap(),
        })
        .await
        .unwrap();
    }
    assert!(s
        .try_lease("relay", "me", Duration::from_secs(3600))
        .await
        .unwrap());
    for (h, tx) in [(10u64, "T10"), (11, "T11")] {
        s.record_relay_submission(&fence("relay", "me"), &submission("b", h, tx, "me"))
            .await
            .unwrap();
        s.set_submission_status("b", tx, SubmissionStatus::Landed)
            .await
            .unwrap();
    }
    let keep = Duration::from_millis(1_500);
    assert_eq!(s.prune(keep, 100).await.unwrap(), 0, "not old enough yet");
    b.advance(keep + Duration::from_millis(100)).await;
    assert_eq!(s.prune(keep, 100).await.unwrap(), 1);
    assert!(s.get(c[0].id).await.unwrap().is_none());
    assert_eq!(
        s.counts(Some("b")).await.unwrap(),
        StateCounts {
            pending: 2,
            ..Default::default()
        }
    );
    let left = s.relayed_blocks("b", 0, 10).await.unwrap();
    assert_eq!(left.iter().map(|b| b.height).collect::<Vec<_>>(), vec![11]);
    assert_eq!(
        s.newest_included_submission("b")
            .await
            .unwrap()
            .map(|x| x.tx_hash),
        Some("T11".to_string())
    );
}

pub(crate) async fn a_named_lease_has_one_holder_until_it_expires(b: &dyn Backend) {
    let (s, peer) = (b.handle().await, b.handle().await);
    let (t0, got, t1) = timed(s.as_ref(), s.try_lease("indexer:a", "i1", LEASE)).await;
    assert!(got.unwrap());
    let l = s.leases("indexer:").await.unwrap();
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].name.as_str(), l[0].owner.as_str()),
        ("indexer:a", "i1")
    );
    within(l[0].until, t0 + 2_000, t1 + 2_000, "lease until");
    assert!(
        s.try_lease("indexer:a", "i1", LEASE).await.unwrap(),
        "renewal"
    );
    assert!(!peer.try_lease("indexer:a", "i2", LEASE).await.unwrap());
    assert!(
        peer.try_lease("indexer:b", "i2", LEASE).await.unwrap(),
        "another name"
    );
    b.advance(LEASE).await;
    assert!(
        peer.try_lease("indexer:a", "i2", LEASE).await.unwrap(),
        "expired: taken over"
    );
    assert!(!s.try_lease("indexer:a", "i1", LEASE).await.unwrap());
    assert_eq!(
        s.leases("indexer:a").await.unwrap()[0].owner,
        "i2".to_string()
    );
    // A release by someone else does nothing; the holder's frees it at once.
    assert!(!s.release_lease("indexer:a", "i1").await.unwrap());
    assert!(!s.try_lease("indexer:a", "i1", LEASE).await.unwrap());
    assert!(peer.release_lease("indexer:a", "i2").await.unwrap());
    assert!(s.try_lease("indexer:a", "i1", LEASE).await.unwrap());
    assert_eq!(
        s.leases("").await.unwrap().len(),
        2,
        "an empty prefix lists every lease"
    );
    assert!(s.leases("relay:").await.unwrap().is_empty());
    // Names with LIKE metacharacters are not patterns.
    assert!(s.try_lease("x%_", "i1", LEASE).await.unwrap());
    assert_eq!(s.leases("x%").await.unwrap().len(), 1);
    assert!(s.leases("x_").await.unwrap().is_empty());
}

/// A fenced write happens only while its lease is held: never after it expired or was taken
/// over, and a refused write leaves no trace.
pub(crate) async fn fenced_writes_need_the_lease(b: &dyn Backend) {
    let (old, new) = (b.handle().await, b.handle().await);
    let f_old = fence("indexer:a", "old");
    let c1 = Cursor {
        height: 10,
        hash: Some(CryptoHash([1; 32])),
    };
    // Not held at all.
    let e = old
        .record_indexed_fenced(&f_old, "a", c1, &[ev(1, 0)])
        .await
        .unwrap_err();
    assert!(
        matches!(&e, QueueError::LeaseNotHeld { name, owner } if name == "indexer:a" && owner == "old"),
        "{e}"
    );
    assert_eq!(old.cursor("a").await.unwrap(), None);
    assert!(
        old.list(&all()).await.unwrap().is_empty(),
        "nothing written"
    );
    // Held: written.
    assert!(old.try_lease("indexer:a", "old", LEASE).await.unwrap());
    assert_eq!(
        old.record_indexed_fenced(&f_old, "a", c1, &[ev(1, 0)])
            .await
            .unwrap(),
        1
    );
    assert_eq!(new.cursor("a").await.unwrap(), Some(c1));
    // Expired (not renewed): refused even before anyone took it over.
    b.advance(LEASE).await;
    let c2 = Cursor {
        height: 20,
        hash: Some(CryptoHash([2; 32])),
    };
    assert!(matches!(
        old.record_indexed_fenced(&f_old, "a", c2, &[ev(2, 0)])
            .await
            .unwrap_err(),
        QueueError::LeaseNotHeld { .. }
    ));
    // Taken over: the new holder writes, the old one stays refused.
    assert!(new.try_lease("indexer:a", "new", LEASE).await.unwrap());
    let f_new = fence("indexer:a", "new");
    new.record_indexed_fenced(&f_new, "a", c2, &[ev(2, 0)])
        .await
        .unwrap();
    assert!(matches!(
        old.record_indexed_fenced(
            &f_old,
            "a",
            Cursor {
                height: 15,
                hash: None
            },
            &[ev(3, 0)]
        )
        .await
        .unwrap_err(),
        QueueError::LeaseNotHeld { .. }
    ));
    assert_eq!(old.cursor("a").await.unwrap(), Some(c2), "never moved back");
    assert!(old.find(&ev(3, 0).key).await.unwrap().is_none());
    // Relay submissions: the same fence.
    let f_relay = fence("relay:a->b", "new");
    assert!(matches!(
        new.record_relay_submission(&f_relay, &submission("b", 50, "T50", "new"))
            .await
            .unwrap_err(),
        QueueError::LeaseNotHeld { .. }
    ));
    assert!(new.open_submissions("b").await.unwrap().is_empty());
    assert!(new.try_lease("relay:a->b", "new", LEASE).await.unwrap());
    new.record_relay_submission(&f_relay, &submission("b", 50, "T50", "new"))
        .await
        .unwrap();
    // The same lease named with another owner is not held.
    assert!(matches!(
        old.record_relay_submission(
            &fence("relay:a->b", "old"),
            &submission("b", 51, "T51", "old")
        )
        .await
        .unwrap_err(),
        QueueError::LeaseNotHeld { .. }
    ));
    assert_eq!(new.open_submissions("b").await.unwrap().len(), 1);
}

pub(crate) async fn relay_submissions_move_forward_only(b: &dyn Backend) {
    let (s, peer) = (b.handle().await, b.handle().await);
    assert!(s
        .try_lease("relay", "i1", Duration::from_secs(3600))
        .await
        .unwrap());
    let f = fence("relay", "i1");
    assert!(s.open_submissions("b").await.unwrap().is_empty());
    assert!(s.newest_included_submission("b").await.unwrap().is_none());
    let (t0, r, t1) = timed(
        s.as_ref(),
        s.record_relay_submission(&f, &submission("b", 100, "T100", "i1")),
    )
    .await;
    r.unwrap();
    s.record_relay_submission(&f, &submission("b", 101, "T101", "i1"))
        .await
        .unwrap();
    s.record_relay_submission(&f, &submission("c", 7, "T7", "i1"))
        .await
        .unwrap();
    // Recording the same transaction again changes nothing.
    let mut dup = submission("b", 100, "T100", "i1");
    dup.signed_tx = "other".into();
    s.record_relay_submission(&f, &dup).await.unwrap();
    // Another instance sees them, lowest first, every field as written.
    let open = peer.open_submissions("b").await.unwrap();
    assert_eq!(
        open.iter().map(|x| x.tx_hash.as_str()).collect::<Vec<_>>(),
        vec!["T100", "T101"]
    );
    let first = &open[0];
    let want = submission("b", 100, "T100", "i1");
    assert_eq!(
        (
            &first.head,
            first.signed_tx.as_str(),
            first.signer.as_str(),
            first.status,
            first.height
        ),
        (
            &want.head,
            "base64-of-T100",
            "relayer.test.near",
            SubmissionStatus::Signed,
            100
        )
    );
    within(
        first.created_at,
        t0,
        t1,
        "created_at from the store's clock",
    );
    assert!(
        peer.newest_included_submission("b")
            .await
            .unwrap()
            .is_none(),
        "signed is not yet a head anyone may use"
    );
    peer.set_submission_status("b", "T100", SubmissionStatus::Included)
        .await
        .unwrap();
    assert_eq!(
        s.newest_included_submission("b")
            .await
            .unwrap()
            .map(|x| (x.height, x.status)),
        Some((100, SubmissionStatus::Included))
    );
    s.set_submission_status("b", "T100", SubmissionStatus::Landed)
        .await
        .unwrap();
    // Final: neither back to included nor to failed.
    s.set_submission_status("b", "T100", SubmissionStatus::Included)
        .await
        .unwrap();
    s.set_submission_status("b", "T100", SubmissionStatus::Failed)
        .await
        .unwrap();
    s.set_submission_status("b", "T101", SubmissionStatus::Failed)
        .await
        .unwrap();
    s.set_submission_status("b", "T101", SubmissionStatus::Landed)
        .await
        .unwrap();
    assert!(s.open_submissions("b").await.unwrap().is_empty());
    let newest = s.newest_included_submission("b").await.unwrap().unwrap();
    assert_eq!(
        (newest.tx_hash.as_str(), newest.status),
        ("T100", SubmissionStatus::Landed),
        "a failed submission is never a head"
    );
    assert_eq!(s.open_submissions("c").await.unwrap().len(), 1);
    assert!(matches!(
        s.set_submission_status("b", "Unknown", SubmissionStatus::Landed)
            .await
            .unwrap_err(),
        QueueError::NotFound(_)
    ));
    // Status moves are forward only, whatever the order they arrive in.
    for from in SubmissionStatus::ALL {
        for to in SubmissionStatus::ALL {
            let ok = from.may_become(to);
            let fwd = matches!(
                (from, to),
                (SubmissionStatus::Signed, SubmissionStatus::Included)
                    | (SubmissionStatus::Signed, SubmissionStatus::Landed)
                    | (SubmissionStatus::Signed, SubmissionStatus::Failed)
                    | (SubmissionStatus::Included, SubmissionStatus::Landed)
                    | (SubmissionStatus::Included, SubmissionStatus::Failed)
            );
            assert_eq!(ok, fwd, "{from:?} -> {to:?}");
        }
    }
}

pub(crate) async fn the_highest_open_proof_block_is_known(b: &dyn Backend) {
    let s = b.handle().await;
    assert_eq!(s.open_max_block_height("b").await.unwrap(), None);
    s.insert_events(&[ev(1, 0), ev(5, 0), ev(3, 0), ev_to("c", 9, 0)])
        .await
        .unwrap();
    assert_eq!(s.open_max_block_height("b").await.unwrap(), Some(105));
    assert_eq!(s.open_max_block_height("c").await.unwrap(), Some(109));
    // Delivering is still open; delivered and failed are not.
    let c = s.claim_due("b", "i", 3, LEASE).await.unwrap();
    assert_eq!(s.open_max_block_height("b").await.unwrap(), Some(105));
    let by_height = |h: u64| c.iter().find(|e| e.block_height == h).unwrap().clone();
    s.mark_delivered(by_height(105).id, None, None)
        .await
        .unwrap();
    assert_eq!(s.open_max_block_height("b").await.unwrap(), Some(103));
    s.mark_failed(&claim(&by_height(103)), "ERR").await.unwrap();
    s.mark_delivered(by_height(101).id, None, None)
        .await
        .unwrap();
    assert_eq!(s.open_max_block_height("b").await.unwrap(), None);
}

pub(crate) async fn responses_are_found_by_the_outcomes_of_a_delivery(b: &dyn Backend) {
    let s = b.handle().await;
    s.insert_events(&[ev(2, 0), ev(1, 1), ev(1, 0)])
        .await
        .unwrap();
    let found = s
        .find_by_outcomes("a", &[CryptoHash([1; 32]), CryptoHash([9; 32])])
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|e| (e.key.outcome_id.0[0], e.key.event_index))
            .collect::<Vec<_>>(),
        vec![(1, 0), (1, 1)]
    );
    // In the order the outcomes are given.
    let found = s
        .find_by_outcomes("a", &[CryptoHash([2; 32]), CryptoHash([1; 32])])
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|e| (e.key.outcome_id.0[0], e.key.event_index))
            .collect::<Vec<_>>(),
        vec![(2, 0), (1, 0), (1, 1)]
    );
    assert!(s
        .find_by_outcomes("b", &[CryptoHash([1; 32])])
        .await
        .unwrap()
        .is_empty());
    assert!(s.find_by_outcomes("a", &[]).await.unwrap().is_empty());
}

pub(crate) async fn lists_page_by_state_and_destination(b: &dyn Backend) {
    let s = b.handle().await;
    let events: Vec<NewEvent> = (1..=6u8)
        .map(|i| ev_to(if i % 2 == 0 { "b" } else { "c" }, i, 0))
        .collect();
    s.insert_events(&events).await.unwrap();
    let c = s.claim_due("b", "i", 1, LEASE).await.unwrap();
    let page1 = s
        .list(&ListFilter {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    let page2 = s
        .list(&ListFilter {
            limit: 10,
            after_id: Some(page1[1].id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((page1.len(), page2.len()), (2, 4));
    assert!(page1[1].id < page2[0].id);
    let b_pending = s
        .list(&ListFilter {
            state: Some(EventState::Pending),
            dest_chain: Some("b".into()),
            limit: 10,
            after_id: None,
        })
        .await
        .unwrap();
    assert_eq!(b_pending.len(), 2);
    assert!(b_pending.iter().all(|e| e.dest_chain == "b"));
    let delivering = s
        .list(&ListFilter::state(EventState::Delivering, 10))
        .await
        .unwrap();
    assert_eq!(
        delivering.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![c[0].id]
    );
}

/// Text from outside (an error the chain returned, a payload) with a NUL character is stored,
/// not refused (a refused write would stall a delivery or the indexer forever).
pub(crate) async fn text_with_a_nul_character_is_stored(b: &dyn Backend) {
    let s = b.handle().await;
    let mut e = ev(1, 0);
    e.payload = json!({"dst": "x\u{0}y", "nsn": 1});
    assert_eq!(s.insert_events(&[e.clone()]).await.unwrap(), 1);
    let stored = s.find(&e.key).await.unwrap().unwrap();
    assert_eq!(stored.payload, e.payload, "JSON escapes the NUL: exact");
    let c = s.claim_due("b", "i", 1, LEASE).await.unwrap();
    let err = "Smart contract panicked: bad\u{0}name";
    s.mark_retry(&claim(&c[0]), RetryKind::Refused, err, Duration::ZERO)
        .await
        .unwrap();
    let got = s.get(c[0].id).await.unwrap().unwrap().last_error.unwrap();
    assert_eq!(
        got.replace('\u{FFFD}', "\u{0}"),
        err,
        "kept, with at most the NUL replaced"
    );
}

pub(crate) async fn data_survives_a_new_handle(b: &dyn Backend) {
    {
        let s = b.handle().await;
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
        // Upsert: the same height again replaces the record.
        s.record_relayed_block(&RelayedBlock {
            dest_chain: "b".into(),
            height: 130,
            hash: CryptoHash([9; 32]),
            epoch_id: CryptoHash([8; 32]),
            tx_hash: Some("RelayTx2".into()),
            relayed_at: 2,
        })
        .await
        .unwrap();
    }
    let s = b.handle().await;
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
    assert_eq!(
        (
            last.height,
            last.hash,
            last.tx_hash.as_deref(),
            last.relayed_at
        ),
        (130, CryptoHash([9; 32]), Some("RelayTx2"), 2)
    );
    assert_eq!(s.relayed_blocks("b", 0, 10).await.unwrap().len(), 1);
    assert!(s.relayed_blocks("b", 131, 10).await.unwrap().is_empty());
    assert!(s.last_relayed_block("a").await.unwrap().is_none());
}

/// Several instances claim, settle and retry the same destination at once: every event is
/// handed out to one claimer at a time, and ends delivered exactly once.
pub(crate) async fn concurrent_instances_never_hold_an_event_twice(b: &dyn Backend) {
    const N: u32 = 300;
    let first = b.handle().await;
    let events: Vec<NewEvent> = (0..N).map(|i| ev((i % 250) as u8, i)).collect();
    first.insert_events(&events).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..3 {
        let s = b.handle().await;
        for t in 0..2 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let owner = format!("instance{w}");
                let mut delivered = Vec::new();
                let mut round = 0u32;
                loop {
                    let c = s.claim_due("b", &owner, 7, LEASE).await.unwrap();
                    if c.is_empty() {
                        let open = s.counts(Some("b")).await.unwrap();
                        if open.pending == 0 && open.delivering == 0 {
                            return delivered;
                        }
                        tokio::task::yield_now().await;
                        continue;
                    }
                    for e in c {
                        round += 1;
                        // Every third one is retried once (a temporary failure), the rest
                        // delivered.
                        if e.temp_failures == 0 && (round + t).is_multiple_of(3) {
                            s.mark_retry(&claim(&e), RetryKind::Temporary, "rpc", Duration::ZERO)
                                .await
                                .unwrap();
                        } else {
                            s.set_delivery_tx(&claim(&e), &format!("tx{}", e.id))
                                .await
                                .unwrap();
                            s.mark_delivered(e.id, None, None).await.unwrap();
                            delivered.push(e.id);
                        }
                    }
                }
            }));
        }
    }
    let mut all_ids = Vec::new();
    for t in tasks {
        all_ids.extend(t.await.unwrap());
    }
    let n = all_ids.len();
    let unique: HashSet<i64> = all_ids.into_iter().collect();
    assert_eq!(
        (n, unique.len()),
        (N as usize, N as usize),
        "each delivered once"
    );
    assert_eq!(
        first.counts(Some("b")).await.unwrap(),
        StateCounts {
            delivered: N as u64,
            ..Default::default()
        }
    );
    let rows = first.list(&all()).await.unwrap();
    assert!(rows
        .iter()
        .all(|e| e.delivery_tx.as_deref() == Some(&format!("tx{}", e.id)[..])));
}

/// Run every test of the suite against a backend made by `$make` (an async fn returning a
/// [`Backend`]); with `ignored`, the tests are `#[ignore]`d (a server is needed).
macro_rules! store_suite {
    ($make:path) => {
        store_suite!(@list $make, []);
    };
    ($make:path, ignored) => {
        store_suite!(@list $make, [#[ignore = "needs PostgreSQL: XSC_TEST_POSTGRES_URL (scripts/test.sh starts a throw-away server)"]]);
    };
    // The suite's tests, named once for every backend.
    (@list $make:path, $attr:tt) => {
        store_suite!(@each $make, $attr,
            insert_is_idempotent,
            indexing_moves_cursor_and_events_together,
            claims_are_leases_and_every_step_names_its_claim,
            an_expired_claim_returns_to_the_pool_and_fences_its_old_holder,
            releasing_claims_touches_only_that_instances_claims,
            counts_oldest_and_retention_follow_every_transition,
            a_recorded_delivery_the_destination_does_not_know_is_reopened,
            a_named_lease_has_one_holder_until_it_expires,
            fenced_writes_need_the_lease,
            relay_submissions_move_forward_only,
            the_highest_open_proof_block_is_known,
            responses_are_found_by_the_outcomes_of_a_delivery,
            lists_page_by_state_and_destination,
            text_with_a_nul_character_is_stored,
            data_survives_a_new_handle,
            concurrent_instances_never_hold_an_event_twice
        );
    };
    (@each $make:path, $attr:tt, $($name:ident),*) => {
        $(
            store_suite!(@one $make, $attr, $name);
        )*
    };
    (@one $make:path, [$($attr:tt)*], $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($attr)*
        async fn $name() {
            let b = $make().await;
            super::$name(&b).await;
        }
    };
}
pub(crate) use store_suite;
