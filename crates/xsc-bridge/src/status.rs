//! `xsc status`: the queue (per destination and state, the oldest message waiting, the dead
//! letters with their reasons), and over RPC each chain's final height, the indexer's cursor
//! and the light client heads; `xsc status --message <id>`: one message from its source
//! receipt to its delivery transaction and the response it produced. As text or JSON.
//!
//! RPC endpoints are shown as `scheme://host:port` only and header values never: status output
//! is pasted into tickets.

use crate::config::Config;
use crate::queue::{EventState, ListFilter, MessageStore, StateCounts, StoredEvent};
use crate::rpc::{BlockRef, RpcClient};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write;
use std::time::Duration;
use xsc_core::client::Head;

#[derive(Debug, Clone, Serialize)]
pub struct LightClientStatus {
    pub account: String,
    /// The chain it tracks.
    pub of: String,
    pub head_height: Option<u64>,
    pub head_hash: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainStatus {
    pub name: String,
    pub chain_id: String,
    pub endpoints: Vec<String>,
    pub final_height: Option<u64>,
    pub rpc_error: Option<String>,
    /// The indexer's cursor on this chain (messages from it read up to here).
    pub indexed_up_to: Option<u64>,
    pub light_client: LightClientStatus,
    /// Messages to this chain.
    pub queue: StateCounts,
    pub oldest_open_age_s: Option<u64>,
}

/// One message, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct MessageSummary {
    pub id: i64,
    pub kind: String,
    pub source: String,
    pub dest: String,
    pub nsn: Option<u64>,
    pub state: EventState,
    pub attempts: u32,
    pub temp_failures: u32,
    pub last_error: Option<String>,
    pub source_block: u64,
    pub created_at: i64,
    pub next_retry_at: i64,
    pub delivery_tx: Option<String>,
}

