//! An RPC fault proxy on loopback: put it in front of a node and point the relayer at it. Each
//! JSON-RPC request is forwarded to the node, or not, and answered faithfully, or not,
//! according to configurable probabilities:
//!
//! - **delay**: the reply (or the forwarding) waits up to `max_delay`;
//! - **drop**: the connection is closed without a reply, before forwarding or after it (the
//!   node executed the request — a transaction was submitted — but the caller never hears);
//! - **5xx**: HTTP 502/503 with a text body, before or after forwarding;
//! - **garbage**: HTTP 200 with bytes that are not JSON-RPC (random text, a truncated reply);
//! - **lagging backend**: `UNKNOWN_BLOCK` for a block, chunk or proof request about a block
//!   that exists (what a load-balanced RPC answers when the backend it picked is behind).
//!
//! Decisions come from a seeded RNG: a failing run is reproducible from its seed. Counters tell
//! how many faults of each kind were injected, so a test can check the faults really happened.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Probability of each fault per request (each in `0.0..=1.0`; at most one fault per request).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaultRates {
    pub delay: f64,
    pub max_delay: Duration,
    pub drop: f64,
    pub http_5xx: f64,
    pub garbage: f64,
    /// For requests about a block (by height or hash), a chunk or a proof.
    pub lagging: f64,
}

impl FaultRates {
    pub const NONE: FaultRates = FaultRates {
        delay: 0.0,
        max_delay: Duration::ZERO,
        drop: 0.0,
        http_5xx: 0.0,
        garbage: 0.0,
        lagging: 0.0,
    };

    /// Every kind of fault, often.
    pub fn harsh() -> Self {
        FaultRates {
            delay: 0.10,
            max_delay: Duration::from_millis(1500),
            drop: 0.04,
            http_5xx: 0.04,
            garbage: 0.04,
            lagging: 0.10,
        }
    }
}

/// Faults injected so far, by kind.
#[derive(Debug, Default)]
pub struct FaultCounts {
    pub requests: AtomicU64,
    pub delayed: AtomicU64,
    pub dropped_before: AtomicU64,
    pub dropped_after: AtomicU64,
    pub http_5xx: AtomicU64,
    pub garbage: AtomicU64,
    pub lagging: AtomicU64,
}

impl FaultCounts {
    pub fn snapshot(&self) -> Value {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        json!({
            "requests": g(&self.requests),
            "delayed": g(&self.delayed),
            "dropped_before_forwarding": g(&self.dropped_before),
            "dropped_after_forwarding": g(&self.dropped_after),
            "http_5xx": g(&self.http_5xx),
            "garbage": g(&self.garbage),
            "lagging_unknown_block": g(&self.lagging),
        })
    }
}

struct State {
    upstream: String,
    http: reqwest::Client,
    rng: Mutex<StdRng>,
    rates: Mutex<FaultRates>,
    enabled: AtomicBool,
    counts: FaultCounts,
}

pub struct FaultProxy {
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Delay(Duration, bool),
    Drop { after: bool },
    Http5xx { after: bool },
    Garbage { truncated: bool },
    Lagging,
}

/// Whether a request is about a particular block (what a lagging backend may not have).
fn about_a_block(method: &str, params: &Value) -> bool {
    match method {
        "block" => params.get("block_id").is_some_and(|b| !b.is_null()),
        "chunk" | "EXPERIMENTAL_light_client_proof" | "next_light_client_block" => true,
        _ => false,
    }
}

