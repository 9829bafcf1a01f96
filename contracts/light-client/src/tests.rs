//! Unit tests with near-sdk's mocked blockchain: every manifest case through the contract, plus
//! the contract's own behaviour (events, pause, roles, window, recovery, proofs).

use crate::{LightClient, Role};
use near_plugins::{AccessControllable, Pausable};
use near_sdk::json_types::U64;
use near_sdk::test_utils::{get_logs, VMContextBuilder};
use near_sdk::{testing_env, AccountId};
use std::panic::{catch_unwind, AssertUnwindSafe};
use xsc_core::client::StoredBlock;
use xsc_core::{CryptoHash, LightClientBlockView, PublicKey, Signature};
use xsc_vectors::{manifest, ChainCase, Verdict};

fn account(s: &str) -> AccountId {
    s.parse().unwrap()
}

fn set_caller(who: &str) {
    let mut ctx = VMContextBuilder::new();
    ctx.predecessor_account_id(account(who))
        .signer_account_id(account(who));
    // Enough prepaid gas for 100 signature checks in the mocked VM.
    ctx.prepaid_gas(near_sdk::Gas::from_tgas(300));
    testing_env!(ctx.build());
}

/// Each contract instance starts from empty storage (testing_env! carries storage over).
fn fresh_storage() {
    near_sdk::mock::with_mocked_blockchain(|b| {
        b.take_storage();
    });
}

use xsc_vectors::panic_message;

/// Start a contract the way a deployment would: the head, and the producers of the head's epoch
/// when the manifest gives them for it (otherwise the head's next_bps covers the first step).
fn init(case: &ChainCase, window: Option<u32>) -> LightClient {
    fresh_storage();
    set_caller("admin.near");
    let head = case.head();
    let first_epoch = case.blocks().first().map(|b| b.inner_lite.epoch_id);
    let epoch_producers = match case.bps() {
        Some(bps) if first_epoch == Some(head.inner_lite.epoch_id) => Some(bps),
        Some(_) => panic!("manifest bps for the next epoch is not used by these tests"),
        None => None,
    };
    LightClient::new(head, epoch_producers, window, None)
}

fn try_add(lc: &mut LightClient, block: &LightClientBlockView) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| {
        lc.add_light_client_block(block.clone())
    }))
    .map_err(panic_message)
}

fn chain(name: &str) -> ChainCase {
    xsc_vectors::chain(name)
}

#[test]
fn every_manifest_chain_gives_the_expected_verdicts_through_the_contract() {
    for case in manifest().light_client_chains {
        let mut lc = init(&case, None);
        for step in &case.steps {
            let block = xsc_vectors::block(&step.block);
            let before = lc.head();
            set_caller("relayer.near");
            let result = try_add(&mut lc, &block);
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
    set_caller("relayer.near");
    lc.add_light_client_block(case.blocks()[0].clone());
    let logs = get_logs();
    let log = logs
        .iter()
        .find(|l| l.starts_with("EVENT_JSON:"))
        .expect("event");
    let json: serde_json::Value = serde_json::from_str(&log["EVENT_JSON:".len()..]).unwrap();
    assert_eq!(json["standard"], "xsc_light_client");
    assert_eq!(json["version"], "1.0.0");
    assert_eq!(json["event"], "block_accepted");
    let data = if json["data"].is_array() {
        &json["data"][0]
    } else {
        &json["data"]
    };
    assert_eq!(data["height"], "105233559", "{log}");
    assert_eq!(data["hash"], "2GHoV4zcLfHbsEshMVDLp9Nt3qh5c9mAjPEHry7PjkbQ");
    assert_eq!(data["new_epoch"], true);
}

#[test]
fn replayed_and_older_blocks_are_rejected() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    set_caller("relayer.near");
    lc.add_light_client_block(blocks[0].clone());
    let err = try_add(&mut lc, &blocks[0]).unwrap_err();
    assert!(err.starts_with("ERR_BLOCK_NOT_NEWER"), "{err}");
    lc.add_light_client_block(blocks[1].clone());
    let err = try_add(&mut lc, &blocks[0]).unwrap_err();
    assert!(err.starts_with("ERR_BLOCK_NOT_NEWER"), "{err}");
}

#[test]
fn only_two_epochs_of_producers_are_kept() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("relayer.near");
    for block in case.blocks() {
        lc.add_light_client_block(block.clone());
        let head = lc.head();
        assert!(lc.epoch_producers(head.epoch_id).is_some());
        assert!(lc.epoch_producers(head.next_epoch_id).is_some());
    }
    // The epoch of the trusted head is long gone.
    assert!(lc
        .epoch_producers(case.head().inner_lite.epoch_id)
        .is_none());
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
    set_caller("relayer.near");
    let err = try_add(&mut lc, &block).unwrap_err();
    assert!(err.starts_with("ERR_UNSUPPORTED_SIGNATURE"), "{err}");
}

