use super::*;
use crate::testutil::{fixture_result, handler_error, signed_tx, test_sender, MockRpc, Reply};
use near_primitives::transaction::SignedTransaction;
use serde_json::json;
use std::sync::Mutex as StdMutex;

fn decode(b64: &str) -> SignedTransaction {
    signed_tx(b64)
}

/// A sender on a mock that plays an old node (`broadcast_tx_commit` only) unless the test
/// asks for another submission mode.
fn sender(url: &str, opts: TxOptions) -> TxSender {
    test_sender(url, "relayer.test.near", "relayer", opts)
}

/// The default options with `broadcast_tx_commit` (what the mocks below answer).
fn commit() -> TxOptions {
    TxOptions {
        submit: SubmitMode::BroadcastCommit,
        ..TxOptions::default()
    }
}

fn block_reply() -> Reply {
    Reply::Result(fixture_result("block-current.json"))
}

/// Signed transactions seen by the mock, in order.
type Seen = Arc<StdMutex<Vec<SignedTransaction>>>;

#[tokio::test]
async fn nonce_is_fetched_once_then_incremented_and_signatures_verify() {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        "query" => Reply::Result(json!({"nonce": 10, "permission": "FullAccess", "block_height": 1, "block_hash": xsc_core::CryptoHash::zero()})),
        "block" => block_reply(),
        "broadcast_tx_commit" => {
            s2.lock().unwrap().push(decode(params[0].as_str().unwrap()));
            Reply::Result(fixture_result("tx-success.json"))
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let tx = sender(&mock.url, commit());
    let a = tx
        .call_function(
            "lc.b.test.near",
            "add_light_client_block",
            vec![1, 2, 3],
            MAX_GAS_300T,
            0,
        )
        .await
        .unwrap();
    assert!(a.is_success());
    tx.call_function(
        "lc.b.test.near",
        "add_light_client_block",
        vec![4],
        MAX_GAS_300T,
        0,
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2);
    let pk = tx.signer().public_key();
    for (i, st) in seen.iter().enumerate() {
        assert_eq!(st.transaction.nonce().nonce(), 11 + i as u64);
        assert_eq!(st.transaction.signer_id().as_str(), "relayer.test.near");
        assert_eq!(st.transaction.receiver_id().as_str(), "lc.b.test.near");
        let (hash, _) = st.transaction.get_hash_and_size();
        assert!(st.signature.verify(hash.as_ref(), &pk));
        // The reference block is the final block the node gave.
        assert_eq!(
            st.transaction.block_hash().to_string(),
            fixture_result("block-current.json")["header"]["hash"]
                .as_str()
                .unwrap()
        );
        match &st.transaction.actions()[0] {
            Action::FunctionCall(f) => {
                assert_eq!(f.method_name, "add_light_client_block");
                assert_eq!(f.gas.as_gas(), MAX_GAS_300T);
            }
            a => panic!("{a:?}"),
        }
    }
    let queries = mock
        .recorded()
        .iter()
        .filter(|r| r.method == "query")
        .count();
    assert_eq!(queries, 1, "nonce fetched once");
    let blocks = mock
        .recorded()
        .iter()
        .filter(|r| r.method == "block")
        .count();
    assert_eq!(blocks, 1, "reference block reused within its TTL");
}

#[tokio::test]
async fn invalid_nonce_resyncs_and_re_signs() {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        "query" => Reply::Result(json!({"nonce": 10, "permission": "FullAccess"})),
        "block" => block_reply(),
        "broadcast_tx_commit" => {
            let st = decode(params[0].as_str().unwrap());
            let nonce = st.transaction.nonce().nonce();
            s2.lock().unwrap().push(st);
            if nonce <= 20 {
                // Someone else used this key: the node knows a higher nonce.
                Reply::Error(json!({"name": "HANDLER_ERROR",
                    "cause": {"name": "INVALID_TRANSACTION", "info": {"InvalidNonce": {"ak_nonce": 20, "tx_nonce": nonce}}},
                    "code": -32000, "message": "Server error",
                    "data": {"TxExecutionError": {"InvalidTxError": {"InvalidNonce": {"ak_nonce": 20, "tx_nonce": nonce}}}}}))
            } else {
                Reply::Result(fixture_result("tx-success.json"))
            }
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let tx = sender(&mock.url, commit());
    let mut hashes = Vec::new();
    let out = tx
        .send_with("lc.b.test.near", vec![actions::transfer(1)], |h| {
            hashes.push(*h)
        })
        .await
        .unwrap();
    assert!(out.is_success());
    let nonces: Vec<u64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.transaction.nonce().nonce())
        .collect();
    assert_eq!(nonces, vec![11, 21]);
    assert_eq!(hashes.len(), 2);
    assert_ne!(hashes[0], hashes[1]);
}

#[tokio::test]
async fn old_node_invalid_nonce_without_cause_is_recognised() {
    let count = Arc::new(StdMutex::new(0));
    let c2 = count.clone();
    let mock = MockRpc::start(move |_, method, _| match method {
        "query" => Reply::Result(json!({"nonce": 3, "permission": "FullAccess"})),
        "block" => block_reply(),
        "broadcast_tx_commit" => {
            let mut n = c2.lock().unwrap();
            *n += 1;
            if *n == 1 {
                Reply::Error(json!({"code": -32000, "message": "Server error",
                    "data": {"TxExecutionError": {"InvalidTxError": {"InvalidNonce": {"ak_nonce": 9, "tx_nonce": 4}}}}}))
            } else {
                Reply::Result(fixture_result("tx-failure-old-protocol63.json"))
            }
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let tx = sender(&mock.url, commit());
    let out = tx
        .send("connector.b.test.near", vec![actions::transfer(1)])
        .await
        .unwrap();
    // Executed, and failed on chain: an Ok outcome with the failure's text.
    assert!(!out.is_success());
    assert!(out
        .failure()
        .unwrap()
        .message
        .contains("ERR_ALREADY_DELIVERED"));
    assert_eq!(*count.lock().unwrap(), 2);
}

#[tokio::test]
async fn other_invalid_transactions_are_errors() {
    let mock = MockRpc::start(|_, method, _| match method {
        "query" => Reply::Result(json!({"nonce": 3, "permission": "FullAccess"})),
        "block" => block_reply(),
        _ => Reply::Error(json!({"name": "HANDLER_ERROR",
            "cause": {"name": "INVALID_TRANSACTION", "info": {"NotEnoughBalance": {"signer_id": "relayer.test.near", "balance": "1", "cost": "2"}}},
            "code": -32000, "message": "Server error", "data": {"TxExecutionError": {"InvalidTxError": {"NotEnoughBalance": {}}}}})),
    })
    .await;
    let e = sender(&mock.url, commit())
        .send("x.test.near", vec![actions::transfer(1)])
        .await
        .unwrap_err();
    assert!(matches!(e, TxError::Invalid(_)), "{e:?}");
}

#[tokio::test]
async fn a_timeout_is_followed_by_polling_tx_status() {
    let mock = MockRpc::start(|_, method, _| match method {
        "query" => Reply::Result(json!({"nonce": 3, "permission": "FullAccess"})),
        "block" => block_reply(),
        "broadcast_tx_commit" => Reply::Error(handler_error("TIMEOUT_ERROR", "Timeout")),
        "tx" => Reply::Result(fixture_result("tx-success.json")),
        m => panic!("unexpected {m}"),
    })
    .await;
    let opts = TxOptions {
        status_poll: Duration::from_millis(20),
        submit: SubmitMode::BroadcastCommit,
        ..Default::default()
    };
    let tx = sender(&mock.url, opts);
    let prepared = tx
        .prepare("lc.b.test.near", vec![actions::transfer(1)])
        .await
        .unwrap();
    let out = tx.submit(&prepared).await.unwrap();
    assert!(out.is_success());
    let reqs = mock.recorded();
    let status_req = reqs.iter().find(|r| r.method == "tx").unwrap();
    assert_eq!(
        status_req.params,
        json!({"tx_hash": prepared.hash.to_string(), "sender_account_id": "relayer.test.near",
               "wait_until": "NONE"})
    );
}

#[tokio::test]
async fn unknown_transaction_is_polled_until_the_deadline() {
    let mock =
        MockRpc::start(|_, _, _| Reply::Error(handler_error("UNKNOWN_TRANSACTION", "not found")))
            .await;
    let opts = TxOptions {
        status_poll: Duration::from_millis(20),
        status_timeout: Duration::from_millis(100),
        submit: SubmitMode::BroadcastCommit,
        ..Default::default()
    };
    let e = sender(&mock.url, opts)
        .wait_for_outcome(&xsc_core::CryptoHash([5; 32]), "relayer.test.near")
        .await
        .unwrap_err();
    assert!(matches!(e, TxError::Unconfirmed { .. }), "{e:?}");
    assert!(mock.count() >= 3);
}

#[tokio::test]
async fn create_account_sends_create_transfer_add_key() {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        "query" => Reply::Result(json!({"nonce": 0, "permission": "FullAccess"})),
        "block" => block_reply(),
        _ => {
            s2.lock().unwrap().push(decode(params[0].as_str().unwrap()));
            Reply::Result(fixture_result("tx-success.json"))
        }
    })
    .await;
    let tx = sender(&mock.url, commit());
    let new_key = TxSigner::from_seed("lc.relayer.test.near", "lc")
        .unwrap()
        .public_key();
    tx.create_account("lc.relayer.test.near", new_key.clone(), 5_000)
        .await
        .unwrap();
    tx.deploy_contract("lc.relayer.test.near", vec![0, 97, 115, 109])
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    match seen[0].transaction.actions() {
        [Action::CreateAccount(_), Action::Transfer(t), Action::AddKey(k)] => {
            assert_eq!(t.deposit.as_yoctonear(), 5_000);
            assert_eq!(k.public_key, new_key);
        }
        a => panic!("{a:?}"),
    }
    assert!(
        matches!(seen[1].transaction.actions(), [Action::DeployContract(d)] if d.code == vec![0, 97, 115, 109])
    );
}

#[test]
fn rejections_are_found_in_nested_json() {
    let v = json!({"TxExecutionError": {"InvalidTxError": {"InvalidNonce": {"ak_nonce": 9, "tx_nonce": 4}}}});
    assert_eq!(rejection_in(&v, ""), Some(Rejection::Nonce(Some(9))));
    assert_eq!(
        rejection_in(&json!({"InvalidTxError": "Expired"}), ""),
        Some(Rejection::Expired)
    );
    assert_eq!(
        rejection_in(&json!({"InvalidTxError": {"NotEnoughBalance": {}}}), ""),
        None
    );
}

// ---- nonce lanes ------------------------------------------------------------------------------

fn invalid_nonce_without_details() -> Reply {
    Reply::Error(json!({"name": "HANDLER_ERROR",
        "cause": {"name": "INVALID_TRANSACTION", "info": {}},
        "code": -32000, "message": "Server error", "data": "InvalidNonce"}))
}

#[tokio::test]
async fn a_lane_never_lowers_its_nonce() {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let views = Arc::new(StdMutex::new(0));
    let v2 = views.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        // The first view says 10; later ones come from a stale node and say 5.
        "query" => {
            let mut n = v2.lock().unwrap();
            *n += 1;
            Reply::Result(
                json!({"nonce": if *n == 1 { 10 } else { 5 }, "permission": "FullAccess"}),
            )
        }
        "block" => block_reply(),
        "broadcast_tx_commit" => {
            let st = decode(params[0].as_str().unwrap());
            let nonce = st.transaction.nonce().nonce();
            s2.lock().unwrap().push(st);
            if nonce == 14 {
                invalid_nonce_without_details()
            } else {
                Reply::Result(fixture_result("tx-success.json"))
            }
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let tx = sender(&mock.url, commit());
    for _ in 0..4 {
        tx.send("x.test.near", vec![actions::transfer(1)])
            .await
            .unwrap();
    }
    let nonces: Vec<u64> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.transaction.nonce().nonce())
        .collect();
    // 14 was refused without the key's nonce; the node's (stale) 5 does not pull the lane back.
    assert_eq!(nonces, vec![11, 12, 13, 14, 15]);
    assert_eq!(
        *views.lock().unwrap(),
        2,
        "fetched at start and once to re-synchronise"
    );
    assert_eq!(tx.nonce_resyncs(), 1);
    assert_eq!(tx.local_nonce().await, Some(15));
}

#[tokio::test]
async fn a_lane_hands_transactions_over_in_nonce_order_with_many_in_flight() {
    let arrivals: Arc<StdMutex<Vec<u64>>> = Arc::default();
    let a2 = arrivals.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        "query" => Reply::Result(json!({"nonce": 100, "permission": "FullAccess"})),
        "block" => block_reply(),
        "broadcast_tx_commit" => {
            let st = decode(params[0].as_str().unwrap());
            a2.lock().unwrap().push(st.transaction.nonce().nonce());
            // Execution takes a while; the node answers only then.
            Reply::Delay(
                Duration::from_millis(400),
                Box::new(Reply::Result(fixture_result("tx-success.json"))),
            )
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let opts = TxOptions {
        accept_window: Duration::from_millis(30),
        submit: SubmitMode::BroadcastCommit,
        ..Default::default()
    };
    let tx = Arc::new(sender(&mock.url, opts));
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            tx.send("x.test.near", vec![actions::transfer(1)])
                .await
                .unwrap()
        }));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(tx.in_flight() >= 4, "in flight: {}", tx.in_flight());
    for t in tasks {
        assert!(t.await.unwrap().is_success());
    }
    let arrived = arrivals.lock().unwrap().clone();
    assert_eq!(
        arrived,
        (101..=106).collect::<Vec<_>>(),
        "reached the node in nonce order"
    );
    // Six executions of 400 ms overlapped: far less than 6 x 400 ms.
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(tx.in_flight(), 0);
}

