//! Lenient view of a transaction's final execution outcome (`broadcast_tx_commit`, `send_tx`,
//! `tx`): status with the error text, gas burnt per receipt, logs, receipt ids.

use super::types::{b64, lenient_int};
use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;
use xsc_core::CryptoHash;

#[derive(Debug, Clone, Deserialize)]
pub struct FinalOutcome {
    /// `send_tx` on current nodes (`NONE`, `INCLUDED`, `EXECUTED_OPTIMISTIC`, `FINAL`, ...);
    /// absent on old nodes and in `broadcast_tx_commit` replies of old nodes.
    #[serde(default)]
    pub final_execution_status: Option<String>,
    #[serde(default)]
    pub status: TxStatus,
    #[serde(default)]
    pub transaction: Option<TxSummary>,
    #[serde(default)]
    pub transaction_outcome: Option<OutcomeView>,
    #[serde(default)]
    pub receipts_outcome: Vec<OutcomeView>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TxSummary {
    pub hash: CryptoHash,
    #[serde(default)]
    pub signer_id: Option<String>,
    #[serde(default)]
    pub receiver_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_int::opt_u64")]
    pub nonce: Option<u64>,
}

/// The transaction's overall status.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TxStatus {
    /// Not reported (a `send_tx` that did not wait) or `NotStarted` / `Started`.
    #[default]
    Pending,
    SuccessValue(Vec<u8>),
    Failure(Failure),
}

/// A failure: a readable message and the node's JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// For a contract panic, its text (`Smart contract panicked: ERR_...`); else compact JSON.
    pub message: String,
    pub raw: Value,
}

impl Failure {
    pub fn from_json(raw: Value) -> Self {
        let message = function_call_error_text(&raw).unwrap_or_else(|| raw.to_string());
        Failure { message, raw }
    }
}

/// The first string inside a `FunctionCallError` (`ExecutionError`, `HostError`, ...).
fn function_call_error_text(v: &Value) -> Option<String> {
    fn first_string(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.values().find_map(first_string),
            _ => None,
        }
    }
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| {
            if k == "FunctionCallError" {
                first_string(v).or_else(|| Some(v.to_string()))
            } else {
                function_call_error_text(v)
            }
        }),
        _ => None,
    }
}

impl<'de> Deserialize<'de> for TxStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(match &v {
            Value::Object(m) if m.contains_key("SuccessValue") => {
                let s = m["SuccessValue"].as_str().unwrap_or("");
                TxStatus::SuccessValue(b64(s).map_err(de::Error::custom)?)
            }
            Value::Object(m) if m.contains_key("Failure") => {
                TxStatus::Failure(Failure::from_json(m["Failure"].clone()))
            }
            _ => TxStatus::Pending,
        })
    }
}

/// One execution outcome (of the transaction or of a receipt).
#[derive(Debug, Clone, Deserialize)]
pub struct OutcomeView {
    pub id: CryptoHash,
    #[serde(default)]
    pub block_hash: Option<CryptoHash>,
    pub outcome: OutcomeBody,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OutcomeBody {
    #[serde(default)]
    pub logs: Vec<String>,
    #[serde(default)]
    pub receipt_ids: Vec<CryptoHash>,
    #[serde(default, deserialize_with = "lenient_int::u64_")]
    pub gas_burnt: u64,
    #[serde(default, deserialize_with = "lenient_int::u128_")]
    pub tokens_burnt: u128,
    #[serde(default)]
    pub executor_id: String,
    #[serde(default)]
    pub status: OutcomeStatus,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum OutcomeStatus {
    #[default]
    Unknown,
    SuccessValue(Vec<u8>),
    SuccessReceiptId(CryptoHash),
    Failure(Failure),
}

impl<'de> Deserialize<'de> for OutcomeStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Ok(match &v {
            Value::Object(m) if m.contains_key("SuccessValue") => {
                let s = m["SuccessValue"].as_str().unwrap_or("");
                OutcomeStatus::SuccessValue(b64(s).map_err(de::Error::custom)?)
            }
            Value::Object(m) if m.contains_key("SuccessReceiptId") => {
                OutcomeStatus::SuccessReceiptId(
                    m["SuccessReceiptId"]
                        .as_str()
                        .unwrap_or("")
                        .parse()
                        .map_err(de::Error::custom)?,
                )
            }
            Value::Object(m) if m.contains_key("Failure") => {
                OutcomeStatus::Failure(Failure::from_json(m["Failure"].clone()))
            }
            _ => OutcomeStatus::Unknown,
        })
    }
}

impl FinalOutcome {
    pub fn tx_hash(&self) -> Option<CryptoHash> {
        self.transaction
            .as_ref()
            .map(|t| t.hash)
            .or_else(|| self.transaction_outcome.as_ref().map(|o| o.id))
    }

    pub fn is_success(&self) -> bool {
        matches!(self.status, TxStatus::SuccessValue(_))
    }

    /// Whether the node has a final status (success or failure) for the transaction.
    pub fn is_done(&self) -> bool {
        !matches!(self.status, TxStatus::Pending)
    }

    pub fn failure(&self) -> Option<&Failure> {
        match &self.status {
            TxStatus::Failure(f) => Some(f),
            _ => None,
        }
    }

    /// The success value parsed as JSON (a method returning nothing gives `null`).
    pub fn success_json<T: serde::de::DeserializeOwned>(&self) -> Option<serde_json::Result<T>> {
        match &self.status {
            TxStatus::SuccessValue(v) if v.is_empty() => Some(serde_json::from_value(Value::Null)),
            TxStatus::SuccessValue(v) => Some(serde_json::from_slice(v)),
            _ => None,
        }
    }

    /// Every outcome: the transaction's first, then the receipts'.
    pub fn outcomes(&self) -> impl Iterator<Item = &OutcomeView> {
        self.transaction_outcome
            .iter()
            .chain(self.receipts_outcome.iter())
    }

    /// Gas burnt by the transaction and all its receipts.
    pub fn total_gas_burnt(&self) -> u64 {
        self.outcomes().map(|o| o.outcome.gas_burnt).sum()
    }

    /// All logs, in outcome order.
    pub fn logs(&self) -> impl Iterator<Item = &str> {
        self.outcomes()
            .flat_map(|o| o.outcome.logs.iter().map(String::as_str))
    }

    /// Receipts that failed, with their reason (a transaction may succeed while a detached
    /// receipt fails).
    pub fn receipt_failures(&self) -> impl Iterator<Item = (&CryptoHash, &Failure)> {
        self.receipts_outcome
            .iter()
            .filter_map(|o| match &o.outcome.status {
                OutcomeStatus::Failure(f) => Some((&o.id, f)),
                _ => None,
            })
    }
}
