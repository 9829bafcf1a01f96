//! Migration from the v0.1 layout, written here exactly as v0.1 wrote it.

use super::common::*;
use crate::migrate::{BlockRootsV1, StateV1};
use crate::{LightClient, StorageKey};
use near_sdk::json_types::U64;
use near_sdk::near;
use near_sdk::store::LookupMap;
use xsc_core::client::Head;
use xsc_core::EpochProducers;

/// v0.1's state struct with its real field types (what v0.1's code wrote).
#[near(serializers = [borsh])]
struct V1Contract {
    head: Head,
    max_stored_blocks: u32,
    epochs: LookupMap<CryptoHash, EpochProducers>,
    known_epochs: Vec<CryptoHash>,
    blocks: LookupMap<u64, BlockRootsV1>,
    queue: LookupMap<u64, u64>,
    queue_first: u64,
    queue_next: u64,
}
use xsc_core::client::StoredBlock;
use xsc_core::{CryptoHash, LightClientStore, NativeCrypto};
use xsc_vectors::ChainCase;

/// A v0.1 contract that relayed every block of `case` with a FIFO window of `window` blocks:
/// its state is written to storage; returns the blocks it still stores, oldest first.
fn write_v1(case: &ChainCase, window: u64) -> (xsc_core::LightClient, Vec<StoredBlock>) {
    fresh_storage();
    set_caller(CONTRACT);
    let mut native = case.start();
    let mut stored = vec![StoredBlock::from(native.head_view())];
    for b in case.blocks() {
        native.apply(&NativeCrypto, &b).unwrap();
        stored.push(StoredBlock::from(native.head_view()));
    }
    let mut epochs = LookupMap::new(StorageKey::Epochs);
    let known: Vec<CryptoHash> = native.epochs().copied().collect();
    for e in &known {
        epochs.insert(*e, native.epoch_producers(e).unwrap());
    }
    let mut blocks = LookupMap::new(StorageKey::Blocks);
    let mut queue = LookupMap::new(StorageKey::Queue);
    let first = (stored.len() as u64).saturating_sub(window);
    for (i, b) in stored.iter().enumerate().skip(first as usize) {
        blocks.insert(
            b.height,
            BlockRootsV1 {
                hash: b.hash,
                block_merkle_root: b.block_merkle_root,
            },
        );
        queue.insert(i as u64, b.height);
    }
    epochs.flush();
    blocks.flush();
    queue.flush();
    let state = V1Contract {
        head: native.head(),
        max_stored_blocks: window as u32,
        epochs,
        known_epochs: known,
        blocks,
        queue,
        queue_first: first,
        queue_next: stored.len() as u64,
    };
    near_sdk::env::state_write(&state);
    // The migration's view of the same bytes: prefixes where the maps were.
    let bytes = near_sdk::env::storage_read(b"STATE").unwrap();
    let read: StateV1 = borsh::from_slice(&bytes).unwrap();
    assert_eq!(read.epochs_prefix, vec![crate::keys::EPOCHS_V1]);
    assert_eq!(read.queue_next, stored.len() as u64);
    (native, stored[first as usize..].to_vec())
}

fn migrate(args: &str) -> Result<LightClient, String> {
    call_ctx(CONTRACT, args.as_bytes().to_vec(), 0, 300);
    try_run(LightClient::migrate)
}

#[test]
fn a_v1_state_migrates_keeps_every_stored_block_provable_and_relays_on() {
    let case = chain("mainnet-91M");
    let (native, old_blocks) = write_v1(&case, 10);
    let mut lc = migrate("{\"ring_size\": 4}").unwrap();
    assert_eq!(lc.head(), native.head());
    assert_eq!(lc.config().ring_size, 4);
    // Every block of the old window is still there (ring or legacy).
    set_caller("viewer.near");
    for b in &old_blocks {
        assert_eq!(lc.block(U64(b.height)), Some(*b), "{}", b.height);
    }
    // Producer sets: compact now, the same keys and stakes; the v0.1 entries are gone.
    for e in native.epochs() {
        let set = native.epoch_producers(e).unwrap();
        let view = lc.epoch_producers(*e).unwrap();
        assert_eq!(view.producers.len(), set.producers.len());
        assert_eq!(view.total_stake.0, set.total_stake);
        assert!(near_sdk::env::storage_read(&crate::keys::epoch_v1(e)).is_none());
    }
    assert!(lc.has_epoch_producers(&native.head().next_epoch_id));
    let legacy = lc.window().legacy.expect("legacy window");
    assert_eq!(legacy.next - legacy.first, old_blocks.len() as u64);

    // Pruning the legacy window waits for the retention.
    call_ctx("anyone.near", vec![], 0, 300);
    let e = try_run(|| lc.prune_legacy(100)).unwrap_err();
    assert!(e.starts_with("ERR_LEGACY_RETAINED"), "{e}");
    advance_minutes(72 * 60 + 1);
    call_ctx("anyone.near", vec![], 0, 300);
    assert_eq!(lc.prune_legacy(3), old_blocks.len() as u32 - 3);
    call_ctx("anyone.near", vec![], 0, 300);
    assert_eq!(lc.prune_legacy(100), 0);
    assert!(lc.window().legacy.is_none());
    for b in &old_blocks {
        assert!(near_sdk::env::storage_read(&crate::keys::block_v1(b.height)).is_none());
    }
    // What the ring took over is still provable; the head certainly.
    set_caller("viewer.near");
    let recent: Vec<u64> = lc.window().recent.iter().map(|h| h.0).collect();
    assert!(recent.contains(&lc.head().height));
    for h in &recent {
        assert!(lc.block(U64(*h)).is_some());
    }
}

#[test]
fn a_migrated_light_client_accepts_the_next_blocks() {
    // Migrate half-way through testnet-105M, then relay the rest.
    let case = chain("testnet-105M");
    let blocks = case.blocks();
    let mut partial = case.clone();
    partial.steps.truncate(7);
    let (native, _) = write_v1(&partial, 1024);
    let mut lc = migrate("").unwrap();
    assert_eq!(lc.head(), native.head());
    for (i, b) in blocks.iter().enumerate().skip(7) {
        add(&mut lc, b).unwrap_or_else(|e| panic!("block {i}: {e}"));
        assert_eq!(lc.head().hash, case.steps[i].block_hash);
    }
}

#[test]
fn migrate_refuses_other_callers_other_layouts_and_bad_arguments() {
    let case = chain("mainnet-91M");
    write_v1(&case, 5);
    // Only the contract itself (near-sdk does not enforce `#[private]` on init methods).
    call_ctx("mallory.near", b"{}".to_vec(), 0, 300);
    let e = try_run(LightClient::migrate).map(|_| ()).unwrap_err();
    assert!(e.starts_with("ERR_PRIVATE"), "{e}");
    let e = migrate("{\"ring_size\": 1}").map(|_| ()).unwrap_err();
    assert!(e.starts_with("ERR_INVALID_WINDOW"), "{e}");
    let e = migrate("{\"ring_size\": \"x\"}").map(|_| ()).unwrap_err();
    assert!(e.starts_with("ERR_INVALID_INPUT"), "{e}");
    // A v2 state is not migrated again.
    let lc = migrate("{}").unwrap();
    near_sdk::env::state_write(&lc);
    let e = migrate("{}").map(|_| ()).unwrap_err();
    assert!(e.starts_with("ERR_NOT_MIGRATABLE"), "{e}");
}
