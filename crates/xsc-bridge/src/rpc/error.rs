//! Classified RPC errors: what went wrong decides whether a retry can help.

use serde_json::Value;
use std::time::Duration;

/// An error from one JSON-RPC call (after any retries).
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// The request never got a usable HTTP reply: connection refused or reset, DNS, TLS, or an
    /// HTTP status other than 200 (`status` set; 5xx and 429 count as transient).
    #[error("{method}: transport error{}: {detail}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Transport {
        method: String,
        status: Option<u16>,
        detail: String,
    },
    /// No reply within the per-request timeout.
    #[error("{method}: no reply within {after:?}")]
    Timeout { method: String, after: Duration },
    /// The node answered with a JSON-RPC error (or, on old nodes, a `query` result carrying an
    /// `error` string). `name` is the error's kind (`HANDLER_ERROR`, `REQUEST_VALIDATION_ERROR`,
    /// `INTERNAL_ERROR`, or `SERVER_ERROR` when an old node gives none); `cause` the specific
    /// cause (`UNKNOWN_BLOCK`, `TIMEOUT_ERROR`, `INVALID_TRANSACTION`, ...; empty when absent).
    #[error("{0}")]
    Handler(Box<HandlerError>),
    /// The reply was a JSON-RPC result, but not of the shape this method returns.
    #[error("{method}: cannot parse reply: {detail}")]
    Parse { method: String, detail: String },
    /// The endpoint answered something that is not a JSON-RPC reply (garbage, a truncated body,
    /// a body over the size bound): the endpoint is at fault, another may answer.
    #[error("{method}: bad reply: {detail}")]
    BadReply { method: String, detail: String },
    /// The endpoint serves another chain than the configured one (disabled).
    #[error("RPC endpoint {endpoint} serves chain `{found}`, expected `{expected}`")]
    WrongChain {
        endpoint: String,
        found: String,
        expected: String,
    },
}

/// A JSON-RPC error reply (boxed in [`RpcError::Handler`] to keep `Result`s small).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{method}: {name}/{cause}: {message}")]
pub struct HandlerError {
    pub method: String,
    pub name: String,
    pub cause: String,
    /// The cause's `info` (or the whole `data` on old nodes), for callers that need details
    /// such as `InvalidNonce { ak_nonce, tx_nonce }`.
    pub info: Value,
    /// Human-readable text: `data` when it is a string, else `message`, else the JSON.
    pub message: String,
}

/// Causes after which the same request may succeed later.
pub const RETRYABLE_CAUSES: &[&str] = &[
    // A height or hash just announced elsewhere that this node has not processed yet.
    "UNKNOWN_BLOCK",
    // broadcast_tx_commit / send_tx / tx: the transaction is in flight; asking again is safe
    // (the node recognises a transaction it already has by its hash).
    "TIMEOUT_ERROR",
    "NO_SYNCED_BLOCKS",
    "NOT_SYNCED_YET",
    "INTERNAL_ERROR",
];