#[test]
fn tampered_next_bps_is_rejected() {
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    let mut block = case.blocks()[0].clone();
    if let Some(bps) = block.next_bps.as_mut() {
        bps.swap(0, 1);
    }
    set_caller("relayer.near");
    let err = try_add(&mut lc, &block).unwrap_err();
    assert!(err.starts_with("ERR_NEXT_BPS_HASH_MISMATCH"), "{err}");
}

#[test]
fn next_bps_may_be_omitted_inside_an_epoch() {
    // The relayer's lean mode: the next epoch's producers are already stored.
    let case = chain("mainnet-91M");
    let mut lc = init(&case, None);
    set_caller("relayer.near");
    let blocks = case.blocks();
    for (i, step) in case.steps.iter().enumerate() {
        let mut block = blocks[i].clone();
        if block.inner_lite.epoch_id == lc.head().epoch_id {
            block.next_bps = None;
        }
        lc.add_light_client_block(block);
        assert_eq!(lc.head().hash, step.block_hash);
    }
}

#[test]
fn paused_contract_refuses_blocks_until_unpaused() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("admin.near");
    assert!(lc.pa_pause_feature("add_light_client_block".into()));
    set_caller("relayer.near");
    let block = case.blocks()[0].clone();
    let err = try_add(&mut lc, &block).unwrap_err();
    assert!(err.contains("Pausable: Method is paused"), "{err}");
    set_caller("admin.near");
    assert!(lc.pa_unpause_feature("add_light_client_block".into()));
    set_caller("relayer.near");
    lc.add_light_client_block(block);
}

#[test]
fn only_authorised_roles_pause() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("mallory.near");
    let r = catch_unwind(AssertUnwindSafe(|| {
        lc.pa_pause_feature("add_light_client_block".into())
    }));
    assert!(r.is_err());
    assert!(!lc.pa_is_paused("add_light_client_block".into()));
}

#[test]
fn window_of_stored_blocks_stays_bounded() {
    let case = chain("mainnet-91M");
    let mut lc = init(&case, Some(3));
    set_caller("relayer.near");
    for block in case.blocks() {
        lc.add_light_client_block(block);
        assert!(lc.stored_range().count.0 <= 3);
    }
    let range = lc.stored_range();
    assert_eq!(range.count.0, 3);
    assert_eq!(range.newest_height, U64(lc.head().height));
    let last = case.steps.last().unwrap().height;
    assert!(lc.block(U64(last)).is_some());
    assert!(
        lc.block(U64(case.steps[0].height)).is_none(),
        "the oldest blocks were evicted"
    );
}

