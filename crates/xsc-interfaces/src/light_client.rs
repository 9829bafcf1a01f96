//! The light client contract (`contracts/light-client`) as other contracts call it, and what a
//! contract implements to receive outcomes the light client verified for it.

use near_sdk::{ext_contract, AccountId};
use xsc_core::{LightClientExecutionProof, ProvenOutcome};

/// Largest `msg` the light client forwards with a proven outcome.
pub const MAX_FORWARD_MSG: usize = 1024;

/// `ext_light_client::ext(light_client).verify_outcome(proof, height)`.
///
/// Arguments are borsh `(LightClientExecutionProof, u64)`; the result is borsh
/// [`ProvenOutcome`], read in the caller's callback with
/// `#[callback_result] #[serializer(borsh)] outcome: Result<ProvenOutcome, PromiseError>`.
/// The light client panics (the promise fails) with an `ERR_*` reason when the proof does not
/// verify against the trusted block it stores at `height`.
#[allow(dead_code)]
#[ext_contract(ext_light_client)]
pub trait LightClient {
    #[result_serializer(borsh)]
    fn verify_outcome(
        &self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    ) -> ProvenOutcome;

    /// Verify like `verify_outcome`, then call
    /// `receiver_id.on_proven_outcome(sender_id, outcome, msg)` ([`ext_proven_outcome_receiver`])
    /// with the attached deposit and all the gas left; `sender_id` is the caller. One receipt
    /// fewer than a contract calling `verify_outcome` and waiting for the answer. Panics (the
    /// deposit returns to the caller) when the proof does not verify, `msg` is longer than
    /// [`MAX_FORWARD_MSG`] or too little gas is left to forward.
    #[payable]
    fn verify_and_forward(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
        #[serializer(borsh)] receiver_id: AccountId,
        #[serializer(borsh)] msg: Vec<u8>,
    );
}

/// What a contract implements to receive outcomes from `verify_and_forward`. The outcome is
/// proven only when the predecessor is the light client the receiver trusts: a receiver must
/// check `env::predecessor_account_id()` first. Borsh arguments.
#[allow(dead_code)]
#[ext_contract(ext_proven_outcome_receiver)]
pub trait ProvenOutcomeReceiver {
    #[payable]
    fn on_proven_outcome(
        &mut self,
        #[serializer(borsh)] sender_id: AccountId,
        #[serializer(borsh)] outcome: ProvenOutcome,
        #[serializer(borsh)] msg: Vec<u8>,
    );
}
