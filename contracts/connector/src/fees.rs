//! Fees. xCall (IIP-52 "Fees Handling"): `get_fee(net, rollback, data_len)` = protocol fee +
//! relay fee of that network (+ the relay fee of the response for a two-way message) + the
//! destination's storage of the request (`data_len` bytes of data, default the largest message,
//! at `storage_byte_price`): whoever sends a message pays for what it stores on the other chain,
//! not the relayer. Calimero: `cross_call` costs `cross_call_fee` (0 by default, so that
//! Calimero dapps, which attach nothing, keep working). Fees accrue in the
//! contract; protocol fees go to the protocol fee handler and relay fees to the relay fee
//! collector when claimed (anyone may trigger a claim; the amount only ever goes to the
//! configured account). Setting a handler sends it what accrued so far, as IIP-52 specifies;
//! later fees are sent by `claim_protocol_fees` rather than one transfer per message, which keeps
//! `send_call_message` lean. A failed transfer is credited back.

use crate::events::ConnectorEvent;
use crate::records::request_bytes_bound;
use crate::{Connector, ConnectorError, ConnectorExt, Role, GAS_ON_FEES_CLAIMED};
use near_plugins::{access_control_any, AccessControllable};
use near_sdk::json_types::U128;
use near_sdk::{env, near, require, AccountId, NearToken, Promise};
use xsc_interfaces::xcall::MAX_DATA_SIZE;

#[near(serializers = [borsh, json])]
#[serde(rename_all = "snake_case")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeKind {
    Protocol,
    Relay,
}

impl Connector {
    /// `(protocol fee, relay fee)` of a message with `data_len` bytes of data to the other
    /// network; the relay part includes the destination storage of the request.
    pub(crate) fn fee_parts(&self, two_way: bool, data_len: u64) -> (u128, u128) {
        let mut relay = self.fees.relay_fee + self.destination_storage_fee(data_len);
        if two_way {
            relay += self.fees.relay_rollback_fee;
        }
        (self.fees.protocol_fee, relay)
    }

    /// What the destination connector stakes for a request of `data_len` bytes, priced here.
    pub(crate) fn destination_storage_fee(&self, data_len: u64) -> u128 {
        // On the destination, `from` is `btp://<this network>/<sender>`.
        let bytes = request_bytes_bound(data_len, self.local_net.len() as u64);
        u128::from(bytes).saturating_mul(self.fees.storage_byte_price)
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
    /// IIP-52 `getFee`: what `send_call_message` to `net` costs besides the storage of a
    /// two-way message's rollback data here, for `data_len` bytes of data (default: the largest,
    /// 2048, so that a caller who does not pass it is never short; the surplus is refunded).
    pub fn get_fee(&self, net: String, rollback: bool, data_len: Option<u32>) -> U128 {
        self.require_remote_net(&net);
        let data_len = data_len.map_or(MAX_DATA_SIZE, |l| l as usize);
        require!(
            data_len <= MAX_DATA_SIZE,
            ConnectorError::DataTooLarge.as_str()
        );
        let (protocol, relay) = self.fee_parts(rollback, data_len as u64);
        U128(protocol + relay)
    }

    /// What `cross_call` costs (0 by default).
    pub fn get_cross_call_fee(&self) -> U128 {
        U128(self.fees.cross_call_fee)
    }

    /// The Calimero fee (`FeeManager` or `Dao`); it accrues with the relay fees. With 0 (the
    /// default) Calimero dapps need no change; with more, they must attach it.
    #[access_control_any(roles(Role::Dao, Role::FeeManager))]
    pub fn set_cross_call_fee(&mut self, fee: U128) {
        self.fees.cross_call_fee = fee.0;
        self.config_changed("cross_call_fee", fee.0.to_string());
    }

    /// Price per byte of the other chain's storage, for the storage component of `get_fee`
    /// (`FeeManager` or `Dao`; default: this chain's price).
    #[access_control_any(roles(Role::Dao, Role::FeeManager))]
    pub fn set_storage_byte_price(&mut self, price: U128) {
        self.fees.storage_byte_price = price.0;
        self.config_changed("storage_byte_price", price.0.to_string());
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
