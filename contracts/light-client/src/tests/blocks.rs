//! Accepting blocks: every manifest chain, events, encodings, pause, roles, recovery.

use super::common::*;
use crate::{LightClient, Role, StorageKey};
use near_plugins::{AccessControllable, Pausable};
use near_sdk::json_types::U64;
use near_sdk::test_utils::get_logs;
use xsc_core::{PublicKey, Signature};
use xsc_vectors::{manifest, Verdict};

#[test]
fn storage_key_prefixes_are_the_borsh_of_the_append_only_enum() {
    use crate::keys::*;
    for (k, b) in [
        (StorageKey::Epochs, EPOCHS_V1),
        (StorageKey::Blocks, BLOCKS_V1),
        (StorageKey::Queue, QUEUE_V1),
        (StorageKey::Ring, RING),
        (StorageKey::Checkpoints, CHECKPOINTS),
        (StorageKey::ProducerTables, PRODUCER_TABLES),
    ] {
        assert_eq!(borsh::to_vec(&k).unwrap(), vec![b]);
    }
}

#[test]
fn every_manifest_chain_gives_the_expected_verdicts_through_the_contract() {
    for case in manifest().light_client_chains {
        let mut lc = init(&case, None);
        for step in &case.steps {
            let block = xsc_vectors::block(&step.block);
            let before = lc.head();
            let usage = storage_usage();
            let result = add(&mut lc, &block);
            match step.expect {
                Verdict::Accept => {
                    result.unwrap_or_else(|e| panic!("{} {}: {e}", case.name, step.height));
                    assert_eq!(
                        lc.head().hash,
                        step.block_hash,
                        "{} {}",
                        case.name,
                        step.height
                    );
                    assert_eq!(
                        lc.block(U64(step.height)).map(|b| b.hash),
                        Some(step.block_hash)
                    );
                }
                Verdict::Reject => {
                    let err = result.expect_err("must be rejected");
                    assert!(err.starts_with("ERR_"), "{err}");
                    assert_eq!(lc.head(), before, "a rejected block changes nothing");
                    let _ = usage;
                }
                v => panic!("{v:?}"),
            }
        }
    }
}

#[test]
fn accepted_block_emits_a_nep297_event() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    add(&mut lc, &case.blocks()[0]).unwrap();
    let logs = get_logs();
    let log = logs
        .iter()
        .find(|l| l.starts_with("EVENT_JSON:"))
        .expect("event");
    let json: serde_json::Value = serde_json::from_str(&log["EVENT_JSON:".len()..]).unwrap();
    assert_eq!(json["standard"], "xsc_light_client");
    assert_eq!(json["version"], "1.0.0");
    assert_eq!(json["event"], "block_accepted");
    let data = &json["data"];
    assert_eq!(data["height"], "105233559", "{log}");
    assert_eq!(data["hash"], "2GHoV4zcLfHbsEshMVDLp9Nt3qh5c9mAjPEHry7PjkbQ");
    assert_eq!(data["new_epoch"], true);
}

#[test]
fn json_views_write_heights_and_timestamps_as_strings() {
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    add(&mut lc, &case.blocks()[0]).unwrap();
    let head = serde_json::to_value(lc.head()).unwrap();
    assert!(head["height"].is_string(), "{head}");
    assert!(head["timestamp"].is_string(), "{head}");
    // The service reads them back as numbers too (older contracts) and as strings.
    let back: xsc_core::client::Head = serde_json::from_value(head.clone()).unwrap();
    assert_eq!(back, lc.head());
    let block = serde_json::to_value(lc.block(U64(lc.head().height))).unwrap();
    assert!(block["height"].is_string(), "{block}");
    for v in [
        serde_json::to_value(lc.stored_range()).unwrap(),
        serde_json::to_value(lc.window()).unwrap(),
        serde_json::to_value(lc.config()).unwrap(),
        serde_json::to_value(lc.epoch_producers(lc.head().epoch_id)).unwrap(),
    ] {
        assert_no_large_numbers(&v);
    }
}

fn assert_no_large_numbers(v: &serde_json::Value) {
    match v {
        serde_json::Value::Number(n) => {
            assert!(
                n.as_u64().is_some_and(|n| n < 1 << 53),
                "number {n} in a view"
            )
        }
        serde_json::Value::Array(a) => a.iter().for_each(assert_no_large_numbers),
        serde_json::Value::Object(o) => o.values().for_each(assert_no_large_numbers),
        _ => {}
    }
}

#[test]
fn replayed_and_older_blocks_are_rejected() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    add(&mut lc, &blocks[0]).unwrap();
    let err = add(&mut lc, &blocks[0]).unwrap_err();
    assert!(err.starts_with("ERR_BLOCK_NOT_NEWER"), "{err}");
    add(&mut lc, &blocks[1]).unwrap();
    let err = add(&mut lc, &blocks[0]).unwrap_err();
    assert!(err.starts_with("ERR_BLOCK_NOT_NEWER"), "{err}");
}

