//! The light client contract (`contracts/light-client`) as other contracts call it.

use near_sdk::ext_contract;
use xsc_core::{LightClientExecutionProof, ProvenOutcome};

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
}
