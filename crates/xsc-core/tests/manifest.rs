//! Every case of `shared/vectors/manifest.json` through the core, and the byte-exact
//! intermediates of `intermediates.json`.

use xsc_core::hashing::{approval_message, block_and_next_hash, inner_lite_bytes};
use xsc_core::proof::outcome_leaf;
use xsc_core::{verify_outcome_proof, LightClient, NativeCrypto};
use xsc_vectors::{manifest, Verdict};

fn start(case: &xsc_vectors::ChainCase) -> LightClient {
    case.start()
}

#[test]
fn every_manifest_chain_gives_the_expected_verdicts() {
    let m = manifest();
    assert!(m.light_client_chains.len() >= 5);
    let mut steps = 0;
    for case in &m.light_client_chains {
        let mut lc = start(case);
        for step in &case.steps {
            let block = xsc_vectors::block(&step.block);
            assert_eq!(block.inner_lite.height, step.height, "{}", step.block);
            let before = lc.head_view().clone();
            let result = lc.apply(&NativeCrypto, &block);
            match step.expect {
                Verdict::Accept => {
                    let v = result.unwrap_or_else(|e| panic!("{} {}: {e}", case.name, step.height));
                    assert_eq!(v.hash, step.block_hash, "{} {}", case.name, step.height);
                    assert_eq!(lc.head_view().hash, step.block_hash);
                }
                Verdict::Reject => {
                    assert!(
                        result.is_err(),
                        "{} {} must be rejected",
                        case.name,
                        step.height
                    );
                    assert_eq!(
                        lc.head_view(),
                        &before,
                        "a rejected block leaves the head unchanged"
                    );
                }
                v => panic!("unexpected verdict {v:?} for a block"),
            }
            steps += 1;
        }
    }
    assert!(steps >= 30, "only {steps} steps ran");
}

#[test]
fn every_manifest_proof_gives_the_expected_verdict() {
    let m = manifest();
    assert!(m.outcome_proofs.len() >= 10);
    for case in &m.outcome_proofs {
        let proof = xsc_vectors::proof(&case.proof);
        let result = verify_outcome_proof(&NativeCrypto, &proof, &case.root);
        match case.expect {
            Verdict::Valid => {
                let o = result.unwrap_or_else(|e| panic!("{}: {e}", case.proof));
                assert_eq!(o.id, proof.outcome_proof.id);
                assert_eq!(o.block_height, case.block_height);
            }
            Verdict::Invalid => assert!(result.is_err(), "{} must be invalid", case.proof),
            v => panic!("unexpected verdict {v:?} for a proof"),
        }
    }
}

#[test]
fn intermediates_match_byte_for_byte() {
    let im = xsc_vectors::read_json("intermediates.json");
    let blocks = im["blocks"].as_object().expect("blocks");
    assert!(!blocks.is_empty());
    for (file, expect) in blocks {
        let json = xsc_vectors::read_json(file);
        // Producer lists have no header.
        if json.is_array() {
            continue;
        }
        let block: xsc_core::LightClientBlockView = serde_json::from_value(json).unwrap();
        assert_eq!(
            hex::encode(inner_lite_bytes(&block.inner_lite)),
            expect["inner_lite_borsh_hex"].as_str().unwrap(),
            "{file}"
        );
        let (hash, next) = block_and_next_hash(&NativeCrypto, &block);
        assert_eq!(
            hash.to_string(),
            expect["block_hash"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(
            next.to_string(),
            expect["next_block_hash"].as_str().unwrap(),
            "{file}"
        );
        assert_eq!(
            hex::encode(approval_message(&next, block.inner_lite.height)),
            expect["approval_message_hex"].as_str().unwrap(),
            "{file}"
        );
        if let (Some(bps), Some(matches)) =
            (&block.next_bps, expect["next_bp_hash_matches"].as_bool())
        {
            let h = xsc_core::hashing::bp_hash(&NativeCrypto, bps);
            assert_eq!(h == block.inner_lite.next_bp_hash, matches, "{file}");
        }
    }
    let proofs = im["proofs"].as_object().expect("proofs");
    assert!(!proofs.is_empty());
    for (file, expect) in proofs {
        let proof = xsc_vectors::proof(file);
        let leaf = outcome_leaf(
            &NativeCrypto,
            &proof.outcome_proof.id,
            &proof.outcome_proof.outcome,
        );
        assert_eq!(
            hex::encode(leaf.0),
            expect["outcome_leaf_hex"].as_str().unwrap(),
            "{file}"
        );
        let header = xsc_core::hashing::block_hash(&NativeCrypto, &proof.block_header_lite);
        assert_eq!(
            header.to_string(),
            expect["header_hash"].as_str().unwrap(),
            "{file}"
        );
        let root = xsc_core::hashing::fold_path(&NativeCrypto, header, &proof.block_proof);
        assert_eq!(
            root.to_string(),
            expect["root_from_block_proof"].as_str().unwrap(),
            "{file}"
        );
    }
}