#[test]
fn only_two_epochs_of_producers_are_kept() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    for block in case.blocks() {
        add(&mut lc, &block).unwrap();
        let head = lc.head();
        assert!(lc.epoch_producers(head.epoch_id).is_some());
        assert!(lc.epoch_producers(head.next_epoch_id).is_some());
    }
    // The epoch of the trusted head is long gone, and so is its table.
    let old = case.head().inner_lite.epoch_id;
    assert!(lc.epoch_producers(old).is_none());
    assert!(near_sdk::env::storage_read(&crate::keys::producers(&old)).is_none());
}

#[test]
fn the_stored_producers_are_the_blocks_next_bps_in_order() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let block = &case.blocks()[0];
    add(&mut lc, block).unwrap();
    let stored = lc.epoch_producers(block.inner_lite.next_epoch_id).unwrap();
    let bps = block.next_bps.as_ref().unwrap();
    assert_eq!(stored.producers.len(), bps.len());
    for (s, v) in stored.producers.iter().zip(bps) {
        assert_eq!(
            s.public_key.as_deref(),
            Some(v.public_key().to_string().as_str())
        );
        assert_eq!(s.stake.0, v.stake());
    }
    assert_eq!(
        stored.total_stake.0,
        bps.iter().map(|v| v.stake()).sum::<u128>()
    );
}

#[test]
fn secp256k1_approval_is_a_clear_rejection_not_an_abort() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let mut block = case.blocks()[0].clone();
    let slot = block
        .approvals_after_next
        .iter()
        .position(|a| a.is_some())
        .unwrap();
    block.approvals_after_next[slot] = Some(Signature::Secp256k1([1; 65]));
    let err = add(&mut lc, &block).unwrap_err();
    assert!(err.starts_with("ERR_UNSUPPORTED_SIGNATURE"), "{err}");
}

#[test]
fn a_63_byte_signature_or_31_byte_key_in_a_borsh_block_is_err_invalid_input() {
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    let block = case.blocks()[0].clone();
    let head = lc.head();
    let bytes = borsh::to_vec(&block).unwrap();
    // The last approval is a present ed25519 signature: drop its last byte (a 63-byte one).
    let mut b = block.clone();
    while matches!(b.approvals_after_next.last(), Some(None)) {
        b.approvals_after_next.pop();
    }
    let mut short_sig = borsh::to_vec(&b).unwrap();
    short_sig.pop();
    // A producer key of 31 bytes in next_bps: remove one byte inside the first key.
    let key_at = 304 + 1 + 4 + 1 + 4 + block.next_bps.as_ref().unwrap()[0].account_id().len() + 1;
    let mut short_key = bytes.clone();
    short_key.remove(key_at + 5);
    for (what, input) in [("63-byte signature", short_sig), ("31-byte key", short_key)] {
        let err = add_with(&mut lc, "relayer.near", input, 0).unwrap_err();
        assert!(
            err.starts_with("ERR_INVALID_INPUT: borsh does not decode"),
            "{what}: {err}"
        );
        assert_eq!(lc.head(), head, "{what}");
    }
    // A 63-byte signature in the JSON of `new`: a clear error too.
    let mut json = serde_json::to_value(crate::tests::common::init_args(case.head())).unwrap();
    json["head"]["approvals_after_next"][0] =
        format!("ed25519:{}", bs58::encode([7u8; 63]).into_string()).into();
    fresh_storage();
    call_ctx("admin.near", serde_json::to_vec(&json).unwrap(), 0, 300);
    let err = try_run(LightClient::new).map(|_| ()).unwrap_err();
    assert!(err.starts_with("ERR_INVALID_INPUT"), "{err}");
    assert!(err.contains("expected 64 bytes, got 63"), "{err}");
}

#[test]
fn tampered_next_bps_is_rejected() {
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    let mut block = case.blocks()[0].clone();
    if let Some(bps) = block.next_bps.as_mut() {
        bps.swap(0, 1);
    }
    let err = add(&mut lc, &block).unwrap_err();
    assert!(err.starts_with("ERR_NEXT_BPS_HASH_MISMATCH"), "{err}");
}

#[test]
fn next_bps_may_be_omitted_inside_an_epoch() {
    // The relayer's lean mode: the next epoch's producers are already stored.
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    for (i, step) in case.steps.iter().enumerate() {
        let mut block = blocks[i].clone();
        if block.inner_lite.epoch_id == lc.head().epoch_id {
            block.next_bps = None;
        }
        add(&mut lc, &block).unwrap();
        assert_eq!(lc.head().hash, step.block_hash);
    }
}

#[test]
fn paused_contract_refuses_blocks_until_unpaused() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("admin.near");
    assert!(lc.pa_pause_feature("add_light_client_block".into()));
    let block = case.blocks()[0].clone();
    let err = add(&mut lc, &block).unwrap_err();
    assert!(err.contains("Pausable: Method is paused"), "{err}");
    set_caller("admin.near");
    assert!(lc.pa_unpause_feature("add_light_client_block".into()));
    add(&mut lc, &block).unwrap();
}

