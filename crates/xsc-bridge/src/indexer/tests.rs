//! The indexer against a simulated chain served over JSON-RPC: skipped heights, a node that
//! lags (answers `UNKNOWN_BLOCK` for blocks that exist), a node that lies about a parent, a
//! cursor without a hash, a start height on a skipped height, and the sequence audit.

use super::*;
use crate::queue::{EventState, ListFilter, SqliteStore, StoredEvent};
use crate::rpc::BlockRef;
use crate::rpc::{RetryPolicy, RpcClientConfig};
use crate::testutil::{handler_error, MockRpc, Reply};
use serde_json::Value;
use sha2::Digest;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

const CONN: &str = "conn.a.near";
const DEST_CONN: &str = "conn.b.near";

fn hash(tag: &str, n: u64) -> CryptoHash {
    CryptoHash(sha2::Sha256::digest(format!("{tag}{n}")).into())
}

/// A chain with blocks at some heights, connector messages in some of them, a final head, and
/// a node that may answer `UNKNOWN_BLOCK` for existing heights (`lagging`) or report a wrong
/// parent (`lie`).
#[derive(Default)]
struct Chain {
    heights: Vec<u64>,
    /// height → nsns of the connector messages executed in that block.
    messages: BTreeMap<u64, Vec<u64>>,
    final_height: u64,
    lagging: HashSet<u64>,
    lie: Option<u64>,
    /// The chunk of this height answers an internal error.
    broken_chunk: Option<u64>,
    /// The outcomes of this height are not provable yet (the node answers as nearcore does
    /// when the block carrying their root is above the head asked).
    not_final: Option<u64>,
    /// `EXPERIMENTAL_light_client_proof` requests answered.
    proof_requests: u64,
    /// Destination side: its watermark and what it says was delivered.
    next_in: u64,
    delivered: HashSet<u64>,
}

impl Chain {
    fn new(top: u64, skipped: &[u64]) -> Self {
        Chain {
            heights: (1..=top).filter(|h| !skipped.contains(h)).collect(),
            final_height: top,
            ..Default::default()
        }
    }

    fn prev(&self, h: u64) -> Option<u64> {
        self.heights.iter().copied().filter(|x| *x < h).max()
    }

    fn block_json(&self, h: u64) -> Value {
        let prev = self.prev(h);
        let prev_hash = match (self.lie, prev) {
            (Some(l), _) if l == h => hash("forged", h),
            (_, Some(p)) => hash("b", p),
            (_, None) => CryptoHash::zero(),
        };
        json!({
            "header": {
                "height": h, "prev_height": prev, "hash": hash("b", h), "prev_hash": prev_hash,
                "epoch_id": CryptoHash::zero(), "next_epoch_id": CryptoHash::zero(),
                "timestamp_nanosec": (1_700_000_000_000u64 + h * 1000) * 1_000_000,
            },
            "chunks": [{"chunk_hash": hash("c", h), "shard_id": 0, "height_included": h}],
        })
    }

    fn height_of_hash(&self, s: &str) -> Option<u64> {
        self.heights
            .iter()
            .copied()
            .find(|h| hash("b", *h).to_string() == s)
    }

    fn chunk_json(&self, chunk: &str) -> Value {
        let h = self
            .heights
            .iter()
            .copied()
            .find(|h| hash("c", *h).to_string() == chunk)
            .expect("known chunk");
        let receipts: Vec<Value> = self
            .messages
            .get(&h)
            .into_iter()
            .flatten()
            .map(|nsn| {
                json!({"predecessor_id": "dapp.a.near", "receiver_id": CONN,
                       "receipt_id": hash("r", *nsn),
                       "receipt": {"Action": {"signer_id": "user.a.near", "actions": [
                           {"FunctionCall": {"method_name": "cross_call", "args": "", "gas": 1, "deposit": "0"}}]}}})
            })
            .collect();
        json!({"header": {"chunk_hash": chunk, "shard_id": 0, "height_included": h},
               "transactions": [], "receipts": receipts})
    }

