//! `xsc status`: the queue (pending and failed messages, per destination) and, over RPC, each
//! chain's final height, the indexer's cursor and the light client heads.

use crate::config::Config;
use crate::queue::{EventState, MessageStore, SqliteStore};
use crate::rpc::{BlockRef, RpcClient};
use serde_json::json;
use std::fmt::Write;
use xsc_core::client::Head;

/// A human-readable report. RPC problems are reported inline, not as errors: the queue part is
/// useful on its own.
pub async fn report(cfg: &Config, list_limit: usize) -> Result<String, String> {
    let store = SqliteStore::open(&cfg.relayer.database)
        .map_err(|e| format!("{}: {e}", cfg.relayer.database.display()))?;
    let mut s = String::new();
    for chain in cfg.chains() {
        let other = cfg.other(chain);
        let _ = writeln!(
            s,
            "chain {} ({}, {})",
            chain.name, chain.chain_id, chain.rpc_url
        );
        let cursor = store.cursor(&chain.name).map_err(|e| e.to_string())?;
        match RpcClient::new(cfg.rpc_client_config(chain)) {
            Ok(rpc) => {
                match rpc.block(BlockRef::Final).await {
                    Ok(b) => {
                        let _ = writeln!(
                            s,
                            "  final height {}, indexed up to {}",
                            b.header.height,
                            cursor.map_or("-".into(), |c| c.to_string())
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(s, "  RPC error: {e}");
                    }
                }
                let head: Result<Head, _> = rpc
                    .view_call_json(&chain.light_client, "head", &json!({}), BlockRef::Final)
                    .await;
                match head {
                    Ok(h) => {
                        let _ = writeln!(
                            s,
                            "  light client {} (of {}): head #{} {}",
                            chain.light_client, other.name, h.height, h.hash
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(s, "  light client {}: {e}", chain.light_client);
                    }
                }
            }
            Err(e) => {
                let _ = writeln!(s, "  RPC client: {e}");
            }
        }
        let c = store.counts(Some(&chain.name)).map_err(|e| e.to_string())?;
        let _ = writeln!(
            s,
            "  messages to {}: {} pending, {} delivering, {} delivered, {} failed",
            chain.name, c.pending, c.delivering, c.delivered, c.failed
        );
    }
    for state in [
        EventState::Pending,
        EventState::Delivering,
        EventState::Failed,
    ] {
        let list = store
            .list(Some(state), list_limit)
            .map_err(|e| e.to_string())?;
        if list.is_empty() {
            continue;
        }
        let _ = writeln!(s, "{state} messages:");
        for e in list {
            let _ = writeln!(
                s,
                "  #{} {} {} -> {} nsn {} (block {}, {} attempts){}",
                e.id,
                e.kind,
                e.key.source_chain,
                e.dest_chain,
                e.payload.get("nsn").map_or("?".into(), |v| v.to_string()),
                e.block_height,
                e.attempts,
                e.last_error
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {r}"))
            );
        }
    }
    Ok(s)
}
