//! The hot paths: accepting blocks (anyone may relay; a block proves itself) and verifying
//! outcome proofs (for connectors, one hop, and for off-chain callers, as a view).
//!
//! Both read their borsh arguments themselves: blocks in place (`xsc_core::block_ref`, no
//! allocation per signature or producer), and any undecodable input, such as a 63-byte
//! signature, is an `ERR_INVALID_INPUT` naming the field, not near-sdk's generic message.

use crate::error::ContractError;
use crate::events::{emit_block_accepted, LightClientEvent};
use crate::store::table_record_bytes;
use crate::{storage, HostCrypto, LightClient, LightClientExt};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::U128;
use near_sdk::{env, near, require, AccountId, Gas, GasWeight, NearToken, Promise, PromiseResult};
use xsc_core::block_ref::BlockRef;
use xsc_core::client::{commit_block, plan_block, BlockPlan};
use xsc_core::proof_ref::{parse_proof_and_height, verify_proof_ref, ProofRef};
use xsc_core::wire::Reader;
use xsc_interfaces::{MAX_FORWARD_BATCH, MAX_FORWARD_MSG};

/// Least gas the receiver of a forwarded outcome gets (it also gets all the gas left).
pub const GAS_FORWARD_MIN: Gas = Gas::from_tgas(10);
/// What `verify_and_forward` keeps for serialising the call after the check.
const GAS_FORWARD_RESERVE: Gas = Gas::from_tgas(2);
/// Gas of `on_forward_settled`, the refund callback attached when a deposit is forwarded
/// (reads one promise result, creates at most one transfer).
pub const GAS_FORWARD_REFUND: Gas = Gas::from_tgas(3);

fn input() -> Vec<u8> {
    env::input().unwrap_or_default()
}

fn fail(e: impl core::fmt::Display) -> ! {
    env::panic_str(&e.to_string())
}

#[near]
impl LightClient {
    /// Accept the next block of the other chain: **borsh** `LightClientBlockView`. Open to
    /// anyone; rejected blocks panic with an `ERR_*` reason and change nothing. Emits
    /// `block_accepted`. Payable: a block whose producer table is larger than the one it
    /// replaces must attach that storage (`deposit_for_block` says how much; any surplus is
    /// refunded); every other block needs no deposit.
    #[pause]
    #[payable]
    pub fn add_light_client_block(&mut self) {
        let input = input();
        let block = BlockRef::parse(&input).unwrap_or_else(|e| fail(e));
        let previous_epoch = self.head.epoch_id;
        let plan = plan_block(self, &HostCrypto, &block).unwrap_or_else(|e| fail(e));
        storage::require_deposit(self.plan_growth(&plan));
        let usage_before = env::storage_usage();
        let accepted = commit_block(self, plan);
        storage::settle(usage_before);
        emit_block_accepted(
            accepted.height,
            &accepted.hash,
            &accepted.epoch_id,
            accepted.epoch_id != previous_epoch,
        );
    }

    /// The deposit `add_light_client_block` needs for this block (**borsh**
    /// `LightClientBlockView`), in yoctoNEAR: the storage its producer tables add, if any.
    /// Exact (storage does not depend on the time of the call); checks the block's shape, not
    /// its signatures.
    pub fn deposit_for_block(&self) -> U128 {
        let input = input();
        let block = BlockRef::parse(&input).unwrap_or_else(|e| fail(e));
        let mut growth: i64 = 0;
        if let Some(bps) = &block.next_bps {
            if !self.knows_epoch(&block.next_epoch_id()) {
                growth += table_record_bytes(bps.count) as i64;
            }
        }
        if block.epoch_id() != self.head.epoch_id {
            growth -= self.table_bytes(&self.head.epoch_id).unwrap_or(0) as i64;
        }
        U128(storage::cost_of(growth))
    }

    /// Verify an `EXPERIMENTAL_light_client_proof` result against the trusted block stored at
    /// `height` (a head the proof was requested for) and return what it proves. **Borsh**
    /// `(LightClientExecutionProof, u64)` in, borsh `ProvenOutcome` out; panics with an `ERR_*`
    /// reason on an invalid proof. The proof is read in place and the outcome written from
    /// slices of it (`xsc_core::proof_ref`).
    #[pause]
    pub fn verify_outcome(&self) {
        env::value_return(&self.verify_outcome_bytes(&input()));
    }

