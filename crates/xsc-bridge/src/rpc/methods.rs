//! Typed NEAR RPC methods over [`RpcClient`]. Parameters use the forms every nearcore version
//! since well before protocol 63 accepts.

use super::client::{parse_result, RpcClient};
use super::error::RpcError;
use super::outcome::FinalOutcome;
use super::types::{AccessKeyInfo, AccountInfo, BlockView, CallResult, ChunkView, StatusView};
use base64::Engine;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use xsc_core::{CryptoHash, LightClientBlockView, LightClientExecutionProof, ValidatorStakeView};

/// Which block a request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockRef {
    Final,
    Optimistic,
    Height(u64),
    Hash(CryptoHash),
}

impl BlockRef {
    /// Fields for `block`, `query`: `{"finality": ...}` or `{"block_id": ...}`.
    fn fields(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        match self {
            BlockRef::Final => m.insert("finality".into(), json!("final")),
            BlockRef::Optimistic => m.insert("finality".into(), json!("optimistic")),
            BlockRef::Height(h) => m.insert("block_id".into(), json!(h)),
            BlockRef::Hash(h) => m.insert("block_id".into(), json!(h.to_string())),
        };
        m
    }

    /// A `block_id` (height or hash) for methods without finality; `None` for the latest.
    fn block_id(&self) -> Value {
        match self {
            BlockRef::Height(h) => json!(h),
            BlockRef::Hash(h) => json!(h.to_string()),
            BlockRef::Final | BlockRef::Optimistic => Value::Null,
        }
    }
}

/// The outcome an `EXPERIMENTAL_light_client_proof` is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofTarget {
    Transaction {
        hash: CryptoHash,
        sender_id: String,
    },
    Receipt {
        receipt_id: CryptoHash,
        receiver_id: String,
    },
}

/// `send_tx` `wait_until` (current nodes only; old nodes lack `send_tx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitUntil {
    None,
    Included,
    ExecutedOptimistic,
    IncludedFinal,
    Executed,
    Final,
}

impl WaitUntil {
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitUntil::None => "NONE",
            WaitUntil::Included => "INCLUDED",
            WaitUntil::ExecutedOptimistic => "EXECUTED_OPTIMISTIC",
            WaitUntil::IncludedFinal => "INCLUDED_FINAL",
            WaitUntil::Executed => "EXECUTED",
            WaitUntil::Final => "FINAL",
        }
    }
}

