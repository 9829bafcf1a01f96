//! The relay against a simulated source node serving real testnet/mainnet light client blocks
//! (shared/vectors) the way nearcore answers `next_light_client_block`, and a native light client
//! (xsc-core, the contract's own rules) as the destination.

use super::*;
use crate::queue::SqliteStore;
use crate::rpc::{RetryPolicy, RpcClient, RpcClientConfig};
use crate::signer::TxSigner;
use crate::testutil::{fixture_result, MockRpc, Reply};
use crate::tx::{TxOptions, TxSender};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex as StdMutex;
use xsc_core::client::{trusted_state_for, LightClient, LightClientStore};

#[derive(Clone, Copy)]
struct Info {
    height: u64,
    epoch: CryptoHash,
    next_epoch: CryptoHash,
}

/// A source node that knows `blocks` (final light client blocks, ascending) up to `tip`.
struct VectorSource {
    blocks: Vec<LightClientBlockView>,
    info: HashMap<CryptoHash, Info>,
    tip: AtomicUsize,
}

fn hash_of(b: &LightClientBlockView) -> CryptoHash {
    block_hash(&NativeCrypto, &LightClientBlockLiteView::from(b))
}

fn info_of(b: &LightClientBlockView) -> Info {
    Info {
        height: b.inner_lite.height,
        epoch: b.inner_lite.epoch_id,
        next_epoch: b.inner_lite.next_epoch_id,
    }
}

impl VectorSource {
    fn new(head: &LightClientBlockView, blocks: Vec<LightClientBlockView>, tip: usize) -> Self {
        let mut info: HashMap<_, _> = blocks.iter().map(|b| (hash_of(b), info_of(b))).collect();
        info.insert(hash_of(head), info_of(head));
        VectorSource {
            blocks,
            info,
            tip: AtomicUsize::new(tip),
        }
    }
    fn set_tip(&self, i: usize) {
        self.tip.store(i, Ordering::SeqCst);
    }
}

impl BlockSource for VectorSource {
    /// nearcore's rule: the latest final block when `last_known` is in the tip's epoch or the
    /// one before; else the last block of `last_known`'s next epoch.
    async fn next_light_client_block(
        &self,
        last_known: &CryptoHash,
    ) -> Result<Option<LightClientBlockView>, RelayError> {
        let k = *self.info.get(last_known).ok_or_else(|| {
            RelayError::Rpc(RpcError::handler(
                "next_light_client_block",
                "HANDLER_ERROR",
                "UNKNOWN_BLOCK",
                serde_json::Value::Null,
                "unknown",
            ))
        })?;
        let known = &self.blocks[..=self.tip.load(Ordering::SeqCst)];
        let tip = known.last().unwrap();
        let t = tip.inner_lite.epoch_id;
        if t == k.epoch || t == k.next_epoch {
            return Ok((tip.inner_lite.height > k.height).then(|| tip.clone()));
        }
        Ok(known
            .iter()
            .rev()
            .find(|b| b.inner_lite.epoch_id == k.next_epoch)
            .cloned())
    }

    async fn chain_tip(&self) -> Result<ChainTip, RelayError> {
        let tip = &self.blocks[self.tip.load(Ordering::SeqCst)];
        Ok(ChainTip {
            final_height: tip.inner_lite.height,
            epoch_id: tip.inner_lite.epoch_id,
        })
    }
}

/// The destination: xsc-core's light client, which applies the contract's rules.
struct NativeTarget {
    lc: Arc<StdMutex<LightClient>>,
    /// When set, `submit_block_nowait` returns at once and applies the block only when a permit
    /// of `release` is added (a transaction waiting in the destination's pool).
    defer: std::sync::atomic::AtomicBool,
    release: Arc<tokio::sync::Semaphore>,
    /// When set, the next deferred block is refused instead of applied.
    refuse_next: Arc<std::sync::atomic::AtomicBool>,
    submitted: StdMutex<Vec<LightClientBlockView>>,
    /// When set, `head()` answers this (a view lagging behind the contract's state).
    stale_head: StdMutex<Option<Head>>,
    /// When set, `has_epoch_producers` answers false.
    hide_producers: std::sync::atomic::AtomicBool,
}

