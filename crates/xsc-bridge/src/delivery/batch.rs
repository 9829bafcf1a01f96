//! Several messages in one delivery transaction: the light client's `verify_and_forward_batch`
//! (borsh `(connector, [(proof, head height, borsh(kind))])`, all proofs verified or none), which
//! hands every message to the connector's `on_proven_outcomes` in one call. Per message this
//! saves a transaction and two receipts (measured by `connector_gas`: a `cross_call` costs 5.94
//! Tgas in a batch of five on protocol 86, 9.46 alone).
//!
//! What may go in a batch, and how its outcome is read, is chosen so that a batch never judges a
//! message on another's account:
//! - only messages on their first try go in a batch ([`goes_alone`]): one whose earlier try
//!   failed, was refused, or may have executed (a recorded transaction) is delivered alone,
//!   where the usual rules apply;
//! - the connector ends each message of `on_proven_outcomes`, in order, with exactly one verdict
//!   event (`delivered`, `message_refused`, `delivery_rejected`; see the connector's
//!   `events.rs`): the i-th verdict is the i-th message's ([`batch_verdicts`], which also checks
//!   the count and every sequence number the events name). Anything else — the transaction failed
//!   as a whole (one proof that did not verify fails them all), verdicts that do not line up — is
//!   no verdict on any message: each is retried alone, not counted ([`BATCH_TAG`]);
//! - `ERR_NOT_ENOUGH_GAS` in a batch means the batch was too big for the message: it is retried
//!   alone, not counted.
//!
//! Crash safety as for one message: the transaction's hash is recorded for every message of the
//! batch (as `<hash>#<index>/<size>`) before it is sent, and a later claim reads that message's
//! verdict from the executed transaction ([`Deliverer::earlier_decision`]).

use super::{classify, Decision, Deliverer, DeliveryError};
use crate::events::delivery_verdict;
use crate::indexer::event_target;
use crate::queue::StoredEvent;
use crate::rpc::FinalOutcome;
use crate::tx::{actions, TxError, TxSender};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tracing::{info, warn};
use xsc_core::client::Head;
use xsc_core::LightClientExecutionProof;
use xsc_interfaces::MAX_FORWARD_BATCH;

/// The light client's batch entry point.
pub const BATCH_METHOD: &str = "verify_and_forward_batch";

/// Prefix of the reason of a retry caused by a batch, not by the message: such a message is
/// delivered alone next time.
pub const BATCH_TAG: &str = "in a batch: ";

/// Whether `ev` must be delivered alone (see the module's documentation).
pub fn goes_alone(ev: &StoredEvent) -> bool {
    ev.attempts > 0
        || ev.delivery_tx.is_some()
        || ev
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with(BATCH_TAG))
}

/// A message's delivery transaction as recorded in the queue: a plain hash, or the hash of a
/// batch with the message's place in it (`<hash>#<index>/<size>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRef {
    pub hash: String,
    /// `(index, size)` in a batch.
    pub place: Option<(usize, usize)>,
}

impl TxRef {
    pub fn parse(s: &str) -> Option<TxRef> {
        match s.split_once('#') {
            None => Some(TxRef {
                hash: s.to_string(),
                place: None,
            }),
            Some((hash, place)) => {
                let (i, n) = place.split_once('/')?;
                let (i, n): (usize, usize) = (i.parse().ok()?, n.parse().ok()?);
                (i < n && n <= MAX_FORWARD_BATCH).then(|| TxRef {
                    hash: hash.to_string(),
                    place: Some((i, n)),
                })
            }
        }
    }

    pub fn in_batch(hash: &str, index: usize, size: usize) -> String {
        format!("{hash}#{index}/{size}")
    }
}

/// The verdict event of each message of a batch of `n` delivered to `connector`, in order: the
/// log lines of the first receipt `connector` executed that holds verdicts, if it holds exactly
/// `n` and each sequence number they name is the expected one (`nsns[i]`, when known). `None`:
/// the outcome says nothing reliable about any single message.
pub fn batch_verdicts<'a>(
    outcome: &'a FinalOutcome,
    connector: &str,
    nsns: &[Option<u64>],
) -> Option<Vec<&'a str>> {
    let verdicts = connector_verdicts(outcome, connector)?;
    if verdicts.len() != nsns.len() {
        return None;
    }
    let lined_up = verdicts
        .iter()
        .zip(nsns)
        .all(|((_, got), want)| match (got, want) {
            (Some(g), Some(w)) => g == w,
            _ => true,
        });
    lined_up.then(|| verdicts.into_iter().map(|(l, _)| l).collect())
}

