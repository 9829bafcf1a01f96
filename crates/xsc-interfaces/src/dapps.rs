//! What dapps implement, and how they tell who is calling.
//!
//! | predecessor | method | `from` / arguments | meaning |
//! |---|---|---|---|
//! | the connector | `handle_call_message` | `from` = `btp://<remote net>/<account>` | an xCall message from that account on the other chain |
//! | the connector | `handle_call_message` | `from` = `btp://<local net>/<connector>` | an xCall rollback of a message this dapp sent |
//! | the connector | the dapp's own Calimero callback method | [`CalimeroCallback`] | the response to a `cross_call` this dapp made |
//! | the Calimero executor | any method | JSON object args carry `calimero_initiator_id` | an inbound Calimero call from that account on the other chain |
//!
//! The connector never makes inbound Calimero calls itself, never calls a Calimero callback
//! named `handle_call_message`, and calls a Calimero callback only with the response to a request
//! that same dapp sent.

use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::{ext_contract, near, AccountId};

/// The xCall dapp interface (IIP-52 `handleCallMessage`).
///
/// The connector calls it for an incoming message (`from` = `btp://<source net>/<caller>`) and
/// for a rollback (`from` = the connector's own address `btp://<local net>/<connector>`, `data` =
/// the rollback bytes given to `send_call_message`). A dapp must accept calls only from its
/// connector (`env::predecessor_account_id()`), and tell a rollback from a message by `from`.
/// The handler gets at least the `handler_gas` the sender chose. Panicking reports failure: a one-way message
/// stays retriable, a two-way message is reported back as failed so that the source can roll
/// back, a rollback stays retriable.
#[allow(dead_code)]
#[ext_contract(ext_xcall_dapp)]
pub trait XcallDapp {
    fn handle_call_message(&mut self, from: String, data: Base64VecU8);
}

/// The JSON arguments of a Calimero source callback (`source_callback_method` given to
/// `cross_call`), called by the connector when the response arrives:
///
/// ```json
/// {"response": null | [byte, …], "calimero_predecessor_id": "<destination contract>", "request_id": "<id>"}
/// ```
///
/// `response` is `null` when the destination call failed (`FAILED!`), otherwise its return
/// value's bytes (for a JSON-returning method, the JSON text). `request_id` is what `cross_call`
/// returned; Calimero's own connector does not send it (dapps written for Calimero ignore it).
/// The callback must accept calls only from its connector; the connector calls it at most once per
/// request id, and only for a request this dapp sent with this callback method.
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalimeroCallback {
    pub response: Option<Vec<u8>>,
    pub calimero_predecessor_id: AccountId,
    pub request_id: U64,
}
