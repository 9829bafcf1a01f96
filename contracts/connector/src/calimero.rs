//! The Calimero API, wire-compatible with Calimero's cross-shard call connector:
//!
//! 1. chain A: a dapp calls `cross_call(…)`; the connector records the request (id → channel,
//!    initiator, callback), logs `CALIMERO_EVENT_CROSS_CALL:…` exactly as Calimero does, then a
//!    `cross_call` transport event with the request id and the sequence number (what Calimero's
//!    line cannot carry), and returns the request id;
//! 2. chain B: the proven call is made **by the Calimero executor**, never by the connector:
//!    `executor.execute(destination, method, args, gas)`, with the remote initiator written into
//!    JSON-object arguments as `calimero_initiator_id`; `on_cross_call_finished` then logs
//!    `CALIMERO_EVENT_CROSS_RESPONSE:…` with the result (or `FAILED!`) and a
//!    `cross_call_response` transport event, on the channel the call came from;
//! 3. chain A: the proven response is matched against the record (same channel, initiator and
//!    callback; once) and the dapp's `source_callback_method` gets
//!    `{"response", "calimero_predecessor_id", "request_id"}`.

use crate::delivery::remaining_gas;
use crate::events::ConnectorEvent;
use crate::records::{record_bytes, storage_cost, CrossCallRecord};
use crate::{
    can_stake, is_method_name, ChannelStatus, Connector, ConnectorError, ConnectorExt,
    GAS_CALLBACK_RESERVE, GAS_CROSS_CALL_DONE, GAS_EXECUTOR, GAS_SOURCE_CALLBACK,
    MAX_CROSS_CALL_ARGS, MAX_DESTINATION_GAS, MAX_RESULT_BYTES, RESERVED_CALLBACK,
};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::U64;
use near_sdk::{env, near, require, AccountId, Gas, NearToken, Promise};
use xsc_interfaces::calimero::{check_args, with_initiator, ArgsError};
use xsc_interfaces::calimero::{CrossCallEvent, CrossResponseEvent};
use xsc_interfaces::{
    ext_calimero_executor, BalanceArg, CalimeroCallback, CalimeroMsg, MessageKind, TransportEvent,
};

impl From<ArgsError> for ConnectorError {
    fn from(e: ArgsError) -> Self {
        match e {
            ArgsError::ReservedKey => ConnectorError::ReservedArgs,
            ArgsError::Array => ConnectorError::ArgsArray,
        }
    }
}

