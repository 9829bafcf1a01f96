//! Gas benchmark of the light client contract in a `neard` sandbox, with real blocks and proofs.
//!
//! ```sh
//! cargo run --release -p xsc-tests --bin gas_bench > gas.md   # progress on stderr
//! ```
//!
//! Measures the exact total gas burnt (transaction and every receipt) of:
//! - `add_light_client_block` for every block of the `mainnet-91M` and `testnet-105M` chains,
//!   submitted as the RPC returns it ("full") and, on a second contract, with `next_bps` stripped
//!   from blocks that stay in the head's epoch ("lean": the relayer's mode, the next epoch's
//!   producers are already stored; a block that opens an epoch must carry them, so it is the same
//!   in both columns);
//! - `add_light_client_block` for blocks of the sandbox's own chain (one producer, as a small
//!   Calimero shard), fetched from its RPC as the relayer does;
//! - `verify_outcome` called as a transaction, for every valid manifest proof.
//!
//! Prints Markdown for BENCHMARKS.md on stdout. Needs a sandbox binary
//! (`NEAR_SANDBOX_BIN_PATH` or `$HOME/.xsc/bin/neard-sandbox`) and `res/xsc_light_client.wasm`
//! (`scripts/build.sh`).

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;
use xsc_core::{LightClientStore, NativeCrypto};
use xsc_tests::fixtures::{approvals_present, chain_init, native_client, proof_init};
use xsc_tests::light_client::{LightClientContract, WindowArgs};
use xsc_tests::outcome::{failure, gas_burnt, tgas};
use xsc_tests::rpc::Rpc;
use xsc_tests::{artifacts, own_chain, sandbox};
use xsc_vectors::{manifest, Verdict};

const CHAINS: [&str; 2] = ["mainnet-91M", "testnet-105M"];

struct BlockRow {
    height: u64,
    new_epoch: bool,
    producers: usize,
    approvals: usize,
    checked: u32,
    carries_next_bps: bool,
    full: u64,
    lean: u64,
}

struct ProofRow {
    name: String,
    block_proof: usize,
    logs: usize,
    gas: u64,
}

/// Median (mean of the two middle values for an even count) and maximum.
fn median_max(values: &[u64]) -> (u64, u64) {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    let median = match n {
        0 => 0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2,
    };
    (median, v.last().copied().unwrap_or(0))
}

fn t(gas: u64) -> String {
    format!("{:.3}", tgas(gas))
}

async fn bench_chain(
    worker: &near_workspaces::Worker<near_workspaces::network::Sandbox>,
    relayer: &near_workspaces::Account,
    chain: &str,
) -> Result<Vec<BlockRow>> {
    let case = xsc_vectors::chain(chain);
    let init = chain_init(&case, WindowArgs::default(), None)?;
    let full = LightClientContract::deploy_by(worker, &init.init, Some(relayer)).await?;
    let lean = LightClientContract::deploy_by(worker, &init.init, Some(relayer)).await?;
    let mut native = native_client(&case)?;
    let mut rows = Vec::new();
    for (step, block) in case.steps.iter().zip(&init.blocks) {
        if step.expect != Verdict::Accept {
            bail!(
                "{chain} {}: the benchmark needs accepted blocks",
                step.height
            );
        }
        let head_epoch = native.head_view().epoch_id;
        let producers = native
            .producers(&block.inner_lite.epoch_id)
            .map(|p| p.producers.len())
            .context("producers of the block's epoch")?;
        let validated = native
            .apply(&NativeCrypto, block)
            .map_err(|e| anyhow::anyhow!("{chain} {}: native: {e}", step.height))?;
        let new_epoch = block.inner_lite.epoch_id != head_epoch;

        let r = full.add_block(relayer, block).await?;
        if let Some(f) = failure(&r) {
            bail!("{chain} {} (full): {f}", step.height);
        }
        let mut lean_block = block.clone();
        if !new_epoch {
            lean_block.next_bps = None;
        }
        let r_lean = lean.add_block(relayer, &lean_block).await?;
        if let Some(f) = failure(&r_lean) {
            bail!("{chain} {} (lean): {f}", step.height);
        }
        let row = BlockRow {
            height: step.height,
            new_epoch,
            producers,
            approvals: approvals_present(block, producers),
            checked: validated.signatures_checked,
            carries_next_bps: block.next_bps.is_some(),
            full: gas_burnt(&r),
            lean: gas_burnt(&r_lean),
        };
        eprintln!(
            "{chain} {}: new_epoch={} approvals={}/{} checked={} full={} gas lean={} gas",
            row.height,
            row.new_epoch,
            row.approvals,
            row.producers,
            row.checked,
            row.full,
            row.lean
        );
        rows.push(row);
    }
    if full.head().await?.hash != case.steps.last().context("steps")?.block_hash {
        bail!("{chain}: the contract's head is not the last block");
    }
    Ok(rows)
}

