//! Test harness of xsc, shared by the sandbox integration tests (`tests/`) and the gas benchmark
//! (`src/bin/gas_bench.rs`).
//!
//! - [`artifacts`]: the contract artifacts in `res/` (built by `scripts/build.sh`).
//! - [`wasm_compat`]: does an artifact run on the oldest NEAR VM we target (protocol 63)?
//! - [`sandbox`]: finding a `neard` sandbox binary and starting a sandbox (near-workspaces).
//! - [`light_client`]: deploying and calling the light client contract.
//! - [`fixtures`]: contract initialisations from the real-network vectors.
//! - [`outcome`]: failures, logs, events and gas of a transaction.
//! - [`own_chain`]: a light client of the sandbox's own chain (one producer).
//! - [`receivers`]: hand-written receivers of forwarded outcomes (fail, burn gas, keep, hijack).
//! - [`rpc`]: the JSON-RPC methods near-workspaces does not wrap.
//! - [`upgrade`]: upgrading a deployed contract through `Upgradable`, the v0.1.0 fixtures.

pub mod artifacts;
pub mod fixtures;
pub mod light_client;
pub mod outcome;
pub mod own_chain;
pub mod receivers;
pub mod rpc;
pub mod sandbox;
pub mod upgrade;
pub mod wasm_compat;