impl NativeTarget {
    fn submitted(&self) -> Vec<LightClientBlockView> {
        self.submitted.lock().unwrap().clone()
    }
}

impl LightClientTarget for NativeTarget {
    async fn head(&self) -> Result<Head, RelayError> {
        if let Some(h) = self.stale_head.lock().unwrap().clone() {
            return Ok(h);
        }
        Ok(self.lc.lock().unwrap().head_view().clone())
    }
    async fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> Result<bool, RelayError> {
        if self.hide_producers.load(Ordering::SeqCst) {
            return Ok(false);
        }
        Ok(self.lc.lock().unwrap().has_epoch_producers(epoch_id))
    }
    async fn submit_block(&self, block: &LightClientBlockView) -> Result<Submitted, RelayError> {
        self.submitted.lock().unwrap().push(block.clone());
        self.lc
            .lock()
            .unwrap()
            .apply(&NativeCrypto, block)
            .map_err(|e| RelayError::Rejected {
                height: block.inner_lite.height,
                reason: e.to_string(),
            })?;
        Ok(Submitted {
            tx_hash: None,
            gas_burnt: 1,
        })
    }
    async fn submit_block_nowait(
        &self,
        block: &LightClientBlockView,
    ) -> Result<PendingSubmission, RelayError> {
        if !self.defer.load(Ordering::SeqCst) {
            let r = self.submit_block(block).await;
            return Ok(Box::pin(async move { r }));
        }
        self.submitted.lock().unwrap().push(block.clone());
        let (lc, release, refuse) = (
            self.lc.clone(),
            self.release.clone(),
            self.refuse_next.clone(),
        );
        let block = block.clone();
        Ok(Box::pin(async move {
            release.acquire().await.expect("open").forget();
            let height = block.inner_lite.height;
            if refuse.swap(false, Ordering::SeqCst) {
                return Err(RelayError::Rejected {
                    height,
                    reason: "ERR_OUT_OF_GAS (simulated)".into(),
                });
            }
            lc.lock()
                .unwrap()
                .apply(&NativeCrypto, &block)
                .map_err(|e| RelayError::Rejected {
                    height,
                    reason: e.to_string(),
                })?;
            Ok(Submitted {
                tx_hash: None,
                gas_burnt: 1,
            })
        }))
    }
}

fn setup(chain: &str, tip: usize) -> (VectorSource, NativeTarget, Vec<LightClientBlockView>) {
    let case = xsc_vectors::chain(chain);
    let head = case.head();
    let blocks = case.blocks();
    let state = trusted_state_for(
        &NativeCrypto,
        &LightClientBlockLiteView::from(&head),
        head.next_bps.clone(),
        case.bps(),
        Some(&blocks[0].inner_lite.epoch_id),
    )
    .unwrap();
    let target = NativeTarget {
        lc: Arc::new(StdMutex::new(LightClient::new(state))),
        defer: Default::default(),
        release: Arc::new(tokio::sync::Semaphore::new(0)),
        refuse_next: Default::default(),
        submitted: StdMutex::default(),
        stale_head: StdMutex::default(),
        hide_producers: Default::default(),
    };
    (
        VectorSource::new(&head, blocks.clone(), tip),
        target,
        blocks,
    )
}

fn cfg(lean: bool) -> RelayConfig {
    RelayConfig {
        lean,
        poll_interval: Duration::from_millis(20),
        ..RelayConfig::new("a", "b")
    }
}

