//! Calling the contract in the mocked blockchain: arguments go in as the call's input bytes,
//! exactly as a transaction carries them.

use crate::{InitArgs, LightClient, WindowConfig};
use near_sdk::test_utils::VMContextBuilder;
use near_sdk::{testing_env, AccountId, Gas, NearToken};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use xsc_core::{LightClientBlockView, LightClientExecutionProof};
use xsc_vectors::ChainCase;

pub use xsc_vectors::panic_message;

pub const CONTRACT: &str = "lc.near";
/// 2023-11-14, in nanoseconds: the mocked chain's clock starts here.
pub const T0: u64 = 1_700_000_000_000_000_000;
pub const MINUTE: u64 = 60_000_000_000;

thread_local! {
    static NOW: Cell<u64> = const { Cell::new(T0) };
}

pub fn account(s: &str) -> AccountId {
    s.parse().unwrap()
}

/// This chain's clock for the following calls.
pub fn set_time(ns: u64) {
    NOW.with(|n| n.set(ns));
}

pub fn now() -> u64 {
    NOW.with(|n| n.get())
}

pub fn advance_minutes(m: u64) {
    set_time(now() + m * MINUTE);
}

/// The next call comes from `who` with `input`, `deposit` yoctoNEAR and `tgas` of gas.
pub fn call_ctx(who: &str, input: Vec<u8>, deposit: u128, tgas: u64) {
    call_ctx_with_results(who, input, deposit, tgas, Vec::new());
}

/// [`call_ctx`] for a callback that sees `results`.
pub fn call_ctx_with_results(
    who: &str,
    input: Vec<u8>,
    deposit: u128,
    tgas: u64,
    results: Vec<near_sdk::PromiseResult>,
) {
    let mut ctx = VMContextBuilder::new();
    ctx.current_account_id(account(CONTRACT))
        .predecessor_account_id(account(who))
        .signer_account_id(account(who))
        .attached_deposit(NearToken::from_yoctonear(deposit))
        .prepaid_gas(Gas::from_tgas(tgas))
        .block_timestamp(now())
        .account_balance(NearToken::from_near(1000));
    let mut ctx = ctx.build();
    ctx.input = input;
    testing_env!(
        ctx,
        near_sdk::test_vm_config(),
        near_sdk::RuntimeFeesConfig::test(),
        Default::default(),
        results
    );
}

pub fn set_caller(who: &str) {
    call_ctx(who, Vec::new(), 0, 300);
}

/// Each contract instance starts from empty storage (testing_env! carries storage over).
pub fn fresh_storage() {
    near_sdk::mock::with_mocked_blockchain(|b| {
        b.take_storage();
    });
}

pub fn try_run<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(panic_message)
}

pub fn chain(name: &str) -> ChainCase {
    xsc_vectors::chain(name)
}

pub fn init_args(head: LightClientBlockView) -> InitArgs {
    InitArgs {
        head,
        epoch_producers: None,
        ring_size: None,
        retention_hours: None,
        checkpoint_interval_minutes: None,
        admin: None,
    }
}

/// Start a contract the way a deployment would: the head, and the producers of the head's
/// epoch when the manifest gives them for it (otherwise the head's next_bps covers the first
/// step).
pub fn init(case: &ChainCase, config: Option<WindowConfig>) -> LightClient {
    fresh_storage();
    set_caller("admin.near");
    let head = case.head();
    let first_epoch = case.blocks().first().map(|b| b.inner_lite.epoch_id);
    let epoch_producers = match case.bps() {
        Some(bps) if first_epoch == Some(head.inner_lite.epoch_id) => Some(bps),
        Some(_) => panic!("manifest bps for the next epoch is not used by these tests"),
        None => None,
    };
    let mut args = init_args(head);
    args.epoch_producers = epoch_producers;
    if let Some(c) = config {
        args.ring_size = Some(c.ring_size);
        args.retention_hours = Some(c.retention_hours);
        args.checkpoint_interval_minutes = Some(c.checkpoint_interval_minutes);
    }
    LightClient::init(args)
}

/// `add_light_client_block` with the borsh of `block`, from `relayer.near`, attaching what
/// `deposit_for_block` asks for.
pub fn add(lc: &mut LightClient, block: &LightClientBlockView) -> Result<(), String> {
    let deposit = deposit_for(lc, block);
    add_with(lc, "relayer.near", borsh::to_vec(block).unwrap(), deposit)
}

pub fn add_with(
    lc: &mut LightClient,
    who: &str,
    input: Vec<u8>,
    deposit: u128,
) -> Result<(), String> {
    call_ctx(who, input, deposit, 300);
    try_run(|| lc.add_light_client_block())
}

pub fn deposit_for(lc: &LightClient, block: &LightClientBlockView) -> u128 {
    call_ctx("relayer.near", borsh::to_vec(block).unwrap(), 0, 300);
    lc.deposit_for_block().0
}

pub fn verify(
    lc: &LightClient,
    proof: &LightClientExecutionProof,
    height: u64,
) -> Result<xsc_core::ProvenOutcome, String> {
    let input = borsh::to_vec(&(proof, height)).unwrap();
    call_ctx("dapp.near", input.clone(), 0, 300);
    try_run(|| borsh::from_slice(&lc.verify_outcome_bytes(&input)).unwrap())
}

/// Storage usage as the mocked blockchain accounts it.
pub fn storage_usage() -> u64 {
    near_sdk::env::storage_usage()
}
