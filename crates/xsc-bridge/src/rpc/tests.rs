//! Parsing of real and documented reply shapes, and retry behaviour against a local mock server.

use super::*;
use crate::testutil::{fixture_result, handler_error, MockRpc, Reply};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use xsc_core::CryptoHash;

fn fast_retry(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(40),
        max_backoff: Duration::from_millis(200),
        multiplier: 2.0,
        jitter: 0.0,
    }
}

fn client(url: &str, retries: u32) -> RpcClient {
    RpcClient::new(RpcClientConfig {
        header: None,
        timeout: Duration::from_secs(5),
        retry: fast_retry(retries),
        ..RpcClientConfig::new(url.to_string())
    })
    .unwrap()
}

// ---- reply shapes -----------------------------------------------------------------------------

#[test]
fn status_of_current_node_parses() {
    let s: StatusView = serde_json::from_value(fixture_result("status-current.json")).unwrap();
    assert_eq!(s.chain_id, "testnet");
    assert_eq!(s.sync_info.latest_block_height, 181426411);
    assert!(s.sync_info.epoch_id.is_some());
    assert!(s.version.unwrap().commit.is_some());
    assert!(s.genesis_hash.is_some());
}

#[test]
fn status_of_old_protocol63_node_without_commit_or_genesis_hash_parses() {
    let raw = fixture_result("status-old-protocol63.json");
    assert!(raw["version"].get("commit").is_none() && raw.get("genesis_hash").is_none());
    let s: StatusView = serde_json::from_value(raw).unwrap();
    assert_eq!(s.chain_id, "calimero-shard");
    assert_eq!(s.protocol_version, Some(63));
    assert_eq!(s.sync_info.latest_block_height, 1853);
    assert_eq!(s.sync_info.epoch_id, None);
    assert_eq!(s.version.unwrap().commit, None);
    assert_eq!(s.genesis_hash, None);
}

#[test]
fn blocks_of_current_and_old_nodes_parse() {
    let b: BlockView = serde_json::from_value(fixture_result("block-current.json")).unwrap();
    assert_eq!(b.header.height, 1200);
    assert_eq!(b.header.timestamp_ns(), Some(1736528711102153574));
    assert_eq!(b.chunks.len(), 2);
    // The shard-1 chunk was included at 1198: nothing new in this block.
    let new: Vec<u64> = b.new_chunks().map(|c| c.shard_id).collect();
    assert_eq!(new, vec![0]);

    let old: BlockView =
        serde_json::from_value(fixture_result("block-old-protocol63.json")).unwrap();
    assert_eq!(old.header.height, 1850);
    assert_eq!(old.header.prev_height, Some(1849));
    assert!(old.header.last_final_block.is_some());
    assert_eq!(old.new_chunks().count(), 1);
}