#[test]
fn shrinking_the_window_prunes_gradually() {
    let case = chain("mainnet-91M");
    let mut lc = init(&case, Some(10));
    set_caller("relayer.near");
    let blocks = case.blocks();
    for block in &blocks[..8] {
        lc.add_light_client_block(block.clone());
    }
    assert_eq!(lc.stored_range().count.0, 9);
    set_caller("admin.near");
    lc.set_max_stored_blocks(4);
    set_caller("relayer.near");
    lc.add_light_client_block(blocks[8].clone());
    assert_eq!(lc.stored_range().count.0, 8, "two pruned per block");
    let mut counts = vec![];
    for block in &blocks[9..13] {
        lc.add_light_client_block(block.clone());
        counts.push(lc.stored_range().count.0);
    }
    // 8 → +1 −2 each block until the new size is reached, then one in, one out.
    assert_eq!(counts, vec![7, 6, 5, 4]);
}

#[test]
fn window_size_is_validated_and_restricted() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    set_caller("admin.near");
    assert!(catch_unwind(AssertUnwindSafe(|| lc.set_max_stored_blocks(1))).is_err());
    assert!(catch_unwind(AssertUnwindSafe(|| lc.set_max_stored_blocks(1_000_000))).is_err());
    set_caller("mallory.near");
    assert!(catch_unwind(AssertUnwindSafe(|| lc.set_max_stored_blocks(100))).is_err());
    assert_eq!(
        lc.config().max_stored_blocks,
        crate::DEFAULT_MAX_STORED_BLOCKS
    );
}

/// Relaying stopped for two epochs: the next block can't be accepted (an epoch can't be
/// skipped), and recovery needs an authorised reset whose block is still signature-checked.
#[test]
fn falling_two_epochs_behind_needs_an_authorised_verified_reset() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    set_caller("relayer.near");
    lc.add_light_client_block(blocks[0].clone());
    let err = try_add(&mut lc, &blocks[2]).unwrap_err();
    assert!(err.starts_with("ERR_EPOCH_SKIPPED"), "{err}");

    // blocks[2] is in the epoch whose producers blocks[1].next_bps lists.
    let producers = blocks[1].next_bps.clone().unwrap();
    set_caller("mallory.near");
    assert!(catch_unwind(AssertUnwindSafe(|| lc.reset_head(
        blocks[2].clone(),
        producers.clone(),
        "x".into()
    )))
    .is_err());

    // Wrong producers: the approvals do not verify, nothing changes.
    set_caller("admin.near");
    let wrong = blocks[0].next_bps.clone().unwrap();
    let before = lc.head();
    assert!(catch_unwind(AssertUnwindSafe(|| lc.reset_head(
        blocks[2].clone(),
        wrong.clone(),
        "x".into()
    )))
    .is_err());
    assert_eq!(lc.head(), before);

    set_caller("admin.near");
    lc.acl_grant_role(Role::RecoveryManager.into(), account("ops.near"));
    set_caller("ops.near");
    lc.reset_head(
        blocks[2].clone(),
        producers,
        "relayer down two epochs".into(),
    );
    assert_eq!(lc.head().hash, case.steps[2].block_hash);
    let logs = get_logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("\"event\":\"head_reset\"") && l.contains("ops.near")),
        "{logs:?}"
    );
    // Relaying continues normally from the new head.
    set_caller("relayer.near");
    lc.add_light_client_block(blocks[3].clone());
    assert_eq!(lc.head().hash, case.steps[3].block_hash);
}

#[test]
fn reset_cannot_move_the_head_backwards() {
    let case = chain("testnet-105M");
    let mut lc = init(&case, None);
    let blocks = case.blocks();
    set_caller("relayer.near");
    lc.add_light_client_block(blocks[0].clone());
    lc.add_light_client_block(blocks[1].clone());
    set_caller("admin.near");
    let producers = case.head().next_bps.unwrap();
    let r = catch_unwind(AssertUnwindSafe(|| {
        lc.reset_head(blocks[0].clone(), producers.clone(), "x".into())
    }));
    assert!(r.is_err());
}

