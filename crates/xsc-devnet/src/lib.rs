//! A local xsc devnet on top of the bridge service (`xsc-bridge`): what a newcomer runs to see
//! xsc work, and what the two-chain tests and benchmarks stand on. Nothing here is needed to
//! operate a bridge.
//!
//! - [`localnet`]: single-validator `neard` sandbox nodes on loopback (the binary from
//!   `NEAR_SANDBOX_BIN_PATH` or `$HOME/.xsc/bin/neard-sandbox`).
//! - [`demo`]: a chain pair with every contract deployed by `xsc_bridge::deploy` (the code
//!   `xsc deploy` runs against testnet or a Calimero shard) and the service running, and the
//!   flows of `xsc demo` (a Calimero `cross_call` round trip, an xCall rollback).
//! - [`faultproxy`]: an RPC proxy that delays, drops, answers 5xx or garbage, and plays a
//!   lagging backend (the fault-injection suite, `crates/xsc-cli/tests/fault_injection.rs`).
//! - [`multi`]: several `xsc relay` processes on one PostgreSQL queue (the multi-instance suite
//!   `tests/multi_instance.rs` and the `multi_bench` benchmark).
//! - `tests/e2e_bridge.rs`: the two-chain end-to-end suite. `src/bin`: `connector_gas` (exact gas
//!   of every connector operation) and `e2e_bench` (latency and throughput).
#![forbid(unsafe_code)]

pub mod demo;
pub mod faultproxy;
pub mod localnet;
pub mod multi;
