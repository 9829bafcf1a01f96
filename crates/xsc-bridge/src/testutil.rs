//! Test support: a tiny JSON-RPC server on 127.0.0.1 whose replies a closure decides, and the
//! fixture files.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Read a fixture from `tests/fixtures`, returning the JSON-RPC `result`.
pub fn fixture_result(name: &str) -> Value {
    let mut v = fixture(name);
    v.get_mut("result").map(Value::take).unwrap_or(v)
}

pub fn fixture(name: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// What the mock answers to one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Result(Value),
    /// A JSON-RPC `error` object.
    Error(Value),
    /// A bare HTTP status with a text body.
    Http(u16, String),
    /// Wait, then answer.
    Delay(Duration, Box<Reply>),
}

#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub params: Value,
    pub headers: Vec<(String, String)>,
    pub at: std::time::Instant,
}

type Handler = dyn Fn(usize, &str, &Value) -> Reply + Send + Sync;

pub struct MockRpc {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Recorded>>>,
    task: JoinHandle<()>,
}

impl Drop for MockRpc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockRpc {
    /// Start on an ephemeral loopback port. `handler(n, method, params)` gets the 0-based index
    /// of the request among all received.
    pub async fn start(
        handler: impl Fn(usize, &str, &Value) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(handler);
        let reqs = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let handler = handler.clone();
                let reqs = reqs.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let handler = handler.clone();
                        let reqs = reqs.clone();
                        async move {
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(k, v)| {
                                    (k.to_string(), v.to_str().unwrap_or_default().to_string())
                                })
                                .collect();
                            let body = req.into_body().collect().await?.to_bytes();
                            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                            let method = v["method"].as_str().unwrap_or_default().to_string();
                            let params = v["params"].clone();
                            let n = {
                                let mut r = reqs.lock().unwrap();
                                r.push(Recorded {
                                    method: method.clone(),
                                    params: params.clone(),
                                    headers,
                                    at: std::time::Instant::now(),
                                });
                                r.len() - 1
                            };
                            let mut reply = handler(n, &method, &params);
                            while let Reply::Delay(d, inner) = reply {
                                tokio::time::sleep(d).await;
                                reply = *inner;
                            }
                            let (status, body) = match reply {
                                Reply::Result(r) => (
                                    200,
                                    json!({"jsonrpc": "2.0", "id": v["id"], "result": r})
                                        .to_string(),
                                ),
                                Reply::Error(e) => (
                                    200,
                                    json!({"jsonrpc": "2.0", "id": v["id"], "error": e})
                                        .to_string(),
                                ),
                                Reply::Http(s, text) => (s, text),
                                Reply::Delay(..) => unreachable!(),
                            };
                            Ok::<_, hyper::Error>(
                                Response::builder()
                                    .status(StatusCode::from_u16(status).unwrap())
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        MockRpc {
            url,
            requests,
            task,
        }
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn recorded(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }
}

/// A handler error as current nearcore writes it.
pub fn handler_error(cause: &str, data: &str) -> Value {
    json!({"name": "HANDLER_ERROR", "cause": {"name": cause, "info": {}},
           "code": -32000, "message": "Server error", "data": data})
}

/// The signed transaction a mock node received (`params[0]` of a `broadcast_tx_*` request:
/// base64 of its borsh).
pub fn signed_tx(b64: &str) -> near_primitives::transaction::SignedTransaction {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    borsh::from_slice(&bytes).unwrap()
}

/// A transaction sender talking to `url` without retries, signing as `account` with a key
/// derived from `seed`..
pub fn test_sender(
    url: &str,
    account: &str,
    seed: &str,
    opts: crate::tx::TxOptions,
) -> crate::tx::TxSender {
    let rpc = crate::rpc::RpcClient::new(crate::rpc::RpcClientConfig {
        header: None,
        timeout: Duration::from_secs(5),
        retry: crate::rpc::RetryPolicy::none(),
        ..crate::rpc::RpcClientConfig::new(url)
    })
    .unwrap();
    let signer = crate::signer::TxSigner::from_seed(account, seed).unwrap();
    crate::tx::TxSender::new(rpc, Arc::new(signer), opts)
}
