//! Source chain → durable queue, without ever skipping a block.
//!
//! From the persisted [`Cursor`] (a height and the hash of the last block read) the indexer
//! walks the source chain's **final** blocks over RPC (no external indexer). For each new
//! chunk it picks
//! - the receipts addressed to the connector ([`crate::rpc::ChunkView::function_call_receipts_to`]);
//! - transactions to the connector whose signer is the connector itself: their receipt is
//!   executed locally and never appears among chunk receipts, so it is taken from the
//!   transaction's outcome.
//!
//! Each such outcome (with its logs) comes from `EXPERIMENTAL_light_client_proof` asked against
//! the current final block: the same call the deliverer makes later, so an outcome that indexes
//! is one that proves. Every transport event of the connector ([`crate::events`]) addressed to
//! the destination connector becomes a [`NewEvent`] keyed by `(source chain, outcome id, log
//! index)`, and the events found up to a block are written together with the new cursor in one
//! transaction ([`MessageStore::record_indexed`]).
//!
//! # Chained: a height is skipped only when the chain proves it
//!
//! Consecutive blocks read are chained by hash: the next block found must name the cursor's
//! block as its `prev_hash` (and, when the node reports it, its height as `prev_height`). A
//! height the node answers `UNKNOWN_BLOCK` for is *not* taken as "no block": the indexer looks
//! further up, and only a block whose `prev_hash` is the cursor's proves that the heights in
//! between were skipped. A node that lags behind, forgot old blocks, or lies about a block
//! breaks that link: the step fails with [`IndexError::ChainLink`] (a loud error and the
//! `xsc_indexer_stalled` gauge), the cursor does not move, and the step is tried again (on the
//! next RPC endpoint, the archival one when the regular ones lack the block) until the chain
//! links up. An outage delays indexing; it never skips a message.
//!
//! **Where it starts.** With no cursor: at `start_height` (configured; `xsc deploy` records the
//! deployment height), else at the current final height. The anchor is the parent of the first
//! block at or above the start, found by walking `prev_hash` links, so even the first block
//! read is chained. A cursor written before hashes were kept is anchored the same way.
//!
//! # Compared with the connectors
//!
//! [`Indexer::audit`] compares the source connector's next sequence number (`channel().next_out`
//! at the cursor's block) with the destination connector's watermark (`next_in`) and the queue:
//! every message below `next_out` must be delivered or queued. A missing one is located by
//! binary search over the source's history (the height at which `next_out` passed it) and that
//! block is indexed again. A message can therefore never be left behind unnoticed.
//!
//! **One writer.** With several instances on one queue, the indexer of a chain runs only in the
//! instance holding the `indexer:<chain>` lease ([`Indexer::with_lease`]); its cursor writes are
//! fenced by that lease ([`MessageStore::record_indexed_fenced`]), so a holder that stalled past
//! its lease cannot move the cursor after another instance took over.
//!
//! Idempotent: a crash between reading and recording re-reads the same heights after restart;
//! the keys make re-inserting harmless. Only heights at least [`IndexerConfig::margin`] (1)
//! below the final height are read, so the outcome's proof block (the next block with a chunk)
//! is usually at or below the final head the proof is asked against (an equal head serves: the
//! node answers an empty `block_proof`). An outcome that is not provable yet (a callback waiting
//! for its data, a missing chunk) holds its block until it is.

use crate::coordination::RoleLease;
use crate::events::{parse_transport, MessageKind};
use crate::metrics::Metrics;
use crate::queue::{Cursor, EventKey, MessageStore, NewEvent, QueueError};
use crate::rpc::{BlockRef, BlockView, ProofTarget, RpcClient, RpcError};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::{debug, error, info, warn};

/// Recorded deliveries [`Indexer::audit`] checks against the destination at most per audit.
pub const AUDIT_REOPEN_BATCH: usize = 64;
/// Recorded deliveries [`Indexer::audit`] reads at most per audit (passed over or checked).
pub const AUDIT_SCAN_LIMIT: usize = 1024;
/// How many times [`Indexer::audit`] puts one message back at most.
pub const AUDIT_MAX_REOPENS: u32 = 3;
/// The error a message reopened by [`Indexer::audit`] keeps.
pub const NOT_DELIVERED: &str = "ERR_NOT_DELIVERED";
use xsc_core::{CryptoHash, ExecutionStatusView, LightClientExecutionProof};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Store(#[from] QueueError),
    /// The chain does not link up: the block found does not name the last block read as its
    /// parent. A lagging or lying node; nothing is skipped, the step is retried.
    #[error("chain link broken at height {height}: block {hash} names parent {found_prev} (height {found_prev_height:?}), the last block read is {expected_prev} at height {expected_height}")]
    ChainLink {
        height: u64,
        hash: CryptoHash,
        found_prev: CryptoHash,
        found_prev_height: Option<u64>,
        expected_prev: CryptoHash,
        expected_height: u64,
    },
    /// Every height above the cursor up to the final head was answered `UNKNOWN_BLOCK`.
    #[error("no block found at heights {from}..={to} although they are below the final head {final_height}: the node lacks them")]
    NoBlocks {
        from: u64,
        to: u64,
        final_height: u64,
    },
    #[error("{0}")]
    Audit(String),
    /// An outcome of this block has not been provable for a long time: a callback waits that
    /// long only when something is wrong, more likely a node that lags or lies about finality.
    /// Nothing is skipped; the block is read again.
    #[error("an outcome in block {height} has not been provable for {held_s} s (a lagging or lying node?); not skipping it")]
    NotProvable { height: u64, held_s: u64 },
}