#[near]
impl Connector {
    /// Call `destination_contract_method` of `destination_contract_id` on the other chain with
    /// `destination_contract_args` (JSON text, at most 4096 bytes, not an array, without the key
    /// `calimero_initiator_id`) and `destination_gas` (at most 200 Tgas); `destination_deposit`
    /// must be 0. The call is made there by that connector's Calimero executor, and a JSON-object
    /// `destination_contract_args` arrives with `"calimero_initiator_id": "<caller>"` added. When
    /// the result comes back, the connector calls `source_callback_method` of the caller (none if
    /// empty; never `handle_call_message`) with
    /// `{"response": null | [bytes], "calimero_predecessor_id": <destination>, "request_id": <id>}`.
    /// Returns the request id. Attach `get_cross_call_fee()` (0 by default); the surplus is
    /// refunded. The caller must be allowed.
    #[pause]
    #[payable]
    pub fn cross_call(
        &mut self,
        destination_contract_id: AccountId,
        destination_contract_method: String,
        destination_contract_args: String,
        destination_gas: Gas,
        destination_deposit: BalanceArg,
        source_callback_method: String,
    ) -> U64 {
        let locker = self.require_current().locker.clone();
        let initiator = env::predecessor_account_id();
        self.require_allowed_sender(&initiator);
        // An AccountId never holds ':'; method names are checked to hold none either.
        require!(
            is_method_name(&destination_contract_method),
            ConnectorError::InvalidMethodName.as_str()
        );
        require!(
            source_callback_method.is_empty() || is_method_name(&source_callback_method),
            ConnectorError::InvalidMethodName.as_str()
        );
        require!(
            source_callback_method != RESERVED_CALLBACK,
            ConnectorError::ReservedMethod.as_str()
        );
        require!(
            destination_contract_args.len() <= MAX_CROSS_CALL_ARGS,
            ConnectorError::ArgsTooLarge.as_str()
        );
        if let Err(e) = check_args(destination_contract_args.as_bytes()) {
            ConnectorError::from(e).panic();
        }
        require!(
            destination_gas > Gas::from_gas(0) && destination_gas <= MAX_DESTINATION_GAS,
            ConnectorError::DestinationGas.as_str()
        );
        require!(
            destination_deposit.0 == 0,
            ConnectorError::DestinationDeposit.as_str()
        );
        // The other connector would refuse a call into itself; say so now.
        require!(
            destination_contract_id != locker,
            ConnectorError::TargetRefused.as_str()
        );
        let fee = self.fees.cross_call_fee;
        let attached = env::attached_deposit().as_yoctonear();
        if attached < fee {
            ConnectorError::InsufficientFee.panic_with(&fee.to_string());
        }
        self.fees.accrued_relay += fee;
        crate::refund(&initiator, attached - fee);

        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let (channel, locker, nsn) = self.take_current_nsn();
        // A call without callback needs no record: its response calls nothing.
        if !source_callback_method.is_empty() {
            let record = CrossCallRecord {
                channel,
                initiator: initiator.clone(),
                callback: source_callback_method.clone(),
            };
            require!(
                can_stake(record_bytes(&record)),
                ConnectorError::ConnectorBalance.as_str()
            );
            self.cross_calls.insert(request_id, record);
        }
        env::log_str(
            &CrossCallEvent {
                destination_contract_id: destination_contract_id.into(),
                destination_contract_method,
                destination_contract_args: destination_contract_args.into_bytes(),
                destination_gas: destination_gas.as_gas(),
                destination_deposit: 0,
                initiator: initiator.into(),
                source_callback_method,
            }
            .to_log(),
        );
        TransportEvent::CrossCall(CalimeroMsg {
            dst: locker,
            net: self.remote_net.clone(),
            nsn: U64(nsn),
            request_id: U64(request_id),
        })
        .emit();
        U64(request_id)
    }

    /// After the destination call of a delivered `cross_call` (made through the executor): log
    /// the response on the channel the call came from. Borsh arguments.
    #[private]
    pub fn on_cross_call_finished(
        &mut self,
        #[serializer(borsh)] request_id: u64,
        #[serializer(borsh)] initiator: String,
        #[serializer(borsh)] callback: String,
        #[serializer(borsh)] destination: AccountId,
        #[serializer(borsh)] channel: u32,
    ) {
        self.finish_cross_call(request_id, initiator, callback, destination, channel);
    }

    /// The v1 callback, for destination calls in flight across the upgrade from v1: their
    /// channel is the one current at the migration. Borsh arguments.
    #[private]
    pub fn on_cross_call_done(
        &mut self,
        #[serializer(borsh)] request_id: u64,
        #[serializer(borsh)] initiator: String,
        #[serializer(borsh)] callback: String,
        #[serializer(borsh)] destination: AccountId,
    ) {
        let channel = self.legacy.channel;
        self.finish_cross_call(request_id, initiator, callback, destination, channel);
    }

    /// End a Calimero call sent on a channel declared dead: its record is removed and the
    /// dapp's callback gets `"response": null` (the call may or may not have run on the other
    /// chain: the owner declared that its answer will never come). Anyone may call; attach
    /// `GAS_SOURCE_CALLBACK` plus a little.
    pub fn abandon_cross_call(&mut self, request_id: U64) {
        let Some(record) = self.cross_calls.get(&request_id.0) else {
            ConnectorError::UnknownRequest.panic()
        };
        if self.channel_status(record.channel) != ChannelStatus::Dead {
            ConnectorError::ChannelAlive.panic();
        }
        require!(
            remaining_gas() >= GAS_SOURCE_CALLBACK.saturating_add(GAS_CALLBACK_RESERVE),
            ConnectorError::NotEnoughGas.as_str()
        );
        let Some(record) = self.cross_calls.remove(&request_id.0) else {
            ConnectorError::UnknownRequest.panic()
        };
        ConnectorEvent::CrossCallAbandoned {
            request_id,
            channel: record.channel,
        }
        .emit();
        Self::source_callback(
            record.initiator,
            record.callback,
            None,
            env::current_account_id(),
            request_id.0,
        );
    }
}

