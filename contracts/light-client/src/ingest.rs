//! The two hot paths: accepting blocks (anyone may relay; a block proves itself) and verifying
//! outcome proofs (for connectors, one hop, and for off-chain callers, as a view).
//! Both take borsh arguments: parsing a 35 KB JSON block in wasm would cost as much as the
//! signatures.

use crate::events::LightClientEvent;
use crate::{ContractError, HostCrypto, LightClient, LightClientExt};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::U64;
use near_sdk::{env, near};
use xsc_core::proof::verify_outcome_proof_at;
use xsc_core::{LightClientBlockView, LightClientExecutionProof, ProvenOutcome};

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
}
