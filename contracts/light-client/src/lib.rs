//! # xsc light client
//!
//! Tracks another NEAR-protocol chain: accepts its `LightClientBlockView`s (each proves itself
//! with the ed25519 approvals of more than 2/3 of its epoch's stake), keeps the producer sets of
//! the current and next epoch and a window of trusted blocks guaranteed in time
//! ([`window`]), and verifies execution outcome proofs against them for other contracts (one
//! cross-contract hop) and for off-chain callers (a view).
//!
//! Verification rules live in `xsc-core`; this crate binds them to storage and host functions.
//! See `shared/notes/light-client.md` for the rules.

use near_plugins::{access_control, AccessControlRole, AccessControllable, Pausable, Upgradable};
// The Pausable and Upgradable derives call `try_from_slice` unqualified.
use near_sdk::borsh::BorshDeserialize;
use near_sdk::{env, near, require, AccountId, BorshStorageKey, PanicOnDefault};
use xsc_core::client::{trusted_state, Head, TrustedState};
use xsc_core::{CryptoHash, LightClientBlockLiteView, LightClientBlockView, ValidatorStakeView};

mod admin;
mod crypto;
mod error;
mod events;
mod ingest;
mod migrate;
mod storage;
mod store;
mod views;
mod window;

#[cfg(test)]
mod tests;

pub use crate::crypto::HostCrypto;
pub use crate::error::ContractError;
pub use crate::events::LightClientEvent;
pub use crate::ingest::{GAS_FORWARD_MIN, GAS_FORWARD_REFUND};
pub use crate::views::{Config, ProvableWindow, StoredRange};
pub use crate::window::{
    WindowConfig, DEFAULT_CHECKPOINT_INTERVAL_MINUTES, DEFAULT_RETENTION_HOURS, DEFAULT_RING_SIZE,
    MAX_CHECKPOINTS, MAX_RING_SIZE,
};

#[derive(AccessControlRole, Clone, Copy)]
#[near(serializers = [json])]
pub enum Role {
    /// Full administration.
    Dao,
    PauseManager,
    UnpauseManager,
    UpgradableCodeStager,
    UpgradableCodeDeployer,
    /// May change the configuration (the proof window).
    ConfigManager,
    /// May reset the head when relaying fell behind beyond what the chain can replay.
    RecoveryManager,
}

/// Storage keys: the borsh of a variant (one byte) is the prefix. Append only: `Epochs`,
/// `Blocks` and `Queue` are the v0.1 layout, read (and removed) by `migrate` only.
#[derive(BorshStorageKey)]
#[near]
#[allow(dead_code)] // the prefixes are the `keys` constants; the enum is their order
pub(crate) enum StorageKey {
    Epochs,
    Blocks,
    Queue,
    /// Ring slot → block record (`window`).
    Ring,
    /// The checkpoint FIFO, one value (`window`).
    Checkpoints,
    /// Epoch id → compact producer table (`xsc_core::producers`).
    ProducerTables,
}

/// Raw keys for the `StorageKey` prefixes, built on the stack (no borsh, no allocation).
pub(crate) mod keys {
    use xsc_core::CryptoHash;

    #[allow(dead_code)] // v0.1's epochs prefix: migrate reads it from the old state
    pub const EPOCHS_V1: u8 = 0;
    pub const BLOCKS_V1: u8 = 1;
    pub const QUEUE_V1: u8 = 2;
    pub const RING: u8 = 3;
    pub const CHECKPOINTS: u8 = 4;
    pub const PRODUCER_TABLES: u8 = 5;
    pub const RING_KEY_LEN: usize = 5;

    fn with_u64(prefix: u8, v: u64) -> [u8; 9] {
        let mut k = [prefix; 9];
        k[1..].copy_from_slice(&v.to_le_bytes());
        k
    }

    fn with_hash(prefix: u8, h: &CryptoHash) -> [u8; 33] {
        let mut k = [prefix; 33];
        k[1..].copy_from_slice(&h.0);
        k
    }

    pub fn ring(slot: u32) -> [u8; RING_KEY_LEN] {
        let mut k = [RING; RING_KEY_LEN];
        k[1..].copy_from_slice(&slot.to_le_bytes());
        k
    }

    pub fn checkpoints() -> [u8; 1] {
        [CHECKPOINTS]
    }

    pub fn producers(epoch_id: &CryptoHash) -> [u8; 33] {
        with_hash(PRODUCER_TABLES, epoch_id)
    }

    #[cfg(test)]
    pub fn epoch_v1(epoch_id: &CryptoHash) -> [u8; 33] {
        with_hash(EPOCHS_V1, epoch_id)
    }

    pub fn block_v1(height: u64) -> [u8; 9] {
        with_u64(BLOCKS_V1, height)
    }

    pub fn queue_v1(index: u64) -> [u8; 9] {
        with_u64(QUEUE_V1, index)
    }
}

