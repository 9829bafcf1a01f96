//! Reading RPC JSON from files: the result exactly as the RPC returns it, or the whole JSON-RPC
//! envelope (`{"jsonrpc": "2.0", "id": …, "result": …}`), whose `result` is used.

use anyhow::{Context, Result};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::path::Path;
use xsc_core::CryptoHash;

/// The contents of `path`. Only an I/O error fails here.
pub fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Parse `text` as JSON; the error is a message fit for `ERR_INVALID_INPUT`.
pub fn parse(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))
}

/// Whether `v` is a JSON-RPC response envelope rather than a bare result: an object with
/// `jsonrpc`, or one made only of envelope members that has a `result` or an `error`.
fn is_envelope(v: &Value) -> bool {
    let Value::Object(m) = v else { return false };
    m.contains_key("jsonrpc")
        || ((m.contains_key("result") || m.contains_key("error"))
            && m.keys()
                .all(|k| matches!(k.as_str(), "jsonrpc" | "id" | "result" | "error")))
}

/// The RPC result held by `v`: `v` itself, or the `result` of an envelope. An envelope carrying an
/// `error` (or no `result`) is an error whose message quotes the RPC's error.
pub fn unwrap_envelope(v: Value) -> Result<Value, String> {
    if !is_envelope(&v) {
        return Ok(v);
    }
    let Value::Object(mut m) = v else {
        unreachable!("an envelope is an object")
    };
    match (m.remove("result"), m.remove("error")) {
        (_, Some(error)) if !error.is_null() => Err(format!("JSON-RPC error: {error}")),
        (Some(result), _) => Ok(result),
        (None, _) => Err("JSON-RPC envelope has neither result nor error".into()),
    }
}

/// Parse `text` (bare result or envelope) into the RPC result.
pub fn parse_result(text: &str) -> Result<Value, String> {
    unwrap_envelope(parse(text)?)
}

/// Decode a parsed RPC result into `T`; the error is serde's message.
pub fn decode<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

/// Read and decode a file that must be usable (trusted head, producer list): every failure is an
/// error naming the file.
pub fn load<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let v = load_value(path, what)?;
    decode(v).map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))
}

/// Read a file that must be usable and return its RPC result as JSON.
pub fn load_value(path: &Path, what: &str) -> Result<Value> {
    let text = read_text(path).with_context(|| format!("{what} unreadable"))?;
    parse_result(&text).map_err(|e| anyhow::anyhow!("{what} {}: {e}", path.display()))
}

/// `inner_lite.height` read from raw JSON (a number, or a decimal string).
pub fn raw_height(v: &Value) -> Option<u64> {
    let h = v.get("inner_lite")?.get("height")?;
    h.as_u64().or_else(|| h.as_str()?.parse().ok())
}

/// `inner_lite.epoch_id` read from raw JSON.
pub fn raw_epoch_id(v: &Value) -> Option<CryptoHash> {
    v.get("inner_lite")?.get("epoch_id")?.as_str()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_result_is_returned_unchanged() {
        let v = json!({"inner_lite": {"height": 5}, "result": 1, "extra": 2});
        assert_eq!(unwrap_envelope(v.clone()).unwrap(), v);
        assert_eq!(unwrap_envelope(json!([1, 2])).unwrap(), json!([1, 2]));
    }

    #[test]
    fn envelope_result_is_unwrapped() {
        let v = json!({"jsonrpc": "2.0", "id": "x", "result": {"a": 1}});
        assert_eq!(unwrap_envelope(v).unwrap(), json!({"a": 1}));
        let v = json!({"id": 1, "result": [1]});
        assert_eq!(unwrap_envelope(v).unwrap(), json!([1]));
    }

    #[test]
    fn envelope_error_is_reported() {
        let v = json!({"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "Server error"}});
        let e = unwrap_envelope(v).unwrap_err();
        assert!(e.starts_with("JSON-RPC error: "), "{e}");
        assert!(e.contains("Server error"), "{e}");
        let e = unwrap_envelope(json!({"jsonrpc": "2.0", "id": 1})).unwrap_err();
        assert!(e.contains("neither result nor error"), "{e}");
    }

    #[test]
    fn raw_height_reads_numbers_and_strings() {
        assert_eq!(raw_height(&json!({"inner_lite": {"height": 7}})), Some(7));
        assert_eq!(raw_height(&json!({"inner_lite": {"height": "8"}})), Some(8));
        assert_eq!(raw_height(&json!({"inner_lite": {}})), None);
        assert_eq!(raw_height(&json!([1])), None);
    }
}
