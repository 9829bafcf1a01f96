//! Receivers of `verify_and_forward`, written in WebAssembly text so that each does exactly one
//! thing to the forwarded call (fail, burn all its gas, keep the deposit, keep it and return a
//! failing promise). They show which of those get the relayer's deposit refunded.

use anyhow::{Context, Result};
use near_workspaces::network::Sandbox;
use near_workspaces::{Contract, Worker};

/// `on_proven_outcome` traps (a panic).
pub const PANICS: &str = r#"(module
  (memory 1)
  (func (export "on_proven_outcome") unreachable))"#;

/// `on_proven_outcome` never returns: it runs out of gas.
pub const BURNS_ALL_GAS: &str = r#"(module
  (memory 1)
  (func (export "on_proven_outcome") (loop br 0)))"#;

/// `on_proven_outcome` accepts the call (and the deposit) and returns nothing.
pub const KEEPS: &str = r#"(module
  (memory 1)
  (func (export "on_proven_outcome")))"#;

/// `on_proven_outcome` accepts the deposit and returns a promise that fails (a call into an
/// account that does not exist): the forwarded call succeeded, the chain it returns failed.
/// A light client that refunded on that result would pay the relayer a deposit it no longer
/// holds.
pub const KEEPS_AND_RETURNS_A_FAILING_PROMISE: &str = r#"(module
  (import "env" "promise_create"
    (func $promise_create (param i64 i64 i64 i64 i64 i64 i64 i64) (result i64)))
  (import "env" "promise_return" (func $promise_return (param i64)))
  (memory 1)
  (data (i32.const 0) "nobody-here.test.near")
  (data (i32.const 32) "anything")
  (func (export "on_proven_outcome")
    (call $promise_return
      (call $promise_create
        (i64.const 21) (i64.const 0)
        (i64.const 8) (i64.const 32)
        (i64.const 0) (i64.const 0)
        (i64.const 64)
        (i64.const 5000000000000)))))"#;

/// Deploy `wat` to a fresh dev account.
pub async fn deploy(worker: &Worker<Sandbox>, wat: &str) -> Result<Contract> {
    let wasm = wat::parse_str(wat).context("assemble the receiver")?;
    worker
        .dev_deploy(&wasm)
        .await
        .context("deploy the receiver")
}
