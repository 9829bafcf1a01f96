//! The light client contract (`res/xsc_light_client.wasm`) in a real `neard` sandbox, driven
//! through near-workspaces with the real-network vectors.
//!
//! Every test is `#[ignore]`d: a plain `cargo test` lists them as ignored, never as passed.
//! `scripts/test.sh` runs them (`cargo test -p xsc-tests -- --ignored --test-threads=1`) when a
//! sandbox binary is found (`NEAR_SANDBOX_BIN_PATH` or `$HOME/.xsc/bin/neard-sandbox`); run
//! without one, they fail.

use anyhow::{ensure, Context, Result};
use xsc_core::{CryptoHash, ExecutionStatusView, MerklePathItem, Signature};
use xsc_tests::fixtures::{self, chain_init, native_client, proof_init};
use xsc_tests::light_client::{roles, LightClientContract, WindowArgs};
use xsc_tests::outcome::{
    ensure_ok as ok, events, expect_panic, failure, is_host_error, panic_message,
};
use xsc_tests::sandbox::{test_env as env, TestEnv as Env};
use xsc_vectors::{manifest, Verdict};

/// A light client initialised from a manifest chain; `env.admin` calls `new` and so becomes its
/// admin (super admin and `Dao`).
async fn deploy_chain(
    env: &Env,
    chain: &str,
    window: WindowArgs,
) -> Result<(LightClientContract, fixtures::ChainInit)> {
    let case = xsc_vectors::chain(chain);
    let init = chain_init(&case, window, None)?;
    let lc = LightClientContract::deploy_by(&env.worker, &init.init, Some(&env.admin)).await?;
    ensure!(
        lc.head().await? == init.trusted.head,
        "{chain}: the contract's head differs from the native trusted state"
    );
    Ok((lc, init))
}

