//! The connector's transport events (NEP-297 standard `xsc_connector`, version 1.0.0), parsed
//! with the bridge's own minimal structs: `xsc-interfaces` depends on near-sdk, which does not
//! build natively outside wasm and unit tests. A line is matched on the exact prefix the
//! connector writes (`MessageKind::log_prefix` in `xsc-interfaces`), then only the `data`
//! fields the bridge needs are read: `dst`, `net`, `nsn`.
//!
//! Also here: what the connector logs about a delivery (`delivered`, `message_refused`,
//! `delivery_rejected`) and its error codes that matter to the relayer.

use serde::Deserialize;

/// The four kinds of message, with their event name and the receiving connector's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    CrossCall,
    CrossCallResponse,
    XcallMessage,
    XcallResponse,
}

impl MessageKind {
    pub const ALL: [MessageKind; 4] = [
        MessageKind::CrossCall,
        MessageKind::CrossCallResponse,
        MessageKind::XcallMessage,
        MessageKind::XcallResponse,
    ];

    /// The NEP-297 `event` name (also the queue's `kind`).
    pub const fn event_name(self) -> &'static str {
        match self {
            MessageKind::CrossCall => "cross_call",
            MessageKind::CrossCallResponse => "cross_call_response",
            MessageKind::XcallMessage => "xcall_message",
            MessageKind::XcallResponse => "xcall_response",
        }
    }

    /// The receiving connector's method taking borsh `(LightClientExecutionProof, height)`.
    pub const fn delivery_method(self) -> &'static str {
        match self {
            MessageKind::CrossCall => "cross_call_execute",
            MessageKind::CrossCallResponse => "cross_call_receive_response",
            MessageKind::XcallMessage => "xcall_receive_message",
            MessageKind::XcallResponse => "xcall_receive_response",
        }
    }

    pub fn from_event_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.event_name() == name)
    }

    /// Every log line of this kind starts with exactly this.
    pub fn log_prefix(self) -> String {
        format!(
            r#"EVENT_JSON:{{"standard":"xsc_connector","version":"1.0.0","event":"{}","#,
            self.event_name()
        )
    }
}

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
}

#[derive(Deserialize)]
struct Envelope<T> {
    data: T,
}

#[derive(Deserialize)]
struct Route {
    dst: String,
    net: String,
    nsn: StrU64,
}

/// `U64` of near-sdk: a decimal string (numbers accepted too).
#[derive(Deserialize)]
#[serde(untagged)]
enum StrU64 {
    S(String),
    N(u64),
}

impl StrU64 {
    fn get(&self) -> Option<u64> {
        match self {
            StrU64::S(s) => s.parse().ok(),
            StrU64::N(n) => Some(*n),
        }
    }
}

/// Parse one log line; `None` for anything that is not a transport event.
pub fn parse_transport(line: &str) -> Option<TransportMsg> {
    let kind = MessageKind::ALL
        .into_iter()
        .find(|k| line.starts_with(&k.log_prefix()))?;
    let json = &line["EVENT_JSON:".len()..];
    let route = serde_json::from_str::<Envelope<Route>>(json).ok()?.data;
    Some(TransportMsg {
        kind,
        dst: route.dst,
        net: route.net,
        nsn: route.nsn.get()?,
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

/// Connector codes (and node errors) after which a later attempt can succeed.
pub const RETRYABLE: &[&str] = &[
    // A message before it must be delivered first.
    "ERR_BEYOND_WINDOW",
    "ERR_NOT_ENOUGH_GAS",
    "ERR_INSUFFICIENT_DEPOSIT",
    "ERR_LOCKER_NOT_SET",
    // The light client may have moved (a proof against a block it no longer stores).
    "ERR_PROOF_REJECTED",
    // Paused by the admin (near-plugins' message).
    "Pausable: Method is paused",
    "is paused",
    "NotEnoughBalance",
    "LackBalanceForState",
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
                nsn: 8
            })
        );
        let cc = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call","data":{"dst":"c.near","net":"b","nsn":"0","request_id":"1"}}"#;
        assert_eq!(parse_transport(cc).unwrap().kind, MessageKind::CrossCall);
        let ccr = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call_response","data":{"dst":"c.near","net":"b","nsn":"3","request_id":"1"}}"#;
        assert_eq!(
            parse_transport(ccr).unwrap().kind,
            MessageKind::CrossCallResponse
        );
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
