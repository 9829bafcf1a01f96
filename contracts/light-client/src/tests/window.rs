//! The proof window: recent heads kept whatever relayers do, checkpoints guaranteed in time,
//! storage bounded and paid by whoever adds it.

use super::common::*;
use crate::{LightClient, Role, WindowConfig};
use near_plugins::AccessControllable;
use near_sdk::json_types::U64;
use near_sdk::mock::MockAction;
use near_sdk::test_utils::get_created_receipts;
use rand::{Rng, SeedableRng};
use xsc_core::client::Head;
use xsc_core::CryptoHash;

/// What the mocked context starts each call with (`VMContextBuilder`'s default).
const CTX_USAGE: u64 = 1024 * 300;

/// Storage the last call added (negative: freed).
fn last_call_growth() -> i64 {
    storage_usage() as i64 - CTX_USAGE as i64
}

fn synthetic_head(height: u64) -> Head {
    let mut h = [0u8; 32];
    h[..8].copy_from_slice(&height.to_le_bytes());
    Head {
        height,
        hash: CryptoHash(h),
        epoch_id: CryptoHash([1; 32]),
        next_epoch_id: CryptoHash([2; 32]),
        block_merkle_root: CryptoHash([h[0] ^ 0xaa; 32]),
        timestamp: height,
    }
}

fn client(config: WindowConfig) -> LightClient {
    init(&chain("testnet-105M"), Some(config))
}

/// Accept a synthetic head at the current time (the window's bookkeeping only; signatures
/// are the business of the other tests).
fn accept(lc: &mut LightClient, height: u64) {
    call_ctx("relayer.near", vec![], 0, 300);
    lc.record_head(synthetic_head(height), false);
}

fn stored(lc: &LightClient, height: u64) -> bool {
    set_caller("viewer.near");
    stored_now(lc, height)
}

/// [`stored`] within the current call context.
fn stored_now(lc: &LightClient, height: u64) -> bool {
    match lc.block(U64(height)) {
        Some(b) => {
            assert_eq!(b.height, height);
            // Synthetic heads come back exactly (the trusted head of `client` is a real one).
            if b.hash.0[8..] == [0; 24] {
                assert_eq!(b, xsc_core::StoredBlock::from(&synthetic_head(height)));
            }
            true
        }
        None => false,
    }
}

#[test]
fn a_head_stays_until_a_head_ring_size_heights_above_it_whoever_relays() {
    let mut lc = client(WindowConfig {
        ring_size: 8,
        retention_hours: 1,
        checkpoint_interval_minutes: 60,
    });
    // The relayer relays 1000 and proves against it; someone relays every block after it.
    accept(&mut lc, 1000);
    for h in 1001..1008 {
        accept(&mut lc, h);
        assert!(stored(&lc, 1000), "evicted by {h}");
    }
    accept(&mut lc, 1008);
    assert!(!stored(&lc, 1000), "1008 takes its slot");
    // Every head within 8 heights of the current one is there.
    for h in 1001..=1008 {
        assert!(stored(&lc, h));
    }
}

#[test]
fn relaying_changes_no_storage_once_initialised() {
    let mut lc = client(WindowConfig {
        ring_size: 16,
        retention_hours: 2,
        checkpoint_interval_minutes: 10,
    });
    let mut height = 5_000;
    for step in 0..400 {
        advance_minutes([0, 1, 7, 11, 30][step % 5]);
        height += 1 + (step as u64 % 40);
        accept(&mut lc, height);
        assert_eq!(last_call_growth(), 0, "step {step}");
    }
    assert_eq!(
        lc.window().checkpoints.len(),
        lc.config().checkpoint_capacity as usize
    );
}

