//! xCall (IIP-52) with NEAR naming. Lifecycle of a message:
//!
//! ```text
//! source chain                                   destination chain
//! send_call_message ─ call_message_sent ──────▶ xcall_receive_message ─ call_message (req_id)
//!   two-way: pending(sn) awaiting_response        request(req_id) delivered (staked by the connector)
//!                                                 execute_call(req_id) ─ handle_call_message
//!                                                   (at least the sender's handler_gas)
//!                                                   ok:   call_executed(0), cleared, [response 0]
//!                                                   fail: call_executed(-1)
//!                                                         one-way: stays, retriable until expiry
//!                                                         two-way: cleared, [response -1]
//!                                                   expired: cleared, [response -1]
//! xcall_receive_response ◀──────────────────── [response]
//!   0:  response_message(0), cleared (executed_ok)
//!   -1: response_message(-1), rollback_message → execute_rollback(sn) ─ handle_call_message
//!         ok: rollback_executed(0), cleared (rolled_back); fail: rollback_executed(-1), retriable
//! ```
//!
//! Messages carry an expiry (`message_ttl` after sending). The destination alone decides it:
//! after it, the message is not executed and a two-way message gets a failure response, so the
//! source rolls back only on proof that the message never will run, or when the owner declared
//! the message's channel dead (`channels`). Every record names its channel: a response is
//! accepted only from the channel its message went out on, and a request is answered on the
//! channel it came from.

use crate::events::ConnectorEvent;
use crate::records::{
    record_bytes, storage_cost, PendingCall, PendingState, Request, RequestState, FINAL_EXPIRED,
    FINAL_FAILED, FINAL_OK,
};
use crate::{
    can_stake, ChannelStatus, Connector, ConnectorError, ConnectorExt, DEFAULT_HANDLER_GAS,
    GAS_EXECUTE_OVERHEAD, GAS_ON_EXECUTED, MAX_HANDLER_GAS, MIN_HANDLER_GAS,
};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::{env, near, require, AccountId, Gas};
use xsc_interfaces::xcall::{
    BtpAddress, XcallEvent, CODE_FAILURE, CODE_SUCCESS, MAX_DATA_SIZE, MAX_ROLLBACK_SIZE,
};
use xsc_interfaces::{ext_xcall_dapp, MessageKind, TransportEvent, XcallMsg, XcallResponseMsg};

/// A proven xCall message, as it arrived.
pub(crate) struct Incoming {
    pub from: String,
    pub to: AccountId,
    pub sn: u64,
    pub data: Vec<u8>,
    pub two_way: bool,
    pub expires_at: u64,
    pub handler_gas: Option<u64>,
}

fn valid_handler_gas(gas: Gas) -> bool {
    (MIN_HANDLER_GAS..=MAX_HANDLER_GAS).contains(&gas)
}

/// Least prepaid gas of `execute_call` / `execute_rollback` for a handler of `handler_gas`.
pub fn execute_gas(handler_gas: u64) -> Gas {
    GAS_EXECUTE_OVERHEAD
        .saturating_add(Gas::from_gas(handler_gas))
        .saturating_add(GAS_ON_EXECUTED)
}

