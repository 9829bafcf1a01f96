//! xCall (IIP-52) with NEAR naming. Lifecycle of a message:
//!
//! ```text
//! source chain                                   destination chain
//! send_call_message ─ call_message_sent ──────▶ xcall_receive_message ─ call_message (req_id)
//!   two-way: pending(sn) awaiting_response        request(req_id) delivered
//!                                                 execute_call(req_id) ─ handle_call_message
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
//! source rolls back only on proof that the message never will run.

use crate::delivery::Message;
use crate::events::ConnectorEvent;
use crate::records::{
    record_bytes, storage_cost, PendingCall, PendingState, Request, RequestState, FINAL_EXPIRED,
    FINAL_FAILED, FINAL_OK,
};
use crate::{
    Connector, ConnectorError, ConnectorExt, GAS_EXECUTE_MIN, GAS_HANDLER_MIN, GAS_ON_EXECUTED,
};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::{env, near, require, AccountId};
use xsc_interfaces::xcall::{
    BtpAddress, XcallEvent, CODE_FAILURE, CODE_SUCCESS, MAX_DATA_SIZE, MAX_ROLLBACK_SIZE,
};
use xsc_interfaces::{ext_xcall_dapp, MessageKind, TransportEvent, XcallMsg, XcallResponseMsg};

#[near]
impl Connector {
    /// IIP-52 `sendCallMessage`. `to` is `btp://<net>/<account>` on the other chain; `data` at
    /// most 2048 bytes; `rollback` (two-way message) at most 1024 bytes and only from a contract
    /// (predecessor != signer). Attach `get_fee(net, rollback.is_some())` plus, for a two-way
    /// message, the storage deposit of its pending record (`get_send_deposit(rollback_len)` is
    /// an upper bound); the surplus is refunded at once and the storage deposit when the message
    /// is cleared. Returns the serial number `sn`.
    #[pause]
    #[payable]
    pub fn send_call_message(
        &mut self,
        to: String,
        data: Base64VecU8,
        rollback: Option<Base64VecU8>,
    ) -> U64 {
        let locker = self.require_locker();
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
        let (protocol_fee, relay_fee) = self.fee_parts(two_way);
        let sn = self.next_sn;
        self.next_sn += 1;
        let mut storage = 0;
        if let Some(rollback) = rollback {
            let mut pending = PendingCall {
                from: caller.clone(),
                to: to.clone(),
                rollback: rollback.0,
                state: PendingState::AwaitingResponse,
                deposit: 0,
            };
            storage = storage_cost(record_bytes(&pending));
            pending.deposit = storage;
            self.pending.insert(sn, pending);
        }
        let needed = protocol_fee + relay_fee + storage;
        let attached = env::attached_deposit().as_yoctonear();
        if attached < needed {
            ConnectorError::InsufficientFee
                .panic_with(&format!("attached {attached}, need {needed} yoctoNEAR"));
        }
        self.fees.accrued_protocol += protocol_fee;
        self.fees.accrued_relay += relay_fee;
        crate::refund(&caller, attached - needed);

        let nsn = self.take_nsn();
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
        })
        .emit();
        U64(sn)
    }

    /// IIP-52 `executeCall`: run a received message (anyone may call; attach at least
    /// `GAS_EXECUTE_MIN`, the dapp gets the rest). A failed one-way message stays and may be
    /// retried until it expires; a failed two-way message is reported back to its source. An
    /// expired message is cleared instead (and a two-way one reported as failed).
    #[pause]
    pub fn execute_call(&mut self, req_id: U64) {
        let req_id = req_id.0;
        let request = self
            .requests
            .get(&req_id)
            .unwrap_or_else(|| ConnectorError::UnknownRequest.panic());
        require!(
            request.state != RequestState::Executing,
            ConnectorError::RequestBusy.as_str()
        );
        if env::block_timestamp() > request.expires_at {
            self.expire_request(req_id);
            return;
        }
        if self.is_refused_target(&request.to) {
            // The deny list changed since delivery.
            self.execution_failed(req_id, ConnectorError::TargetRefused);
            return;
        }
        require!(
            env::prepaid_gas() >= GAS_EXECUTE_MIN,
            ConnectorError::NotEnoughGas.as_str()
        );
        let Some(request) = self.requests.get_mut(&req_id) else {
            ConnectorError::UnknownRequest.panic()
        };
        request.state = RequestState::Executing;
        ext_xcall_dapp::ext(request.to.clone())
            .with_static_gas(GAS_HANDLER_MIN)
            .with_unused_gas_weight(1)
            .handle_call_message(request.from.clone(), Base64VecU8(request.data.clone()))
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_ON_EXECUTED)
                    .with_unused_gas_weight(0)
                    .on_call_executed(req_id),
            );
    }

    /// IIP-52 `executeRollback`: only after a failure response. Calls the sending dapp's
    /// `handle_call_message` with `from` = this connector's BTP address and the rollback data.
    /// A failed rollback may be retried. Attach at least `GAS_EXECUTE_MIN`.
    #[pause]
    pub fn execute_rollback(&mut self, sn: U64) {
        let sn = sn.0;
        let me = env::current_account_id();
        let from = BtpAddress::format(&self.local_net, me.as_str());
        let Some(pending) = self.pending.get_mut(&sn) else {
            ConnectorError::UnknownSn.panic()
        };
        match pending.state {
            PendingState::RollbackEnabled => {}
            PendingState::AwaitingResponse => ConnectorError::RollbackNotEnabled.panic(),
            PendingState::RollingBack => ConnectorError::RollbackBusy.panic(),
        }
        require!(
            env::prepaid_gas() >= GAS_EXECUTE_MIN,
            ConnectorError::NotEnoughGas.as_str()
        );
        pending.state = PendingState::RollingBack;
        ext_xcall_dapp::ext(pending.from.clone())
            .with_static_gas(GAS_HANDLER_MIN)
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
        if !self.requests.contains_key(&req_id) {
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
                    self.respond(request.sn, CODE_SUCCESS, String::new());
                }
            }
        } else {
            self.execution_failed(req_id, ConnectorError::HandlerFailed);
        }
    }

    /// After the rollback handler. Borsh argument.
    #[private]
    pub fn on_rollback_executed(&mut self, #[serializer(borsh)] sn: u64) {
        if !self.pending.contains_key(&sn) {
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
            if let Some(pending) = self.pending.get_mut(&sn) {
                pending.state = PendingState::RollbackEnabled;
            }
        }
    }
}