#[test]
fn only_authorised_roles_pause() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("mallory.near");
    assert!(try_run(|| lc.pa_pause_feature("add_light_client_block".into())).is_err());
    assert!(!lc.pa_is_paused("add_light_client_block".into()));
}

fn reset_input(
    head: &xsc_core::LightClientBlockView,
    producers: &[xsc_core::ValidatorStakeView],
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "head": head, "epoch_producers": producers, "reason": "relayer down two epochs"
    }))
    .unwrap()
}

/// Relaying stopped for two epochs: the next block can't be accepted (an epoch can't be
/// skipped), and recovery needs an authorised reset whose block is still signature-checked.
#[test]
fn falling_two_epochs_behind_needs_an_authorised_verified_reset() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    add(&mut lc, &blocks[0]).unwrap();
    let err = add(&mut lc, &blocks[2]).unwrap_err();
    assert!(err.starts_with("ERR_EPOCH_SKIPPED"), "{err}");

    // blocks[2] is in the epoch whose producers blocks[1].next_bps lists.
    let producers = blocks[1].next_bps.clone().unwrap();
    call_ctx("mallory.near", reset_input(&blocks[2], &producers), 0, 300);
    assert!(try_run(|| lc.reset_head()).is_err());

    // Wrong producers: the approvals do not verify, nothing changes.
    let wrong = blocks[0].next_bps.clone().unwrap();
    let before = lc.head();
    call_ctx("admin.near", reset_input(&blocks[2], &wrong), 0, 300);
    assert!(try_run(|| lc.reset_head()).is_err());
    assert_eq!(lc.head(), before);

    set_caller("admin.near");
    lc.acl_grant_role(Role::RecoveryManager.into(), account("ops.near"));
    // The reset replaces two producer tables: attach enough for any growth.
    call_ctx(
        "ops.near",
        reset_input(&blocks[2], &producers),
        10u128.pow(24),
        300,
    );
    try_run(|| lc.reset_head()).unwrap();
    assert_eq!(lc.head().hash, case.steps[2].block_hash);
    let logs = get_logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("\"event\":\"head_reset\"") && l.contains("ops.near")),
        "{logs:?}"
    );
    // Relaying continues normally from the new head.
    add(&mut lc, &blocks[3]).unwrap();
    assert_eq!(lc.head().hash, case.steps[3].block_hash);
}

#[test]
fn reset_cannot_move_the_head_backwards() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    add(&mut lc, &blocks[0]).unwrap();
    add(&mut lc, &blocks[1]).unwrap();
    let producers = case.head().next_bps.unwrap();
    call_ctx("admin.near", reset_input(&blocks[0], &producers), 0, 300);
    let err = try_run(|| lc.reset_head()).unwrap_err();
    assert!(err.starts_with("ERR_RESET_NOT_NEWER"), "{err}");
}

#[test]
fn init_rejects_a_head_whose_next_bps_does_not_match() {
    let case = chain("testnet-105M");
    let mut head = case.head();
    head.next_bps.as_mut().unwrap().pop();
    fresh_storage();
    set_caller("admin.near");
    let err = try_run(|| LightClient::init(init_args(head)))
        .map(|_| ())
        .unwrap_err();
    assert!(err.starts_with("ERR_NEXT_BPS_HASH_MISMATCH"), "{err}");
}

#[test]
fn non_ed25519_producer_key_is_a_clear_rejection() {
    let case = chain("testnet-93M-shared-keys");
    let mut bps = case.bps().unwrap();
    // Give the highest-stake producer a secp256k1 key: it is checked first.
    let top = (0..bps.len()).max_by_key(|&i| bps[i].stake()).unwrap();
    let xsc_core::ValidatorStakeView::V1(v) = &mut bps[top];
    v.public_key = PublicKey::Secp256k1([3; 64]);
    fresh_storage();
    set_caller("admin.near");
    let mut args = init_args(case.head());
    args.epoch_producers = Some(bps);
    let mut lc = LightClient::init(args);
    let err = add(&mut lc, &case.blocks()[0]).unwrap_err();
    assert!(err.starts_with("ERR_UNSUPPORTED_KEY"), "{err}");
    // The view shows that producer without an ed25519 key.
    let view = lc.epoch_producers(case.head().inner_lite.epoch_id).unwrap();
    assert_eq!(view.producers[top].public_key, None);
}

#[test]
fn an_explicit_admin_other_than_the_deployer_gets_super_admin_and_dao() {
    let case = chain("testnet-105M");
    fresh_storage();
    set_caller("deployer.near");
    let mut args = init_args(case.head());
    args.admin = Some(account("dao.near"));
    let lc = LightClient::init(args);
    assert!(lc.acl_is_super_admin(account("dao.near")));
    assert!(lc.acl_has_role(Role::Dao.into(), account("dao.near")));
    assert!(!lc.acl_is_super_admin(account("deployer.near")));
    assert!(!lc.acl_has_role(Role::Dao.into(), account("deployer.near")));
}
