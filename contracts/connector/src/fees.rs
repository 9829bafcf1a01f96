//! xCall fees (IIP-52 "Fees Handling"): `get_fee(net, rollback)` = protocol fee + relay fee of
//! that network (+ the relay fee of the response for a two-way message). Fees accrue in the
//! contract; protocol fees go to the protocol fee handler and relay fees to the relay fee
//! collector when claimed (anyone may trigger a claim; the amount only ever goes to the
//! configured account). Setting a handler sends it what accrued so far, as IIP-52 specifies;
//! later fees are sent by `claim_protocol_fees` rather than one transfer per message, which keeps
//! `send_call_message` lean. A failed transfer is credited back.

use crate::events::ConnectorEvent;
use crate::{Connector, ConnectorError, ConnectorExt, Role, GAS_ON_FEES_CLAIMED};
use near_plugins::{access_control_any, AccessControllable};
use near_sdk::json_types::U128;
use near_sdk::{env, near, require, AccountId, NearToken, Promise};

#[near(serializers = [borsh, json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeKind {
    Protocol,
    Relay,
}

impl Connector {
    /// `(protocol fee, relay fee)` of a message to the other network.
    pub(crate) fn fee_parts(&self, two_way: bool) -> (u128, u128) {
        let relay = if two_way {
            self.fees.relay_fee + self.fees.relay_rollback_fee
        } else {
            self.fees.relay_fee
        };
        (self.fees.protocol_fee, relay)
    }

    fn require_remote_net(&self, net: &str) {
        require!(
            net == self.remote_net,
            ConnectorError::UnknownNetwork.as_str()
        );
    }

    fn pay_out(&mut self, kind: FeeKind, to: AccountId, amount: u128) -> Promise {
        match kind {
            FeeKind::Protocol => self.fees.accrued_protocol = 0,
            FeeKind::Relay => self.fees.accrued_relay = 0,
        }
        ConnectorEvent::FeesClaimed {
            kind: match kind {
                FeeKind::Protocol => "protocol",
                FeeKind::Relay => "relay",
            }
            .to_string(),
            to: to.clone(),
            amount: U128(amount),
        }
        .emit();
        Promise::new(to)
            .transfer(NearToken::from_yoctonear(amount))
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_ON_FEES_CLAIMED)
                    .with_unused_gas_weight(0)
                    .on_fees_claimed(kind, U128(amount)),
            )
    }
}

#[near]
impl Connector {
    /// IIP-52 `getFee`: what `send_call_message` to `net` costs besides storage.
    pub fn get_fee(&self, net: String, rollback: bool) -> U128 {
        self.require_remote_net(&net);
        let (protocol, relay) = self.fee_parts(rollback);
        U128(protocol + relay)
    }

    /// IIP-52 `setProtocolFee` (`FeeManager` or `Dao`).
    #[access_control_any(roles(Role::Dao, Role::FeeManager))]
    pub fn set_protocol_fee(&mut self, value: U128) {
        self.fees.protocol_fee = value.0;
        self.config_changed("protocol_fee", value.0.to_string());
    }

    /// IIP-52 `getProtocolFee`.
    pub fn get_protocol_fee(&self) -> U128 {
        U128(self.fees.protocol_fee)
    }

    /// IIP-52 `setProtocolFeeHandler` (`FeeManager` or `Dao`): `None` accrues fees in the
    /// contract; an account receives what accrued so far at once and later fees on claim.
    #[access_control_any(roles(Role::Dao, Role::FeeManager))]
    pub fn set_protocol_fee_handler(&mut self, handler: Option<AccountId>) -> Option<Promise> {
        self.fees.protocol_fee_handler = handler.clone();
        self.config_changed(
            "protocol_fee_handler",
            handler.as_ref().map_or(String::new(), |h| h.to_string()),
        );
        let amount = self.fees.accrued_protocol;
        match handler {
            Some(handler) if amount > 0 => Some(self.pay_out(FeeKind::Protocol, handler, amount)),
            _ => None,
        }
    }

    /// IIP-52 `getProtocolFeeHandler`.
    pub fn get_protocol_fee_handler(&self) -> Option<AccountId> {
        self.fees.protocol_fee_handler.clone()
    }

    /// The relay fee of a message to `net` and the extra of a two-way message
    /// (`FeeManager` or `Dao`).
    #[access_control_any(roles(Role::Dao, Role::FeeManager))]
    pub fn set_relay_fee(&mut self, net: String, fee: U128, rollback_fee: U128) {
        self.require_remote_net(&net);
        self.fees.relay_fee = fee.0;
        self.fees.relay_rollback_fee = rollback_fee.0;
        self.config_changed("relay_fee", format!("{}/{}", fee.0, rollback_fee.0));
    }

    /// The account relay fees go to (`FeeManager` or `Dao`).
    #[access_control_any(roles(Role::Dao, Role::FeeManager))]
    pub fn set_relay_fee_collector(&mut self, collector: Option<AccountId>) {
        self.config_changed(
            "relay_fee_collector",
            collector.as_ref().map_or(String::new(), |c| c.to_string()),
        );
        self.fees.relay_fee_collector = collector;
    }

    /// Send the accrued protocol fees to the handler. Anyone may call.
    pub fn claim_protocol_fees(&mut self) -> Promise {
        let to = self
            .fees
            .protocol_fee_handler
            .clone()
            .unwrap_or_else(|| ConnectorError::NoFeeHandler.panic());
        let amount = self.fees.accrued_protocol;
        require!(amount > 0, ConnectorError::NothingToClaim.as_str());
        self.pay_out(FeeKind::Protocol, to, amount)
    }

    /// Send the accrued relay fees to the collector. Anyone may call.
    pub fn claim_relay_fees(&mut self) -> Promise {
        let to = self
            .fees
            .relay_fee_collector
            .clone()
            .unwrap_or_else(|| ConnectorError::NoFeeCollector.panic());
        let amount = self.fees.accrued_relay;
        require!(amount > 0, ConnectorError::NothingToClaim.as_str());
        self.pay_out(FeeKind::Relay, to, amount)
    }

    /// A failed fee transfer credits the amount back.
    #[private]
    pub fn on_fees_claimed(
        &mut self,
        #[serializer(borsh)] kind: FeeKind,
        #[serializer(borsh)] amount: U128,
    ) {
        if !crate::promise_succeeded() {
            match kind {
                FeeKind::Protocol => self.fees.accrued_protocol += amount.0,
                FeeKind::Relay => self.fees.accrued_relay += amount.0,
            }
        }
    }
}
