//! Foundation of the xsc bridge service: everything that does not depend on the connector's
//! event format. The connector-specific indexer and delivery plug in on top.
//!
//! - [`rpc`]: a NEAR JSON-RPC client with lenient reply types (current nearcore and old
//!   protocol-63 nodes), per-request timeouts, retries with backoff and jitter, an optional
//!   auth header, classified errors.
//! - [`signer`], [`tx`]: near-cli key files, ed25519 signing with `near-crypto`, transactions
//!   built with `near-primitives` (V0, borsh, base64) and submitted with local nonce management.
//! - [`queue`]: the durable message queue ([`queue::MessageStore`], SQLite implementation).
//! - [`lightclient_relay`]: keeps a destination light client up to date with a source chain,
//!   and chooses the light client head a proof is asked against.
//! - [`config`]: TOML configuration with `XSC_*` environment overrides and validation.
//! - [`metrics`], [`logging`]: Prometheus metrics over HTTP, `tracing` subscribers.
//!
//! # Where the connector-specific parts plug in
//!
//! - **Indexing:** walk the source chain from [`queue::MessageStore::cursor`] with
//!   [`rpc::RpcClient::block_if_exists`] (skipped heights answer `None`) up to the final height,
//!   read each new chunk ([`rpc::BlockView::new_chunks`], [`rpc::RpcClient::chunk`]) and pick the
//!   connector's receipts ([`rpc::ChunkView::function_call_receipts_to`] and
//!   [`rpc::TransactionView`]s to it); their outcomes and logs (events) come with
//!   `EXPERIMENTAL_light_client_proof` ([`rpc::RpcClient::light_client_proof`]). Write what was
//!   found and the new cursor in one step with [`queue::MessageStore::record_indexed`].
//! - **Delivery:** [`queue::MessageStore::claim_due`] → [`lightclient_relay::LightClientRelay::proof_head_nowait`]
//!   (one light client update serves every pending message below it, and the deliveries go out
//!   right behind it) → proof → a transaction to the destination light client's
//!   `verify_and_forward` (or the connector's own delivery method) with
//!   [`tx::TxSender::send_with`] (record its hash first with
//!   [`queue::MessageStore::set_delivery_tx`]) → `mark_delivered`, `mark_retry` or `mark_failed`
//!   as [`queue::classify_failure`] decides with the connector's error codes.
//!
//! # The connector-specific half
//!
//! - [`events`]: the connector's transport events (parsed with `xsc-interfaces`) and delivery
//!   verdicts.
//! - [`indexer`], [`delivery`], [`service`]: both directions of a chain pair in one process.
//! - [`deploy`], [`status`]: `xsc deploy` and `xsc status`.
//!
//! The local devnet (sandbox nodes, `xsc demo`, the two-chain tests and benchmarks) is the
//! `xsc-devnet` crate, on top of this one.
#![forbid(unsafe_code)]

pub mod config;
pub mod coordination;
pub mod delivery;
pub mod deploy;
pub mod events;
pub mod health;
pub mod indexer;
pub mod keys;
pub mod lightclient_relay;
pub mod logging;
pub mod metrics;
pub mod queue;
pub mod rpc;
pub mod service;
pub mod signer;
pub mod status;
pub mod tx;

#[cfg(test)]
pub(crate) mod testutil;