/// `Some(nsn named by the event)` for a connector verdict event, `None` for any other line.
fn verdict_nsn(line: &str) -> Option<Option<u64>> {
    delivery_verdict([line])?;
    let json = line.strip_prefix("EVENT_JSON:")?;
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let data = match &v["data"] {
        serde_json::Value::Array(a) => a.first().cloned().unwrap_or_default(),
        d => d.clone(),
    };
    Some(match &data["nsn"] {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    })
}

/// The decision for a message delivered alone (nsn `nsn`) from its transaction's outcome: a
/// failed transaction by its status; else by the connector's verdict (the first receipt of
/// `connector` holding verdicts; a destination's own verdict-looking logs never count), which
/// must be the only one and name this message. The connector settles the first message of
/// the proven outcome it has not delivered yet, so a verdict may name another message of the
/// same outcome: a later one means this one was delivered before (delivered); an earlier one
/// that was settled means this one is simply delivered again (temporary); an earlier one that
/// was turned back means this message waits behind it and the refusal counts for it too (a
/// message that can never go would otherwise hold it back forever at a cost per try). Two or
/// more verdicts decide nothing. No verdict at all keeps the old rule (delivered): the
/// sequence audit checks such a record against the destination later.
pub fn single_decision(out: &FinalOutcome, connector: &str, nsn: Option<u64>) -> Decision {
    if let Some(f) = out.failure() {
        return classify(Some(&f.message), []);
    }
    let verdicts = connector_verdicts(out, connector).unwrap_or_default();
    let (line, named) = match verdicts.as_slice() {
        [] => return Decision::Delivered(None),
        [one] => *one,
        more => {
            return Decision::Temporary(format!(
                "{VERDICT_MISMATCH}: {} verdicts for a single message; delivering it again",
                more.len()
            ))
        }
    };
    let decision = classify(None, [line]);
    let other = match (named, nsn) {
        // The connector takes the outcome's messages in order (their numbers rise with it): it
        // passed over this one because it was delivered already. The audit still checks it.
        (Some(other), Some(mine)) if other > mine => return Decision::Delivered(None),
        (Some(other), Some(mine)) if other != mine => other,
        _ => return decision,
    };
    match decision {
        Decision::Delivered(_) => Decision::Temporary(format!(
            "{VERDICT_MISMATCH}: the connector settled message {other} of the same outcome; delivering this one again"
        )),
        Decision::Temporary(r) => Decision::Temporary(r),
        Decision::Retry(r) | Decision::Failed(r) => Decision::Retry(format!(
            "message {other} of the same outcome goes first and was turned back: {r}"
        )),
    }
}

/// A single delivery's verdict named another message (see [`single_decision`]).
pub const VERDICT_MISMATCH: &str = "ERR_VERDICT_MISMATCH";

/// The verdict lines of the first receipt `connector` executed that holds any, each with the
/// sequence number it names.
fn connector_verdicts<'a>(
    out: &'a FinalOutcome,
    connector: &str,
) -> Option<Vec<(&'a str, Option<u64>)>> {
    let receipt = out.receipts_outcome.iter().find(|o| {
        o.outcome.executor_id == connector
            && o.outcome.logs.iter().any(|l| verdict_nsn(l).is_some())
    })?;
    Some(
        receipt
            .outcome
            .logs
            .iter()
            .filter_map(|l| verdict_nsn(l).map(|nsn| (l.as_str(), nsn)))
            .collect(),
    )
}

/// The decision for the message at `index` of a batch from its verdict line.
fn decide(line: &str, batch_size: usize) -> Decision {
    match classify(None, [line]) {
        // The batch left too little gas for this message; alone it has all of it.
        Decision::Retry(r) if batch_size > 1 && r.contains("ERR_NOT_ENOUGH_GAS") => {
            Decision::Temporary(format!("{BATCH_TAG}{r}"))
        }
        d => d,
    }
}

