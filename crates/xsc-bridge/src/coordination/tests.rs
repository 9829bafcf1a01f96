use super::*;
use crate::queue::SqliteStore;
use crate::rpc::{RetryPolicy, RpcClientConfig};
use crate::testutil::{fixture_result, handler_error, MockRpc, Reply};
use serde_json::json;

fn store() -> Arc<dyn MessageStore> {
    Arc::new(SqliteStore::open_in_memory().unwrap())
}

fn rpc(url: &str) -> RpcClient {
    RpcClient::new(RpcClientConfig {
        timeout: Duration::from_secs(5),
        retry: RetryPolicy::none(),
        ..RpcClientConfig::new(url)
    })
    .unwrap()
}

const TTL: Duration = Duration::from_millis(800);

#[tokio::test]
async fn a_role_has_one_holder_and_moves_when_the_holder_stops_renewing() {
    let s = store();
    let a = RoleLease::new(s.clone(), "relay:x->y", "a", TTL);
    let b = RoleLease::new(s.clone(), "relay:x->y", "b", TTL);
    assert!(!a.held() && !b.held());
    assert!(a.tick().await);
    assert!(a.held());
    assert!(!b.tick().await, "one holder at a time");
    assert!(!b.held());
    assert_eq!(
        a.fence(),
        Fence {
            name: "relay:x->y".into(),
            owner: "a".into()
        }
    );
    // `a` stops renewing (killed): it stops acting before the database lets `b` in.
    tokio::time::sleep(TTL - TTL / 4).await;
    assert!(!a.held(), "the holder stops acting a margin before expiry");
    assert!(!b.tick().await, "not expired in the database yet");
    tokio::time::sleep(TTL / 4 + Duration::from_millis(50)).await;
    assert!(b.tick().await, "taken over after expiry");
    assert!(!a.tick().await, "the old holder learns it lost the role");
    // A graceful stop hands it over at once.
    b.release().await;
    assert!(!b.held());
    assert!(a.tick().await);
}

#[tokio::test]
async fn a_standby_takes_over_within_a_lease_and_a_stopped_holder_releases() {
    let s = store();
    let a = RoleLease::new(s.clone(), "indexer:x", "a", TTL);
    let b = RoleLease::new(s.clone(), "indexer:x", "b", TTL);
    let (stop_a, rx_a) = watch::channel(false);
    let (stop_b, rx_b) = watch::channel(false);
    let ta = tokio::spawn(a.clone().run(rx_a));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let tb = tokio::spawn(b.clone().run(rx_b));
    // While `a` renews, `b` never gets it.
    for _ in 0..10 {
        tokio::time::sleep(TTL / 4).await;
        assert!(a.held() && !b.held());
    }
    // `a` dies without releasing: `b` holds it within a lease and a poll.
    ta.abort();
    let died = Instant::now();
    let mut rx = b.watch();
    tokio::time::timeout(TTL * 3, rx.wait_for(|h| *h))
        .await
        .expect("taken over")
        .unwrap();
    assert!(died.elapsed() <= TTL + TTL / 3 + Duration::from_millis(300));
    assert!(!a.held());
    // `b` stops gracefully: released at once, `a` (back) takes it at its first tick.
    stop_b.send(true).unwrap();
    tb.await.unwrap();
    assert!(!b.held());
    assert!(a.tick().await);
    drop(stop_a);
}

