//! The relay's two ends over RPC: a source node and the light client contract on the
//! destination chain.

use super::{BlockSource, ChainTip, LightClientTarget, PendingSubmission, RelayError, Submitted};
use crate::coordination::RelayGuard;
use crate::rpc::types::lenient_int;
use crate::rpc::{BlockRef, RpcClient};
use crate::tx::{actions, TxSender, MAX_GAS_300T};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;
use xsc_core::client::{Head, StoredBlock};
use xsc_core::hashing::block_hash;
use xsc_core::{CryptoHash, LightClientBlockLiteView, LightClientBlockView, NativeCrypto};

/// The source chain's RPC node. It must keep the headers of the light client's head: a regular
/// node does for a few epochs, an archival node always.
#[derive(Clone, Debug)]
pub struct RpcSource {
    pub rpc: RpcClient,
}

impl BlockSource for RpcSource {
    async fn next_light_client_block(
        &self,
        last_known: &CryptoHash,
    ) -> Result<Option<LightClientBlockView>, RelayError> {
        Ok(self.rpc.next_light_client_block(last_known).await?)
    }

    /// From the final block (old nodes' `status` lacks the epoch; the latest block may not be
    /// final yet).
    async fn chain_tip(&self) -> Result<ChainTip, RelayError> {
        let b = self.rpc.block(BlockRef::Final).await?;
        Ok(ChainTip {
            final_height: b.header.height,
            epoch_id: b.header.epoch_id,
        })
    }
}

/// `stored_range()` of the light client contract (U64 as strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct StoredRangeView {
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub oldest_height: u64,
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub newest_height: u64,
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub count: u64,
}

/// The light client contract on the destination chain.
pub struct ContractTarget {
    /// Light client account.
    pub account: String,
    /// The relay lane: the key that signs light client updates and nothing else.
    pub tx: Arc<TxSender>,
    /// Gas attached to `add_light_client_block` (at most 300 Tgas on older networks).
    pub gas: u64,
    /// Several instances on one queue: only the holder of the relay lease submits, every block
    /// transaction is recorded before it is sent, and blocks other instances submitted count
    /// as the head once included ([`crate::coordination`]).
    pub guard: Option<Arc<RelayGuard>>,
}

/// The head a light client block makes.
fn head_of(block: &LightClientBlockView) -> Head {
    let inner = &block.inner_lite;
    Head {
        height: inner.height,
        hash: block_hash(&NativeCrypto, &LightClientBlockLiteView::from(block)),
        epoch_id: inner.epoch_id,
        next_epoch_id: inner.next_epoch_id,
        block_merkle_root: inner.block_merkle_root,
        timestamp: inner.timestamp,
    }
}

impl ContractTarget {
    pub fn new(account: impl Into<String>, tx: Arc<TxSender>) -> Self {
        ContractTarget {
            account: account.into(),
            tx,
            gas: MAX_GAS_300T,
            guard: None,
        }
    }

    /// Relay under `guard` (several instances on one queue).
    pub fn with_guard(mut self, guard: Arc<RelayGuard>) -> Self {
        self.guard = Some(guard);
        self
    }

    /// [`LightClientTarget::submit_block_nowait`] under the guard: learn the fate of earlier
    /// submissions first, record the signed transaction before it is sent.
    async fn submit_guarded(
        &self,
        guard: &Arc<RelayGuard>,
        block: &LightClientBlockView,
    ) -> Result<PendingSubmission, RelayError> {
        if !guard.may_submit() {
            return Err(RelayError::NotRelayer(guard.lease().name().to_string()));
        }
        guard.settle().await.map_err(RelayError::Coordination)?;
        let head = head_of(block);
        let height = head.height;
        let args = borsh::to_vec(block).expect("borsh of a block");
        let recorded = std::sync::Mutex::new(Vec::new());
        let sent = self
            .tx
            .send_until_included_recorded(
                &self.account,
                vec![actions::function_call(
                    "add_light_client_block",
                    args,
                    self.gas,
                    0,
                )],
                |tx| {
                    recorded
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(tx.hash.to_string());
                    let (guard, tx, head) = (guard.clone(), tx.clone(), head.clone());
                    async move { guard.record(&tx, &head).await }
                },
            )
            .await;
        let recorded = recorded.into_inner().unwrap_or_else(|p| p.into_inner());
        let (hash, pending) = match sent {
            Ok(x) => x,
            Err(e) => {
                // Not known to have reached the chain: the next settle finds out.
                for h in &recorded {
                    guard.forget(h);
                }
                return Err(e.into());
            }
        };
        let hash = hash.to_string();
        // Earlier attempts of this call were refused as invalid (re-signed): never executable.
        for h in recorded.iter().filter(|h| **h != hash) {
            guard.settled(h, false).await;
        }
        guard.included(&hash).await;
        let guard = guard.clone();
        Ok(Box::pin(async move {
            let out = match pending.await {
                Ok(o) => o,
                Err(e) => {
                    guard.forget(&hash);
                    return Err(e.into());
                }
            };
            let failure = out.failure().map(|f| f.message.clone());
            guard.settled(&hash, failure.is_none()).await;
            if let Some(reason) = failure {
                return Err(RelayError::Rejected { height, reason });
            }
            Ok(Submitted {
                tx_hash: out.tx_hash(),
                gas_burnt: out.total_gas_burnt(),
            })
        }))
    }

