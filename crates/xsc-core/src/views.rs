//! The RPC views the light client consumes, with the RPC's JSON (serde) and a compact borsh
//! encoding for contract arguments. Where nearcore hashes a structure, our borsh layout is
//! exactly the hashed one, so hashing never needs a second encoding.

use crate::primitives::{dec_str, CryptoHash, PublicKey, Signature};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `BlockHeaderInnerLite` (208 bytes in borsh, exactly what nearcore hashes).
///
/// In JSON the RPC gives both `timestamp` (a number that JSON tooling often rounds) and
/// `timestamp_nanosec` (a decimal string): the string is authoritative.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeaderInnerLiteView {
    pub height: u64,
    pub epoch_id: CryptoHash,
    pub next_epoch_id: CryptoHash,
    pub prev_state_root: CryptoHash,
    pub outcome_root: CryptoHash,
    /// Nanoseconds (`timestamp_nanosec`).
    pub timestamp: u64,
    pub next_bp_hash: CryptoHash,
    pub block_merkle_root: CryptoHash,
}

#[derive(Serialize, Deserialize)]
struct InnerLiteJson {
    height: u64,
    epoch_id: CryptoHash,
    next_epoch_id: CryptoHash,
    prev_state_root: CryptoHash,
    outcome_root: CryptoHash,
    // Some tooling writes this one as a string as well.
    #[serde(
        default,
        serialize_with = "opt_dec_u64::serialize_num",
        deserialize_with = "opt_dec_u64::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    timestamp: Option<u64>,
    #[serde(default, with = "opt_dec_u64", skip_serializing_if = "Option::is_none")]
    timestamp_nanosec: Option<u64>,
    next_bp_hash: CryptoHash,
    block_merkle_root: CryptoHash,
}

mod opt_dec_u64 {
    use super::*;
    pub fn serialize<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => dec_str::serialize(v, s),
            None => s.serialize_none(),
        }
    }
    /// The RPC's numeric `timestamp` stays a number when we write JSON.
    pub fn serialize_num<S: Serializer>(v: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_u64(*v),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        dec_str::deserialize(d).map(Some)
    }
}

impl Serialize for BlockHeaderInnerLiteView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        InnerLiteJson {
            height: self.height,
            epoch_id: self.epoch_id,
            next_epoch_id: self.next_epoch_id,
            prev_state_root: self.prev_state_root,
            outcome_root: self.outcome_root,
            timestamp: Some(self.timestamp),
            timestamp_nanosec: Some(self.timestamp),
            next_bp_hash: self.next_bp_hash,
            block_merkle_root: self.block_merkle_root,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for BlockHeaderInnerLiteView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = InnerLiteJson::deserialize(d)?;
        let timestamp = j.timestamp_nanosec.or(j.timestamp).ok_or_else(|| {
            serde::de::Error::custom("inner_lite needs timestamp_nanosec (or timestamp)")
        })?;
        Ok(BlockHeaderInnerLiteView {
            height: j.height,
            epoch_id: j.epoch_id,
            next_epoch_id: j.next_epoch_id,
            prev_state_root: j.prev_state_root,
            outcome_root: j.outcome_root,
            timestamp,
            next_bp_hash: j.next_bp_hash,
            block_merkle_root: j.block_merkle_root,
        })
    }
}

/// `ValidatorStakeView`; borsh is nearcore's (a version byte, then the V1 struct), which is what
/// `next_bp_hash` commits to.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ValidatorStakeView {
    V1(ValidatorStakeViewV1),
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ValidatorStakeViewV1 {
    pub account_id: String,
    pub public_key: PublicKey,
    #[serde(with = "dec_str")]
    pub stake: u128,
}

impl ValidatorStakeView {
    pub fn v1(&self) -> &ValidatorStakeViewV1 {
        match self {
            ValidatorStakeView::V1(v) => v,
        }
    }
    pub fn account_id(&self) -> &str {
        &self.v1().account_id
    }
    pub fn public_key(&self) -> &PublicKey {
        &self.v1().public_key
    }
    pub fn stake(&self) -> u128 {
        self.v1().stake
    }
}

/// The RPC's JSON of a producer: the V1 fields and the version tag side by side. Spelled out
/// rather than `#[serde(flatten)]`, which buffers every field through serde's generic content
/// machinery (large in a contract).
#[derive(Serialize, Deserialize)]
struct ValidatorStakeJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    validator_stake_struct_version: Option<String>,
    account_id: String,
    public_key: PublicKey,
    #[serde(with = "dec_str")]
    stake: u128,
}