#[test]
fn init_rejects_a_head_whose_next_bps_does_not_match() {
    let case = chain("testnet-105M");
    let mut head = case.head();
    head.next_bps.as_mut().unwrap().pop();
    fresh_storage();
    set_caller("admin.near");
    let r = catch_unwind(AssertUnwindSafe(|| {
        LightClient::new(head, None, None, None)
    }));
    assert!(r.is_err());
}

/// A light client whose trusted head carries `root` as block_merkle_root at `height`, for proofs.
fn client_with_root(root: CryptoHash, height: u64) -> LightClient {
    let case = chain("testnet-105M");
    let mut head = case.head();
    head.inner_lite.block_merkle_root = root;
    head.inner_lite.height = height;
    head.next_bps = None;
    fresh_storage();
    set_caller("admin.near");
    LightClient::new(head, case.head().next_bps, None, None)
}

#[test]
fn every_manifest_proof_verifies_through_the_contract() {
    for case in manifest().outcome_proofs {
        let proof = xsc_vectors::proof(&case.proof);
        let lc = if proof.block_proof.is_empty() {
            // The root is the proven block itself: trust that header as the head.
            let mut lc = client_with_root(CryptoHash::zero(), 1);
            let header = &proof.block_header_lite;
            lc.push_block(StoredBlock {
                height: header.inner_lite.height,
                hash: case.root,
                block_merkle_root: CryptoHash::zero(),
            });
            lc
        } else {
            client_with_root(case.root, case.block_height + 1)
        };
        let height = if proof.block_proof.is_empty() {
            case.block_height
        } else {
            case.block_height + 1
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            lc.verify_outcome(proof.clone(), height)
        }));
        match case.expect {
            Verdict::Valid => {
                let o = result.unwrap_or_else(|_| panic!("{} must verify", case.proof));
                assert_eq!(o.id, proof.outcome_proof.id);
                assert_eq!(o.executor_id, proof.outcome_proof.outcome.executor_id);
                assert_eq!(o.logs, proof.outcome_proof.outcome.logs);
            }
            Verdict::Invalid => assert!(result.is_err(), "{} must be invalid", case.proof),
            v => panic!("{v:?}"),
        }
    }
}

#[test]
fn proof_against_an_unknown_height_is_rejected() {
    let case = &manifest().outcome_proofs[0];
    let proof = xsc_vectors::proof(&case.proof);
    let lc = client_with_root(case.root, case.block_height + 1);
    let r = catch_unwind(AssertUnwindSafe(|| {
        lc.verify_outcome(proof.clone(), case.block_height + 2)
    }));
    assert!(r.is_err());
}

#[test]
fn tampered_proof_log_is_rejected_by_the_contract() {
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| c.proof.contains("cross-call-event"))
        .unwrap();
    let mut proof = xsc_vectors::proof(&case.proof);
    proof.outcome_proof.outcome.logs[0].push('x');
    let lc = client_with_root(case.root, case.block_height + 1);
    let r = catch_unwind(AssertUnwindSafe(|| {
        lc.verify_outcome(proof.clone(), case.block_height + 1)
    }));
    assert!(r.is_err());
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
    let mut lc = LightClient::new(case.head(), Some(bps), None, None);
    set_caller("relayer.near");
    let err = try_add(&mut lc, &case.blocks()[0]).unwrap_err();
    assert!(err.starts_with("ERR_UNSUPPORTED_KEY"), "{err}");
}

#[test]
fn an_explicit_admin_other_than_the_deployer_gets_super_admin_and_dao() {
    let case = chain("testnet-105M");
    fresh_storage();
    set_caller("deployer.near");
    let lc = LightClient::new(case.head(), None, None, Some(account("dao.near")));
    assert!(lc.acl_is_super_admin(account("dao.near")));
    assert!(lc.acl_has_role(Role::Dao.into(), account("dao.near")));
    assert!(!lc.acl_is_super_admin(account("deployer.near")));
    assert!(!lc.acl_has_role(Role::Dao.into(), account("deployer.near")));
}

