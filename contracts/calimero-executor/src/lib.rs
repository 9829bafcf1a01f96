//! # xsc Calimero executor
//!
//! The account a connector makes inbound Calimero calls from. A proven `cross_call` of the other
//! chain names any contract and method; if the connector called them itself, the destination
//! would see the connector as its predecessor, which is exactly what xCall dapps and Calimero
//! source callbacks trust. So the connector hands every inbound Calimero call to this contract,
//! which makes it: destinations see `predecessor == executor`, which nothing trusts except dapps
//! that accept Calimero calls (they also find the remote initiator in their arguments, written by
//! the connector).
//!
//! It holds one thing, its connector's account id, set once by `new`. `execute` is callable only
//! by that connector and forwards exactly the requested call (no deposit, the requested gas),
//! returning the destination's promise so that the connector's callback, chained on this call,
//! receives the destination's result. There is no owner, no admin method, no upgrade and no access
//! key is needed on the account: nothing to administer, so nothing to take over. To change it,
//! deploy a new executor on a new account and point a new connector at it.
//!
//! Kept tiny on purpose (every inbound Calimero call loads it): borsh arguments, no events.

use near_sdk::{env, near, AccountId, Gas, NearToken, PanicOnDefault, Promise};

#[near(contract_state)]
#[derive(PanicOnDefault)]
pub struct CalimeroExecutor {
    connector: AccountId,
}

#[near]
impl CalimeroExecutor {
    /// `connector`: the only account whose calls are made.
    #[init]
    pub fn new(#[serializer(borsh)] connector: AccountId) -> Self {
        Self { connector }
    }

    /// Call `method` of `destination` with `args` and `gas` (gas units), no deposit; return its
    /// promise. Only the connector may call. Borsh arguments.
    pub fn execute(
        &self,
        #[serializer(borsh)] destination: AccountId,
        #[serializer(borsh)] method: String,
        #[serializer(borsh)] args: Vec<u8>,
        #[serializer(borsh)] gas: u64,
    ) -> Promise {
        if env::predecessor_account_id() != self.connector {
            env::panic_str(
                "ERR_NOT_CONNECTOR: only the connector makes calls through its executor",
            );
        }
        Promise::new(destination).function_call(
            method,
            args,
            NearToken::from_yoctonear(0),
            Gas::from_gas(gas),
        )
    }

    /// The connector whose inbound Calimero calls this account makes.
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

    fn call_as(who: &str) {
        let mut ctx = VMContextBuilder::new();
        ctx.current_account_id("executor.b.near".parse().unwrap())
            .predecessor_account_id(who.parse().unwrap());
        testing_env!(ctx.build());
    }

    fn executor() -> CalimeroExecutor {
        call_as("deployer.b.near");
        CalimeroExecutor::new("connector.b.near".parse().unwrap())
    }

    #[test]
    fn the_connector_gets_exactly_the_requested_call_made() {
        let e = executor();
        call_as("connector.b.near");
        drop(e.execute(
            "greeter.b.near".parse().unwrap(),
            "greet".into(),
            br#"{"name":"ada"}"#.to_vec(),
            7_000_000_000_000,
        ));
        let receipts = get_created_receipts();
        assert_eq!(receipts.len(), 1);
        assert_eq!(receipts[0].receiver_id.as_str(), "greeter.b.near");
        match &receipts[0].actions[..] {
            [MockAction::FunctionCallWeight {
                method_name,
                args,
                attached_deposit,
                prepaid_gas,
                gas_weight,
                ..
            }] => {
                assert_eq!(method_name, b"greet");
                assert_eq!(args, br#"{"name":"ada"}"#);
                assert_eq!(attached_deposit.as_yoctonear(), 0);
                assert_eq!(*prepaid_gas, Gas::from_tgas(7));
                assert_eq!(gas_weight.0, 0, "exactly the requested gas");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.connector().as_str(), "connector.b.near");
    }

    #[test]
    fn anyone_else_is_refused() {
        let e = executor();
        for who in [
            "mallory.b.near",
            "executor.b.near",
            "deployer.b.near",
            "lc.b.near",
        ] {
            call_as(who);
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                drop(e.execute("greeter.b.near".parse().unwrap(), "greet".into(), vec![], 1))
            }));
            assert!(r.is_err(), "{who}");
            assert!(get_created_receipts().is_empty(), "{who}");
        }
    }
}