impl Serialize for ValidatorStakeView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.v1();
        ValidatorStakeJson {
            validator_stake_struct_version: Some("V1".into()),
            account_id: v.account_id.clone(),
            public_key: v.public_key.clone(),
            stake: v.stake,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ValidatorStakeView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let j = ValidatorStakeJson::deserialize(d)?;
        match j.validator_stake_struct_version.as_deref() {
            None | Some("V1") => Ok(ValidatorStakeView::V1(ValidatorStakeViewV1 {
                account_id: j.account_id,
                public_key: j.public_key,
                stake: j.stake,
            })),
            Some(_) => Err(serde::de::Error::custom(
                "unsupported validator_stake_struct_version",
            )),
        }
    }
}

/// RPC `next_light_client_block` result.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LightClientBlockView {
    pub prev_block_hash: CryptoHash,
    pub next_block_inner_hash: CryptoHash,
    pub inner_lite: BlockHeaderInnerLiteView,
    pub inner_rest_hash: CryptoHash,
    #[serde(default)]
    pub next_bps: Option<Vec<ValidatorStakeView>>,
    pub approvals_after_next: Vec<Option<Signature>>,
}

/// `LightClientBlockLiteView`: enough of a header to compute its hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LightClientBlockLiteView {
    pub prev_block_hash: CryptoHash,
    pub inner_rest_hash: CryptoHash,
    pub inner_lite: BlockHeaderInnerLiteView,
}

impl From<&LightClientBlockView> for LightClientBlockLiteView {
    fn from(b: &LightClientBlockView) -> Self {
        LightClientBlockLiteView {
            prev_block_hash: b.prev_block_hash,
            inner_rest_hash: b.inner_rest_hash,
            inner_lite: b.inner_lite.clone(),
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum Direction {
    Left,
    Right,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct MerklePathItem {
    pub hash: CryptoHash,
    pub direction: Direction,
}

/// Execution status as it enters the outcome hash: a failure's reason is not part of it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ExecutionStatusView {
    Unknown,
    Failure,
    SuccessValue(Vec<u8>),
    SuccessReceiptId(CryptoHash),
}

#[derive(Deserialize)]
enum StatusJson {
    Unknown,
    Failure(serde::de::IgnoredAny),
    SuccessValue(String),
    SuccessReceiptId(CryptoHash),
}

impl Serialize for ExecutionStatusView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        const NAME: &str = "ExecutionStatusView";
        match self {
            ExecutionStatusView::Unknown => s.serialize_unit_variant(NAME, 0, "Unknown"),
            // The reason of a failure is not provable: only the fact of it.
            ExecutionStatusView::Failure => s.serialize_newtype_variant(NAME, 1, "Failure", &()),
            ExecutionStatusView::SuccessValue(v) => s.serialize_newtype_variant(
                NAME,
                2,
                "SuccessValue",
                &base64::engine::general_purpose::STANDARD.encode(v),
            ),
            ExecutionStatusView::SuccessReceiptId(h) => {
                s.serialize_newtype_variant(NAME, 3, "SuccessReceiptId", h)
            }
        }
    }
}

impl<'de> Deserialize<'de> for ExecutionStatusView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        Ok(match StatusJson::deserialize(d)? {
            StatusJson::Unknown => ExecutionStatusView::Unknown,
            StatusJson::Failure(_) => ExecutionStatusView::Failure,
            StatusJson::SuccessValue(v) => ExecutionStatusView::SuccessValue(
                base64::engine::general_purpose::STANDARD
                    .decode(v.as_bytes())
                    .map_err(serde::de::Error::custom)?,
            ),
            StatusJson::SuccessReceiptId(h) => ExecutionStatusView::SuccessReceiptId(h),
        })
    }
}

/// `ExecutionOutcomeView` without `metadata` (the gas profile is not part of the outcome hash).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ExecutionOutcomeView {
    pub logs: Vec<String>,
    pub receipt_ids: Vec<CryptoHash>,
    pub gas_burnt: u64,
    #[serde(with = "dec_str")]
    pub tokens_burnt: u128,
    pub executor_id: String,
    pub status: ExecutionStatusView,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ExecutionOutcomeWithIdView {
    pub proof: Vec<MerklePathItem>,
    pub block_hash: CryptoHash,
    pub id: CryptoHash,
    pub outcome: ExecutionOutcomeView,
}

/// RPC `EXPERIMENTAL_light_client_proof` result.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LightClientExecutionProof {
    pub outcome_proof: ExecutionOutcomeWithIdView,
    pub outcome_root_proof: Vec<MerklePathItem>,
    pub block_header_lite: LightClientBlockLiteView,
    pub block_proof: Vec<MerklePathItem>,
}
