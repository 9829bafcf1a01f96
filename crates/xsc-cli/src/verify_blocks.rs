//! `xsc verify-blocks`: apply light client blocks to a trusted head, exactly as the light client
//! contract does (`xsc_core::LightClient::apply`), and print one verdict line per block:
//!
//! ```text
//! <height> accept <block hash>
//! <height> reject <ERR_CODE: explanation>
//! ```
//!
//! A rejected block leaves the head unchanged; the next block is tried against the same head.
//! A block file that does not decode is rejected with `ERR_INVALID_INPUT` (height `?` when even
//! `inner_lite.height` cannot be read). Exit status: 0 iff every block was accepted, 1 otherwise,
//! 2 when the head, the producer list or a block file cannot be read, or when they do not make a
//! trusted state.

use crate::json;
use crate::{EXIT_OK, EXIT_REJECTED};
use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use xsc_core::{
    trusted_state_for, CryptoHash, Error, LightClient, LightClientBlockLiteView,
    LightClientBlockView, NativeCrypto, ValidatorStakeView,
};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Trusted head: a `LightClientBlockView`, or a `LightClientBlockLiteView` (no
    /// `approvals_after_next`, hence no `next_bps`; then --bps is required).
    #[arg(long, value_name = "HEAD.json")]
    pub head: PathBuf,
    /// Ordered block producers (JSON array of ValidatorStakeView) of the first block's epoch.
    /// Defaults to the head's `next_bps`.
    #[arg(long, value_name = "BPS.json")]
    pub bps: Option<PathBuf>,
    /// Blocks (RPC `next_light_client_block` results), applied in this order.
    #[arg(required = true, value_name = "BLOCK.json")]
    pub blocks: Vec<PathBuf>,
}

/// The trusted head as given: a full view carries the producers of the head's next epoch.
struct TrustedHead {
    lite: LightClientBlockLiteView,
    next_bps: Option<Vec<ValidatorStakeView>>,
}

fn load_head(path: &Path) -> Result<TrustedHead> {
    let v = json::load_value(path, "head")?;
    let decoded = if v.get("approvals_after_next").is_none() {
        json::decode::<LightClientBlockLiteView>(v).map(|lite| TrustedHead {
            lite,
            next_bps: None,
        })
    } else {
        json::decode::<LightClientBlockView>(v).map(|full| TrustedHead {
            lite: LightClientBlockLiteView::from(&full),
            next_bps: full.next_bps,
        })
    };
    decoded.map_err(|e| anyhow::anyhow!("head {}: {e}", path.display()))
}

/// One block file, decoded or not.
enum Input {
    Block(Box<LightClientBlockView>),
    /// Height (from the raw JSON when readable) and why it does not decode.
    Invalid(Option<u64>, String),
}

/// Decode a block file's text. Also returns its raw `inner_lite.epoch_id` when readable.
fn decode_block(text: &str) -> (Input, Option<CryptoHash>) {
    let v = match json::parse_result(text) {
        Ok(v) => v,
        // An envelope with an error still tells nothing about the block.
        Err(e) => return (Input::Invalid(None, e), None),
    };
    let height = json::raw_height(&v);
    let epoch = json::raw_epoch_id(&v);
    let input = match json::decode::<LightClientBlockView>(v) {
        Ok(b) => Input::Block(Box::new(b)),
        Err(e) => Input::Invalid(height, e),
    };
    (input, epoch)
}

pub fn run(args: &Args) -> Result<u8> {
    let head = load_head(&args.head)?;
    let bps = args
        .bps
        .as_deref()
        .map(|p| json::load::<Vec<ValidatorStakeView>>(p, "producer list (--bps)"))
        .transpose()?;
    // Every file is read before anything is printed: a missing file is a usage error.
    let texts = args
        .blocks
        .iter()
        .map(|p| json::read_text(p).context("block unreadable"))
        .collect::<Result<Vec<_>>>()?;
    let (inputs, epochs): (Vec<Input>, Vec<Option<CryptoHash>>) =
        texts.iter().map(|t| decode_block(t)).unzip();
    // The epoch of the first block (the first whose epoch can be read at all).
    let first_epoch = epochs.into_iter().flatten().next();

    let state = trusted_state_for(
        &NativeCrypto,
        &head.lite,
        head.next_bps,
        bps,
        first_epoch.as_ref(),
    )
    .map_err(|e| {
        anyhow::anyhow!("cannot build a trusted state from the head and producers: {e}")
    })?;
    let mut client = LightClient::new(state);

    let mut out = std::io::stdout().lock();
    let mut all_accepted = true;
    for input in inputs {
        let line = match input {
            Input::Block(block) => match client.apply(&NativeCrypto, &block) {
                Ok(v) => format!("{} accept {}", v.height, v.hash),
                Err(e) => {
                    all_accepted = false;
                    format!("{} reject {e}", block.inner_lite.height)
                }
            },
            Input::Invalid(height, msg) => {
                all_accepted = false;
                let height = height.map_or_else(|| "?".to_string(), |h| h.to_string());
                format!("{height} reject {}", Error::InvalidInput(msg))
            }
        };
        writeln!(out, "{line}").context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(if all_accepted { EXIT_OK } else { EXIT_REJECTED })
}