impl Connector {
    fn finish_cross_call(
        &mut self,
        request_id: u64,
        initiator: String,
        callback: String,
        destination: AccountId,
        channel: u32,
    ) {
        let result = match crate::promise_result_bounded(MAX_RESULT_BYTES) {
            Some(Ok(bytes)) => Some(bytes),
            Some(Err(len)) => {
                ConnectorEvent::ResultTooLong {
                    request_id: U64(request_id),
                    len: U64(len),
                }
                .emit();
                None
            }
            None => None,
        };
        self.emit_cross_response(
            channel,
            request_id,
            initiator,
            callback,
            result,
            destination.into(),
        );
    }

    /// Log `CALIMERO_EVENT_CROSS_RESPONSE` and its transport event, adjacent, on `channel`.
    fn emit_cross_response(
        &mut self,
        channel: u32,
        request_id: u64,
        source_contract: String,
        source_contract_method: String,
        result: Option<Vec<u8>>,
        destination_contract: String,
    ) {
        let Some((locker, nsn)) = self.take_nsn(channel) else {
            ConnectorEvent::ResponseDropped {
                kind: MessageKind::CrossCallResponse,
                channel,
            }
            .emit();
            return;
        };
        env::log_str(
            &CrossResponseEvent {
                source_contract,
                source_contract_method,
                result,
                destination_contract,
            }
            .to_log(),
        );
        TransportEvent::CrossCallResponse(CalimeroMsg {
            dst: locker,
            net: self.remote_net.clone(),
            nsn: U64(nsn),
            request_id: U64(request_id),
        })
        .emit();
    }

    /// Whether a proven call may go ahead: the destination and the arguments it gets.
    fn check_cross_call(
        &self,
        channel: u32,
        call: &CrossCallEvent,
    ) -> Result<(AccountId, Vec<u8>), ConnectorError> {
        if self.channel_status(channel) != ChannelStatus::Active {
            return Err(ConnectorError::ChannelRetired);
        }
        let destination: AccountId = call
            .destination_contract_id
            .parse()
            .map_err(|_| ConnectorError::InvalidDestination)?;
        if self.is_refused_target(&destination) {
            return Err(ConnectorError::TargetRefused);
        }
        if !is_method_name(&call.destination_contract_method) {
            return Err(ConnectorError::InvalidMethodName);
        }
        if call.destination_deposit != 0 {
            return Err(ConnectorError::DestinationDeposit);
        }
        let gas = Gas::from_gas(call.destination_gas);
        if gas == Gas::from_gas(0) || gas > MAX_DESTINATION_GAS {
            return Err(ConnectorError::DestinationGas);
        }
        if call.destination_contract_args.len() > MAX_CROSS_CALL_ARGS {
            return Err(ConnectorError::ArgsTooLarge);
        }
        // The initiator is written into the arguments unescaped: it must be an account id.
        let initiator: AccountId = call
            .initiator
            .parse()
            .map_err(|_| ConnectorError::MalformedMessage)?;
        let args = with_initiator(&call.destination_contract_args, initiator.as_str())?;
        Ok((destination, args))
    }

