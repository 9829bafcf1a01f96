//! Upgrade in place: light clients deployed from release v0.1.0's wasm
//! (`tests/fixtures/v0.1.0`), fed and used, then upgraded through `Upgradable` to the current
//! `res/xsc_light_client.wasm` with `migrate`: the head, every stored block and the producer
//! sets survive, proofs against stored blocks still verify, new blocks are accepted.
//!
//! `#[ignore]`d like every sandbox test: `scripts/test.sh` runs them when a sandbox binary is
//! found; run without one they fail.

use anyhow::{ensure, Context, Result};
use serde_json::json;
use xsc_tests::fixtures::{chain_init, proof_init};
use xsc_tests::light_client::{LightClientContract, WindowArgs};
use xsc_tests::outcome::{ensure_ok as ok, failure};
use xsc_tests::sandbox::{test_env, TestEnv};
use xsc_tests::upgrade::{deploy_and_migrate, stage, v010};
use xsc_tests::{artifacts, sandbox::TX_GAS};
use xsc_vectors::{manifest, Verdict};

/// Deploy v0.1.0's light client and initialise it with v0.1.0's `new` arguments.
async fn deploy_v010(env: &TestEnv, init: serde_json::Value) -> Result<LightClientContract> {
    let contract = env.worker.dev_deploy(&v010("xsc_light_client")?).await?;
    let r = env
        .admin
        .call(contract.id(), "new")
        .args_json(init)
        .gas(TX_GAS)
        .transact()
        .await?;
    ok(&r, "v0.1.0 new")?;
    Ok(LightClientContract { contract })
}

async fn upgrade(env: &TestEnv, lc: &LightClientContract, args: &[u8]) -> Result<()> {
    let code = artifacts::load(artifacts::LIGHT_CLIENT)?;
    // Only the code stagers (Dao here) may stage.
    ensure!(
        failure(&stage(&env.relayer, lc.id(), &code).await?).is_some(),
        "relayer staged code"
    );
    ok(&stage(&env.admin, lc.id(), &code).await?, "up_stage_code")?;
    let r = deploy_and_migrate(&env.admin, lc.id(), &code, args).await?;
    ok(&r, "up_deploy_code + migrate")?;
    ensure!(
        r.receipt_outcomes().iter().all(|o| o.is_success()),
        "a receipt of the upgrade failed: {:?}",
        r.receipt_outcomes()
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_v010_light_client_upgraded_in_place_keeps_its_blocks_and_relays_on() -> Result<()> {
    let env = test_env().await?;
    let case = xsc_vectors::chain("mainnet-91M");
    let init = chain_init(&case, WindowArgs::default(), None)?;
    let mut v1_args = serde_json::to_value(&init.init)?;
    v1_args["max_stored_blocks"] = json!(5);
    let lc = deploy_v010(&env, v1_args).await?;
    let blocks = &init.blocks;
    for b in &blocks[..7] {
        ok(
            &lc.add_block_bytes(&env.relayer, borsh::to_vec(b)?).await?,
            "v0.1.0 block",
        )?;
    }
    let head = lc.head().await?;
    // What v0.1.0 stores: the last 5 blocks.
    let mut stored = Vec::new();
    for step in &case.steps[..7] {
        if let Some(b) = lc.block(step.height).await? {
            stored.push(b);
        }
    }
    ensure!(stored.len() == 5, "v0.1.0 stores {}", stored.len());

    upgrade(&env, &lc, br#"{"ring_size": 16}"#).await?;

    ensure!(lc.head().await? == head, "the head changed");
    ensure!(lc.config().await?.ring_size == 16);
    for b in &stored {
        ensure!(lc.block(b.height).await? == Some(*b), "{} lost", b.height);
    }
    ensure!(lc.window().await?.legacy.is_some());
    ensure!(lc.epoch_producers(&head.next_epoch_id).await?.is_some());
    // New blocks are accepted (v0.1.0 held both producer sets: no storage to pay).
    for (step, b) in case.steps[7..].iter().zip(&blocks[7..]) {
        ensure!(lc.deposit_for_block(b).await? == 0);
        ok(
            &lc.add_block(&env.relayer, b).await?,
            "block after the upgrade",
        )?;
        ensure!(lc.head().await?.hash == step.block_hash);
    }
    // migrate is the contract's own business (near-sdk does not enforce `#[private]` on init
    // methods: the contract checks it itself).
    let r = lc.call_json(&env.relayer, "migrate", json!({})).await?;
    let f = failure(&r).context("an outsider ran migrate")?;
    ensure!(f.contains("ERR_PRIVATE"), "{f}");
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn proofs_against_blocks_stored_before_the_upgrade_still_verify() -> Result<()> {
    let env = test_env().await?;
    let case = manifest()
        .outcome_proofs
        .into_iter()
        .find(|c| {
            c.expect == Verdict::Valid && !xsc_vectors::proof(&c.proof).block_proof.is_empty()
        })
        .context("a valid proof")?;
    let proof = xsc_vectors::proof(&case.proof);
    let (init, height) = proof_init(&proof, case.root, None)?;
    let lc = deploy_v010(&env, serde_json::to_value(&init)?).await?;
    let before = lc
        .verify_outcome_view(&proof, height)
        .await?
        .map_err(anyhow::Error::msg)?;
    upgrade(&env, &lc, b"").await?;
    let after = lc
        .verify_outcome_view(&proof, height)
        .await?
        .map_err(anyhow::Error::msg)?;
    ensure!(
        after == before,
        "the proven outcome differs after the upgrade"
    );
    let tx = lc.verify_outcome_tx(&env.relayer, &proof, height).await?;
    ok(&tx, "verify_outcome after the upgrade")?;
    ensure!(tx.borsh::<xsc_core::ProvenOutcome>()? == before);
    // Tampered proofs are still refused.
    let mut bad = proof.clone();
    bad.outcome_proof.outcome.logs.push("x".into());
    ensure!(lc.verify_outcome_view(&bad, height).await?.is_err());
    Ok(())
}