    /// The height and sequence number of a message's receipt.
    fn message_of(&self, receipt: &str) -> (u64, u64) {
        self.messages
            .iter()
            .flat_map(|(h, v)| v.iter().map(move |n| (*h, *n)))
            .find(|(_, n)| hash("r", *n).to_string() == receipt)
            .expect("known receipt")
    }

    fn proof_json(&self, receipt: &str) -> Value {
        let (h, nsn) = self.message_of(receipt);
        let mut p = xsc_vectors::proof("proofs/calimero-proof8.json");
        p.outcome_proof.id = hash("r", nsn);
        p.outcome_proof.block_hash = hash("b", h);
        p.outcome_proof.outcome.executor_id = CONN.into();
        p.outcome_proof.outcome.status = ExecutionStatusView::SuccessValue(vec![]);
        p.outcome_proof.outcome.logs = vec![format!(
            r#"EVENT_JSON:{{"standard":"xsc_connector","version":"1.0.0","event":"cross_call","data":{{"dst":"{DEST_CONN}","net":"b","nsn":"{nsn}","request_id":"{nsn}"}}}}"#
        )];
        p.block_header_lite.inner_lite.height = h + 1;
        serde_json::to_value(&p).unwrap()
    }

    fn next_out_at(&self, h: u64) -> u64 {
        self.messages
            .iter()
            .filter(|(mh, _)| **mh <= h)
            .map(|(_, v)| v.len() as u64)
            .sum()
    }

    fn answer(&self, method: &str, params: &Value) -> Reply {
        let unknown = || Reply::Error(handler_error("UNKNOWN_BLOCK", "DB Not Found Error"));
        let view = |v: Value| {
            Reply::Result(json!({"result": serde_json::to_vec(&v).unwrap(), "logs": []}))
        };
        match method {
            "block" if params.get("finality").is_some() => {
                Reply::Result(self.block_json(self.final_height))
            }
            "block" => match &params["block_id"] {
                Value::Number(n) => {
                    let h = n.as_u64().unwrap();
                    if self.heights.contains(&h) && !self.lagging.contains(&h) {
                        Reply::Result(self.block_json(h))
                    } else {
                        unknown()
                    }
                }
                Value::String(s) => match self.height_of_hash(s) {
                    Some(h) if !self.lagging.contains(&h) => Reply::Result(self.block_json(h)),
                    _ => unknown(),
                },
                v => panic!("block_id {v}"),
            },
            "chunk" => {
                let id = params["chunk_id"].as_str().unwrap();
                if self
                    .broken_chunk
                    .is_some_and(|h| hash("c", h).to_string() == id)
                {
                    return Reply::Http(500, "internal error".into());
                }
                Reply::Result(self.chunk_json(id))
            }
            "EXPERIMENTAL_light_client_proof" => {
                let receipt = params["receipt_id"].as_str().unwrap();
                let (h, _) = self.message_of(receipt);
                if self.not_final == Some(h) {
                    return Reply::Error(json!({"name": "INTERNAL_ERROR",
                        "cause": {"name": "INTERNAL_ERROR", "info": {}}, "code": -32000,
                        "message": "Server error",
                        "data": format!("Internal error: block {} is ahead of head block {}",
                                        hash("b", h + 1), params["light_client_head"].as_str().unwrap())}));
                }
                Reply::Result(self.proof_json(receipt))
            }
            "query" => match (
                params["account_id"].as_str(),
                params["method_name"].as_str(),
            ) {
                (Some(CONN), Some("channel")) => {
                    let h = params["block_id"].as_u64().unwrap_or(self.final_height);
                    if !self.heights.contains(&h) {
                        return unknown();
                    }
                    view(json!({"locker": DEST_CONN, "channel": 0,
                                "next_out": self.next_out_at(h).to_string(), "next_in": "0",
                                "ahead": 0, "window": 64}))
                }
                (Some(DEST_CONN), Some("channel")) => view(json!({"locker": CONN, "channel": 0,
                        "next_out": "0", "next_in": self.next_in.to_string(), "ahead": 0, "window": 64})),
                (Some(_), Some("channel")) => view(json!({"locker": "nobody.near", "channel": 0,
                        "next_out": "0", "next_in": "0", "ahead": 0, "window": 64})),
                (Some(DEST_CONN), Some("is_delivered")) => {
                    let args: Value = serde_json::from_slice(
                        &base64::Engine::decode(
                            &base64::engine::general_purpose::STANDARD,
                            params["args_base64"].as_str().unwrap(),
                        )
                        .unwrap(),
                    )
                    .unwrap();
                    let nsn: u64 = args["nsn"].as_str().unwrap().parse().unwrap();
                    view(json!(self.delivered.contains(&nsn)))
                }
                other => panic!("query {other:?}"),
            },
            m => panic!("unexpected {m}"),
        }
    }
}