#[tokio::test]
async fn a_failed_record_submits_nothing() {
    let mock = MockRpc::start(|_, method, _| match method {
        "query" => Reply::Result(json!({"nonce": 1, "permission": "FullAccess"})),
        "block" => block_reply(),
        m => panic!("nothing may be submitted, got {m}"),
    })
    .await;
    let tx = sender(&mock.url, commit());
    let e = tx
        .send_recorded("x.test.near", vec![actions::transfer(1)], |_| async {
            Err("lease lost".to_string())
        })
        .await
        .unwrap_err();
    assert!(
        matches!(e, TxError::NotRecorded(ref m) if m == "lease lost"),
        "{e:?}"
    );
}

#[tokio::test]
async fn send_until_included_returns_at_inclusion_and_the_outcome_later() {
    let mock = MockRpc::start(|_, method, params| match method {
        "query" => Reply::Result(json!({"nonce": 1, "permission": "FullAccess"})),
        "block" => block_reply(),
        "send_tx" => {
            assert_eq!(params["wait_until"], "INCLUDED");
            Reply::Result(json!({"final_execution_status": "INCLUDED"}))
        }
        "tx" => Reply::Result(fixture_result("tx-success.json")),
        m => panic!("unexpected {m}"),
    })
    .await;
    let opts = TxOptions {
        status_poll: Duration::from_millis(20),
        submit: SubmitMode::BroadcastCommit,
        ..Default::default()
    };
    let tx = sender(&mock.url, opts);
    let (hash, pending) = tx
        .send_until_included("lc.test.near", vec![actions::transfer(1)])
        .await
        .unwrap();
    let methods: Vec<String> = mock.recorded().iter().map(|r| r.method.clone()).collect();
    assert!(
        !methods.contains(&"tx".to_string()),
        "returned before asking for the outcome"
    );
    let out = pending.await.unwrap();
    assert!(out.is_success());
    let status_req = mock
        .recorded()
        .into_iter()
        .find(|r| r.method == "tx")
        .unwrap();
    assert_eq!(status_req.params["tx_hash"], hash.to_string());
}

