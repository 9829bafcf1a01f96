//! Administration: the window size and the explicit recovery path.
//!
//! Falling behind: the protocol forbids skipping an epoch, so a light client that missed epochs
//! first catches up by replaying one block per missed epoch (RPC `next_light_client_block` from
//! an archival node, in order); `add_light_client_block` accepts them as usual. Only when those
//! blocks cannot be had does `reset_head` apply: an account holding `RecoveryManager` (or `Dao`)
//! supplies a newer block together with the ordered producers of its epoch; the block must still
//! carry valid approvals of more than 2/3 of that set and a `next_bps` matching its hash, and the
//! reset is logged as a `head_reset` event. Nothing unverified is ever accepted silently.
//!
//! State migration: `StorageKey` is append-only and `LightClient` is the v1 layout. A later
//! version ships a `migrate` method that reads this layout and writes its own; it is run by the
//! Upgradable plugin's `up_deploy_code(hash, function_call_args)` in the same promise as the code
//! deployment, so a failed migration rolls the deployment back.

use crate::events::LightClientEvent;
use crate::views::require_valid_window;
use crate::{ContractError, HostCrypto, LightClient, LightClientExt, Role};
use near_plugins::{access_control_any, AccessControllable};
use near_sdk::json_types::U64;
use near_sdk::{env, near, require};
use xsc_core::block::verify_block;
use xsc_core::client::trusted_state;
use xsc_core::{LightClientBlockLiteView, LightClientBlockView, ValidatorStakeView};

#[near]
impl LightClient {
    /// Resize the window of stored blocks. Shrinking prunes the surplus gradually (two blocks per
    /// accepted block).
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn set_max_stored_blocks(&mut self, max_stored_blocks: u32) {
        require_valid_window(max_stored_blocks);
        self.max_stored_blocks = max_stored_blocks;
        LightClientEvent::WindowResized {
            max_stored_blocks,
            by: env::predecessor_account_id(),
        }
        .emit();
    }

    /// Explicit, authorised recovery (see the module documentation). `epoch_producers` are the
    /// ordered producers of `head`'s epoch; `head` must be signed by more than 2/3 of them, carry
    /// `next_bps`, and be above the current head.
    #[access_control_any(roles(Role::Dao, Role::RecoveryManager))]
    pub fn reset_head(
        &mut self,
        head: LightClientBlockView,
        epoch_producers: Vec<ValidatorStakeView>,
        reason: String,
    ) {
        require!(
            head.inner_lite.height > self.head.height,
            ContractError::ResetNotNewer.as_str()
        );
        require!(
            head.next_bps.is_some(),
            ContractError::ResetNeedsNextBps.as_str()
        );
        let state = trusted_state(
            &HostCrypto,
            &LightClientBlockLiteView::from(&head),
            Some(epoch_producers),
            head.next_bps.clone(),
        )
        .unwrap_or_else(|e| env::panic_str(&e.to_string()));
        // The producers are the caller's word; their approvals of the block are still checked.
        let producers = &state.epochs[0].1;
        verify_block(&HostCrypto, producers, &head)
            .unwrap_or_else(|e| env::panic_str(&e.to_string()));

        let old = self.head.clone();
        for epoch_id in std::mem::take(&mut self.known_epochs) {
            self.epochs.remove(&epoch_id);
        }
        let new_head = state.head.clone();
        self.install(state);
        LightClientEvent::HeadReset {
            old_height: U64(old.height),
            old_hash: old.hash,
            new_height: U64(new_head.height),
            new_hash: new_head.hash,
            by: env::predecessor_account_id(),
            reason,
        }
        .emit();
    }
}
