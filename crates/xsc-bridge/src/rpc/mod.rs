//! A NEAR JSON-RPC client over reqwest that parses replies leniently into our own minimal types,
//! so that it works against a current nearcore and an old protocol-63 node alike.
//!
//! - [`RpcClient`]: per-request timeout, retries with exponential backoff and jitter for
//!   transport errors, timeouts and retryable RPC errors, an optional extra HTTP header.
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

pub use client::{RpcClient, RpcClientConfig, RpcHeader, RpcSetupError};
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