impl From<&StoredEvent> for MessageSummary {
    fn from(e: &StoredEvent) -> Self {
        MessageSummary {
            id: e.id,
            kind: e.kind.clone(),
            source: e.key.source_chain.clone(),
            dest: e.dest_chain.clone(),
            nsn: e.nsn,
            state: e.state,
            attempts: e.attempts,
            temp_failures: e.temp_failures,
            last_error: e.last_error.clone(),
            source_block: e.block_height,
            created_at: e.created_at,
            next_retry_at: e.next_retry_at,
            delivery_tx: e.delivery_tx.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub database: String,
    pub chains: Vec<ChainStatus>,
    /// Failed messages (dead letters): `xsc retry <id>` or `xsc requeue` put them back.
    pub dead_letters: Vec<MessageSummary>,
    /// Messages pending or being delivered (oldest first).
    pub open: Vec<MessageSummary>,
}

/// The queue, without the service's instance lock (tools run beside the service).
async fn open_store(cfg: &Config) -> Result<std::sync::Arc<dyn MessageStore>, String> {
    let db = cfg.database();
    crate::queue::open_store(&db, false)
        .await
        .map_err(|e| format!("{db}: {e}"))
}

async fn list(
    store: &dyn MessageStore,
    state: EventState,
    limit: usize,
) -> Result<Vec<MessageSummary>, String> {
    Ok(store
        .list(&ListFilter::state(state, limit))
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(MessageSummary::from)
        .collect())
}

/// Gather the report. RPC problems are reported inline, not as errors: the queue part is
/// useful on its own.
pub async fn report(cfg: &Config, list_limit: usize) -> Result<StatusReport, String> {
    let store = open_store(cfg).await?;
    let now = store.now_ms().await.map_err(|e| e.to_string())?;
    let mut chains = Vec::new();
    for chain in cfg.chains() {
        let other = cfg.other(chain);
        let mut rc = cfg.rpc_client_config(chain);
        rc.retry = crate::rpc::RetryPolicy::none();
        rc.timeout = rc.timeout.min(Duration::from_secs(10));
        let mut st = ChainStatus {
            name: chain.name.clone(),
            chain_id: chain.chain_id.clone(),
            endpoints: chain.rpc_urls_shown(),
            final_height: None,
            rpc_error: None,
            indexed_up_to: store
                .cursor(&chain.name)
                .await
                .map_err(|e| e.to_string())?
                .map(|c| c.height),
            light_client: LightClientStatus {
                account: chain.light_client.clone(),
                of: other.name.clone(),
                head_height: None,
                head_hash: None,
                error: None,
            },
            queue: store
                .counts(Some(&chain.name))
                .await
                .map_err(|e| e.to_string())?,
            oldest_open_age_s: store
                .oldest_open(&chain.name)
                .await
                .map_err(|e| e.to_string())?
                .map(|t| ((now - t).max(0) / 1000) as u64),
        };
        match RpcClient::new(rc) {
            Ok(rpc) => {
                match rpc.block(BlockRef::Final).await {
                    Ok(b) => st.final_height = Some(b.header.height),
                    Err(e) => st.rpc_error = Some(e.to_string()),
                }
                let head: Result<Head, _> = rpc
                    .view_call_json(&chain.light_client, "head", &json!({}), BlockRef::Final)
                    .await;
                match head {
                    Ok(h) => {
                        st.light_client.head_height = Some(h.height);
                        st.light_client.head_hash = Some(h.hash.to_string());
                    }
                    Err(e) => st.light_client.error = Some(e.to_string()),
                }
            }
            Err(e) => st.rpc_error = Some(e.to_string()),
        }
        chains.push(st);
    }
    let mut open = list(store.as_ref(), EventState::Pending, list_limit).await?;
    open.extend(list(store.as_ref(), EventState::Delivering, list_limit).await?);
    open.sort_by_key(|m| m.id);
    Ok(StatusReport {
        database: cfg.database().to_string(),
        chains,
        dead_letters: list(store.as_ref(), EventState::Failed, list_limit).await?,
        open,
    })
}

fn line(m: &MessageSummary) -> String {
    format!(
        "  #{} {} {} -> {} nsn {} (source block {}, {} refusals, {} temporary failures){}",
        m.id,
        m.kind,
        m.source,
        m.dest,
        m.nsn.map_or("?".into(), |n| n.to_string()),
        m.source_block,
        m.attempts,
        m.temp_failures,
        m.last_error
            .as_deref()
            .map_or(String::new(), |r| format!(": {r}"))
    )
}

impl StatusReport {
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "queue {}", self.database);
        for c in &self.chains {
            let _ = writeln!(
                s,
                "chain {} ({}, {})",
                c.name,
                c.chain_id,
                c.endpoints.join(", ")
            );
            match (&c.final_height, &c.rpc_error) {
                (Some(h), _) => {
                    let _ = writeln!(
                        s,
                        "  final height {h}, indexed up to {}",
                        c.indexed_up_to.map_or("-".into(), |c| c.to_string())
                    );
                }
                (None, Some(e)) => {
                    let _ = writeln!(
                        s,
                        "  RPC error: {e} (indexed up to {})",
                        c.indexed_up_to.map_or("-".into(), |c| c.to_string())
                    );
                }
                (None, None) => {}
            }
            let lc = &c.light_client;
            match (&lc.head_height, &lc.error) {
                (Some(h), _) => {
                    let _ = writeln!(
                        s,
                        "  light client {} (of {}): head #{h} {}",
                        lc.account,
                        lc.of,
                        lc.head_hash.as_deref().unwrap_or("")
                    );
                }
                (None, Some(e)) => {
                    let _ = writeln!(s, "  light client {}: {e}", lc.account);
                }
                _ => {}
            }
            let q = &c.queue;
            let _ = writeln!(
                s,
                "  messages to {}: {} pending, {} delivering, {} delivered, {} failed{}",
                c.name,
                q.pending,
                q.delivering,
                q.delivered,
                q.failed,
                c.oldest_open_age_s
                    .map_or(String::new(), |a| format!("; oldest waiting {a} s"))
            );
        }
        if !self.open.is_empty() {
            let _ = writeln!(s, "waiting messages:");
            for m in &self.open {
                let _ = writeln!(s, "{} [{}]", line(m), m.state);
            }
        }
        if self.dead_letters.is_empty() {
            let _ = writeln!(s, "dead letters: none");
        } else {
            let _ = writeln!(
                s,
                "dead letters (failed; `xsc retry <id>` or `xsc requeue` to deliver again):"
            );
            for m in &self.dead_letters {
                let _ = writeln!(s, "{}", line(m));
            }
        }
        s
    }
}

/// One message from its source to its delivery and its response.
#[derive(Debug, Clone, Serialize)]
pub struct MessageTrace {
    pub message: StoredEvent,
    /// The source side: chain, the receipt that emitted it, the block that executed it, the
    /// signer of the transaction it came from.
    pub source: Value,
    /// The delivery transaction and what it produced (`null` until delivered).
    pub delivery: Value,
    /// Messages the delivery sent back (a `cross_call`'s response, ...), as queued on the
    /// destination chain's side, with their own delivery.
    pub responses: Vec<StoredEvent>,
}

