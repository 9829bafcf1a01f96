//! The connector (`contracts/connector`) as dapps and relayers call it. The full method list,
//! with encodings, is in `contracts/connector/README.md`.

use near_sdk::json_types::{Base64VecU8, U128, U64};
use near_sdk::serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use near_sdk::{ext_contract, AccountId, Gas};
use xsc_core::LightClientExecutionProof;

/// A yoctoNEAR amount that accepts a JSON number (Calimero dapps pass `Balance` as a number) or
/// a decimal string (NEAR's convention), and writes a string.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct BalanceArg(pub u128);

impl Serialize for BalanceArg {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for BalanceArg {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = BalanceArg;
            fn expecting(&self, f: &mut core::fmt::Formatter) -> core::fmt::Result {
                f.write_str("a non-negative integer or a decimal string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<BalanceArg, E> {
                Ok(BalanceArg(v.into()))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<BalanceArg, E> {
                Ok(BalanceArg(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<BalanceArg, E> {
                u128::try_from(v)
                    .map(BalanceArg)
                    .map_err(|_| E::custom("negative amount"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BalanceArg, E> {
                v.parse().map(BalanceArg).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The connector. Deliveries take borsh [`delivery_args`]; everything else is JSON.
#[allow(dead_code)]
#[ext_contract(ext_xsc_connector)]
pub trait XscConnector {
    // --- Calimero API (wire-compatible) ---
    /// Logs `CALIMERO_EVENT_CROSS_CALL` and returns the request id. Payable only for the
    /// connector's optional Calimero fee (`get_cross_call_fee`, 0 by default: callers that attach
    /// nothing keep working); any surplus is refunded.
    #[payable]
    fn cross_call(
        &mut self,
        destination_contract_id: AccountId,
        destination_contract_method: String,
        destination_contract_args: String,
        destination_gas: Gas,
        destination_deposit: BalanceArg,
        source_callback_method: String,
    ) -> U64;
    /// Delivers a proven `cross_call` (borsh `(proof, height)`).
    #[payable]
    fn cross_call_execute(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    );
    /// Delivers a proven Calimero response (borsh `(proof, height)`).
    #[payable]
    fn cross_call_receive_response(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    );

    // --- xCall API (IIP-52) ---
    /// Payable: at least `get_fee(net, rollback.is_some(), data.len())` plus, for a two-way
    /// message, the storage deposit of the rollback data; the surplus is refunded (to
    /// `refund_to`, default the caller). `handler_gas`: the least gas `handle_call_message`
    /// gets on the destination and on rollback (default and bounds: the connector README).
    /// Returns the serial number.
    #[payable]
    fn send_call_message(
        &mut self,
        to: String,
        data: Base64VecU8,
        rollback: Option<Base64VecU8>,
        handler_gas: Option<Gas>,
        refund_to: Option<AccountId>,
    ) -> U64;
    fn execute_call(&mut self, req_id: U64);
    fn execute_rollback(&mut self, sn: U64);
    /// IIP-52 `getFee`, plus the destination storage of `data_len` bytes of data (default: the
    /// largest message, so that a caller who does not know the length is never short).
    fn get_fee(&self, net: String, rollback: bool, data_len: Option<u32>) -> U128;
    /// Delivers a proven xCall message (borsh `(proof, height)`). No deposit: the connector
    /// stakes the request's storage itself (the sender paid for it in its fee).
    #[payable]
    fn xcall_receive_message(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    );
    /// Delivers a proven xCall response (borsh `(proof, height)`).
    #[payable]
    fn xcall_receive_response(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    );
    /// The account inbound Calimero calls come from (`contracts/calimero-executor`).
    fn calimero_executor(&self) -> AccountId;
}

/// The Calimero executor (`contracts/calimero-executor`): the unprivileged account inbound
/// Calimero calls are made from. Only its connector may call it. Borsh arguments; the call
/// returns the destination's promise, so the caller's callback receives the destination's result.
#[allow(dead_code)]
#[ext_contract(ext_calimero_executor)]
pub trait CalimeroExecutor {
    fn execute(
        &self,
        #[serializer(borsh)] destination: AccountId,
        #[serializer(borsh)] method: String,
        #[serializer(borsh)] args: Vec<u8>,
        #[serializer(borsh)] gas: u64,
    );
    /// The connector it obeys.
    fn connector(&self) -> AccountId;
}

/// The arguments of every delivery method: borsh `(LightClientExecutionProof, u64)`, where
/// `height` is the height of a block the receiving side's light client stores and `proof` is the
/// RPC's `EXPERIMENTAL_light_client_proof` result for that block (`light_client_head` = its
/// hash) converted with `xsc_core`'s serde types.
pub fn delivery_args(proof: &LightClientExecutionProof, height: u64) -> Vec<u8> {
    borsh::to_vec(&(proof, height)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_arg_accepts_numbers_and_strings() {
        let n: BalanceArg = serde_json::from_str("0").unwrap();
        assert_eq!(n, BalanceArg(0));
        let s: BalanceArg = serde_json::from_str("\"1000000000000000000000000\"").unwrap();
        assert_eq!(s, BalanceArg(10u128.pow(24)));
        assert!(serde_json::from_str::<BalanceArg>("-1").is_err());
        assert!(serde_json::from_str::<BalanceArg>("\"x\"").is_err());
        assert_eq!(serde_json::to_string(&BalanceArg(5)).unwrap(), "\"5\"");
    }
}