/// The guarantee of the README, checked on random relaying schedules: for every block that was
/// the head within the last `retention`, either it is stored, or a block accepted less than
/// `checkpoint_interval` after it, and higher, is stored; and a checkpoint is only ever dropped
/// after it stopped being the head more than `retention` ago.
#[test]
fn the_window_guarantee_holds_on_random_relaying_schedules() {
    let config = WindowConfig {
        ring_size: 4,
        retention_hours: 3,
        checkpoint_interval_minutes: 30,
    };
    let retention = 3 * 60 * MINUTE;
    let interval = 30 * MINUTE;
    for seed in 0..6u64 {
        set_time(T0 + seed * 977 * MINUTE);
        let mut lc = client(config);
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        // (height, accepted_at, replaced_at)
        let init_head = chain("testnet-105M").head().inner_lite.height;
        let mut heads: Vec<(u64, u64, Option<u64>)> = vec![(init_head, now(), None)];
        let mut height = init_head;
        let mut seen_checkpoints: std::collections::BTreeSet<u64> = Default::default();
        for _ in 0..120 {
            // Bursts (every block relayed) and silences (hours).
            let gap = match rng.gen_range(0..10) {
                0..=5 => rng.gen_range(0..2 * 60_000_000_000),
                6..=8 => rng.gen_range(0..40 * MINUTE),
                _ => rng.gen_range(0..5 * 60 * MINUTE),
            };
            set_time(now() + gap);
            height += rng.gen_range(1..6);
            if let Some(last) = heads.last_mut() {
                last.2 = Some(now());
            }
            heads.push((height, now(), None));
            accept(&mut lc, height);
            set_caller("viewer.near");
            let window = lc.window();
            let stored_heights: Vec<u64> = window
                .recent
                .iter()
                .chain(&window.checkpoints)
                .map(|h| h.0)
                .collect();
            let accepted_at = |h: u64| heads.iter().find(|x| x.0 == h).map(|x| x.1);
            for &(b, at, replaced) in &heads {
                let relevant = replaced.is_none_or(|r| r + retention >= now());
                if !relevant {
                    continue;
                }
                let ok = stored_now(&lc, b)
                    || stored_heights
                        .iter()
                        .any(|&c| c > b && accepted_at(c).is_some_and(|cat| cat - at < interval));
                assert!(
                    ok,
                    "seed {seed}: block {b} (head until {replaced:?}) lost at {}",
                    now()
                );
            }
            // Checkpoints that disappeared stopped being the head more than `retention` ago.
            let now_cps: std::collections::BTreeSet<u64> =
                window.checkpoints.iter().map(|h| h.0).collect();
            for gone in seen_checkpoints.difference(&now_cps) {
                let (_, _, replaced) = heads.iter().find(|x| x.0 == *gone).unwrap();
                assert!(
                    replaced.unwrap() + retention < now(),
                    "seed {seed}: {gone} dropped early"
                );
            }
            seen_checkpoints = now_cps;
        }
    }
}

#[test]
fn the_last_head_of_each_interval_becomes_a_checkpoint() {
    let mut lc = client(WindowConfig {
        ring_size: 2,
        retention_hours: 1,
        checkpoint_interval_minutes: 20,
    });
    // T0 is not on a bucket boundary: go to the start of the next bucket.
    let bucket = 20 * MINUTE;
    set_time((now() / bucket + 1) * bucket);
    accept(&mut lc, 10);
    advance_minutes(5);
    accept(&mut lc, 20);
    advance_minutes(10);
    accept(&mut lc, 30); // still the first bucket
    advance_minutes(10);
    accept(&mut lc, 40); // second bucket: 30 was the last head of the first
                         // (The trusted head, accepted at initialisation in an earlier bucket, became one at 10.)
    let init_head = chain("testnet-105M").head().inner_lite.height;
    assert_eq!(lc.window().checkpoints, vec![U64(init_head), U64(30)]);
    advance_minutes(100);
    accept(&mut lc, 50); // 40 was the last head of its bucket
    set_caller("viewer.near");
    let cps: Vec<u64> = lc.window().checkpoints.iter().map(|h| h.0).collect();
    assert!(cps.ends_with(&[30, 40]), "{cps:?}");
    // 10 and 20 are gone (ring of 2, not last of their bucket); 30 stays provable.
    assert!(!stored(&lc, 10) && !stored(&lc, 20));
    assert!(stored(&lc, 30) && stored(&lc, 40) && stored(&lc, 50));
}

