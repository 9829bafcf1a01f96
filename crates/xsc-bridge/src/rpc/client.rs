//! The HTTP side: one JSON-RPC request with a timeout, retried with backoff.

use super::error::RpcError;
use super::retry::RetryPolicy;
use reqwest::header::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, warn};

/// An extra HTTP header sent with every request (Calimero shards need an auth header).
/// `Debug` does not show the value: it is usually a credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RpcHeader {
    pub name: String,
    pub value: String,
}

impl std::fmt::Debug for RpcHeader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcHeader")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct RpcClientConfig {
    pub url: String,
    pub header: Option<RpcHeader>,
    /// Per-request timeout (each attempt). `broadcast_tx_commit` may need more than a view.
    pub timeout: Duration,
    pub retry: RetryPolicy,
}

impl RpcClientConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RpcClientConfig {
            url: url.into(),
            header: None,
            timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("RPC client setup: {0}")]
pub struct RpcSetupError(pub String);

/// A NEAR JSON-RPC client. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct RpcClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    url: String,
    header: Option<(HeaderName, HeaderValue)>,
    timeout: Duration,
    retry: RetryPolicy,
    next_id: AtomicU64,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the header value: it is a credential.
        f.debug_struct("RpcClient")
            .field("url", &self.inner.url)
            .field(
                "header",
                &self.inner.header.as_ref().map(|(n, _)| n.as_str()),
            )
            .finish()
    }
}

impl RpcClient {
    pub fn new(cfg: RpcClientConfig) -> Result<Self, RpcSetupError> {
        let url = reqwest::Url::parse(&cfg.url)
            .map_err(|e| RpcSetupError(format!("invalid RPC URL `{}`: {e}", cfg.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RpcSetupError(format!(
                "RPC URL `{}` must be http or https",
                cfg.url
            )));
        }
        cfg.retry.validate().map_err(RpcSetupError)?;
        let header = match &cfg.header {
            None => None,
            Some(h) => {
                let name = HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|e| RpcSetupError(format!("invalid header name `{}`: {e}", h.name)))?;
                let mut value = HeaderValue::from_str(&h.value).map_err(|e| {
                    RpcSetupError(format!("invalid value for header `{}`: {e}", h.name))
                })?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| RpcSetupError(e.to_string()))?;
        Ok(RpcClient {
            inner: Arc::new(Inner {
                http,
                url: cfg.url,
                header,
                timeout: cfg.timeout,
                retry: cfg.retry,
                next_id: AtomicU64::new(1),
            }),
        })
    }

    pub fn url(&self) -> &str {
        &self.inner.url
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// Call `method` and parse its `result` into `T`, retrying retryable errors.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
    ) -> Result<T, RpcError> {
        let v = self.call_value(method, params).await?;
        parse_result(method, v)
    }

    /// Call `method` and return its `result` as JSON, retrying retryable errors.
    pub async fn call_value(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call_with(method, params, &self.inner.retry, RpcError::is_retryable)
            .await
    }

    /// Call with an explicit retry policy and retry predicate.
    pub async fn call_with(
        &self,
        method: &str,
        params: Value,
        policy: &RetryPolicy,
        retry_if: impl Fn(&RpcError) -> bool,
    ) -> Result<Value, RpcError> {
        let mut attempt = 0u32;
        loop {
            match self.call_once(method, &params).await {
                Ok(v) => return Ok(v),
                Err(e) if attempt < policy.max_retries && retry_if(&e) => {
                    let delay = policy.delay(attempt);
                    warn!(
                        rpc = %self.inner.url, method, attempt = attempt + 1,
                        max = policy.max_retries, ?delay, error = %e, "RPC call failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One attempt, no retry.
    pub async fn call_once(&self, method: &str, params: &Value) -> Result<Value, RpcError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let body =
            json!({"jsonrpc": "2.0", "id": id.to_string(), "method": method, "params": params});
        let mut req = self
            .inner
            .http
            .post(&self.inner.url)
            .timeout(self.inner.timeout)
            .json(&body);
        if let Some((name, value)) = &self.inner.header {
            req = req.header(name.clone(), value.clone());
        }
        debug!(rpc = %self.inner.url, method, id, "RPC request");
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                RpcError::Timeout {
                    method: method.to_string(),
                    after: self.inner.timeout,
                }
            } else {
                RpcError::Transport {
                    method: method.to_string(),
                    status: e.status().map(|s| s.as_u16()),
                    detail: error_chain(&e),
                }
            }
        };
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(transport)?;
        // nearcore answers some errors with a non-200 status and a JSON-RPC body: read the body
        // first, fall back to the status.
        let reply: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) if status.is_success() => return Err(RpcError::parse(method, e)),
            Err(_) => {
                return Err(RpcError::Transport {
                    method: method.to_string(),
                    status: Some(status.as_u16()),
                    detail: excerpt(&bytes),
                })
            }
        };
        match reply.get("error") {
            Some(err) if !err.is_null() => return Err(RpcError::from_rpc_error(method, err)),
            _ => {}
        }
        match reply.get("result") {
            Some(v) => Ok(v.clone()),
            None if !status.is_success() => Err(RpcError::Transport {
                method: method.to_string(),
                status: Some(status.as_u16()),
                detail: excerpt(&bytes),
            }),
            None => Err(RpcError::parse(
                method,
                "reply has neither result nor error",
            )),
        }
    }
}

pub(crate) fn parse_result<T: DeserializeOwned>(method: &str, v: Value) -> Result<T, RpcError> {
    serde_json::from_value(v).map_err(|e| RpcError::parse(method, e))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn excerpt(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out: String = s.chars().take(300).collect();
    if s.chars().count() > 300 {
        out.push('…');
    }
    out
}