    /// [`Self::verify_outcome`], then `receiver_id.on_proven_outcome(sender_id, outcome, msg)`
    /// with the attached deposit and all the gas left (`sender_id` is the caller). **Borsh**
    /// `(LightClientExecutionProof, u64, AccountId, Vec<u8>)`. Panics before forwarding
    /// anything (the deposit returns to the caller) when the proof does not verify, `msg`
    /// exceeds `MAX_FORWARD_MSG` bytes or less than `GAS_FORWARD_MIN` would reach the receiver.
    ///
    /// A non-zero deposit is forwarded with a refund callback: if `on_proven_outcome` itself
    /// fails (no such account or method, out of gas, a panic), NEAR returns the deposit here
    /// and the callback sends it on to `sender_id`. The call carries a zero transfer after the
    /// function call, so that the callback sees the status of `on_proven_outcome`'s own
    /// receipt (the last action decides it), never that of a promise the receiver returns: a
    /// receiver that keeps the deposit and returns a failing promise gets no second refund.
    #[pause]
    #[payable]
    pub fn verify_and_forward(&mut self) {
        let input = input();
        let mut r = Reader::new(&input);
        let (proof, height, receiver_id, msg) = read_forward(&mut r).unwrap_or_else(|e| fail(e));
        require!(
            msg.len() <= MAX_FORWARD_MSG,
            ContractError::ForwardMsgTooLong.as_str()
        );
        let outcome = self.verify(&proof, height);
        let deposit = env::attached_deposit();
        let callback = if deposit.is_zero() {
            Gas::from_gas(0)
        } else {
            GAS_FORWARD_REFUND
        };
        let left = env::prepaid_gas().saturating_sub(env::used_gas());
        require!(
            left >= GAS_FORWARD_MIN
                .saturating_add(GAS_FORWARD_RESERVE)
                .saturating_add(callback),
            ContractError::NotEnoughGasToForward.as_str()
        );
        // borsh (sender_id: AccountId, outcome: ProvenOutcome, msg: Vec<u8>).
        let sender_id = env::predecessor_account_id();
        let sender = sender_id.as_str().as_bytes();
        let mut args = Vec::with_capacity(4 + sender.len() + outcome.len() + 4 + msg.len());
        args.extend_from_slice(&(sender.len() as u32).to_le_bytes());
        args.extend_from_slice(sender);
        args.extend_from_slice(&outcome);
        args.extend_from_slice(&(msg.len() as u32).to_le_bytes());
        args.extend_from_slice(msg);
        let forward = Promise::new(receiver_id).function_call_weight(
            "on_proven_outcome".to_string(),
            args,
            deposit,
            GAS_FORWARD_MIN,
            GasWeight(1),
        );
        if deposit.is_zero() {
            forward.as_return();
            return;
        }
        let refund_args = format!(
            "{{\"sender_id\":\"{}\",\"amount\":\"{}\"}}",
            sender_id,
            deposit.as_yoctonear()
        );
        forward
            .transfer(NearToken::from_yoctonear(0))
            .then(
                Promise::new(env::current_account_id()).function_call_weight(
                    "on_forward_settled".to_string(),
                    refund_args.into_bytes(),
                    NearToken::from_yoctonear(0),
                    GAS_FORWARD_REFUND,
                    GasWeight(0),
                ),
            )
            .as_return();
    }

