//! Demo dapp of the Calimero API. `greet_remote(greeter, name)` asks the connector to call
//! `greeter.greet({"name": …})` on the other chain; `cross_call` returns a request id, recorded
//! as pending. When the response is proven back, the connector calls `on_greeting` with
//! Calimero's JSON plus the request id, and the result is recorded under that id.
//!
//! The callback trusts only its connector (`predecessor == connector`: the connector calls a
//! Calimero callback only with the response to a request this dapp sent), and records a result
//! only for a request it is still waiting for, once.

use near_sdk::json_types::U64;
use near_sdk::store::LookupMap;
use near_sdk::{env, near, require, AccountId, Gas, PanicOnDefault, Promise, PromiseError};
use xsc_interfaces::{ext_xsc_connector, BalanceArg};

/// Attached to the connector's `cross_call` (it burns about 2 Tgas).
pub const GAS_CROSS_CALL: Gas = Gas::from_tgas(10);
/// Attached to `on_cross_call_sent`.
pub const GAS_ON_SENT: Gas = Gas::from_tgas(5);
/// What the greeter gets on the other chain.
pub const GAS_GREET: Gas = Gas::from_tgas(10);

/// The outcome of one cross-chain greeting.
#[near(serializers = [borsh, json])]
#[serde(rename_all = "snake_case", tag = "state")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallResult {
    /// Sent; no response yet.
    Pending,
    /// The greeter's return value (its JSON string decoded).
    Ok { value: String },
    /// The call failed on the other chain (or was refused there).
    Failed,
}

#[near(contract_state)]
#[derive(PanicOnDefault)]
pub struct CrossCallDemo {
    connector: AccountId,
    results: LookupMap<u64, CallResult>,
}

#[near]
impl CrossCallDemo {
    #[init]
    pub fn new(connector: AccountId) -> Self {
        Self {
            connector,
            results: LookupMap::new(b"r"),
        }
    }

