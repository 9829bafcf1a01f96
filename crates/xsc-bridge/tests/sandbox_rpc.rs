//! The RPC client, transaction sender and light client relay against a real running neard
//! sandbox, with the real light client contract (res/xsc_light_client.wasm) tracking the
//! sandbox's own chain.
//!
//! Ignored by default: it needs a node. Start one on loopback (see shared/notes/sandbox.md),
//! then:
//!
//! ```sh
//! XSC_SANDBOX_RPC=http://127.0.0.1:33030 XSC_SANDBOX_KEY=<home>/validator_key.json \
//!   cargo test -p xsc-bridge --test sandbox_rpc -- --ignored --nocapture
//! ```
//! A short `epoch_length` in the node's genesis (e.g. 50) lets it also cover an epoch change.
//! `XSC_LC_WASM` names another build of the light client contract than `res/`.

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use xsc_bridge::lightclient_relay::{
    ContractTarget, LightClientRelay, LightClientTarget, RelayConfig, RelayStep, RpcSource,
};
use xsc_bridge::rpc::{BlockRef, ProofTarget, RpcClient, RpcClientConfig};
use xsc_bridge::signer::TxSigner;
use xsc_bridge::tx::{TxOptions, TxSender, MAX_GAS_300T};
use xsc_core::hashing::block_hash;
use xsc_core::{LightClientBlockLiteView, NativeCrypto, ProvenOutcome};

const NEAR: u128 = 1_000_000_000_000_000_000_000_000;

