//! State migration from v0.1 (a FIFO window of `max_stored_blocks` blocks, full producer sets)
//! to v2 (the time-guaranteed window, compact producer tables).
//!
//! Run through near-plugins' `Upgradable`: `up_stage_code(code)` then
//! `up_deploy_code(hash, function_call_args = {function_name: "migrate", arguments, amount,
//! gas})`; the deployment and `migrate` are one receipt, so a failed migration leaves the old
//! code and state in place. `arguments` is JSON `{ring_size?, retention_hours?,
//! checkpoint_interval_minutes?}` (or empty for the defaults). The new window is allocated from
//! the account's balance (or the call's `amount`): about `config().storage_bound_bytes`.
//!
//! What moves: the head; the producer sets of the known epochs (rewritten as compact tables,
//! the old entries removed); the newest stored blocks, as many as the ring holds, into the
//! ring. The rest of the old window stays where it is and remains provable (lookups fall back
//! to it) until `prune_legacy` removes it, which anyone may call once `retention_hours` have
//! passed since the migration: every proof made against the old window keeps working for at
//! least the new retention.

use crate::events::LightClientEvent;
use crate::window::{Checkpoints, WindowConfig};
use crate::{keys, ContractError, LightClient, LightClientExt};
use near_sdk::{env, near};
use xsc_core::client::{Head, StoredBlock};
use xsc_core::CryptoHash;

/// The v0.1 contract state, exactly as v0.1 wrote it (borsh). Its three maps were
/// `near_sdk::store::LookupMap`s, whose borsh is their key prefix: entries are read with plain
/// storage reads at `prefix ‖ borsh(key)`.
#[near(serializers = [borsh])]
pub struct StateV1 {
    pub head: Head,
    pub max_stored_blocks: u32,
    /// `LookupMap<CryptoHash, EpochProducers>`.
    pub epochs_prefix: Vec<u8>,
    pub known_epochs: Vec<CryptoHash>,
    /// `LookupMap<u64, BlockRootsV1>`.
    pub blocks_prefix: Vec<u8>,
    /// `LookupMap<u64, u64>`.
    pub queue_prefix: Vec<u8>,
    pub queue_first: u64,
    pub queue_next: u64,
}

/// v0.1's per-block record (read as raw bytes by the migration; the type documents the layout
/// and writes it in tests).
#[near(serializers = [borsh])]
#[allow(dead_code)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRootsV1 {
    pub hash: CryptoHash,
    pub block_merkle_root: CryptoHash,
}

/// What is left of the v0.1 window after a migration: queue indices `first..next` (keys
/// `Queue`+index → height, `Blocks`+height → roots).
#[near(serializers = [borsh, json])]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LegacyWindow {
    pub first: u64,
    pub next: u64,
    /// This chain's time (ns) of the migration; pruning is allowed from
    /// `migrated_at + retention`.
    pub migrated_at: u64,
}

/// `migrate` arguments (JSON, all optional).
#[near(serializers = [json])]
#[derive(Default)]
pub struct MigrateArgs {
    pub ring_size: Option<u32>,
    pub retention_hours: Option<u32>,
    pub checkpoint_interval_minutes: Option<u32>,
}

fn key(prefix: &[u8], suffix: &[u8]) -> Vec<u8> {
    [prefix, suffix].concat()
}

fn read_u64(key: &[u8]) -> Option<u64> {
    let v = env::storage_read(key)?;
    Some(u64::from_le_bytes(v.as_slice().try_into().ok()?))
}

/// A v0.1 block record (`BlockRootsV1`: hash ‖ block_merkle_root).
fn read_roots_v1(blocks_prefix: &[u8], height: u64) -> Option<StoredBlock> {
    let v = env::storage_read(&key(blocks_prefix, &height.to_le_bytes()))?;
    if v.len() != 64 {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&v[..32]);
    let mut root = [0u8; 32];
    root.copy_from_slice(&v[32..]);
    Some(StoredBlock {
        height,
        hash: CryptoHash(hash),
        block_merkle_root: CryptoHash(root),
    })
}

/// The compact table of a v0.1 `EpochProducers` value: its first field is the producer list,
/// borsh `Vec<ValidatorStakeView>`, read in place (the stored total and order are recomputed).
fn table_from_v1(value: &[u8]) -> Option<Vec<u8>> {
    let mut r = xsc_core::wire::Reader::new(value);
    let bps = xsc_core::block_ref::read_bps(&mut r).ok()?;
    xsc_core::producers::table_from_bps(&bps).ok()
}

