//! Administration under near-plugins roles: the light client (`Dao`), the allow and deny lists,
//! the replay window and the message lifetime (`ConfigManager` or `Dao`). The locker and channels
//! are in `channels`, fees in `fees`; pause (`pa_pause_feature("<method>")` or `"ALL"`) and
//! upgrade (`up_stage_code`, `up_deploy_code` with `migrate`, see `migrate`) come from the plugins.
//!
//! Allow list: who may send across (`cross_call`, `send_call_message`). Rules are exact account
//! ids (a set lookup) or `*.<account id>` suffix rules (at most 16, compared with `ends_with`;
//! `*.dapp.near` matches `x.dapp.near` and `a.x.dapp.near`, not `dapp.near`). No regexes. When
//! `allow_list_enforced` is false (it is true by default) anyone may send.
//!
//! Deny list: accounts inbound messages may never call, on top of the connector itself, its
//! light client and its Calimero executor, which are always refused.

use crate::events::ConnectorEvent;
use crate::{
    Connector, ConnectorError, ConnectorExt, Role, MAX_MESSAGE_TTL_SECS, MAX_SUFFIX_RULES,
    MAX_WINDOW, MIN_MESSAGE_TTL_SECS,
};
use near_plugins::{access_control_any, AccessControllable};
use near_sdk::json_types::U64;
use near_sdk::{env, near, require, AccountId};

/// An allow-list rule: an exact account or a `*.` suffix.
enum Rule {
    Exact(AccountId),
    /// Stored with its leading dot: `.dapp.near`.
    Suffix(String),
}

fn parse_rule(rule: &str) -> Rule {
    let parsed = match rule.strip_prefix("*.") {
        Some(parent) => parent
            .parse::<AccountId>()
            .ok()
            .map(|p| Rule::Suffix(format!(".{p}"))),
        None => rule.parse::<AccountId>().ok().map(Rule::Exact),
    };
    parsed.unwrap_or_else(|| ConnectorError::InvalidRule.panic())
}

impl Connector {
    pub(crate) fn config_changed(&self, what: &str, value: String) {
        ConnectorEvent::ConfigChanged {
            what: what.to_string(),
            value,
            by: env::predecessor_account_id(),
        }
        .emit();
    }
}

#[near]
impl Connector {
    /// Replace the light client (`Dao`), e.g. after a redeployment.
    #[access_control_any(roles(Role::Dao))]
    pub fn set_light_client(&mut self, light_client: AccountId) {
        self.config_changed("light_client", light_client.to_string());
        self.light_client = light_client;
    }

    /// How far ahead of the oldest undelivered message a delivery may be (1..=1024).
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn set_window(&mut self, window: u32) {
        require!(
            (1..=MAX_WINDOW).contains(&window),
            ConnectorError::InvalidWindow.as_str()
        );
        self.window = window;
        self.config_changed("window", window.to_string());
    }

    /// Lifetime of xCall messages sent from now on, in seconds (60 s..=365 days).
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn set_message_ttl(&mut self, seconds: U64) {
        require!(
            (MIN_MESSAGE_TTL_SECS..=MAX_MESSAGE_TTL_SECS).contains(&seconds.0),
            ConnectorError::InvalidTtl.as_str()
        );
        self.message_ttl = seconds.0 * 1_000_000_000;
        self.config_changed("message_ttl", seconds.0.to_string());
    }

    /// Add an allow-list rule: `account.near` or `*.dapp.near`.
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn allow(&mut self, rule: String) {
        match parse_rule(&rule) {
            Rule::Exact(account) => {
                self.allow_list.insert(account);
            }
            Rule::Suffix(suffix) => {
                if !self.allow_suffixes.contains(&suffix) {
                    require!(
                        self.allow_suffixes.len() < MAX_SUFFIX_RULES,
                        ConnectorError::TooManyRules.as_str()
                    );
                    self.allow_suffixes.push(suffix);
                }
            }
        }
        self.config_changed("allow", rule);
    }

    /// Remove an allow-list rule.
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn disallow(&mut self, rule: String) {
        match parse_rule(&rule) {
            Rule::Exact(account) => {
                self.allow_list.remove(&account);
            }
            Rule::Suffix(suffix) => self.allow_suffixes.retain(|s| *s != suffix),
        }
        self.config_changed("disallow", rule);
    }

    /// Whether only allowed accounts may send (true by default).
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn set_allow_list_enforced(&mut self, enforced: bool) {
        self.allow_list_enforced = enforced;
        self.config_changed("allow_list_enforced", enforced.to_string());
    }

    /// Refuse inbound calls into `account`.
    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn deny(&mut self, account: AccountId) {
        self.config_changed("deny", account.to_string());
        self.deny_list.insert(account);
    }

    #[access_control_any(roles(Role::Dao, Role::ConfigManager))]
    pub fn undeny(&mut self, account: AccountId) {
        self.config_changed("undeny", account.to_string());
        self.deny_list.remove(&account);
    }
}