impl State {
    fn decide(&self, method: &str, params: &Value) -> Fault {
        if !self.enabled.load(Ordering::Relaxed) {
            return Fault::None;
        }
        let r = *self.rates.lock().unwrap_or_else(|p| p.into_inner());
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let x: f64 = rng.gen();
        let after = rng.gen_bool(0.5);
        let mut acc = 0.0;
        let mut hit = |p: f64| {
            acc += p;
            x < acc
        };
        if about_a_block(method, params) && hit(r.lagging) {
            return Fault::Lagging;
        }
        if hit(r.drop) {
            return Fault::Drop { after };
        }
        if hit(r.http_5xx) {
            return Fault::Http5xx { after };
        }
        if hit(r.garbage) {
            return Fault::Garbage { truncated: after };
        }
        if hit(r.delay) {
            let ms = rng.gen_range(0..=r.max_delay.as_millis().max(1) as u64);
            return Fault::Delay(Duration::from_millis(ms), after);
        }
        Fault::None
    }

    async fn forward(&self, body: Bytes) -> Result<(u16, Bytes), String> {
        let r = self
            .http
            .post(&self.upstream)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let bytes = r.bytes().await.map_err(|e| e.to_string())?;
        Ok((status, bytes))
    }
}

fn response(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY))
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .expect("response")
}

/// Closing the connection without a reply: the service errs and hyper drops it.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    state: Arc<State>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let body = req
        .into_body()
        .collect()
        .await
        .map_err(|_| Dropped)?
        .to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let method = v["method"].as_str().unwrap_or("").to_string();
    let id = v["id"].clone();
    state.counts.requests.fetch_add(1, Ordering::Relaxed);
    let fault = state.decide(&method, &v["params"]);
    let c = &state.counts;
    let forwarded = |r: Result<(u16, Bytes), String>| match r {
        Ok((s, b)) => Ok(response(s, b)),
        Err(e) => Ok(response(502, format!("upstream: {e}"))),
    };
    match fault {
        Fault::None => forwarded(state.forward(body).await),
        Fault::Delay(d, after) => {
            c.delayed.fetch_add(1, Ordering::Relaxed);
            if !after {
                tokio::time::sleep(d).await;
            }
            let r = state.forward(body).await;
            if after {
                tokio::time::sleep(d).await;
            }
            forwarded(r)
        }
        Fault::Drop { after } => {
            if after {
                c.dropped_after.fetch_add(1, Ordering::Relaxed);
                let _ = state.forward(body).await;
            } else {
                c.dropped_before.fetch_add(1, Ordering::Relaxed);
            }
            Err(Dropped)
        }
        Fault::Http5xx { after } => {
            c.http_5xx.fetch_add(1, Ordering::Relaxed);
            if after {
                let _ = state.forward(body).await;
            }
            Ok(response(
                if after { 502 } else { 503 },
                "upstream unavailable",
            ))
        }
        Fault::Garbage { truncated } => {
            c.garbage.fetch_add(1, Ordering::Relaxed);
            if truncated {
                // A real reply cut short.
                let r = state
                    .forward(body)
                    .await
                    .map(|(_, b)| b)
                    .unwrap_or_default();
                let cut = r.len() / 2;
                Ok(response(200, r.slice(..cut)))
            } else {
                let junk: String = {
                    let mut rng = state.rng.lock().unwrap_or_else(|p| p.into_inner());
                    (0..64)
                        .map(|_| rng.gen_range(b' '..=b'~') as char)
                        .collect()
                };
                Ok(response(200, junk))
            }
        }
        Fault::Lagging => {
            c.lagging.fetch_add(1, Ordering::Relaxed);
            let err = json!({"name": "HANDLER_ERROR",
                "cause": {"name": "UNKNOWN_BLOCK", "info": {}},
                "code": -32000, "message": "Server error",
                "data": "DB Not Found Error: BLOCK: (lagging backend)"});
            Ok(response(
                200,
                json!({"jsonrpc": "2.0", "id": id, "error": err}).to_string(),
            ))
        }
    }
}

