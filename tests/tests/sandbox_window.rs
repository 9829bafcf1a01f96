//! The proof window and storage payments of the light client contract in a real sandbox:
//! recent heads and time-bucket checkpoints as the chain's own clock decides them, storage
//! paid by whoever adds it (balances checked to the yoctoNEAR), configuration changes paid and
//! restricted, JSON views without large numbers.
//!
//! `#[ignore]`d like every sandbox test: `scripts/test.sh` runs them when a sandbox binary is
//! found; run without one they fail.

use anyhow::{ensure, Context, Result};
use serde_json::json;
use xsc_tests::fixtures::chain_init;
use xsc_tests::light_client::{roles, LightClientContract, WindowArgs};
use xsc_tests::outcome::{ensure_ok as ok, expect_panic, failure, tokens_burnt};
use xsc_tests::rpc::Rpc;
use xsc_tests::sandbox::{balance, settled, storage_usage, test_env, TestEnv};

/// yoctoNEAR per byte of storage (nearcore's `storage_amount_per_byte`).
const BYTE_COST: u128 = 10_000_000_000_000_000_000;

async fn deploy(
    env: &TestEnv,
    chain: &str,
    window: WindowArgs,
) -> Result<(LightClientContract, Vec<xsc_core::LightClientBlockView>)> {
    let case = xsc_vectors::chain(chain);
    let init = chain_init(&case, window, None)?;
    let lc = LightClientContract::deploy_by(&env.worker, &init.init, Some(&env.admin)).await?;
    Ok((lc, init.blocks))
}

