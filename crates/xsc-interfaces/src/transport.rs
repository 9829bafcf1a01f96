//! The messages one connector sends another: NEP-297 events (standard `xsc_connector`) in the
//! sending connector's execution outcome. The receiving connector gets that outcome proven by
//! its light client and reads the event from the proven logs.
//!
//! Every message names the receiving connector (`dst`) and network (`net`) and carries `nsn`,
//! the sending connector's sequence number for that channel (0, 1, 2, … per destination,
//! shared by all kinds of message): the receiver delivers each `nsn` exactly once, with bounded
//! storage (a watermark and a window of out-of-order deliveries).
//!
//! The Calimero kinds complement the Calimero line logged immediately before them in the same
//! outcome (see [`crate::calimero`]); the xCall kinds are self-contained.

use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::serde::Deserialize;
use near_sdk::{near, AccountId};

pub const STANDARD: &str = "xsc_connector";
pub const VERSION: &str = "1.0.0";

/// A Calimero message's complement: the request id and the channel position.
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalimeroMsg {
    /// The receiving connector.
    pub dst: AccountId,
    /// The receiving network.
    pub net: String,
    /// Sequence number in the channel to `dst`.
    pub nsn: U64,
    pub request_id: U64,
}

/// An xCall message (IIP-52 `sendCallMessage`).
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XcallMsg {
    pub dst: AccountId,
    pub net: String,
    pub nsn: U64,
    /// `btp://<source net>/<caller>`.
    pub from: String,
    /// The dapp to call on the destination chain.
    pub to: AccountId,
    /// The source's serial number of the message.
    pub sn: U64,
    pub data: Base64VecU8,
    /// A two-way message: the destination reports the result back.
    pub rollback: bool,
    /// Nanoseconds (source chain clock). The destination does not execute the message after
    /// this time; a two-way message then gets a failure response.
    pub expires_at: U64,
    /// The least gas the sender wants `handle_call_message` to get: the destination's
    /// `execute_call` refuses to run with less. Absent in messages of connectors before this
    /// field existed (the destination then applies its default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler_gas: Option<U64>,
}

/// The result of a two-way xCall message, back to its source.
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XcallResponseMsg {
    pub dst: AccountId,
    pub net: String,
    pub nsn: U64,
    pub sn: U64,
    /// 0 success, -1 failure (IIP-52).
    pub code: i32,
    pub msg: String,
}

#[near(event_json(standard = "xsc_connector"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportEvent {
    /// Follows a `CALIMERO_EVENT_CROSS_CALL` line: what that line cannot carry.
    #[event_version("1.0.0")]
    CrossCall(CalimeroMsg),
    /// Follows a `CALIMERO_EVENT_CROSS_RESPONSE` line: the request it answers.
    #[event_version("1.0.0")]
    CrossCallResponse(CalimeroMsg),
    #[event_version("1.0.0")]
    XcallMessage(XcallMsg),
    #[event_version("1.0.0")]
    XcallResponse(XcallResponseMsg),
}

/// Reads `data` and ignores the other keys: a plain struct, far less wasm than deserializing the
/// tagged enum.
#[derive(Deserialize)]
#[serde(crate = "near_sdk::serde")]
struct Envelope<T> {
    data: T,
}

/// `from_slice`: the same parser instantiation as near-sdk's JSON arguments (smaller wasm).
fn data<T: near_sdk::serde::de::DeserializeOwned>(json: &str) -> Option<T> {
    near_sdk::serde_json::from_slice::<Envelope<T>>(json.as_bytes())
        .ok()
        .map(|e| e.data)
}

/// What a delivery carries; each kind has its delivery method on the receiving connector.
#[near(serializers = [borsh, json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    CrossCall,
    CrossCallResponse,
    XcallMessage,
    XcallResponse,
}

