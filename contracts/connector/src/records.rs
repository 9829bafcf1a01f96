//! Stored state with a lifetime: sent two-way xCall messages (`PendingCall`, paid by the sending
//! dapp) and received xCall messages (`Request`, paid by the relayer that delivered them). Each
//! record remembers who paid how much; the deposit goes back to that account when the record is
//! cleared. Final states survive in 2-bit archives (32 messages per 57-byte entry, paid by the
//! connector), so that the state of any message stays visible.

use crate::Connector;
use near_sdk::borsh::BorshSerialize;
use near_sdk::store::LookupMap;
use near_sdk::{env, near, AccountId};

/// A sent two-way message.
#[near(serializers = [borsh, json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PendingState {
    /// Waiting for the destination's response.
    AwaitingResponse,
    /// A failure response arrived: `execute_rollback` may run (again).
    RollbackEnabled,
    /// `execute_rollback` is in flight.
    RollingBack,
}

#[near(serializers = [borsh])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCall {
    /// The dapp that sent the message; its rollback handler is called, and the deposit refunded
    /// to it.
    pub from: AccountId,
    /// `btp://<net>/<account>`.
    pub to: String,
    pub rollback: Vec<u8>,
    pub state: PendingState,
    /// Storage deposit paid by `from`.
    pub deposit: u128,
}

/// A received message.
#[near(serializers = [borsh, json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    /// Waiting for `execute_call`.
    Delivered,
    /// `handle_call_message` is in flight.
    Executing,
    /// A one-way message whose execution failed: `execute_call` may retry until it expires.
    Failed,
}

#[near(serializers = [borsh])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `btp://<source net>/<caller>`.
    pub from: String,
    pub to: AccountId,
    /// The source's serial number (for the response).
    pub sn: u64,
    pub two_way: bool,
    pub data: Vec<u8>,
    /// Nanoseconds.
    pub expires_at: u64,
    pub state: RequestState,
    /// The relayer that delivered the message and paid `deposit`.
    pub payer: AccountId,
    pub deposit: u128,
}

/// What the state view reports for a message.
#[near(serializers = [json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageState {
    /// No such message.
    Unknown,
    /// Sent one-way: the source learns nothing more (ask the destination connector).
    Sent,
    /// Sent two-way, no response yet.
    AwaitingResponse,
    /// Sent: success response received. Received: `handle_call_message` succeeded.
    ExecutedOk,
    /// Sent: failure response received, rollback pending (or being retried).
    /// Received: execution failed, retriable until it expires (one-way).
    ExecutionFailed,
    /// Sent: `execute_rollback` in flight. Received: `execute_call` in flight.
    Executing,
    /// Sent: rolled back.
    RolledBack,
    /// Received, waiting for `execute_call`.
    Delivered,
    /// Received two-way message that failed; the failure was reported to the source.
    Failed,
    /// Received message that expired unexecuted.
    Expired,
}

/// Final-state codes in the archives.
pub(crate) const FINAL_OK: u8 = 1;
pub(crate) const FINAL_FAILED: u8 = 2;
pub(crate) const FINAL_EXPIRED: u8 = 3;

/// Bytes a new entry of a `LookupMap<u64, _>` adds to the account: 1-byte prefix and u64 key,
/// the value, and NEAR's 40 bytes of per-record overhead.
pub(crate) fn record_bytes<T: BorshSerialize>(value: &T) -> u64 {
    let value_len = near_sdk::borsh::object_length(value).unwrap_or(usize::MAX / 2) as u64;
    1 + 8 + value_len + 40
}

pub(crate) fn storage_cost(bytes: u64) -> u128 {
    u128::from(bytes) * env::storage_byte_cost().as_yoctonear()
}

/// Largest serialized account id.
const MAX_ACCOUNT_LEN: u64 = 64;

