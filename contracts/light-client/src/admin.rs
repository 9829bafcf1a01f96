//! Administration: the proof window's configuration and the explicit recovery path.
//!
//! Falling behind: the protocol forbids skipping an epoch, so a light client that missed epochs
//! first catches up by replaying one block per missed epoch (RPC `next_light_client_block` from
//! an archival node, in order); `add_light_client_block` accepts them as usual. Only when those
//! blocks cannot be had does `reset_head` apply: an account holding `RecoveryManager` (or `Dao`)
//! supplies a newer block together with the ordered producers of its epoch; the block must still
//! carry valid approvals of more than 2/3 of that set and a `next_bps` matching its hash, and the
//! reset is logged as a `head_reset` event. Nothing unverified is ever accepted silently.

use crate::events::LightClientEvent;
use crate::window::WindowConfig;
use crate::{json_input, storage, ContractError, HostCrypto, LightClient, LightClientExt, Role};
use near_plugins::{access_control_any, AccessControllable};
use near_sdk::json_types::U64;
use near_sdk::{env, near, require};
use xsc_core::block::verify_block;
use xsc_core::client::trusted_state;
use xsc_core::{LightClientBlockLiteView, LightClientBlockView, ValidatorStakeView};

/// `reset_head` arguments (JSON).
#[near(serializers = [json])]
pub struct ResetArgs {
    pub head: LightClientBlockView,
    pub epoch_producers: Vec<ValidatorStakeView>,
    pub reason: String,
}

#[near]
impl LightClient {
    /// Resize the ring of recent heads (2..=512 heights). Every stored block moves to its slot
    /// under the new size. Payable: growing the ring must attach the storage it adds (surplus
    /// refunded).
    #[payable]
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn set_ring_size(&mut self, ring_size: u32) {
        let config = WindowConfig {
            ring_size,
            ..self.window
        };
        config.require_valid();
        let record = (crate::keys::RING_KEY_LEN + crate::window::RECORD + 40) as i64;
        storage::require_deposit(
            (i64::from(ring_size) - i64::from(self.window.ring_size)) * record,
        );
        let before = env::storage_usage();
        self.resize_ring(ring_size);
        storage::settle(before);
        self.window_changed();
    }

    /// Set the retention (hours) and the checkpoint interval (minutes). The checkpoint FIFO is
    /// rebuilt at its new capacity keeping the newest checkpoints; the guarantee holds for heads
    /// replaced after the change. Payable like `set_ring_size`.
    #[payable]
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn set_retention(&mut self, retention_hours: u32, checkpoint_interval_minutes: u32) {
        let config = WindowConfig {
            retention_hours,
            checkpoint_interval_minutes,
            ..self.window
        };
        config.require_valid();
        storage::require_deposit(
            (i64::from(config.capacity()) - i64::from(self.checkpoints.capacity))
                * crate::window::RECORD as i64,
        );
        let before = env::storage_usage();
        self.reconfigure_checkpoints(retention_hours, checkpoint_interval_minutes);
        storage::settle(before);
        self.window_changed();
    }

    /// Explicit, authorised recovery (see the module documentation). JSON [`ResetArgs`]:
    /// `epoch_producers` are the ordered producers of `head`'s epoch; `head` must be signed by
    /// more than 2/3 of them, carry `next_bps`, and be above the current head. Payable: new
    /// producer tables larger than the ones replaced must be paid for (surplus refunded).
    #[payable]
    #[access_control_any(roles(Role::Dao, Role::RecoveryManager))]
    pub fn reset_head(&mut self) {
        let ResetArgs {
            head,
            epoch_producers,
            reason,
        } = json_input();
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

        // Every stored table is replaced by the new ones: price that before writing.
        let tables = Self::tables(&state);
        let growth = tables
            .iter()
            .map(|(_, t)| table_record_bytes_of(t) as i64)
            .sum::<i64>()
            - self
                .known_epochs
                .iter()
                .filter(|e| e.producers > 0)
                .filter_map(|e| self.table_bytes(&e.id))
                .sum::<u64>() as i64;
        storage::require_deposit(growth);
        let before = env::storage_usage();
        let old = self.head.clone();
        for e in self.known_epochs {
            if e.producers > 0 {
                self.forget_producers(&e.id);
            }
        }
        let new_head = state.head.clone();
        self.install(state.head, tables, false);
        storage::settle(before);
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

/// Storage of a producer table record with these bytes.
fn table_record_bytes_of(table: &[u8]) -> u64 {
    (33 + table.len() + 40) as u64
}

impl LightClient {
    fn window_changed(&self) {
        LightClientEvent::WindowChanged {
            ring_size: self.window.ring_size,
            retention_hours: self.window.retention_hours,
            checkpoint_interval_minutes: self.window.checkpoint_interval_minutes,
            by: env::predecessor_account_id(),
        }
        .emit();
    }
}