struct Sim {
    chain: Arc<Mutex<Chain>>,
    _mock: MockRpc,
    rpc: RpcClient,
}

async fn serve(chain: Chain) -> Sim {
    let chain = Arc::new(Mutex::new(chain));
    let c = chain.clone();
    let mock = MockRpc::start(move |_, m, p| {
        let mut c = c.lock().unwrap();
        if m == "EXPERIMENTAL_light_client_proof" {
            c.proof_requests += 1;
        }
        c.answer(m, p)
    })
    .await;
    let rpc = RpcClient::new(RpcClientConfig {
        retry: RetryPolicy::none(),
        ..RpcClientConfig::new(mock.url.clone())
    })
    .unwrap();
    Sim {
        chain,
        _mock: mock,
        rpc,
    }
}

fn config(start: Option<u64>) -> IndexerConfig {
    let mut cfg = IndexerConfig::new("a", "b", CONN, DEST_CONN);
    cfg.start_height = start;
    cfg.batch = 100;
    cfg.max_unknown = 8;
    // The heights in these tests are written for two blocks of margin.
    cfg.margin = 2;
    cfg
}

fn indexer(sim: &Sim, store: &Arc<dyn MessageStore>, start: Option<u64>) -> Indexer {
    Indexer::new(sim.rpc.clone(), store.clone(), config(start))
}

fn store() -> Arc<dyn MessageStore> {
    Arc::new(SqliteStore::open_in_memory().unwrap())
}

