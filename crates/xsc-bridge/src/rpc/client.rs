//! The HTTP side: JSON-RPC requests over several endpoints of one chain, with failover, an
//! optional archival endpoint for old data, bounded replies, and retries with backoff.
//!
//! **Failover.** Requests go to the preferred endpoint. One that fails as an endpoint (no
//! connection, a timeout, HTTP 5xx/429, a reply that is not JSON-RPC, a reply over the size
//! bound) cools down (0.5 s, doubling up to 30 s) and the request moves to the next one at
//! once, which becomes preferred. Retryable answers of a node (`UNKNOWN_BLOCK` from a lagging
//! backend, `TIMEOUT_ERROR`, ...) also move to the next endpoint when there is one.
//!
//! **Chain check.** Before its first use, and again after each failure streak, an endpoint's
//! `status.chain_id` is compared with the configured one; an endpoint serving another chain is
//! disabled for good (a loud error and a metric), so failover never talks to the wrong chain.
//!
//! **Archival.** Requests that find data missing (`UNKNOWN_BLOCK`, `UNKNOWN_CHUNK`, garbage
//! collected blocks, ...) on every regular endpoint are asked once more on the archival
//! endpoint, when one is configured: catching up after a long outage and proofs of old outcomes
//! keep working with regular nodes that forget old blocks.
//!
//! **Secrets.** Endpoint URLs (which often carry a provider's API key) and the extra header's
//! value never appear in logs, errors or `Debug` output: endpoints are named by a label (`rpc0`,
//! `rpc1`, `archival`) and shown as `scheme://host:port` at most ([`redact_url`]).

use super::error::RpcError;
use super::retry::RetryPolicy;
use reqwest::header::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tracing::{debug, error, warn};

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

/// The default bound on one reply's body: 64 MiB (a chunk may carry several receipts with 4 MiB
/// of arguments each).
pub const DEFAULT_MAX_REPLY_BYTES: usize = 64 << 20;

#[derive(Clone)]
pub struct RpcClientConfig {
    /// Regular endpoints, in order of preference (at least one).
    pub urls: Vec<String>,
    /// An archival endpoint for data regular nodes no longer keep.
    pub archival_url: Option<String>,
    pub header: Option<RpcHeader>,
    /// Per-request timeout (each attempt). `broadcast_tx_commit` may need more than a view.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    /// Replies larger than this are refused (and the endpoint counted as failing).
    pub max_reply_bytes: usize,
    /// The `status.chain_id` every endpoint must report before it is used.
    pub expect_chain_id: Option<String>,
}

impl std::fmt::Debug for RpcClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClientConfig")
            .field(
                "urls",
                &self.urls.iter().map(|u| redact_url(u)).collect::<Vec<_>>(),
            )
            .field(
                "archival_url",
                &self.archival_url.as_deref().map(redact_url),
            )
            .field("header", &self.header)
            .field("timeout", &self.timeout)
            .field("expect_chain_id", &self.expect_chain_id)
            .finish()
    }
}

impl RpcClientConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RpcClientConfig {
            urls: vec![url.into()],
            archival_url: None,
            header: None,
            timeout: Duration::from_secs(20),
            retry: RetryPolicy::default(),
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            expect_chain_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("RPC client setup: {0}")]
pub struct RpcSetupError(pub String);

/// What the client reports about its endpoints (metrics).
pub trait RpcObserver: Send + Sync {
    /// A request to `endpoint` failed (`kind`: [`RpcError::kind`]).
    fn request_failed(&self, endpoint: &str, kind: &str);
    /// `endpoint` became usable (`true`) or failing / disabled (`false`).
    fn endpoint_up(&self, endpoint: &str, up: bool);
}

/// `scheme://host[:port]` of a URL, without user info, path or query (which may hold API keys).
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("?");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let more = if u.path().len() > 1 || u.query().is_some() || !u.username().is_empty() {
                "/…"
            } else {
                ""
            };
            format!("{}://{host}{port}{more}", u.scheme())
        }
        Err(_) => "<invalid url>".into(),
    }
}

#[derive(Default)]
struct EndpointState {
    failures: u32,
    cooling_until: Option<Instant>,
    verified: bool,
    wrong_chain: bool,
}

struct Endpoint {
    label: String,
    url: String,
    shown: String,
    state: Mutex<EndpointState>,
}

