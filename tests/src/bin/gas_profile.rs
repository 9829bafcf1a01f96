//! Where the gas of `add_light_client_block` goes: submits real blocks to a sandbox light client
//! and prints nearcore's gas profile (per cost) of each receipt. A diagnostic companion of
//! `gas_bench`: `cargo run --release -p xsc-tests --bin gas_profile [chain] [steps]`.

use anyhow::{Context, Result};
use serde_json::{json, Value};
use xsc_tests::{fixtures, light_client::LightClientContract, sandbox};

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let chain = args.next().unwrap_or_else(|| "mainnet-91M".into());
    let steps: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2);
    let worker = sandbox::start().await?;
    let case = xsc_vectors::chain(&chain);
    let init = fixtures::chain_init(&case, None, None)?;
    let lc = LightClientContract::deploy(&worker, &init.init).await?;
    let relayer = worker.dev_create_account().await?;
    let http = reqwest_lite(&worker.rpc_addr());
    for block in init.blocks.iter().take(steps) {
        let result = lc.add_block(&relayer, block).await?;
        let tx = result.outcome().transaction_hash;
        let status: Value = http(json!({"jsonrpc":"2.0","id":1,"method":"EXPERIMENTAL_tx_status",
            "params":{"tx_hash": tx.to_string(), "sender_account_id": relayer.id(), "wait_until":"FINAL"}}))
        .await?;
        println!(
            "== block {} total {:.3} Tgas",
            block.inner_lite.height,
            result.total_gas_burnt.as_gas() as f64 / 1e12
        );
        for r in status["result"]["receipts_outcome"]
            .as_array()
            .context("receipts")?
        {
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
            for (gas, cost) in costs.iter().take(12) {
                println!("    {:>8.3} Tgas  {cost}", *gas as f64 / 1e12);
            }
        }
    }
    Ok(())
}

/// A minimal JSON-RPC POST over the sandbox's loopback address (no extra HTTP dependency).
fn reqwest_lite(
    addr: &str,
) -> impl Fn(Value) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value>>>> {
    let addr = addr
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    move |body: Value| {
        let addr = addr.clone();
        Box::pin(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let payload = body.to_string();
            let mut s = tokio::net::TcpStream::connect(&addr).await?;
            let req = format!("POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{payload}", payload.len());
            s.write_all(req.as_bytes()).await?;
            let mut buf = Vec::new();
            s.read_to_end(&mut buf).await?;
            let text = String::from_utf8_lossy(&buf);
            let body = text.split("\r\n\r\n").nth(1).context("http body")?;
            Ok(serde_json::from_str(body)?)
        })
    }
}
