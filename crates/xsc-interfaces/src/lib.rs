//! Every cross-contract interface of xsc in one place, and the message formats both sides of a
//! connector share.
//!
//! - [`light_client`]: `ext_light_client` (the light client's `verify_outcome` and
//!   `verify_and_forward`, borsh) and `ext_proven_outcome_receiver`, what receives forwarded outcomes.
//! - [`connector`]: `ext_xsc_connector`, the connector as dapps and relayers call it,
//!   `ext_calimero_executor`, the account inbound Calimero calls come from, and
//!   [`connector::delivery_args`], the borsh encoding of a delivery.
//! - [`dapps`]: what dapps implement: `ext_xcall_dapp` (`handle_call_message`) and the JSON a
//!   Calimero-style source callback receives ([`dapps::CalimeroCallback`]).
//! - [`calimero`]: Calimero's plain-text `CALIMERO_EVENT_CROSS_CALL` / `_CROSS_RESPONSE` lines,
//!   formatted and parsed byte-compatibly with Calimero's connector, and the reserved
//!   `calimero_initiator_id` argument through which a destination learns the remote initiator.
//! - [`transport`]: the connector's own NEP-297 events (standard `xsc_connector`) that carry each
//!   message between chains inside proven execution outcomes, with sequence numbers.
//! - [`xcall`]: the six IIP-52 events (NEP-297, standard `xcall`), result codes, size limits and
//!   `btp://<net>/<account>` addresses.
//!
//! Contracts build this crate for wasm; natively it builds under near-sdk's `unit-testing`
//! feature (unit tests) or with this crate's `non-contract` feature (services, CLI).
#![forbid(unsafe_code)]

pub mod calimero;
pub mod connector;
pub mod dapps;
pub mod light_client;
pub mod transport;
pub mod xcall;

pub use calimero::{ArgsError, CrossCallEvent, CrossResponseEvent, INITIATOR_KEY};
pub use connector::{delivery_args, ext_calimero_executor, ext_xsc_connector, BalanceArg};
pub use dapps::{ext_xcall_dapp, CalimeroCallback};
pub use light_client::{
    ext_light_client, ext_proven_outcome_receiver, MAX_FORWARD_BATCH, MAX_FORWARD_MSG,
};
pub use transport::{CalimeroMsg, MessageKind, TransportEvent, XcallMsg, XcallResponseMsg};
pub use xcall::{BtpAddress, XcallEvent};
