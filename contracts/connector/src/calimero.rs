//! The Calimero API, wire-compatible with Calimero's cross-shard call connector:
//!
//! 1. chain A: a dapp calls `cross_call(…)`; the connector logs `CALIMERO_EVENT_CROSS_CALL:…`
//!    exactly as Calimero does, then a `cross_call` transport event with the request id and the
//!    sequence number (what Calimero's line cannot carry), and returns the request id;
//! 2. chain B: `cross_call_execute(proof, height)` calls the destination with the requested gas,
//!    then `on_cross_call_done` logs `CALIMERO_EVENT_CROSS_RESPONSE:…` with the result (or
//!    `FAILED!`) and a `cross_call_response` transport event with the request id;
//! 3. chain A: `cross_call_receive_response(proof, height)` calls the dapp's
//!    `source_callback_method` with `{"response", "calimero_predecessor_id", "request_id"}`.

use crate::delivery::remaining_gas;
use crate::events::ConnectorEvent;
use crate::{
    is_method_name, Connector, ConnectorError, ConnectorExt, GAS_CALLBACK_RESERVE,
    GAS_CROSS_CALL_DONE, GAS_SOURCE_CALLBACK, MAX_CROSS_CALL_ARGS, MAX_DESTINATION_GAS,
    MAX_RESULT_BYTES,
};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::U64;
use near_sdk::{env, near, require, AccountId, Gas, NearToken, Promise};
use xsc_interfaces::calimero::{CrossCallEvent, CrossResponseEvent};
use xsc_interfaces::{BalanceArg, CalimeroCallback, CalimeroMsg, MessageKind, TransportEvent};

#[near]
impl Connector {
    /// Call `destination_contract_method` of `destination_contract_id` on the other chain with
    /// `destination_contract_args` (JSON text, at most 4096 bytes) and `destination_gas` (at most
    /// 200 Tgas); `destination_deposit` must be 0. When the result comes back, the connector
    /// calls `source_callback_method` of the caller (none if empty) with
    /// `{"response": null | [bytes], "calimero_predecessor_id": <destination>, "request_id": <id>}`.
    /// Returns the request id. Not payable; the caller must be allowed.
    #[pause]
    pub fn cross_call(
        &mut self,
        destination_contract_id: AccountId,
        destination_contract_method: String,
        destination_contract_args: String,
        destination_gas: Gas,
        destination_deposit: BalanceArg,
        source_callback_method: String,
    ) -> U64 {
        let locker = self.require_locker();
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
            destination_contract_args.len() <= MAX_CROSS_CALL_ARGS,
            ConnectorError::ArgsTooLarge.as_str()
        );
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

        let request_id = self.next_request_id;
        self.next_request_id += 1;
        let nsn = self.take_nsn();
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

    /// After the destination call of a delivered `cross_call`: log the response for the other
    /// chain. Borsh arguments.
    #[private]
    pub fn on_cross_call_done(
        &mut self,
        #[serializer(borsh)] request_id: u64,
        #[serializer(borsh)] initiator: String,
        #[serializer(borsh)] callback: String,
        #[serializer(borsh)] destination: AccountId,
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
        self.emit_cross_response(request_id, initiator, callback, result, destination.into());
    }
}

impl Connector {
    /// Log `CALIMERO_EVENT_CROSS_RESPONSE` and its transport event, adjacent.
    fn emit_cross_response(
        &mut self,
        request_id: u64,
        source_contract: String,
        source_contract_method: String,
        result: Option<Vec<u8>>,
        destination_contract: String,
    ) {
        let locker = self.require_locker();
        let nsn = self.take_nsn();
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

    /// Whether a proven call may go ahead, and to whom.
    fn check_cross_call(&self, call: &CrossCallEvent) -> Result<AccountId, ConnectorError> {
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
        Ok(destination)
    }

    /// A proven `cross_call`: call the destination, or refuse and answer `FAILED!`.
    /// `Ok(deposit used)` when consumed, `Err` when nothing changed.
    pub(crate) fn deliver_cross_call(
        &mut self,
        nsn: u64,
        request_id: u64,
        call: CrossCallEvent,
    ) -> Result<u128, ConnectorError> {
        let destination = match self.check_cross_call(&call) {
            Ok(destination) => destination,
            Err(e) => {
                self.refuse(
                    MessageKind::CrossCall,
                    nsn,
                    &call.destination_contract_id,
                    e,
                );
                self.emit_cross_response(
                    request_id,
                    call.initiator,
                    call.source_callback_method,
                    None,
                    call.destination_contract_id,
                );
                return Ok(0);
            }
        };
        let gas = Gas::from_gas(call.destination_gas);
        let needed = gas
            .saturating_add(GAS_CROSS_CALL_DONE)
            .saturating_add(GAS_CALLBACK_RESERVE);
        if remaining_gas() < needed {
            return Err(ConnectorError::NotEnoughGas);
        }
        self.accept(MessageKind::CrossCall, nsn);
        Promise::new(destination.clone())
            .function_call(
                call.destination_contract_method,
                call.destination_contract_args,
                NearToken::from_yoctonear(0),
                gas,
            )
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_CROSS_CALL_DONE)
                    .with_unused_gas_weight(0)
                    .on_cross_call_done(
                        request_id,
                        call.initiator,
                        call.source_callback_method,
                        destination,
                    ),
            );
        Ok(0)
    }

    /// A proven response: call the dapp's source callback.
    pub(crate) fn deliver_cross_response(
        &mut self,
        nsn: u64,
        request_id: u64,
        response: CrossResponseEvent,
    ) -> Result<u128, ConnectorError> {
        let kind = MessageKind::CrossCallResponse;
        let source = match response.source_contract.parse::<AccountId>() {
            Ok(source) if !self.is_refused_target(&source) => source,
            Ok(_) => {
                self.refuse(
                    kind,
                    nsn,
                    &response.source_contract,
                    ConnectorError::TargetRefused,
                );
                return Ok(0);
            }
            Err(_) => {
                self.refuse(
                    kind,
                    nsn,
                    &response.source_contract,
                    ConnectorError::InvalidDestination,
                );
                return Ok(0);
            }
        };
        let Ok(destination) = response.destination_contract.parse::<AccountId>() else {
            self.refuse(kind, nsn, source.as_str(), ConnectorError::MalformedMessage);
            return Ok(0);
        };
        let method = response.source_contract_method;
        if method.is_empty() {
            // The dapp asked for no callback.
            self.accept(kind, nsn);
            return Ok(0);
        }
        if !is_method_name(&method) {
            self.refuse(
                kind,
                nsn,
                source.as_str(),
                ConnectorError::InvalidMethodName,
            );
            return Ok(0);
        }
        if remaining_gas() < GAS_SOURCE_CALLBACK.saturating_add(GAS_CALLBACK_RESERVE) {
            return Err(ConnectorError::NotEnoughGas);
        }
        self.accept(kind, nsn);
        let args = near_sdk::serde_json::to_vec(&CalimeroCallback {
            response: response.result,
            calimero_predecessor_id: destination,
            request_id: U64(request_id),
        })
        .unwrap_or_default();
        Promise::new(source).function_call(
            method,
            args,
            NearToken::from_yoctonear(0),
            GAS_SOURCE_CALLBACK,
        );
        Ok(0)
    }
}