impl Connector {
    /// Send the result of a two-way message back to its source.
    fn respond(&mut self, sn: u64, code: i32, msg: String) {
        let locker = self.require_locker();
        let nsn = self.take_nsn();
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
        let two_way = match self.requests.get_mut(&req_id) {
            Some(request) if !request.two_way => {
                request.state = RequestState::Failed;
                return;
            }
            Some(_) => true,
            None => return,
        };
        if two_way {
            if let Some(request) = self.clear_request(req_id, FINAL_FAILED) {
                self.respond(request.sn, CODE_FAILURE, error.code().to_string());
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
                    request.sn,
                    CODE_FAILURE,
                    ConnectorError::Expired.code().to_string(),
                );
            }
        }
    }

    /// The record a delivered message becomes, paid by `payer`.
    fn new_request(message: &Message, payer: AccountId) -> Option<Request> {
        let Message::Xcall {
            from,
            to,
            sn,
            data,
            two_way,
            expires_at,
            ..
        } = message
        else {
            return None;
        };
        Some(Request {
            from: from.clone(),
            to: to.clone(),
            sn: *sn,
            two_way: *two_way,
            data: data.clone(),
            expires_at: *expires_at,
            state: RequestState::Delivered,
            payer,
            deposit: 0,
        })
    }

    /// The storage deposit a delivery of `message` by the caller takes.
    pub(crate) fn request_deposit(&self, message: &Message) -> u128 {
        Self::new_request(message, env::predecessor_account_id())
            .map_or(0, |r| storage_cost(record_bytes(&r)))
    }

    /// A proven xCall message: store it for `execute_call`, or refuse it (answering a two-way
    /// message with a failure). `Ok(deposit used)` when consumed, `Err` when nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn deliver_xcall_message(
        &mut self,
        nsn: u64,
        from: String,
        to: AccountId,
        sn: u64,
        data: Vec<u8>,
        two_way: bool,
        expires_at: u64,
        relayer: &AccountId,
        deposit: u128,
    ) -> Result<u128, ConnectorError> {
        let kind = MessageKind::XcallMessage;
        // Only the other network may send here; never a message claiming the local network.
        let refusal = match BtpAddress::parse(&from) {
            Some(source) if source.net == self.remote_net && source.net != self.local_net => {
                if self.is_refused_target(&to) {
                    Some(ConnectorError::TargetRefused)
                } else if data.len() > MAX_DATA_SIZE {
                    Some(ConnectorError::DataTooLarge)
                } else if env::block_timestamp() > expires_at {
                    Some(ConnectorError::Expired)
                } else {
                    None
                }
            }
            _ => Some(ConnectorError::InvalidSource),
        };
        if let Some(error) = refusal {
            self.refuse(kind, nsn, to.as_str(), error);
            if two_way {
                self.respond(sn, CODE_FAILURE, error.code().to_string());
            }
            return Ok(0);
        }
        let mut request = Request {
            from,
            to,
            sn,
            two_way,
            data,
            expires_at,
            state: RequestState::Delivered,
            payer: relayer.clone(),
            deposit: 0,
        };
        let cost = storage_cost(record_bytes(&request));
        if deposit < cost {
            return Err(ConnectorError::InsufficientDeposit);
        }
        request.deposit = cost;
        let req_id = self.next_req_id;
        self.next_req_id += 1;
        self.accept(kind, nsn);
        XcallEvent::CallMessage {
            from: request.from.clone(),
            to: request.to.to_string(),
            sn: U64(sn),
            req_id: U64(req_id),
        }
        .emit();
        self.requests.insert(req_id, request);
        Ok(cost)
    }

    /// A proven response: accepted only for a two-way message this connector sent (to the
    /// network the response comes from) that still awaits it.
    pub(crate) fn deliver_xcall_response(
        &mut self,
        nsn: u64,
        sn: u64,
        code: i32,
        msg: String,
    ) -> Result<u128, ConnectorError> {
        let kind = MessageKind::XcallResponse;
        let expected = self.pending.get(&sn).is_some_and(|p| {
            p.state == PendingState::AwaitingResponse
                && BtpAddress::parse(&p.to).is_some_and(|a| a.net == self.remote_net)
        });
        if !expected {
            self.refuse(kind, nsn, "", ConnectorError::UnexpectedResponse);
            return Ok(0);
        }
        self.accept(kind, nsn);
        XcallEvent::ResponseMessage {
            sn: U64(sn),
            code,
            msg,
        }
        .emit();
        if code == CODE_SUCCESS {
            self.clear_pending(sn, FINAL_OK);
        } else {
            if let Some(pending) = self.pending.get_mut(&sn) {
                pending.state = PendingState::RollbackEnabled;
            }
            XcallEvent::RollbackMessage { sn: U64(sn) }.emit();
        }
        Ok(0)
    }
}
