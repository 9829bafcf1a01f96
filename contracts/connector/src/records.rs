//! Stored state with a lifetime, each record naming its channel:
//! - `PendingCall`: a sent two-way xCall message, paid by the sending dapp (its storage deposit
//!   goes back to it, or to the `refund_to` it named, when the message is cleared);
//! - `Request`: a received xCall message, staked by the connector from its own balance (the
//!   sender paid for it in the fee on the source chain);
//! - `CrossCallRecord`: a sent Calimero call, kept until its response (matched against it) or its
//!   abandonment on a dead channel, paid by the connector (bounded size; the optional Calimero fee
//!   can cover it).
//!
//! Final states survive in 2-bit archives (32 messages per 57-byte entry, paid by the connector),
//! so that the state of any message stays visible.
//!
//! v1 records (before channels) stay in their own maps and are converted when first touched
//! ([`Legacy`]): they belong to the channel that was current at the migration, a v1 request's
//! deposit goes back to the relayer that paid it, and Calimero calls sent before the migration
//! (request ids below `below_request_id`) have no record: their responses are accepted on that
//! channel as v1 accepted them.

use crate::{Connector, StorageKey, DEFAULT_HANDLER_GAS};
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
    /// The dapp that sent the message; its rollback handler is called.
    pub from: AccountId,
    /// `btp://<net>/<account>`.
    pub to: String,
    pub rollback: Vec<u8>,
    pub state: PendingState,
    /// Storage deposit paid by `from`.
    pub deposit: u128,
    /// The channel the message went out on: only its locker's response is accepted.
    pub channel: u32,
    /// Least gas of the rollback handler (the sender's `handler_gas`).
    pub handler_gas: u64,
    /// Where the deposit goes back (`None`: `from`).
    pub refund_to: Option<AccountId>,
}

impl PendingCall {
    pub fn refund_account(&self) -> &AccountId {
        self.refund_to.as_ref().unwrap_or(&self.from)
    }
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
    /// The channel it arrived on: its response goes back on it.
    pub channel: u32,
    /// Least gas `handle_call_message` gets (the sender's choice).
    pub handler_gas: u64,
    /// Storage staked for the record.
    pub deposit: u128,
    /// Who staked it: `None` for the connector itself; a relayer for a request delivered before
    /// the migration (v1 took the storage from the relayer's deposit), refunded on clearing.
    pub payer: Option<AccountId>,
}

/// A sent Calimero call: the response is accepted only from `channel`, only once, and only
/// naming this initiator and callback.
#[near(serializers = [borsh])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossCallRecord {
    pub channel: u32,
    pub initiator: AccountId,
    pub callback: String,
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
    /// Sent: failure response received (or its channel declared dead), rollback pending (or
    /// being retried). Received: execution failed, retriable until it expires (one-way).
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

/// Upper bound of the bytes of the pending record of a two-way message with `rollback_len` bytes.
pub(crate) fn pending_bytes_bound(rollback_len: u64, remote_net_len: u64) -> u64 {
    // from, to (btp://net/account), rollback, state, deposit, channel, handler_gas, refund_to.
    let value = (4 + MAX_ACCOUNT_LEN)
        + (4 + 6 + remote_net_len + 1 + MAX_ACCOUNT_LEN)
        + (4 + rollback_len)
        + 1
        + 16
        + 4
        + 8
        + (1 + 4 + MAX_ACCOUNT_LEN);
    1 + 8 + value + 40
}

/// Upper bound of the bytes of the record a delivery of `data_len` bytes creates, on a connector
/// whose messages come from network ids of `source_net_len` characters.
pub(crate) fn request_bytes_bound(data_len: u64, source_net_len: u64) -> u64 {
    // from, to, sn, two_way, data, expires_at, state, channel, handler_gas, deposit, payer (None).
    let value = (4 + 6 + source_net_len + 1 + MAX_ACCOUNT_LEN)
        + (4 + MAX_ACCOUNT_LEN)
        + 8
        + 1
        + (4 + data_len)
        + 8
        + 1
        + 4
        + 8
        + 16
        + 1;
    1 + 8 + value + 40
}

/// A v1 sent two-way message (before channels).
#[near(serializers = [borsh])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCallV1 {
    pub from: AccountId,
    pub to: String,
    pub rollback: Vec<u8>,
    pub state: PendingState,
    pub deposit: u128,
}

/// A v1 received message (storage paid by the relayer).
#[near(serializers = [borsh])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestV1 {
    pub from: String,
    pub to: AccountId,
    pub sn: u64,
    pub two_way: bool,
    pub data: Vec<u8>,
    pub expires_at: u64,
    pub state: RequestState,
    pub payer: AccountId,
    pub deposit: u128,
}