impl MessageKind {
    /// The NEP-297 `event` name.
    pub const fn event_name(self) -> &'static str {
        match self {
            MessageKind::CrossCall => "cross_call",
            MessageKind::CrossCallResponse => "cross_call_response",
            MessageKind::XcallMessage => "xcall_message",
            MessageKind::XcallResponse => "xcall_response",
        }
    }

    /// Every log line of this kind starts with exactly this (the connector's serialisation is
    /// deterministic), so other lines are skipped without JSON parsing.
    pub const fn log_prefix(self) -> &'static str {
        match self {
            MessageKind::CrossCall => {
                r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call","#
            }
            MessageKind::CrossCallResponse => {
                r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"cross_call_response","#
            }
            MessageKind::XcallMessage => {
                r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"xcall_message","#
            }
            MessageKind::XcallResponse => {
                r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"xcall_response","#
            }
        }
    }

    /// The receiving connector's method that takes a proof of this kind.
    pub const fn delivery_method(self) -> &'static str {
        match self {
            MessageKind::CrossCall => "cross_call_execute",
            MessageKind::CrossCallResponse => "cross_call_receive_response",
            MessageKind::XcallMessage => "xcall_receive_message",
            MessageKind::XcallResponse => "xcall_receive_response",
        }
    }

    /// The Calimero line that precedes the event, if any.
    pub const fn calimero_prefix(self) -> Option<&'static str> {
        match self {
            MessageKind::CrossCall => Some(crate::calimero::CROSS_CALL_PREFIX),
            MessageKind::CrossCallResponse => Some(crate::calimero::CROSS_RESPONSE_PREFIX),
            _ => None,
        }
    }

    pub const ALL: [MessageKind; 4] = [
        MessageKind::CrossCall,
        MessageKind::CrossCallResponse,
        MessageKind::XcallMessage,
        MessageKind::XcallResponse,
    ];

    /// The kind whose [`Self::event_name`] is `name`.
    pub fn from_event_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.event_name() == name)
    }
}

impl TransportEvent {
    /// Parse a log line of any kind; `None` for a line that is no transport event.
    pub fn parse_any(line: &str) -> Option<Self> {
        MessageKind::ALL
            .into_iter()
            .find(|k| line.starts_with(k.log_prefix()))
            .and_then(|k| Self::parse(line, k))
    }

    /// Parse a log line of the given kind; `None` for any other line.
    pub fn parse(line: &str, kind: MessageKind) -> Option<Self> {
        if !line.starts_with(kind.log_prefix()) {
            return None;
        }
        let json = &line["EVENT_JSON:".len()..];
        match kind {
            MessageKind::CrossCall => data(json).map(TransportEvent::CrossCall),
            MessageKind::CrossCallResponse => data(json).map(TransportEvent::CrossCallResponse),
            MessageKind::XcallMessage => data(json).map(TransportEvent::XcallMessage),
            MessageKind::XcallResponse => data(json).map(TransportEvent::XcallResponse),
        }
    }

    pub fn kind(&self) -> MessageKind {
        match self {
            TransportEvent::CrossCall(_) => MessageKind::CrossCall,
            TransportEvent::CrossCallResponse(_) => MessageKind::CrossCallResponse,
            TransportEvent::XcallMessage(_) => MessageKind::XcallMessage,
            TransportEvent::XcallResponse(_) => MessageKind::XcallResponse,
        }
    }

    /// `(dst, net, nsn)`: the channel position every message carries.
    pub fn route(&self) -> (&AccountId, &str, u64) {
        match self {
            TransportEvent::CrossCall(m) | TransportEvent::CrossCallResponse(m) => {
                (&m.dst, &m.net, m.nsn.0)
            }
            TransportEvent::XcallMessage(m) => (&m.dst, &m.net, m.nsn.0),
            TransportEvent::XcallResponse(m) => (&m.dst, &m.net, m.nsn.0),
        }
    }