#[test]
fn the_window_configuration_is_validated() {
    let case = chain("testnet-105M");
    for bad in [
        WindowConfig {
            ring_size: 1,
            ..Default::default()
        },
        WindowConfig {
            ring_size: 513,
            ..Default::default()
        },
        WindowConfig {
            retention_hours: 0,
            ..Default::default()
        },
        WindowConfig {
            checkpoint_interval_minutes: 0,
            ..Default::default()
        },
        // 100 hours at 10 minutes: 601 checkpoints.
        WindowConfig {
            retention_hours: 100,
            checkpoint_interval_minutes: 10,
            ..Default::default()
        },
    ] {
        let err = try_run(|| init(&case, Some(bad))).map(|_| ()).unwrap_err();
        assert!(err.starts_with("ERR_INVALID_WINDOW"), "{bad:?}: {err}");
    }
}

#[test]
fn only_config_managers_change_the_window_and_growth_is_paid() {
    let case = chain("mainnet-91M");
    let mut lc = init(
        &case,
        Some(WindowConfig {
            ring_size: 4,
            ..Default::default()
        }),
    );
    for b in case.blocks().iter().take(6) {
        add(&mut lc, b).unwrap();
    }
    let heads: Vec<u64> = lc.window().recent.iter().map(|h| h.0).collect();
    call_ctx("mallory.near", vec![], 10u128.pow(24), 300);
    assert!(try_run(|| lc.set_ring_size(64)).is_err());

    set_caller("admin.near");
    lc.acl_grant_role(Role::ConfigManager.into(), account("ops.near"));
    // Growing the ring adds 60 records: without a deposit, refused and nothing changes.
    call_ctx("ops.near", vec![], 0, 300);
    let err = try_run(|| lc.set_ring_size(64)).unwrap_err();
    assert!(err.starts_with("ERR_STORAGE_DEPOSIT"), "{err}");
    assert_eq!(lc.config().ring_size, 4);
    // With a deposit: the exact cost is kept, the surplus comes back.
    let record = (crate::keys::RING_KEY_LEN + crate::window::RECORD + 40) as u128;
    let cost = 60 * record * 10u128.pow(19);
    call_ctx("ops.near", vec![], cost + 5, 300);
    lc.set_ring_size(64);
    assert_eq!(last_call_growth(), 60 * record as i64);
    assert_eq!(refunds(), vec![("ops.near".to_string(), 5)]);
    assert_eq!(lc.config().ring_size, 64);
    // The blocks moved to their new slots: still provable.
    set_caller("viewer.near");
    for h in &heads {
        assert!(lc.block(U64(*h)).is_some(), "{h}");
    }
    // Shrinking frees storage and needs nothing.
    call_ctx("ops.near", vec![], 0, 300);
    lc.set_ring_size(2);
    assert!(last_call_growth() < 0);
    set_caller("viewer.near");
    assert!(lc.block(U64(lc.head().height)).is_some());
    // Retention: 6 hours at 30 minutes = 13 checkpoints instead of 73: shrinks, free.
    call_ctx("ops.near", vec![], 0, 300);
    lc.set_retention(6, 30);
    assert_eq!(lc.config().checkpoint_capacity, 13);
    assert!(last_call_growth() < 0);
    // Back to 72 hours: grows, paid.
    call_ctx("ops.near", vec![], 0, 300);
    assert!(try_run(|| lc.set_retention(72, 30))
        .unwrap_err()
        .starts_with("ERR_STORAGE_DEPOSIT"));
    call_ctx("ops.near", vec![], 10u128.pow(24), 300);
    lc.set_retention(72, 30);
    assert_eq!(lc.config().checkpoint_capacity, 145);
    assert!(near_sdk::test_utils::get_logs()
        .iter()
        .any(|l| l.contains("window_changed")));
}

