//! Prometheus metrics and the operations endpoint: `GET /metrics` (text format), `GET /health`
//! and `GET /ready` ([`crate::health`]). Every metric name is listed in the README.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use crate::queue::{EventState, StateCounts};

/// The service's metrics, in their own registry.
pub struct Metrics {
    registry: Registry,
    /// Events found by the indexer (`source`, `dest`).
    pub events_seen: IntCounterVec,
    /// Events delivered, including those found already delivered (`source`, `dest`).
    pub events_delivered: IntCounterVec,
    /// Events that failed for good (`source`, `dest`).
    pub events_failed: IntCounterVec,
    /// Events waiting for delivery now (`dest`), from the queue.
    pub events_pending: IntGaugeVec,
    /// Queue contents by state (`dest`, `state`), from the queue.
    pub queue_events: IntGaugeVec,
    /// Source final height minus the indexer's cursor (`source`).
    pub relay_lag_blocks: IntGaugeVec,
    /// Source final height minus the destination light client's head (`source`, `dest`).
    pub light_client_lag_blocks: IntGaugeVec,
    /// Light client blocks submitted (`source`, `dest`, `mode` = lean | full).
    pub lc_blocks_relayed: IntCounterVec,
    /// Gas burnt by light client updates (`source`, `dest`).
    pub lc_gas_burnt: IntCounterVec,
    /// Failed RPC requests, each attempt (`chain`, `endpoint` = rpc0 | rpc1 | ... | archival,
    /// `kind` = transport | timeout | handler | parse | bad_reply | wrong_chain).
    pub rpc_errors: IntCounterVec,
    /// 1 while an RPC endpoint answers, 0 while it fails or is disabled (`chain`, `endpoint`).
    pub rpc_endpoint_up: IntGaugeVec,
    /// 1 while the indexer of `source` is stopped by a chain it cannot link (a lagging or lying
    /// node): nothing is skipped, it retries.
    pub indexer_stalled: IntGaugeVec,
    /// Failed indexing steps (`source`, `kind` = rpc | store | chain_link | no_blocks | not_provable | audit).
    pub indexer_errors: IntCounterVec,
    /// Messages sent on the source but neither delivered nor queued, found by comparing the
    /// connectors' sequence numbers (`source`, `dest`).
    pub index_gaps: IntCounterVec,
    /// Of those, found again by indexing their block again (`source`, `dest`).
    pub index_gaps_repaired: IntCounterVec,
    /// Messages the queue recorded as delivered that the destination connector did not know
    /// (a false outcome from a node, or a bug), found by the audit and delivered again
    /// (`source`, `dest`).
    pub deliveries_reopened: IntCounterVec,
    /// Deliveries delayed by a temporary failure (RPC, light client update, unconfirmed
    /// transaction, pause, window); never counted as attempts (`source`, `dest`). Alert on its
    /// rate.
    pub delivery_temporary_failures: IntCounterVec,
    /// Claimed messages kept back without a transaction because the destination connector would
    /// refuse them as too far ahead of its watermark (`source`, `dest`).
    pub delivery_deferred: IntCounterVec,
    /// Deliveries refused on chain and counted as attempts (`source`, `dest`).
    pub delivery_refusals: IntCounterVec,
    /// From the source block that emitted a message to its confirmed delivery, seconds
    /// (`source`, `dest`).
    pub delivery_latency: HistogramVec,
    /// Messages per batch delivery transaction (`source`, `dest`); deliveries alone are not
    /// observed.
    pub delivery_batch_size: HistogramVec,
    /// Age of the oldest message not delivered yet, seconds (`dest`); 0 when none.
    pub oldest_pending_age: IntGaugeVec,
    /// Balance of each relayer account, NEAR (`chain`, `account`).
    pub relayer_balance: GaugeVec,
    /// Keys in use (`chain`, `role` = relay | delivery).
    pub key_lanes: IntGaugeVec,
    /// Nonce re-synchronisations of a lane (`chain`, `lane`).
    pub nonce_resyncs: IntGaugeVec,
    /// 1 while the chain's RPC answers (any endpoint), 0 otherwise (`chain`).
    pub chain_reachable: IntGaugeVec,
}

fn counter(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(c.clone())).expect("unique metric");
    c
}