impl Deliverer {
    /// What an earlier claim's delivery transaction decided for `ev`, if it executed and
    /// decided anything.
    pub(super) fn earlier_decision(
        &self,
        tx: &TxRef,
        ev: &StoredEvent,
        out: &FinalOutcome,
    ) -> Option<Decision> {
        match tx.place {
            None => Some(single_decision(out, &self.cfg.dest_connector, ev.nsn)),
            Some((index, size)) => {
                if out.failure().is_some() {
                    return None;
                }
                // The other messages' sequence numbers are not known here: only this one's.
                let mut nsns = vec![None; size];
                nsns[index] = ev.nsn;
                let verdicts = batch_verdicts(out, &self.cfg.dest_connector, &nsns)?;
                Some(decide(verdicts[index], size))
            }
        }
    }

    /// Deliver `events` (each on its first try, at most [`MAX_FORWARD_BATCH`]) in one
    /// `verify_and_forward_batch` transaction against `head`. A message that cannot join (not a
    /// connector message) is delivered alone meanwhile; one without a proof now waits; fewer
    /// than two left, or no key that may call the batch method: each alone.
    pub(super) async fn deliver_batch(
        &self,
        events: Vec<StoredEvent>,
        head: Head,
    ) -> Result<(), DeliveryError> {
        let Some(lc) = self.cfg.via_light_client.clone() else {
            return self.each_alone(events, head).await;
        };
        let Some(lane) = self.keys.delivery_lane(&lc, BATCH_METHOD, false) else {
            // Every delivery key is known not to allow the method (keys of an older deploy).
            self.batches_unsupported(&lc, "no delivery key may call it (keys of an older `xsc deploy`; add the method to batch)");
            return self.each_alone(events, head).await;
        };
        // Proofs, concurrently; a message without one now waits.
        let proofs = futures_util::future::join_all(events.iter().map(|ev| async {
            let (kind, target) = event_target(&ev.kind, &ev.payload)?;
            Some(
                self.source_rpc
                    .light_client_proof(&target, &head.hash)
                    .await
                    .map(|p| (kind, p)),
            )
        }))
        .await;
        let mut items = Vec::new();
        let mut members = Vec::new();
        let mut left_out = Vec::new();
        let mut first_error = None;
        for (ev, proof) in events.into_iter().zip(proofs) {
            match proof {
                Some(Ok((kind, proof))) => {
                    items.push((
                        proof,
                        head.height,
                        borsh::to_vec(&kind).expect("borsh of a kind"),
                    ));
                    members.push(ev);
                }
                Some(Err(e)) => {
                    if let Err(e) = self.temporary(&ev, &format!("proof: {e}")).await {
                        first_error.get_or_insert(e);
                    }
                }
                None => left_out.push(ev),
            }
        }
        if members.len() < 2 {
            left_out.append(&mut members);
            items.clear();
        }
        // The left-out messages go alone while the batch is sent (neither waits for the other).
        let (alone, batch) = tokio::join!(
            self.each_alone(left_out, head.clone()),
            self.send_batch(&lc, &lane, members, items, &head)
        );
        match first_error {
            Some(e) => Err(e),
            None => alone.and(batch),
        }
    }

    /// Batches cannot work towards this destination: each message alone from now on (warned once).
    fn batches_unsupported(&self, lc: &str, why: &str) {
        if !self.no_batches.swap(true, Ordering::Relaxed) {
            warn!(dest = %self.cfg.dest, light_client = %lc, why, "{BATCH_METHOD} cannot be used: each message is delivered alone from now on (until restart)");
        }
    }

