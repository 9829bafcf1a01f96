//! Our own minimal views of RPC replies: only the fields the bridge uses, every field a node
//! might omit optional, unknown fields ignored. They parse replies of a current nearcore and of
//! an old protocol-63 node (Calimero) alike.

use base64::Engine;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;
use xsc_core::CryptoHash;

/// Integers that some nodes write as numbers and others as decimal strings.
pub(crate) mod lenient_int {
    use super::*;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum StrOrNum {
        Num(u64),
        Str(String),
    }

    pub fn u128_<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        match StrOrNum::deserialize(d)? {
            StrOrNum::Num(n) => Ok(n as u128),
            StrOrNum::Str(s) => s.parse().map_err(de::Error::custom),
        }
    }

    pub fn u64_<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        match StrOrNum::deserialize(d)? {
            StrOrNum::Num(n) => Ok(n),
            StrOrNum::Str(s) => s.parse().map_err(de::Error::custom),
        }
    }

    pub fn opt_u128<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        match Option::<StrOrNum>::deserialize(d)? {
            None => Ok(None),
            Some(StrOrNum::Num(n)) => Ok(Some(n as u128)),
            Some(StrOrNum::Str(s)) => s.parse().map(Some).map_err(de::Error::custom),
        }
    }

    pub fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
        match Option::<StrOrNum>::deserialize(d)? {
            None => Ok(None),
            Some(StrOrNum::Num(n)) => Ok(Some(n)),
            Some(StrOrNum::Str(s)) => s.parse().map(Some).map_err(de::Error::custom),
        }
    }
}

pub(crate) fn b64(s: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .map_err(|e| format!("invalid base64: {e}"))
}