fn check(result: std::result::Result<String, String>) -> Result<String> {
    result.map_err(anyhow::Error::msg)
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn every_manifest_chain_gives_the_expected_verdicts_through_the_deployed_contract(
) -> Result<()> {
    let env = env().await?;
    for case in manifest().light_client_chains {
        let (lc, init) = deploy_chain(&env, &case.name, WindowArgs::default()).await?;
        let mut native = native_client(&case)?;
        for (step, block) in case.steps.iter().zip(&init.blocks) {
            let what = format!("{} {}", case.name, step.height);
            let before = lc.head().await?;
            let r = lc.add_block(&env.relayer, block).await?;
            let native_verdict = native.apply(&xsc_core::NativeCrypto, block);
            match step.expect {
                Verdict::Accept => {
                    ok(&r, &what)?;
                    ensure!(native_verdict.is_ok(), "{what}: native client disagrees");
                    let head = lc.head().await?;
                    ensure!(head.hash == step.block_hash, "{what}: head {head:?}");
                    ensure!(head.height == step.height, "{what}: head {head:?}");
                    let stored = lc.block(step.height).await?.context("stored block")?;
                    ensure!(stored.hash == step.block_hash, "{what}: stored {stored:?}");
                    let accepted = events(&r)
                        .into_iter()
                        .find(|e| e["event"] == "block_accepted")
                        .with_context(|| format!("{what}: no block_accepted event"))?;
                    ensure!(accepted["standard"] == "xsc_light_client", "{accepted}");
                }
                Verdict::Reject => {
                    let msg = check(expect_panic(&r, "ERR_"))?;
                    println!("{what}: rejected: {msg}");
                    ensure!(native_verdict.is_err(), "{what}: native client accepts");
                    ensure!(
                        lc.head().await? == before,
                        "{what}: a rejected block changed the head"
                    );
                }
                v => anyhow::bail!("{what}: unexpected verdict {v:?}"),
            }
        }
        println!("{}: {} steps as expected", case.name, case.steps.len());
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn new_with_an_explicit_admin_makes_that_account_the_admin() -> Result<()> {
    // A deployer initialises the contract for another admin account (e.g. a DAO).
    let env = env().await?;
    let case = xsc_vectors::chain("testnet-105M");
    let init = chain_init(&case, WindowArgs::default(), Some(env.admin.id().clone()))?;
    let lc = LightClientContract::deploy_by(&env.worker, &init.init, Some(&env.relayer)).await?;
    ensure!(
        lc.has_role(roles::DAO, env.admin.id()).await?,
        "admin is not Dao"
    );
    ensure!(
        !lc.has_role(roles::DAO, env.relayer.id()).await?,
        "the deployer is Dao"
    );
    ok(
        &lc.pause(&env.admin, "add_light_client_block").await?,
        "pause by the admin",
    )?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_replayed_block_is_rejected_as_not_newer() -> Result<()> {
    let env = env().await?;
    let (lc, init) = deploy_chain(&env, "testnet-105M", WindowArgs::default()).await?;
    ok(
        &lc.add_block(&env.relayer, &init.blocks[0]).await?,
        "first block",
    )?;
    let head = lc.head().await?;
    let r = lc.add_block(&env.relayer, &init.blocks[0]).await?;
    let msg = check(expect_panic(&r, "ERR_BLOCK_NOT_NEWER"))?;
    println!("replay: {msg}");
    ensure!(lc.head().await? == head);
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn tampered_borsh_bytes_are_rejected() -> Result<()> {
    let env = env().await?;
    let (lc, init) = deploy_chain(&env, "testnet-105M", WindowArgs::default()).await?;
    let block = &init.blocks[0];
    let bytes = borsh::to_vec(block)?;
    let head = lc.head().await?;

    // borsh layout: prev_block_hash (32) ‖ next_block_inner_hash (32) ‖ inner_lite (height 8,
    // epoch_id 32, next_epoch_id 32, prev_state_root 32, …).
    let prev_state_root = 64 + 8 + 32 + 32 + 7;
    for (what, offset) in [
        ("prev_block_hash", 3),
        ("next_block_inner_hash", 40),
        ("prev_state_root", prev_state_root),
    ] {
        let mut tampered = bytes.clone();
        tampered[offset] ^= 0x01;
        let r = lc.add_block_bytes(&env.relayer, tampered).await?;
        let msg = check(expect_panic(&r, "ERR_"))?;
        println!("flipped a bit of {what}: {msg}");
        ensure!(lc.head().await? == head, "{what}");
    }
    // A signature of the highest-stake producer (checked first), one bit flipped.
    let producers = init.init.head.next_bps.as_ref().context("head next_bps")?;
    let top = (0..producers.len())
        .filter(|&i| matches!(block.approvals_after_next.get(i), Some(Some(_))))
        .max_by_key(|&i| (producers[i].stake(), std::cmp::Reverse(i)))
        .context("an approval")?;
    let mut tampered = block.clone();
    if let Some(Some(Signature::Ed25519(sig))) = tampered.approvals_after_next.get_mut(top) {
        sig[10] ^= 0x01;
    }
    let r = lc.add_block(&env.relayer, &tampered).await?;
    let msg = check(expect_panic(&r, "ERR_INVALID_SIGNATURE"))?;
    println!("flipped a bit of approval {top}: {msg}");

    // Truncated and extended encodings (a 63-byte last signature, a byte too many) are a
    // clear ERR_INVALID_INPUT, not near-sdk's generic decoding error.
    for (what, tampered) in [
        (
            "truncated (63-byte last signature)",
            bytes[..bytes.len() - 1].to_vec(),
        ),
        ("trailing byte", [bytes.clone(), vec![0]].concat()),
    ] {
        let r = lc.add_block_bytes(&env.relayer, tampered).await?;
        let msg = check(expect_panic(&r, "ERR_INVALID_INPUT")).with_context(|| what.to_string())?;
        println!("{what}: {msg}");
        ensure!(lc.head().await? == head, "{what}");
    }
    // The untampered bytes are accepted: the tampering was the reason.
    let deposit = lc.deposit_for_block(block).await?;
    ok(
        &lc.add_block_bytes_paying(&env.relayer, bytes, deposit)
            .await?,
        "original",
    )?;
    ensure!(lc.head().await?.hash == xsc_vectors::chain("testnet-105M").steps[0].block_hash);
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_secp256k1_approval_is_a_clear_rejection_not_a_host_abort() -> Result<()> {
    let env = env().await?;
    let (lc, init) = deploy_chain(&env, "testnet-105M", WindowArgs::default()).await?;
    let mut block = init.blocks[0].clone();
    let slot = block
        .approvals_after_next
        .iter()
        .position(Option::is_some)
        .context("an approval")?;
    block.approvals_after_next[slot] = Some(Signature::Secp256k1([1; 65]));
    let head = lc.head().await?;
    let r = lc.add_block(&env.relayer, &block).await?;
    let f = failure(&r).context("a secp256k1 approval was accepted")?;
    ensure!(!is_host_error(&f), "a host function aborted the call: {f}");
    let msg = panic_message(&f).with_context(|| format!("not a contract panic: {f}"))?;
    ensure!(msg.starts_with("ERR_UNSUPPORTED_SIGNATURE"), "{f}");
    println!("secp256k1 approval: {msg}");
    ensure!(lc.head().await? == head);
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn pausing_blocks_relaying_until_unpaused() -> Result<()> {
    const KEY: &str = "add_light_client_block";
    let env = env().await?;
    let (lc, init) = deploy_chain(&env, "testnet-105M", WindowArgs::default()).await?;
    let pauser = env.worker.dev_create_account().await?;
    let mallory = env.worker.dev_create_account().await?;
    lc.grant_role(&env.admin, roles::PAUSE_MANAGER, pauser.id())
        .await?;

    // Nobody else may pause.
    let r = lc.pause(&mallory, KEY).await?;
    ensure!(failure(&r).is_some(), "mallory paused the contract");
    ensure!(!lc.is_paused(KEY).await?);

    // A PauseManager pauses; relaying fails and changes nothing.
    ok(&lc.pause(&pauser, KEY).await?, "pause by PauseManager")?;
    ensure!(lc.is_paused(KEY).await?);
    let head = lc.head().await?;
    let r = lc.add_block(&env.relayer, &init.blocks[0]).await?;
    let f = failure(&r).context("a paused method ran")?;
    ensure!(f.contains("Pausable: Method is paused"), "{f}");
    ensure!(lc.head().await? == head);
    // Pausing is not unpausing: a PauseManager can't lift it.
    ensure!(failure(&lc.unpause(&pauser, KEY).await?).is_some());
    ensure!(lc.is_paused(KEY).await?);

    // The Dao unpauses; relaying works again.
    ok(&lc.unpause(&env.admin, KEY).await?, "unpause by Dao")?;
    ok(
        &lc.add_block(&env.relayer, &init.blocks[0]).await?,
        "block after unpause",
    )?;

    // The Dao may pause too.
    ok(&lc.pause(&env.admin, KEY).await?, "pause by Dao")?;
    ensure!(failure(&lc.add_block(&env.relayer, &init.blocks[1]).await?).is_some());
    ok(&lc.unpause(&env.admin, KEY).await?, "unpause by Dao")?;
    ok(
        &lc.add_block(&env.relayer, &init.blocks[1]).await?,
        "block after unpause",
    )?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn reset_head_only_by_an_authorised_role() -> Result<()> {
    let env = env().await?;
    let case = xsc_vectors::chain("testnet-105M");
    let (lc, init) = deploy_chain(&env, "testnet-105M", WindowArgs::default()).await?;
    let blocks = &init.blocks;
    ok(&lc.add_block(&env.relayer, &blocks[0]).await?, "block 0")?;
    // Relaying stopped for an epoch: blocks[2] skips one.
    let r = lc.add_block(&env.relayer, &blocks[2]).await?;
    check(expect_panic(&r, "ERR_EPOCH_SKIPPED"))?;

    // blocks[2] is in the epoch whose producers blocks[1].next_bps lists.
    let producers = blocks[1].next_bps.clone().context("next_bps")?;
    let head = lc.head().await?;
    let r = lc
        .reset_head(&env.relayer, &blocks[2], &producers, "not my job")
        .await?;
    let f = failure(&r).context("an unauthorised account reset the head")?;
    println!("unauthorised reset: {f}");
    ensure!(
        lc.head().await? == head,
        "an unauthorised reset changed the head"
    );

    let ops = env.worker.dev_create_account().await?;
    lc.grant_role(&env.admin, roles::RECOVERY_MANAGER, ops.id())
        .await?;
    ensure!(lc.has_role(roles::RECOVERY_MANAGER, ops.id()).await?);
    let r = lc
        .reset_head(&ops, &blocks[2], &producers, "relayer down one epoch")
        .await?;
    ok(&r, "authorised reset")?;
    ensure!(lc.head().await?.hash == case.steps[2].block_hash);
    let reset = events(&r)
        .into_iter()
        .find(|e| e["event"] == "head_reset")
        .context("no head_reset event")?;
    let data = if reset["data"].is_array() {
        reset["data"][0].clone()
    } else {
        reset["data"].clone()
    };
    ensure!(data["by"] == ops.id().as_str(), "{reset}");
    ensure!(data["reason"] == "relayer down one epoch", "{reset}");
    ensure!(
        data["new_hash"] == case.steps[2].block_hash.to_string(),
        "{reset}"
    );
    // Relaying continues from the new head.
    ok(
        &lc.add_block(&env.relayer, &blocks[3]).await?,
        "block after reset",
    )?;
    ensure!(lc.head().await?.hash == case.steps[3].block_hash);
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn every_manifest_proof_gives_the_expected_verdict_through_the_contract() -> Result<()> {
    let env = env().await?;
    for case in manifest().outcome_proofs {
        let proof = xsc_vectors::proof(&case.proof);
        let (init, height) = proof_init(&proof, case.root, None)?;
        let lc = LightClientContract::deploy_by(&env.worker, &init, Some(&env.admin)).await?;
        let view = lc.verify_outcome_view(&proof, height).await?;
        let tx = lc.verify_outcome_tx(&env.relayer, &proof, height).await?;
        match case.expect {
            Verdict::Valid => {
                let o = view.map_err(|e| anyhow::anyhow!("{}: view: {e}", case.proof))?;
                ok(&tx, &case.proof)?;
                let o_tx: xsc_core::ProvenOutcome = tx.borsh()?;
                ensure!(o_tx == o, "{}: view and transaction differ", case.proof);
                let expected = &proof.outcome_proof;
                ensure!(o.id == expected.id, "{}", case.proof);
                ensure!(
                    o.executor_id == expected.outcome.executor_id,
                    "{}",
                    case.proof
                );
                ensure!(o.logs == expected.outcome.logs, "{}", case.proof);
                ensure!(o.status == expected.outcome.status, "{}", case.proof);
                ensure!(o.block_hash == expected.block_hash, "{}", case.proof);
                ensure!(
                    o.block_height == proof.block_header_lite.inner_lite.height,
                    "{}",
                    case.proof
                );
                println!("{}: valid {} {}", case.proof, o.id, o.executor_id);
            }
            Verdict::Invalid => {
                let e = match view {
                    Ok(o) => anyhow::bail!("{}: view accepted {o:?}", case.proof),
                    Err(e) => e,
                };
                ensure!(e.contains("ERR_"), "{}: {e}", case.proof);
                let msg = check(expect_panic(&tx, "ERR_"))?;
                println!("{}: invalid {msg}", case.proof);
            }
            v => anyhow::bail!("{}: unexpected verdict {v:?}", case.proof),
        }
    }
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn tampered_proofs_fail_with_an_error_code() -> Result<()> {
    let env = env().await?;
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| c.proof.contains("cross-call-event"))
        .context("cross-call-event proof")?;
    let proof = xsc_vectors::proof(&case.proof);
    let (init, height) = proof_init(&proof, case.root, None)?;
    let lc = LightClientContract::deploy(&env.worker, &init).await?;
    ok(
        &lc.verify_outcome_tx(&env.relayer, &proof, height).await?,
        "untampered proof",
    )?;

    let mut log = proof.clone();
    log.outcome_proof.outcome.logs[0].push(' ');
    let mut status = proof.clone();
    status.outcome_proof.outcome.status = ExecutionStatusView::SuccessValue(b"\"forged\"".to_vec());
    let mut executor = proof.clone();
    executor.outcome_proof.outcome.executor_id = "mallory.near".into();
    let mut block_proof = proof.clone();
    block_proof.block_proof[0].hash.0[0] ^= 1;
    let mut extra_item = proof.clone();
    extra_item.block_proof.push(MerklePathItem {
        hash: CryptoHash([7; 32]),
        direction: xsc_core::views::Direction::Right,
    });
    let mut header = proof.clone();
    header.block_header_lite.inner_lite.timestamp += 1;
    for (what, tampered, h, code) in [
        ("log", &log, height, "ERR_OUTCOME_ROOT_MISMATCH"),
        ("status", &status, height, "ERR_OUTCOME_ROOT_MISMATCH"),
        ("executor", &executor, height, "ERR_OUTCOME_ROOT_MISMATCH"),
        (
            "block_proof item",
            &block_proof,
            height,
            "ERR_BLOCK_ROOT_MISMATCH",
        ),
        (
            "extra block_proof item",
            &extra_item,
            height,
            "ERR_BLOCK_ROOT_MISMATCH",
        ),
        (
            "header timestamp",
            &header,
            height,
            "ERR_BLOCK_HASH_MISMATCH",
        ),
        ("unknown height", &proof, height + 1, "ERR_UNKNOWN_ROOT"),
    ] {
        let r = lc.verify_outcome_tx(&env.relayer, tampered, h).await?;
        let msg = check(expect_panic(&r, code)).with_context(|| what.to_string())?;
        println!("tampered {what}: {msg}");
        let view = lc.verify_outcome_view(tampered, h).await?;
        ensure!(
            matches!(&view, Err(e) if e.contains(code)),
            "{what}: view {view:?}"
        );
    }
    Ok(())
}
