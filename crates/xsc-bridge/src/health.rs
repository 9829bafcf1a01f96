//! What `/health` and `/ready` answer, from what the service's watcher last saw.
//!
//! - **`/health`** (liveness: restart the process when it fails): the watcher loop ran within
//!   [`STALE`] and the queue answered within [`STALE`]. A chain outage is not a health failure:
//!   restarting would not help, the service waits it out.
//! - **`/ready`** (the bridge is doing its job): every chain's RPC answered within [`STALE`];
//!   per direction, the indexer links the chain (not stalled) and is at most
//!   `ready_max_index_lag_blocks` behind the final head, the destination light client can take
//!   the source's next block (its head is in the source's current epoch or the one before), and
//!   no message has waited longer than `ready_max_pending_age_s`.
//!
//! Both answer JSON with every check, so an operator sees which one fails.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How recent an observation must be to count.
pub const STALE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
struct ChainState {
    last_ok: Option<Instant>,
    error: Option<String>,
    final_height: Option<u64>,
}

/// What the watcher saw of one direction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectionState {
    /// Source final height minus the indexer's cursor.
    pub index_lag: Option<u64>,
    /// Source final height minus the destination light client's head.
    pub light_client_lag: Option<u64>,
    /// The light client's head is in the source's current epoch or the one before.
    pub light_client_current: Option<bool>,
    pub oldest_pending_age_s: Option<u64>,
    /// The indexer is stopped by a chain it cannot link.
    pub stalled: bool,
}

#[derive(Default)]
struct State {
    heartbeat: Option<Instant>,
    store_ok: Option<Instant>,
    store_error: Option<String>,
    chains: BTreeMap<String, ChainState>,
    directions: BTreeMap<String, DirectionState>,
}

pub struct Health {
    started: Instant,
    max_pending_age: Duration,
    max_index_lag: u64,
    state: Mutex<State>,
}

fn age(t: Option<Instant>) -> Option<f64> {
    t.map(|t| (t.elapsed().as_millis() as f64 / 1000.0 * 10.0).round() / 10.0)
}

fn fresh(t: Option<Instant>) -> bool {
    t.is_some_and(|t| t.elapsed() <= STALE)
}

