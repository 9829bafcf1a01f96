//! What dapps implement.

use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::{ext_contract, near, AccountId};

/// The xCall dapp interface (IIP-52 `handleCallMessage`).
///
/// The connector calls it for an incoming message (`from` = `btp://<source net>/<caller>`) and
/// for a rollback (`from` = the connector's own address `btp://<local net>/<connector>`, `data` =
/// the rollback bytes given to `send_call_message`). A dapp must accept calls only from its
/// connector (`env::predecessor_account_id()`). Panicking reports failure: a one-way message
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
/// The callback must accept calls only from its connector.
#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CalimeroCallback {
    pub response: Option<Vec<u8>>,
    pub calimero_predecessor_id: AccountId,
    pub request_id: U64,
}
