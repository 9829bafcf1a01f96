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
    /// Logs `CALIMERO_EVENT_CROSS_CALL` and returns the request id. Not payable.
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
    /// Payable: at least `get_fee(net, rollback.is_some())` plus, for a two-way message, the
    /// storage deposit of the rollback data; the surplus is refunded. Returns the serial number.
    #[payable]
    fn send_call_message(
        &mut self,
        to: String,
        data: Base64VecU8,
        rollback: Option<Base64VecU8>,
    ) -> U64;
    fn execute_call(&mut self, req_id: U64);
    fn execute_rollback(&mut self, sn: U64);
    fn get_fee(&self, net: String, rollback: bool) -> U128;
    /// Delivers a proven xCall message (borsh `(proof, height)`); the attached deposit pays for
    /// storing the request until it is executed (surplus refunded at once, the rest when the
    /// request is cleared).
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
