//! The connector's transport events (NEP-297 standard `xsc_connector`, version 1.0.0), parsed
//! with `xsc-interfaces`, the very code the receiving connector runs
//! ([`TransportEvent::parse_any`]); the bridge keeps the route every message carries: `dst`,
//! `net`, `nsn`.
//!
//! Also here: what the connector logs about a delivery (`delivered`, `message_refused`,
//! `delivery_rejected`) and its error codes that matter to the relayer.

use serde::Deserialize;
pub use xsc_interfaces::MessageKind;
use xsc_interfaces::TransportEvent;

/// The channel position every transport message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportMsg {
    pub kind: MessageKind,
    /// The receiving connector.
    pub dst: String,
    /// The receiving network.
    pub net: String,
    /// Sequence number in the channel to `dst`.
    pub nsn: u64,
    /// The request: a Calimero call's `request_id` (a response names the call it answers) or an
    /// xCall message's `sn` (its response names it too), as numbered by the chain that sent
    /// the request. Tells a batch's responses apart per message.
    pub request: u64,
}

impl TransportMsg {
    /// The kind of the message that answers one of this kind, if any.
    pub fn response_kind(kind: MessageKind) -> Option<MessageKind> {
        match kind {
            MessageKind::CrossCall => Some(MessageKind::CrossCallResponse),
            MessageKind::XcallMessage => Some(MessageKind::XcallResponse),
            MessageKind::CrossCallResponse | MessageKind::XcallResponse => None,
        }
    }
}

/// Parse one log line; `None` for anything that is not a transport event.
pub fn parse_transport(line: &str) -> Option<TransportMsg> {
    let event = TransportEvent::parse_any(line)?;
    let (dst, net, nsn) = event.route();
    let request = match &event {
        TransportEvent::CrossCall(m) | TransportEvent::CrossCallResponse(m) => m.request_id.0,
        TransportEvent::XcallMessage(m) => m.sn.0,
        TransportEvent::XcallResponse(m) => m.sn.0,
    };
    Some(TransportMsg {
        kind: event.kind(),
        dst: dst.to_string(),
        net: net.to_string(),
        nsn,
        request,
    })
}

/// What a delivery transaction's logs say happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryLog {
    /// `delivered`: consumed and acted on.
    Delivered,
    /// `message_refused`: consumed, not acted on (the source gets a failure response).
    Refused { code: String },
    /// `delivery_rejected`: nothing changed, with the connector's code.
    Rejected { code: String },
}

#[derive(Deserialize)]
struct OpEvent {
    standard: String,
    event: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// The connector's verdict on a delivery, from its operational events in `logs`.
pub fn delivery_verdict<'a>(logs: impl IntoIterator<Item = &'a str>) -> Option<DeliveryLog> {
    for line in logs {
        let Some(json) = line.strip_prefix("EVENT_JSON:") else {
            continue;
        };
        let Ok(ev) = serde_json::from_str::<OpEvent>(json) else {
            continue;
        };
        if ev.standard != "xsc_connector" {
            continue;
        }
        // NEP-297 events may carry `data` as an object or a one-element array.
        let data = match &ev.data {
            serde_json::Value::Array(a) => a.first().cloned().unwrap_or_default(),
            v => v.clone(),
        };
        let code = data
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or("")
            .to_string();
        match ev.event.as_str() {
            "delivered" => return Some(DeliveryLog::Delivered),
            "message_refused" => return Some(DeliveryLog::Refused { code }),
            "delivery_rejected" => return Some(DeliveryLog::Rejected { code }),
            _ => {}
        }
    }
    None
}

/// Connector codes meaning the message was already delivered.
pub const ALREADY_DELIVERED: &[&str] = &["ERR_ALREADY_DELIVERED"];