pub async fn message(cfg: &Config, id: i64) -> Result<MessageTrace, String> {
    let store = open_store(cfg).await?;
    let e = store
        .get(id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("message #{id} is not in the queue (delivered messages are deleted after relayer.retention_days)"))?;
    let source = json!({
        "chain": e.key.source_chain,
        "receipt": e.key.outcome_id.to_string(),
        "event_index": e.key.event_index,
        "executed_in_block": e.payload.get("executed_in"),
        "proof_block_height": e.block_height,
        "signer": e.payload.get("signer"),
        "nsn": e.nsn,
    });
    let responses: Vec<String> = e
        .delivery
        .as_ref()
        .and_then(|d| d.get("responses"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let ids: Vec<xsc_core::CryptoHash> = responses.iter().filter_map(|r| r.parse().ok()).collect();
    let responses = store
        .find_by_outcomes(&e.dest_chain, &ids)
        .await
        .map_err(|e| e.to_string())?;
    Ok(MessageTrace {
        delivery: json!({
            "state": e.state,
            "transaction": e.delivery_tx,
            "delivered_at": e.delivered_at,
            "details": e.delivery,
            "attempts": e.attempts,
            "temporary_failures": e.temp_failures,
            "last_error": e.last_error,
        }),
        source,
        responses,
        message: e,
    })
}

impl MessageTrace {
    pub fn text(&self) -> String {
        let e = &self.message;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "message #{} {} {} -> {} nsn {}: {}",
            e.id,
            e.kind,
            e.key.source_chain,
            e.dest_chain,
            e.nsn.map_or("?".into(), |n| n.to_string()),
            e.state
        );
        let _ = writeln!(
            s,
            "  source: receipt {} on {} (executed in block {}, signer {})",
            e.key.outcome_id,
            e.key.source_chain,
            self.source["executed_in_block"].as_str().unwrap_or("?"),
            self.source["signer"].as_str().unwrap_or("?")
        );
        match &e.delivery_tx {
            Some(tx) => {
                let _ = writeln!(
                    s,
                    "  delivery: transaction {tx} on {}{}",
                    e.dest_chain,
                    e.delivery
                        .as_ref()
                        .and_then(|d| d.get("block"))
                        .and_then(Value::as_str)
                        .map_or(String::new(), |b| format!(" (block {b})"))
                );
            }
            None => {
                let _ = writeln!(s, "  delivery: none yet");
            }
        }
        if e.attempts > 0 || e.temp_failures > 0 || e.last_error.is_some() {
            let _ = writeln!(
                s,
                "  {} refusals, {} temporary failures; last error: {}",
                e.attempts,
                e.temp_failures,
                e.last_error.as_deref().unwrap_or("-")
            );
        }
        if let Some(b) = e
            .delivery
            .as_ref()
            .and_then(|d| d.get("batch"))
            .filter(|b| !b.is_null())
        {
            let _ = writeln!(
                s,
                "  delivered in a batch: message {} of {}",
                b["index"]
                    .as_u64()
                    .map_or("?".into(), |i| (i + 1).to_string()),
                b["size"].as_u64().map_or("?".into(), |n| n.to_string()),
            );
        }
        let unattributed = e
            .delivery
            .as_ref()
            .and_then(|d| d.get("batch_responses"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if unattributed > 0 {
            let _ = writeln!(
                s,
                "  responses: the batch's {unattributed}, not told apart per message (queued before messages named their request)"
            );
        } else if self.responses.is_empty() {
            let _ = writeln!(s, "  response: none recorded");
        }
        for r in &self.responses {
            let _ = writeln!(
                s,
                "  response: message #{} {} {} -> {}: {}{}",
                r.id,
                r.kind,
                r.key.source_chain,
                r.dest_chain,
                r.state,
                r.delivery_tx
                    .as_deref()
                    .map_or(String::new(), |t| format!(", delivered by transaction {t}"))
            );
        }
        s
    }
}

/// `xsc retry <id>`: one dead letter back to the queue.
pub async fn retry(cfg: &Config, id: i64) -> Result<(), String> {
    open_store(cfg)
        .await?
        .requeue(id)
        .await
        .map_err(|e| e.to_string())
}

/// `xsc requeue`: every dead letter (to `dest`, or all) back to the queue. Returns how many.
pub async fn requeue(cfg: &Config, dest: Option<&str>) -> Result<usize, String> {
    open_store(cfg)
        .await?
        .requeue_failed(dest)
        .await
        .map_err(|e| e.to_string())
}