#[tokio::test]
async fn a_second_live_instance_with_the_same_id_or_a_shared_key_is_refused() {
    let s = store();
    let keys = vec![
        ("a".to_string(), "ed25519:K1".to_string()),
        ("b".to_string(), "ed25519:K2".to_string()),
    ];
    let first = Instance::register(s.clone(), "relayer-1", &keys, TTL, false)
        .await
        .unwrap();
    let (stop, rx) = watch::channel(false);
    let first = Arc::new(first);
    let running = {
        let f = first.clone();
        tokio::spawn(async move { f.run(rx).await })
    };
    // The same id again, while the first is alive: refused after waiting a lease.
    let e = Instance::register(s.clone(), "relayer-1", &[], TTL, false)
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(&e, RegisterError::DuplicateInstance { id, holder } if id == "relayer-1" && holder.contains("relayer-1 (pid")),
        "{e}"
    );
    // Another id with one of the first one's keys: refused, naming the holder; it keeps no
    // lease of its own behind.
    let e = Instance::register(
        s.clone(),
        "relayer-2",
        &[
            ("b".into(), "ed25519:K3".into()),
            ("b".into(), "ed25519:K2".into()),
        ],
        TTL,
        false,
    )
    .await
    .err()
    .expect("refused");
    assert!(
        matches!(&e, RegisterError::SharedKey { chain, key, holder } if chain == "b" && key == "ed25519:K2" && holder == "relayer-1"),
        "{e}"
    );
    assert!(s
        .leases("")
        .await
        .unwrap()
        .iter()
        .all(|l| l.owner.starts_with("relayer-1")));
    // Its own keys: fine.
    let second = Instance::register(
        s.clone(),
        "relayer-2",
        &[("b".into(), "ed25519:K3".into())],
        TTL,
        false,
    )
    .await
    .unwrap();
    assert_eq!(second.keys.len(), 1);
    // The first stops: its id and keys are free for a successor at once.
    stop.send(true).unwrap();
    assert!(running.await.unwrap(), "stopped normally");
    let again = Instance::register(s.clone(), "relayer-1", &keys, TTL, false)
        .await
        .unwrap();
    assert_eq!(again.keys.len(), 2);
}

#[tokio::test]
async fn with_one_process_per_database_a_dead_predecessors_registration_is_taken_at_once() {
    let s = store();
    let first = Instance::register(s.clone(), "r", &[("a".into(), "K".into())], TTL * 10, true)
        .await
        .unwrap();
    std::mem::forget(first); // killed: its registration is left unexpired
    let started = Instant::now();
    Instance::register(s.clone(), "r", &[("a".into(), "K".into())], TTL * 10, true)
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_millis(500), "no wait");
    // Shared databases never do that: a live-looking registration is waited for.
    let e = Instance::register(s.clone(), "r", &[], TTL, false)
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, RegisterError::DuplicateInstance { .. }), "{e}");
}

#[tokio::test]
async fn a_dead_instances_name_is_free_after_its_lease() {
    let s = store();
    let first = Instance::register(s.clone(), "r", &[("a".into(), "K".into())], TTL, false)
        .await
        .unwrap();
    // Killed: never renewed, never released. Its successor waits for the lease, then starts.
    std::mem::forget(first);
    let started = Instant::now();
    Instance::register(s.clone(), "r", &[("a".into(), "K".into())], TTL, false)
        .await
        .unwrap();
    assert!(started.elapsed() < TTL + Duration::from_millis(600));
}

fn head(height: u64) -> Head {
    Head {
        height,
        hash: xsc_core::CryptoHash([height as u8; 32]),
        epoch_id: xsc_core::CryptoHash([1; 32]),
        next_epoch_id: xsc_core::CryptoHash([2; 32]),
        block_merkle_root: xsc_core::CryptoHash([3; 32]),
        timestamp: height,
    }
}

/// A submission recorded by `owner` (holding the relay lease) with transaction `tx`.
async fn recorded(s: &Arc<dyn MessageStore>, owner: &str, height: u64, tx: u8) -> String {
    let hash = xsc_core::CryptoHash([tx; 32]).to_string();
    assert!(s.try_lease("relay:a->b", owner, TTL).await.unwrap());
    s.record_relay_submission(
        &Fence {
            name: "relay:a->b".into(),
            owner: owner.into(),
        },
        &RelaySubmission {
            dest_chain: "b".into(),
            height,
            head: head(height),
            tx_hash: hash.clone(),
            signer: "relayer.test.near".into(),
            signed_tx: format!("SIGNED{tx}"),
            owner: owner.into(),
            status: SubmissionStatus::Signed,
            created_at: 0,
            updated_at: 0,
        },
    )
    .await
    .unwrap();
    assert!(s.release_lease("relay:a->b", owner).await.unwrap());
    hash
}

async fn status_of(s: &Arc<dyn MessageStore>, tx: &str) -> Option<SubmissionStatus> {
    if let Some(x) = s
        .open_submissions("b")
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.tx_hash == tx)
    {
        return Some(x.status);
    }
    s.newest_included_submission("b")
        .await
        .unwrap()
        .filter(|x| x.tx_hash == tx)
        .map(|x| x.status)
}

