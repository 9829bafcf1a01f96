//! A NEAR JSON-RPC client over reqwest that parses replies leniently into our own minimal types,
//! so that it works against a current nearcore and an old protocol-63 node alike.
//!
//! - [`RpcClient`]: several endpoints per chain with failover and a chain-id check, an optional
//!   archival endpoint for old data, bounded replies, per-request timeout, retries with
//!   exponential backoff and jitter, an optional extra HTTP header; URLs never printed whole.
//! - [`RpcError`]: transport / timeout / handler error (name and cause) / parse.
//! - Methods on [`RpcClient`]: status, block, chunk, next_light_client_block,
//!   EXPERIMENTAL_light_client_proof, EXPERIMENTAL_validators_ordered, view calls, access keys,
//!   transaction submission and status.

mod client;
mod error;
mod methods;
mod outcome;
mod retry;
pub(crate) mod types;

#[cfg(test)]
mod tests;

pub use client::{
    redact_url, RpcClient, RpcClientConfig, RpcHeader, RpcObserver, RpcSetupError,
    DEFAULT_MAX_REPLY_BYTES,
};
pub use error::{HandlerError, RpcError, RETRYABLE_CAUSES};
pub use methods::{BlockRef, ProofTarget, WaitUntil};
pub use outcome::{
    Failure, FinalOutcome, OutcomeBody, OutcomeStatus, OutcomeView, TxStatus, TxSummary,
};
pub use retry::{millis, RetryPolicy};
pub use types::{
    AccessKeyInfo, AccountInfo, ActionView, BlockHeaderView, BlockView, CallResult,
    ChunkHeaderView, ChunkView, NodeVersion, ReceiptBody, ReceiptView, StatusView, SyncInfo,
    TransactionView,
};