#[tokio::test]
async fn far_behind_walks_forward_one_epoch_at_a_time() {
    let (source, target, blocks) = setup("testnet-105M", 13);
    let relay = LightClientRelay::new(source, target, cfg(true));
    let relayed = relay.catch_up().await.unwrap();
    let heights: Vec<u64> = relayed.iter().map(|r| r.height).collect();
    // Last block of each epoch in turn, then the tip once its epoch is the head's next.
    let mut expected: Vec<u64> = blocks[..12].iter().map(|b| b.inner_lite.height).collect();
    expected.push(105738335);
    assert_eq!(heights, expected);
    assert!(relayed.iter().all(|r| r.new_epoch && !r.lean));
    let head = relay.target().head().await.unwrap();
    assert_eq!(head.height, 105738335);
    assert_eq!(head.hash, hash_of(&blocks[13]));
    // Up to date: nothing more.
    assert!(relay.catch_up().await.unwrap().is_empty());
    assert_eq!(
        relay.relay_once().await.unwrap(),
        RelayStep::UpToDate {
            head_height: 105738335
        }
    );
}

#[tokio::test]
async fn lean_mode_strips_next_bps_inside_an_epoch() {
    // mainnet-91M: three epoch changes, then ten more blocks of the last epoch.
    let (source, target, blocks) = setup("mainnet-91M", 2);
    let relay = LightClientRelay::new(source, target, cfg(true));
    let first = relay.catch_up().await.unwrap();
    assert_eq!(first.len(), 3);
    for (i, block) in blocks.iter().enumerate().skip(3) {
        relay.source().set_tip(i);
        match relay.relay_once().await.unwrap() {
            RelayStep::Relayed(r) => {
                assert_eq!(r.height, block.inner_lite.height);
                assert!(r.lean && !r.new_epoch);
            }
            s => panic!("{s:?}"),
        }
    }
    let sent = relay.target().submitted();
    assert_eq!(sent.len(), blocks.len());
    assert!(
        sent[..3].iter().all(|b| b.next_bps.is_some()),
        "epoch changes keep next_bps"
    );
    assert!(
        sent[3..].iter().all(|b| b.next_bps.is_none()),
        "same-epoch blocks are lean"
    );
    assert_eq!(relay.target().head().await.unwrap().height, 91522913);
}

#[tokio::test]
async fn full_mode_keeps_next_bps() {
    let (source, target, blocks) = setup("mainnet-91M", 2);
    let relay = LightClientRelay::new(source, target, cfg(false));
    relay.catch_up().await.unwrap();
    relay.source().set_tip(3);
    let RelayStep::Relayed(r) = relay.relay_once().await.unwrap() else {
        panic!()
    };
    assert!(!r.lean);
    assert!(relay.target().submitted()[3] == blocks[3]);
}

#[tokio::test]
async fn lean_mode_keeps_next_bps_when_the_next_epoch_is_unknown() {
    let (source, target, blocks) = setup("mainnet-91M", 2);
    let relay = LightClientRelay::new(source, target, cfg(true));
    relay.catch_up().await.unwrap();
    // The light client does not (say it does) hold the next epoch's producers: send whole.
    relay.target().hide_producers.store(true, Ordering::SeqCst);
    relay.source().set_tip(3);
    let RelayStep::Relayed(r) = relay.relay_once().await.unwrap() else {
        panic!()
    };
    assert!(!r.lean);
    assert!(relay.target().submitted()[3].next_bps.is_some());
    // Known again: lean from now on, and the answer is cached for the epoch.
    relay.target().hide_producers.store(false, Ordering::SeqCst);
    relay.source().set_tip(4);
    let RelayStep::Relayed(r) = relay.relay_once().await.unwrap() else {
        panic!()
    };
    assert!(r.lean);
    relay.target().hide_producers.store(true, Ordering::SeqCst);
    relay.source().set_tip(5);
    let RelayStep::Relayed(r) = relay.relay_once().await.unwrap() else {
        panic!()
    };
    assert!(r.lean, "cached per epoch");
    assert_eq!(r.height, blocks[5].inner_lite.height);
}