fn gauge(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric");
    r.register(Box::new(g.clone())).expect("unique metric");
    g
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let r = Registry::new_custom(Some("xsc".into()), None).expect("registry");
        Metrics {
            events_seen: counter(
                &r,
                "events_seen_total",
                "Connector events found by the indexer",
                &["source", "dest"],
            ),
            events_delivered: counter(
                &r,
                "events_delivered_total",
                "Events delivered to the destination chain",
                &["source", "dest"],
            ),
            events_failed: counter(
                &r,
                "events_failed_total",
                "Events whose delivery failed for good",
                &["source", "dest"],
            ),
            events_pending: gauge(
                &r,
                "events_pending",
                "Events waiting for delivery",
                &["dest"],
            ),
            queue_events: gauge(
                &r,
                "queue_events",
                "Events in the durable queue by state",
                &["dest", "state"],
            ),
            relay_lag_blocks: gauge(
                &r,
                "relay_lag_blocks",
                "Source final height minus the indexed height",
                &["source"],
            ),
            light_client_lag_blocks: gauge(
                &r,
                "light_client_lag_blocks",
                "Source final height minus the destination light client's head",
                &["source", "dest"],
            ),
            lc_blocks_relayed: counter(
                &r,
                "lc_blocks_relayed_total",
                "Light client blocks submitted",
                &["source", "dest", "mode"],
            ),
            lc_gas_burnt: counter(
                &r,
                "lc_gas_burnt_total",
                "Gas burnt by light client updates",
                &["source", "dest"],
            ),
            rpc_errors: counter(
                &r,
                "rpc_errors_total",
                "Failed RPC requests (each attempt)",
                &["chain", "endpoint", "kind"],
            ),
            rpc_endpoint_up: gauge(
                &r,
                "rpc_endpoint_up",
                "1 while the RPC endpoint answers",
                &["chain", "endpoint"],
            ),
            indexer_stalled: gauge(
                &r,
                "indexer_stalled",
                "1 while the indexer cannot link the chain it reads (nothing skipped; retrying)",
                &["source"],
            ),
            indexer_errors: counter(
                &r,
                "indexer_errors_total",
                "Failed indexing steps",
                &["source", "kind"],
            ),
            index_gaps: counter(
                &r,
                "index_gaps_total",
                "Messages found neither delivered nor queued by the sequence audit",
                &["source", "dest"],
            ),
            index_gaps_repaired: counter(
                &r,
                "index_gaps_repaired_total",
                "Missing messages found again by indexing their block again",
                &["source", "dest"],
            ),
            deliveries_reopened: counter(
                &r,
                "deliveries_reopened_total",
                "Messages recorded as delivered that the destination connector did not know, delivered again",
                &["source", "dest"],
            ),
            delivery_temporary_failures: counter(
                &r,
                "delivery_temporary_failures_total",
                "Deliveries delayed by a temporary failure (not counted as attempts)",
                &["source", "dest"],
            ),
            delivery_deferred: counter(
                &r,
                "delivery_deferred_total",
                "Claimed messages kept back (no transaction) while beyond the destination connector's window",
                &["source", "dest"],
            ),
            delivery_refusals: counter(
                &r,
                "delivery_refusals_total",
                "Deliveries refused on chain (counted attempts)",
                &["source", "dest"],
            ),
            delivery_latency: {
                let h = HistogramVec::new(
                    HistogramOpts::new(
                        "delivery_latency_seconds",
                        "From the source block that emitted a message to its confirmed delivery",
                    )
                    .buckets(vec![
                        2.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0,
                        600.0, 1800.0, 3600.0,
                    ]),
                    &["source", "dest"],
                )
                .expect("valid metric");
                r.register(Box::new(h.clone())).expect("unique metric");
                h
            },
            delivery_batch_size: {
                let h = HistogramVec::new(
                    HistogramOpts::new(
                        "delivery_batch_size",
                        "Messages per batch delivery transaction",
                    )
                    .buckets(vec![2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0]),
                    &["source", "dest"],
                )
                .expect("valid metric");
                r.register(Box::new(h.clone())).expect("unique metric");
                h
            },
            oldest_pending_age: gauge(
                &r,
                "oldest_pending_age_seconds",
                "Age of the oldest message not delivered yet",
                &["dest"],
            ),
            relayer_balance: {
                let g = GaugeVec::new(
                    Opts::new(
                        "relayer_balance_near",
                        "Balance of the relayer account, NEAR",
                    ),
                    &["chain", "account"],
                )
                .expect("valid metric");
                r.register(Box::new(g.clone())).expect("unique metric");
                g
            },
            key_lanes: gauge(&r, "key_lanes", "Keys in use", &["chain", "role"]),
            nonce_resyncs: gauge(
                &r,
                "nonce_resyncs",
                "Nonce re-synchronisations of a key lane",
                &["chain", "lane"],
            ),
            chain_reachable: gauge(
                &r,
                "chain_reachable",
                "1 while the chain's RPC answers",
                &["chain"],
            ),
            registry: r,
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Set the queue gauges of `dest` from the store's counts.
    pub fn set_queue_counts(&self, dest: &str, counts: &StateCounts) {
        self.events_pending
            .with_label_values(&[dest])
            .set(counts.pending as i64);
        for s in EventState::ALL {
            self.queue_events
                .with_label_values(&[dest, s.as_str()])
                .set(counts.get(s) as i64);
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding");
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Reports one chain's RPC failures and endpoint health into [`Metrics`].
pub struct RpcMetrics {
    pub metrics: Arc<Metrics>,
    pub chain: String,
}

impl crate::rpc::RpcObserver for RpcMetrics {
    fn request_failed(&self, endpoint: &str, kind: &str) {
        self.metrics
            .rpc_errors
            .with_label_values(&[self.chain.as_str(), endpoint, kind])
            .inc();
    }

    fn endpoint_up(&self, endpoint: &str, up: bool) {
        self.metrics
            .rpc_endpoint_up
            .with_label_values(&[self.chain.as_str(), endpoint])
            .set(up as i64);
    }
}

/// Serve `GET /metrics` on `addr` until `shutdown` turns true. Returns the bound address (useful
/// with port 0) and the server task. Keep `addr` on loopback unless a scraper elsewhere needs it.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Option<Arc<crate::health::Health>>,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    if !bound.ip().is_loopback() {
        warn!(%bound, "metrics endpoint listens beyond loopback");
    }
    info!(%bound, "metrics endpoint: GET /metrics");
    let task = tokio::spawn(async move {
        loop {
            let (stream, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => { warn!(error = %e, "metrics accept failed"); continue; }
                },
                _ = shutdown.changed() => return,
            };
            debug!(%peer, "metrics connection");
            let metrics = metrics.clone();
            let health = health.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    let health = health.clone();
                    async move {
                        let check = |r: (bool, serde_json::Value)| {
                            let status = if r.0 {
                                StatusCode::OK
                            } else {
                                StatusCode::SERVICE_UNAVAILABLE
                            };
                            (status, "application/json", format!("{:#}\n", r.1))
                        };
                        let (status, ctype, body) = match (req.method(), req.uri().path(), &health)
                        {
                            (&Method::GET, "/metrics", _) => (
                                StatusCode::OK,
                                "text/plain; version=0.0.4",
                                metrics.render(),
                            ),
                            (&Method::GET, "/health", Some(h)) => check(h.health()),
                            (&Method::GET, "/ready", Some(h)) => check(h.ready()),
                            _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
                        };
                        Ok::<_, std::convert::Infallible>(
                            Response::builder()
                                .status(status)
                                .header("content-type", ctype)
                                .body(Full::new(Bytes::from(body)))
                                .expect("response"),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_labels() {
        let m = Metrics::new();
        m.events_seen.with_label_values(&["a", "b"]).inc_by(3);
        m.set_queue_counts(
            "b",
            &StateCounts {
                pending: 2,
                delivering: 1,
                delivered: 5,
                failed: 1,
            },
        );
        m.light_client_lag_blocks
            .with_label_values(&["a", "b"])
            .set(17);
        let text = m.render();
        assert!(
            text.contains(r#"xsc_events_seen_total{dest="b",source="a"} 3"#),
            "{text}"
        );
        assert!(text.contains(r#"xsc_events_pending{dest="b"} 2"#), "{text}");
        assert!(
            text.contains(r#"xsc_queue_events{dest="b",state="failed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"xsc_light_client_lag_blocks{dest="b",source="a"} 17"#),
            "{text}"
        );
    }

    #[tokio::test]
    async fn endpoint_serves_metrics_on_loopback_and_stops() {
        let m = Arc::new(Metrics::new());
        m.events_delivered.with_label_values(&["a", "b"]).inc();
        let (tx, rx) = watch::channel(false);
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), m.clone(), None, rx)
            .await
            .unwrap();
        let body = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.contains(r#"xsc_events_delivered_total{dest="b",source="a"} 1"#),
            "{body}"
        );
        let r = reqwest::get(format!("http://{addr}/nope")).await.unwrap();
        assert_eq!(r.status(), 404);
        tx.send(true).unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), task)
            .await
            .unwrap()
            .unwrap();
    }
}