impl IndexError {
    /// A label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            IndexError::Rpc(_) => "rpc",
            IndexError::Store(_) => "store",
            IndexError::ChainLink { .. } => "chain_link",
            IndexError::NoBlocks { .. } => "no_blocks",
            IndexError::Audit(_) => "audit",
            IndexError::NotProvable { .. } => "not_provable",
        }
    }

    /// Whether the chain's integrity is in question (not an outage): stalls the direction.
    pub fn is_integrity(&self) -> bool {
        matches!(
            self,
            IndexError::ChainLink { .. }
                | IndexError::NoBlocks { .. }
                | IndexError::NotProvable { .. }
        )
    }
}

#[derive(Debug, Clone)]
pub struct IndexerConfig {
    /// Source chain name (queue key).
    pub source: String,
    /// Destination chain name.
    pub dest: String,
    /// The connector on the source chain.
    pub connector: String,
    /// The connector on the destination chain (the `dst` of the messages relayed).
    pub dest_connector: String,
    /// Blocks read per step (one queue transaction).
    pub batch: u64,
    /// Stay this many blocks below the final height.
    pub margin: u64,
    /// First height to index when no cursor exists; `None`: start at the current final height.
    pub start_height: Option<u64>,
    /// Heights answered `UNKNOWN_BLOCK` looked past in one step before giving up on it.
    pub max_unknown: u64,
    pub poll_interval: Duration,
    /// How far back [`Indexer::audit`] looks for a missing message when `start_height` is not
    /// set.
    pub audit_span: u64,
    /// A delivery recorded this long ago is checked by [`Indexer::audit`] against the
    /// destination connector's final state (younger ones may not be final yet).
    pub audit_settle: Duration,
    /// A block held this long by an outcome that is not provable yet becomes a loud error
    /// ([`IndexError::NotProvable`]); before that the wait is silent (callbacks wait a few blocks).
    pub hold_loud: Duration,
}

impl IndexerConfig {
    pub fn new(source: &str, dest: &str, connector: &str, dest_connector: &str) -> Self {
        IndexerConfig {
            source: source.into(),
            dest: dest.into(),
            connector: connector.into(),
            dest_connector: dest_connector.into(),
            batch: 20,
            margin: 1,
            start_height: None,
            max_unknown: 64,
            poll_interval: Duration::from_millis(500),
            audit_span: 200_000,
            audit_settle: Duration::from_secs(60),
            hold_loud: Duration::from_secs(60),
        }
    }
}

pub struct Indexer {
    rpc: RpcClient,
    store: Arc<dyn MessageStore>,
    cfg: IndexerConfig,
    metrics: Option<Arc<Metrics>>,
    /// Signalled after a step that queued new events (wakes the deliverer at once).
    wake: Option<Arc<tokio::sync::Notify>>,
    /// Several instances on one queue: index only while holding this lease; fence the writes.
    lease: Option<Arc<RoleLease>>,
    /// The block held by an outcome not provable yet, and since when.
    held: std::sync::Mutex<Option<(u64, Instant)>>,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStep {
    pub from: u64,
    pub to: u64,
    pub new_events: usize,
}

/// `channel()` of the connector (the fields the audit uses).
#[derive(Debug, Clone, Deserialize)]
struct ChannelView {
    #[serde(default)]
    locker: Option<String>,
    #[serde(deserialize_with = "crate::rpc::types::lenient_int::u64_")]
    next_out: u64,
    #[serde(deserialize_with = "crate::rpc::types::lenient_int::u64_")]
    next_in: u64,
}

/// What [`Indexer::audit`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditReport {
    /// The source connector's next sequence number at the cursor's block.
    pub next_out: u64,
    /// The destination connector's watermark.
    pub next_in: u64,
    /// Sequence numbers neither delivered nor queued.
    pub missing: Vec<u64>,
    /// Of those, found again by re-indexing.
    pub repaired: Vec<u64>,
    /// Recorded delivered in the queue, but unknown to the destination connector: put back to
    /// be delivered again.
    pub reopened: Vec<u64>,
}

