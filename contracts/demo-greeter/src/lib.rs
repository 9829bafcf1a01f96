//! Demo target of cross-chain calls: `greet(name)` returns `"Hello, <name>!"` and counts the
//! greetings. Anyone may greet directly. Called from the other chain (a Calimero `cross_call`),
//! its predecessor is this chain's Calimero executor and its arguments carry
//! `calimero_initiator_id`, the account on the other chain that asked: the greeter records who
//! asked only when the predecessor is the executor it was set up with, and refuses a claimed
//! initiator from anyone else (the dapp author's checklist in `contracts/connector/README.md`).

use near_sdk::json_types::U64;
use near_sdk::{env, near, require, AccountId, PanicOnDefault};

/// The last greeting: the name, the caller (the executor for a cross-chain call) and, for a
/// cross-chain call, the account on the other chain that asked.
#[near(serializers = [borsh, json])]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Greeting {
    pub name: String,
    pub caller: AccountId,
    pub remote_initiator: Option<AccountId>,
}

#[near(contract_state)]
#[derive(PanicOnDefault)]
pub struct Greeter {
    /// This chain's Calimero executor (the connector's `calimero_executor()`).
    calimero_executor: AccountId,
    count: u64,
    last: Option<Greeting>,
}

#[near]
impl Greeter {
    #[init]
    pub fn new(calimero_executor: AccountId) -> Self {
        Self {
            calimero_executor,
            count: 0,
            last: None,
        }
    }

    /// `"Hello, <name>!"`; panics on an empty name (a failure to report back).
    /// `calimero_initiator_id` is written by the connector for a cross-chain call and accepted
    /// only from the executor.
    pub fn greet(&mut self, name: String, calimero_initiator_id: Option<AccountId>) -> String {
        require!(!name.is_empty(), "ERR_EMPTY_NAME: name must not be empty");
        let caller = env::predecessor_account_id();
        let remote = caller == self.calimero_executor;
        require!(
            remote == calimero_initiator_id.is_some(),
            "ERR_UNPROVEN_ORIGIN: calimero_initiator_id comes with, and only with, a call from the executor"
        );
        self.count += 1;
        let greeting = format!("Hello, {name}!");
        self.last = Some(Greeting {
            name,
            caller,
            remote_initiator: calimero_initiator_id,
        });
        greeting
    }

    /// Number of greetings so far.
    pub fn get_count(&self) -> U64 {
        U64(self.count)
    }

    /// The last greeting and who asked.
    pub fn last_greeting(&self) -> Option<Greeting> {
        self.last.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_sdk::test_utils::VMContextBuilder;
    use near_sdk::testing_env;

    const EXECUTOR: &str = "executor.b.near";

    fn acc(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    fn as_(who: &str) {
        let mut ctx = VMContextBuilder::new();
        ctx.predecessor_account_id(acc(who));
        testing_env!(ctx.build());
    }

    fn greeter() -> Greeter {
        as_("deployer.b.near");
        Greeter::new(acc(EXECUTOR))
    }

    #[test]
    fn greets_and_counts_with_the_remote_initiator_from_the_executor() {
        let mut g = greeter();
        as_(EXECUTOR);
        assert_eq!(
            g.greet("ada".into(), Some(acc("dapp.a.near"))),
            "Hello, ada!"
        );
        assert_eq!(
            g.last_greeting(),
            Some(Greeting {
                name: "ada".into(),
                caller: acc(EXECUTOR),
                remote_initiator: Some(acc("dapp.a.near"))
            })
        );
        as_("bob.b.near");
        assert_eq!(g.greet("bob".into(), None), "Hello, bob!");
        assert_eq!(g.get_count(), U64(2));
        assert_eq!(g.last_greeting().unwrap().remote_initiator, None);
    }

    #[test]
    #[should_panic(expected = "ERR_UNPROVEN_ORIGIN")]
    fn a_claimed_initiator_from_anyone_but_the_executor_is_refused() {
        let mut g = greeter();
        as_("mallory.b.near");
        g.greet("ada".into(), Some(acc("dapp.a.near")));
    }

    #[test]
    #[should_panic(expected = "ERR_UNPROVEN_ORIGIN")]
    fn the_executor_without_an_initiator_is_refused() {
        let mut g = greeter();
        as_(EXECUTOR);
        g.greet("ada".into(), None);
    }

    #[test]
    #[should_panic(expected = "ERR_EMPTY_NAME")]
    fn an_empty_name_fails() {
        let mut g = greeter();
        as_("bob.b.near");
        g.greet(String::new(), None);
    }
}