    /// [`Self::verify_and_forward`] for up to `MAX_FORWARD_BATCH` outcomes with one receiver and
    /// no deposit: **borsh** `(AccountId, Vec<(LightClientExecutionProof, u64, Vec<u8>)>)`.
    /// Every proof is verified, then `receiver_id.on_proven_outcomes(sender_id, [(outcome,
    /// msg)])` is called once with all the gas left. All or nothing: one proof that does not
    /// verify (or a `msg` too long, an empty or oversized batch, too little gas) panics before
    /// anything is forwarded. What a batch saves is per message: one transaction, one receipt
    /// here and one in the receiver instead of one each. Paused with `verify_and_forward`.
    #[pause(name = "verify_and_forward")]
    pub fn verify_and_forward_batch(&mut self) {
        let input = input();
        let mut r = Reader::new(&input);
        let receiver_id = read_account(&mut r, "receiver_id").unwrap_or_else(|e| fail(e));
        let count = r.u32("items").unwrap_or_else(|e| fail(e)) as usize;
        require!(
            (1..=MAX_FORWARD_BATCH).contains(&count),
            ContractError::BatchSize.as_str()
        );
        // borsh (sender_id: AccountId, items: Vec<(ProvenOutcome, Vec<u8>)>), built as the
        // proofs are verified. Consecutive proofs against the same block read it once.
        let sender_id = env::predecessor_account_id();
        let sender = sender_id.as_str().as_bytes();
        let mut args = Vec::with_capacity(input.len());
        args.extend_from_slice(&(sender.len() as u32).to_le_bytes());
        args.extend_from_slice(sender);
        args.extend_from_slice(&(count as u32).to_le_bytes());
        let mut trusted = None;
        for _ in 0..count {
            let proof = ProofRef::read(&mut r).unwrap_or_else(|e| fail(e));
            let height = r.u64("height").unwrap_or_else(|e| fail(e));
            let msg = r.byte_vec("msg").unwrap_or_else(|e| fail(e));
            require!(
                msg.len() <= MAX_FORWARD_MSG,
                ContractError::ForwardMsgTooLong.as_str()
            );
            if trusted.as_ref().is_some_and(|(h, _)| *h != height) {
                trusted = None;
            }
            let (_, block) = trusted.get_or_insert_with(|| {
                let block = self
                    .stored_block(height)
                    .unwrap_or_else(|| env::panic_str(ContractError::UnknownRoot.as_str()));
                (height, block)
            });
            let outcome = verify_proof_ref(&HostCrypto, &proof, block).unwrap_or_else(|e| fail(e));
            args.extend_from_slice(&outcome);
            args.extend_from_slice(&(msg.len() as u32).to_le_bytes());
            args.extend_from_slice(msg);
        }
        r.finish("trailing bytes after the arguments")
            .unwrap_or_else(|e| fail(e));
        let left = env::prepaid_gas().saturating_sub(env::used_gas());
        require!(
            left >= GAS_FORWARD_MIN.saturating_add(GAS_FORWARD_RESERVE),
            ContractError::NotEnoughGasToForward.as_str()
        );
        Promise::new(receiver_id)
            .function_call_weight(
                "on_proven_outcomes".to_string(),
                args,
                NearToken::from_yoctonear(0),
                GAS_FORWARD_MIN,
                GasWeight(1),
            )
            .as_return();
    }

    /// Callback of a forwarded deposit: when the receiver's call failed, the deposit came back
    /// to this contract; send it to the relayer who attached it.
    #[private]
    pub fn on_forward_settled(sender_id: AccountId, amount: U128) {
        if env::promise_results_count() == 1
            && matches!(env::promise_result(0), PromiseResult::Failed)
        {
            LightClientEvent::ForwardRefunded {
                sender_id: sender_id.clone(),
                amount,
            }
            .emit();
            Promise::new(sender_id).transfer(NearToken::from_yoctonear(amount.0));
        }
    }
}

/// The arguments of `verify_and_forward`, read in place: `(proof, height, receiver_id, msg)`.
fn read_forward<'a>(
    r: &mut Reader<'a>,
) -> Result<(ProofRef<'a>, u64, AccountId, &'a [u8]), xsc_core::Error> {
    let proof = ProofRef::read(r)?;
    let height = r.u64("height")?;
    let receiver_id = read_account(r, "receiver_id")?;
    let msg = r.byte_vec("msg")?;
    r.finish("trailing bytes after the arguments")?;
    Ok((proof, height, receiver_id, msg))
}

/// A borsh account id (a string that must be a valid account id).
fn read_account(r: &mut Reader<'_>, what: &'static str) -> Result<AccountId, xsc_core::Error> {
    let at = r.pos();
    let s = r.string(what)?;
    s.parse().map_err(|_| xsc_core::Error::Decode {
        what: "receiver_id: not a valid account id",
        at,
    })
}

impl LightClient {
    /// Storage a plan adds (negative: frees): the table it adds minus the one it retires.
    fn plan_growth(&self, plan: &BlockPlan<Vec<u8>>) -> i64 {
        let added = plan
            .add
            .as_ref()
            .map_or(0, |(_, t)| (33 + t.len() + 40) as i64);
        let retired = plan.retire.and_then(|e| self.table_bytes(&e)).unwrap_or(0) as i64;
        added - retired
    }

    /// `verify_outcome` on its argument bytes: the borsh `ProvenOutcome`.
    pub(crate) fn verify_outcome_bytes(&self, input: &[u8]) -> Vec<u8> {
        let (proof, height) = parse_proof_and_height(input).unwrap_or_else(|e| fail(e));
        self.verify(&proof, height)
    }

    /// The borsh `ProvenOutcome` of a proof against the block stored at `height`.
    fn verify(&self, proof: &ProofRef<'_>, height: u64) -> Vec<u8> {
        let trusted = self
            .stored_block(height)
            .unwrap_or_else(|| env::panic_str(ContractError::UnknownRoot.as_str()));
        verify_proof_ref(&HostCrypto, proof, &trusted).unwrap_or_else(|e| fail(e))
    }
}