/// Transfers the last call created: (receiver, yoctoNEAR).
pub fn refunds() -> Vec<(String, u128)> {
    get_created_receipts()
        .into_iter()
        .flat_map(|r| {
            let to = r.receiver_id.to_string();
            r.actions.into_iter().filter_map(move |a| match a {
                MockAction::Transfer { deposit, .. } => Some((to.clone(), deposit.as_yoctonear())),
                _ => None,
            })
        })
        .collect()
}

/// testnet-105M changes epoch on every block and its producer sets vary in size (39 to 55):
/// a block whose new table is larger than the one it retires must pay exactly the difference.
#[test]
fn a_block_that_grows_storage_must_attach_exactly_its_cost_and_gets_the_surplus_back() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let (mut grew, mut shrank) = (0, 0);
    for block in case.blocks() {
        let deposit = deposit_for(&lc, &block);
        let head = lc.head();
        if deposit > 0 {
            // Without the deposit, or one yocto short: refused, nothing changes.
            for short in [0, deposit - 1] {
                let err = add_with(
                    &mut lc,
                    "relayer.near",
                    borsh::to_vec(&block).unwrap(),
                    short,
                )
                .unwrap_err();
                assert!(err.starts_with("ERR_STORAGE_DEPOSIT"), "{err}");
                assert_eq!(lc.head(), head);
            }
            // Exactly the deposit: accepted, the bytes added are exactly what was paid for,
            // nothing is refunded.
            add_with(
                &mut lc,
                "relayer.near",
                borsh::to_vec(&block).unwrap(),
                deposit,
            )
            .unwrap();
            assert_eq!(last_call_growth() as u128 * 10u128.pow(19), deposit);
            assert!(refunds().is_empty());
            grew += 1;
        } else {
            // No growth: any deposit comes back in full.
            add_with(&mut lc, "relayer.near", borsh::to_vec(&block).unwrap(), 777).unwrap();
            assert!(last_call_growth() <= 0);
            assert_eq!(refunds(), vec![("relayer.near".to_string(), 777)]);
            shrank += 1;
        }
    }
    assert!(grew >= 3 && shrank >= 3, "grew {grew}, shrank {shrank}");
}

#[test]
fn a_surplus_on_a_growing_block_is_refunded() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    for block in case.blocks() {
        let deposit = deposit_for(&lc, &block);
        if deposit > 0 {
            add_with(
                &mut lc,
                "relayer.near",
                borsh::to_vec(&block).unwrap(),
                deposit + 42,
            )
            .unwrap();
            assert_eq!(refunds(), vec![("relayer.near".to_string(), 42)]);
            return;
        }
        add(&mut lc, &block).unwrap();
    }
    panic!("no growing block");
}

#[test]
fn mainnet_blocks_inside_and_across_epochs_need_no_deposit() {
    // 100 producers every epoch: once both tables are stored, a new epoch's table replaces one
    // of equal size and nothing grows. (The first block adds the second table: initialised
    // from a head whose next_bps gave only one.)
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    let first = deposit_for(&lc, &blocks[0]);
    assert_eq!(
        first,
        crate::store::table_record_bytes(100) as u128 * 10u128.pow(19)
    );
    add(&mut lc, &blocks[0]).unwrap();
    for block in &blocks[1..] {
        assert_eq!(deposit_for(&lc, block), 0);
        add_with(&mut lc, "relayer.near", borsh::to_vec(block).unwrap(), 0).unwrap();
        assert!(
            refunds().is_empty(),
            "no receipt for a block that pays nothing"
        );
    }
}

#[test]
fn a_chains_first_epoch_whose_id_is_all_zeros_is_a_known_epoch() {
    // nearcore's first epoch id is the zero hash: it must not read as a free slot.
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("relayer.near");
    let bps = case.head().next_bps.unwrap();
    let table = xsc_core::producers::table_from_epoch(&xsc_core::EpochProducers::new(bps).unwrap())
        .unwrap();
    lc.write_producers(CryptoHash::zero(), &table);
    assert!(lc.knows_epoch(&CryptoHash::zero()));
    assert!(lc.epoch_producers(CryptoHash::zero()).is_some());
    lc.forget_producers(&CryptoHash::zero());
    assert!(!lc.knows_epoch(&CryptoHash::zero()));
}