/// Refusals that are no verdict on the message itself: the light client's state (a proof
/// against a block it does not hold yet or any more — a light client update that failed —, or a
/// bad proof from a lying RPC node), a pause, a message ahead of the window, the relayer's
/// balance. Retried without limit and never counted as attempts: they end when the cause does.
pub const TEMPORARY: &[&str] = &[
    // A message before it must be delivered first.
    "ERR_BEYOND_WINDOW",
    // The connector cannot stake the request's storage now (its owner tops it up).
    "ERR_CONNECTOR_BALANCE",
    "ERR_LOCKER_NOT_SET",
    // Through the connector's own methods every verification failure reads
    // ERR_PROOF_REJECTED; through the light client's `verify_and_forward` (the fast path) it is
    // the light client's own code. Either way the next attempt fetches a fresh proof.
    "ERR_PROOF_REJECTED",
    "ERR_UNKNOWN_ROOT",
    "ERR_BLOCK_ROOT_MISMATCH",
    "ERR_BLOCK_HASH_MISMATCH",
    "ERR_OUTCOME_ROOT_MISMATCH",
    "ERR_PROOF_BLOCK_TOO_NEW",
    "ERR_PROOF_HEIGHT_MISMATCH",
    "ERR_PROOF_PATH_TOO_LONG",
    "ERR_PAUSED",
    // Paused by the admin (near-plugins' message).
    "Pausable: Method is paused",
    "is paused",
    // The relayer's account: an operator tops it up.
    "NotEnoughBalance",
    "LackBalanceForState",
    "NotEnoughAllowance",
];

/// Refusals no retry can fix (the outcome is not a message for this connector): the message
/// goes to the dead letters at once (`xsc retry <id>` puts it back). Any code in neither list
/// is a counted attempt.
pub const PERMANENT: &[&str] = &[
    "ERR_WRONG_EXECUTOR",
    "ERR_OUTCOME_NOT_SUCCESS",
    "ERR_NO_MESSAGE",
    "ERR_INVALID_KIND",
    "ERR_FORWARD_MSG_TOO_LONG",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_and_ignores_the_rest() {
        let line = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"xcall_message","data":{"dst":"conn.b.near","net":"b","nsn":"8","from":"btp://a/x.near","to":"y.near","sn":"1","data":"AQID","rollback":true,"expires_at":"1"}}"#;
        assert_eq!(
            parse_transport(line),
            Some(TransportMsg {
                kind: MessageKind::XcallMessage,
                dst: "conn.b.near".into(),
                net: "b".into(),
                nsn: 8,
                request: 1,
            })
        );
        let cc = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call","data":{"dst":"c.near","net":"b","nsn":"0","request_id":"1"}}"#;
        assert_eq!(parse_transport(cc).unwrap().kind, MessageKind::CrossCall);
        let ccr = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call_response","data":{"dst":"c.near","net":"b","nsn":"3","request_id":"1"}}"#;
        assert_eq!(
            parse_transport(ccr).unwrap().kind,
            MessageKind::CrossCallResponse
        );
        // A response names the request it answers, as the request itself does.
        assert_eq!(parse_transport(ccr).unwrap().request, 1);
        assert_eq!(parse_transport(cc).unwrap().request, 1);
        for other in [
            "",
            "CALIMERO_EVENT_CROSS_CALL:a:b",
            r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivered","data":{"kind":"cross_call","nsn":"1"}}"#,
            r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call","data":{}}"#,
        ] {
            assert_eq!(parse_transport(other), None, "{other}");
        }
    }

    #[test]
    fn delivery_verdicts() {
        let d = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivered","data":{"kind":"cross_call","nsn":"1"}}"#;
        assert_eq!(delivery_verdict([d]), Some(DeliveryLog::Delivered));
        let r = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"delivery_rejected","data":{"kind":"cross_call","nsn":null,"code":"ERR_ALREADY_DELIVERED","refunded":"0"}}"#;
        assert_eq!(
            delivery_verdict(["x", r]),
            Some(DeliveryLog::Rejected {
                code: "ERR_ALREADY_DELIVERED".into()
            })
        );
        assert_eq!(delivery_verdict(["nothing"]), None);
    }
}