async fn nsns(store: &Arc<dyn MessageStore>) -> Vec<u64> {
    let mut v: Vec<u64> = store
        .list(&ListFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter_map(|e| e.nsn)
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn skipped_heights_are_proven_by_the_next_block_and_messages_are_queued() {
    let mut chain = Chain::new(30, &[7, 8, 13]);
    chain.messages.insert(5, vec![0]);
    chain.messages.insert(12, vec![1, 2]);
    chain.messages.insert(2, vec![9]); // before the start height
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, Some(4));
    let step = ix.index_once().await.unwrap().unwrap();
    // Final 30, margin 2: read through 28. The anchor is block 3, the parent of block 4.
    assert_eq!((step.from, step.to, step.new_events), (4, 28, 3));
    let c = s.cursor("a").await.unwrap().unwrap();
    assert_eq!((c.height, c.hash), (28, Some(hash("b", 28))));
    assert_eq!(nsns(&s).await, vec![0, 1, 2]);
    let e = s
        .list(&ListFilter::state(crate::queue::EventState::Pending, 10))
        .await
        .unwrap();
    // The proof block, the source time, the signer of the originating transaction.
    assert_eq!(e[0].block_height, 6);
    assert_eq!(e[0].source_time, Some(1_700_000_000_000 + 5_000));
    assert_eq!(e[0].payload["signer"], "user.a.near");
    // Nothing new until the chain moves.
    assert_eq!(ix.index_once().await.unwrap(), None);
    sim.chain.lock().unwrap().heights.extend(31..=35);
    sim.chain.lock().unwrap().final_height = 35;
    let step = ix.index_once().await.unwrap().unwrap();
    assert_eq!((step.from, step.to), (29, 33));
}

#[tokio::test]
async fn a_lagging_node_never_makes_the_indexer_skip_a_block() {
    let mut chain = Chain::new(40, &[25]);
    chain.messages.insert(20, vec![0]);
    chain.messages.insert(26, vec![1]);
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, Some(10));
    // A backend that has not processed 20 (and 24) answers UNKNOWN_BLOCK for them.
    sim.chain.lock().unwrap().lagging.extend([20, 24]);
    let e = ix.index_once().await.unwrap_err();
    match &e {
        IndexError::ChainLink {
            height,
            expected_height,
            found_prev_height,
            ..
        } => assert_eq!(
            (*height, *expected_height, *found_prev_height),
            (21, 19, Some(20))
        ),
        e => panic!("{e}"),
    }
    assert!(e.is_integrity());
    // What was read and linked is kept; nothing past the last linked block.
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 19);
    assert!(nsns(&s).await.is_empty());
    // The backend catches up: block 20 and its message are read; then 24 lags alone.
    sim.chain.lock().unwrap().lagging.remove(&20);
    let e = ix.index_once().await.unwrap_err();
    assert!(
        matches!(
            e,
            IndexError::ChainLink {
                height: 26,
                expected_height: 23,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 23);
    assert_eq!(nsns(&s).await, vec![0]);
    sim.chain.lock().unwrap().lagging.clear();
    ix.index_once().await.unwrap().unwrap();
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 38);
    assert_eq!(nsns(&s).await, vec![0, 1]);
}

#[tokio::test]
async fn a_node_that_lacks_many_blocks_stalls_loudly() {
    let chain = Chain::new(60, &[]);
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, Some(10));
    sim.chain.lock().unwrap().lagging.extend(10..=50);
    // Even the anchor cannot be found below the lagging range... it is found above it, and its
    // parent (asked by hash) is missing too: an RPC error, nothing recorded.
    assert!(ix.index_once().await.is_err());
    assert_eq!(s.cursor("a").await.unwrap(), None);
    sim.chain.lock().unwrap().lagging.clear();
    ix.index_once().await.unwrap();
    sim.chain.lock().unwrap().lagging.extend(59..=70);
    sim.chain.lock().unwrap().heights.extend(61..=80);
    sim.chain.lock().unwrap().final_height = 80;
    let e = ix.index_once().await.unwrap_err();
    assert!(matches!(e, IndexError::NoBlocks { from: 59, .. }), "{e}");
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 58);
}

#[tokio::test]
async fn a_block_that_names_another_parent_is_refused() {
    let mut chain = Chain::new(30, &[]);
    chain.lie = Some(15);
    chain.messages.insert(16, vec![0]);
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, Some(10));
    let e = ix.index_once().await.unwrap_err();
    assert!(
        matches!(e, IndexError::ChainLink { height: 15, found_prev, .. } if found_prev == hash("forged", 15)),
        "{e}"
    );
    assert_eq!(
        s.cursor("a").await.unwrap().unwrap().height,
        14,
        "linked up to 14"
    );
    sim.chain.lock().unwrap().lie = None;
    ix.index_once().await.unwrap();
    assert_eq!(nsns(&s).await, vec![0]);
}

#[tokio::test]
async fn a_cursor_without_a_hash_is_anchored_and_reading_resumes_after_it() {
    let mut chain = Chain::new(40, &[10, 11]);
    chain.messages.insert(9, vec![0]);
    chain.messages.insert(12, vec![1]);
    let sim = serve(chain).await;
    let s = store();
    // As a version-1 database left it: read through 10 (a skipped height), no hash.
    s.record_indexed(
        "a",
        Cursor {
            height: 10,
            hash: None,
        },
        &[],
    )
    .await
    .unwrap();
    let ix = indexer(&sim, &s, None);
    let step = ix.index_once().await.unwrap().unwrap();
    // Anchored at 9 (the parent of 12, the first block above 10): 9 is not read again.
    assert_eq!(step.from, 10);
    assert_eq!(nsns(&s).await, vec![1]);
}

