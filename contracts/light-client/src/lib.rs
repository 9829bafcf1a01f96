//! # xsc light client
//!
//! Tracks another NEAR-protocol chain: accepts its `LightClientBlockView`s (each proves itself
//! with the ed25519 approvals of more than 2/3 of its epoch's stake), keeps the producer sets of
//! the current and next epoch and a bounded window of trusted blocks, and verifies execution
//! outcome proofs against them for other contracts (one cross-contract hop) and for off-chain
//! callers (a view).
//!
//! Verification rules live in `xsc-core`; this crate only binds them to storage and host
//! functions. See `shared/notes/light-client.md` for the rules.

use near_plugins::{access_control, AccessControlRole, AccessControllable, Pausable, Upgradable};
use near_sdk::borsh::BorshDeserialize;
use near_sdk::store::LookupMap;
use near_sdk::{env, near, require, AccountId, BorshStorageKey, PanicOnDefault};
use xsc_core::block::EpochProducers;
use xsc_core::client::{apply_block, trusted_state, Head, StoredBlock, TrustedState};
use xsc_core::{CryptoHash, LightClientBlockLiteView, LightClientBlockView, ValidatorStakeView};

mod admin;
mod crypto;
mod error;
mod events;
mod ingest;
mod store;
mod views;

#[cfg(test)]
mod tests;

pub use crate::crypto::HostCrypto;
pub use crate::error::ContractError;
pub use crate::events::LightClientEvent;
pub use crate::ingest::GAS_FORWARD_MIN;
pub use crate::views::{Config, StoredRange};

/// Default number of trusted blocks kept. The relayer submits a block when messages are pending
/// and at least once per epoch, so 1024 blocks cover days of traffic: proofs can be submitted
/// hours later, not only seconds.
pub const DEFAULT_MAX_STORED_BLOCKS: u32 = 1024;
/// Upper bound for the window (bounds the storage the contract must hold).
pub const MAX_STORED_BLOCKS_LIMIT: u32 = 100_000;

#[derive(AccessControlRole, Clone, Copy)]
#[near(serializers = [json])]
pub enum Role {
    /// Full administration.
    Dao,
    PauseManager,
    UnpauseManager,
    UpgradableCodeStager,
    UpgradableCodeDeployer,
    /// May change the configuration (window size).
    ConfigManager,
    /// May reset the head when relaying fell behind beyond what the chain can replay.
    RecoveryManager,
}

/// Storage keys. Append only: reordering breaks existing state.
#[derive(BorshStorageKey)]
#[near]
enum StorageKey {
    Epochs,
    Blocks,
    Queue,
}

/// Versioned so that later versions can migrate state (see `admin::migrate`).
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
    /// Number of trusted blocks kept.
    max_stored_blocks: u32,
    /// Producers of the head's epoch and of the next one (at most two entries).
    epochs: LookupMap<CryptoHash, EpochProducers>,
    /// Keys of `epochs`, kept in the state so that "is this set known?" costs no storage read.
    known_epochs: Vec<CryptoHash>,
    /// Trusted blocks by height: hash and block_merkle_root.
    blocks: LookupMap<u64, BlockRoots>,
    /// FIFO of stored heights: queue[first..next].
    queue: LookupMap<u64, u64>,
    queue_first: u64,
    queue_next: u64,
}

/// What is kept per trusted block.
#[near(serializers = [borsh])]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRoots {
    pub hash: CryptoHash,
    pub block_merkle_root: CryptoHash,
}

#[near]
impl LightClient {
    /// Initialise from a trusted block of the other chain and the ordered producers of its epoch
    /// (RPC `EXPERIMENTAL_validators_ordered` at that block). The head's own `next_bps`, when
    /// present, is checked against its `next_bp_hash` and becomes the next epoch's set.
    /// `admin` becomes super admin and `Dao` (default: the caller).
    #[init]
    pub fn new(
        head: LightClientBlockView,
        epoch_producers: Option<Vec<ValidatorStakeView>>,
        max_stored_blocks: Option<u32>,
        admin: Option<AccountId>,
    ) -> Self {
        let max_stored_blocks = max_stored_blocks.unwrap_or(DEFAULT_MAX_STORED_BLOCKS);
        views::require_valid_window(max_stored_blocks);
        let state = trusted_state(
            &HostCrypto,
            &LightClientBlockLiteView::from(&head),
            epoch_producers,
            head.next_bps.clone(),
        )
        .unwrap_or_else(|e| env::panic_str(&e.to_string()));
        let mut this = Self {
            head: state.head.clone(),
            max_stored_blocks,
            epochs: LookupMap::new(StorageKey::Epochs),
            known_epochs: Vec::new(),
            blocks: LookupMap::new(StorageKey::Blocks),
            queue: LookupMap::new(StorageKey::Queue),
            queue_first: 0,
            queue_next: 0,
        };
        this.install(state);
        let admin = admin.unwrap_or_else(env::predecessor_account_id);
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
}

impl LightClient {
    /// Install a trusted state (initialisation or an authorised reset).
    fn install(&mut self, state: TrustedState) {
        for (epoch_id, producers) in state.epochs {
            xsc_core::client::LightClientStore::insert_epoch_producers(self, epoch_id, producers);
        }
        self.push_block(StoredBlock::from(&state.head));
        self.head = state.head;
    }

    /// Apply a block through the shared state machine (`xsc_core::client::apply_block`).
    fn apply(
        &mut self,
        block: &LightClientBlockView,
    ) -> Result<xsc_core::ValidatedBlock, xsc_core::Error> {
        apply_block(self, &HostCrypto, block)
    }
}
