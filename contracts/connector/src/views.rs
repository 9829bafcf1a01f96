//! JSON views for dapps, relayers and operators.

use crate::records::{pending_bytes_bound, request_bytes_bound, storage_cost};
use crate::xcall::execute_gas;
use crate::{
    Channel, ChannelStatus, Connector, ConnectorExt, MessageState, PendingState, RequestState,
};
use near_sdk::json_types::{Base64VecU8, U128, U64};
use near_sdk::{near, AccountId};

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigView {
    pub light_client: AccountId,
    pub calimero_executor: AccountId,
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
    pub status: ChannelStatus,
    /// Next sequence number this connector sends on the channel.
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
    pub cross_call_fee: U128,
    pub storage_byte_price: U128,
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
    pub refund_to: AccountId,
    pub channel: u32,
    pub handler_gas: U64,
    /// Least prepaid gas of `execute_rollback`.
    pub execute_gas: U64,
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
    pub channel: u32,
    pub handler_gas: U64,
    /// Least prepaid gas of `execute_call`.
    pub execute_gas: U64,
    /// Storage staked for the record.
    pub deposit: U128,
    /// Who staked it (`null`: the connector).
    pub payer: Option<AccountId>,
}

#[near(serializers = [json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossCallView {
    pub request_id: U64,
    pub channel: u32,
    pub initiator: AccountId,
    pub callback: String,
}

impl Connector {
    fn channel_view(&self, c: &Channel) -> ChannelView {
        ChannelView {
            locker: Some(c.locker.clone()),
            channel: c.id,
            status: self.channel_status(c.id),
            next_out: U64(c.next_out),
            next_in: U64(c.next_in),
            ahead: c.ahead,
            window: self.window,
        }
    }
}

#[near]
impl Connector {
    pub fn config(&self) -> ConfigView {
        ConfigView {
            light_client: self.light_client.clone(),
            calimero_executor: self.calimero_executor.clone(),
            local_net: self.local_net.clone(),
            remote_net: self.remote_net.clone(),
            locker: self.current.as_ref().map(|c| c.locker.clone()),
            message_ttl: U64(self.message_ttl / 1_000_000_000),
            allow_list_enforced: self.allow_list_enforced,
            allow_suffixes: self
                .allow_suffixes
                .iter()
                .map(|s| ["*", s].concat())
                .collect(),
        }
    }

    /// The account inbound Calimero calls come from: a dapp accepts a Calimero call only when
    /// its predecessor is this account, and finds the remote initiator in `calimero_initiator_id`.
    pub fn calimero_executor(&self) -> AccountId {
        self.calimero_executor.clone()
    }

    /// Replay state and outbound counter of the current channel (`locker: null` before one is
    /// set).
    pub fn channel(&self) -> ChannelView {
        match &self.current {
            Some(c) => self.channel_view(c),
            None => ChannelView {
                locker: None,
                channel: self.next_channel.saturating_sub(1),
                status: ChannelStatus::Dead,
                next_out: U64(0),
                next_in: U64(0),
                ahead: 0,
                window: self.window,
            },
        }
    }

    /// Every open channel: the current one first, then the retired ones.
    pub fn channels(&self) -> Vec<ChannelView> {
        self.current
            .iter()
            .chain(self.retired.iter())
            .map(|c| self.channel_view(c))
            .collect()
    }

    /// Whether the current locker's message `nsn` was delivered here.
    pub fn is_delivered(&self, nsn: U64) -> bool {
        self.is_delivered_current(nsn.0)
    }

    /// State of an xCall message sent from here (by `sn`): unknown, sent (one-way),
    /// awaiting_response, executed_ok, execution_failed (rollback possible), executing
    /// (rollback in flight), rolled_back.
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
        self.pending_view(sn.0).map(|p| PendingView {
            sn,
            refund_to: p.refund_account().clone(),
            from: p.from,
            to: p.to,
            rollback: Base64VecU8(p.rollback),
            state: p.state,
            deposit: U128(p.deposit),
            channel: p.channel,
            handler_gas: U64(p.handler_gas),
            execute_gas: U64(execute_gas(p.handler_gas).as_gas()),
        })
    }

    /// A received message that is not cleared yet.
    pub fn get_request(&self, req_id: U64) -> Option<RequestView> {
        self.request_view(req_id.0).map(|r| RequestView {
            req_id,
            from: r.from,
            to: r.to,
            sn: U64(r.sn),
            two_way: r.two_way,
            data: Base64VecU8(r.data),
            expires_at: U64(r.expires_at),
            state: r.state,
            channel: r.channel,
            handler_gas: U64(r.handler_gas),
            execute_gas: U64(execute_gas(r.handler_gas).as_gas()),
            deposit: U128(r.deposit),
            payer: r.payer,
        })
    }

    /// A sent Calimero call awaiting its response (calls without a callback keep no record).
    pub fn get_cross_call(&self, request_id: U64) -> Option<CrossCallView> {
        self.cross_calls.get(&request_id.0).map(|r| CrossCallView {
            request_id,
            channel: r.channel,
            initiator: r.initiator.clone(),
            callback: r.callback.clone(),
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
            cross_call_fee: U128(f.cross_call_fee),
            storage_byte_price: U128(f.storage_byte_price),
        }
    }

    /// Upper bound of the storage deposit `send_call_message` takes for a two-way message with
    /// `rollback_len` bytes of rollback data (a one-way message takes none); attach `get_fee`
    /// plus this, the surplus is refunded.
    pub fn get_send_deposit(&self, rollback_len: u32) -> U128 {
        U128(storage_cost(pending_bytes_bound(
            rollback_len.into(),
            self.remote_net.len() as u64,
        )))
    }

    /// Upper bound of the storage this connector stakes for a delivered message of `data_len`
    /// bytes (relayers attach nothing; the sender's fee on the other chain covers it).
    pub fn get_delivery_deposit(&self, data_len: u32) -> U128 {
        U128(storage_cost(request_bytes_bound(
            data_len.into(),
            self.remote_net.len() as u64,
        )))
    }

    pub fn is_allowed(&self, account: AccountId) -> bool {
        self.is_allowed_sender(&account)
    }

    pub fn is_denied(&self, account: AccountId) -> bool {
        self.is_refused_target(&account)
    }
}