#[tokio::test]
async fn without_a_start_height_indexing_starts_at_the_final_head() {
    let mut chain = Chain::new(40, &[]);
    chain.messages.insert(20, vec![0]);
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, None);
    // Anchored at 37, the parent of 38 (final 40 minus the margin): 38 is read.
    let step = ix.index_once().await.unwrap().unwrap();
    assert_eq!((step.from, step.to), (38, 38));
    assert!(nsns(&s).await.is_empty());
}

#[tokio::test]
async fn the_sequence_audit_finds_a_message_missing_from_the_queue_and_indexes_it_again() {
    let mut chain = Chain::new(200, &[77, 100]);
    for (h, nsn) in [(5, 0), (78, 1), (150, 2), (160, 3)] {
        chain.messages.insert(h, vec![nsn]);
    }
    chain.delivered.insert(0);
    chain.next_in = 1;
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, Some(1));
    while ix.index_once().await.unwrap().is_some() {}
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 198);
    assert_eq!(nsns(&s).await, vec![0, 1, 2, 3]);
    // Nothing missing: every message below next_out is delivered or queued.
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert_eq!((r.next_out, r.next_in, r.missing.len()), (4, 1, 0));
    // Lose message 1 from the queue (as a bug, a lying node or a lost row would).
    let lost = s
        .list(&ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.nsn == Some(1))
        .unwrap();
    let fresh = store();
    let keep: Vec<NewEvent> = s
        .list(&ListFilter {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.id != lost.id)
        .map(|e| NewEvent {
            key: e.key,
            dest_chain: e.dest_chain,
            kind: e.kind,
            block_height: e.block_height,
            nsn: e.nsn,
            source_time: e.source_time,
            payload: e.payload,
        })
        .collect();
    let cursor = s.cursor("a").await.unwrap().unwrap();
    fresh.record_indexed("a", cursor, &keep).await.unwrap();
    let ix = Indexer::new(sim.rpc.clone(), fresh.clone(), ix.config().clone());
    assert_eq!(nsns(&fresh).await, vec![0, 2, 3]);
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert_eq!((r.missing.clone(), r.repaired.clone()), (vec![1], vec![1]));
    assert_eq!(nsns(&fresh).await, vec![0, 1, 2, 3]);
    let back = fresh.find(&lost.key).await.unwrap().unwrap();
    assert_eq!(back.block_height, 79);
    // A message delivered ahead of the watermark (its row pruned) is not missing.
    sim.chain.lock().unwrap().messages.insert(170, vec![4]);
    sim.chain.lock().unwrap().delivered.insert(4);
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert_eq!(
        (r.next_out, r.missing.clone()),
        (5, Vec::<u64>::new()),
        "delivered ahead of the watermark"
    );
}

/// A store whose clock reads the simulated destination's final block time (its node in sync),
/// and an indexer (audit settle time zero) that has read the whole chain into it.
async fn indexed_with_a_clock_at_the_final_head(sim: &Sim) -> (Arc<dyn MessageStore>, Indexer) {
    let head = sim.rpc.block(BlockRef::Final).await.unwrap().header;
    let final_ms = (head.timestamp_ns().unwrap() / 1_000_000) as i64;
    let s: Arc<dyn MessageStore> =
        Arc::new(SqliteStore::open_in_memory_with(Arc::new(move || final_ms)).unwrap());
    let mut cfg = config(Some(1));
    cfg.audit_settle = Duration::ZERO;
    let ix = Indexer::new(sim.rpc.clone(), s.clone(), cfg);
    while ix.index_once().await.unwrap().is_some() {}
    (s, ix)
}