#[test]
fn chunk_of_current_node_parses_transactions_and_receipts() {
    let c: ChunkView = serde_json::from_value(fixture_result("chunk-current.json")).unwrap();
    assert_eq!(c.header.shard_id, 0);
    assert_eq!(c.transactions.len(), 2);
    let names: Vec<&str> = c.transactions[0].method_names().collect();
    assert_eq!(names, vec!["cross_call"]);
    match &c.transactions[0].actions[0] {
        ActionView::FunctionCall {
            gas, deposit, args, ..
        } => {
            assert_eq!(*gas, 100_000_000_000_000);
            assert_eq!(*deposit, 1_000_000_000_000_000_000_000);
            let v: Value = serde_json::from_slice(args).unwrap();
            assert_eq!(v["method"], "hello");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.transactions[1].actions,
        vec![
            ActionView::Other("CreateAccount".into()),
            ActionView::Transfer {
                deposit: 10_000_000_000_000_000_000_000_000
            },
            ActionView::Other("AddKey".into()),
            ActionView::Other("DeployContract".into()),
        ]
    );
    assert_eq!(c.receipts.len(), 5);
    assert!(matches!(
        c.receipts[2].receipt,
        ReceiptBody::Data { data_id: Some(_) }
    ));
    assert_eq!(
        c.receipts[4].receipt,
        ReceiptBody::Other("GlobalContractDistribution".into())
    );
    let to_connector: Vec<(String, Vec<&str>)> = c
        .function_call_receipts_to("connector.a.test.near")
        .map(|r| (r.predecessor_id.clone(), r.method_names().collect()))
        .collect();
    assert_eq!(
        to_connector,
        vec![
            ("alice.test.near".to_string(), vec!["cross_call"]),
            (
                "connector.a.test.near".to_string(),
                vec!["on_verified", "second_call"]
            ),
        ]
    );
}

#[test]
fn chunk_of_old_protocol63_node_parses() {
    let c: ChunkView = serde_json::from_value(fixture_result("chunk-old-protocol63.json")).unwrap();
    assert_eq!(c.transactions[0].nonce, Some(7));
    let r = &c.receipts[0];
    assert_eq!(r.receiver_id, "connector.calimero");
    assert_eq!(r.method_names().collect::<Vec<_>>(), vec!["cross_call"]);
    match &r.receipt {
        ReceiptBody::Action { signer_id, .. } => {
            assert_eq!(signer_id.as_deref(), Some("carol.calimero"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn final_outcomes_parse() {
    let ok: FinalOutcome = serde_json::from_value(fixture_result("tx-success.json")).unwrap();
    assert!(ok.is_success() && ok.is_done());
    assert_eq!(
        ok.final_execution_status.as_deref(),
        Some("EXECUTED_OPTIMISTIC")
    );
    assert_eq!(
        ok.tx_hash().unwrap().to_string(),
        "EcBWqiChtvQizDFuqjP6JAR8VYAXSF1xJhr5q449VAx4"
    );
    let v: Value = ok.success_json().unwrap().unwrap();
    assert_eq!(v, json!({"height": 1300}));
    assert_eq!(
        ok.total_gas_burnt(),
        2_428_024_000_000 + 25_000_000_000_000 + 223_182_562_500
    );
    assert_eq!(ok.logs().count(), 1);
    assert_eq!(ok.receipts_outcome[0].outcome.receipt_ids.len(), 1);
    assert!(matches!(
        ok.transaction_outcome.as_ref().unwrap().outcome.status,
        OutcomeStatus::SuccessReceiptId(_)
    ));

    let failed: FinalOutcome =
        serde_json::from_value(fixture_result("tx-failure-old-protocol63.json")).unwrap();
    assert!(!failed.is_success() && failed.is_done());
    let f = failed.failure().unwrap();
    assert_eq!(
        f.message,
        "Smart contract panicked: ERR_ALREADY_DELIVERED: proof was used"
    );
    assert!(f.raw.get("ActionError").is_some());
    assert_eq!(failed.receipt_failures().count(), 1);

    let pending: FinalOutcome =
        serde_json::from_value(fixture_result("tx-send-none.json")).unwrap();
    assert!(!pending.is_done());
    assert_eq!(pending.tx_hash(), None);
}

#[test]
fn non_contract_failures_keep_their_json() {
    let f = Failure::from_json(
        json!({"InvalidTxError": {"InvalidNonce": {"ak_nonce": 7, "tx_nonce": 5}}}),
    );
    assert!(f.message.contains("InvalidNonce") && f.message.contains("ak_nonce"));
}

// ---- through the HTTP client ------------------------------------------------------------------

/// Every `next_light_client_block` result in shared/vectors goes through the client intact.
#[tokio::test]
async fn next_light_client_block_parses_every_real_vector() {
    let dir = xsc_vectors::path("light-client");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    let mut blocks = 0;
    for f in files {
        let raw = xsc_vectors::read_json(&format!("light-client/{f}"));
        if !raw.is_object() {
            continue; // an ordered producer list
        }
        let expected = xsc_vectors::block(&format!("light-client/{f}"));
        let mock = MockRpc::start(move |_, _, _| Reply::Result(raw.clone())).await;
        let got = client(&mock.url, 0)
            .next_light_client_block(&CryptoHash::zero())
            .await
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .unwrap();
        assert_eq!(got, expected, "{f}");
        let req = &mock.recorded()[0];
        assert_eq!(req.method, "next_light_client_block");
        assert_eq!(
            req.params["last_block_hash"],
            CryptoHash::zero().to_string()
        );
        blocks += 1;
    }
    assert!(blocks >= 30, "only {blocks} blocks");
}

#[tokio::test]
async fn next_light_client_block_empty_reply_is_none() {
    for empty in [json!({}), Value::Null] {
        let mock = MockRpc::start(move |_, _, _| Reply::Result(empty.clone())).await;
        let got = client(&mock.url, 0)
            .next_light_client_block(&CryptoHash::zero())
            .await
            .unwrap();
        assert!(got.is_none());
    }
}

#[tokio::test]
async fn light_client_proof_parses_every_real_vector() {
    let dir = xsc_vectors::path("proofs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let f = e.unwrap().file_name().into_string().unwrap();
        let rel = format!("proofs/{f}");
        let raw = xsc_vectors::read_json(&rel);
        let expected = xsc_vectors::proof(&rel);
        let mock = MockRpc::start(move |_, _, _| Reply::Result(raw.clone())).await;
        let head: CryptoHash = [7u8; 32].into();
        let target = ProofTarget::Receipt {
            receipt_id: [1u8; 32].into(),
            receiver_id: "connector.test.near".into(),
        };
        let got = client(&mock.url, 0)
            .light_client_proof(&target, &head)
            .await
            .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(got, expected, "{f}");
        let p = &mock.recorded()[0].params;
        assert_eq!(p["type"], "receipt");
        assert_eq!(p["receiver_id"], "connector.test.near");
        assert_eq!(p["light_client_head"], head.to_string());
        n += 1;
    }
    assert!(n >= 5);
}

#[tokio::test]
async fn validators_ordered_parses_a_real_producer_list() {
    let raw = xsc_vectors::read_json("light-client/testnet-93M-shared-keys-bps.json");
    let expected = xsc_vectors::bps("light-client/testnet-93M-shared-keys-bps.json");
    let mock = MockRpc::start(move |_, _, _| Reply::Result(raw.clone())).await;
    let got = client(&mock.url, 0)
        .validators_ordered(BlockRef::Height(93472625))
        .await
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(mock.recorded()[0].params, json!({"block_id": 93472625}));
}

#[tokio::test]
async fn view_calls_and_access_keys_parse_current_and_old_replies() {
    let head = json!({"height": 12, "hash": CryptoHash::zero()});
    let bytes: Vec<u8> = serde_json::to_vec(&head).unwrap();
    let mock = MockRpc::start(move |n, _, params| match (n, params["request_type"].as_str()) {
        (0, Some("call_function")) => Reply::Result(json!({
            "result": bytes, "logs": [], "block_height": 99, "block_hash": CryptoHash::zero()})),
        // Old node: a failed view call is a *result* with an error string.
        (1, _) => Reply::Result(json!({
            "error": "wasm execution failed with error: FunctionCallError(MethodResolveError(MethodNotFound))",
            "logs": [], "block_height": 99, "block_hash": CryptoHash::zero()})),
        // Current node: a JSON-RPC error.
        (2, _) => Reply::Error(json!({"name": "HANDLER_ERROR",
            "cause": {"name": "CONTRACT_EXECUTION_ERROR", "info": {"vm_error": "MethodNotFound"}},
            "code": -32000, "message": "Server error", "data": "Function call returned an error: MethodNotFound"})),
        (3, Some("view_access_key")) => Reply::Result(json!({
            "nonce": 85, "permission": "FullAccess", "block_height": 19884918,
            "block_hash": "GGJQ8yjmo7aEoj8ZpAhGehnq9BSWFx4xswHYzDwwAP2n"})),
        (_, _) => Reply::Result(json!({
            "error": "access key ed25519:xyz does not exist while viewing",
            "logs": [], "block_height": 99, "block_hash": CryptoHash::zero()})),
    })
    .await;
    let c = client(&mock.url, 0);
    let v: Value = c
        .view_call_json("lc.test.near", "head", &json!({}), BlockRef::Final)
        .await
        .unwrap();
    assert_eq!(v["height"], 12);
    let p = &mock.recorded()[0].params;
    assert_eq!(p["finality"], "final");
    assert_eq!(p["args_base64"], "e30=");
    for _ in 0..2 {
        let e = c
            .view_call_raw("lc.test.near", "nope", b"{}", BlockRef::Height(5))
            .await
            .unwrap_err();
        assert!(e.is_cause("CONTRACT_EXECUTION_ERROR"), "{e}");
        assert!(!e.is_retryable());
    }
    let ak = c
        .view_access_key("a.test.near", "ed25519:xyz", BlockRef::Optimistic)
        .await
        .unwrap();
    assert_eq!(ak.nonce, 85);
    assert!(ak.is_full_access());
    let e = c
        .view_access_key("a.test.near", "ed25519:xyz", BlockRef::Optimistic)
        .await
        .unwrap_err();
    assert!(e.is_cause("UNKNOWN_ACCESS_KEY"), "{e}");
}

#[tokio::test]
async fn block_if_exists_maps_unknown_block_to_none_without_retrying() {
    let mock = MockRpc::start(|_, _, _| {
        Reply::Error(handler_error(
            "UNKNOWN_BLOCK",
            "DB Not Found Error: BLOCK HEIGHT: 77",
        ))
    })
    .await;
    let c = client(&mock.url, 3);
    assert!(c.block_if_exists(77).await.unwrap().is_none());
    assert_eq!(mock.count(), 1, "one endpoint, asked once");
    // The plain `block` call retries UNKNOWN_BLOCK (a height just announced elsewhere).
    let e = c.block(BlockRef::Height(77)).await.unwrap_err();
    assert!(e.is_cause("UNKNOWN_BLOCK"));
    assert_eq!(mock.count(), 1 + 4);
}

// ---- retries, timeouts, headers ---------------------------------------------------------------

/// The server fails twice (an HTTP 503, then a JSON-RPC TIMEOUT_ERROR), then answers: the client
/// retries with growing delays and returns the answer.
#[tokio::test]
async fn retries_with_backoff_until_the_server_answers() {
    let status = fixture_result("status-old-protocol63.json");
    let mock = MockRpc::start(move |n, _, _| match n {
        0 => Reply::Http(503, "upstream unavailable".into()),
        1 => Reply::Error(handler_error("TIMEOUT_ERROR", "Timeout")),
        _ => Reply::Result(status.clone()),
    })
    .await;
    let c = client(&mock.url, 5);
    let started = Instant::now();
    let s = c.status().await.unwrap();
    assert_eq!(s.chain_id, "calimero-shard");
    let reqs = mock.recorded();
    assert_eq!(reqs.len(), 3);
    let gap1 = reqs[1].at - reqs[0].at;
    let gap2 = reqs[2].at - reqs[1].at;
    // Delays: 40 ms, then 80 ms (no jitter in this policy).
    assert!(gap1 >= Duration::from_millis(40), "{gap1:?}");
    assert!(gap2 >= Duration::from_millis(80), "{gap2:?}");
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let mock = MockRpc::start(|_, _, _| Reply::Http(502, "bad gateway".into())).await;
    let e = client(&mock.url, 2).status().await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Transport {
                status: Some(502),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(mock.count(), 3);
}

#[tokio::test]
async fn non_retryable_errors_are_returned_at_once() {
    let mock = MockRpc::start(|_, _, _| {
        Reply::Error(json!({"name": "REQUEST_VALIDATION_ERROR",
            "cause": {"name": "PARSE_ERROR", "info": {"error_message": "missing field"}},
            "code": -32700, "message": "Parse error", "data": "missing field `block_id`"}))
    })
    .await;
    let e = client(&mock.url, 5)
        .block(BlockRef::Final)
        .await
        .unwrap_err();
    assert_eq!(e.cause(), Some("PARSE_ERROR"));
    assert_eq!(mock.count(), 1);
    // A 401 (e.g. a missing Calimero auth header) is not retried either.
    let mock = MockRpc::start(|_, _, _| Reply::Http(401, "unauthorized".into())).await;
    let e = client(&mock.url, 5).status().await.unwrap_err();
    assert!(
        matches!(
            e,
            RpcError::Transport {
                status: Some(401),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn a_json_rpc_error_with_http_408_is_a_handler_error() {
    // Current nearcore sends TIMEOUT_ERROR with HTTP 408 and a JSON-RPC body.
    let mock = MockRpc::start(|n, _, _| {
        if n == 0 {
            Reply::Http(
                408,
                json!({"jsonrpc": "2.0", "id": "1", "error": handler_error("TIMEOUT_ERROR", "Timeout")})
                    .to_string(),
            )
        } else {
            Reply::Result(fixture_result("tx-success.json"))
        }
    })
    .await;
    let out = client(&mock.url, 2)
        .broadcast_tx_commit("AAAA")
        .await
        .unwrap();
    assert!(out.is_success());
    assert_eq!(mock.count(), 2);
    assert_eq!(mock.recorded()[0].params, json!(["AAAA"]));
}

#[tokio::test]
async fn slow_replies_time_out_and_are_retried() {
    let status = fixture_result("status-current.json");
    let mock = MockRpc::start(move |n, _, _| {
        let ok = Reply::Result(status.clone());
        if n == 0 {
            Reply::Delay(Duration::from_millis(800), Box::new(ok))
        } else {
            ok
        }
    })
    .await;
    let c = RpcClient::new(RpcClientConfig {
        header: None,
        timeout: Duration::from_millis(200),
        retry: fast_retry(0),
        ..RpcClientConfig::new(mock.url.clone())
    })
    .unwrap();
    let e = c.status().await.unwrap_err();
    assert!(matches!(e, RpcError::Timeout { .. }), "{e:?}");
    assert!(e.is_retryable());
    let c = RpcClient::new(RpcClientConfig {
        header: None,
        timeout: Duration::from_millis(200),
        retry: fast_retry(2),
        ..RpcClientConfig::new(mock.url.clone())
    })
    .unwrap();
    assert_eq!(c.status().await.unwrap().chain_id, "testnet");
}

#[tokio::test]
async fn connection_refused_is_a_transport_error() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let e = client(&format!("http://127.0.0.1:{port}"), 1)
        .status()
        .await
        .unwrap_err();
    assert!(
        matches!(e, RpcError::Transport { status: None, .. }),
        "{e:?}"
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn the_extra_header_is_sent_and_not_printed() {
    let status = fixture_result("status-current.json");
    let mock = MockRpc::start(move |_, _, _| Reply::Result(status.clone())).await;
    let c = RpcClient::new(RpcClientConfig {
        header: Some(RpcHeader {
            name: "x-api-key".into(),
            value: "s3cret".into(),
        }),
        timeout: Duration::from_secs(5),
        retry: fast_retry(0),
        ..RpcClientConfig::new(format!("{}/v1/?apiKey=s3cret", mock.url))
    })
    .unwrap();
    c.status().await.unwrap();
    let headers = &mock.recorded()[0].headers;
    assert!(
        headers.contains(&("x-api-key".to_string(), "s3cret".to_string())),
        "{headers:?}"
    );
    assert!(!format!("{c:?}").contains("s3cret"));
    assert!(!c.endpoints().join(" ").contains("s3cret"));
}

#[test]
fn invalid_setup_is_rejected() {
    assert!(RpcClient::new(RpcClientConfig::new("not a url")).is_err());
    assert!(RpcClient::new(RpcClientConfig::new("ftp://127.0.0.1")).is_err());
    let mut cfg = RpcClientConfig::new("http://127.0.0.1:3030");
    cfg.header = Some(RpcHeader {
        name: "bad header".into(),
        value: "x".into(),
    });
    assert!(RpcClient::new(cfg).is_err());
}

// ---- several endpoints, archival, bounds ------------------------------------------------------

fn multi(urls: &[&str], archival: Option<&str>, retries: u32) -> RpcClient {
    RpcClient::new(multi_config(urls, archival, retries)).unwrap()
}

fn multi_config(urls: &[&str], archival: Option<&str>, retries: u32) -> RpcClientConfig {
    RpcClientConfig {
        urls: urls.iter().map(|u| u.to_string()).collect(),
        archival_url: archival.map(str::to_string),
        timeout: Duration::from_secs(5),
        retry: fast_retry(retries),
        ..RpcClientConfig::new(urls[0].to_string())
    }
}

/// Records what the client reports.
#[derive(Default)]
struct Seen {
    failed: std::sync::Mutex<Vec<(String, String)>>,
    up: std::sync::Mutex<Vec<(String, bool)>>,
}

impl RpcObserver for Seen {
    fn request_failed(&self, endpoint: &str, kind: &str) {
        self.failed
            .lock()
            .unwrap()
            .push((endpoint.into(), kind.into()));
    }
    fn endpoint_up(&self, endpoint: &str, up: bool) {
        self.up.lock().unwrap().push((endpoint.into(), up));
    }
}

#[tokio::test]
async fn a_failing_endpoint_hands_over_to_the_next_at_once_and_stays_out() {
    let status = fixture_result("status-current.json");
    let down = MockRpc::start(|_, _, _| Reply::Http(503, "upstream down".into())).await;
    let up = MockRpc::start(move |_, _, _| Reply::Result(status.clone())).await;
    // A back-off of 2 s: a sleep would show plainly, whatever the machine's load.
    let c = RpcClient::new(RpcClientConfig {
        retry: RetryPolicy {
            initial_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(2),
            ..fast_retry(3)
        },
        ..multi_config(&[&down.url, &up.url], None, 3)
    })
    .unwrap();
    let seen = std::sync::Arc::new(Seen::default());
    c.set_observer(seen.clone());
    let started = Instant::now();
    assert_eq!(c.status().await.unwrap().chain_id, "testnet");
    // No backoff sleep when another endpoint is ready.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((down.count(), up.count()), (1, 1));
    // The next requests go straight to the working endpoint.
    for _ in 0..3 {
        c.status().await.unwrap();
    }
    assert_eq!((down.count(), up.count()), (1, 4));
    assert!(c.current_endpoint().starts_with("rpc1 http://127.0.0.1:"));
    assert_eq!(
        *seen.failed.lock().unwrap(),
        vec![("rpc0".to_string(), "transport".to_string())]
    );
    assert_eq!(*seen.up.lock().unwrap(), vec![("rpc0".to_string(), false)]);
}

#[tokio::test]
async fn garbage_truncated_and_oversized_replies_are_the_endpoints_fault() {
    let status = fixture_result("status-current.json");
    let big = json!({"jsonrpc": "2.0", "id": "1", "result": "x".repeat(10_000)}).to_string();
    for (bad, what) in [
        (
            Reply::Http(200, "<html>502 Bad Gateway</html>".into()),
            "not JSON",
        ),
        (
            Reply::Http(200, r#"{"jsonrpc":"2.0","id":"1","result":{"chain_"#.into()),
            "not JSON",
        ),
        (
            Reply::Http(200, r#"{"jsonrpc":"2.0","id":"1"}"#.into()),
            "neither result nor error",
        ),
        (Reply::Http(200, big.clone()), "bound"),
    ] {
        let bad_mock = MockRpc::start(move |_, _, _| bad.clone()).await;
        let alone = RpcClient::new(RpcClientConfig {
            max_reply_bytes: 4096,
            retry: RetryPolicy::none(),
            ..RpcClientConfig::new(bad_mock.url.clone())
        })
        .unwrap();
        let e = alone.status().await.unwrap_err();
        assert!(matches!(e, RpcError::BadReply { .. }), "{what}: {e:?}");
        assert!(e.to_string().contains(what), "{e}");
        assert!(e.is_retryable() && e.is_endpoint_fault());
        // With a second endpoint, the request succeeds there.
        let st = status.clone();
        let good = MockRpc::start(move |_, _, _| Reply::Result(st.clone())).await;
        let c = RpcClient::new(RpcClientConfig {
            urls: vec![bad_mock.url.clone(), good.url.clone()],
            max_reply_bytes: 4096,
            retry: fast_retry(2),
            ..RpcClientConfig::new(bad_mock.url.clone())
        })
        .unwrap();
        assert_eq!(c.status().await.unwrap().chain_id, "testnet", "{what}");
    }
}

#[tokio::test]
async fn a_lagging_backend_answering_unknown_block_is_passed_over() {
    let block = fixture_result("block-current.json");
    let lagging = MockRpc::start(|_, _, _| {
        Reply::Error(handler_error(
            "UNKNOWN_BLOCK",
            "DB Not Found Error: BLOCK HEIGHT: 77",
        ))
    })
    .await;
    let b2 = block.clone();
    let synced = MockRpc::start(move |_, _, _| Reply::Result(b2.clone())).await;
    let c = multi(&[&lagging.url, &synced.url], None, 2);
    assert!(c.block(BlockRef::Height(77)).await.is_ok());
    // block_if_exists asks every endpoint before saying "unknown".
    let c = multi(&[&lagging.url, &synced.url], None, 0);
    assert!(c.block_if_exists(77).await.unwrap().is_some());
    let c = multi(&[&lagging.url, &lagging.url], None, 0);
    assert!(c.block_if_exists(77).await.unwrap().is_none());
}

#[tokio::test]
async fn the_archival_endpoint_answers_what_regular_nodes_forgot() {
    let block = fixture_result("block-current.json");
    let forgot = MockRpc::start(|_, m, _| match m {
        "block" => Reply::Error(handler_error(
            "GARBAGE_COLLECTED_BLOCK",
            "garbage collected",
        )),
        _ => Reply::Error(handler_error("UNKNOWN_CHUNK", "DB Not Found Error: chunk")),
    })
    .await;
    let b2 = block.clone();
    let archive = MockRpc::start(move |_, m, _| match m {
        "block" => Reply::Result(b2.clone()),
        _ => Reply::Error(handler_error("UNKNOWN_CHUNK", "not even here")),
    })
    .await;
    let c = multi(&[&forgot.url], Some(&archive.url), 0);
    assert!(c.block(BlockRef::Height(5)).await.is_ok());
    assert!(c.block_if_exists(5).await.unwrap().is_some());
    let e = c.chunk(&CryptoHash([1; 32])).await.unwrap_err();
    assert!(e.mentions("not even here"), "{e}");
    assert!(c.endpoints().iter().any(|e| e.starts_with("archival ")));
    // Errors that are not missing data are not sent to the archive.
    let before = archive.count();
    let strict = MockRpc::start(|_, _, _| {
        Reply::Error(
            json!({"name": "REQUEST_VALIDATION_ERROR", "cause": {"name": "PARSE_ERROR", "info": {}},
                            "code": -32700, "message": "Parse error", "data": "bad"}),
        )
    })
    .await;
    let c = multi(&[&strict.url], Some(&archive.url), 0);
    assert!(c.block(BlockRef::Height(5)).await.is_err());
    assert_eq!(archive.count(), before);
}

#[tokio::test]
async fn an_endpoint_serving_another_chain_is_disabled() {
    let status = fixture_result("status-current.json"); // chain_id "testnet"
    let wrong = {
        let st = status.clone();
        MockRpc::start(move |_, _, _| {
            let mut s = st.clone();
            s["chain_id"] = json!("mainnet");
            Reply::Result(s)
        })
        .await
    };
    let right = MockRpc::start(move |_, _, _| Reply::Result(status.clone())).await;
    let cfg = |urls: Vec<String>| RpcClientConfig {
        urls,
        expect_chain_id: Some("testnet".into()),
        retry: fast_retry(3),
        ..RpcClientConfig::new("http://127.0.0.1:1")
    };
    let c = RpcClient::new(cfg(vec![wrong.url.clone(), right.url.clone()])).unwrap();
    for _ in 0..3 {
        assert_eq!(c.status().await.unwrap().chain_id, "testnet");
    }
    // The wrong endpoint was asked once (its status), then never again; the right one was
    // checked once and then served.
    assert_eq!(wrong.count(), 1);
    assert_eq!(right.count(), 4);
    let c = RpcClient::new(cfg(vec![wrong.url.clone()])).unwrap();
    let e = c.status().await.unwrap_err();
    assert!(matches!(e, RpcError::WrongChain { .. }), "{e:?}");
    assert!(!e.is_retryable());
}

#[test]
fn urls_are_shown_without_their_secrets() {
    assert_eq!(
        redact_url("https://rpc.testnet.near.org"),
        "https://rpc.testnet.near.org"
    );
    assert_eq!(
        redact_url("https://user:pw@rpc.example.com:8443/v1/KEY123?apikey=KEY123"),
        "https://rpc.example.com:8443/…"
    );
    assert_eq!(redact_url("not a url KEY123"), "<invalid url>");
    let c = RpcClient::new(RpcClientConfig::new("https://rpc.example.com/KEY123")).unwrap();
    assert!(!format!("{c:?}").contains("KEY123"));
    let e = RpcClient::new(RpcClientConfig::new("ftp://x/KEY123")).unwrap_err();
    assert!(!e.to_string().contains("KEY123"), "{e}");
}

#[tokio::test]
async fn tx_status_asks_for_an_answer_at_once_and_old_nodes_in_the_array_form() {
    let hash = CryptoHash([9; 32]);
    // A current node: named parameters with `wait_until: "NONE"` (in the array form it waits for
    // execution, and a transaction it never saw is a TIMEOUT_ERROR after 10 s, not
    // UNKNOWN_TRANSACTION: both verified against the protocol-86 sandbox binary).
    let current = MockRpc::start(|_, _, params| {
        assert_eq!(params["wait_until"], "NONE", "{params}");
        Reply::Error(handler_error("UNKNOWN_TRANSACTION", "not found"))
    })
    .await;
    let e = client(&current.url, 0)
        .tx_status(&hash, "relayer.test.near")
        .await
        .unwrap_err();
    assert!(e.is_cause("UNKNOWN_TRANSACTION"), "{e}");
    assert_eq!(
        current.recorded()[0].params,
        json!({"tx_hash": hash.to_string(), "sender_account_id": "relayer.test.near",
               "wait_until": "NONE"})
    );
    // A protocol-63 node parses only the array form: asked again in it, and from then on only in it.
    let old = MockRpc::start(|_, _, params| {
        if params.is_array() {
            Reply::Result(fixture_result("tx-success.json"))
        } else {
            // What Calimero's protocol-63 node answers (verified against the sandbox binary).
            let text = "Failed parsing args: invalid type: map, expected a tuple of size 1";
            Reply::Error(json!({"name": "REQUEST_VALIDATION_ERROR",
                "cause": {"name": "PARSE_ERROR", "info": {"error_message": text}},
                "code": -32700, "message": "Parse error", "data": text}))
        }
    })
    .await;
    let c = client(&old.url, 0);
    for _ in 0..2 {
        assert!(c
            .tx_status(&hash, "relayer.test.near")
            .await
            .unwrap()
            .is_success());
    }
    let forms: Vec<bool> = old.recorded().iter().map(|r| r.params.is_array()).collect();
    assert_eq!(forms, vec![false, true, true]);
    assert_eq!(
        old.recorded()[1].params,
        json!([hash.to_string(), "relayer.test.near"])
    );
}
