//! Demo dapp of the xCall API: a balance ledger on each chain, the two ledgers peers of each
//! other. `transfer(to, amount)` debits the sender here and sends a two-way message to the peer
//! ledger, whose rollback data is the refund. On the other chain `handle_call_message` credits
//! `to`, or panics when `to` is not registered; the connector then reports the failure back,
//! `execute_rollback(sn)` hands the rollback data to this ledger (with `from` = the connector's
//! own address), and the sender is refunded.
//!
//! Fees: the caller of `transfer` attaches `get_fee(net, true, None)` plus
//! `get_send_deposit(len)` of the connector; the ledger passes the caller as `refund_to`, so that
//! the connector returns the surplus at once and the storage deposit when the message is cleared
//! to the caller, not to the ledger. `register` takes the storage of the new account from the
//! caller (surplus refunded); only the owner mints.
//!
//! Trust: `handle_call_message` accepts only its connector as predecessor; a message is a credit
//! only from the peer ledger's address on the other network, a refund only from the connector's
//! own address (a rollback). Calimero calls come from the executor, never the connector, so they
//! can reach neither.

use near_sdk::json_types::{Base64VecU8, U128, U64};
use near_sdk::store::LookupMap;
use near_sdk::{
    env, near, require, AccountId, Gas, NearToken, PanicOnDefault, Promise, PromiseError,
};
use xsc_interfaces::ext_xsc_connector;
use xsc_interfaces::xcall::BtpAddress;

/// Attached to the connector's `send_call_message`.
pub const GAS_SEND: Gas = Gas::from_tgas(10);
/// Attached to `on_sent`.
pub const GAS_ON_SENT: Gas = Gas::from_tgas(5);

/// The payload of a message between the ledgers (JSON in `data` and `rollback`).
#[near(serializers = [json])]
#[serde(tag = "op", rename_all = "snake_case")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LedgerMessage {
    /// Credit `to` on the receiving ledger.
    Credit {
        from: AccountId,
        to: AccountId,
        amount: U128,
    },
    /// Rollback data: give `to` its `amount` back on the sending ledger.
    Refund { to: AccountId, amount: U128 },
}

#[near(contract_state)]
#[derive(PanicOnDefault)]
pub struct Ledger {
    /// Who may mint.
    owner: AccountId,
    connector: AccountId,
    /// `btp://<local net>/<connector>`: the `from` of a rollback.
    connector_address: String,
    /// `btp://<remote net>/<peer ledger>`.
    peer: String,
    balances: LookupMap<AccountId, u128>,
}

/// Storage of one balance entry for an account id of `len` characters: the map's key (prefix
/// `b`, the borsh account id), the u128 value and NEAR's 40 bytes per record.
fn entry_cost(len: u64) -> u128 {
    u128::from(1 + 4 + len + 16 + 40) * env::storage_byte_cost().as_yoctonear()
}

fn cost_of_registering(who: &AccountId) -> u128 {
    entry_cost(who.len() as u64)
}

fn refund(to: &AccountId, amount: u128) {
    if amount > 0 {
        Promise::new(to.clone()).transfer(NearToken::from_yoctonear(amount));
    }
}

impl Ledger {
    fn credit(&mut self, to: &AccountId, amount: u128) {
        let balance = self.balances.get_mut(to).unwrap_or_else(|| {
            env::panic_str("ERR_NOT_REGISTERED: the recipient is not registered")
        });
        *balance += amount;
    }
}

#[near]
impl Ledger {
    /// `connector`: this chain's connector; `local_net`: this chain's network id; `peer`: the
    /// BTP address of the ledger on the other chain; `owner` (default: the caller) mints.
    #[init]
    pub fn new(
        connector: AccountId,
        local_net: String,
        peer: String,
        owner: Option<AccountId>,
    ) -> Self {
        require!(
            BtpAddress::parse(&peer).is_some(),
            "ERR_INVALID_PEER: expected btp://<net>/<account>"
        );
        Self {
            owner: owner.unwrap_or_else(env::predecessor_account_id),
            connector_address: BtpAddress::format(&local_net, connector.as_str()),
            connector,
            peer,
            balances: LookupMap::new(b"b"),
        }
    }

