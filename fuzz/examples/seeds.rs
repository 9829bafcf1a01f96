//! Writes the seed corpus of the binary-input targets from the real network data of
//! `shared/vectors` (blocks, heads and outcome proofs of the manifest), into
//! `fuzz/seeds/<target>/` (generated, not committed). `scripts/fuzz.sh` runs it first.
//!
//! `cargo run --example seeds [out-dir]`

use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::AccountId;
use std::path::{Path, PathBuf};
use xsc_core::{ExecutionStatusView, ProvenOutcome};
use xsc_interfaces::calimero::{CrossCallEvent, CrossResponseEvent};
use xsc_interfaces::{CalimeroMsg, MessageKind, TransportEvent, XcallMsg, XcallResponseMsg};

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).expect("create seed dir");
    std::fs::write(d.join(name), bytes).expect("write seed");
}

fn acc(s: &str) -> AccountId {
    s.parse().expect("account id")
}

/// Outcomes carrying one message of each kind, as a locker logs them.
fn message_logs() -> Vec<Vec<String>> {
    let call = CrossCallEvent {
        destination_contract_id: "greeter.b.near".into(),
        destination_contract_method: "greet".into(),
        destination_contract_args: br#"{"name":"ada"}"#.to_vec(),
        destination_gas: 20_000_000_000_000,
        destination_deposit: 0,
        initiator: "dapp.a.near".into(),
        source_callback_method: "on_greeting".into(),
    };
    let response = CrossResponseEvent {
        source_contract: "dapp.a.near".into(),
        source_contract_method: "on_greeting".into(),
        result: Some(b"\"hi\"".to_vec()),
        destination_contract: "greeter.b.near".into(),
    };
    let cm = |nsn| CalimeroMsg {
        dst: acc("conn.b.near"),
        net: "b".into(),
        nsn: U64(nsn),
        request_id: U64(3),
    };
    vec![
        vec![call.to_log(), TransportEvent::CrossCall(cm(0)).to_log()],
        vec![
            response.to_log(),
            TransportEvent::CrossCallResponse(cm(1)).to_log(),
        ],
        vec![TransportEvent::XcallMessage(XcallMsg {
            dst: acc("conn.b.near"),
            net: "b".into(),
            nsn: U64(2),
            from: "btp://a/dapp.a.near".into(),
            to: acc("dapp.b.near"),
            sn: U64(1),
            data: Base64VecU8(vec![1, 2, 3]),
            rollback: true,
            expires_at: U64(1_700_000_000_000_000_000),
            handler_gas: Some(U64(30_000_000_000_000)),
        })
        .to_log()],
        vec![TransportEvent::XcallResponse(XcallResponseMsg {
            dst: acc("conn.a.near"),
            net: "a".into(),
            nsn: U64(3),
            sn: U64(1),
            code: -1,
            msg: "handler failed".into(),
        })
        .to_log()],
    ]
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds"));
    let manifest = xsc_vectors::manifest();
    let mut blocks = 0;
    for chain in &manifest.light_client_chains {
        let head = borsh::to_vec(&chain.head()).expect("encode");
        write(&out, "block_reader", &format!("{}-head", chain.name), &head);
        for (step, block) in chain.steps.iter().zip(chain.blocks()) {
            let bytes = borsh::to_vec(&block).expect("encode");
            let name = format!("{}-{}", chain.name, step.height);
            write(&out, "block_reader", &name, &bytes);
            write(&out, "block_verify", &name, &bytes);
            blocks += 1;
        }
    }
    let mut outcomes = Vec::new();
    for case in &manifest.outcome_proofs {
        let proof = xsc_vectors::proof(&case.proof);
        let args = xsc_interfaces::delivery_args(&proof, case.block_height);
        let name = case.proof.replace('/', "-");
        write(&out, "proof_reader", &name, &args);
        write(&out, "proof_verify", &name, &args);
        if let Ok(o) = xsc_core::verify_outcome_proof(&xsc_core::NativeCrypto, &proof, &case.root) {
            outcomes.push(o);
        }
    }
    for (i, logs) in message_logs().into_iter().enumerate() {
        let mut o = outcomes[0].clone();
        o.executor_id = "conn.a.near".into();
        o.status = ExecutionStatusView::SuccessValue(vec![]);
        o.logs = logs;
        outcomes.push(ProvenOutcome {
            id: xsc_core::CryptoHash([i as u8; 32]),
            ..o
        });
    }
    for (i, o) in outcomes.iter().enumerate() {
        let kind = MessageKind::ALL[i % 4];
        let args = borsh::to_vec(&(acc("relayer.near"), o, borsh::to_vec(&kind).unwrap()))
            .expect("encode");
        write(&out, "proven_outcome_args", &format!("outcome-{i}"), &args);
    }
    println!(
        "seeds: {blocks} blocks, {} proofs, {} outcomes in {}",
        manifest.outcome_proofs.len(),
        outcomes.len(),
        out.display()
    );
}