#[near]
impl LightClient {
    /// Migrate a v0.1 state (see the module documentation). Only the contract itself may call
    /// it (`Upgradable` calls it in the deployment's receipt); it refuses any other layout.
    #[init(ignore_state)]
    pub fn migrate() -> Self {
        // near-sdk ignores `#[private]` on `#[init]` methods (5.15: the attribute is accepted
        // and no check is generated), so the check is written out.
        if env::predecessor_account_id() != env::current_account_id() {
            env::panic_str(ContractError::Private.as_str());
        }
        let input = env::input().unwrap_or_default();
        let args: MigrateArgs = if input.iter().all(u8::is_ascii_whitespace) {
            MigrateArgs::default()
        } else {
            serde_json::from_slice(&input).unwrap_or_else(|e| {
                env::panic_str(&format!("{}: {e}", ContractError::InvalidInput.as_str()))
            })
        };
        let old: StateV1 = env::storage_read(b"STATE")
            .and_then(|bytes| borsh::from_slice(&bytes).ok())
            .unwrap_or_else(|| env::panic_str(ContractError::NotMigratable.as_str()));
        Self::from_v1(old, args)
    }
}

impl LightClient {
    pub(crate) fn from_v1(old: StateV1, args: MigrateArgs) -> Self {
        let defaults = WindowConfig::default();
        let config = WindowConfig {
            ring_size: args.ring_size.unwrap_or(defaults.ring_size),
            retention_hours: args.retention_hours.unwrap_or(defaults.retention_hours),
            checkpoint_interval_minutes: args
                .checkpoint_interval_minutes
                .unwrap_or(defaults.checkpoint_interval_minutes),
        };
        config.require_valid();
        let mut this = LightClient {
            head: old.head.clone(),
            head_accepted_at: 0,
            known_epochs: Default::default(),
            window: config,
            checkpoints: Checkpoints::default(),
            legacy: None,
        };
        // Producer sets: full v0.1 sets become compact tables; the old entries go.
        for epoch_id in &old.known_epochs {
            let k = key(&old.epochs_prefix, &epoch_id.0);
            let Some(value) = env::storage_read(&k) else {
                continue;
            };
            let table = table_from_v1(&value)
                .unwrap_or_else(|| env::panic_str(ContractError::NotMigratable.as_str()));
            env::storage_remove(&k);
            this.write_producers(*epoch_id, &table);
        }
        this.allocate_window(config);
        // The newest blocks of the old FIFO into the ring (newest first: it wins its slot).
        let mut filled = std::collections::BTreeSet::new();
        let mut index = old.queue_next;
        while index > old.queue_first && filled.len() < config.ring_size as usize {
            index -= 1;
            let Some(height) = read_u64(&key(&old.queue_prefix, &index.to_le_bytes())) else {
                continue;
            };
            if height == old.head.height {
                continue;
            }
            let slot = height % u64::from(config.ring_size);
            if filled.insert(slot) {
                if let Some(block) = read_roots_v1(&old.blocks_prefix, height) {
                    this.write_ring(&block);
                }
            }
        }
        this.record_head(old.head, true);
        // v0.1's prefixes are the `StorageKey` order (`Blocks`, `Queue`): the legacy window is
        // read at those fixed keys from now on.
        if old.blocks_prefix != [keys::BLOCKS_V1] || old.queue_prefix != [keys::QUEUE_V1] {
            env::panic_str(ContractError::NotMigratable.as_str());
        }
        if old.queue_next > old.queue_first {
            this.legacy = Some(LegacyWindow {
                first: old.queue_first,
                next: old.queue_next,
                migrated_at: env::block_timestamp(),
            });
        }
        this
    }

    /// A block of the v0.1 window (after a migration, until pruned).
    pub(crate) fn legacy_block(&self, height: u64) -> Option<StoredBlock> {
        self.legacy?;
        read_roots_v1(&[keys::BLOCKS_V1], height)
    }
}

#[near]
impl LightClient {
    /// Remove up to `limit` of the oldest blocks left from the v0.1 window. Anyone may call it
    /// once `retention_hours` have passed since the migration (`ERR_LEGACY_RETAINED` before);
    /// it only frees storage. Returns how many remain.
    pub fn prune_legacy(&mut self, limit: u32) -> u32 {
        let Some(mut legacy) = self.legacy else {
            return 0;
        };
        let retention = u64::from(self.window.retention_hours) * 3_600_000_000_000;
        if env::block_timestamp() < legacy.migrated_at.saturating_add(retention) {
            env::panic_str(ContractError::LegacyRetained.as_str());
        }
        let mut removed = 0u32;
        while legacy.first < legacy.next && removed < limit {
            if let Some(height) = read_u64(&keys::queue_v1(legacy.first)) {
                env::storage_remove(&keys::block_v1(height));
            }
            env::storage_remove(&keys::queue_v1(legacy.first));
            legacy.first += 1;
            removed += 1;
        }
        let left = (legacy.next - legacy.first) as u32;
        self.legacy = (left > 0).then_some(legacy);
        LightClientEvent::LegacyPruned { removed, left }.emit();
        left
    }
}