/// Old nodes report a failed view call (or a missing access key) as a `query` *result* with an
/// `error` string; current ones as a JSON-RPC error. Make both a [`RpcError::Handler`].
fn query_error(method: &str, v: &Value) -> Option<RpcError> {
    let text = v.get("error")?.as_str()?;
    let cause = if text.contains("wasm execution failed") || text.contains("FunctionCallError") {
        "CONTRACT_EXECUTION_ERROR"
    } else if text.contains("access key") && text.contains("does not exist") {
        "UNKNOWN_ACCESS_KEY"
    } else {
        "QUERY_ERROR"
    };
    Some(RpcError::handler(
        method,
        "HANDLER_ERROR",
        cause,
        v.clone(),
        text,
    ))
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl RpcClient {
    /// `status`: chain id, latest height, the current epoch (when the node reports it).
    pub async fn status(&self) -> Result<StatusView, RpcError> {
        self.call("status", json!([])).await
    }

    pub async fn block(&self, at: BlockRef) -> Result<BlockView, RpcError> {
        self.call("block", Value::Object(at.fields())).await
    }

    /// The block at `height`, or `None` when every endpoint asked (each regular one, then the
    /// archival one) answers `UNKNOWN_BLOCK` or a garbage-collected block. `None` is what the
    /// nodes *say*, not a proof that no block exists: a lagging backend answers the same for a
    /// block it has not processed yet. Chained indexing ([`crate::indexer`]) proves a skipped
    /// height with the next block's `prev_hash` instead of trusting this.
    pub async fn block_if_exists(&self, height: u64) -> Result<Option<BlockView>, RpcError> {
        match self
            .call_everywhere("block", json!({ "block_id": height }))
            .await?
        {
            Some(v) => parse_result("block", v).map(Some),
            None => Ok(None),
        }
    }

    pub async fn chunk(&self, chunk_hash: &CryptoHash) -> Result<ChunkView, RpcError> {
        self.call("chunk", json!({ "chunk_id": chunk_hash.to_string() }))
            .await
    }

    pub async fn chunk_in_block(
        &self,
        block: BlockRef,
        shard_id: u64,
    ) -> Result<ChunkView, RpcError> {
        self.call(
            "chunk",
            json!({ "block_id": block.block_id(), "shard_id": shard_id }),
        )
        .await
    }

    /// `next_light_client_block`: `None` when the node has nothing newer than `last_known`.
    ///
    /// nearcore answers with its latest final block when `last_known` is in the current epoch or
    /// the one before; when `last_known` is older, with the last block of `last_known`'s next
    /// epoch, so that repeating the call walks forward one epoch at a time. Old heads need an
    /// archival node (a regular node forgets old headers and epoch blocks after a few epochs).
    pub async fn next_light_client_block(
        &self,
        last_known: &CryptoHash,
    ) -> Result<Option<LightClientBlockView>, RpcError> {
        let method = "next_light_client_block";
        let v = self
            .call_value(method, json!({ "last_block_hash": last_known.to_string() }))
            .await?;
        match &v {
            Value::Null => Ok(None),
            Value::Object(m) if m.is_empty() => Ok(None),
            _ => parse_result(method, v).map(Some),
        }
    }

    /// `EXPERIMENTAL_light_client_proof` of an outcome, relative to `light_client_head` (a final
    /// block the destination light client holds, above the outcome's block).
    pub async fn light_client_proof(
        &self,
        target: &ProofTarget,
        light_client_head: &CryptoHash,
    ) -> Result<LightClientExecutionProof, RpcError> {
        let params = proof_params(target, light_client_head);
        self.call("EXPERIMENTAL_light_client_proof", params).await
    }

    /// [`Self::light_client_proof`], or `None` when the outcome cannot be proven against
    /// `light_client_head` *yet* ([`RpcError::is_outcome_not_final`]): such a refusal is not
    /// retried with the same head (that only adds the retry back-off to the wait), the caller
    /// asks again with a newer one.
    pub async fn light_client_proof_if_final(
        &self,
        target: &ProofTarget,
        light_client_head: &CryptoHash,
    ) -> Result<Option<LightClientExecutionProof>, RpcError> {
        let params = proof_params(target, light_client_head);
        let retry_if = |e: &RpcError| e.is_retryable() && !e.is_outcome_not_final();
        match self
            .call_with(
                "EXPERIMENTAL_light_client_proof",
                params,
                self.retry_policy(),
                retry_if,
            )
            .await
        {
            Ok(v) => parse_result("EXPERIMENTAL_light_client_proof", v).map(Some),
            Err(e) if e.is_outcome_not_final() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `EXPERIMENTAL_validators_ordered`: the block producers of the epoch of `at` (latest when
    /// `Final`/`Optimistic`) in the order approvals use.
    pub async fn validators_ordered(
        &self,
        at: BlockRef,
    ) -> Result<Vec<ValidatorStakeView>, RpcError> {
        self.call(
            "EXPERIMENTAL_validators_ordered",
            json!({ "block_id": at.block_id() }),
        )
        .await
    }

    /// View call with raw argument and result bytes.
    pub async fn view_call_raw(
        &self,
        account_id: &str,
        method_name: &str,
        args: &[u8],
        at: BlockRef,
    ) -> Result<CallResult, RpcError> {
        let mut params = at.fields();
        params.insert("request_type".into(), json!("call_function"));
        params.insert("account_id".into(), json!(account_id));
        params.insert("method_name".into(), json!(method_name));
        params.insert("args_base64".into(), json!(b64(args)));
        let v = self.call_value("query", Value::Object(params)).await?;
        if let Some(e) = query_error("query", &v) {
            return Err(e);
        }
        parse_result("query", v)
    }

    /// View call with JSON arguments and a JSON result.
    pub async fn view_call_json<T: DeserializeOwned>(
        &self,
        account_id: &str,
        method_name: &str,
        args: &Value,
        at: BlockRef,
    ) -> Result<T, RpcError> {
        let args = serde_json::to_vec(args).map_err(|e| RpcError::parse("query", e))?;
        let r = self
            .view_call_raw(account_id, method_name, &args, at)
            .await?;
        serde_json::from_slice(&r.result).map_err(|e| {
            RpcError::parse(
                "query",
                format!("{account_id}.{method_name} returned unexpected JSON: {e}"),
            )
        })
    }

    /// `view_account`: `None` when the account does not exist.
    pub async fn view_account(
        &self,
        account_id: &str,
        at: BlockRef,
    ) -> Result<Option<AccountInfo>, RpcError> {
        let mut params = at.fields();
        params.insert("request_type".into(), json!("view_account"));
        params.insert("account_id".into(), json!(account_id));
        let r = match self.call_value("query", Value::Object(params)).await {
            Ok(v) => match query_error("query", &v) {
                Some(e) => Err(e),
                None => parse_result("query", v).map(Some),
            },
            Err(e) => Err(e),
        };
        match r {
            Err(e) if e.is_cause("UNKNOWN_ACCOUNT") || e.mentions("does not exist") => Ok(None),
            r => r,
        }
    }

    /// `view_access_key` (for its nonce).
    pub async fn view_access_key(
        &self,
        account_id: &str,
        public_key: &str,
        at: BlockRef,
    ) -> Result<AccessKeyInfo, RpcError> {
        let mut params = at.fields();
        params.insert("request_type".into(), json!("view_access_key"));
        params.insert("account_id".into(), json!(account_id));
        params.insert("public_key".into(), json!(public_key));
        let v = self.call_value("query", Value::Object(params)).await?;
        if let Some(e) = query_error("query", &v) {
            return Err(e);
        }
        parse_result("query", v)
    }

    /// `broadcast_tx_commit` of a signed transaction (base64 of its borsh). Waits for execution
    /// (not finality). Retrying the same bytes is safe: the node recognises a transaction it
    /// already has by its hash and reports on it.
    pub async fn broadcast_tx_commit(
        &self,
        signed_tx_base64: &str,
    ) -> Result<FinalOutcome, RpcError> {
        self.call("broadcast_tx_commit", json!([signed_tx_base64]))
            .await
    }

    /// `broadcast_tx_async`: returns the transaction hash without waiting.
    pub async fn broadcast_tx_async(&self, signed_tx_base64: &str) -> Result<CryptoHash, RpcError> {
        self.call("broadcast_tx_async", json!([signed_tx_base64]))
            .await
    }

    /// `send_tx` (current nodes) waiting until `wait_until`.
    pub async fn send_tx(
        &self,
        signed_tx_base64: &str,
        wait_until: WaitUntil,
    ) -> Result<FinalOutcome, RpcError> {
        self.call(
            "send_tx",
            json!({ "signed_tx_base64": signed_tx_base64, "wait_until": wait_until.as_str() }),
        )
        .await
    }

    /// `tx`: status of a transaction by hash and signer, answered at once.
    ///
    /// Current nodes get `wait_until: "NONE"`: asked in the array form they wait for execution
    /// (`EXECUTED_OPTIMISTIC`), and a transaction they never saw is then a `TIMEOUT_ERROR` after
    /// their polling timeout (10 s, and again on every retry) instead of `UNKNOWN_TRANSACTION`.
    /// Nodes that refuse named parameters (`PARSE_ERROR`; protocol 63) are asked in the array
    /// form from then on; they answer `UNKNOWN_TRANSACTION` at once.
    pub async fn tx_status(
        &self,
        tx_hash: &CryptoHash,
        sender_id: &str,
    ) -> Result<FinalOutcome, RpcError> {
        use std::sync::atomic::Ordering;
        let array_form = self.tx_status_array_form();
        if !array_form.load(Ordering::Relaxed) {
            let named = json!({
                "tx_hash": tx_hash.to_string(),
                "sender_account_id": sender_id,
                "wait_until": "NONE",
            });
            match self.call("tx", named).await {
                Err(e) if e.is_cause("PARSE_ERROR") => array_form.store(true, Ordering::Relaxed),
                r => return r,
            }
        }
        self.call("tx", json!([tx_hash.to_string(), sender_id]))
            .await
    }
}

/// The parameters of `EXPERIMENTAL_light_client_proof`.
fn proof_params(target: &ProofTarget, light_client_head: &CryptoHash) -> Value {
    match target {
        ProofTarget::Transaction { hash, sender_id } => json!({
            "type": "transaction",
            "transaction_hash": hash.to_string(),
            "sender_id": sender_id,
            "light_client_head": light_client_head.to_string(),
        }),
        ProofTarget::Receipt {
            receipt_id,
            receiver_id,
        } => json!({
            "type": "receipt",
            "receipt_id": receipt_id.to_string(),
            "receiver_id": receiver_id,
            "light_client_head": light_client_head.to_string(),
        }),
    }
}