    /// Open an account (balance 0), paying for its storage (`registration_cost()`; the surplus,
    /// or everything when already registered, is refunded).
    #[payable]
    pub fn register(&mut self) {
        let who = env::predecessor_account_id();
        let attached = env::attached_deposit().as_yoctonear();
        if self.balances.contains_key(&who) {
            refund(&who, attached);
            return;
        }
        let cost = cost_of_registering(&who);
        require!(
            attached >= cost,
            "ERR_STORAGE_DEPOSIT: attach registration_cost() for the new account's storage"
        );
        self.balances.insert(who.clone(), 0);
        refund(&who, attached - cost);
    }

    /// What `register` costs the caller: the storage of one balance entry (for the longest
    /// account id; the surplus is refunded).
    pub fn registration_cost(&self) -> U128 {
        U128(entry_cost(64))
    }

    /// Demo faucet for the owner: credit `to` (default: the owner), who must be registered.
    pub fn mint(&mut self, amount: U128, to: Option<AccountId>) {
        require!(
            env::predecessor_account_id() == self.owner,
            "ERR_NOT_OWNER: only the owner mints"
        );
        let to = to.unwrap_or_else(|| self.owner.clone());
        self.credit(&to, amount.0);
    }

    /// Send `amount` to `to` on the other chain. Payable: the xCall fee and storage deposit
    /// (see the crate documentation). Resolves to the message's serial number.
    #[payable]
    pub fn transfer(&mut self, to: AccountId, amount: U128) -> Promise {
        let from = env::predecessor_account_id();
        let balance = self
            .balances
            .get_mut(&from)
            .unwrap_or_else(|| env::panic_str("ERR_NOT_REGISTERED: register first"));
        require!(*balance >= amount.0, "ERR_INSUFFICIENT_BALANCE");
        *balance -= amount.0;
        let data = LedgerMessage::Credit {
            from: from.clone(),
            to,
            amount,
        };
        let rollback = LedgerMessage::Refund {
            to: from.clone(),
            amount,
        };
        let json =
            |m: &LedgerMessage| Base64VecU8(near_sdk::serde_json::to_vec(m).unwrap_or_default());
        ext_xsc_connector::ext(self.connector.clone())
            .with_attached_deposit(env::attached_deposit())
            .with_static_gas(GAS_SEND)
            .with_unused_gas_weight(0)
            .send_call_message(
                self.peer.clone(),
                json(&data),
                Some(json(&rollback)),
                None,
                // The surplus and, later, the storage deposit go back to the caller.
                Some(from.clone()),
            )
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_ON_SENT)
                    .on_sent(from, amount, U128(env::attached_deposit().as_yoctonear())),
            )
    }

    /// If the connector refused the message, nothing left this chain: undo the debit and return
    /// the attached fee (the connector's failed receipt returned it to this ledger).
    #[private]
    pub fn on_sent(
        &mut self,
        from: AccountId,
        amount: U128,
        fee: U128,
        #[callback_result] sn: Result<U64, PromiseError>,
    ) -> Option<U64> {
        match sn {
            Ok(sn) => Some(sn),
            Err(_) => {
                if let Some(balance) = self.balances.get_mut(&from) {
                    *balance += amount.0;
                }
                refund(&from, fee.0);
                None
            }
        }
    }

    /// xCall dapp interface: a message from the peer ledger, or a rollback from the connector.
    pub fn handle_call_message(&mut self, from: String, data: Base64VecU8) {
        require!(
            env::predecessor_account_id() == self.connector,
            "ERR_NOT_CONNECTOR: only the connector delivers messages"
        );
        let message: LedgerMessage = near_sdk::serde_json::from_slice(&data.0)
            .unwrap_or_else(|_| env::panic_str("ERR_INVALID_MESSAGE"));
        match message {
            LedgerMessage::Refund { to, amount } if from == self.connector_address => {
                self.credit(&to, amount.0);
                env::log_str(&format!("refunded {} to {to}", amount.0));
            }
            LedgerMessage::Credit {
                from: sender,
                to,
                amount,
            } if from == self.peer => {
                self.credit(&to, amount.0);
                env::log_str(&format!("credited {} to {to} from {sender}", amount.0));
            }
            _ => env::panic_str("ERR_UNEXPECTED_SENDER: not the peer ledger nor a rollback"),
        }
    }

    pub fn balance_of(&self, account_id: AccountId) -> Option<U128> {
        self.balances.get(&account_id).map(|b| U128(*b))
    }

    pub fn peer(&self) -> String {
        self.peer.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_sdk::mock::MockAction;
    use near_sdk::test_utils::{get_created_receipts, VMContextBuilder};
    use near_sdk::testing_env;

    const CONNECTOR: &str = "connector.a.near";
    const PEER: &str = "btp://b/ledger.b.near";

    fn call_as(who: &str, deposit: u128) {
        let mut ctx = VMContextBuilder::new();
        ctx.current_account_id("ledger.a.near".parse().unwrap())
            .predecessor_account_id(who.parse().unwrap())
            .signer_account_id("alice.a.near".parse().unwrap())
            .attached_deposit(NearToken::from_yoctonear(deposit));
        testing_env!(ctx.build());
    }

    const OWNER: &str = "owner.a.near";

    fn ledger() -> Ledger {
        call_as(OWNER, 0);
        let mut l = Ledger::new(CONNECTOR.parse().unwrap(), "a".into(), PEER.into(), None);
        call_as("alice.a.near", NEAR);
        l.register();
        call_as(OWNER, 0);
        l.mint(U128(100), Some(acc("alice.a.near")));
        l
    }

    const NEAR: u128 = 10u128.pow(24);

    fn transfers() -> Vec<(String, u128)> {
        get_created_receipts()
            .into_iter()
            .flat_map(|r| {
                let to = r.receiver_id.to_string();
                r.actions.into_iter().filter_map(move |a| match a {
                    MockAction::Transfer { deposit, .. } => {
                        Some((to.clone(), deposit.as_yoctonear()))
                    }
                    _ => None,
                })
            })
            .collect()
    }

    #[test]
    fn registering_takes_the_storage_from_the_caller_and_refunds_the_rest() {
        call_as(OWNER, 0);
        let mut l = Ledger::new(CONNECTOR.parse().unwrap(), "a".into(), PEER.into(), None);
        let cost = cost_of_registering(&acc("bob.a.near"));
        assert_eq!(cost, (1 + 4 + 10 + 16 + 40) * 10u128.pow(19));
        assert!(l.registration_cost().0 >= cost);
        call_as("bob.a.near", cost - 1);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.register()));
        assert!(r.is_err());
        assert_eq!(l.balance_of(acc("bob.a.near")), None);
        call_as("bob.a.near", cost + 5);
        l.register();
        assert_eq!(transfers(), vec![("bob.a.near".to_string(), 5)]);
        assert_eq!(l.balance_of(acc("bob.a.near")), Some(U128(0)));
        // Again: nothing more is taken.
        call_as("bob.a.near", 7);
        l.register();
        assert_eq!(transfers(), vec![("bob.a.near".to_string(), 7)]);
    }

    #[test]
    fn only_the_owner_mints_and_only_to_registered_accounts() {
        let mut l = ledger();
        call_as("alice.a.near", 0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            l.mint(U128(1_000_000), None)
        }));
        assert!(r.is_err());
        assert_eq!(l.balance_of(acc("alice.a.near")), Some(U128(100)));
        call_as(OWNER, 0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            l.mint(U128(1), Some(acc("carol.a.near")))
        }));
        assert!(r.is_err());
    }

    fn acc(s: &str) -> AccountId {
        s.parse().unwrap()
    }

    fn msg(m: &LedgerMessage) -> Base64VecU8 {
        Base64VecU8(serde_json::to_vec(m).unwrap())
    }

    #[test]
    fn transfer_debits_and_sends_a_two_way_message_with_the_refund_as_rollback() {
        let mut l = ledger();
        call_as("alice.a.near", 1000);
        drop(l.transfer(acc("bob.b.near"), U128(30)));
        assert_eq!(l.balance_of(acc("alice.a.near")), Some(U128(70)));
        let receipts = get_created_receipts();
        let (receiver, args, deposit) = receipts
            .iter()
            .find_map(|r| {
                r.actions.iter().find_map(|a| match a {
                    MockAction::FunctionCallWeight {
                        method_name,
                        args,
                        attached_deposit,
                        ..
                    } if method_name == b"send_call_message" => {
                        Some((r.receiver_id.clone(), args.clone(), *attached_deposit))
                    }
                    _ => None,
                })
            })
            .unwrap();
        assert_eq!(receiver.as_str(), CONNECTOR);
        assert_eq!(
            deposit,
            NearToken::from_yoctonear(1000),
            "the fee goes along"
        );
        let json: serde_json::Value = serde_json::from_slice(&args).unwrap();
        assert_eq!(json["to"], PEER);
        // Surplus and storage refunds go to the user, not the ledger.
        assert_eq!(json["refund_to"], "alice.a.near");
        let data: Base64VecU8 = serde_json::from_value(json["data"].clone()).unwrap();
        let data: LedgerMessage = serde_json::from_slice(&data.0).unwrap();
        assert_eq!(
            data,
            LedgerMessage::Credit {
                from: acc("alice.a.near"),
                to: acc("bob.b.near"),
                amount: U128(30)
            }
        );
        let rollback: Base64VecU8 = serde_json::from_value(json["rollback"].clone()).unwrap();
        let rollback: LedgerMessage = serde_json::from_slice(&rollback.0).unwrap();
        assert_eq!(
            rollback,
            LedgerMessage::Refund {
                to: acc("alice.a.near"),
                amount: U128(30)
            }
        );
    }

    #[test]
    #[should_panic(expected = "ERR_INSUFFICIENT_BALANCE")]
    fn cannot_send_more_than_the_balance() {
        let mut l = ledger();
        call_as("alice.a.near", 0);
        drop(l.transfer(acc("bob.b.near"), U128(101)));
    }

    #[test]
    fn a_refused_send_undoes_the_debit_and_returns_the_fee() {
        let mut l = ledger();
        call_as("alice.a.near", 0);
        drop(l.transfer(acc("bob.b.near"), U128(30)));
        call_as("ledger.a.near", 0);
        assert_eq!(
            l.on_sent(
                acc("alice.a.near"),
                U128(30),
                U128(5),
                Err(PromiseError::Failed)
            ),
            None
        );
        assert_eq!(l.balance_of(acc("alice.a.near")), Some(U128(100)));
        assert_eq!(
            l.on_sent(acc("alice.a.near"), U128(1), U128(0), Ok(U64(3))),
            Some(U64(3))
        );
    }

    #[test]
    fn the_peer_credits_registered_recipients_and_fails_for_others() {
        let mut l = ledger();
        let credit = |to: &str| {
            msg(&LedgerMessage::Credit {
                from: acc("bob.b.near"),
                to: acc(to),
                amount: U128(5),
            })
        };
        call_as(CONNECTOR, 0);
        l.handle_call_message(PEER.into(), credit("alice.a.near"));
        assert_eq!(l.balance_of(acc("alice.a.near")), Some(U128(105)));
        // Not registered: the panic makes the connector report the failure back.
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            l.handle_call_message(PEER.into(), credit("carol.a.near"))
        }));
        assert!(r.is_err());
        // From anyone but the peer ledger: refused.
        call_as(CONNECTOR, 0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            l.handle_call_message("btp://b/mallory.b.near".into(), credit("alice.a.near"))
        }));
        assert!(r.is_err());
    }

    #[test]
    fn a_rollback_from_the_connector_refunds_the_sender() {
        let mut l = ledger();
        call_as("alice.a.near", 0);
        drop(l.transfer(acc("nobody.b.near"), U128(40)));
        assert_eq!(l.balance_of(acc("alice.a.near")), Some(U128(60)));
        call_as(CONNECTOR, 0);
        let refund = msg(&LedgerMessage::Refund {
            to: acc("alice.a.near"),
            amount: U128(40),
        });
        l.handle_call_message(format!("btp://a/{CONNECTOR}"), refund.clone());
        assert_eq!(l.balance_of(acc("alice.a.near")), Some(U128(100)));
        // A "refund" from the peer is not a rollback.
        call_as(CONNECTOR, 0);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            l.handle_call_message(PEER.into(), refund)
        }));
        assert!(r.is_err());
    }

    #[test]
    #[should_panic(expected = "ERR_NOT_CONNECTOR")]
    fn only_the_connector_calls_handle_call_message() {
        let mut l = ledger();
        call_as("mallory.a.near", 0);
        l.handle_call_message(PEER.into(), Base64VecU8(vec![]));
    }
}