/// The relay guard of a new instance `new` that took the relay lease of direction a → b.
async fn new_holder(s: &Arc<dyn MessageStore>, url: &str) -> Arc<RelayGuard> {
    let lease = RoleLease::new(s.clone(), "relay:a->b", "new", TTL);
    assert!(lease.tick().await);
    RelayGuard::new(s.clone(), lease, "b", rpc(url))
}

/// A node refusing a transaction whose reference block is too old.
fn expired_tx() -> Reply {
    Reply::Error(json!({"name": "HANDLER_ERROR",
        "cause": {"name": "INVALID_TRANSACTION", "info": {}},
        "code": -32000, "message": "Server error",
        "data": {"TxExecutionError": {"InvalidTxError": "Expired"}}}))
}

fn unknown_tx() -> Reply {
    Reply::Error(handler_error(
        "UNKNOWN_TRANSACTION",
        "Transaction is not found",
    ))
}

#[tokio::test]
async fn a_dead_holders_unsent_block_is_sent_again_as_the_same_bytes_before_anything_new() {
    let s = store();
    let tx = recorded(&s, "dead", 100, 7).await;
    // The node never saw it: re-sent (the recorded bytes, nothing signed anew), then executed.
    let mock = MockRpc::start(|n, method, params| match (n, method) {
        (0, "tx") => unknown_tx(),
        (_, "send_tx") => {
            assert_eq!(params["signed_tx_base64"], "SIGNED7");
            Reply::Result(json!({"final_execution_status": "INCLUDED"}))
        }
        (_, "tx") => Reply::Result(fixture_result("tx-success.json")),
        _ => panic!("unexpected {method}"),
    })
    .await;
    let g = new_holder(&s, &mock.url).await;
    assert!(g.shared_head().await.is_none(), "signed is not a head");
    g.settle().await.unwrap();
    let methods: Vec<String> = mock.recorded().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, vec!["tx", "send_tx", "tx"]);
    assert_eq!(status_of(&s, &tx).await, Some(SubmissionStatus::Landed));
    assert_eq!(g.shared_head().await.map(|h| h.height), Some(100));
    // Settled: nothing more to do.
    g.settle().await.unwrap();
    assert_eq!(mock.count(), 3);
}

