//! Where the gas of `add_light_client_block` goes: submits blocks to a sandbox light client and
//! prints nearcore's gas profile (per cost) of each receipt. A diagnostic companion of
//! `gas_bench`: `cargo run --release -p xsc-tests --bin gas_profile [chain] [steps]`, where
//! `chain` is a manifest chain (`mainnet-91M`, `testnet-105M`) or `sandbox` (the sandbox's own
//! one-producer chain). Blocks are submitted as the RPC returns them (`next_bps` included);
//! `lean` as a third argument strips `next_bps` from blocks that stay in the head's epoch.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use xsc_tests::light_client::{LightClientContract, WindowArgs};
use xsc_tests::rpc::Rpc;
use xsc_tests::{fixtures, own_chain, sandbox};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let chain = args.next().unwrap_or_else(|| "mainnet-91M".into());
    let steps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let lean = args.next().as_deref() == Some("lean");
    let worker = sandbox::start().await?;
    let rpc = Rpc::new(&worker.rpc_addr());
    let relayer = worker.dev_create_account().await?;
    let (lc, blocks) = if chain == "sandbox" {
        let init = own_chain::init_args(&rpc).await?;
        (LightClientContract::deploy(&worker, &init).await?, None)
    } else {
        let case = xsc_vectors::chain(&chain);
        let init = fixtures::chain_init(&case, WindowArgs::default(), None)?;
        (
            LightClientContract::deploy(&worker, &init.init).await?,
            Some(init.blocks),
        )
    };
    for i in 0..steps {
        let head = lc.head().await?;
        let mut block = match &blocks {
            Some(b) => match b.get(i) {
                Some(b) => b.clone(),
                None => break,
            },
            None => loop {
                match own_chain::next_block(&rpc, &head.hash).await? {
                    Some(b) if b.inner_lite.height > head.height => break b,
                    _ => tokio::time::sleep(std::time::Duration::from_millis(300)).await,
                }
            },
        };
        if lean && block.inner_lite.epoch_id == head.epoch_id {
            block.next_bps = None;
        }
        let result = lc.add_block(&relayer, &block).await?;
        if let Some(f) = xsc_tests::outcome::failure(&result) {
            println!("== block {} FAILED: {f}", block.inner_lite.height);
        }
        let tx = result.outcome().transaction_hash;
        let status: Value = rpc
            .call(
                "EXPERIMENTAL_tx_status",
                json!({"tx_hash": tx.to_string(), "sender_account_id": relayer.id(), "wait_until": "FINAL"}),
            )
            .await?;
        println!(
            "== block {} total {:.3} Tgas (transaction {:.3})",
            block.inner_lite.height,
            result.total_gas_burnt.as_gas() as f64 / 1e12,
            status["transaction_outcome"]["outcome"]["gas_burnt"]
                .as_u64()
                .unwrap_or(0) as f64
                / 1e12
        );
        for r in status["receipts_outcome"].as_array().context("receipts")? {
            let o = &r["outcome"];
            println!(
                "  receipt {} burnt {:.3} Tgas",
                o["executor_id"],
                o["gas_burnt"].as_u64().unwrap_or(0) as f64 / 1e12
            );
            let mut costs: Vec<(u64, String)> = o["metadata"]["gas_profile"]
                .as_array()
                .map(|p| {
                    p.iter()
                        .map(|c| {
                            (
                                c["gas_used"]
                                    .as_str()
                                    .and_then(|s| s.parse().ok())
                                    .unwrap_or(0),
                                c["cost"].as_str().unwrap_or("").to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            costs.sort_by(|a, b| b.cmp(a));
            for (gas, cost) in costs.iter().take(40) {
                println!("    {:>8.3} Tgas  {cost}", *gas as f64 / 1e12);
            }
        }
    }
    Ok(())
}