    /// Send `members` (with their proofs `items`, in the same order) in one batch transaction
    /// and settle each from the outcome. Nothing to do for an empty batch.
    async fn send_batch(
        &self,
        lc: &str,
        lane: &Arc<TxSender>,
        members: Vec<StoredEvent>,
        items: Vec<(LightClientExecutionProof, u64, Vec<u8>)>,
        head: &Head,
    ) -> Result<(), DeliveryError> {
        if members.is_empty() {
            return Ok(());
        }
        let args = borsh::to_vec(&(&self.cfg.dest_connector, &items)).expect("borsh of proofs");
        let size = members.len();
        let claims: Vec<_> = members.iter().filter_map(StoredEvent::claim).collect();
        if claims.len() != size {
            return Ok(()); // not claimed: nothing to do (never happens for claimed events)
        }
        let store = self.store.clone();
        let sent = lane
            .send_recorded(
                lc,
                vec![actions::function_call(BATCH_METHOD, args, self.cfg.gas, 0)],
                |h| {
                    let (store, claims) = (store.clone(), claims.clone());
                    async move {
                        for (i, claim) in claims.iter().enumerate() {
                            store
                                .set_delivery_tx(claim, &TxRef::in_batch(&h.to_string(), i, size))
                                .await
                                .map_err(|e| e.to_string())?;
                        }
                        Ok(())
                    }
                },
            )
            .await;
        let outcome = match sent {
            Ok(o) => o,
            Err(e) => {
                // Nothing executed. NotRecorded: nothing was sent (a claim was lost, or the
                // queue failed): the claims still held go back now instead of at their lease's
                // end (a lost one is another's and is left alone by `temporary`).
                let text = e.to_string();
                if text.contains("MethodNameMismatch") {
                    self.batches_unsupported(
                        lc,
                        "a delivery key does not allow it (keys of an older `xsc deploy`)",
                    );
                }
                warn!(dest = %self.cfg.dest, size, error = %text, "batch delivery not sent or not confirmed");
                let tag = if matches!(e, TxError::NotRecorded(_))
                    || text.contains("MethodNameMismatch")
                {
                    BATCH_TAG
                } else {
                    ""
                };
                for ev in &members {
                    self.temporary(ev, &format!("{tag}transaction: {text}"))
                        .await?;
                }
                return Ok(());
            }
        };
        self.stats.transactions.fetch_add(1, Ordering::Relaxed);
        self.stats
            .gas_burnt
            .fetch_add(outcome.total_gas_burnt(), Ordering::Relaxed);
        if let Some(m) = &self.metrics {
            m.delivery_batch_size
                .with_label_values(&self.labels())
                .observe(size as f64);
        }
        let nsns: Vec<Option<u64>> = members.iter().map(|e| e.nsn).collect();
        let verdicts = match outcome.failure() {
            Some(f) => Err(f.message.clone()),
            None => batch_verdicts(&outcome, &self.cfg.dest_connector, &nsns)
                .ok_or_else(|| "its verdicts do not line up with its messages".to_string()),
        };
        let verdicts = match verdicts {
            Ok(v) => v,
            Err(reason) => {
                if reason.contains("MethodNotFound") {
                    self.batches_unsupported(
                        lc,
                        "the light client has no such method (an older deployment)",
                    );
                }
                warn!(dest = %self.cfg.dest, size, tx = ?outcome.tx_hash(), reason, "batch decided nothing per message; each is delivered alone next");
                for ev in &members {
                    self.temporary(ev, &format!("{BATCH_TAG}{reason}")).await?;
                }
                return Ok(());
            }
        };
        info!(dest = %self.cfg.dest, size, tx = ?outcome.tx_hash(), gas = outcome.total_gas_burnt(), "batch delivered");
        for (i, (ev, line)) in members.iter().zip(verdicts).enumerate() {
            let Some(claim) = ev.claim() else { continue };
            match decide(line, size) {
                Decision::Delivered(refused) => {
                    self.delivered(ev, &outcome, refused, head, lane.label(), Some((i, size)))
                        .await?
                }
                Decision::Temporary(reason) => self.temporary(ev, &reason).await?,
                Decision::Retry(reason) => self.refused(ev, &claim, &reason).await?,
                Decision::Failed(reason) => self.fail(ev, &claim, &reason).await?,
            }
        }
        Ok(())
    }

    /// Each of `events` delivered alone, concurrently.
    async fn each_alone(&self, events: Vec<StoredEvent>, head: Head) -> Result<(), DeliveryError> {
        let all = futures_util::future::join_all(
            events
                .into_iter()
                .map(|ev| self.deliver_one(ev, head.clone())),
        )
        .await;
        all.into_iter().collect()
    }
}

#[cfg(test)]
mod tests;
