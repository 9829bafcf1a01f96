//! Contract initialisations derived from the real-network vectors (`shared/vectors`).

use crate::light_client::{InitArgs, WindowArgs};
use anyhow::{ensure, Context, Result};
use near_workspaces::AccountId;
use xsc_core::client::{trusted_state_for, LightClient, TrustedState};
use xsc_core::hashing::block_hash;
use xsc_core::{
    CryptoHash, LightClientBlockLiteView, LightClientBlockView, LightClientExecutionProof,
    NativeCrypto, ValidatorStakeView,
};
use xsc_vectors::ChainCase;

/// A manifest chain ready for the contract: its `new` arguments and the trusted state the
/// native client starts from (the contract must end up with the same head).
pub struct ChainInit {
    pub init: InitArgs,
    pub trusted: TrustedState,
    pub blocks: Vec<LightClientBlockView>,
}

/// `new` arguments for a manifest chain, mirroring `xsc_core::client::trusted_state_for`:
/// - manifest `bps` for the head's *next* epoch (the first step starts it): they become the
///   head's `next_bps` (checked against its `next_bp_hash`), no `epoch_producers`;
/// - manifest `bps` otherwise: the producers of the head's epoch (`epoch_producers`), the head
///   keeps its own `next_bps`;
/// - no manifest `bps`: the head's `next_bps` covers the first step's epoch.
pub fn chain_init(
    case: &ChainCase,
    window: WindowArgs,
    admin: Option<AccountId>,
) -> Result<ChainInit> {
    let mut head = case.head();
    let blocks = case.blocks();
    let first_epoch = blocks.first().map(|b| b.inner_lite.epoch_id);
    let bps = case.bps();
    let lite = LightClientBlockLiteView::from(&head);
    let trusted = trusted_state_for(
        &NativeCrypto,
        &lite,
        head.next_bps.clone(),
        bps.clone(),
        first_epoch.as_ref(),
    )
    .map_err(|e| anyhow::anyhow!("{}: native trusted state: {e}", case.name))?;
    let inner = &head.inner_lite;
    let epoch_producers = match bps {
        Some(bps)
            if first_epoch == Some(inner.next_epoch_id)
                && inner.next_epoch_id != inner.epoch_id =>
        {
            head.next_bps = Some(bps);
            None
        }
        Some(bps) => Some(bps),
        None => None,
    };
    Ok(ChainInit {
        init: InitArgs {
            head,
            epoch_producers,
            window,
            admin,
        },
        trusted,
        blocks,
    })
}

/// The native light client for a chain, started from the same trusted state.
pub fn native_client(case: &ChainCase) -> Result<LightClient> {
    Ok(LightClient::new(
        chain_init(case, WindowArgs::default(), None)?.trusted,
    ))
}

/// A real, ordered producer list (the `next_bps` of the `testnet-105M` trusted head).
pub fn real_producers() -> Result<Vec<ValidatorStakeView>> {
    xsc_vectors::chain("testnet-105M")
        .head()
        .next_bps
        .context("testnet-105M head carries next_bps")
}

/// A trusted head for verifying `proof` against `root` through the contract, and the height to
/// pass to `verify_outcome`.
///
/// A proof's root must be a block the light client stores. Initialisation is trusted by design,
/// so the test trusts a head built for the proof:
/// - non-empty `block_proof`: a real header whose `block_merkle_root` is `root` and whose height
///   is the proven block's + 1 (the root covers the blocks before it);
/// - empty `block_proof`: the proof's own header (the root is that block's hash).
///
/// `next_bps` is dropped and `epoch_producers` is a real producer list.
pub fn proof_init(
    proof: &LightClientExecutionProof,
    root: CryptoHash,
    admin: Option<AccountId>,
) -> Result<(InitArgs, u64)> {
    let header = &proof.block_header_lite;
    let proof_height = header.inner_lite.height;
    let (head, height) = if proof.block_proof.is_empty() {
        ensure!(
            block_hash(&NativeCrypto, header) == root,
            "an empty block_proof proves the header itself: its hash must be the root"
        );
        let head = LightClientBlockView {
            prev_block_hash: header.prev_block_hash,
            next_block_inner_hash: CryptoHash::zero(),
            inner_lite: header.inner_lite.clone(),
            inner_rest_hash: header.inner_rest_hash,
            next_bps: None,
            approvals_after_next: Vec::new(),
        };
        (head, proof_height)
    } else {
        let mut head = xsc_vectors::chain("testnet-105M").head();
        head.inner_lite.block_merkle_root = root;
        head.inner_lite.height = proof_height + 1;
        head.next_bps = None;
        (head, proof_height + 1)
    };
    Ok((
        InitArgs {
            head,
            epoch_producers: Some(real_producers()?),
            window: WindowArgs::default(),
            admin,
        },
        height,
    ))
}

/// Number of present approvals that belong to producers of the block's epoch.
pub fn approvals_present(block: &LightClientBlockView, producers: usize) -> usize {
    block
        .approvals_after_next
        .iter()
        .take(producers)
        .filter(|a| a.is_some())
        .count()
}
