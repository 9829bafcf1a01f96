//! The connector's operational NEP-297 events (standard `xsc_connector`, like the transport
//! events of `xsc_interfaces::transport`, which carry messages between chains; the IIP-52 events
//! are `xsc_interfaces::XcallEvent`, standard `xcall`).
//!
//! A delivery ends in exactly one of:
//! - `delivered`: the message was consumed and acted on;
//! - `message_refused`: the message was consumed but not acted on (refused target, invalid
//!   source, expired, malformed, unexpected response); a Calimero call or a two-way xCall message
//!   gets a failure response, so the source learns about it;
//! - `delivery_rejected`: nothing changed (proof rejected, already delivered, not enough gas or
//!   deposit, …); the relayer's whole deposit was refunded and it may retry where that makes sense.

use near_sdk::json_types::{U128, U64};
use near_sdk::{near, AccountId};
use xsc_interfaces::MessageKind;

#[near(event_json(standard = "xsc_connector"))]
pub enum ConnectorEvent {
    #[event_version("1.0.0")]
    Delivered { kind: MessageKind, nsn: U64 },
    #[event_version("1.0.0")]
    MessageRefused {
        kind: MessageKind,
        nsn: U64,
        target: String,
        code: String,
    },
    /// `kind` is `null` when the fast path's `msg` named no kind.
    #[event_version("1.0.0")]
    DeliveryRejected {
        kind: Option<MessageKind>,
        nsn: Option<U64>,
        code: String,
        refunded: U128,
    },
    /// A received xCall request expired before it succeeded; its storage deposit went back to
    /// the relayer that paid it (v1 records) or to the connector's free balance.
    #[event_version("1.0.0")]
    RequestExpired { req_id: U64, sn: U64 },
    /// A Calimero destination returned more than the connector relays; reported as `FAILED!`.
    #[event_version("1.0.0")]
    ResultTooLong { request_id: U64, len: U64 },
    /// The owner set the connector of the other chain; a new channel starts at sequence 0.
    #[event_version("1.0.0")]
    LockerSet {
        locker: AccountId,
        channel: u32,
        by: AccountId,
    },
    /// The owner declared a retired channel dead: nothing from its locker is accepted any more,
    /// and what was pending on it may now end here (rollback, failure callback, expiry).
    #[event_version("1.0.0")]
    ChannelDead {
        channel: u32,
        locker: AccountId,
        by: AccountId,
    },
    /// A Calimero call sent on a dead channel was ended here: its callback gets `response: null`.
    #[event_version("1.0.0")]
    CrossCallAbandoned { request_id: U64, channel: u32 },
    /// A response was not sent because its channel is dead.
    #[event_version("1.0.0")]
    ResponseDropped { kind: MessageKind, channel: u32 },
    /// Configuration changed (`what` names the setting, `value` the new value).
    #[event_version("1.0.0")]
    ConfigChanged {
        what: String,
        value: String,
        by: AccountId,
    },
    /// Accrued fees were sent to the protocol fee handler or the relay fee collector.
    #[event_version("1.0.0")]
    FeesClaimed {
        kind: String,
        to: AccountId,
        amount: U128,
    },
}
