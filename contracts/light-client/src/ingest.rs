//! The two hot paths: accepting blocks (anyone may relay; a block proves itself) and verifying
//! outcome proofs (for connectors, one hop, and for off-chain callers, as a view).
//! Both take borsh arguments: parsing a 35 KB JSON block in wasm would cost as much as the
//! signatures.

use crate::events::LightClientEvent;
use crate::{ContractError, HostCrypto, LightClient, LightClientExt};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::U64;
use near_sdk::{env, near, require, AccountId, Gas, Promise};
use xsc_core::proof::verify_outcome_proof_at;
use xsc_core::{LightClientBlockView, LightClientExecutionProof, ProvenOutcome};
use xsc_interfaces::{ext_proven_outcome_receiver, MAX_FORWARD_MSG};

#[near]
impl LightClient {
    /// Accept the next block of the other chain. Open to anyone; rejected blocks panic with an
    /// `ERR_*` reason and change nothing. Returns nothing; emits `block_accepted`.
    #[pause]
    pub fn add_light_client_block(&mut self, #[serializer(borsh)] block: LightClientBlockView) {
        let previous_epoch = self.head.epoch_id;
        let accepted = self
            .apply(&block)
            .unwrap_or_else(|e| env::panic_str(&e.to_string()));
        LightClientEvent::BlockAccepted {
            height: U64(accepted.height),
            hash: accepted.hash,
            epoch_id: accepted.epoch_id,
            new_epoch: accepted.epoch_id != previous_epoch,
        }
        .emit();
    }

    /// Verify an `EXPERIMENTAL_light_client_proof` result against the trusted block stored at
    /// `height` (a head the proof was requested for) and return what it proves. Borsh in,
    /// borsh out; panics with an `ERR_*` reason on an invalid proof.
    #[pause]
    #[result_serializer(borsh)]
    pub fn verify_outcome(
        &self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    ) -> ProvenOutcome {
        let trusted = self
            .stored_block(height)
            .unwrap_or_else(|| env::panic_str(ContractError::UnknownRoot.as_str()));
        verify_outcome_proof_at(&HostCrypto, &proof, &trusted)
            .unwrap_or_else(|e| env::panic_str(&e.to_string()))
    }

    /// [`Self::verify_outcome`], then `receiver_id.on_proven_outcome(sender_id, outcome, msg)`
    /// with the attached deposit and all the gas left (`sender_id` is the caller). A receiver
    /// that needs a proven outcome saves the receipt of calling `verify_outcome` itself and of
    /// waiting for the answer. Borsh arguments. Panics before forwarding anything (the deposit
    /// returns to the caller) when the proof does not verify, `msg` exceeds `MAX_FORWARD_MSG`
    /// bytes or less than `GAS_FORWARD_MIN` would reach the receiver.
    #[pause]
    #[payable]
    pub fn verify_and_forward(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
        #[serializer(borsh)] receiver_id: AccountId,
        #[serializer(borsh)] msg: Vec<u8>,
    ) -> Promise {
        require!(
            msg.len() <= MAX_FORWARD_MSG,
            ContractError::ForwardMsgTooLong.as_str()
        );
        let outcome = self.verify_outcome(proof, height);
        let left = env::prepaid_gas().saturating_sub(env::used_gas());
        require!(
            left >= GAS_FORWARD_MIN.saturating_add(GAS_FORWARD_RESERVE),
            ContractError::NotEnoughGasToForward.as_str()
        );
        ext_proven_outcome_receiver::ext(receiver_id)
            .with_attached_deposit(env::attached_deposit())
            .with_static_gas(GAS_FORWARD_MIN)
            .with_unused_gas_weight(1)
            .on_proven_outcome(env::predecessor_account_id(), outcome, msg)
    }
}

/// Least gas the receiver of a forwarded outcome gets (it also gets all the gas left).
pub const GAS_FORWARD_MIN: Gas = Gas::from_tgas(10);
/// What `verify_and_forward` keeps for serialising the call after the check.
const GAS_FORWARD_RESERVE: Gas = Gas::from_tgas(2);