/// A valid manifest proof whose root is a block above the proven one, and a light client
/// trusting that block.
fn forwardable() -> (LightClient, xsc_core::LightClientExecutionProof, u64) {
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| {
            c.expect == Verdict::Valid && !xsc_vectors::proof(&c.proof).block_proof.is_empty()
        })
        .expect("a valid proof with a block proof");
    let proof = xsc_vectors::proof(&case.proof);
    let lc = client_with_root(case.root, case.block_height + 1);
    (lc, proof, case.block_height + 1)
}

fn call_as(who: &str, deposit: u128, gas_tgas: u64) {
    let mut ctx = VMContextBuilder::new();
    ctx.predecessor_account_id(account(who))
        .signer_account_id(account(who))
        .attached_deposit(near_sdk::NearToken::from_yoctonear(deposit))
        .prepaid_gas(near_sdk::Gas::from_tgas(gas_tgas));
    testing_env!(ctx.build());
}

#[test]
fn verify_and_forward_hands_the_proven_outcome_deposit_and_gas_to_the_receiver() {
    let (mut lc, proof, height) = forwardable();
    call_as("relayer.near", 7, 300);
    let _ = lc.verify_and_forward(proof.clone(), height, account("connector.near"), vec![2]);
    let receipts = near_sdk::test_utils::get_created_receipts();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].receiver_id, account("connector.near"));
    let near_sdk::mock::MockAction::FunctionCallWeight {
        method_name,
        args,
        attached_deposit,
        prepaid_gas,
        gas_weight,
        ..
    } = &receipts[0].actions[0]
    else {
        panic!("a function call: {:?}", receipts[0].actions);
    };
    assert_eq!(String::from_utf8_lossy(method_name), "on_proven_outcome");
    assert_eq!(attached_deposit.as_yoctonear(), 7);
    assert_eq!(*prepaid_gas, crate::GAS_FORWARD_MIN);
    assert_eq!(gas_weight.0, 1);
    let (sender, outcome, msg): (AccountId, xsc_core::ProvenOutcome, Vec<u8>) =
        borsh::from_slice(args).unwrap();
    assert_eq!(sender, account("relayer.near"));
    assert_eq!(outcome.id, proof.outcome_proof.id);
    assert_eq!(outcome.logs, proof.outcome_proof.outcome.logs);
    assert_eq!(msg, vec![2]);
}

/// Changes a forwarding's proof, msg or height.
type Tamper = Box<dyn Fn(&mut xsc_core::LightClientExecutionProof, &mut Vec<u8>, &mut u64)>;

#[test]
fn verify_and_forward_forwards_nothing_for_a_bad_proof_a_long_msg_or_too_little_gas() {
    let cases: [(&str, Tamper); 4] = [
        (
            "ERR_",
            Box::new(|p, _, _| p.outcome_proof.outcome.logs.push("x".into())),
        ),
        ("ERR_UNKNOWN_ROOT", Box::new(|_, _, h| *h += 1)),
        (
            "ERR_FORWARD_MSG_TOO_LONG",
            Box::new(|_, m, _| *m = vec![0; 1025]),
        ),
        ("ERR_NOT_ENOUGH_GAS", Box::new(|_, _, _| {})),
    ];
    for (i, (code, tamper)) in cases.iter().enumerate() {
        let (mut lc, mut proof, mut height) = forwardable();
        let mut msg = vec![1];
        tamper(&mut proof, &mut msg, &mut height);
        call_as("relayer.near", 7, if i == 3 { 11 } else { 300 });
        let r = catch_unwind(AssertUnwindSafe(|| {
            let _ = lc.verify_and_forward(proof.clone(), height, account("connector.near"), msg);
        }));
        let e = r.map(|_| ()).map_err(panic_message).expect_err(code);
        assert!(e.starts_with(code), "case {i}: {e}");
        assert!(
            near_sdk::test_utils::get_created_receipts().is_empty(),
            "case {i}"
        );
    }
}
