//! Source chain → durable queue.
//!
//! From the persisted cursor ([`MessageStore::cursor`]) the indexer walks the source chain's
//! **final** blocks over RPC (no external indexer): for each height it reads the block
//! ([`RpcClient::block_if_exists`]; skipped heights answer `None`), each new chunk, and picks
//! - the receipts addressed to the connector ([`crate::rpc::ChunkView::function_call_receipts_to`]);
//! - transactions to the connector whose signer is the connector itself: their receipt is
//!   executed locally and never appears among chunk receipts, so it is taken from the
//!   transaction's outcome.
//!
//! Each such outcome (with its logs) comes from `EXPERIMENTAL_light_client_proof` asked against
//! the current final block: the same call the deliverer makes later, so an outcome that indexes
//! is one that proves. Every transport event of the connector ([`crate::events`]) addressed to
//! the destination connector becomes a [`NewEvent`] keyed by `(source chain, outcome id, log
//! index)`, and the events found up to a height are written together with the new cursor in
//! one transaction ([`MessageStore::record_indexed`]).
//!
//! Idempotent: a crash between reading and recording re-reads the same heights after restart;
//! the keys make re-inserting harmless. Only heights at least [`IndexerConfig::margin`] below
//! the final height are read, so the outcome's proof block (the next block with a chunk) is
//! below the final head the proof is asked against.

use crate::events::{parse_transport, MessageKind};
use crate::metrics::Metrics;
use crate::queue::{EventKey, MessageStore, NewEvent, QueueError};
use crate::rpc::{BlockRef, ProofTarget, RpcClient, RpcError};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, info, warn};
use xsc_core::{CryptoHash, ExecutionStatusView, LightClientExecutionProof};

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Rpc(#[from] RpcError),
    #[error(transparent)]
    Store(#[from] QueueError),
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
    /// Heights read per step (one queue transaction).
    pub batch: u64,
    /// Stay this many blocks below the final height.
    pub margin: u64,
    /// First height to index when no cursor exists; `None`: start at the current final height.
    pub start_height: Option<u64>,
    pub poll_interval: Duration,
}

impl IndexerConfig {
    pub fn new(source: &str, dest: &str, connector: &str, dest_connector: &str) -> Self {
        IndexerConfig {
            source: source.into(),
            dest: dest.into(),
            connector: connector.into(),
            dest_connector: dest_connector.into(),
            batch: 20,
            margin: 2,
            start_height: None,
            poll_interval: Duration::from_millis(500),
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
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexStep {
    pub from: u64,
    pub to: u64,
    pub new_events: usize,
}

impl Indexer {
    pub fn new(rpc: RpcClient, store: Arc<dyn MessageStore>, cfg: IndexerConfig) -> Self {
        Indexer {
            rpc,
            store,
            cfg,
            metrics: None,
            wake: None,
        }
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

    /// Index the next batch of final heights. `None` when there is nothing new.
    pub async fn index_once(&self) -> Result<Option<IndexStep>, IndexError> {
        let fin = self.rpc.block(BlockRef::Final).await?;
        let final_height = fin.header.height;
        let top = final_height.saturating_sub(self.cfg.margin);
        let cursor = match self.store.cursor(&self.cfg.source)? {
            Some(c) => c,
            None => {
                let start = self.cfg.start_height.unwrap_or(top).min(top);
                let c = start.saturating_sub(1);
                self.store.set_cursor(&self.cfg.source, c)?;
                info!(source = %self.cfg.source, start, "indexer starts");
                c
            }
        };
        if let Some(m) = &self.metrics {
            m.relay_lag_blocks
                .with_label_values(&[self.cfg.source.as_str()])
                .set(final_height.saturating_sub(cursor) as i64);
        }
        if cursor >= top {
            return Ok(None);
        }
        let from = cursor + 1;
        let to = top.min(cursor + self.cfg.batch);
        let mut events = Vec::new();
        for h in from..=to {
            self.index_height(h, &fin.header.hash, &mut events).await?;
        }
        let new_events = self.store.record_indexed(&self.cfg.source, to, &events)?;
        if let Some(m) = &self.metrics {
            m.events_seen
                .with_label_values(&[self.cfg.source.as_str(), self.cfg.dest.as_str()])
                .inc_by(new_events as u64);
        }
        if new_events > 0 {
            let proof_blocks: Vec<u64> = events.iter().map(|e| e.block_height).collect();
            info!(source = %self.cfg.source, from, to, final_height, new_events, ?proof_blocks, "indexed connector events");
            if let Some(w) = &self.wake {
                w.notify_one();
            }
        } else {
            debug!(source = %self.cfg.source, from, to, "indexed");
        }
        Ok(Some(IndexStep {
            from,
            to,
            new_events,
        }))
    }

    async fn index_height(
        &self,
        height: u64,
        head: &CryptoHash,
        out: &mut Vec<NewEvent>,
    ) -> Result<(), IndexError> {
        let Some(block) = self.rpc.block_if_exists(height).await? else {
            return Ok(());
        };
        let connector = self.cfg.connector.as_str();
        for ch in block.new_chunks() {
            let chunk = self.rpc.chunk(&ch.chunk_hash).await?;
            let mut receipts: Vec<CryptoHash> = chunk
                .function_call_receipts_to(connector)
                .map(|r| r.receipt_id)
                .collect();
            for tx in &chunk.transactions {
                if tx.receiver_id == connector && tx.signer_id == connector {
                    // Executed locally: its receipt is in the transaction's outcome.
                    let target = ProofTarget::Transaction {
                        hash: tx.hash,
                        sender_id: tx.signer_id.clone(),
                    };
                    let proof = self.rpc.light_client_proof(&target, head).await?;
                    receipts.extend(proof.outcome_proof.outcome.receipt_ids.iter().copied());
                }
            }
            for receipt_id in receipts {
                let target = ProofTarget::Receipt {
                    receipt_id,
                    receiver_id: connector.to_string(),
                };
                let proof = match self.rpc.light_client_proof(&target, head).await {
                    Ok(p) => p,
                    // A receipt delayed into a later block (congestion): not executed yet.
                    // Index it when it is: wait for the next step.
                    Err(e) if e.mentions("not been executed") || e.mentions("UNKNOWN_RECEIPT") => {
                        warn!(%receipt_id, error = %e, "receipt not executed yet; retrying later");
                        return Err(e.into());
                    }
                    Err(e) => return Err(e.into()),
                };
                self.collect(&proof, out);
            }
        }
        Ok(())
    }

    fn collect(&self, proof: &LightClientExecutionProof, out: &mut Vec<NewEvent>) {
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
                payload: json!({
                    "receipt_id": o.id.to_string(),
                    "receiver_id": self.cfg.connector,
                    "nsn": msg.nsn,
                    "net": msg.net,
                    "dst": msg.dst,
                    "executed_in": o.block_hash.to_string(),
                }),
            });
        }
    }

    /// Index until `shutdown` turns true; RPC errors are logged and retried next tick.
    pub async fn run(&self, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let busy = match self.index_once().await {
                Ok(Some(_)) => true,
                Ok(None) => false,
                Err(e) => {
                    warn!(source = %self.cfg.source, error = %e, "indexing step failed");
                    false
                }
            };
            if busy {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(self.cfg.poll_interval) => {}
                _ = shutdown.changed() => return,
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
