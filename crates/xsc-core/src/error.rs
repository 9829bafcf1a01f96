//! Verification errors. Each renders a stable `ERR_*` code followed by a human explanation;
//! contracts panic with exactly this text, so clients can match on the code.

use core::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    // --- light client blocks ---
    /// The block is not above the current head.
    BlockNotNewer { head: u64, block: u64 },
    /// The block's epoch is neither the head's epoch nor the next one (an epoch was skipped).
    EpochSkipped,
    /// The producers of the block's epoch are not known to this light client.
    UnknownEpochProducers,
    /// An epoch change without `next_bps`.
    NextBpsMissing,
    /// `sha256(borsh(next_bps)) != inner_lite.next_bp_hash`.
    NextBpsHashMismatch,
    /// A producer set that is empty or larger than [`crate::block::MAX_PRODUCERS`].
    InvalidProducerSet,
    /// Total stake does not fit in u128.
    StakeOverflow,
    /// A present approval is not an ed25519 signature.
    UnsupportedSignature { index: usize },
    /// A producer whose approval is checked has a non-ed25519 key.
    UnsupportedKey { index: usize },
    /// A present approval does not verify with its producer's key.
    InvalidSignature { index: usize },
    /// Verified approvals hold no more than 2/3 of the epoch's stake.
    NotEnoughApprovals { approved: u128, total: u128 },

    // --- outcome proofs ---
    /// A merkle path longer than [`crate::proof::MAX_MERKLE_PATH`].
    ProofPathTooLong,
    /// The folded outcome root differs from the header's `outcome_root`.
    OutcomeRootMismatch,
    /// The header's hash differs from `outcome_proof.block_hash`.
    BlockHashMismatch,
    /// The block proof does not lead to the trusted root.
    BlockRootMismatch,
    /// No trusted block is stored at the requested height.
    UnknownRoot { height: u64 },
    /// A non-empty block proof for a block that is not strictly below the trusted block.
    ProofBlockTooNew { proof_height: u64, root_height: u64 },
    /// An empty block proof proves the trusted block itself; the heights differ.
    ProofHeightMismatch { proof_height: u64, root_height: u64 },

    // --- input decoding ---
    /// Input that does not decode.
    InvalidInput(String),
    /// Borsh input that does not decode: which field, at which byte.
    Decode { what: &'static str, at: usize },
}

impl Error {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BlockNotNewer { .. } => "ERR_BLOCK_NOT_NEWER",
            Error::EpochSkipped => "ERR_EPOCH_SKIPPED",
            Error::UnknownEpochProducers => "ERR_UNKNOWN_EPOCH_PRODUCERS",
            Error::NextBpsMissing => "ERR_NEXT_BPS_MISSING",
            Error::NextBpsHashMismatch => "ERR_NEXT_BPS_HASH_MISMATCH",
            Error::InvalidProducerSet => "ERR_INVALID_PRODUCER_SET",
            Error::StakeOverflow => "ERR_STAKE_OVERFLOW",
            Error::UnsupportedSignature { .. } => "ERR_UNSUPPORTED_SIGNATURE",
            Error::UnsupportedKey { .. } => "ERR_UNSUPPORTED_KEY",
            Error::InvalidSignature { .. } => "ERR_INVALID_SIGNATURE",
            Error::NotEnoughApprovals { .. } => "ERR_NOT_ENOUGH_APPROVALS",
            Error::ProofPathTooLong => "ERR_PROOF_PATH_TOO_LONG",
            Error::OutcomeRootMismatch => "ERR_OUTCOME_ROOT_MISMATCH",
            Error::BlockHashMismatch => "ERR_BLOCK_HASH_MISMATCH",
            Error::BlockRootMismatch => "ERR_BLOCK_ROOT_MISMATCH",
            Error::UnknownRoot { .. } => "ERR_UNKNOWN_ROOT",
            Error::ProofBlockTooNew { .. } => "ERR_PROOF_BLOCK_TOO_NEW",
            Error::ProofHeightMismatch { .. } => "ERR_PROOF_HEIGHT_MISMATCH",
            Error::InvalidInput(_) | Error::Decode { .. } => "ERR_INVALID_INPUT",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.code();
        match self {
            Error::BlockNotNewer { head, block } => {
                write!(f, "{code}: block height {block} is not above head height {head}")
            }
            Error::EpochSkipped => write!(
                f,
                "{code}: block epoch is neither the head's epoch nor the next one; relay at least one block per epoch"
            ),
            Error::UnknownEpochProducers => write!(f, "{code}: producers of the block's epoch are unknown"),
            Error::NextBpsMissing => write!(f, "{code}: a block that starts a new epoch must carry next_bps"),
            Error::NextBpsHashMismatch => write!(f, "{code}: next_bps does not hash to inner_lite.next_bp_hash"),
            Error::InvalidProducerSet => write!(f, "{code}: producer set is empty or too large"),
            Error::StakeOverflow => write!(f, "{code}: total stake overflows u128"),
            Error::UnsupportedSignature { index } => {
                write!(f, "{code}: approval {index} is not an ed25519 signature")
            }
            Error::UnsupportedKey { index } => write!(f, "{code}: producer {index} has a non-ed25519 key"),
            Error::InvalidSignature { index } => write!(f, "{code}: approval {index} does not verify"),
            Error::NotEnoughApprovals { approved, total } => {
                write!(f, "{code}: approved stake {approved} is not more than 2/3 of {total}")
            }
            Error::ProofPathTooLong => write!(f, "{code}: merkle path too long"),
            Error::OutcomeRootMismatch => {
                write!(f, "{code}: outcome proof does not lead to the header's outcome_root")
            }
            Error::BlockHashMismatch => {
                write!(f, "{code}: block_header_lite does not hash to outcome_proof.block_hash")
            }
            Error::BlockRootMismatch => write!(f, "{code}: block proof does not lead to the trusted root"),
            Error::UnknownRoot { height } => write!(f, "{code}: no trusted block at height {height}"),
            Error::ProofBlockTooNew { proof_height, root_height } => write!(
                f,
                "{code}: proven block {proof_height} is not covered by the trusted block {root_height}"
            ),
            Error::ProofHeightMismatch { proof_height, root_height } => write!(
                f,
                "{code}: an empty block proof proves the trusted block {root_height} itself, not block {proof_height}"
            ),
            Error::InvalidInput(msg) => write!(f, "{code}: {msg}"),
            Error::Decode { what, at } => {
                write!(f, "{code}: borsh does not decode: {what} (byte {at})")
            }
        }
    }
}

impl std::error::Error for Error {}