impl Endpoint {
    fn state(&self) -> std::sync::MutexGuard<'_, EndpointState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cooling(&self, now: Instant) -> Option<Instant> {
        self.state().cooling_until.filter(|t| *t > now)
    }
}

struct Inner {
    http: reqwest::Client,
    regular: Vec<Arc<Endpoint>>,
    archival: Option<Arc<Endpoint>>,
    preferred: AtomicUsize,
    header: Option<(HeaderName, HeaderValue)>,
    timeout: Duration,
    retry: RetryPolicy,
    max_reply_bytes: usize,
    expect_chain_id: Option<String>,
    next_id: AtomicU64,
    observer: Mutex<Option<Arc<dyn RpcObserver>>>,
    /// Moving average of the reply time of quick requests, microseconds (0: none yet).
    latency_us: AtomicU64,
    /// The node refused `tx` with named parameters (nodes before `wait_until`, such as
    /// Calimero's protocol-63 fork): ask in the array form.
    tx_status_array_form: std::sync::atomic::AtomicBool,
}

/// Requests whose reply time says how far the node is: not those that wait on the chain.
fn quick(method: &str) -> bool {
    !matches!(
        method,
        "broadcast_tx_commit" | "send_tx" | "tx" | "EXPERIMENTAL_tx_status"
    )
}

/// A NEAR JSON-RPC client. Cheap to clone (shares the connection pool and endpoint health).
#[derive(Clone)]
pub struct RpcClient {
    inner: Arc<Inner>,
    /// Talk only to the archival endpoint.
    archival_only: bool,
    /// A retry policy of this handle's own (else the configured one).
    retry: Option<Arc<RetryPolicy>>,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a URL's secrets or the header value.
        f.debug_struct("RpcClient")
            .field("endpoints", &self.endpoints())
            .field(
                "header",
                &self.inner.header.as_ref().map(|(n, _)| n.as_str()),
            )
            .finish()
    }
}

/// Errors that say the data is not on this node (a regular node that forgot old blocks, a
/// backend that lags): worth asking the archival endpoint.
fn missing_data(e: &RpcError) -> bool {
    const CAUSES: &[&str] = &[
        "UNKNOWN_BLOCK",
        "UNKNOWN_CHUNK",
        "UNKNOWN_EPOCH",
        "GARBAGE_COLLECTED_BLOCK",
        "UNAVAILABLE_SHARD",
        "NOT_SYNCED_YET",
    ];
    e.cause().is_some_and(|c| CAUSES.contains(&c))
        || e.mentions("garbage collected")
        || e.mentions("DB Not Found")
}

fn check_url(url: &str) -> Result<(), RpcSetupError> {
    let u = reqwest::Url::parse(url)
        .map_err(|e| RpcSetupError(format!("invalid RPC URL `{}`: {e}", redact_url(url))))?;
    if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
        return Err(RpcSetupError(format!(
            "RPC URL `{}` must be http(s) with a host",
            redact_url(url)
        )));
    }
    Ok(())
}

impl RpcClient {
    /// Whether `tx` is asked in the array form (see [`RpcClient::tx_status`]).
    pub(super) fn tx_status_array_form(&self) -> &std::sync::atomic::AtomicBool {
        &self.inner.tx_status_array_form
    }