#[tokio::test]
async fn the_audit_delivers_again_a_message_recorded_delivered_that_the_destination_does_not_know()
{
    let mut chain = Chain::new(200, &[]);
    for nsn in 0..7 {
        chain.messages.insert(5 + 10 * nsn, vec![nsn]);
    }
    // The destination executed 0 (its watermark) and 3 (ahead of it); none of the others.
    chain.delivered.extend([0, 3]);
    chain.next_in = 1;
    let sim = serve(chain).await;
    // The store's clock reads the destination's final block time: its node is in sync.
    let (s, ix) = indexed_with_a_clock_at_the_final_head(&sim).await;
    assert_eq!(nsns(&s).await, (0..7).collect::<Vec<_>>());
    let held = s
        .claim_due("b", "i", 10, Duration::from_secs(60))
        .await
        .unwrap();
    let by_nsn = |n: u64| held.iter().find(|e| e.nsn == Some(n)).unwrap().clone();
    // What the relayer recorded (1 is still being delivered):
    let records = [
        // the truth;
        (0, json!({"already_delivered": false})),
        (3, json!({"already_delivered": false})),
        // a false outcome from a lying node;
        (2, json!({"already_delivered": false})),
        // a first delivery "refused as already delivered": a node's report too, checked once;
        (4, json!({"already_delivered": true})),
        // refused as already delivered when delivered again after a reopen: believed;
        (5, json!({"already_delivered": true, "reopened": 1})),
        // reopened three times already: views and outcomes keep disagreeing, not again.
        (6, json!({"already_delivered": false, "reopened": 3})),
    ];
    for (n, info) in &records {
        let e = by_nsn(*n);
        s.set_delivery_tx(&e.claim().unwrap(), &format!("tx{n}"))
            .await
            .unwrap();
        s.mark_delivered(e.id, None, Some(info)).await.unwrap();
    }
    // A message of an earlier pair of connectors with a number in range: not judged.
    let mut older = by_nsn(2);
    older.payload["dst"] = json!("retired.b.near");
    let earlier_pair = NewEvent {
        key: EventKey {
            event_index: 9,
            ..older.key.clone()
        },
        dest_chain: older.dest_chain.clone(),
        kind: older.kind.clone(),
        block_height: older.block_height,
        nsn: older.nsn,
        source_time: older.source_time,
        payload: older.payload.clone(),
    };
    s.insert_events(std::slice::from_ref(&earlier_pair))
        .await
        .unwrap();
    let earlier_pair = s.find(&earlier_pair.key).await.unwrap().unwrap();
    let c = s
        .claim_due("b", "i", 1, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(c[0].id, earlier_pair.id);
    s.mark_delivered(earlier_pair.id, Some("tx-old"), None)
        .await
        .unwrap();
    let state = |n: u64| {
        let s = s.clone();
        let id = by_nsn(n).id;
        async move { s.get(id).await.unwrap().unwrap() }
    };
    // A record younger than `audit_settle` is not judged yet (the destination's final state
    // may not show it).
    let patient = Indexer::new(sim.rpc.clone(), s.clone(), config(Some(1)));
    let r = patient.audit(&sim.rpc).await.unwrap();
    assert!(r.reopened.is_empty(), "{r:?}");
    // Nor while the destination's node lags behind the record (its final head is two minutes
    // old: its view cannot show the delivery yet).
    sim.chain.lock().unwrap().final_height = 80;
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert!(r.reopened.is_empty(), "{r:?}");
    assert_eq!(state(2).await.state, EventState::Delivered);
    // In sync again.
    sim.chain.lock().unwrap().final_height = 200;
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert_eq!((r.next_in, r.next_out), (1, 7));
    assert_eq!(r.reopened, vec![2, 4], "{r:?}");
    assert!(r.missing.is_empty(), "queued, so not missing");
    for n in [2, 4] {
        let e = state(n).await;
        assert_eq!(e.state, EventState::Pending);
        assert_eq!(e.delivery_tx, None);
        assert_eq!(e.reopens(), 1);
        assert!(e.last_error.unwrap().starts_with(NOT_DELIVERED));
    }
    for n in [0, 3, 5, 6] {
        let e = state(n).await;
        assert_eq!(e.state, EventState::Delivered, "nsn {n}");
        assert_eq!(e.delivery_tx, Some(format!("tx{n}")));
    }
    assert_eq!(
        s.get(earlier_pair.id).await.unwrap().unwrap().state,
        EventState::Delivered,
        "an earlier pair's message is not the current channel's"
    );
    assert_eq!(
        state(1).await.state,
        EventState::Delivering,
        "not the audit's business"
    );
    // Delivered again: 4 executes now; 2 is refused as already delivered while the view still
    // denies it: the chain's own verdict stands, nothing is delivered a third time.
    let again = s
        .claim_due("b", "j", 10, Duration::from_secs(60))
        .await
        .unwrap();
    let ids: Vec<_> = again.iter().map(|e| e.nsn).collect();
    assert_eq!(ids, vec![Some(2), Some(4)]);
    let carried = |a: &StoredEvent, already: bool| json!({"already_delivered": already, "reopened": a.reopens()});
    s.mark_delivered(again[0].id, Some("tx2b"), Some(&carried(&again[0], true)))
        .await
        .unwrap();
    s.mark_delivered(again[1].id, Some("tx4b"), Some(&carried(&again[1], false)))
        .await
        .unwrap();
    sim.chain.lock().unwrap().delivered.insert(4);
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert!(r.reopened.is_empty() && r.missing.is_empty(), "{r:?}");
    assert_eq!(state(2).await.state, EventState::Delivered);
}

#[tokio::test]
async fn records_the_audit_passes_over_never_hide_a_false_one_after_them() {
    let mut chain = Chain::new(200, &[]);
    for nsn in 0..(AUDIT_REOPEN_BATCH as u64 + 6) {
        chain.messages.insert(2 + 2 * nsn, vec![nsn]);
    }
    let sim = serve(chain).await;
    let (s, ix) = indexed_with_a_clock_at_the_final_head(&sim).await;
    let held = s
        .claim_due("b", "i", 1000, Duration::from_secs(60))
        .await
        .unwrap();
    let last = AUDIT_REOPEN_BATCH as u64 + 5;
    assert_eq!(held.len() as u64, last + 1);
    // Every message but the last was given up on (reopened too often); the last one's record
    // is false. More than a page of the first must not hide it.
    for e in &held {
        let info = if e.nsn == Some(last) {
            json!({"already_delivered": false})
        } else {
            json!({"already_delivered": false, "reopened": AUDIT_MAX_REOPENS})
        };
        s.mark_delivered(e.id, Some("tx"), Some(&info))
            .await
            .unwrap();
    }
    let r = ix.audit(&sim.rpc).await.unwrap();
    assert_eq!(r.reopened, vec![last], "{r:?}");
}

#[tokio::test]
async fn the_audit_refuses_connectors_that_do_not_name_each_other() {
    let chain = Chain::new(20, &[]);
    let sim = serve(chain).await;
    let s = store();
    let mut cfg = IndexerConfig::new("a", "b", CONN, "someone.else.near");
    cfg.start_height = Some(1);
    let ix = Indexer::new(sim.rpc.clone(), s.clone(), cfg);
    ix.index_once().await.unwrap();
    let e = ix.audit(&sim.rpc).await.unwrap_err();
    assert!(e.to_string().contains("locker"), "{e}");
}

#[tokio::test]
async fn an_rpc_error_mid_batch_keeps_the_blocks_read_before_it() {
    let mut chain = Chain::new(40, &[]);
    chain.messages.insert(12, vec![0]);
    chain.messages.insert(20, vec![1]);
    chain.broken_chunk = Some(18);
    let sim = serve(chain).await;
    let s = store();
    let ix = indexer(&sim, &s, Some(10));
    let e = ix.index_once().await.unwrap_err();
    assert!(matches!(e, IndexError::Rpc(_)), "{e}");
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 17);
    assert_eq!(nsns(&s).await, vec![0]);
    sim.chain.lock().unwrap().broken_chunk = None;
    ix.index_once().await.unwrap().unwrap();
    assert_eq!(nsns(&s).await, vec![0, 1]);
}

