//! A light client of the sandbox's own chain: one block producer (`test.near`), what a small
//! Calimero shard looks like. Its blocks and producers come from the node's RPC
//! (`next_light_client_block`, `EXPERIMENTAL_validators_ordered`), as the relayer fetches them.

use crate::light_client::{InitArgs, WindowArgs};
use crate::rpc::Rpc;
use anyhow::{Context, Result};
use serde_json::json;
use xsc_core::hashing::block_hash;
use xsc_core::{CryptoHash, LightClientBlockLiteView, LightClientBlockView, NativeCrypto};

/// `new` arguments for a light client of this chain: a recent light client block that carries
/// the next epoch's producers (`next_bps`), and the ordered producers of its own epoch, so that
/// blocks of both epochs can be relayed from it.
pub async fn init_args(rpc: &Rpc) -> Result<InitArgs> {
    for _ in 0..200 {
        let args = try_init_args(rpc).await?;
        if args.head.next_bps.is_some() {
            return Ok(args);
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    anyhow::bail!("the node gave no light client block with next_bps within a minute")
}

async fn try_init_args(rpc: &Rpc) -> Result<InitArgs> {
    let fin = rpc.call("block", json!({"finality": "final"})).await?;
    let height = fin["header"]["height"].as_u64().context("height")?;
    let base = rpc
        .call(
            "block",
            json!({"block_id": height.saturating_sub(3).max(1)}),
        )
        .await?;
    let base_hash = base["header"]["hash"].as_str().context("hash")?;
    let head = next_block(rpc, &base_hash.parse().map_err(anyhow::Error::msg)?)
        .await?
        .context("no light client block yet")?;
    let hash = block_hash(&NativeCrypto, &LightClientBlockLiteView::from(&head));
    let producers = rpc
        .call(
            "EXPERIMENTAL_validators_ordered",
            json!({ "block_id": hash.to_string() }),
        )
        .await?;
    Ok(InitArgs {
        head,
        epoch_producers: Some(serde_json::from_value(producers)?),
        window: WindowArgs::default(),
        admin: None,
    })
}

/// The node's next light client block after `after` (a block hash), if any.
pub async fn next_block(rpc: &Rpc, after: &CryptoHash) -> Result<Option<LightClientBlockView>> {
    let v = rpc
        .call(
            "next_light_client_block",
            json!({ "last_block_hash": after.to_string() }),
        )
        .await?;
    if v.is_null() || v.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(None);
    }
    Ok(Some(serde_json::from_value(v)?))
}