    pub fn new(cfg: RpcClientConfig) -> Result<Self, RpcSetupError> {
        if cfg.urls.is_empty() {
            return Err(RpcSetupError("no RPC URL".into()));
        }
        for u in cfg.urls.iter().chain(cfg.archival_url.iter()) {
            check_url(u)?;
        }
        cfg.retry.validate().map_err(RpcSetupError)?;
        let header = match &cfg.header {
            None => None,
            Some(h) => {
                let name = HeaderName::from_bytes(h.name.as_bytes())
                    .map_err(|e| RpcSetupError(format!("invalid header name `{}`: {e}", h.name)))?;
                let mut value = HeaderValue::from_str(&h.value)
                    .map_err(|_| RpcSetupError(format!("invalid value for header `{}`", h.name)))?;
                value.set_sensitive(true);
                Some((name, value))
            }
        };
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| RpcSetupError(e.to_string()))?;
        let endpoint = |label: String, url: &str| {
            Arc::new(Endpoint {
                shown: format!("{label} {}", redact_url(url)),
                label,
                url: url.to_string(),
                state: Mutex::new(EndpointState::default()),
            })
        };
        Ok(RpcClient {
            inner: Arc::new(Inner {
                http,
                regular: cfg
                    .urls
                    .iter()
                    .enumerate()
                    .map(|(i, u)| endpoint(format!("rpc{i}"), u))
                    .collect(),
                archival: cfg
                    .archival_url
                    .as_deref()
                    .map(|u| endpoint("archival".into(), u)),
                preferred: AtomicUsize::new(0),
                header,
                timeout: cfg.timeout,
                retry: cfg.retry,
                max_reply_bytes: cfg.max_reply_bytes.max(1024),
                expect_chain_id: cfg.expect_chain_id,
                next_id: AtomicU64::new(1),
                observer: Mutex::new(None),
                latency_us: AtomicU64::new(0),
                tx_status_array_form: std::sync::atomic::AtomicBool::new(false),
            }),
            archival_only: false,
            retry: None,
        })
    }

    /// The same client (endpoints, health, connections) retrying by `policy` instead: e.g.
    /// `RetryPolicy::none()` for a health probe that must not wait out an outage.
    pub fn with_retry(&self, policy: RetryPolicy) -> RpcClient {
        RpcClient {
            retry: Some(Arc::new(policy)),
            ..self.clone()
        }
    }

    /// Report failures and endpoint health to `observer` (shared by every clone).
    pub fn set_observer(&self, observer: Arc<dyn RpcObserver>) {
        *self
            .inner
            .observer
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(observer);
    }

    fn observer(&self) -> Option<Arc<dyn RpcObserver>> {
        self.inner
            .observer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A client for the archival endpoint alone, if one is configured.
    pub fn archival(&self) -> Option<RpcClient> {
        self.inner.archival.as_ref().map(|_| RpcClient {
            inner: self.inner.clone(),
            archival_only: true,
            retry: self.retry.clone(),
        })
    }

    /// The endpoints as `label scheme://host:port` (safe to print), the archival one last.
    pub fn endpoints(&self) -> Vec<String> {
        let mut all = self.pool();
        if !self.archival_only {
            all.extend(self.inner.archival.iter().cloned());
        }
        all.iter().map(|e| e.shown.clone()).collect()
    }

    /// The endpoint requests go to first (safe to print).
    pub fn current_endpoint(&self) -> String {
        let pool = self.pool();
        let i = if self.archival_only {
            0
        } else {
            self.inner.preferred.load(Ordering::Relaxed) % pool.len()
        };
        pool[i].shown.clone()
    }

    /// The typical reply time of quick requests (a moving average), once some were answered.
    pub fn typical_latency(&self) -> Option<Duration> {
        match self.inner.latency_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    fn observe_latency(&self, method: &str, took: Duration) {
        if !quick(method) {
            return;
        }
        let us = took.as_micros().clamp(1, u64::MAX as u128) as u64;
        let old = self.inner.latency_us.load(Ordering::Relaxed);
        let new = if old == 0 { us } else { (old * 7 + us) / 8 };
        self.inner.latency_us.store(new.max(1), Ordering::Relaxed);
    }

    pub fn retry_policy(&self) -> &RetryPolicy {
        self.retry.as_deref().unwrap_or(&self.inner.retry)
    }

    fn pool(&self) -> Vec<Arc<Endpoint>> {
        if self.archival_only {
            self.inner.archival.iter().cloned().collect()
        } else {
            self.inner.regular.clone()
        }
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

    /// Call `method` and return its `result` as JSON, retrying retryable errors; data missing
    /// on every regular endpoint is asked of the archival endpoint.
    pub async fn call_value(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        self.call_with(method, params, self.retry_policy(), RpcError::is_retryable)
            .await
    }

    /// Call with an explicit retry policy and retry predicate (then the archival fallback).
    pub async fn call_with(
        &self,
        method: &str,
        params: Value,
        policy: &RetryPolicy,
        retry_if: impl Fn(&RpcError) -> bool + Send + Sync,
    ) -> Result<Value, RpcError> {
        let r = self.call_pool(method, &params, policy, &retry_if).await;
        match (r, self.archival()) {
            (Err(e), Some(archival)) if !self.archival_only && missing_data(&e) => {
                debug!(method, error = %e, "missing on the regular endpoints; asking the archival endpoint");
                archival.call_pool(method, &params, policy, &retry_if).await
            }
            (r, _) => r,
        }
    }

    /// The endpoint to use next: the preferred one unless it is cooling down or disabled, else
    /// the next usable one; when all cool down, the one that recovers first.
    fn pick(&self, pool: &[Arc<Endpoint>], not: Option<usize>) -> Option<usize> {
        let now = Instant::now();
        let n = pool.len();
        let start = if self.archival_only {
            0
        } else {
            self.inner.preferred.load(Ordering::Relaxed) % n
        };
        let usable = |i: usize| !pool[i].state().wrong_chain;
        let order: Vec<usize> = (0..n)
            .map(|k| (start + k) % n)
            .filter(|i| usable(*i))
            .collect();
        order
            .iter()
            .copied()
            .find(|&i| Some(i) != not && pool[i].cooling(now).is_none())
            .or_else(|| {
                order
                    .iter()
                    .copied()
                    .find(|&i| pool[i].cooling(now).is_none())
            })
            .or_else(|| order.iter().copied().min_by_key(|&i| pool[i].cooling(now)))
    }

    fn endpoint_failed(&self, ep: &Endpoint) {
        let mut s = ep.state();
        s.failures = s.failures.saturating_add(1);
        s.verified = false;
        let backoff = Duration::from_millis(500)
            .saturating_mul(1u32 << (s.failures - 1).min(6))
            .min(Duration::from_secs(30));
        s.cooling_until = Some(Instant::now() + backoff);
        let first = s.failures == 1;
        drop(s);
        if first {
            if let Some(o) = self.observer() {
                o.endpoint_up(&ep.label, false);
            }
        }
    }

    fn endpoint_ok(&self, ep: &Endpoint) {
        let mut s = ep.state();
        let was_failing = s.failures > 0;
        s.failures = 0;
        s.cooling_until = None;
        drop(s);
        if was_failing {
            if let Some(o) = self.observer() {
                o.endpoint_up(&ep.label, true);
            }
            debug!(endpoint = %ep.shown, "RPC endpoint recovered");
        }
    }

    /// Check the endpoint serves the configured chain (once, and again after failures).
    async fn verify(&self, ep: &Endpoint) -> Result<(), RpcError> {
        let Some(want) = &self.inner.expect_chain_id else {
            return Ok(());
        };
        if ep.state().verified {
            return Ok(());
        }
        let v = self.call_on(ep, "status", &json!([])).await?;
        let found = v
            .get("chain_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if &found == want {
            ep.state().verified = true;
            return Ok(());
        }
        ep.state().wrong_chain = true;
        error!(endpoint = %ep.shown, found, expected = %want, "RPC endpoint serves another chain; disabled");
        if let Some(o) = self.observer() {
            o.endpoint_up(&ep.label, false);
            o.request_failed(&ep.label, "wrong_chain");
        }
        Err(RpcError::WrongChain {
            endpoint: ep.shown.clone(),
            found,
            expected: want.clone(),
        })
    }

    async fn call_pool(
        &self,
        method: &str,
        params: &Value,
        policy: &RetryPolicy,
        retry_if: &(dyn Fn(&RpcError) -> bool + Send + Sync),
    ) -> Result<Value, RpcError> {
        let pool = self.pool();
        let mut attempt = 0u32;
        let mut last: Option<usize> = None;
        loop {
            let Some(i) = self.pick(&pool, last) else {
                return Err(RpcError::WrongChain {
                    endpoint: "every endpoint".into(),
                    found: "another chain".into(),
                    expected: self.inner.expect_chain_id.clone().unwrap_or_default(),
                });
            };
            let ep = &pool[i];
            let sent_at = Instant::now();
            let r = match self.verify(ep).await {
                Ok(()) => self.call_on(ep, method, params).await,
                Err(e) => Err(e),
            };
            if r.is_ok() {
                self.observe_latency(method, sent_at.elapsed());
            }
            let e = match r {
                Ok(v) => {
                    self.endpoint_ok(ep);
                    if !self.archival_only {
                        self.inner.preferred.store(i, Ordering::Relaxed);
                    }
                    return Ok(v);
                }
                Err(e) => e,
            };
            if let Some(o) = self.observer() {
                o.request_failed(&ep.label, e.kind());
            }
            if e.is_endpoint_fault() {
                self.endpoint_failed(ep);
            }
            let can_retry = attempt < policy.max_retries
                && (retry_if(&e) || matches!(e, RpcError::WrongChain { .. }));
            if !can_retry {
                return Err(e);
            }
            // Another endpoint ready now: go there at once; else back off.
            let next = self.pick(&pool, Some(i));
            let now = Instant::now();
            let ready_elsewhere = next.is_some_and(|j| j != i && pool[j].cooling(now).is_none());
            let delay = policy.delay(attempt);
            warn!(
                endpoint = %ep.shown, method, attempt = attempt + 1, max = policy.max_retries,
                delay = ?if ready_elsewhere { Duration::ZERO } else { delay },
                error = %e, "RPC call failed; retrying"
            );
            if !ready_elsewhere {
                tokio::time::sleep(delay).await;
            }
            attempt += 1;
            last = Some(i);
        }
    }

    /// One attempt on one endpoint, no retry.
    async fn call_on(
        &self,
        ep: &Endpoint,
        method: &str,
        params: &Value,
    ) -> Result<Value, RpcError> {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let body =
            json!({"jsonrpc": "2.0", "id": id.to_string(), "method": method, "params": params});
        let mut req = self
            .inner
            .http
            .post(&ep.url)
            .timeout(self.inner.timeout)
            .json(&body);
        if let Some((name, value)) = &self.inner.header {
            req = req.header(name.clone(), value.clone());
        }
        debug!(endpoint = %ep.label, method, id, "RPC request");
        let timeout = self.inner.timeout;
        let transport = |e: reqwest::Error| {
            if e.is_timeout() {
                RpcError::Timeout {
                    method: method.to_string(),
                    after: timeout,
                }
            } else {
                RpcError::Transport {
                    method: method.to_string(),
                    status: e.status().map(|s| s.as_u16()),
                    // Without the URL: reqwest's text names it, and it may hold a secret.
                    detail: error_chain(&e.without_url()),
                }
            }
        };
        let mut resp = req.send().await.map_err(transport)?;
        let status = resp.status();
        let limit = self.inner.max_reply_bytes;
        if resp.content_length().is_some_and(|n| n > limit as u64) {
            return Err(RpcError::BadReply {
                method: method.to_string(),
                detail: format!(
                    "reply of {} bytes exceeds the {limit}-byte bound",
                    resp.content_length().unwrap_or(0)
                ),
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(transport)? {
            if bytes.len() + chunk.len() > limit {
                return Err(RpcError::BadReply {
                    method: method.to_string(),
                    detail: format!("reply exceeds the {limit}-byte bound"),
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        // nearcore answers some errors with a non-200 status and a JSON-RPC body: read the body
        // first, fall back to the status.
        let reply: Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(_) if !status.is_success() => {
                return Err(RpcError::Transport {
                    method: method.to_string(),
                    status: Some(status.as_u16()),
                    detail: excerpt(&bytes),
                })
            }
            Err(e) => {
                return Err(RpcError::BadReply {
                    method: method.to_string(),
                    detail: format!("not JSON ({e}): {}", excerpt(&bytes)),
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
            None => Err(RpcError::BadReply {
                method: method.to_string(),
                detail: format!("neither result nor error: {}", excerpt(&bytes)),
            }),
        }
    }

    /// Ask every endpoint (regular, then archival) in turn until one answers `method` with
    /// something other than `UNKNOWN_BLOCK`-like "missing data": `Ok(None)` only when every
    /// endpoint that answered said the data is missing.
    pub async fn call_everywhere(
        &self,
        method: &str,
        params: Value,
    ) -> Result<Option<Value>, RpcError> {
        let mut pools = vec![self.pool()];
        if !self.archival_only {
            pools.extend(self.inner.archival.iter().map(|a| vec![a.clone()]));
        }
        let mut last_err = None;
        let mut missing = false;
        let no_retry = RetryPolicy::none();
        for (k, pool) in pools.into_iter().enumerate() {
            let client = RpcClient {
                inner: self.inner.clone(),
                archival_only: k > 0,
                retry: None,
            };
            for _ in 0..pool.len() {
                match client
                    .call_pool(method, &params, &no_retry, &|_| false)
                    .await
                {
                    Ok(v) => return Ok(Some(v)),
                    Err(e) if missing_data(&e) => {
                        missing = true;
                        // A lagging endpoint: let the next one answer.
                        if pool.len() > 1 {
                            let i = self.inner.preferred.load(Ordering::Relaxed);
                            if k == 0 {
                                self.inner
                                    .preferred
                                    .store((i + 1) % pool.len(), Ordering::Relaxed);
                            }
                        }
                    }
                    Err(e) => {
                        last_err = Some(e);
                    }
                }
            }
        }
        match (missing, last_err) {
            (true, _) => Ok(None),
            (false, Some(e)) => Err(e),
            (false, None) => Ok(None),
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