#[tokio::test]
async fn an_outcome_not_provable_yet_holds_its_block_without_retries_and_is_read_from_a_newer_head()
{
    let mut chain = Chain::new(40, &[]);
    chain.messages.insert(12, vec![0]);
    chain.messages.insert(15, vec![1]);
    chain.messages.insert(20, vec![2]);
    chain.not_final = Some(15);
    let sim = serve(chain).await;
    // A client that retries internal errors, as the service's does: the refusal must not be.
    let rpc = RpcClient::new(RpcClientConfig {
        retry: RetryPolicy {
            max_retries: 5,
            // Long enough that one retry shows in the elapsed time on any machine.
            initial_backoff: Duration::from_secs(2),
            ..RetryPolicy::default()
        },
        ..RpcClientConfig::new(sim._mock.url.clone())
    })
    .unwrap();
    let s = store();
    let ix = Indexer::new(rpc, s.clone(), config(Some(10)));
    let started = Instant::now();
    // The blocks before the unprovable one are read and kept; the cursor stops right below it.
    let step = ix.index_once().await.unwrap().unwrap();
    assert_eq!((step.from, step.to, step.new_events), (10, 14, 1));
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 14);
    assert_eq!(nsns(&s).await, vec![0]);
    // Still not provable: nothing to do, no error (no error back-off either), nothing skipped.
    assert_eq!(ix.index_once().await.unwrap(), None);
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 14);
    // Each attempt asked once: the same head cannot give another answer.
    assert_eq!(sim.chain.lock().unwrap().proof_requests, 3);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "retried with the same head"
    );
    // Once it is provable (a newer final head), reading goes on through it.
    {
        let mut c = sim.chain.lock().unwrap();
        c.not_final = None;
        c.heights.extend(41..=42);
        c.final_height = 42;
    }
    let step = ix.index_once().await.unwrap().unwrap();
    assert_eq!((step.from, step.to, step.new_events), (15, 40, 2));
    assert_eq!(nsns(&s).await, vec![0, 1, 2]);
}