/// Upper bound of the deposit `send_call_message` takes for a rollback of `rollback_len` bytes.
pub(crate) fn pending_deposit_bound(rollback_len: u64, remote_net_len: u64) -> u128 {
    // from, to (btp://net/account), rollback, state, deposit.
    let value = (4 + MAX_ACCOUNT_LEN)
        + (4 + 6 + remote_net_len + 1 + MAX_ACCOUNT_LEN)
        + (4 + rollback_len)
        + 1
        + 16;
    storage_cost(1 + 8 + value + 40)
}

/// Upper bound of the deposit a delivery of `data_len` bytes needs.
pub(crate) fn request_deposit_bound(data_len: u64, remote_net_len: u64) -> u128 {
    // from, to, sn, two_way, data, expires_at, state, payer, deposit.
    let value = (4 + 6 + remote_net_len + 1 + MAX_ACCOUNT_LEN)
        + (4 + MAX_ACCOUNT_LEN)
        + 8
        + 1
        + (4 + data_len)
        + 8
        + 1
        + (4 + MAX_ACCOUNT_LEN)
        + 16;
    storage_cost(1 + 8 + value + 40)
}

fn archive_slot(id: u64) -> (u64, u32) {
    (id / 32, ((id % 32) * 2) as u32)
}

pub(crate) fn archive_set(archive: &mut LookupMap<u64, u64>, id: u64, state: u8) {
    let (bucket, shift) = archive_slot(id);
    let entry = archive.entry(bucket).or_insert(0);
    *entry = (*entry & !(3u64 << shift)) | (u64::from(state & 3) << shift);
}

pub(crate) fn archive_get(archive: &LookupMap<u64, u64>, id: u64) -> u8 {
    let (bucket, shift) = archive_slot(id);
    archive
        .get(&bucket)
        .map_or(0, |bits| ((bits >> shift) & 3) as u8)
}

impl Connector {
    /// State of a message this connector sent (`sn` from `send_call_message`).
    pub(crate) fn sent_state(&self, sn: u64) -> MessageState {
        if sn == 0 || sn >= self.next_sn {
            return MessageState::Unknown;
        }
        if let Some(p) = self.pending.get(&sn) {
            return match p.state {
                PendingState::AwaitingResponse => MessageState::AwaitingResponse,
                PendingState::RollbackEnabled => MessageState::ExecutionFailed,
                PendingState::RollingBack => MessageState::Executing,
            };
        }
        match archive_get(&self.sent_archive, sn) {
            FINAL_OK => MessageState::ExecutedOk,
            FINAL_FAILED => MessageState::RolledBack,
            _ => MessageState::Sent,
        }
    }

    /// State of a message this connector received (`req_id` of its `call_message` event).
    pub(crate) fn received_state(&self, req_id: u64) -> MessageState {
        if req_id == 0 || req_id >= self.next_req_id {
            return MessageState::Unknown;
        }
        if let Some(r) = self.requests.get(&req_id) {
            return match r.state {
                RequestState::Delivered => MessageState::Delivered,
                RequestState::Executing => MessageState::Executing,
                RequestState::Failed => MessageState::ExecutionFailed,
            };
        }
        match archive_get(&self.received_archive, req_id) {
            FINAL_OK => MessageState::ExecutedOk,
            FINAL_FAILED => MessageState::Failed,
            FINAL_EXPIRED => MessageState::Expired,
            _ => MessageState::Unknown,
        }
    }

    /// Remove a received request, refund its deposit to the relayer that paid it and archive
    /// its final state.
    pub(crate) fn clear_request(&mut self, req_id: u64, final_state: u8) -> Option<Request> {
        let request = self.requests.remove(&req_id)?;
        crate::refund(&request.payer, request.deposit);
        archive_set(&mut self.received_archive, req_id, final_state);
        Some(request)
    }

    /// Remove a sent two-way message, refund its deposit to the dapp and archive its final
    /// state.
    pub(crate) fn clear_pending(&mut self, sn: u64, final_state: u8) -> Option<PendingCall> {
        let pending = self.pending.remove(&sn)?;
        crate::refund(&pending.from, pending.deposit);
        archive_set(&mut self.sent_archive, sn, final_state);
        Some(pending)
    }
}
