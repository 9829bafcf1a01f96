//! Verification core of xsc: NEAR light client blocks and execution-outcome proofs.
//!
//! The same code runs inside the light client contract (wasm, with NEAR host functions for
//! sha256 and ed25519) and natively (CLI, bridge service, tests, with `sha2` and
//! `ed25519-dalek`). Every rule follows nearcore; `shared/notes/light-client.md` lists them.
//!
//! Layout:
//! - [`primitives`]: `CryptoHash`, `PublicKey`, `Signature` with the RPC's JSON and nearcore's borsh.
//! - [`views`]: the RPC views (`LightClientBlockView`, `LightClientBlockLiteView`, proofs).
//! - [`hashing`]: block hash, approval message, producer-set hash, merkle folds.
//! - [`block`]: validating a light client block against a head and its epoch's producers.
//! - [`proof`]: verifying an `EXPERIMENTAL_light_client_proof` against a trusted root.
//! - [`client`]: the light client state machine shared by the contract and the CLI.
//! - [`wire`], [`block_ref`]: zero-copy borsh decoding of what the contract receives.
//! - [`producers`]: producer sets as verification reads them, and their compact stored form.
#![forbid(unsafe_code)]

pub mod block;
pub mod block_ref;
pub mod client;
pub mod crypto;
pub mod error;
pub mod hashing;
pub mod primitives;
pub mod producers;
pub mod proof;
pub mod proof_ref;
pub mod views;
pub mod wire;

pub use block::{verify_block, verify_block_ref, EpochProducers, ValidatedBlock};
pub use block_ref::{Approval, BlockRef, BpsRef};
pub use client::{
    apply_block, apply_block_ref, commit_block, plan_block, trusted_state, trusted_state_for,
    BlockPlan, Head, LightClient, LightClientStore, StoredBlock, TrustedState,
};
pub use crypto::Crypto;
#[cfg(feature = "native")]
pub use crypto::NativeCrypto;
pub use error::Error;
pub use primitives::{CryptoHash, PublicKey, Signature};
pub use producers::{ProducerSet, ProducerTable};
pub use proof::{verify_outcome_proof, verify_outcome_proof_at, ProvenOutcome};
pub use views::{
    BlockHeaderInnerLiteView, ExecutionOutcomeView, ExecutionOutcomeWithIdView,
    ExecutionStatusView, LightClientBlockLiteView, LightClientBlockView, LightClientExecutionProof,
    MerklePathItem, ValidatorStakeView, ValidatorStakeViewV1,
};