    /// The log line (`EVENT_JSON:…`), byte for byte as `emit` writes it (standard, version,
    /// then the event's `event` and `data`).
    pub fn to_log(&self) -> String {
        #[derive(near_sdk::serde::Serialize)]
        #[serde(crate = "near_sdk::serde")]
        struct Line<'a> {
            standard: &'static str,
            version: &'static str,
            #[serde(flatten)]
            event: &'a TransportEvent,
        }
        let line = Line {
            standard: STANDARD,
            version: VERSION,
            event: self,
        };
        format!(
            "EVENT_JSON:{}",
            near_sdk::serde_json::to_string(&line).unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    fn samples() -> Vec<TransportEvent> {
        vec![
            TransportEvent::CrossCall(CalimeroMsg {
                dst: acc("conn.b.near"),
                net: "b".into(),
                nsn: U64(7),
                request_id: U64(3),
            }),
            TransportEvent::CrossCallResponse(CalimeroMsg {
                dst: acc("conn.a.near"),
                net: "a".into(),
                nsn: U64(0),
                request_id: U64(3),
            }),
            TransportEvent::XcallMessage(XcallMsg {
                dst: acc("conn.b.near"),
                net: "b".into(),
                nsn: U64(8),
                from: "btp://a/dapp.a.near".into(),
                to: acc("dapp.b.near"),
                sn: U64(1),
                data: Base64VecU8(vec![1, 2, 3]),
                rollback: true,
                expires_at: U64(1_700_000_000_000_000_000),
                handler_gas: Some(U64(30_000_000_000_000)),
            }),
            TransportEvent::XcallResponse(XcallResponseMsg {
                dst: acc("conn.a.near"),
                net: "a".into(),
                nsn: U64(1),
                sn: U64(1),
                code: -1,
                msg: "handler failed: \"quoted\"".into(),
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips_through_its_log_line() {
        for event in samples() {
            let line = event.to_log();
            let kind = event.kind();
            assert!(line.starts_with(kind.log_prefix()), "{line}");
            assert_eq!(TransportEvent::parse(&line, kind), Some(event.clone()));
            for other in MessageKind::ALL {
                if other != kind {
                    assert_eq!(TransportEvent::parse(&line, other), None);
                }
            }
        }
    }

    #[test]
    fn an_xcall_message_without_handler_gas_still_parses() {
        let line = r#"EVENT_JSON:{"standard":"xsc_connector","version":"1.0.0","event":"xcall_message","data":{"dst":"conn.b.near","net":"b","nsn":"8","from":"btp://a/dapp.a.near","to":"dapp.b.near","sn":"1","data":"AQID","rollback":true,"expires_at":"1"}}"#;
        let Some(TransportEvent::XcallMessage(m)) =
            TransportEvent::parse(line, MessageKind::XcallMessage)
        else {
            panic!("not parsed")
        };
        assert_eq!(m.handler_gas, None);
        assert!(!m.to_owned_line_has_gas());
    }

    impl XcallMsg {
        fn to_owned_line_has_gas(&self) -> bool {
            TransportEvent::XcallMessage(self.clone())
                .to_log()
                .contains("handler_gas")
        }
    }

    #[test]
    fn log_line_is_nep297() {
        let line = samples()[0].to_log();
        let v: serde_json::Value = serde_json::from_str(&line["EVENT_JSON:".len()..]).unwrap();
        assert_eq!(v["standard"], STANDARD);
        assert_eq!(v["version"], VERSION);
        assert_eq!(v["event"], "cross_call");
        assert_eq!(v["data"]["nsn"], "7");
        assert_eq!(v["data"]["request_id"], "3");
    }

    #[test]
    fn other_lines_are_not_messages() {
        for line in [
            "",
            "EVENT_JSON:{\"standard\":\"nep171\",\"version\":\"1.0.0\",\"event\":\"nft_mint\",\"data\":[]}",
            "EVENT_JSON:{\"standard\":\"xsc_connector\",\"version\":\"1.0.0\",\"event\":\"cross_call\",\"data\":{}}",
            "EVENT_JSON:{\"standard\":\"xsc_connector\",\"version\":\"1.0.0\",\"event\":\"cross_call\",garbage",
            "CALIMERO_EVENT_CROSS_CALL:a:b:c:1:0:d:e",
        ] {
            for kind in MessageKind::ALL {
                assert_eq!(TransportEvent::parse(line, kind), None, "{line}");
            }
        }
    }
}