impl FaultProxy {
    /// Start a proxy to `upstream` on an ephemeral loopback port, faults off.
    pub async fn start(upstream: &str, seed: u64) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State {
            upstream: upstream.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .map_err(std::io::Error::other)?,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            rates: Mutex::new(FaultRates::NONE),
            enabled: AtomicBool::new(true),
            counts: FaultCounts::default(),
        });
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(st.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(FaultProxy { url, state, task })
    }

    pub fn set_rates(&self, rates: FaultRates) {
        *self.state.rates.lock().unwrap_or_else(|p| p.into_inner()) = rates;
    }

    /// Turn every fault on or off (off: a transparent proxy).
    pub fn set_enabled(&self, on: bool) {
        self.state.enabled.store(on, Ordering::Relaxed);
    }

    pub fn counts(&self) -> &FaultCounts {
        &self.state.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers every request with its method name.
    async fn upstream() -> (String, JoinHandle<()>, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicU64::new(0));
        let h2 = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let h = h2.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let h = h.clone();
                        async move {
                            h.fetch_add(1, Ordering::Relaxed);
                            let b = req.into_body().collect().await?.to_bytes();
                            let v: Value = serde_json::from_slice(&b).unwrap();
                            let out =
                                json!({"jsonrpc": "2.0", "id": v["id"], "result": v["method"]});
                            Ok::<_, hyper::Error>(response(200, out.to_string()))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        (url, task, hits)
    }

    async fn call(url: &str, method: &str, params: Value) -> Result<(u16, String), String> {
        let r = reqwest::Client::new()
            .post(url)
            .json(&json!({"jsonrpc": "2.0", "id": "1", "method": method, "params": params}))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let s = r.status().as_u16();
        Ok((s, r.text().await.map_err(|e| e.to_string())?))
    }

    #[tokio::test]
    async fn every_fault_happens_at_its_rate_and_none_when_off() {
        let (up, _t, hits) = upstream().await;
        let p = FaultProxy::start(&up, 7).await.unwrap();
        // Off: transparent.
        let (s, body) = call(&p.url, "status", json!([])).await.unwrap();
        assert_eq!((s, body.contains("\"result\":\"status\"")), (200, true));
        p.set_rates(FaultRates {
            delay: 0.15,
            max_delay: Duration::from_millis(20),
            drop: 0.15,
            http_5xx: 0.15,
            garbage: 0.15,
            lagging: 0.3,
        });
        let (mut ok, mut dropped, mut e5, mut junk, mut lag) = (0, 0, 0, 0, 0);
        for i in 0..400 {
            let (method, params) = if i % 2 == 0 {
                ("block", json!({"block_id": 5}))
            } else {
                ("status", json!([]))
            };
            match call(&p.url, method, params).await {
                Err(_) => dropped += 1,
                Ok((503 | 502, _)) => e5 += 1,
                Ok((200, b)) if b.contains("UNKNOWN_BLOCK") => {
                    assert_eq!(method, "block", "only requests about a block lag");
                    lag += 1
                }
                Ok((200, b)) if serde_json::from_str::<Value>(&b).is_err() => junk += 1,
                Ok((200, b)) => {
                    assert!(b.contains(&format!("\"result\":\"{method}\"")), "{b}");
                    ok += 1
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
        let c = p.counts();
        assert_eq!(
            dropped,
            c.dropped_before.load(Ordering::Relaxed) + c.dropped_after.load(Ordering::Relaxed)
        );
        assert_eq!(e5, c.http_5xx.load(Ordering::Relaxed));
        assert_eq!(lag, c.lagging.load(Ordering::Relaxed));
        assert!(
            junk > 10 && dropped > 10 && e5 > 10 && lag > 20 && ok > 100,
            "{}",
            c.snapshot()
        );
        assert!(c.delayed.load(Ordering::Relaxed) > 10);
        // Faults that forward first really reach the upstream.
        assert!(hits.load(Ordering::Relaxed) > ok as u64);
        p.set_enabled(false);
        for _ in 0..20 {
            assert_eq!(call(&p.url, "status", json!([])).await.unwrap().0, 200);
        }
    }
}