impl RpcError {
    /// Whether retrying the same request can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            RpcError::Transport { status, .. } => match status {
                None => true,
                Some(s) => *s == 429 || *s == 408 || (500..600).contains(s),
            },
            RpcError::Timeout { .. } => true,
            RpcError::Handler(h) => {
                let HandlerError {
                    name,
                    cause,
                    message,
                    ..
                } = h.as_ref();
                RETRYABLE_CAUSES.contains(&cause.as_str())
                    || (cause.is_empty() && name == "INTERNAL_ERROR")
                    // Old nodes: no cause, only text.
                    || (cause.is_empty() && message.contains("Timeout"))
            }
            RpcError::Parse { .. } => false,
            RpcError::BadReply { .. } => true,
            RpcError::WrongChain { .. } => false,
        }
    }

    /// Whether the endpoint itself failed (no usable reply at all), rather than a node
    /// answering with an error: such an endpoint cools down and the next one is tried.
    pub fn is_endpoint_fault(&self) -> bool {
        match self {
            RpcError::Transport { status, .. } => match status {
                None => true,
                Some(s) => *s == 429 || *s == 408 || (500..600).contains(s),
            },
            RpcError::Timeout { .. } | RpcError::BadReply { .. } | RpcError::WrongChain { .. } => {
                true
            }
            RpcError::Handler(_) | RpcError::Parse { .. } => false,
        }
    }

    /// The cause name of a handler error (`UNKNOWN_BLOCK`, ...).
    pub fn cause(&self) -> Option<&str> {
        match self {
            RpcError::Handler(h) if !h.cause.is_empty() => Some(&h.cause),
            _ => None,
        }
    }

    pub fn is_cause(&self, cause: &str) -> bool {
        self.cause() == Some(cause)
    }

    /// Whether a light client proof was refused only because the outcome is not provable *yet*
    /// against the head asked: the receipt has not executed (a callback waiting for its data,
    /// a receipt delayed by congestion), or the block that carries its outcome root is above the
    /// head or not final yet. Asking again with the same head cannot help; a later head will.
    pub fn is_outcome_not_final(&self) -> bool {
        self.is_cause("UNKNOWN_RECEIPT")
            || self.mentions("not been executed")
            || self.mentions("UNKNOWN_RECEIPT")
            || self.mentions("not on current chain")
            || self.mentions("is ahead of head block")
    }

    /// Whether the error text or details mention `needle` anywhere (error kinds in old nodes
    /// live only in text or in nested JSON).
    pub fn mentions(&self, needle: &str) -> bool {
        match self {
            RpcError::Handler(h) => {
                h.message.contains(needle) || h.info.to_string().contains(needle)
            }
            other => other.to_string().contains(needle),
        }
    }

    /// A short label for metrics: `transport`, `timeout`, `handler`, `parse`, `bad_reply`,
    /// `wrong_chain`.
    pub fn kind(&self) -> &'static str {
        match self {
            RpcError::Transport { .. } => "transport",
            RpcError::Timeout { .. } => "timeout",
            RpcError::Handler(_) => "handler",
            RpcError::Parse { .. } => "parse",
            RpcError::BadReply { .. } => "bad_reply",
            RpcError::WrongChain { .. } => "wrong_chain",
        }
    }

    pub(crate) fn parse(method: &str, detail: impl std::fmt::Display) -> Self {
        RpcError::Parse {
            method: method.to_string(),
            detail: detail.to_string(),
        }
    }

    /// Build a handler error from a JSON-RPC `error` object, current or old style:
    /// `{name, cause: {name, info}, code, message, data}` or `{code, message, data}`.
    pub(crate) fn from_rpc_error(method: &str, err: &Value) -> Self {
        let name = err
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("SERVER_ERROR")
            .to_string();
        let cause_obj = err.get("cause");
        let cause = cause_obj
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            // JSON-RPC's own "method not found" (old nodes asked for `send_tx`).
            .or_else(|| {
                (err.get("code").and_then(Value::as_i64) == Some(-32601))
                    .then(|| "METHOD_NOT_FOUND".to_string())
            })
            .unwrap_or_default();
        let info = cause_obj
            .and_then(|c| c.get("info"))
            .filter(|v| !v.is_null())
            .or_else(|| err.get("data"))
            .cloned()
            .unwrap_or(Value::Null);
        let message = match err.get("data") {
            Some(Value::String(s)) => s.clone(),
            Some(v) if !v.is_null() => v.to_string(),
            _ => err
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| err.to_string()),
        };
        RpcError::handler(method, name, cause, info, message)
    }

    pub fn handler(
        method: &str,
        name: impl Into<String>,
        cause: impl Into<String>,
        info: Value,
        message: impl Into<String>,
    ) -> Self {
        RpcError::Handler(Box::new(HandlerError {
            method: method.to_string(),
            name: name.into(),
            cause: cause.into(),
            info,
            message: message.into(),
        }))
    }

    /// The node's error reply, if this is one.
    pub fn as_handler(&self) -> Option<&HandlerError> {
        match self {
            RpcError::Handler(h) => Some(h),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn current_handler_error_is_classified() {
        let e = RpcError::from_rpc_error(
            "block",
            &json!({"name": "HANDLER_ERROR", "cause": {"name": "UNKNOWN_BLOCK", "info": {}},
                    "code": -32000, "message": "Server error", "data": "DB Not Found Error: BLOCK HEIGHT: 12"}),
        );
        assert!(e.is_cause("UNKNOWN_BLOCK"));
        assert!(e.is_retryable());
        assert!(e.to_string().contains("DB Not Found"), "{e}");
    }

    #[test]
    fn old_style_error_without_name_keeps_its_text() {
        let e = RpcError::from_rpc_error(
            "query",
            &json!({"code": -32000, "message": "Server error", "data": "account x does not exist while viewing"}),
        );
        let h = e.as_handler().unwrap();
        assert_eq!(h.name, "SERVER_ERROR");
        assert_eq!(h.cause, "");
        assert!(!e.is_retryable());
        assert!(e.mentions("does not exist"));
    }

    #[test]
    fn invalid_transaction_is_not_retried_but_details_are_kept() {
        let e = RpcError::from_rpc_error(
            "broadcast_tx_commit",
            &json!({"name": "HANDLER_ERROR",
                    "cause": {"name": "INVALID_TRANSACTION", "info": {"InvalidNonce": {"ak_nonce": 7, "tx_nonce": 5}}},
                    "code": -32000, "message": "Server error",
                    "data": {"TxExecutionError": {"InvalidTxError": {"InvalidNonce": {"ak_nonce": 7, "tx_nonce": 5}}}}}),
        );
        assert!(!e.is_retryable());
        assert!(e.mentions("InvalidNonce"));
    }

    #[test]
    fn transport_statuses() {
        let t = |status| RpcError::Transport {
            method: "status".into(),
            status,
            detail: String::new(),
        };
        assert!(t(None).is_retryable());
        assert!(t(Some(503)).is_retryable());
        assert!(t(Some(429)).is_retryable());
        assert!(!t(Some(401)).is_retryable());
        assert!(!t(Some(404)).is_retryable());
    }
}
