//! JSON views for dapps, relayers and operators.

use crate::records::{pending_deposit_bound, request_deposit_bound};
use crate::{Connector, ConnectorExt, MessageState, PendingState, RequestState};
use near_sdk::json_types::{Base64VecU8, U128, U64};
use near_sdk::{near, AccountId};

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigView {
    pub light_client: AccountId,
    pub local_net: String,
    pub remote_net: String,
    pub locker: Option<AccountId>,
    /// Lifetime of sent xCall messages, seconds.
    pub message_ttl: U64,
    pub allow_list_enforced: bool,
    /// Suffix rules of the allow list (`*.dapp.near`); exact accounts: `is_allowed`.
    pub allow_suffixes: Vec<String>,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
    pub locker: Option<AccountId>,
    pub channel: u32,
    /// Next sequence number this connector sends.
    pub next_out: U64,
    /// Watermark: every message from the locker below it was delivered.
    pub next_in: U64,
    /// Messages delivered ahead of the watermark.
    pub ahead: u32,
    pub window: u32,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeesView {
    pub protocol_fee: U128,
    pub protocol_fee_handler: Option<AccountId>,
    pub accrued_protocol: U128,
    pub relay_fee: U128,
    pub relay_rollback_fee: U128,
    pub relay_fee_collector: Option<AccountId>,
    pub accrued_relay: U128,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingView {
    pub sn: U64,
    pub from: AccountId,
    pub to: String,
    pub rollback: Base64VecU8,
    pub state: PendingState,
    pub deposit: U128,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestView {
    pub req_id: U64,
    pub from: String,
    pub to: AccountId,
    pub sn: U64,
    pub two_way: bool,
    pub data: Base64VecU8,
    pub expires_at: U64,
    pub state: RequestState,
    pub payer: AccountId,
    pub deposit: U128,
}

#[near]
impl Connector {
    pub fn config(&self) -> ConfigView {
        ConfigView {
            light_client: self.light_client.clone(),
            local_net: self.local_net.clone(),
            remote_net: self.remote_net.clone(),
            locker: self.locker.clone(),
            message_ttl: U64(self.message_ttl / 1_000_000_000),
            allow_list_enforced: self.allow_list_enforced,
            allow_suffixes: self
                .allow_suffixes
                .iter()
                .map(|s| format!("*{s}"))
                .collect(),
        }
    }

    /// Replay state of the channel from the locker, and the outbound counter.
    pub fn channel(&self) -> ChannelView {
        ChannelView {
            locker: self.locker.clone(),
            channel: self.channel,
            next_out: U64(self.next_out),
            next_in: U64(self.next_in),
            ahead: self.ahead,
            window: self.window,
        }
    }

    /// Whether the locker's message `nsn` was delivered here.
    pub fn is_delivered(&self, nsn: U64) -> bool {
        self.seen(nsn.0) == crate::replay::Seen::Delivered
    }

    /// State of an xCall message sent from here (by `sn`): unknown, sent (one-way),
    /// awaiting_response, executed_ok, execution_failed (rollback pending), executing (rollback in
    /// flight), rolled_back.
    pub fn message_state(&self, sn: U64) -> MessageState {
        self.sent_state(sn.0)
    }

    /// State of an xCall message received here (by `req_id`): unknown, delivered, executing,
    /// execution_failed (retriable), executed_ok, failed (reported to the source), expired.
    pub fn request_state(&self, req_id: U64) -> MessageState {
        self.received_state(req_id.0)
    }

    /// A sent two-way message that is not cleared yet.
    pub fn get_pending_message(&self, sn: U64) -> Option<PendingView> {
        self.pending.get(&sn.0).map(|p| PendingView {
            sn,
            from: p.from.clone(),
            to: p.to.clone(),
            rollback: Base64VecU8(p.rollback.clone()),
            state: p.state,
            deposit: U128(p.deposit),
        })
    }

    /// A received message that is not cleared yet.
    pub fn get_request(&self, req_id: U64) -> Option<RequestView> {
        self.requests.get(&req_id.0).map(|r| RequestView {
            req_id,
            from: r.from.clone(),
            to: r.to.clone(),
            sn: U64(r.sn),
            two_way: r.two_way,
            data: Base64VecU8(r.data.clone()),
            expires_at: U64(r.expires_at),
            state: r.state,
            payer: r.payer.clone(),
            deposit: U128(r.deposit),
        })
    }

    pub fn get_fees(&self) -> FeesView {
        let f = &self.fees;
        FeesView {
            protocol_fee: U128(f.protocol_fee),
            protocol_fee_handler: f.protocol_fee_handler.clone(),
            accrued_protocol: U128(f.accrued_protocol),
            relay_fee: U128(f.relay_fee),
            relay_rollback_fee: U128(f.relay_rollback_fee),
            relay_fee_collector: f.relay_fee_collector.clone(),
            accrued_relay: U128(f.accrued_relay),
        }
    }

    /// Upper bound of the storage deposit `send_call_message` takes for a two-way message with
    /// `rollback_len` bytes of rollback data (a one-way message takes none); attach `get_fee`
    /// plus this, the surplus is refunded.
    pub fn get_send_deposit(&self, rollback_len: u32) -> U128 {
        U128(pending_deposit_bound(
            rollback_len.into(),
            self.remote_net.len() as u64,
        ))
    }

    /// Upper bound of the deposit `xcall_receive_message` takes for `data_len` bytes of data.
    pub fn get_delivery_deposit(&self, data_len: u32) -> U128 {
        U128(request_deposit_bound(
            data_len.into(),
            self.remote_net.len() as u64,
        ))
    }

    pub fn is_allowed(&self, account: AccountId) -> bool {
        self.is_allowed_sender(&account)
    }

    pub fn is_denied(&self, account: AccountId) -> bool {
        self.is_refused_target(&account)
    }
}