#[near]
impl Connector {
    /// IIP-52 `sendCallMessage`. `to` is `btp://<net>/<account>` on the other chain; `data` at
    /// most 2048 bytes; `rollback` (two-way message) at most 1024 bytes and only from a contract
    /// (predecessor != signer). `handler_gas` (default 30 Tgas, 5..=200 Tgas): the least gas
    /// `handle_call_message` gets on the destination, and the rollback handler here; nobody can
    /// execute the message with less. Attach `get_fee(net, rollback.is_some(), data.len())` plus,
    /// for a two-way message, the storage deposit of its pending record (`get_send_deposit
    /// (rollback_len)` is an upper bound); the surplus is refunded at once and the storage deposit
    /// when the message is cleared, both to `refund_to` (default: the caller). Returns the serial
    /// number `sn`.
    #[pause]
    #[payable]
    pub fn send_call_message(
        &mut self,
        to: String,
        data: Base64VecU8,
        rollback: Option<Base64VecU8>,
        handler_gas: Option<Gas>,
        refund_to: Option<AccountId>,
    ) -> U64 {
        let locker = self.require_current().locker.clone();
        let caller = env::predecessor_account_id();
        self.require_allowed_sender(&caller);
        let address =
            BtpAddress::parse(&to).unwrap_or_else(|| ConnectorError::InvalidAddress.panic());
        require!(
            address.net == self.remote_net,
            ConnectorError::UnknownNetwork.as_str()
        );
        require!(
            address.account != locker,
            ConnectorError::TargetRefused.as_str()
        );
        require!(
            data.0.len() <= MAX_DATA_SIZE,
            ConnectorError::DataTooLarge.as_str()
        );
        let handler_gas = handler_gas.unwrap_or(DEFAULT_HANDLER_GAS);
        require!(
            valid_handler_gas(handler_gas),
            ConnectorError::HandlerGas.as_str()
        );
        if let Some(rollback) = &rollback {
            require!(
                rollback.0.len() <= MAX_ROLLBACK_SIZE,
                ConnectorError::RollbackTooLarge.as_str()
            );
            require!(
                caller != env::signer_account_id(),
                ConnectorError::RollbackNotContract.as_str()
            );
        }

        let two_way = rollback.is_some();
        let (protocol_fee, relay_fee) = self.fee_parts(two_way, data.0.len() as u64);
        let sn = self.next_sn;
        self.next_sn += 1;
        let (channel, locker, nsn) = self.take_current_nsn();
        let refund_account = refund_to.clone().unwrap_or_else(|| caller.clone());
        let mut storage = 0;
        if let Some(rollback) = rollback {
            let mut pending = PendingCall {
                from: caller.clone(),
                to: to.clone(),
                rollback: rollback.0,
                state: PendingState::AwaitingResponse,
                deposit: 0,
                channel,
                handler_gas: handler_gas.as_gas(),
                refund_to: refund_to.filter(|r| *r != caller),
            };
            storage = storage_cost(record_bytes(&pending));
            pending.deposit = storage;
            self.pending.insert(sn, pending);
        }
        let needed = protocol_fee + relay_fee + storage;
        let attached = env::attached_deposit().as_yoctonear();
        if attached < needed {
            ConnectorError::InsufficientFee.panic_with(&needed.to_string());
        }
        self.fees.accrued_protocol += protocol_fee;
        self.fees.accrued_relay += relay_fee;
        crate::refund(&refund_account, attached - needed);

        XcallEvent::CallMessageSent {
            from: caller.clone(),
            to,
            sn: U64(sn),
            nsn: U64(nsn),
        }
        .emit();
        TransportEvent::XcallMessage(XcallMsg {
            dst: locker,
            net: self.remote_net.clone(),
            nsn: U64(nsn),
            from: BtpAddress::format(&self.local_net, caller.as_str()),
            to: address.account,
            sn: U64(sn),
            data,
            rollback: two_way,
            expires_at: U64(env::block_timestamp().saturating_add(self.message_ttl)),
            handler_gas: Some(U64(handler_gas.as_gas())),
        })
        .emit();
        U64(sn)
    }