impl Health {
    pub fn new(max_pending_age: Duration, max_index_lag: u64) -> Self {
        Health {
            started: Instant::now(),
            max_pending_age,
            max_index_lag,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The watcher loop ran.
    pub fn heartbeat(&self) {
        self.state().heartbeat = Some(Instant::now());
    }

    pub fn store_result(&self, r: Result<(), String>) {
        let mut s = self.state();
        match r {
            Ok(()) => {
                s.store_ok = Some(Instant::now());
                s.store_error = None;
            }
            Err(e) => s.store_error = Some(e),
        }
    }

    pub fn chain_result(&self, chain: &str, r: Result<u64, String>) {
        let mut s = self.state();
        let c = s.chains.entry(chain.to_string()).or_default();
        match r {
            Ok(h) => {
                c.last_ok = Some(Instant::now());
                c.error = None;
                c.final_height = Some(h);
            }
            Err(e) => c.error = Some(e),
        }
    }

    pub fn set_direction(&self, name: &str, f: impl FnOnce(&mut DirectionState)) {
        f(self.state().directions.entry(name.to_string()).or_default());
    }

    pub fn direction(&self, name: &str) -> Option<DirectionState> {
        self.state().directions.get(name).cloned()
    }

    /// Liveness: the process is not wedged.
    pub fn health(&self) -> (bool, Value) {
        let s = self.state();
        let grace = self.started.elapsed() <= STALE;
        let loop_ok = fresh(s.heartbeat) || (grace && s.heartbeat.is_none());
        let store_ok = fresh(s.store_ok) || (grace && s.store_ok.is_none());
        let ok = loop_ok && store_ok;
        (
            ok,
            json!({
                "ok": ok,
                "watcher_loop": {"ok": loop_ok, "seconds_ago": age(s.heartbeat)},
                "queue": {"ok": store_ok, "seconds_ago": age(s.store_ok), "error": s.store_error},
            }),
        )
    }

    /// Readiness: every chain reachable and every direction keeping up.
    pub fn ready(&self) -> (bool, Value) {
        let s = self.state();
        let mut ok = fresh(s.store_ok);
        let mut chains = serde_json::Map::new();
        for (name, c) in &s.chains {
            let reachable = fresh(c.last_ok) && c.error.is_none();
            ok &= reachable;
            chains.insert(
                name.clone(),
                json!({"reachable": reachable, "seconds_since_answer": age(c.last_ok),
                       "final_height": c.final_height, "error": c.error}),
            );
        }
        if s.chains.is_empty() {
            ok = false;
        }
        let mut dirs = serde_json::Map::new();
        for (name, d) in &s.directions {
            let index_ok = !d.stalled && d.index_lag.is_some_and(|l| l <= self.max_index_lag);
            let lc_ok = d.light_client_current == Some(true);
            let pending_ok = d
                .oldest_pending_age_s
                .is_none_or(|a| a <= self.max_pending_age.as_secs());
            ok &= index_ok && lc_ok && pending_ok;
            dirs.insert(
                name.clone(),
                json!({
                    "indexer": {"ok": index_ok, "lag_blocks": d.index_lag, "stalled": d.stalled,
                                "max_lag_blocks": self.max_index_lag},
                    "light_client": {"ok": lc_ok, "lag_blocks": d.light_client_lag},
                    "oldest_pending": {"ok": pending_ok, "age_seconds": d.oldest_pending_age_s,
                                       "max_age_seconds": self.max_pending_age.as_secs()},
                }),
            );
        }
        if s.directions.is_empty() {
            ok = false;
        }
        (
            ok,
            json!({"ready": ok, "queue": {"ok": fresh(s.store_ok), "error": s.store_error},
                   "chains": chains, "directions": dirs}),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keeping_up(d: &mut DirectionState) {
        d.index_lag = Some(3);
        d.light_client_lag = Some(10);
        d.light_client_current = Some(true);
        d.oldest_pending_age_s = Some(4);
        d.stalled = false;
    }

    fn ready_pair() -> Health {
        let h = Health::new(Duration::from_secs(600), 100);
        h.heartbeat();
        h.store_result(Ok(()));
        h.chain_result("a", Ok(10));
        h.chain_result("b", Ok(20));
        h.set_direction("a->b", keeping_up);
        h.set_direction("b->a", keeping_up);
        h
    }

    #[test]
    fn ready_only_when_every_check_passes() {
        let h = ready_pair();
        assert!(h.health().0);
        let (ok, body) = h.ready();
        assert!(ok, "{body}");
        // Each failure alone makes it unready, and the body names it.
        type Break = fn(&Health);
        let cases: [(Break, &str); 6] = [
            (
                |h| h.chain_result("b", Err("connection refused".into())),
                "connection refused",
            ),
            (
                |h| h.set_direction("a->b", |d| d.stalled = true),
                "\"stalled\": true",
            ),
            (
                |h| h.set_direction("a->b", |d| d.index_lag = Some(101)),
                "\"lag_blocks\": 101",
            ),
            (
                |h| h.set_direction("b->a", |d| d.light_client_current = Some(false)),
                "\"ok\": false",
            ),
            (
                |h| h.set_direction("b->a", |d| d.oldest_pending_age_s = Some(601)),
                "601",
            ),
            (|h| h.set_direction("b->a", |d| d.index_lag = None), "null"),
        ];
        for (i, (f, want)) in cases.into_iter().enumerate() {
            let h = ready_pair();
            f(&h);
            let (ok, body) = h.ready();
            let text = format!("{body:#}");
            assert!(!ok, "case {i}: {text}");
            assert!(text.contains(want), "case {i}: {text}");
            assert!(
                h.health().0,
                "a chain or direction problem is not a liveness failure"
            );
        }
    }

    #[test]
    fn nothing_observed_is_not_ready_and_a_dead_loop_is_not_healthy() {
        let h = Health::new(Duration::from_secs(600), 100);
        assert!(!h.ready().0);
        assert!(h.health().0, "grace period after start");
        h.store_result(Err("disk I/O error".into()));
        let body = format!("{:#}", h.health().1);
        assert!(body.contains("disk I/O error"), "{body}");
    }
}