async fn bench_proofs(
    worker: &near_workspaces::Worker<near_workspaces::network::Sandbox>,
    caller: &near_workspaces::Account,
) -> Result<Vec<ProofRow>> {
    let mut rows = Vec::new();
    for case in manifest().outcome_proofs {
        if case.expect != Verdict::Valid {
            continue;
        }
        let proof = xsc_vectors::proof(&case.proof);
        let (init, height) = proof_init(&proof, case.root, None)?;
        let lc = LightClientContract::deploy_by(worker, &init, Some(caller)).await?;
        let r = lc.verify_outcome_tx(caller, &proof, height).await?;
        if let Some(f) = failure(&r) {
            bail!("{}: {f}", case.proof);
        }
        let row = ProofRow {
            name: case
                .proof
                .trim_start_matches("proofs/")
                .trim_end_matches(".json")
                .to_string(),
            block_proof: proof.block_proof.len(),
            logs: proof.outcome_proof.outcome.logs.len(),
            gas: gas_burnt(&r),
        };
        eprintln!("{}: {} gas", row.name, row.gas);
        rows.push(row);
    }
    Ok(rows)
}

/// Blocks of the sandbox's own chain, relayed to a light client of it as they become final.
async fn bench_own_chain(
    worker: &near_workspaces::Worker<near_workspaces::network::Sandbox>,
    relayer: &near_workspaces::Account,
    blocks: usize,
) -> Result<Vec<BlockRow>> {
    let rpc = Rpc::new(&worker.rpc_addr());
    let init = own_chain::init_args(&rpc).await?;
    let producers = init.epoch_producers.as_ref().map_or(0, |p| p.len());
    let lc = LightClientContract::deploy_by(worker, &init, Some(relayer)).await?;
    let mut rows = Vec::new();
    let mut tries = 0;
    while rows.len() < blocks {
        let head = lc.head().await?;
        let Some(block) = own_chain::next_block(&rpc, &head.hash).await? else {
            tries += 1;
            if tries > 200 {
                bail!("the sandbox produced no new light client block");
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            continue;
        };
        if block.inner_lite.height <= head.height {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            continue;
        }
        let r = lc.add_block(relayer, &block).await?;
        if let Some(f) = failure(&r) {
            bail!("own chain {}: {f}", block.inner_lite.height);
        }
        let row = BlockRow {
            height: block.inner_lite.height,
            new_epoch: block.inner_lite.epoch_id != head.epoch_id,
            producers,
            approvals: approvals_present(&block, producers),
            checked: 1,
            carries_next_bps: block.next_bps.is_some(),
            full: gas_burnt(&r),
            lean: gas_burnt(&r),
        };
        eprintln!("own chain {}: {} gas", row.height, row.full);
        rows.push(row);
    }
    Ok(rows)
}

#[tokio::main]
async fn main() -> Result<()> {
    artifacts::load(artifacts::LIGHT_CLIENT)?;
    let bin = sandbox::require_sandbox_bin()?;
    let worker = sandbox::start().await?;
    let status = worker.status().await?;
    let relayer = worker.dev_create_account().await?;

    let mut chains = Vec::new();
    for chain in CHAINS {
        chains.push((chain, bench_chain(&worker, &relayer, chain).await?));
    }
    chains.push((
        "sandbox (1 producer)",
        bench_own_chain(&worker, &relayer, 12).await?,
    ));
    let proofs = bench_proofs(&worker, &relayer).await?;

    let mut md = String::new();
    writeln!(
        md,
        "Measured in a neard sandbox ({} {}, protocol {}; binary `{}`) with real mainnet and \
         testnet blocks and proofs (`shared/vectors`); reproduce with `cargo run --release -p \
         xsc-tests --bin gas_bench`. Gas is the exact total burnt by the transaction and all its \
         receipts, in Tgas; every transaction prepays 300 Tgas.\n",
        status.version.version,
        status.version.build,
        status.protocol_version,
        bin.file_name().unwrap_or_default().to_string_lossy()
    )?;
    writeln!(md, "### `add_light_client_block` (borsh argument)\n")?;
    writeln!(
        md,
        "\"full\": blocks as `next_light_client_block` returns them. \"lean\": `next_bps` stripped \
         from blocks that stay in the head's epoch (the relayer's mode); a block that opens an \
         epoch carries `next_bps` in both.\n"
    )?;
    writeln!(
        md,
        "| chain | blocks | median full | max full | median lean | max lean |\n|---|---:|---:|---:|---:|---:|"
    )?;
    for (chain, rows) in &chains {
        let (mf, xf) = median_max(&rows.iter().map(|r| r.full).collect::<Vec<_>>());
        let (ml, xl) = median_max(&rows.iter().map(|r| r.lean).collect::<Vec<_>>());
        writeln!(
            md,
            "| {chain} | {} | {} | {} | {} | {} |",
            rows.len(),
            t(mf),
            t(xf),
            t(ml),
            t(xl)
        )?;
    }
    for (chain, rows) in &chains {
        writeln!(md, "\n#### {chain}\n")?;
        writeln!(
            md,
            "| height | new epoch | next_bps | approvals / producers | signatures checked | full (Tgas) | lean (Tgas) |\n|---:|:---:|:---:|---:|---:|---:|---:|"
        )?;
        for r in rows {
            writeln!(
                md,
                "| {} | {} | {} | {} / {} | {} | {} | {} |",
                r.height,
                if r.new_epoch { "yes" } else { "" },
                if r.carries_next_bps { "yes" } else { "" },
                r.approvals,
                r.producers,
                r.checked,
                t(r.full),
                t(r.lean)
            )?;
        }
        let (mf, xf) = median_max(&rows.iter().map(|r| r.full).collect::<Vec<_>>());
        let (ml, xl) = median_max(&rows.iter().map(|r| r.lean).collect::<Vec<_>>());
        writeln!(md, "| **median** | | | | | {} | {} |", t(mf), t(ml))?;
        writeln!(md, "| **max** | | | | | {} | {} |", t(xf), t(xl))?;
    }
    writeln!(
        md,
        "\n### `verify_outcome` (borsh arguments, called as a transaction)\n"
    )?;
    writeln!(
        md,
        "| proof | block_proof items | logs | gas (Tgas) |\n|---|---:|---:|---:|"
    )?;
    for r in &proofs {
        writeln!(
            md,
            "| {} | {} | {} | {} |",
            r.name,
            r.block_proof,
            r.logs,
            t(r.gas)
        )?;
    }
    let (m, x) = median_max(&proofs.iter().map(|r| r.gas).collect::<Vec<_>>());
    writeln!(md, "| **median** | | | {} |", t(m))?;
    writeln!(md, "| **max** | | | {} |", t(x))?;
    print!("{md}");
    Ok(())
}
