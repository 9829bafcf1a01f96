//! `xsc verify-proof`: verify an `EXPERIMENTAL_light_client_proof` result against a trusted root
//! and print one line:
//!
//! ```text
//! valid <outcome id> <executor id>
//! invalid <ERR_CODE: explanation>
//! ```
//!
//! The root is a trusted `block_merkle_root`, or the block hash itself when `block_proof` is empty
//! (an empty path folds to the header hash). Exit status: 0 valid, 1 invalid (including a proof
//! that does not decode), 2 for a bad --root or an unreadable file.

use crate::json;
use crate::{EXIT_OK, EXIT_REJECTED};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::PathBuf;
use xsc_core::{
    verify_outcome_proof, CryptoHash, Error, LightClientExecutionProof, NativeCrypto, ProvenOutcome,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trusted root (base58): a `block_merkle_root`, or the proven block's hash when the proof's
    /// `block_proof` is empty.
    #[arg(long, value_name = "HASH")]
    pub root: CryptoHash,
    /// The proof (RPC `EXPERIMENTAL_light_client_proof` result).
    #[arg(value_name = "PROOF.json")]
    pub proof: PathBuf,
}

fn verify(text: &str, root: &CryptoHash) -> Result<ProvenOutcome, Error> {
    let v = json::parse_result(text).map_err(Error::InvalidInput)?;
    let proof: LightClientExecutionProof = json::decode(v).map_err(Error::InvalidInput)?;
    verify_outcome_proof(&NativeCrypto, &proof, root)
}

pub fn run(args: &Args) -> Result<u8> {
    let text = json::read_text(&args.proof).context("proof unreadable")?;
    let (line, code) = match verify(&text, &args.root) {
        Ok(o) => (format!("valid {} {}", o.id, o.executor_id), EXIT_OK),
        Err(e) => (format!("invalid {e}"), EXIT_REJECTED),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
        .and_then(|()| out.flush())
        .context("writing to stdout")?;
    Ok(code)
}