    /// A proven `cross_call`: have the executor call the destination, or refuse and answer
    /// `FAILED!`. `Err` when nothing changed.
    pub(crate) fn deliver_cross_call(
        &mut self,
        channel: u32,
        nsn: u64,
        request_id: u64,
        call: CrossCallEvent,
    ) -> Result<(), ConnectorError> {
        let (destination, args) = match self.check_cross_call(channel, &call) {
            Ok(checked) => checked,
            Err(e) => {
                self.refuse(
                    channel,
                    MessageKind::CrossCall,
                    nsn,
                    &call.destination_contract_id,
                    e,
                );
                self.emit_cross_response(
                    channel,
                    request_id,
                    call.initiator,
                    call.source_callback_method,
                    None,
                    call.destination_contract_id,
                );
                return Ok(());
            }
        };
        let gas = Gas::from_gas(call.destination_gas);
        let needed = GAS_EXECUTOR
            .saturating_add(gas)
            .saturating_add(GAS_CROSS_CALL_DONE)
            .saturating_add(GAS_CALLBACK_RESERVE);
        if remaining_gas() < needed {
            return Err(ConnectorError::NotEnoughGas);
        }
        self.accept(channel, MessageKind::CrossCall, nsn);
        ext_calimero_executor::ext(self.calimero_executor.clone())
            .with_static_gas(GAS_EXECUTOR.saturating_add(gas))
            .with_unused_gas_weight(0)
            .execute(
                destination.clone(),
                call.destination_contract_method,
                args,
                gas.as_gas(),
            )
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_CROSS_CALL_DONE)
                    .with_unused_gas_weight(0)
                    .on_cross_call_finished(
                        request_id,
                        call.initiator,
                        call.source_callback_method,
                        destination,
                        channel,
                    ),
            );
        Ok(())
    }

    /// A proven response: call the dapp's source callback, if the response answers a request
    /// this connector sent on this channel with this initiator and callback (at most once).
    pub(crate) fn deliver_cross_response(
        &mut self,
        channel: u32,
        nsn: u64,
        request_id: u64,
        response: CrossResponseEvent,
    ) -> Result<(), ConnectorError> {
        let kind = MessageKind::CrossCallResponse;
        let method = response.source_contract_method;
        let record = self.cross_calls.get(&request_id);
        let expected = match record {
            Some(r) => {
                r.channel == channel
                    && r.initiator.as_str() == response.source_contract
                    && r.callback == method
            }
            // Sent without a callback (no record): nothing is called.
            None if method.is_empty() => true,
            // Sent by v1 before the migration, on the channel of that time.
            None => request_id < self.legacy.below_request_id && channel == self.legacy.channel,
        };
        if !expected {
            self.refuse(
                channel,
                kind,
                nsn,
                &response.source_contract,
                ConnectorError::UnexpectedResponse,
            );
            return Ok(());
        }
        if method.is_empty() {
            self.accept(channel, kind, nsn);
            return Ok(());
        }
        let refusal = match response.source_contract.parse::<AccountId>() {
            Ok(source) if self.is_refused_target(&source) => Some(ConnectorError::TargetRefused),
            Ok(_) if !is_method_name(&method) || method == RESERVED_CALLBACK => {
                Some(ConnectorError::InvalidMethodName)
            }
            Ok(_) => None,
            Err(_) => Some(ConnectorError::InvalidDestination),
        };
        let destination = response.destination_contract.parse::<AccountId>();
        let refusal = refusal.or(destination
            .is_err()
            .then_some(ConnectorError::MalformedMessage));
        if let Some(error) = refusal {
            self.cross_calls.remove(&request_id);
            self.refuse(channel, kind, nsn, &response.source_contract, error);
            return Ok(());
        }
        if remaining_gas() < GAS_SOURCE_CALLBACK.saturating_add(GAS_CALLBACK_RESERVE) {
            return Err(ConnectorError::NotEnoughGas);
        }
        self.cross_calls.remove(&request_id);
        self.accept(channel, kind, nsn);
        let (Ok(source), Ok(destination)) = (response.source_contract.parse(), destination) else {
            return Ok(());
        };
        Self::source_callback(source, method, response.result, destination, request_id);
        Ok(())
    }

    /// Call a dapp's Calimero callback with Calimero's JSON and the request id.
    fn source_callback(
        dapp: AccountId,
        method: String,
        response: Option<Vec<u8>>,
        calimero_predecessor_id: AccountId,
        request_id: u64,
    ) {
        let args = near_sdk::serde_json::to_vec(&CalimeroCallback {
            response,
            calimero_predecessor_id,
            request_id: U64(request_id),
        })
        .unwrap_or_default();
        Promise::new(dapp).function_call(
            method,
            args,
            NearToken::from_yoctonear(0),
            GAS_SOURCE_CALLBACK,
        );
    }
}

/// The storage a Calimero record takes at most (an account id of 64 characters, a callback of
/// 256): what a `cross_call` costs the connector when the Calimero fee is 0.
pub fn cross_call_record_bound() -> u128 {
    storage_cost(1 + 8 + 4 + (4 + 64) + (4 + 256) + 40)
}