fn timestamp_ms(b: &BlockView) -> Option<i64> {
    b.header.timestamp_ns().map(|ns| (ns / 1_000_000) as i64)
}

impl Indexer {
    pub fn new(rpc: RpcClient, store: Arc<dyn MessageStore>, cfg: IndexerConfig) -> Self {
        Indexer {
            rpc,
            store,
            cfg,
            metrics: None,
            wake: None,
            lease: None,
            held: std::sync::Mutex::new(None),
        }
    }

    /// Index only while holding `lease` (kept by its own task), every cursor write fenced by it.
    pub fn with_lease(mut self, lease: Arc<RoleLease>) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Whether this instance is the indexer of its chain now.
    fn active(&self) -> bool {
        self.lease.as_ref().is_none_or(|l| l.held())
    }

    /// Insert `events` and move the cursor, fenced by the lease when there is one.
    async fn write(&self, cursor: Cursor, events: &[NewEvent]) -> Result<usize, IndexError> {
        Ok(match &self.lease {
            Some(l) => {
                self.store
                    .record_indexed_fenced(&l.fence(), &self.cfg.source, cursor, events)
                    .await?
            }
            None => {
                self.store
                    .record_indexed(&self.cfg.source, cursor, events)
                    .await?
            }
        })
    }

    pub fn with_metrics(mut self, m: Arc<Metrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    /// Notify `wake` whenever a step queues new events.
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    pub fn config(&self) -> &IndexerConfig {
        &self.cfg
    }

    /// The block just below the first existing block at or above `start`, found by walking
    /// parent links (a block at or above `start` that the nodes did not report is found on the
    /// way and read later). `top` bounds the search upwards.
    async fn anchor(&self, start: u64, top: u64) -> Result<Option<Cursor>, IndexError> {
        let mut h = start;
        let first = loop {
            if h > top {
                return Ok(None);
            }
            if let Some(b) = self.rpc.block_if_exists(h).await? {
                break b;
            }
            h += 1;
        };
        let mut b = first;
        for _ in 0..10_000 {
            if b.header.height < start {
                return Ok(Some(Cursor {
                    height: b.header.height,
                    hash: Some(b.header.hash),
                }));
            }
            if b.header.prev_hash == CryptoHash::zero() {
                // Genesis: nothing before it.
                return Ok(Some(Cursor {
                    height: b.header.height.saturating_sub(1),
                    hash: Some(CryptoHash::zero()),
                }));
            }
            b = self.rpc.block(BlockRef::Hash(b.header.prev_hash)).await?;
        }
        Err(IndexError::Audit(format!(
            "no block below {start} within 10000 parent links"
        )))
    }

    /// The cursor to continue from, anchored when needed (first run, or a cursor without a
    /// hash), and persisted. `None` while no block at or above the start exists yet.
    async fn current_cursor(&self, top: u64) -> Result<Option<Cursor>, IndexError> {
        match self.store.cursor(&self.cfg.source).await? {
            Some(c @ Cursor { hash: Some(_), .. }) => Ok(Some(c)),
            Some(Cursor { height, hash: None }) => {
                // Written before hashes were kept: everything up to `height` was read.
                let Some(c) = self.anchor(height + 1, top).await? else {
                    return Ok(None);
                };
                info!(source = %self.cfg.source, height, anchor = c.height, "cursor anchored by hash");
                self.write(c, &[]).await?;
                Ok(Some(c))
            }
            None => {
                let start = self.cfg.start_height.unwrap_or(top).min(top);
                let Some(c) = self.anchor(start, top).await? else {
                    return Ok(None);
                };
                info!(source = %self.cfg.source, start, anchor = c.height, "indexer starts");
                self.write(c, &[]).await?;
                Ok(Some(c))
            }
        }
    }

    fn set_stalled(&self, stalled: bool) {
        if let Some(m) = &self.metrics {
            m.indexer_stalled
                .with_label_values(&[self.cfg.source.as_str()])
                .set(stalled as i64);
        }
    }

    /// Index the next batch of final blocks. `None` when there is nothing new.
    pub async fn index_once(&self) -> Result<Option<IndexStep>, IndexError> {
        let fin = self.rpc.block(BlockRef::Final).await?;
        let final_height = fin.header.height;
        let top = final_height.saturating_sub(self.cfg.margin);
        let Some(cursor) = self.current_cursor(top).await? else {
            return Ok(None);
        };
        let Some(mut last_hash) = cursor.hash else {
            return Ok(None);
        };
        if let Some(m) = &self.metrics {
            m.relay_lag_blocks
                .with_label_values(&[self.cfg.source.as_str()])
                .set(final_height.saturating_sub(cursor.height) as i64);
        }
        if cursor.height >= top {
            return Ok(None);
        }
        let from = cursor.height + 1;
        let mut last_height = cursor.height;
        let mut events = Vec::new();
        let (mut read, mut unknown) = (0u64, 0u64);
        let mut pending = None;
        let mut h = from;
        while h <= top && read < self.cfg.batch {
            // An RPC error mid-batch keeps what was read and linked so far.
            let keep = |e: IndexError| async {
                if last_height > cursor.height {
                    self.record(cursor.height, last_height, last_hash, &events)
                        .await?;
                }
                Err::<(), _>(e)
            };
            let found = match self.rpc.block_if_exists(h).await {
                Ok(b) => b,
                Err(e) => return keep(e.into()).await.map(|_| None),
            };
            let Some(block) = found else {
                // Not "no block": only the next block's parent link can prove that.
                unknown += 1;
                if unknown > self.cfg.max_unknown {
                    break;
                }
                h += 1;
                continue;
            };
            let hd = &block.header;
            let linked = hd.prev_hash == last_hash
                && hd.prev_height.is_none_or(|p| p == last_height)
                && hd.height > last_height;
            if !linked {
                // Keep what was read and linked so far; the rest waits for a node that links.
                if last_height > cursor.height {
                    self.record(cursor.height, last_height, last_hash, &events)
                        .await?;
                }
                return Err(IndexError::ChainLink {
                    height: h,
                    hash: hd.hash,
                    found_prev: hd.prev_hash,
                    found_prev_height: hd.prev_height,
                    expected_prev: last_hash,
                    expected_height: last_height,
                });
            }
            if hd.height > last_height + 1 {
                debug!(source = %self.cfg.source, from = last_height + 1, to = hd.height - 1, "heights skipped (proven by the parent link)");
            }
            let mut found = Vec::new();
            match self.index_block(&block, &fin.header.hash, &mut found).await {
                Ok(true) => {}
                // An outcome of this block is not provable yet: stop before the block (what was
                // read before it is kept) and read it again from a newer final head.
                Ok(false) => {
                    pending = Some(hd.height);
                    break;
                }
                Err(e) => return keep(e).await.map(|_| None),
            }
            events.extend(found);
            last_hash = hd.hash;
            last_height = hd.height;
            read += 1;
            unknown = 0;
            h = last_height + 1;
        }
        // Fails only when no block was read: the block held is the one held last time.
        if let Some((height, held_s)) = self.note_held(pending) {
            return Err(IndexError::NotProvable { height, held_s });
        }
        if last_height == cursor.height {
            if pending.is_some() {
                return Ok(None);
            }
            // A few unknown heights right below the head may all be skipped ones (the next
            // block, not yet below `top`, will tell); many in a row mean the node lacks them.
            if unknown > self.cfg.max_unknown {
                return Err(IndexError::NoBlocks {
                    from,
                    to: h - 1,
                    final_height,
                });
            }
            return Ok(None);
        }
        let to = last_height;
        let new_events = self.record(cursor.height, to, last_hash, &events).await?;
        Ok(Some(IndexStep {
            from,
            to,
            new_events,
        }))
    }

    /// Remember the block an outcome holds (`None`: nothing held). Returns the height and the
    /// seconds held once the same block has been held for [`IndexerConfig::hold_loud`].
    fn note_held(&self, pending: Option<u64>) -> Option<(u64, u64)> {
        let mut held = self.held.lock().expect("held lock");
        match (pending, *held) {
            (None, _) => *held = None,
            (Some(h), Some((was, since))) if was == h => {
                if since.elapsed() >= self.cfg.hold_loud {
                    return Some((h, since.elapsed().as_secs()));
                }
            }
            (Some(h), _) => *held = Some((h, Instant::now())),
        }
        None
    }

    /// Record the events read from `from + 1` through `to` with the cursor at `to`.
    async fn record(
        &self,
        from: u64,
        to: u64,
        hash: CryptoHash,
        events: &[NewEvent],
    ) -> Result<usize, IndexError> {
        let new_events = self
            .write(
                Cursor {
                    height: to,
                    hash: Some(hash),
                },
                events,
            )
            .await?;
        if let Some(m) = &self.metrics {
            m.events_seen
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                .inc_by(new_events as u64);
        }
        if new_events > 0 {
            let proof_blocks: Vec<u64> = events.iter().map(|e| e.block_height).collect();
            info!(source = %self.cfg.source, from = from + 1, to, new_events, ?proof_blocks, "indexed connector events");
            if let Some(w) = &self.wake {
                w.notify_one();
            }
        } else {
            debug!(source = %self.cfg.source, from = from + 1, to, "indexed");
        }
        Ok(new_events)
    }

    /// Read the connector's messages out of `block`'s new chunks (proofs asked against `head`).
    /// `false` when one of its outcomes is not provable against `head` yet: a callback receipt
    /// is listed in the chunk that created it but executes when its data arrives, and the
    /// block carrying an outcome's root may be above `head`. The block is then read again from
    /// a newer head on the next step, at once, not after an error back-off (that back-off
    /// once held a response ~7 s, a third of the round trip).
    async fn index_block(
        &self,
        block: &BlockView,
        head: &CryptoHash,
        out: &mut Vec<NewEvent>,
    ) -> Result<bool, IndexError> {
        let connector = self.cfg.connector.as_str();
        let time = timestamp_ms(block);
        for ch in block.new_chunks() {
            let chunk = self.rpc.chunk(&ch.chunk_hash).await?;
            let mut receipts: Vec<(CryptoHash, Option<String>)> = chunk
                .function_call_receipts_to(connector)
                .map(|r| {
                    let signer = match &r.receipt {
                        crate::rpc::ReceiptBody::Action { signer_id, .. } => signer_id.clone(),
                        _ => None,
                    };
                    (r.receipt_id, signer)
                })
                .collect();
            for tx in &chunk.transactions {
                if tx.receiver_id == connector && tx.signer_id == connector {
                    // Executed locally: its receipt is in the transaction's outcome.
                    let target = ProofTarget::Transaction {
                        hash: tx.hash,
                        sender_id: tx.signer_id.clone(),
                    };
                    let Some(proof) = self.rpc.light_client_proof_if_final(&target, head).await?
                    else {
                        debug!(source = %self.cfg.source, height = block.header.height, tx = %tx.hash, "outcome not provable yet; reading the block again from a newer head");
                        return Ok(false);
                    };
                    receipts.extend(
                        proof
                            .outcome_proof
                            .outcome
                            .receipt_ids
                            .iter()
                            .map(|r| (*r, Some(tx.signer_id.clone()))),
                    );
                }
            }
            for (receipt_id, signer) in receipts {
                let target = ProofTarget::Receipt {
                    receipt_id,
                    receiver_id: connector.to_string(),
                };
                let Some(proof) = self.rpc.light_client_proof_if_final(&target, head).await? else {
                    debug!(source = %self.cfg.source, height = block.header.height, %receipt_id, "outcome not provable yet; reading the block again from a newer head");
                    return Ok(false);
                };
                self.collect(&proof, time, signer.as_deref(), out);
            }
        }
        Ok(true)
    }

    fn collect(
        &self,
        proof: &LightClientExecutionProof,
        source_time: Option<i64>,
        signer: Option<&str>,
        out: &mut Vec<NewEvent>,
    ) {
        let o = &proof.outcome_proof;
        if o.outcome.executor_id != self.cfg.connector {
            return;
        }
        if !matches!(
            o.outcome.status,
            ExecutionStatusView::SuccessValue(_) | ExecutionStatusView::SuccessReceiptId(_)
        ) {
            return;
        }
        let proof_block = proof.block_header_lite.inner_lite.height;
        for (i, line) in o.outcome.logs.iter().enumerate() {
            let Some(msg) = parse_transport(line) else {
                continue;
            };
            if msg.dst != self.cfg.dest_connector {
                warn!(dst = %msg.dst, nsn = msg.nsn, "message for another connector than the configured destination; skipped");
                continue;
            }
            out.push(NewEvent {
                key: EventKey {
                    source_chain: self.cfg.source.clone(),
                    outcome_id: o.id,
                    event_index: i as u32,
                },
                dest_chain: self.cfg.dest.clone(),
                kind: msg.kind.event_name().to_string(),
                block_height: proof_block,
                nsn: Some(msg.nsn),
                source_time,
                payload: json!({
                    "receipt_id": o.id.to_string(),
                    "receiver_id": self.cfg.connector,
                    "nsn": msg.nsn,
                    "request": msg.request,
                    "net": msg.net,
                    "dst": msg.dst,
                    "executed_in": o.block_hash.to_string(),
                    "signer": signer,
                }),
            });
        }
    }

    /// `channel()` of a connector at `at`.
    async fn channel(
        rpc: &RpcClient,
        connector: &str,
        at: BlockRef,
    ) -> Result<ChannelView, RpcError> {
        rpc.view_call_json(connector, "channel", &json!({}), at)
            .await
    }

    /// The source connector's `next_out` at the nearest existing block at or below `height`
    /// (skipped heights have no state to view).
    async fn next_out_at(&self, height: u64) -> Result<(u64, u64), IndexError> {
        let mut h = height;
        for _ in 0..32 {
            match Self::channel(&self.rpc, &self.cfg.connector, BlockRef::Height(h)).await {
                Ok(c) => return Ok((h, c.next_out)),
                Err(e) if e.is_cause("UNKNOWN_BLOCK") && h > 0 => h -= 1,
                Err(e) => return Err(e.into()),
            }
        }
        Err(IndexError::Audit(format!(
            "no state found at or below height {height}"
        )))
    }

    /// The height of the block whose execution made `next_out` pass `nsn`: below `hi` (where
    /// it had), above `lo` (moved down while `next_out` had passed `nsn` there already).
    async fn locate(&self, nsn: u64, mut lo: u64, mut hi: u64) -> Result<u64, IndexError> {
        let mut widen = 0;
        loop {
            // Nothing was sent before the first block.
            let at_lo = if lo == 0 {
                0
            } else {
                self.next_out_at(lo).await?.1
            };
            if at_lo <= nsn {
                break;
            }
            if lo == 0 || widen >= 8 {
                return Err(IndexError::Audit(format!(
                    "message {nsn} was sent at or before height {lo}, before the indexer's start"
                )));
            }
            hi = lo;
            lo = lo.saturating_sub(self.cfg.audit_span.max(1));
            widen += 1;
        }
        while hi > lo + 1 {
            let mid = lo + (hi - lo) / 2;
            let (at, next_out) = self.next_out_at(mid).await?;
            if next_out > nsn {
                if at <= lo {
                    break;
                }
                hi = at;
            } else {
                lo = mid;
            }
        }
        Ok(hi)
    }

    /// Whether the destination connector (state at `at`) has executed or refused message `nsn`.
    async fn dest_knows(
        &self,
        dest_rpc: &RpcClient,
        nsn: u64,
        at: BlockRef,
    ) -> Result<bool, IndexError> {
        Ok(dest_rpc
            .view_call_json(
                &self.cfg.dest_connector,
                "is_delivered",
                &json!({ "nsn": nsn.to_string() }),
                at,
            )
            .await?)
    }

    /// The queue's deliveries above the destination's watermark, recorded at least
    /// `audit_settle` ago, that the destination connector does not know: the outcome that made
    /// the relayer record them (read from a node) was false, or the record is wrong. Each is put
    /// back to be delivered again; were it in fact executed, the destination refuses it as
    /// delivered and it is recorded so, which this audit then believes over any view: a node
    /// that keeps denying a delivery cannot make the relayer pay for it again and again (and
    /// a message is put back [`AUDIT_MAX_REOPENS`] times at most). The destination's own
    /// already-delivered verdict on a first delivery is not enough: it comes from a node's
    /// report as well, so such a message is still checked once. At most
    /// [`AUDIT_REOPEN_BATCH`] view calls per audit.
    async fn reopen_unknown_deliveries(
        &self,
        dest_rpc: &RpcClient,
        dst: &ChannelView,
        src: &ChannelView,
    ) -> Result<Vec<u64>, IndexError> {
        // Judge only what the destination's node has had time to see: a node whose final head
        // lags behind gets that much longer (its view would not show recent deliveries yet).
        // The views are read at that head, so every answer comes from the state judged by.
        let head = dest_rpc.block(BlockRef::Final).await?.header;
        let Some(final_ns) = head.timestamp_ns() else {
            warn!(dest = %self.cfg.dest, height = head.height, "the destination's final block has no timestamp; recorded deliveries not checked");
            return Ok(Vec::new());
        };
        let now = self.store.now_ms().await?;
        let lag =
            Duration::from_millis(now.saturating_sub((final_ns / 1_000_000) as i64).max(0) as u64);
        let settled_for = self.cfg.audit_settle.saturating_add(lag);
        let at = BlockRef::Height(head.height);
        let mut reopened = Vec::new();
        let (mut from, mut scanned, mut views) = (dst.next_in, 0usize, 0usize);
        // Pages by sequence number: rows passed over (another pair's, the chain's own verdict,
        // reopened too often) never crowd out the ones after them.
        while views < AUDIT_REOPEN_BATCH && scanned < AUDIT_SCAN_LIMIT && from < src.next_out {
            let page = self
                .store
                .delivered_in_range(
                    &self.cfg.source,
                    &self.cfg.dest,
                    from,
                    src.next_out,
                    settled_for,
                    AUDIT_REOPEN_BATCH,
                )
                .await?;
            let full = page.len() == AUDIT_REOPEN_BATCH;
            for e in page {
                scanned += 1;
                let Some(nsn) = e.nsn else { continue };
                from = from.max(nsn.saturating_add(1));
                let names = |key: &str, want: &str| {
                    e.payload.get(key).and_then(serde_json::Value::as_str) == Some(want)
                };
                // A message of an earlier pair of connectors (the lockers changed since): its
                // sequence number means nothing to the current channel.
                if !names("receiver_id", &self.cfg.connector)
                    || !names("dst", &self.cfg.dest_connector)
                {
                    continue;
                }
                let reopens = e.reopens();
                let refused_as_delivered = e
                    .delivery
                    .as_ref()
                    .and_then(|d| d.get("already_delivered"))
                    .and_then(serde_json::Value::as_bool)
                    == Some(true);
                // Delivered again after a reopen, the destination chain itself refused it as
                // already delivered: that verdict is believed over a view (a node that keeps
                // denying a delivery cannot make the relayer pay for it again and again). And
                // when views and outcomes keep disagreeing, a few tries are the limit.
                if (refused_as_delivered && reopens > 0) || reopens >= AUDIT_MAX_REOPENS {
                    debug!(source = %self.cfg.source, dest = %self.cfg.dest, id = e.id, nsn, reopens, refused_as_delivered, "recorded delivery not reopened again");
                    continue;
                }
                if views >= AUDIT_REOPEN_BATCH {
                    break;
                }
                views += 1;
                if self.dest_knows(dest_rpc, nsn, at).await? {
                    continue;
                }
                let tx = e.delivery_tx.as_deref().unwrap_or("none recorded");
                error!(
                    source = %self.cfg.source, dest = %self.cfg.dest, id = e.id, nsn, tx,
                    next_in = dst.next_in, reopens,
                    "a message recorded as delivered is unknown to the destination connector; delivering it again"
                );
                let reason = format!(
                    "{NOT_DELIVERED}: recorded delivered (transaction {tx}) but the destination \
                     connector has not executed message {nsn}; delivering it again"
                );
                match self
                    .store
                    .reopen_delivered(e.id, &reason, reopens + 1)
                    .await
                {
                    Ok(()) => reopened.push(nsn),
                    // Settled otherwise meanwhile (another instance's audit, retention).
                    Err(QueueError::InvalidTransition { .. } | QueueError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !full {
                break;
            }
        }
        if !reopened.is_empty() {
            if let Some(m) = &self.metrics {
                m.deliveries_reopened
                    .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                    .inc_by(reopened.len() as u64);
            }
            if let Some(w) = &self.wake {
                w.notify_one();
            }
        }
        Ok(reopened)
    }

    /// Compare the source connector's sequence numbers with the destination's watermark and
    /// the queue; index again the block of every message that is neither delivered nor queued,
    /// and deliver again every message the queue records as delivered that the destination
    /// does not know ([`Self::reopen_unknown_deliveries`]). `dest_rpc` reads the destination
    /// connector.
    pub async fn audit(&self, dest_rpc: &RpcClient) -> Result<AuditReport, IndexError> {
        let Some(Cursor {
            height: cursor,
            hash: Some(_),
        }) = self.store.cursor(&self.cfg.source).await?
        else {
            return Ok(AuditReport::default());
        };
        let src = Self::channel(&self.rpc, &self.cfg.connector, BlockRef::Height(cursor)).await?;
        let dst = Self::channel(dest_rpc, &self.cfg.dest_connector, BlockRef::Final).await?;
        if src.locker.as_deref() != Some(self.cfg.dest_connector.as_str())
            || dst.locker.as_deref() != Some(self.cfg.connector.as_str())
        {
            return Err(IndexError::Audit(format!(
                "the connectors do not name each other as locker ({:?}, {:?}): not comparing sequence numbers",
                src.locker, dst.locker
            )));
        }
        let mut report = AuditReport {
            next_out: src.next_out,
            next_in: dst.next_in,
            ..Default::default()
        };
        if dst.next_in >= src.next_out {
            return Ok(report);
        }
        report.reopened = self.reopen_unknown_deliveries(dest_rpc, &dst, &src).await?;
        let known = self
            .store
            .known_nsns(&self.cfg.source, &self.cfg.dest, dst.next_in, src.next_out)
            .await?;
        let mut candidates: Vec<u64> = (dst.next_in..src.next_out)
            .filter(|n| known.binary_search(n).is_err())
            .take(256)
            .collect();
        // Delivered ahead of the watermark (pruned from the queue, or delivered by another
        // relayer): not missing.
        let mut missing = Vec::new();
        for nsn in candidates.drain(..) {
            if !self.dest_knows(dest_rpc, nsn, BlockRef::Final).await? {
                missing.push(nsn);
            }
        }
        report.missing = missing.clone();
        if missing.is_empty() {
            return Ok(report);
        }
        error!(
            source = %self.cfg.source, dest = %self.cfg.dest, ?missing, next_out = src.next_out,
            next_in = dst.next_in, cursor, "messages sent on the source are neither delivered nor queued; indexing their blocks again"
        );
        if let Some(m) = &self.metrics {
            m.index_gaps
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                .inc_by(missing.len() as u64);
        }
        let lo_bound = self
            .cfg
            .start_height
            .unwrap_or(cursor.saturating_sub(self.cfg.audit_span))
            .saturating_sub(1);
        let fin = self.rpc.block(BlockRef::Final).await?;
        for nsn in missing {
            let at = self.locate(nsn, lo_bound, cursor).await?;
            // The receipt may have waited a few blocks (congestion) before it executed at `at`.
            let mut events = Vec::new();
            for h in at.saturating_sub(8)..=at {
                if let Some(b) = self.rpc.block_if_exists(h).await? {
                    self.index_block(&b, &fin.header.hash, &mut events).await?;
                }
            }
            let n = self.store.insert_events(&events).await?;
            let found = events.iter().any(|e| e.nsn == Some(nsn));
            if found {
                warn!(source = %self.cfg.source, nsn, block = at, inserted = n, "missing message found by indexing its block again");
                report.repaired.push(nsn);
                if let Some(m) = &self.metrics {
                    m.index_gaps_repaired
                        .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                        .inc();
                }
                if let Some(w) = &self.wake {
                    w.notify_one();
                }
            } else {
                error!(source = %self.cfg.source, nsn, block = at, "missing message NOT found in the block where the connector's counter passed it; will look again");
            }
        }
        Ok(report)
    }

    /// Index until `shutdown` turns true. Errors are logged (an integrity error loudly, with
    /// the stalled gauge set) and the step retried.
    pub async fn run(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut last_loud: Option<Instant> = None;
        let mut failures = 0u32;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if !self.active() {
                // Another instance indexes this chain; take over when its lease lapses.
                tokio::select! {
                    _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                    _ = shutdown.changed() => return,
                }
                continue;
            }
            let busy = match self.index_once().await {
                Ok(step) => {
                    self.set_stalled(false);
                    failures = 0;
                    step.is_some()
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    if let Some(m) = &self.metrics {
                        m.indexer_errors
                            .with_label_values(&[self.cfg.source.as_str(), e.kind()])
                            .inc();
                    }
                    if e.is_integrity() {
                        self.set_stalled(true);
                        if last_loud.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                            error!(source = %self.cfg.source, error = %e, "indexing stopped: the chain read does not link up; not skipping anything, retrying");
                            last_loud = Some(Instant::now());
                        }
                    } else {
                        warn!(source = %self.cfg.source, error = %e, "indexing step failed; retrying");
                    }
                    false
                }
            };
            if busy {
                tokio::task::yield_now().await;
                continue;
            }
            // After failures (an outage) back off, up to 5 s, instead of polling every tick.
            let wait = (self.cfg.poll_interval * 2u32.saturating_pow(failures.min(5)))
                .min(Duration::from_secs(5).max(self.cfg.poll_interval));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// [`Self::audit`] every `interval` until `shutdown` turns true.
    pub async fn run_audit(
        &self,
        dest_rpc: RpcClient,
        interval: Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            let result = if self.active() {
                self.audit(&dest_rpc).await
            } else {
                Ok(AuditReport::default())
            };
            match result {
                Ok(r) if r.missing.is_empty() && r.reopened.is_empty() => {
                    debug!(source = %self.cfg.source, dest = %self.cfg.dest, next_out = r.next_out, next_in = r.next_in, "sequence audit: nothing missing")
                }
                Ok(r) => {
                    warn!(source = %self.cfg.source, dest = %self.cfg.dest, missing = ?r.missing, repaired = ?r.repaired, reopened = ?r.reopened, "sequence audit found missing or undelivered messages")
                }
                Err(e) => {
                    warn!(source = %self.cfg.source, dest = %self.cfg.dest, error = %e, "sequence audit failed; retrying later")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
        }
    }
}

/// `(kind, receipt id, receiver)` of a queued event's payload.
pub fn event_target(kind: &str, payload: &serde_json::Value) -> Option<(MessageKind, ProofTarget)> {
    let kind = MessageKind::from_event_name(kind)?;
    let receipt_id = payload.get("receipt_id")?.as_str()?.parse().ok()?;
    let receiver_id = payload.get("receiver_id")?.as_str()?.to_string();
    Some((
        kind,
        ProofTarget::Receipt {
            receipt_id,
            receiver_id,
        },
    ))
}

#[cfg(test)]
mod tests;