/// What a migration from v1 left: v1 records, converted on first touch.
#[near(serializers = [borsh])]
pub struct Legacy {
    pub pending: LookupMap<u64, PendingCallV1>,
    pub requests: LookupMap<u64, RequestV1>,
    /// The channel v1 records belong to (current at the migration).
    pub channel: u32,
    /// Calimero calls with smaller request ids were sent by v1 and have no record.
    pub below_request_id: u64,
}

impl Legacy {
    /// A connector that never ran v1.
    pub(crate) fn none() -> Self {
        Legacy {
            pending: LookupMap::new(StorageKey::Pending),
            requests: LookupMap::new(StorageKey::Requests),
            channel: 0,
            below_request_id: 0,
        }
    }
}

impl PendingCallV1 {
    fn upgrade(self, channel: u32) -> PendingCall {
        PendingCall {
            from: self.from,
            to: self.to,
            rollback: self.rollback,
            state: self.state,
            deposit: self.deposit,
            channel,
            handler_gas: DEFAULT_HANDLER_GAS.as_gas(),
            refund_to: None,
        }
    }
}

impl RequestV1 {
    fn upgrade(self, channel: u32) -> Request {
        Request {
            from: self.from,
            to: self.to,
            sn: self.sn,
            two_way: self.two_way,
            data: self.data,
            expires_at: self.expires_at,
            state: self.state,
            channel,
            handler_gas: DEFAULT_HANDLER_GAS.as_gas(),
            deposit: self.deposit,
            payer: Some(self.payer),
        }
    }
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
    /// A sent two-way message, converting a v1 record on the way.
    pub(crate) fn pending_mut(&mut self, sn: u64) -> Option<&mut PendingCall> {
        if !self.pending.contains_key(&sn) {
            let old = self.legacy.pending.remove(&sn)?;
            self.pending.insert(sn, old.upgrade(self.legacy.channel));
        }
        self.pending.get_mut(&sn)
    }

    /// A sent two-way message as it stands (v1 records converted without writing).
    pub(crate) fn pending_view(&self, sn: u64) -> Option<PendingCall> {
        self.pending.get(&sn).cloned().or_else(|| {
            self.legacy
                .pending
                .get(&sn)
                .map(|p| p.clone().upgrade(self.legacy.channel))
        })
    }

    /// A received request, converting a v1 record on the way.
    pub(crate) fn request_mut(&mut self, req_id: u64) -> Option<&mut Request> {
        if !self.requests.contains_key(&req_id) {
            let old = self.legacy.requests.remove(&req_id)?;
            self.requests
                .insert(req_id, old.upgrade(self.legacy.channel));
        }
        self.requests.get_mut(&req_id)
    }

    pub(crate) fn request_view(&self, req_id: u64) -> Option<Request> {
        self.requests.get(&req_id).cloned().or_else(|| {
            self.legacy
                .requests
                .get(&req_id)
                .map(|r| r.clone().upgrade(self.legacy.channel))
        })
    }

    /// State of a message this connector sent (`sn` from `send_call_message`).
    pub(crate) fn sent_state(&self, sn: u64) -> MessageState {
        if sn == 0 || sn >= self.next_sn {
            return MessageState::Unknown;
        }
        if let Some(p) = self.pending_view(sn) {
            return match p.state {
                PendingState::AwaitingResponse
                    if self.channel_status(p.channel) == crate::ChannelStatus::Dead =>
                {
                    MessageState::ExecutionFailed
                }
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
        if let Some(r) = self.request_view(req_id) {
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

    /// Remove a received request, refund a relayer's deposit (v1 records; the connector's own
    /// stake simply stops being used) and archive its final state.
    pub(crate) fn clear_request(&mut self, req_id: u64, final_state: u8) -> Option<Request> {
        let request = match self.requests.remove(&req_id) {
            Some(r) => r,
            None => self
                .legacy
                .requests
                .remove(&req_id)?
                .upgrade(self.legacy.channel),
        };
        if let Some(payer) = &request.payer {
            crate::refund(payer, request.deposit);
        }
        archive_set(&mut self.received_archive, req_id, final_state);
        Some(request)
    }

    /// Remove a sent two-way message, refund its deposit and archive its final state.
    pub(crate) fn clear_pending(&mut self, sn: u64, final_state: u8) -> Option<PendingCall> {
        let pending = match self.pending.remove(&sn) {
            Some(p) => p,
            None => self
                .legacy
                .pending
                .remove(&sn)?
                .upgrade(self.legacy.channel),
        };
        crate::refund(pending.refund_account(), pending.deposit);
        archive_set(&mut self.sent_archive, sn, final_state);
        Some(pending)
    }
}
