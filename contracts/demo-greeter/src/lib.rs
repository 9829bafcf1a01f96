//! Demo target of cross-chain calls: `greet(name)` returns `"Hello, <name>!"` and counts the
//! greetings. Called through the connector of its chain, its predecessor is that connector.

use near_sdk::json_types::U64;
use near_sdk::{env, near, require, AccountId};

#[near(contract_state)]
#[derive(Default)]
pub struct Greeter {
    count: u64,
    last: Option<(String, AccountId)>,
}

#[near]
impl Greeter {
    /// `"Hello, <name>!"`; panics on an empty name (a failure to report back).
    pub fn greet(&mut self, name: String) -> String {
        require!(!name.is_empty(), "ERR_EMPTY_NAME: name must not be empty");
        self.count += 1;
        let greeting = format!("Hello, {name}!");
        self.last = Some((name, env::predecessor_account_id()));
        greeting
    }

    /// Number of greetings so far.
    pub fn get_count(&self) -> U64 {
        U64(self.count)
    }

    /// The last name greeted and who asked (the connector, for a cross-chain call).
    pub fn last_greeting(&self) -> Option<(String, AccountId)> {
        self.last.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_sdk::test_utils::VMContextBuilder;
    use near_sdk::testing_env;

    #[test]
    fn greets_and_counts() {
        let mut ctx = VMContextBuilder::new();
        ctx.predecessor_account_id("connector.b.near".parse().unwrap());
        testing_env!(ctx.build());
        let mut g = Greeter::default();
        assert_eq!(g.greet("ada".into()), "Hello, ada!");
        assert_eq!(g.greet("bob".into()), "Hello, bob!");
        assert_eq!(g.get_count(), U64(2));
        assert_eq!(
            g.last_greeting(),
            Some(("bob".into(), "connector.b.near".parse().unwrap()))
        );
    }

    #[test]
    #[should_panic(expected = "ERR_EMPTY_NAME")]
    fn an_empty_name_fails() {
        testing_env!(VMContextBuilder::new().build());
        Greeter::default().greet(String::new());
    }
}