#[tokio::test]
async fn old_nodes_without_send_tx_wait_for_execution_instead() {
    let mock = MockRpc::start(|_, method, _| match method {
        "query" => Reply::Result(json!({"nonce": 1, "permission": "FullAccess"})),
        "block" => block_reply(),
        "send_tx" => {
            Reply::Error(json!({"code": -32601, "message": "Method not found", "data": "send_tx"}))
        }
        "broadcast_tx_commit" => Reply::Result(fixture_result("tx-success.json")),
        m => panic!("unexpected {m}"),
    })
    .await;
    let tx = sender(&mock.url, commit());
    for _ in 0..2 {
        let (_, pending) = tx
            .send_until_included("lc.test.near", vec![actions::transfer(1)])
            .await
            .unwrap();
        assert!(pending.await.unwrap().is_success());
    }
    let methods: Vec<String> = mock.recorded().iter().map(|r| r.method.clone()).collect();
    assert_eq!(
        methods.iter().filter(|m| *m == "send_tx").count(),
        1,
        "asked once: {methods:?}"
    );
    assert_eq!(
        methods
            .iter()
            .filter(|m| *m == "broadcast_tx_commit")
            .count(),
        2
    );
}

#[tokio::test]
async fn an_immediate_rejection_is_an_error_not_a_pending_outcome() {
    let mock = MockRpc::start(|_, method, _| match method {
        "query" => Reply::Result(json!({"nonce": 1, "permission": "FullAccess"})),
        "block" => block_reply(),
        _ => Reply::Error(json!({"name": "HANDLER_ERROR",
            "cause": {"name": "INVALID_TRANSACTION", "info": {"NotEnoughBalance": {}}},
            "code": -32000, "message": "Server error",
            "data": {"TxExecutionError": {"InvalidTxError": {"NotEnoughBalance": {}}}}})),
    })
    .await;
    let tx = sender(&mock.url, commit());
    let e = tx
        .send_until_included("lc.test.near", vec![actions::transfer(1)])
        .await
        .err()
        .expect("refused at once");
    assert!(
        matches!(e, TxError::Invalid(ref m) if m.contains("NotEnoughBalance")),
        "{e:?}"
    );
}