#[tokio::test]
#[ignore = "needs a running neard sandbox: XSC_SANDBOX_RPC, XSC_SANDBOX_KEY"]
async fn against_a_running_sandbox() {
    let (Ok(url), Ok(key)) = (
        std::env::var("XSC_SANDBOX_RPC"),
        std::env::var("XSC_SANDBOX_KEY"),
    ) else {
        eprintln!("SKIPPED: set XSC_SANDBOX_RPC and XSC_SANDBOX_KEY");
        return;
    };
    let rpc = RpcClient::new(RpcClientConfig::new(url)).unwrap();

    // Reads.
    let status = rpc.status().await.unwrap();
    println!(
        "chain {} at {} (protocol {:?})",
        status.chain_id, status.sync_info.latest_block_height, status.protocol_version
    );
    let fin = rpc.block(BlockRef::Final).await.unwrap();
    let chunk = rpc.chunk(&fin.chunks[0].chunk_hash).await.unwrap();
    println!(
        "final block {} has {} chunk(s); chunk 0: {} txs",
        fin.header.height,
        fin.chunks.len(),
        chunk.transactions.len()
    );
    assert!(rpc.block_if_exists(u64::MAX / 2).await.unwrap().is_none());
    let producers = rpc
        .validators_ordered(BlockRef::Hash(fin.header.hash))
        .await
        .unwrap();
    assert!(!producers.is_empty());

    // A new account for the light client, with its own key.
    let root = Arc::new(TxSigner::from_key_file(&PathBuf::from(key)).unwrap());
    let root_tx = TxSender::new(rpc.clone(), root.clone(), TxOptions::default());
    let lc_account = format!("lc{}.{}", std::process::id(), root.account_id());
    let lc_signer = Arc::new(TxSigner::from_seed(&lc_account, "lc").unwrap());
    let created = root_tx
        .create_account(&lc_account, lc_signer.public_key(), 30 * NEAR)
        .await
        .unwrap();
    assert!(created.is_success(), "{:?}", created.failure());
    let create_hash = created.tx_hash().unwrap();
    println!(
        "created {lc_account} in tx {create_hash}, gas {}",
        created.total_gas_burnt()
    );

    // XSC_LC_WASM: another build of the contract (e.g. one for this node's host functions).
    let wasm_path = std::env::var("XSC_LC_WASM").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../res/xsc_light_client.wasm"
        )
        .to_string()
    });
    let wasm = std::fs::read(&wasm_path).unwrap_or_else(|e| panic!("{wasm_path}: {e}"));
    let lc_tx = TxSender::new(rpc.clone(), lc_signer, TxOptions::default());
    let deployed = lc_tx.deploy_contract(&lc_account, wasm).await.unwrap();
    assert!(deployed.is_success(), "{:?}", deployed.failure());

    // Initialise it with a final light client block of this very chain and its producers.
    // Ask with an older block of (about) this epoch: the node answers with its latest final
    // light client block.
    let fin = rpc.block(BlockRef::Final).await.unwrap();
    let older = rpc
        .block(BlockRef::Height(fin.header.height.saturating_sub(5).max(1)))
        .await
        .unwrap();
    let head = rpc
        .next_light_client_block(&older.header.hash)
        .await
        .unwrap()
        .expect("a light client block");
    let head_hash = block_hash(&NativeCrypto, &LightClientBlockLiteView::from(&head));
    let bps = rpc
        .validators_ordered(BlockRef::Hash(head_hash))
        .await
        .unwrap();
    let init = serde_json::to_vec(&json!({"head": head, "epoch_producers": bps})).unwrap();
    let out = lc_tx
        .call_function(&lc_account, "new", init, MAX_GAS_300T, 0)
        .await
        .unwrap();
    assert!(out.is_success(), "{:?}", out.failure());
    println!(
        "light client initialised at {} (gas {})",
        head.inner_lite.height,
        out.total_gas_burnt()
    );

    // Relay: the relayer is the root account.
    let relay = LightClientRelay::new(
        RpcSource { rpc: rpc.clone() },
        ContractTarget::new(&lc_account, Arc::new(root_tx)),
        RelayConfig {
            poll_interval: Duration::from_millis(300),
            ..RelayConfig::new("sandbox", "sandbox")
        },
    );
    let before = relay.target().head().await.unwrap();
    assert_eq!(before.hash, head_hash);
    tokio::time::sleep(Duration::from_secs(2)).await;
    match relay.relay_once().await.unwrap() {
        RelayStep::Relayed(r) => println!(
            "relayed {} lean={} new_epoch={} gas {}",
            r.height, r.lean, r.new_epoch, r.submitted.gas_burnt
        ),
        s => panic!("nothing to relay: {s:?}"),
    }
    let h = relay
        .ensure_height(before.height + 8, Duration::from_secs(60))
        .await
        .unwrap();
    println!("light client head now {}", h.height);
    assert!(h.height >= before.height + 8);

    // Prove the account creation against the light client's head and verify it on chain.
    let head = relay
        .proof_head_for(
            created_block_height(&rpc, &created).await + 1,
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let target = ProofTarget::Transaction {
        hash: create_hash,
        sender_id: root.account_id().to_string(),
    };
    let proof = rpc.light_client_proof(&target, &head.hash).await.unwrap();
    println!(
        "proof block {} below head {}",
        proof.block_header_lite.inner_lite.height, head.height
    );
    let args = borsh::to_vec(&(proof, head.height)).unwrap();
    let r = rpc
        .view_call_raw(&lc_account, "verify_outcome", &args, BlockRef::Optimistic)
        .await
        .unwrap();
    let proven: ProvenOutcome = borsh::from_slice(&r.result).unwrap();
    assert_eq!(proven.id, create_hash);
    assert_eq!(proven.executor_id, root.account_id().as_str());
    println!(
        "verify_outcome: {} executed by {}",
        proven.id, proven.executor_id
    );

    // An epoch change, if the genesis has short epochs.
    let start = Instant::now();
    let epoch0 = relay.target().head().await.unwrap().epoch_id;
    while start.elapsed() < Duration::from_secs(150) {
        let relayed = relay.keep_up().await.unwrap();
        if let Some(r) = relayed.iter().find(|r| r.new_epoch) {
            println!(
                "epoch change relayed at {} (gas {})",
                r.height, r.submitted.gas_burnt
            );
            assert_ne!(r.epoch_id, epoch0);
            return;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!("no epoch change within 150 s (long epochs?): not checked");
}

async fn created_block_height(rpc: &RpcClient, out: &xsc_bridge::rpc::FinalOutcome) -> u64 {
    let hash = out
        .transaction_outcome
        .as_ref()
        .unwrap()
        .block_hash
        .unwrap();
    rpc.block(BlockRef::Hash(hash)).await.unwrap().header.height
}
