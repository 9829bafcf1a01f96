//! The light client contract (`contracts/light-client`) as other contracts call it, and what a
//! contract implements to receive outcomes the light client verified for it.

use near_sdk::{ext_contract, AccountId};
use xsc_core::{LightClientExecutionProof, ProvenOutcome};

/// Largest `msg` the light client forwards with a proven outcome.
pub const MAX_FORWARD_MSG: usize = 1024;

/// Most outcomes one `verify_and_forward_batch` verifies and forwards in one call. A batch
/// shares one transaction, one light client receipt and one receiver receipt among its
/// outcomes (BENCHMARKS.md, "deliveries in batches"); 32 keeps the forwarded arguments and the
/// receiver's work well inside one receipt's gas.
pub const MAX_FORWARD_BATCH: usize = 32;

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

    /// [`Self::verify_and_forward`] for several outcomes at once, all for one receiver, without
    /// a deposit: verify every `(proof, height, msg)`, then call
    /// `receiver_id.on_proven_outcomes(sender_id, [(outcome, msg)])` once with all the gas
    /// left. All or nothing: when any proof does not verify, any `msg` is longer than
    /// [`MAX_FORWARD_MSG`], there are none or more than [`MAX_FORWARD_BATCH`], or too little
    /// gas is left, it panics and forwards nothing. Paused with `verify_and_forward`.
    fn verify_and_forward_batch(
        &mut self,
        #[serializer(borsh)] receiver_id: AccountId,
        #[serializer(borsh)] items: Vec<(LightClientExecutionProof, u64, Vec<u8>)>,
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

    /// The outcomes of one `verify_and_forward_batch`, in the order the caller gave them (at
    /// most [`MAX_FORWARD_BATCH`]); no deposit.
    fn on_proven_outcomes(
        &mut self,
        #[serializer(borsh)] sender_id: AccountId,
        #[serializer(borsh)] items: Vec<(ProvenOutcome, Vec<u8>)>,
    );
}