/// `status`. Old nodes lack `version.commit`, `genesis_hash`, `sync_info.epoch_id`, ...
#[derive(Debug, Clone, Deserialize)]
pub struct StatusView {
    pub chain_id: String,
    #[serde(default)]
    pub protocol_version: Option<u32>,
    #[serde(default)]
    pub latest_protocol_version: Option<u32>,
    #[serde(default)]
    pub version: Option<NodeVersion>,
    #[serde(default)]
    pub genesis_hash: Option<CryptoHash>,
    #[serde(default)]
    pub validator_account_id: Option<String>,
    pub sync_info: SyncInfo,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeVersion {
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub build: String,
    #[serde(default)]
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SyncInfo {
    pub latest_block_hash: CryptoHash,
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub latest_block_height: u64,
    #[serde(default)]
    pub latest_block_time: Option<String>,
    #[serde(default)]
    pub syncing: bool,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub earliest_block_height: Option<u64>,
    #[serde(default)]
    pub epoch_id: Option<CryptoHash>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub epoch_start_height: Option<u64>,
}

/// `block`.
#[derive(Debug, Clone, Deserialize)]
pub struct BlockView {
    #[serde(default)]
    pub author: Option<String>,
    pub header: BlockHeaderView,
    #[serde(default)]
    pub chunks: Vec<ChunkHeaderView>,
}

impl BlockView {
    /// Chunks produced for this block (the others are repeated from an earlier block and have
    /// nothing new to index).
    pub fn new_chunks(&self) -> impl Iterator<Item = &ChunkHeaderView> {
        let h = self.header.height;
        self.chunks
            .iter()
            .filter(move |c| c.height_included.is_none_or(|inc| inc == h))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct BlockHeaderView {
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub height: u64,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub prev_height: Option<u64>,
    pub hash: CryptoHash,
    pub prev_hash: CryptoHash,
    pub epoch_id: CryptoHash,
    pub next_epoch_id: CryptoHash,
    /// Nanoseconds. Prefer `timestamp_nanosec` (a string, exact) over `timestamp` (a number
    /// that JSON tooling may round).
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub timestamp_nanosec: Option<u64>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub timestamp: Option<u64>,
    #[serde(default)]
    pub last_final_block: Option<CryptoHash>,
    #[serde(default)]
    pub last_ds_final_block: Option<CryptoHash>,
    #[serde(default)]
    pub next_bp_hash: Option<CryptoHash>,
    #[serde(default)]
    pub block_merkle_root: Option<CryptoHash>,
    #[serde(default)]
    pub outcome_root: Option<CryptoHash>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub chunks_included: Option<u64>,
}

impl BlockHeaderView {
    pub fn timestamp_ns(&self) -> Option<u64> {
        self.timestamp_nanosec.or(self.timestamp)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChunkHeaderView {
    pub chunk_hash: CryptoHash,
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub shard_id: u64,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub height_created: Option<u64>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub height_included: Option<u64>,
    #[serde(default)]
    pub prev_block_hash: Option<CryptoHash>,
    #[serde(default)]
    pub outcome_root: Option<CryptoHash>,
}

/// `chunk`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChunkView {
    #[serde(default)]
    pub author: Option<String>,
    pub header: ChunkHeaderView,
    #[serde(default)]
    pub transactions: Vec<TransactionView>,
    /// The receipts this chunk carries (nearcore: the previous chunk's outgoing receipts of the
    /// shard). A receipt of a transaction whose signer is its receiver is executed locally and
    /// never appears here.
    #[serde(default)]
    pub receipts: Vec<ReceiptView>,
}

impl ChunkView {
    /// Action receipts addressed to `receiver` with their FunctionCall method names.
    pub fn function_call_receipts_to<'a>(
        &'a self,
        receiver: &'a str,
    ) -> impl Iterator<Item = &'a ReceiptView> + 'a {
        self.receipts
            .iter()
            .filter(move |r| r.receiver_id == receiver && r.method_names().next().is_some())
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TransactionView {
    pub hash: CryptoHash,
    pub signer_id: String,
    pub receiver_id: String,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub nonce: Option<u64>,
    #[serde(default)]
    pub public_key: Option<String>,
    #[serde(default)]
    pub actions: Vec<ActionView>,
}

impl TransactionView {
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        self.actions.iter().filter_map(ActionView::method_name)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReceiptView {
    pub predecessor_id: String,
    pub receiver_id: String,
    pub receipt_id: CryptoHash,
    pub receipt: ReceiptBody,
}

impl ReceiptView {
    pub fn method_names(&self) -> impl Iterator<Item = &str> {
        let actions: &[ActionView] = match &self.receipt {
            ReceiptBody::Action { actions, .. } => actions,
            _ => &[],
        };
        actions.iter().filter_map(ActionView::method_name)
    }
}

/// A receipt's body: actions, data, or a kind this client does not know (newer nodes).
#[derive(Debug, Clone, PartialEq)]
pub enum ReceiptBody {
    Action {
        signer_id: Option<String>,
        actions: Vec<ActionView>,
    },
    Data {
        data_id: Option<CryptoHash>,
    },
    Other(String),
}

impl<'de> Deserialize<'de> for ReceiptBody {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let (kind, body) = single_key(&v).ok_or_else(|| de::Error::custom("receipt body"))?;
        Ok(match kind {
            "Action" => ReceiptBody::Action {
                signer_id: body
                    .get("signer_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                actions: match body.get("actions") {
                    Some(a) => Vec::<ActionView>::deserialize(a).map_err(de::Error::custom)?,
                    None => Vec::new(),
                },
            },
            "Data" => ReceiptBody::Data {
                data_id: body
                    .get("data_id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok()),
            },
            other => ReceiptBody::Other(other.to_string()),
        })
    }
}

/// An action, as much as the bridge needs to know of it.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionView {
    FunctionCall {
        method_name: String,
        args: Vec<u8>,
        gas: u64,
        deposit: u128,
    },
    Transfer {
        deposit: u128,
    },
    /// Any other action, by name (`CreateAccount`, `DeployContract`, `AddKey`, ...).
    Other(String),
}

impl ActionView {
    pub fn method_name(&self) -> Option<&str> {
        match self {
            ActionView::FunctionCall { method_name, .. } => Some(method_name),
            _ => None,
        }
    }
}

/// `{"Name": {...}}` → ("Name", {...}); `"Name"` → ("Name", null).
fn single_key(v: &Value) -> Option<(&str, &Value)> {
    match v {
        Value::String(s) => Some((s.as_str(), &Value::Null)),
        Value::Object(m) if m.len() == 1 => m.iter().next().map(|(k, v)| (k.as_str(), v)),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for ActionView {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct FunctionCall {
            method_name: String,
            #[serde(default)]
            args: String,
            #[serde(default, deserialize_with = "lenient_int::u64_")]
            gas: u64,
            #[serde(default, deserialize_with = "lenient_int::u128_")]
            deposit: u128,
        }
        #[derive(Deserialize)]
        struct Transfer {
            #[serde(deserialize_with = "lenient_int::u128_")]
            deposit: u128,
        }
        let v = Value::deserialize(d)?;
        let (kind, body) = single_key(&v).ok_or_else(|| de::Error::custom("action"))?;
        Ok(match kind {
            "FunctionCall" => {
                let f = FunctionCall::deserialize(body).map_err(de::Error::custom)?;
                ActionView::FunctionCall {
                    args: b64(&f.args).map_err(de::Error::custom)?,
                    method_name: f.method_name,
                    gas: f.gas,
                    deposit: f.deposit,
                }
            }
            "Transfer" => ActionView::Transfer {
                deposit: Transfer::deserialize(body)
                    .map_err(de::Error::custom)?
                    .deposit,
            },
            other => ActionView::Other(other.to_string()),
        })
    }
}

/// `query` `call_function` result.
#[derive(Debug, Clone, Deserialize)]
pub struct CallResult {
    pub result: Vec<u8>,
    #[serde(default)]
    pub logs: Vec<String>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub block_height: Option<u64>,
    #[serde(default)]
    pub block_hash: Option<CryptoHash>,
}

/// `query` `view_account` result (the fields the tools use).
#[derive(Debug, Clone, Deserialize)]
pub struct AccountInfo {
    /// sha256 of the deployed code; all-zero (`11111111111111111111111111111111`) without code.
    pub code_hash: CryptoHash,
    /// Balance, yoctoNEAR.
    #[serde(default, deserialize_with = "lenient_int::opt_u128")]
    pub amount: Option<u128>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub storage_usage: Option<u64>,
}

impl AccountInfo {
    pub fn has_code(&self) -> bool {
        self.code_hash != CryptoHash::zero()
    }
}

/// `query` `view_access_key` result.
#[derive(Debug, Clone, Deserialize)]
pub struct AccessKeyInfo {
    #[serde(deserialize_with = "lenient_int::u64_")]
    pub nonce: u64,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub block_height: Option<u64>,
    #[serde(default)]
    pub block_hash: Option<CryptoHash>,
    /// `"FullAccess"` or `{"FunctionCall": {...}}`, as given.
    #[serde(default)]
    pub permission: Value,
}

impl AccessKeyInfo {
    pub fn is_full_access(&self) -> bool {
        self.permission == Value::String("FullAccess".into())
    }
}