    /// Greet `name` through `greeter` on the other chain. Resolves to the request id.
    pub fn greet_remote(&mut self, greeter: AccountId, name: String) -> Promise {
        let args = near_sdk::serde_json::json!({ "name": name }).to_string();
        ext_xsc_connector::ext(self.connector.clone())
            .with_static_gas(GAS_CROSS_CALL)
            .with_unused_gas_weight(0)
            .cross_call(
                greeter,
                "greet".into(),
                args,
                GAS_GREET,
                BalanceArg(0),
                "on_greeting".into(),
            )
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_ON_SENT)
                    .on_cross_call_sent(),
            )
    }

    /// Record the request id `cross_call` returned.
    #[private]
    pub fn on_cross_call_sent(
        &mut self,
        #[callback_result] request_id: Result<U64, PromiseError>,
    ) -> Option<U64> {
        let id = request_id.ok()?;
        self.results.entry(id.0).or_insert(CallResult::Pending);
        Some(id)
    }

    /// The Calimero source callback: only the connector may call it, once per pending request.
    pub fn on_greeting(
        &mut self,
        response: Option<Vec<u8>>,
        calimero_predecessor_id: AccountId,
        request_id: U64,
    ) {
        require!(
            env::predecessor_account_id() == self.connector,
            "ERR_NOT_CONNECTOR: only the connector delivers responses"
        );
        require!(
            self.results.get(&request_id.0) == Some(&CallResult::Pending),
            "ERR_NOT_PENDING: no greeting awaits this request id"
        );
        let result = match response {
            Some(bytes) => CallResult::Ok {
                value: near_sdk::serde_json::from_slice::<String>(&bytes)
                    .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned()),
            },
            None => CallResult::Failed,
        };
        env::log_str(&format!(
            "greeting {} from {calimero_predecessor_id}: {result:?}",
            request_id.0
        ));
        self.results.insert(request_id.0, result);
    }

    /// The result recorded for a request id.
    pub fn get_result(&self, request_id: U64) -> Option<CallResult> {
        self.results.get(&request_id.0).cloned()
    }

    pub fn connector(&self) -> AccountId {
        self.connector.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_sdk::mock::MockAction;
    use near_sdk::test_utils::{get_created_receipts, VMContextBuilder};
    use near_sdk::testing_env;

    const CONNECTOR: &str = "connector.a.near";

    fn call_as(who: &str) {
        let mut ctx = VMContextBuilder::new();
        ctx.current_account_id("demo.a.near".parse().unwrap())
            .predecessor_account_id(who.parse().unwrap());
        testing_env!(ctx.build());
    }

    fn demo() -> CrossCallDemo {
        call_as("owner.a.near");
        CrossCallDemo::new(CONNECTOR.parse().unwrap())
    }

    #[test]
    fn greet_remote_calls_cross_call_with_calimeros_arguments() {
        let mut d = demo();
        call_as("user.a.near");
        drop(d.greet_remote("greeter.b.near".parse().unwrap(), "ada".into()));
        let receipts = get_created_receipts();
        let (receiver, args) = receipts
            .iter()
            .find_map(|r| {
                r.actions.iter().find_map(|a| match a {
                    MockAction::FunctionCallWeight {
                        method_name, args, ..
                    } if method_name == b"cross_call" => Some((r.receiver_id.clone(), args)),
                    _ => None,
                })
            })
            .unwrap();
        assert_eq!(receiver.as_str(), CONNECTOR);
        let json: serde_json::Value = serde_json::from_slice(args).unwrap();
        assert_eq!(json["destination_contract_id"], "greeter.b.near");
        assert_eq!(json["destination_contract_method"], "greet");
        assert_eq!(json["destination_contract_args"], r#"{"name":"ada"}"#);
        assert_eq!(json["destination_gas"], "10000000000000");
        assert_eq!(json["destination_deposit"], "0");
        assert_eq!(json["source_callback_method"], "on_greeting");
    }

    #[test]
    fn results_are_recorded_per_request_id() {
        let mut d = demo();
        call_as("demo.a.near");
        assert_eq!(d.on_cross_call_sent(Ok(U64(7))), Some(U64(7)));
        d.on_cross_call_sent(Ok(U64(8)));
        assert_eq!(d.get_result(U64(7)), Some(CallResult::Pending));
        call_as(CONNECTOR);
        d.on_greeting(
            Some(br#""Hello, ada!""#.to_vec()),
            "greeter.b.near".parse().unwrap(),
            U64(8),
        );
        d.on_greeting(None, "greeter.b.near".parse().unwrap(), U64(7));
        // Answered: a second answer, or one for a request never sent, is refused.
        for id in [7, 8, 9] {
            call_as(CONNECTOR);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                d.on_greeting(
                    Some(b"1".to_vec()),
                    "greeter.b.near".parse().unwrap(),
                    U64(id),
                )
            }));
            assert!(r.is_err(), "{id}");
        }
        assert_eq!(
            d.get_result(U64(8)),
            Some(CallResult::Ok {
                value: "Hello, ada!".into()
            })
        );
        assert_eq!(d.get_result(U64(7)), Some(CallResult::Failed));
        assert_eq!(d.get_result(U64(9)), None);
        // A failed cross_call records nothing.
        call_as("demo.a.near");
        assert_eq!(d.on_cross_call_sent(Err(PromiseError::Failed)), None);
    }

    #[test]
    #[should_panic(expected = "ERR_NOT_CONNECTOR")]
    fn only_the_connector_delivers_responses() {
        let mut d = demo();
        call_as("mallory.a.near");
        d.on_greeting(None, "greeter.b.near".parse().unwrap(), U64(1));
    }

    #[test]
    fn result_json_is_tagged() {
        let v = serde_json::to_value(CallResult::Ok { value: "x".into() }).unwrap();
        assert_eq!(v, serde_json::json!({"state": "ok", "value": "x"}));
    }
}
