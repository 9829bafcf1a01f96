//! Upgrade in place from v1 (the layout of tag `v0.1.0`, before channels and the executor).
//!
//! The owner stages the new code and deploys it with the migration in the same batch, so that a
//! failed migration rolls the deployment back (near-plugins `Upgradable`):
//!
//! ```text
//! up_stage_code(<wasm bytes as the raw argument>)
//! up_deploy_code({"hash": "<bs58 sha256>", "function_call_args": {"function_name": "migrate",
//!     "arguments": <base64 of {"calimero_executor": "<account>"}>, "amount": "0", "gas": "…"}})
//! ```
//!
//! `migrate` reads the v1 state and writes v2: the v1 current channel (its locker, counters and
//! replay window, whose `(channel, nsn)` entries stay where they are) becomes the current
//! channel; lockers v1 had replaced stay refused (v1 accepted nothing from them: they are dead
//! channels). Records are not rewritten (they are not enumerable): v1 records stay in their maps
//! and are converted when first touched ([`crate::records::Legacy`]), on the v1 current channel.
//! Calimero calls v1 sent have no record: their responses are accepted on that channel as v1
//! accepted them (`legacy.below_request_id`). v1 callbacks in flight across the upgrade keep
//! working (`on_cross_call_done`, `on_call_executed`, `on_rollback_executed`,
//! `on_delivery_verified` and `on_fees_claimed` keep their v1 arguments).
//!
//! A marker (`StorageKey::StateVersion`) makes a second `migrate` fail instead of misreading v2.

use crate::records::{Legacy, PendingCallV1, RequestV1};
use crate::{Channel, Connector, ConnectorError, ConnectorExt, Fees, StorageKey};
use near_sdk::store::{LookupMap, LookupSet};
use near_sdk::{env, near, AccountId};

/// v1 fees.
#[near(serializers = [borsh])]
pub(crate) struct FeesV1 {
    pub protocol_fee: u128,
    pub protocol_fee_handler: Option<AccountId>,
    pub accrued_protocol: u128,
    pub relay_fee: u128,
    pub relay_rollback_fee: u128,
    pub relay_fee_collector: Option<AccountId>,
    pub accrued_relay: u128,
}

/// The v1 contract state, field for field.
#[near(serializers = [borsh])]
pub(crate) struct ConnectorV1 {
    pub light_client: AccountId,
    pub local_net: String,
    pub remote_net: String,
    pub locker: Option<AccountId>,
    pub retired_lockers: Vec<AccountId>,
    pub channel: u32,
    pub next_out: u64,
    pub next_in: u64,
    pub ahead: u32,
    pub window: u32,
    pub delivered: LookupSet<(u32, u64)>,
    pub next_request_id: u64,
    pub next_sn: u64,
    pub next_req_id: u64,
    pub message_ttl: u64,
    pub allow_list_enforced: bool,
    pub allow_suffixes: Vec<String>,
    pub allow_list: LookupSet<AccountId>,
    pub deny_list: LookupSet<AccountId>,
    pub fees: FeesV1,
    pub pending: LookupMap<u64, PendingCallV1>,
    pub requests: LookupMap<u64, RequestV1>,
    pub sent_archive: LookupMap<u64, u64>,
    pub received_archive: LookupMap<u64, u64>,
}

fn version_key() -> Vec<u8> {
    near_sdk::borsh::to_vec(&StorageKey::StateVersion).unwrap_or_default()
}

/// Record that the state has the v2 layout.
pub(crate) fn mark_v2() {
    env::storage_write(&version_key(), &[2]);
}

impl Connector {
    /// The v2 state of a v1 one.
    pub(crate) fn from_v1(old: ConnectorV1, calimero_executor: AccountId) -> Self {
        let current = old.locker.map(|locker| Channel {
            id: old.channel,
            locker,
            next_out: old.next_out,
            next_in: old.next_in,
            ahead: old.ahead,
        });
        Connector {
            light_client: old.light_client,
            calimero_executor,
            local_net: old.local_net,
            remote_net: old.remote_net,
            current,
            retired: Vec::new(),
            retired_lockers: old.retired_lockers,
            next_channel: old.channel + 1,
            window: old.window,
            delivered: old.delivered,
            next_request_id: old.next_request_id,
            next_sn: old.next_sn,
            next_req_id: old.next_req_id,
            message_ttl: old.message_ttl,
            allow_list_enforced: old.allow_list_enforced,
            allow_suffixes: old.allow_suffixes,
            allow_list: old.allow_list,
            deny_list: old.deny_list,
            fees: Fees {
                protocol_fee: old.fees.protocol_fee,
                protocol_fee_handler: old.fees.protocol_fee_handler,
                accrued_protocol: old.fees.accrued_protocol,
                relay_fee: old.fees.relay_fee,
                relay_rollback_fee: old.fees.relay_rollback_fee,
                relay_fee_collector: old.fees.relay_fee_collector,
                accrued_relay: old.fees.accrued_relay,
                cross_call_fee: 0,
                storage_byte_price: env::storage_byte_cost().as_yoctonear(),
            },
            pending: LookupMap::new(StorageKey::PendingV2),
            requests: LookupMap::new(StorageKey::RequestsV2),
            cross_calls: LookupMap::new(StorageKey::CrossCalls),
            sent_archive: old.sent_archive,
            received_archive: old.received_archive,
            legacy: Legacy {
                pending: old.pending,
                requests: old.requests,
                channel: old.channel,
                below_request_id: old.next_request_id,
            },
        }
    }
}

#[near]
impl Connector {
    /// Migrate the v1 state (run by `up_deploy_code` in the batch that deploys this code; see
    /// the module documentation). `calimero_executor`: the executor account, initialised with
    /// this connector.
    #[private]
    #[init(ignore_state)]
    pub fn migrate(calimero_executor: AccountId) -> Self {
        // near-sdk 5.15 does not enforce `#[private]` on an init method (the sandbox suite
        // showed it): without this check anyone could name the executor of a connector whose
        // code was deployed without running `migrate` in the same batch.
        if env::predecessor_account_id() != env::current_account_id() {
            env::panic_str("ERR_PRIVATE: Method migrate is private");
        }
        if env::storage_has_key(&version_key()) {
            ConnectorError::Migration.panic();
        }
        let old: ConnectorV1 =
            env::state_read().unwrap_or_else(|| ConnectorError::Migration.panic());
        if calimero_executor == env::current_account_id() || calimero_executor == old.light_client {
            ConnectorError::InvalidExecutor.panic();
        }
        mark_v2();
        Self::from_v1(old, calimero_executor)
    }
}

/// For tests: write a v1 state as v1 wrote it.
#[cfg(test)]
pub(crate) fn write_v1(old: &ConnectorV1) {
    let bytes = near_sdk::borsh::to_vec(old).unwrap();
    env::storage_write(b"STATE", &bytes);
}