    /// IIP-52 `executeCall`: run a received message (anyone may call). The dapp gets at least the
    /// sender's `handler_gas`: attach `handler_gas + 50 Tgas` (`get_request(req_id)` shows the
    /// request's `execute_gas`); less is refused and changes nothing. A failed one-way message
    /// stays and may be retried until it expires; a failed two-way message is reported back to
    /// its source. An expired message, or one whose channel was declared dead, is cleared
    /// instead (a two-way one reported as failed when its channel is open).
    #[pause]
    pub fn execute_call(&mut self, req_id: U64) {
        let req_id = req_id.0;
        let request = self
            .request_view(req_id)
            .unwrap_or_else(|| ConnectorError::UnknownRequest.panic());
        require!(
            request.state != RequestState::Executing,
            ConnectorError::RequestBusy.as_str()
        );
        if env::block_timestamp() > request.expires_at
            || self.channel_status(request.channel) == ChannelStatus::Dead
        {
            self.expire_request(req_id);
            return;
        }
        if self.is_refused_target(&request.to) {
            // The deny list changed since delivery.
            self.execution_failed(req_id, ConnectorError::TargetRefused);
            return;
        }
        let needed = execute_gas(request.handler_gas);
        if env::prepaid_gas() < needed {
            ConnectorError::NotEnoughGas.panic_with(&needed.as_gas().to_string());
        }
        let Some(request) = self.request_mut(req_id) else {
            ConnectorError::UnknownRequest.panic()
        };
        request.state = RequestState::Executing;
        // Exactly at least `handler_gas`: if less were left, attaching it would fail this whole
        // call (nothing changes), never the handler.
        ext_xcall_dapp::ext(request.to.clone())
            .with_static_gas(Gas::from_gas(request.handler_gas))
            .with_unused_gas_weight(1)
            .handle_call_message(request.from.clone(), Base64VecU8(request.data.clone()))
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_ON_EXECUTED)
                    .with_unused_gas_weight(0)
                    .on_call_executed(req_id),
            );
    }

    /// IIP-52 `executeRollback`: only after a failure response, or once the message's channel
    /// is declared dead (the owner declared that no response will ever come). Calls the sending
    /// dapp's `handle_call_message` with `from` = this connector's BTP address and the rollback
    /// data, with at least the message's `handler_gas` (attach `handler_gas + 50 Tgas`). A failed
    /// rollback may be retried.
    #[pause]
    pub fn execute_rollback(&mut self, sn: U64) {
        let sn = sn.0;
        let me = env::current_account_id();
        let from = BtpAddress::format(&self.local_net, me.as_str());
        let Some(pending) = self.pending_view(sn) else {
            ConnectorError::UnknownSn.panic()
        };
        match pending.state {
            PendingState::RollbackEnabled => {}
            PendingState::AwaitingResponse
                if self.channel_status(pending.channel) == ChannelStatus::Dead =>
            {
                XcallEvent::RollbackMessage { sn: U64(sn) }.emit();
            }
            PendingState::AwaitingResponse => ConnectorError::RollbackNotEnabled.panic(),
            PendingState::RollingBack => ConnectorError::RollbackBusy.panic(),
        }
        let needed = execute_gas(pending.handler_gas);
        if env::prepaid_gas() < needed {
            ConnectorError::NotEnoughGas.panic_with(&needed.as_gas().to_string());
        }
        let Some(pending) = self.pending_mut(sn) else {
            ConnectorError::UnknownSn.panic()
        };
        pending.state = PendingState::RollingBack;
        ext_xcall_dapp::ext(pending.from.clone())
            .with_static_gas(Gas::from_gas(pending.handler_gas))
            .with_unused_gas_weight(1)
            .handle_call_message(from, Base64VecU8(pending.rollback.clone()))
            .then(
                Self::ext(me)
                    .with_static_gas(GAS_ON_EXECUTED)
                    .with_unused_gas_weight(0)
                    .on_rollback_executed(sn),
            );
    }

    /// After `handle_call_message` of a received message. Borsh argument.
    #[private]
    pub fn on_call_executed(&mut self, #[serializer(borsh)] req_id: u64) {
        if self.request_mut(req_id).is_none() {
            return;
        }
        if crate::promise_succeeded() {
            XcallEvent::CallExecuted {
                req_id: U64(req_id),
                code: CODE_SUCCESS,
                msg: String::new(),
            }
            .emit();
            if let Some(request) = self.clear_request(req_id, FINAL_OK) {
                if request.two_way {
                    self.respond(request.channel, request.sn, CODE_SUCCESS, String::new());
                }
            }
        } else {
            self.execution_failed(req_id, ConnectorError::HandlerFailed);
        }
    }

    /// After the rollback handler. Borsh argument.
    #[private]
    pub fn on_rollback_executed(&mut self, #[serializer(borsh)] sn: u64) {
        if self.pending_mut(sn).is_none() {
            return;
        }
        if crate::promise_succeeded() {
            XcallEvent::RollbackExecuted {
                sn: U64(sn),
                code: CODE_SUCCESS,
                msg: String::new(),
            }
            .emit();
            self.clear_pending(sn, FINAL_FAILED);
        } else {
            XcallEvent::RollbackExecuted {
                sn: U64(sn),
                code: CODE_FAILURE,
                msg: ConnectorError::HandlerFailed.code().to_string(),
            }
            .emit();
            if let Some(pending) = self.pending_mut(sn) {
                pending.state = PendingState::RollbackEnabled;
            }
        }
    }
}

impl Connector {
    /// Send the result of a two-way message back on the channel it came from.
    fn respond(&mut self, channel: u32, sn: u64, code: i32, msg: String) {
        let Some((locker, nsn)) = self.take_nsn(channel) else {
            ConnectorEvent::ResponseDropped {
                kind: MessageKind::XcallResponse,
                channel,
            }
            .emit();
            return;
        };
        TransportEvent::XcallResponse(XcallResponseMsg {
            dst: locker,
            net: self.remote_net.clone(),
            nsn: U64(nsn),
            sn: U64(sn),
            code,
            msg,
        })
        .emit();
    }

    /// `call_executed(-1)`; a one-way message stays (retriable), a two-way one is cleared and
    /// reported as failed.
    fn execution_failed(&mut self, req_id: u64, error: ConnectorError) {
        XcallEvent::CallExecuted {
            req_id: U64(req_id),
            code: CODE_FAILURE,
            msg: error.code().to_string(),
        }
        .emit();
        let two_way = match self.request_mut(req_id) {
            Some(request) if !request.two_way => {
                request.state = RequestState::Failed;
                return;
            }
            Some(_) => true,
            None => return,
        };
        if two_way {
            if let Some(request) = self.clear_request(req_id, FINAL_FAILED) {
                self.respond(
                    request.channel,
                    request.sn,
                    CODE_FAILURE,
                    error.code().to_string(),
                );
            }
        }
    }

