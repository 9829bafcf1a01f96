//! Test-only access to the real network vectors in `shared/vectors` (see its README):
//! light client chains and outcome proofs, with the verdicts `manifest.json` requires.
//!
//! The folder is found through `XSC_VECTORS_DIR`, else as `shared/vectors` beside (or above) the
//! workspace. A missing folder is a hard error: tests never pass silently without their data.

use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use xsc_core::{CryptoHash, LightClientBlockView, LightClientExecutionProof, ValidatorStakeView};

pub fn vectors_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("XSC_VECTORS_DIR") {
        return PathBuf::from(dir);
    }
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let candidate = dir.join("shared").join("vectors");
        if candidate.join("manifest.json").is_file() {
            return candidate;
        }
        let sibling = dir.join("..").join("shared").join("vectors");
        if sibling.join("manifest.json").is_file() {
            return sibling;
        }
        if !dir.pop() {
            panic!(
                "shared/vectors not found above {}; set XSC_VECTORS_DIR",
                env!("CARGO_MANIFEST_DIR")
            );
        }
    }
}

pub fn path(rel: &str) -> PathBuf {
    vectors_dir().join(rel)
}

/// Parse a JSON file, unwrapping a JSON-RPC envelope if present.
pub fn read_json(rel: &str) -> Value {
    let p = path(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()));
    match v {
        Value::Object(mut m) if m.contains_key("result") && m.contains_key("jsonrpc") => {
            m.remove("result").unwrap()
        }
        v => v,
    }
}

pub fn block(rel: &str) -> LightClientBlockView {
    serde_json::from_value(read_json(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn bps(rel: &str) -> Vec<ValidatorStakeView> {
    serde_json::from_value(read_json(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn proof(rel: &str) -> LightClientExecutionProof {
    serde_json::from_value(read_json(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub light_client_chains: Vec<ChainCase>,
    pub outcome_proofs: Vec<ProofCase>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChainCase {
    pub name: String,
    pub trusted_head: String,
    #[serde(default)]
    pub bps: Option<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Step {
    pub block: String,
    pub height: u64,
    pub expect: Verdict,
    pub block_hash: CryptoHash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Accept,
    Reject,
    Valid,
    Invalid,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProofCase {
    pub proof: String,
    pub root: CryptoHash,
    pub expect: Verdict,
    pub block_height: u64,
}

pub fn manifest() -> Manifest {
    serde_json::from_value(read_json("manifest.json")).expect("manifest.json")
}

impl ChainCase {
    pub fn head(&self) -> LightClientBlockView {
        block(&self.trusted_head)
    }
    /// Producers of the first step's epoch when the manifest gives them.
    pub fn bps(&self) -> Option<Vec<ValidatorStakeView>> {
        self.bps.as_deref().map(bps)
    }
    pub fn blocks(&self) -> Vec<LightClientBlockView> {
        self.steps.iter().map(|s| block(&s.block)).collect()
    }
    /// The native light client this chain starts from: the trusted head, its `next_bps`, and
    /// `bps` for the first step's epoch (`xsc_core::trusted_state_for`).
    pub fn start(&self) -> xsc_core::LightClient {
        let head = self.head();
        let first_epoch = self.blocks().first().map(|b| b.inner_lite.epoch_id);
        let state = xsc_core::trusted_state_for(
            &xsc_core::NativeCrypto,
            &xsc_core::LightClientBlockLiteView::from(&head),
            head.next_bps.clone(),
            self.bps(),
            first_epoch.as_ref(),
        )
        .unwrap_or_else(|e| panic!("{}: trusted state: {e}", self.name));
        xsc_core::LightClient::new(state)
    }
}

/// Every chain's blocks, for mutation tests: (case, head, first-epoch producers, blocks).
pub fn chain(name: &str) -> ChainCase {
    manifest()
        .light_client_chains
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no chain {name}"))
}

/// The message of a contract panic caught in a near-sdk unit test, from its stable `ERR_…` code
/// (or a plugin's message) on. near-sdk's mocked blockchain wraps `env::panic_str` in
/// `HostError(GuestPanic { panic_msg: "…" })`; this strips the wrapping.
pub fn panic_message(e: Box<dyn std::any::Any + Send>) -> String {
    let raw = e
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    let start = raw
        .find("ERR_")
        .or_else(|| raw.find("Pausable"))
        .or_else(|| raw.find("Insufficient"))
        .unwrap_or(0);
    raw[start..]
        .trim_end_matches(['"', ' ', '}', ')'])
        .to_string()
}