    fn rpc(&self) -> &RpcClient {
        self.tx.rpc()
    }

    pub async fn stored_range(&self) -> Result<StoredRangeView, RelayError> {
        Ok(self
            .rpc()
            .view_call_json(
                &self.account,
                "stored_range",
                &json!({}),
                BlockRef::Optimistic,
            )
            .await?)
    }

    /// The stored block at `height` (its hash is the `light_client_head` for proofs).
    pub async fn stored_block(&self, height: u64) -> Result<Option<StoredBlock>, RelayError> {
        Ok(self
            .rpc()
            .view_call_json(
                &self.account,
                "block",
                &json!({ "height": height.to_string() }),
                BlockRef::Optimistic,
            )
            .await?)
    }
}

impl LightClientTarget for ContractTarget {
    /// Read with `optimistic` finality: our own last submission must be visible at once, or the
    /// next step would submit the same block again.
    async fn head(&self) -> Result<Head, RelayError> {
        let head: Head = self
            .rpc()
            .view_call_json(&self.account, "head", &json!({}), BlockRef::Optimistic)
            .await?;
        // A block another instance submitted counts once its transaction is in a block.
        if let Some(g) = &self.guard {
            if let Some(shared) = g.shared_head().await {
                if shared.height > head.height {
                    return Ok(shared);
                }
            }
        }
        Ok(head)
    }

    fn may_submit(&self) -> bool {
        self.guard.as_ref().is_none_or(|g| g.may_submit())
    }

    async fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> Result<bool, RelayError> {
        let v: Option<serde_json::Value> = self
            .rpc()
            .view_call_json(
                &self.account,
                "epoch_producers",
                &json!({ "epoch_id": epoch_id.to_string() }),
                BlockRef::Optimistic,
            )
            .await?;
        Ok(v.is_some_and(|v| !v.is_null()))
    }

    async fn submit_block(&self, block: &LightClientBlockView) -> Result<Submitted, RelayError> {
        if let Some(g) = &self.guard {
            return self.submit_guarded(g, block).await?.await;
        }
        let args = borsh::to_vec(block).expect("borsh of a block");
        let out = self
            .tx
            .call_function(&self.account, "add_light_client_block", args, self.gas, 0)
            .await?;
        if let Some(f) = out.failure() {
            return Err(RelayError::Rejected {
                height: block.inner_lite.height,
                reason: f.message.clone(),
            });
        }
        Ok(Submitted {
            tx_hash: out.tx_hash(),
            gas_burnt: out.total_gas_burnt(),
        })
    }

    async fn submit_block_nowait(
        &self,
        block: &LightClientBlockView,
    ) -> Result<PendingSubmission, RelayError> {
        if let Some(g) = &self.guard {
            return self.submit_guarded(g, block).await;
        }
        let args = borsh::to_vec(block).expect("borsh of a block");
        let height = block.inner_lite.height;
        let (_, pending) = self
            .tx
            .send_until_included(
                &self.account,
                vec![actions::function_call(
                    "add_light_client_block",
                    args,
                    self.gas,
                    0,
                )],
            )
            .await?;
        Ok(Box::pin(async move {
            let out = pending.await?;
            if let Some(f) = out.failure() {
                return Err(RelayError::Rejected {
                    height,
                    reason: f.message.clone(),
                });
            }
            Ok(Submitted {
                tx_hash: out.tx_hash(),
                gas_burnt: out.total_gas_burnt(),
            })
        }))
    }
}