    fn expire_request(&mut self, req_id: u64) {
        if let Some(request) = self.clear_request(req_id, FINAL_EXPIRED) {
            ConnectorEvent::RequestExpired {
                req_id: U64(req_id),
                sn: U64(request.sn),
            }
            .emit();
            if request.two_way {
                self.respond(
                    request.channel,
                    request.sn,
                    CODE_FAILURE,
                    ConnectorError::Expired.code().to_string(),
                );
            }
        }
    }

    /// A proven xCall message: store it for `execute_call` (the connector stakes its storage),
    /// or refuse it (answering a two-way message with a failure on its channel). `Err` when
    /// nothing changed.
    pub(crate) fn deliver_xcall_message(
        &mut self,
        channel: u32,
        nsn: u64,
        m: Incoming,
    ) -> Result<(), ConnectorError> {
        let kind = MessageKind::XcallMessage;
        let handler_gas = m.handler_gas.unwrap_or(DEFAULT_HANDLER_GAS.as_gas());
        // Only the other network may send here; never a message claiming the local network.
        let refusal = match BtpAddress::parse(&m.from) {
            _ if self.channel_status(channel) != ChannelStatus::Active => {
                Some(ConnectorError::ChannelRetired)
            }
            Some(source) if source.net == self.remote_net && source.net != self.local_net => {
                if self.is_refused_target(&m.to) {
                    Some(ConnectorError::TargetRefused)
                } else if m.data.len() > MAX_DATA_SIZE {
                    Some(ConnectorError::DataTooLarge)
                } else if !valid_handler_gas(Gas::from_gas(handler_gas)) {
                    Some(ConnectorError::HandlerGas)
                } else if env::block_timestamp() > m.expires_at {
                    Some(ConnectorError::Expired)
                } else {
                    None
                }
            }
            _ => Some(ConnectorError::InvalidSource),
        };
        if let Some(error) = refusal {
            self.refuse(channel, kind, nsn, m.to.as_str(), error);
            if m.two_way {
                self.respond(channel, m.sn, CODE_FAILURE, error.code().to_string());
            }
            return Ok(());
        }
        let mut request = Request {
            from: m.from,
            to: m.to,
            sn: m.sn,
            two_way: m.two_way,
            data: m.data,
            expires_at: m.expires_at,
            state: RequestState::Delivered,
            channel,
            handler_gas,
            deposit: 0,
            payer: None,
        };
        let bytes = record_bytes(&request);
        if !can_stake(bytes) {
            return Err(ConnectorError::ConnectorBalance);
        }
        request.deposit = storage_cost(bytes);
        let req_id = self.next_req_id;
        self.next_req_id += 1;
        self.accept(channel, kind, nsn);
        XcallEvent::CallMessage {
            from: request.from.clone(),
            to: request.to.to_string(),
            sn: U64(request.sn),
            req_id: U64(req_id),
        }
        .emit();
        self.requests.insert(req_id, request);
        Ok(())
    }

    /// A proven response: accepted only for a two-way message this connector sent on the same
    /// channel (to the network the response comes from) that still awaits it.
    pub(crate) fn deliver_xcall_response(
        &mut self,
        channel: u32,
        nsn: u64,
        sn: u64,
        code: i32,
        msg: String,
    ) -> Result<(), ConnectorError> {
        let kind = MessageKind::XcallResponse;
        let expected = self.pending_view(sn).is_some_and(|p| {
            p.state == PendingState::AwaitingResponse
                && p.channel == channel
                && BtpAddress::parse(&p.to).is_some_and(|a| a.net == self.remote_net)
        });
        if !expected {
            self.refuse(channel, kind, nsn, "", ConnectorError::UnexpectedResponse);
            return Ok(());
        }
        self.accept(channel, kind, nsn);
        XcallEvent::ResponseMessage {
            sn: U64(sn),
            code,
            msg,
        }
        .emit();
        if code == CODE_SUCCESS {
            self.clear_pending(sn, FINAL_OK);
        } else {
            if let Some(pending) = self.pending_mut(sn) {
                pending.state = PendingState::RollbackEnabled;
            }
            XcallEvent::RollbackMessage { sn: U64(sn) }.emit();
        }
        Ok(())
    }
}