/// State layout v2 (v0.1 is `migrate::StateV1`). Every field has a fixed borsh size while
/// blocks are relayed, so the storage a block adds is exactly what its own writes add (the
/// deposit check in `storage` measures it before near-sdk writes this state back).
#[near(contract_state)]
#[derive(PanicOnDefault, Pausable, Upgradable)]
#[access_control(role_type(Role))]
#[pausable(
    pause_roles(Role::Dao, Role::PauseManager),
    unpause_roles(Role::Dao, Role::UnpauseManager)
)]
#[upgradable(access_control_roles(
    code_stagers(Role::UpgradableCodeStager, Role::Dao),
    code_deployers(Role::UpgradableCodeDeployer, Role::Dao),
    duration_initializers(Role::Dao),
    duration_update_stagers(Role::Dao),
    duration_update_appliers(Role::Dao),
))]
pub struct LightClient {
    /// Last accepted block.
    head: Head,
    /// This chain's block time (ns) when the head was accepted: checkpoint buckets.
    head_accepted_at: u64,
    /// Epochs whose producer tables are stored (the head's and the next one).
    known_epochs: [store::KnownEpoch; 2],
    window: WindowConfig,
    checkpoints: window::Checkpoints,
    /// After a migration from v0.1: the old FIFO window, still readable until pruned.
    legacy: Option<migrate::LegacyWindow>,
}

/// `new` arguments (JSON). Unknown fields are ignored (v0.1 deployers pass
/// `max_stored_blocks`, which the time-guaranteed window replaces).
#[near(serializers = [json])]
pub struct InitArgs {
    pub head: LightClientBlockView,
    pub epoch_producers: Option<Vec<ValidatorStakeView>>,
    pub ring_size: Option<u32>,
    pub retention_hours: Option<u32>,
    pub checkpoint_interval_minutes: Option<u32>,
    pub admin: Option<AccountId>,
}

/// Parse JSON arguments, mapping any error to `ERR_INVALID_INPUT` with serde's explanation
/// (e.g. "ed25519 signature: expected 64 bytes, got 63") instead of near-sdk's generic one.
pub(crate) fn json_input<T: serde::de::DeserializeOwned>() -> T {
    let input = env::input().unwrap_or_default();
    serde_json::from_slice(&input).unwrap_or_else(|e| {
        env::panic_str(&format!("{}: {e}", ContractError::InvalidInput.as_str()))
    })
}

#[near]
impl LightClient {
    /// Initialise from a trusted block of the other chain and the ordered producers of its epoch
    /// (RPC `EXPERIMENTAL_validators_ordered` at that block). The head's own `next_bps`, when
    /// present, is checked against its `next_bp_hash` and becomes the next epoch's set.
    /// `admin` becomes super admin and `Dao` (default: the caller). The whole window is
    /// allocated here (see `window`): the contract account's balance must cover
    /// `config().storage_bound_bytes` plus the producer tables.
    /// JSON: [`InitArgs`].
    #[init]
    pub fn new() -> Self {
        Self::init(json_input())
    }
}

impl LightClient {
    /// [`LightClient::new`] with decoded arguments.
    pub fn init(args: InitArgs) -> Self {
        let defaults = WindowConfig::default();
        let config = WindowConfig {
            ring_size: args.ring_size.unwrap_or(defaults.ring_size),
            retention_hours: args.retention_hours.unwrap_or(defaults.retention_hours),
            checkpoint_interval_minutes: args
                .checkpoint_interval_minutes
                .unwrap_or(defaults.checkpoint_interval_minutes),
        };
        config.require_valid();
        let state = trusted_state(
            &HostCrypto,
            &LightClientBlockLiteView::from(&args.head),
            args.epoch_producers,
            args.head.next_bps.clone(),
        )
        .unwrap_or_else(|e| env::panic_str(&e.to_string()));
        let mut this = Self {
            head: state.head.clone(),
            head_accepted_at: 0,
            known_epochs: Default::default(),
            window: config,
            checkpoints: window::Checkpoints::default(),
            legacy: None,
        };
        this.allocate_window(config);
        let tables = Self::tables(&state);
        this.install(state.head, tables, true);
        let admin = args.admin.unwrap_or_else(env::predecessor_account_id);
        require!(
            this.acl_init_super_admin(admin.clone()),
            ContractError::AclInit.as_str()
        );
        // `acl_grant_role` checks that the *caller* is an admin; at initialisation the admin may
        // be another account (a DAO), so grant directly.
        this.acl_get_or_init()
            .grant_role_unchecked(Role::Dao, &admin);
        this
    }

    /// The producer tables of a trusted state, in stored form.
    fn tables(state: &TrustedState) -> Vec<(CryptoHash, Vec<u8>)> {
        state
            .epochs
            .iter()
            .map(|(epoch_id, producers)| {
                let table = xsc_core::producers::table_from_epoch(producers)
                    .unwrap_or_else(|e| env::panic_str(&e.to_string()));
                (*epoch_id, table)
            })
            .collect()
    }

    /// Install a trusted state (initialisation or an authorised reset): its producer tables
    /// and its head.
    fn install(&mut self, head: Head, tables: Vec<(CryptoHash, Vec<u8>)>, first: bool) {
        for (epoch_id, table) in tables {
            self.write_producers(epoch_id, &table);
        }
        self.record_head(head, first);
    }
}
