//! xCall (IIP-52) on NEAR: the six events as NEP-297 logs (standard `xcall`, snake_case event
//! names, IIP-52's fields without the leading underscore), result codes, size limits and network
//! addresses.
//!
//! | IIP-52 | NEP-297 `event` | `data` |
//! |---|---|---|
//! | `CallMessageSent(_from, _to, _sn, _nsn)` | `call_message_sent` | `{from, to, sn, nsn}` |
//! | `CallMessage(_from, _to, _sn, _reqId)` | `call_message` | `{from, to, sn, req_id}` |
//! | `CallExecuted(_reqId, _code, _msg)` | `call_executed` | `{req_id, code, msg}` |
//! | `ResponseMessage(_sn, _code, _msg)` | `response_message` | `{sn, code, msg}` |
//! | `RollbackMessage(_sn)` | `rollback_message` | `{sn}` |
//! | `RollbackExecuted(_sn, _code, _msg)` | `rollback_executed` | `{sn, code, msg}` |
//!
//! Integers are decimal strings (`U64`); codes are JSON numbers.

use near_sdk::json_types::U64;
use near_sdk::serde::Deserialize;
use near_sdk::{near, AccountId};

pub const STANDARD: &str = "xcall";

/// IIP-52 result code: success.
pub const CODE_SUCCESS: i32 = 0;
/// IIP-52 result code: generic failure.
pub const CODE_FAILURE: i32 = -1;

/// Largest `data` of a message (IIP-52 reference implementation).
pub const MAX_DATA_SIZE: usize = 2048;
/// Largest `rollback` of a message.
pub const MAX_ROLLBACK_SIZE: usize = 1024;

#[near(event_json(standard = "xcall"))]
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum XcallEvent {
    /// Source chain: a message was sent. `from` is the caller's account, `to` the BTP address.
    #[event_version("1.0.0")]
    CallMessageSent {
        from: AccountId,
        to: String,
        sn: U64,
        nsn: U64,
    },
    /// Destination chain: a message arrived and waits for `execute_call(req_id)`.
    /// `from` is the caller's BTP address, `to` the dapp's account.
    #[event_version("1.0.0")]
    CallMessage {
        from: String,
        to: String,
        sn: U64,
        req_id: U64,
    },
    /// Destination chain: `handle_call_message` ran (code 0) or failed (code -1).
    #[event_version("1.0.0")]
    CallExecuted { req_id: U64, code: i32, msg: String },
    /// Source chain: the response of a two-way message arrived.
    #[event_version("1.0.0")]
    ResponseMessage { sn: U64, code: i32, msg: String },
    /// Source chain: the message failed; `execute_rollback(sn)` is now possible.
    #[event_version("1.0.0")]
    RollbackMessage { sn: U64 },
    /// Source chain: the dapp's rollback handler ran (code 0) or failed (code -1, retriable).
    #[event_version("1.0.0")]
    RollbackExecuted { sn: U64, code: i32, msg: String },
}

/// A network id: 1 to 64 characters out of `[A-Za-z0-9._-]` (so never `/` or `:`).
pub fn is_valid_net(net: &str) -> bool {
    (1..=64).contains(&net.len())
        && net
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `btp://<net>/<account>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BtpAddress {
    pub net: String,
    pub account: AccountId,
}

impl BtpAddress {
    pub const SCHEME: &'static str = "btp://";

    pub fn new(net: &str, account: &AccountId) -> Self {
        BtpAddress {
            net: net.to_string(),
            account: account.clone(),
        }
    }

    /// `None` unless `s` is `btp://<valid net>/<valid account id>`.
    pub fn parse(s: &str) -> Option<Self> {
        let (net, account) = s.strip_prefix(Self::SCHEME)?.split_once('/')?;
        if !is_valid_net(net) {
            return None;
        }
        Some(BtpAddress {
            net: net.to_string(),
            account: account.parse().ok()?,
        })
    }

    /// Format without building the struct.
    pub fn format(net: &str, account: &str) -> String {
        format!("{}{net}/{account}", Self::SCHEME)
    }
}

impl core::fmt::Display for BtpAddress {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}{}/{}", Self::SCHEME, self.net, self.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn btp_addresses_parse_strictly() {
        let a = BtpAddress::parse("btp://0x1.near/dapp.testnet").unwrap();
        assert_eq!(a.net, "0x1.near");
        assert_eq!(a.account.as_str(), "dapp.testnet");
        assert_eq!(a.to_string(), "btp://0x1.near/dapp.testnet");
        assert_eq!(
            BtpAddress::format("0x1.near", "dapp.testnet"),
            a.to_string()
        );
        for bad in [
            "",
            "btp://",
            "btp:///dapp.near",
            "btp://net",
            "btp://net/",
            "btp://net/Not_Valid!",
            "http://net/dapp.near",
            "btp://n:et/dapp.near",
            "btp://net/a/b",
        ] {
            assert!(BtpAddress::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn net_ids() {
        assert!(is_valid_net("0x2.icon"));
        assert!(is_valid_net("calimero-shard_1"));
        assert!(!is_valid_net(""));
        assert!(!is_valid_net("a/b"));
        assert!(!is_valid_net("a:b"));
        assert!(!is_valid_net(&"x".repeat(65)));
    }

    #[test]
    fn events_are_nep297_with_iip52_fields() {
        let e = XcallEvent::CallExecuted {
            req_id: U64(4),
            code: CODE_FAILURE,
            msg: "x".into(),
        };
        let json = e.to_json();
        assert_eq!(json["standard"], "xcall");
        assert_eq!(json["event"], "call_executed");
        assert_eq!(json["data"]["req_id"], "4");
        assert_eq!(json["data"]["code"], -1);
        let back: XcallEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
    }
}