#[tokio::test]
async fn a_block_held_too_long_by_an_unprovable_outcome_becomes_a_loud_error_and_is_not_skipped() {
    let mut chain = Chain::new(40, &[]);
    chain.messages.insert(15, vec![0]);
    chain.not_final = Some(15);
    let sim = serve(chain).await;
    let s = store();
    let mut cfg = config(Some(10));
    cfg.hold_loud = Duration::from_millis(50);
    let ix = Indexer::new(sim.rpc.clone(), s.clone(), cfg);
    ix.index_once().await.unwrap().unwrap();
    // Held silently at first...
    assert_eq!(ix.index_once().await.unwrap(), None);
    tokio::time::sleep(Duration::from_millis(60)).await;
    // ...then loudly (an integrity error: the stalled gauge), and still not skipped.
    let e = ix.index_once().await.unwrap_err();
    assert!(
        matches!(e, IndexError::NotProvable { height: 15, .. }) && e.is_integrity(),
        "{e}"
    );
    assert_eq!(s.cursor("a").await.unwrap().unwrap().height, 14);
    // Once provable it is read, and the hold is forgotten.
    sim.chain.lock().unwrap().not_final = None;
    let step = ix.index_once().await.unwrap().unwrap();
    assert_eq!((step.from, step.to, step.new_events), (15, 38, 1));
    assert!(ix.held.lock().unwrap().is_none());
}