#[tokio::test]
async fn a_block_whose_status_query_times_out_is_sent_again_not_waited_on_forever() {
    // A node that waits for execution before answering `tx` (nearcore 2.x asked without
    // `wait_until`) answers a transaction it never saw with TIMEOUT_ERROR, never with
    // UNKNOWN_TRANSACTION: the recorded bytes must still be sent again (a relay killed between
    // recording and sending stalled every later block on this).
    let s = store();
    let tx = recorded(&s, "dead", 100, 7).await;
    let mock = MockRpc::start(|n, method, params| match (n, method) {
        (0, "tx") => Reply::Error(handler_error("TIMEOUT_ERROR", "Timeout")),
        (_, "send_tx") => {
            assert_eq!(params["signed_tx_base64"], "SIGNED7");
            expired_tx()
        }
        (_, "tx") => Reply::Error(handler_error("TIMEOUT_ERROR", "Timeout")),
        _ => panic!("unexpected {method}"),
    })
    .await;
    let g = new_holder(&s, &mock.url).await;
    g.settle().await.unwrap();
    let methods: Vec<String> = mock.recorded().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, vec!["tx", "send_tx", "tx"]);
    assert_eq!(status_of(&s, &tx).await, None, "expired: failed, not open");
    assert!(s.open_submissions("b").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_block_transaction_that_can_never_execute_is_marked_failed() {
    let s = store();
    let tx = recorded(&s, "dead", 100, 7).await;
    let mock = MockRpc::start(|_, method, _| match method {
        "tx" => unknown_tx(),
        "send_tx" => expired_tx(),
        _ => panic!("unexpected {method}"),
    })
    .await;
    let g = new_holder(&s, &mock.url).await;
    g.settle().await.unwrap();
    assert_eq!(status_of(&s, &tx).await, None, "neither open nor a head");
    assert!(s.open_submissions("b").await.unwrap().is_empty());
    assert!(g.shared_head().await.is_none());
}

#[tokio::test]
async fn an_executed_or_refused_transaction_is_read_not_sent_again() {
    let s = store();
    let ok = recorded(&s, "dead", 100, 7).await;
    let refused = recorded(&s, "dead", 101, 8).await;
    let (ok2, refused2) = (ok.clone(), refused.clone());
    let mock = MockRpc::start(move |_, method, params| {
        let h = params["tx_hash"].as_str().unwrap_or_default().to_string();
        match method {
            "tx" if h == ok2 => Reply::Result(fixture_result("tx-success.json")),
            "tx" if h == refused2 => Reply::Result(json!({
                "final_execution_status": "FINAL",
                "status": {"Failure": {"ActionError": {"index": 0, "kind": {"FunctionCallError": {"ExecutionError": "Smart contract panicked: ERR_BLOCK_NOT_NEWER"}}}}},
                "transaction_outcome": {"id": h, "outcome": {"logs": [], "receipt_ids": [], "gas_burnt": 1, "tokens_burnt": "0", "executor_id": "relayer.test.near", "status": {"SuccessValue": ""}}, "block_hash": h, "proof": []},
                "receipts_outcome": []
            })),
            _ => panic!("unexpected {method} {params}"),
        }
    })
    .await;
    let g = new_holder(&s, &mock.url).await;
    g.settle().await.unwrap();
    assert!(
        mock.recorded().iter().all(|r| r.method == "tx"),
        "nothing re-sent"
    );
    assert_eq!(status_of(&s, &ok).await, Some(SubmissionStatus::Landed));
    assert_eq!(
        g.shared_head().await.map(|h| h.height),
        Some(100),
        "101 failed"
    );
}

#[tokio::test]
async fn while_the_fate_of_a_block_is_unknown_nothing_may_be_submitted() {
    let s = store();
    let tx = recorded(&s, "dead", 100, 7).await;
    let mock = MockRpc::start(|_, _, _| Reply::Http(503, "down".into())).await;
    let g = new_holder(&s, &mock.url).await;
    assert!(g.settle().await.is_err());
    assert_eq!(status_of(&s, &tx).await, Some(SubmissionStatus::Signed));
}

#[tokio::test]
async fn only_the_holder_records_and_its_own_submissions_are_not_settled_twice() {
    let s = store();
    let mock = MockRpc::start(|_, method, _| panic!("no RPC expected: {method}")).await;
    let lease = RoleLease::new(s.clone(), "relay:a->b", "me", TTL);
    let g = RelayGuard::new(s.clone(), lease.clone(), "b", rpc(&mock.url));
    let signer = crate::signer::TxSigner::from_seed("relayer.test.near", "k").unwrap();
    let tx =
        crate::tx::PreparedTx::new(signer.sign(near_primitives::transaction::Transaction::V0(
            near_primitives::transaction::TransactionV0 {
                signer_id: "relayer.test.near".parse().unwrap(),
                public_key: signer.public_key(),
                nonce: 5,
                receiver_id: "lc.b".parse().unwrap(),
                block_hash: near_primitives::hash::CryptoHash::default(),
                actions: vec![],
            },
        )));
    // Not the holder: refused, nothing recorded.
    assert!(!g.may_submit());
    assert!(g.record(&tx, &head(100)).await.is_err());
    assert!(s.open_submissions("b").await.unwrap().is_empty());
    assert!(lease.tick().await);
    g.record(&tx, &head(100)).await.unwrap();
    let open = s.open_submissions("b").await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            open[0].signed_tx.as_str(),
            open[0].signer.as_str(),
            open[0].owner.as_str()
        ),
        (tx.base64.as_str(), "relayer.test.near", "me")
    );
    // Its own, followed: settle leaves it alone (no RPC).
    g.settle().await.unwrap();
    let hash = tx.hash.to_string();
    g.included(&hash).await;
    assert_eq!(g.shared_head().await.map(|h| h.height), Some(100));
    g.settled(&hash, true).await;
    assert!(s.open_submissions("b").await.unwrap().is_empty());
}