#[tokio::test]
async fn the_acceptance_window_follows_the_endpoint_reply_time() {
    let arrivals: Arc<StdMutex<Vec<u64>>> = Arc::default();
    let a2 = arrivals.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        "query" => Reply::Result(json!({"nonce": 7, "permission": "FullAccess"})),
        "block" => block_reply(),
        "broadcast_tx_commit" => {
            let st = decode(params[0].as_str().unwrap());
            a2.lock().unwrap().push(st.transaction.nonce().nonce());
            Reply::Delay(
                Duration::from_millis(600),
                Box::new(Reply::Result(fixture_result("tx-success.json"))),
            )
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let tx = Arc::new(sender(&mock.url, TxOptions::default()));
    // Before any reply the window is the maximum; after a few quick requests it is four times
    // the typical reply time, within its bounds (a loopback node answers in about a
    // millisecond, so the minimum; on a loaded machine a few milliseconds more: the exact value
    // is not the point, following the replies is).
    assert_eq!(tx.accept_window(), Duration::from_millis(300));
    for _ in 0..4 {
        tx.rpc().block(crate::rpc::BlockRef::Final).await.unwrap();
    }
    let typical = tx.rpc().typical_latency().expect("replies were timed");
    assert_eq!(
        tx.accept_window(),
        (typical * 4).clamp(Duration::from_millis(20), Duration::from_millis(300))
    );
    assert!(
        tx.accept_window() < Duration::from_millis(300),
        "a loopback reply time of {typical:?} must shrink the window"
    );
    let started = std::time::Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            tx.send("x.test.near", vec![actions::transfer(1)])
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap().is_success());
    }
    assert_eq!(*arrivals.lock().unwrap(), (8..=15).collect::<Vec<_>>());
    // 8 executions of 600 ms overlap; a 300 ms window would take 2.1 s to hand them over.
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
}