#[tokio::test]
async fn ensure_height_waits_for_the_source_and_times_out() {
    let (source, target, _) = setup("mainnet-91M", 2);
    let relay = Arc::new(LightClientRelay::new(source, target, cfg(true)));
    relay.catch_up().await.unwrap();
    // The needed height is not final on the source yet: it appears 100 ms later.
    let r2 = relay.clone();
    let bump = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        r2.source().set_tip(5);
    });
    let head = relay
        .ensure_height(91522600, Duration::from_secs(10))
        .await
        .unwrap();
    bump.await.unwrap();
    // One update serves everything below it: the node gave its latest final block.
    assert_eq!(head.height, 91522642);
    assert_eq!(relay.target().submitted().len(), 4);
    // Already high enough: no submission.
    relay
        .ensure_height(91522600, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(relay.target().submitted().len(), 4);
    let e = relay
        .ensure_height(99_000_000, Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            RelayError::Timeout {
                want: 99_000_000,
                have: 91522642,
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn keep_up_relays_only_on_epoch_change_and_records_state() {
    let (source, target, blocks) = setup("mainnet-91M", 2);
    let store: Arc<dyn MessageStore> = Arc::new(SqliteStore::open_in_memory().unwrap());
    let metrics = Arc::new(Metrics::new());
    let relay = LightClientRelay::new(source, target, cfg(true))
        .with_store(store.clone())
        .with_metrics(metrics.clone());
    assert_eq!(relay.keep_up().await.unwrap().len(), 3);
    // Same epoch on both sides: the periodic check submits nothing even though the source
    // moved on (on-demand relaying covers messages).
    relay.source().set_tip(8);
    assert!(relay.keep_up().await.unwrap().is_empty());
    let lag = metrics
        .light_client_lag_blocks
        .with_label_values(&["a", "b"])
        .get();
    assert_eq!(
        lag as u64,
        blocks[8].inner_lite.height - blocks[2].inner_lite.height
    );
    let last = store.last_relayed_block("b").await.unwrap().unwrap();
    assert_eq!(
        (last.height, last.hash),
        (blocks[2].inner_lite.height, hash_of(&blocks[2]))
    );
    assert_eq!(
        metrics
            .lc_blocks_relayed
            .with_label_values(&["a", "b", "full"])
            .get(),
        3
    );
}

#[tokio::test]
async fn proof_head_relays_only_when_needed() {
    let (source, target, _) = setup("mainnet-91M", 2);
    let relay = LightClientRelay::new(source, target, cfg(true));
    relay.catch_up().await.unwrap();
    // Outcome proven in a block below the head: the head as it is.
    let h = relay
        .proof_head_for(91522000, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(h.height, 91522568);
    assert_eq!(relay.target().submitted().len(), 3);
    // The head itself serves (an empty block_proof).
    let h = relay
        .proof_head_for(91522568, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(h.height, 91522568);
    assert_eq!(relay.target().submitted().len(), 3);
    // Above the head: relay a newer block.
    relay.source().set_tip(3);
    let h = relay
        .proof_head_for(91522569, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(h.height, 91522595);
}

/// Poll until `f` holds (the relay's bookkeeping task runs in the background).
async fn eventually(f: impl Fn() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("condition not reached");
}

/// Wait until the light client's own head is `h` (its update landing in the background);
/// with `in_flight_meanwhile`, check that `h` is the effective head all along.
async fn until_head_is<S: BlockSource, T: LightClientTarget>(
    relay: &LightClientRelay<S, T>,
    h: &Head,
    in_flight_meanwhile: bool,
) {
    for _ in 0..200 {
        if relay.target().head().await.unwrap() == *h {
            return;
        }
        if in_flight_meanwhile {
            assert_eq!(relay.effective_head().await.unwrap(), *h);
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the light client's head never reached {}", h.height);
}

#[tokio::test]
async fn proof_head_nowait_hands_out_the_head_in_flight_and_never_submits_it_twice() {
    let (source, target, _) = setup("mainnet-91M", 2);
    let relay = Arc::new(LightClientRelay::new(source, target, cfg(true)));
    relay.catch_up().await.unwrap();
    assert_eq!(relay.target().submitted().len(), 3);
    relay.target().defer.store(true, Ordering::SeqCst);
    relay.source().set_tip(3);
    // The update is handed over; its head comes back before the light client took it.
    let h = relay
        .proof_head_nowait(91522569, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(h.height, 91522595);
    assert_eq!(relay.target().head().await.unwrap().height, 91522568);
    assert_eq!(relay.effective_head().await.unwrap().height, 91522595);
    // A second batch below it shares the update in flight: nothing new is submitted, neither by
    // the pipelined path nor by the periodic one.
    let again = relay
        .proof_head_nowait(91522570, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(again, h);
    relay.relay_once().await.unwrap();
    assert_eq!(relay.target().submitted().len(), 4);
    // It lands: the update in flight stays the effective head until the light client's own
    // head shows it (no second block meanwhile), then nothing is in flight.
    relay.target().release.add_permits(1);
    until_head_is(&relay, &h, true).await;
    assert_eq!(relay.effective_head().await.unwrap(), h);
    assert!(relay.in_flight.lock().unwrap().is_none());
    assert_eq!(relay.target().submitted().len(), 4);
}

#[tokio::test]
async fn proof_head_nowait_relays_again_after_the_update_in_flight_failed() {
    let (source, target, _) = setup("mainnet-91M", 2);
    let relay = Arc::new(LightClientRelay::new(source, target, cfg(true)));
    relay.catch_up().await.unwrap();
    relay.target().defer.store(true, Ordering::SeqCst);
    relay.target().refuse_next.store(true, Ordering::SeqCst);
    relay.source().set_tip(3);
    let h = relay
        .proof_head_nowait(91522569, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(h.height, 91522595);
    relay.target().release.add_permits(1);
    // Refused on chain: forgotten, and the next batch submits the block again.
    eventually(|| relay.in_flight.lock().unwrap().is_none()).await;
    assert_eq!(relay.target().head().await.unwrap().height, 91522568);
    relay.target().release.add_permits(1);
    let h2 = relay
        .proof_head_nowait(91522569, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(h2, h);
    assert_eq!(relay.target().submitted().len(), 5);
    until_head_is(&relay, &h, false).await;
    assert_eq!(relay.effective_head().await.unwrap(), h);
    assert!(relay.in_flight.lock().unwrap().is_none());
}

#[tokio::test]
async fn proof_head_nowait_times_out_when_the_source_has_no_final_block_above() {
    let (source, target, _) = setup("mainnet-91M", 2);
    let relay = Arc::new(LightClientRelay::new(source, target, cfg(true)));
    relay.catch_up().await.unwrap();
    let e = relay
        .proof_head_nowait(91522569, Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(
        matches!(e, RelayError::Timeout { want: 91522569, .. }),
        "{e}"
    );
    assert_eq!(relay.target().submitted().len(), 3);
}

#[test]
fn proof_height_is_a_stored_height_at_or_above_the_proof_block() {
    assert_eq!(choose_proof_height(120, 100), ProofHeight::Use(120));
    // The proof block itself serves: the node answers an empty block_proof.
    assert_eq!(choose_proof_height(100, 100), ProofHeight::Use(100));
    assert_eq!(
        choose_proof_height(99, 100),
        ProofHeight::NeedRelay { min_height: 100 }
    );
}

#[tokio::test]
async fn a_rejected_block_is_an_error_and_a_lost_race_is_not() {
    let (source, target, _) = setup("mainnet-91M", 0);
    // Tamper with the block the source serves: its approvals no longer verify.
    let mut tampered = source.blocks.clone();
    tampered[0].inner_lite.timestamp += 1;
    let head = xsc_vectors::chain("mainnet-91M").head();
    let source = VectorSource::new(&head, tampered, 0);
    let relay = LightClientRelay::new(source, target, cfg(true));
    match relay.relay_once().await {
        Err(RelayError::Rejected { reason, .. }) => assert!(reason.starts_with("ERR_"), "{reason}"),
        other => panic!("{other:?}"),
    }
    // Someone else relayed the same block meanwhile (our view of the head lags): not an error.
    let (source, target, _) = setup("mainnet-91M", 0);
    let block0 = source.blocks[0].clone();
    let relay = LightClientRelay::new(source, target, cfg(true));
    let stale = relay.target().head().await.unwrap();
    relay
        .target()
        .lc
        .lock()
        .unwrap()
        .apply(&NativeCrypto, &block0)
        .unwrap();
    *relay.target().stale_head.lock().unwrap() = Some(stale.clone());
    assert_eq!(
        relay.relay_once().await.unwrap(),
        RelayStep::UpToDate {
            head_height: stale.height
        }
    );
    assert_eq!(
        relay.target().submitted().len(),
        1,
        "tried once, refused as not newer"
    );
}

// ---- the contract end over RPC ----------------------------------------------------------------

fn decode_call(params: &serde_json::Value) -> (String, Vec<u8>) {
    use near_primitives::action::Action;
    let st = crate::testutil::signed_tx(params[0].as_str().unwrap());
    match &st.transaction.actions()[0] {
        Action::FunctionCall(f) => (f.method_name.clone(), f.args.clone()),
        a => panic!("{a:?}"),
    }
}

#[tokio::test]
async fn contract_target_reads_views_and_submits_borsh_blocks() {
    let case = xsc_vectors::chain("mainnet-91M");
    let block = case.blocks()[3].clone();
    let head_json = serde_json::json!({
        "height": 91522568u64, "hash": CryptoHash([1; 32]), "epoch_id": CryptoHash([2; 32]),
        "next_epoch_id": CryptoHash([3; 32]), "block_merkle_root": CryptoHash([4; 32]),
        "timestamp": 1_700_000_000_000_000_000u64});
    let got_args: Arc<StdMutex<Vec<Vec<u8>>>> = Arc::default();
    let g2 = got_args.clone();
    let mock = MockRpc::start(move |_, method, params| match method {
        "query" if params["request_type"] == "view_access_key" => {
            Reply::Result(serde_json::json!({"nonce": 1, "permission": "FullAccess"}))
        }
        "query" => {
            let result = match params["method_name"].as_str().unwrap() {
                "head" => head_json.clone(),
                "stored_range" => serde_json::json!({"oldest_height": "91425093", "newest_height": "91522568", "count": "3"}),
                "epoch_producers" => serde_json::Value::Null,
                m => panic!("{m}"),
            };
            assert_eq!(params["finality"], "optimistic");
            Reply::Result(serde_json::json!({"result": serde_json::to_vec(&result).unwrap(), "logs": []}))
        }
        "block" => Reply::Result(fixture_result("block-current.json")),
        "broadcast_tx_commit" => {
            let (method, args) = decode_call(params);
            assert_eq!(method, "add_light_client_block");
            let n = {
                let mut g = g2.lock().unwrap();
                g.push(args);
                g.len()
            };
            if n == 1 {
                Reply::Result(fixture_result("tx-success.json"))
            } else {
                Reply::Result(fixture_result("tx-failure-old-protocol63.json"))
            }
        }
        m => panic!("unexpected {m}"),
    })
    .await;
    let rpc = RpcClient::new(RpcClientConfig {
        retry: RetryPolicy::none(),
        ..RpcClientConfig::new(mock.url.clone())
    })
    .unwrap();
    let signer = Arc::new(TxSigner::from_seed("relayer.b.test.near", "r").unwrap());
    let target = ContractTarget::new(
        "lc.b.test.near",
        Arc::new(TxSender::new(rpc, signer, TxOptions::default())),
    );

    let head = target.head().await.unwrap();
    assert_eq!((head.height, head.hash), (91522568, CryptoHash([1; 32])));
    assert_eq!(head.timestamp, 1_700_000_000_000_000_000);
    let range = target.stored_range().await.unwrap();
    assert_eq!(
        (range.oldest_height, range.newest_height, range.count),
        (91425093, 91522568, 3)
    );
    assert!(!target
        .has_epoch_producers(&CryptoHash([3; 32]))
        .await
        .unwrap());

    let s = target.submit_block(&block).await.unwrap();
    assert!(s.gas_burnt > 0 && s.tx_hash.is_some());
    let sent: LightClientBlockView = borsh::from_slice(&got_args.lock().unwrap()[0]).unwrap();
    assert_eq!(sent, block);
    let e = target.submit_block(&block).await.unwrap_err();
    assert!(
        matches!(
            e,
            RelayError::Rejected {
                height: 91522595,
                ..
            }
        ),
        "{e}"
    );
}
