//! Prometheus metrics and their HTTP endpoint (`GET /metrics`, text format).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder};
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
    /// RPC errors after retries (`chain`, `kind` = transport | timeout | handler | parse).
    pub rpc_errors: IntCounterVec,
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
                "RPC calls that failed after retries",
                &["chain", "kind"],
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

/// Serve `GET /metrics` on `addr` until `shutdown` turns true. Returns the bound address (useful
/// with port 0) and the server task. Keep `addr` on loopback unless a scraper elsewhere needs it.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
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
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let metrics = metrics.clone();
                    async move {
                        let (status, ctype, body) = match (req.method(), req.uri().path()) {
                            (&Method::GET, "/metrics") => (
                                StatusCode::OK,
                                "text/plain; version=0.0.4",
                                metrics.render(),
                            ),
                            (&Method::GET, "/health") => {
                                (StatusCode::OK, "text/plain", "ok\n".into())
                            }
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
        let (addr, task) = serve("127.0.0.1:0".parse().unwrap(), m.clone(), rx)
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