/// This chain's timestamp (ns) of the block in which `add_light_client_block` executed.
async fn executed_at(rpc: &Rpc, r: &near_workspaces::result::ExecutionFinalResult) -> Result<u64> {
    let receipt = r.receipt_outcomes().first().context("a receipt")?;
    let block = rpc
        .call(
            "block",
            json!({ "block_id": receipt.block_hash.to_string() }),
        )
        .await?;
    block["header"]["timestamp_nanosec"]
        .as_str()
        .context("timestamp_nanosec")?
        .parse()
        .context("timestamp")
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn recent_heads_and_checkpoints_follow_the_chains_clock() -> Result<()> {
    // A ring of 4 heights and 1-minute buckets: the test's own pace (and a fast-forward) crosses
    // buckets; the expected checkpoints are computed from the blocks the calls executed in.
    let env = test_env().await?;
    let rpc = Rpc::new(&env.worker.rpc_addr());
    let window = WindowArgs {
        ring_size: Some(4),
        retention_hours: Some(1),
        checkpoint_interval_minutes: Some(1),
    };
    let (lc, blocks) = deploy(&env, "mainnet-91M", window).await?;
    let config = lc.config().await?;
    ensure!(config.checkpoint_capacity == 61, "{config:?}");
    let init_head = lc.head().await?.height;
    // Storage after the first block (which stores the second producer table): constant then.
    let mut usage = None;
    // (height, accepted_at) of every head, the initial one at deployment.
    let mut heads = vec![(init_head, 0u64)];
    let mut expected_checkpoints = Vec::new();
    const MINUTE: u64 = 60_000_000_000;
    for (i, block) in blocks.iter().enumerate() {
        if i == 6 || i == 9 {
            // Move the chain's clock into a later bucket than the head's.
            let head_minute = heads.last().unwrap().1 / MINUTE;
            for _ in 0..20 {
                env.worker.fast_forward(100).await?;
                let fin = rpc.call("block", json!({"finality": "final"})).await?;
                let t: u64 = fin["header"]["timestamp_nanosec"]
                    .as_str()
                    .context("timestamp")?
                    .parse()?;
                if t / MINUTE > head_minute {
                    break;
                }
            }
        }
        let r = lc.add_block(&env.relayer, block).await?;
        ok(&r, &format!("block {i}"))?;
        let at = executed_at(&rpc, &r).await?;
        let (prev_height, prev_at) = *heads.last().unwrap();
        if i > 0 && at / MINUTE != prev_at / MINUTE {
            expected_checkpoints.push(prev_height);
        }
        heads.push((block.inner_lite.height, at));
        let w = lc.window().await?;
        ensure!(w.recent.len() <= 4, "{w:?}");
        ensure!(w.recent.contains(&block.inner_lite.height), "{w:?}");
        // Storage does not change once both producer tables are stored (mainnet: 100 each).
        let now = storage_usage(&env.worker, lc.id()).await?;
        ensure!(
            *usage.get_or_insert(now) == now,
            "block {i}: storage {now} vs {usage:?}"
        );
    }
    let w = lc.window().await?;
    // The first block's bucket against the initial head's is unknown (deployment time is not
    // read here): compare from the first block on.
    let got: Vec<u64> = w
        .checkpoints
        .iter()
        .copied()
        .filter(|h| *h != init_head)
        .collect();
    ensure!(
        got == expected_checkpoints,
        "checkpoints {got:?}, expected {expected_checkpoints:?}"
    );
    ensure!(
        !expected_checkpoints.is_empty(),
        "the fast-forward crossed no bucket: {heads:?}"
    );
    // Every listed height is provable.
    for h in w.recent.iter().chain(&w.checkpoints) {
        ensure!(lc.block(*h).await?.is_some(), "{h}");
    }
    println!("heads {heads:?}\nwindow {w:?}");
    Ok(())
}

/// testnet-105M changes epoch on every block with 39 to 55 producers: some blocks store a
/// larger table than they retire and must pay exactly for it.
#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn a_block_that_adds_storage_pays_exactly_for_it_and_gets_the_surplus_back() -> Result<()> {
    let env = test_env().await?;
    let (lc, blocks) = deploy(&env, "testnet-105M", WindowArgs::default()).await?;
    let (mut refused, mut paid, mut free) = (0, 0, 0);
    for (i, block) in blocks.iter().enumerate() {
        let deposit = lc.deposit_for_block(block).await?;
        let usage = storage_usage(&env.worker, lc.id()).await?;
        let before = balance(&env.worker, env.relayer.id()).await?;
        let head = lc.head().await?;
        if deposit > 0 {
            // One yoctoNEAR short: refused, nothing changes, the relayer pays only gas.
            let r = lc
                .add_block_paying(&env.relayer, block, deposit - 1)
                .await?;
            settled(&env.worker, &r).await?;
            let msg = expect_panic(&r, "ERR_STORAGE_DEPOSIT").map_err(anyhow::Error::msg)?;
            println!("block {i}: {msg}");
            ensure!(lc.head().await? == head);
            ensure!(storage_usage(&env.worker, lc.id()).await? == usage);
            let after = balance(&env.worker, env.relayer.id()).await?;
            ensure!(
                after == before - tokens_burnt(&r),
                "block {i}: {before} -> {after}"
            );
            refused += 1;
        }
        // The deposit plus 1 NEAR: exactly the storage is kept, the rest comes back.
        let before = balance(&env.worker, env.relayer.id()).await?;
        let surplus = 1_000_000_000_000_000_000_000_000;
        let r = lc
            .add_block_paying(&env.relayer, block, deposit + surplus)
            .await?;
        settled(&env.worker, &r).await?;
        ok(&r, &format!("block {i}"))?;
        let grown = storage_usage(&env.worker, lc.id()).await? as i128 - usage as i128;
        ensure!(
            deposit == (grown.max(0) as u128) * BYTE_COST,
            "block {i}: paid {deposit} for {grown} bytes"
        );
        let after = balance(&env.worker, env.relayer.id()).await?;
        ensure!(
            after == before - tokens_burnt(&r) - deposit,
            "block {i}: relayer {before} -> {after}, gas {}, deposit {deposit}",
            tokens_burnt(&r)
        );
        if deposit > 0 {
            paid += 1;
        } else {
            free += 1;
        }
    }
    ensure!(
        refused >= 3 && paid >= 3 && free >= 3,
        "refused {refused}, paid {paid}, free {free}"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn only_config_managers_resize_the_window_and_growth_is_paid() -> Result<()> {
    let env = test_env().await?;
    let (lc, blocks) = deploy(&env, "mainnet-91M", WindowArgs::ring(8)).await?;
    for b in blocks.iter().take(5) {
        ok(&lc.add_block(&env.relayer, b).await?, "block")?;
    }
    let mallory = env.worker.dev_create_account().await?;
    ensure!(failure(&lc.set_ring_size(&mallory, 64, 10u128.pow(24)).await?).is_some());
    let ops = env.worker.dev_create_account().await?;
    lc.grant_role(&env.admin, roles::CONFIG_MANAGER, ops.id())
        .await?;
    // Growing without paying: refused.
    let r = lc.set_ring_size(&ops, 64, 0).await?;
    expect_panic(&r, "ERR_STORAGE_DEPOSIT").map_err(anyhow::Error::msg)?;
    settled(&env.worker, &r).await?;
    ensure!(lc.config().await?.ring_size == 8);
    // Paying with a surplus: the 56 new slots are kept, the rest refunded.
    let usage = storage_usage(&env.worker, lc.id()).await?;
    let before = balance(&env.worker, ops.id()).await?;
    let r = lc.set_ring_size(&ops, 64, 10u128.pow(24)).await?;
    settled(&env.worker, &r).await?;
    ok(&r, "set_ring_size")?;
    let grown = storage_usage(&env.worker, lc.id()).await? - usage;
    ensure!(grown == 56 * (5 + 72 + 40), "{grown}");
    let after = balance(&env.worker, ops.id()).await?;
    ensure!(after == before - tokens_burnt(&r) - u128::from(grown) * BYTE_COST);
    // Every recent head survived the move to new slots.
    let w = lc.window().await?;
    for h in &w.recent {
        ensure!(lc.block(*h).await?.is_some());
    }
    ensure!(w.recent.contains(&lc.head().await?.height));
    // Retention: shrinking is free, growing is paid.
    ok(&lc.set_retention(&ops, 2, 30, 0).await?, "shrink retention")?;
    ensure!(lc.config().await?.checkpoint_capacity == 5);
    let r = lc.set_retention(&ops, 24, 30, 0).await?;
    expect_panic(&r, "ERR_STORAGE_DEPOSIT").map_err(anyhow::Error::msg)?;
    ok(
        &lc.set_retention(&ops, 24, 30, 10u128.pow(24)).await?,
        "grow retention",
    )?;
    ensure!(lc.config().await?.checkpoint_capacity == 49);
    Ok(())
}

#[tokio::test]
#[ignore = "needs a neard sandbox binary (scripts/test.sh runs these when one is found)"]
async fn json_views_carry_no_number_above_2_53() -> Result<()> {
    let env = test_env().await?;
    let (lc, blocks) = deploy(&env, "mainnet-91M", WindowArgs::default()).await?;
    ok(&lc.add_block(&env.relayer, &blocks[0]).await?, "block")?;
    let head = lc.head().await?;
    for (method, args) in [
        ("head", json!({})),
        ("window", json!({})),
        ("stored_range", json!({})),
        ("config", json!({})),
        ("block", json!({ "height": head.height.to_string() })),
        ("epoch_producers", json!({ "epoch_id": head.epoch_id })),
    ] {
        let v: serde_json::Value = lc.contract.view(method).args_json(args).await?.json()?;
        check_numbers(&v).with_context(|| format!("{method}: {v}"))?;
    }
    let v: serde_json::Value = lc.contract.view("head").await?.json()?;
    ensure!(v["height"].is_string() && v["timestamp"].is_string(), "{v}");
    Ok(())
}

fn check_numbers(v: &serde_json::Value) -> Result<()> {
    match v {
        serde_json::Value::Number(n) => {
            ensure!(n.as_u64().is_some_and(|n| n < 1 << 53), "number {n}")
        }
        serde_json::Value::Array(a) => a.iter().try_for_each(check_numbers)?,
        serde_json::Value::Object(o) => o.values().try_for_each(check_numbers)?,
        _ => {}
    }
    Ok(())
}
