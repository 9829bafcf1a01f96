//! # xsc connector
//!
//! One per chain. Dapps send messages to the other chain through it with two APIs:
//! - **Calimero** (`cross_call`, wire-compatible with Calimero's connector): call a method of a
//!   contract on the other chain and get its result back in a callback;
//! - **xCall** (IIP-52 on NEAR: `send_call_message`, `execute_call`, `execute_rollback`, fees,
//!   rollback, the six events).
//!
//! Every message leaves as an event in this connector's execution outcome. A relayer proves that
//! outcome to the connector of the other chain (the *locker*), which asks its light client to
//! verify the proof (one cross-contract hop) and acts on the message in the callback. Each
//! message carries a per-channel sequence number (`nsn`); the receiver delivers each exactly
//! once with bounded storage (a watermark plus a window of out-of-order deliveries).
//!
//! Files: [`calimero`](crate::calimero) and [`xcall`](crate::xcall) hold the two APIs,
//! `delivery` the shared proof path, `replay` the window, `fees`, `admin`, `views`, `records`
//! (stored state and its storage deposits), `events` and `error`. `README.md` documents the APIs
//! for dapp authors and relayers.

use near_plugins::{access_control, AccessControlRole, AccessControllable, Pausable, Upgradable};
use near_sdk::borsh::BorshDeserialize;
use near_sdk::store::{LookupMap, LookupSet};
use near_sdk::{env, near, require, AccountId, BorshStorageKey, Gas, PanicOnDefault};

mod admin;
pub mod calimero;
mod channels;
mod delivery;
mod error;
mod events;
mod fees;
mod migrate;
mod records;
mod replay;
mod views;
pub mod xcall;

#[cfg(test)]
mod tests;

pub use crate::channels::{Channel, ChannelStatus};
pub use crate::error::ConnectorError;
pub use crate::events::ConnectorEvent;
pub use crate::records::{
    CrossCallRecord, MessageState, PendingCall, PendingState, Request, RequestState,
};
pub use crate::views::{
    ChannelView, ConfigView, CrossCallView, FeesView, PendingView, RequestView,
};

// --- Gas: one constant per outgoing call (Tgas) ---

const fn tgas(n: u64) -> Gas {
    Gas::from_tgas(n)
}
/// Attached to the light client's `verify_outcome` (sha256 host calls over at most three merkle
/// paths; it burns a fraction of this).
pub const GAS_VERIFY_OUTCOME: Gas = tgas(10);
/// Static gas of the delivery callback `on_delivery_verified`; it also receives all unused gas,
/// out of which it pays the calls it makes.
pub const GAS_ON_DELIVERY_VERIFIED: Gas = tgas(10);
/// Prepaid gas a delivery needs besides the calls it makes: a relayer attaches this plus, for a
/// Calimero call, `GAS_EXECUTOR + destination_gas + GAS_CROSS_CALL_DONE`, and for a Calimero
/// response `GAS_SOURCE_CALLBACK`.
pub const GAS_DELIVERY_OVERHEAD: Gas = tgas(5 + 10 + 10);
/// What a callback that schedules a call and its callback keeps for its own work and for the fees
/// of what it schedules: creating a receipt charges its send and execution base fees at once, on
/// older fee schedules (Calimero's protocol 63, near-sdk's mocked chain) ≈ 4.9 Tgas per function
/// call and ≈ 9.4 Tgas for the data receipt of a `then`: ≈ 19.3 Tgas measured in the mocked
/// chain for `execute_call`.
pub const GAS_CALLBACK_RESERVE: Gas = tgas(25);
/// What reading a promise result of NEAR's largest size (4 MiB) into a register costs: the host
/// charges for copying the whole value before the contract can look at its length
/// (4,194,304 bytes × `write_register_byte` 3,801,564 gas = 15.95 Tgas, plus the bases; measured
/// in the sandbox, see BENCHMARKS.md). Every callback that reads a result a third party controls
/// carries this on top of its own work, so that no result can make it run out of gas.
pub const GAS_READ_MAX_RESULT: Gas = tgas(17);
/// Attached to the executor's `execute` on top of the destination's gas (its own receipt: load,
/// borsh arguments, and the fees of the one function call it makes, ≈ 4.9 Tgas on protocol 63).
pub const GAS_EXECUTOR: Gas = tgas(8);
/// Attached to `on_cross_call_finished`, which reads the destination's result and logs the
/// Calimero response.
pub const GAS_CROSS_CALL_DONE: Gas = tgas(6 + 17);
/// Attached to a dapp's Calimero source callback (Calimero's value).
pub const GAS_SOURCE_CALLBACK: Gas = tgas(20);
/// Attached to `on_call_executed` and `on_rollback_executed` (they read the handler's result).
pub const GAS_ON_EXECUTED: Gas = tgas(8 + 17);
/// What `execute_call` / `execute_rollback` need for themselves besides the handler's gas and
/// `GAS_ON_EXECUTED`: their work and the fees of the call and callback they schedule (see
/// `GAS_CALLBACK_RESERVE`).
pub const GAS_EXECUTE_OVERHEAD: Gas = tgas(25);
/// Attached to the callback of a fee transfer (the result of a transfer is empty).
pub const GAS_ON_FEES_CLAIMED: Gas = tgas(5);
/// Largest `destination_gas` of a Calimero call (Calimero's cap).
pub const MAX_DESTINATION_GAS: Gas = tgas(200);
/// `handler_gas` of `send_call_message`: the least gas the sender's `handle_call_message` gets on
/// the destination (and its rollback handler here). Default and bounds.
pub const DEFAULT_HANDLER_GAS: Gas = tgas(30);
pub const MIN_HANDLER_GAS: Gas = tgas(5);
pub const MAX_HANDLER_GAS: Gas = tgas(200);

// --- Sizes ---

/// Largest `destination_contract_args` (the log line must stay within NEAR's 16 KiB of logs).
pub const MAX_CROSS_CALL_ARGS: usize = 4096;
/// Largest Calimero result relayed back; a longer one is reported as `FAILED!`.
pub const MAX_RESULT_BYTES: usize = 4096;
/// Most suffix rules on the allow list (each is checked per sending call).
pub const MAX_SUFFIX_RULES: usize = 16;
/// Default and largest replay window (messages delivered ahead of the watermark).
pub const DEFAULT_WINDOW: u32 = 128;
pub const MAX_WINDOW: u32 = 1024;
/// Default lifetime of an xCall message (7 days), and its bounds.
pub const DEFAULT_MESSAGE_TTL_SECS: u64 = 7 * 24 * 3600;
pub const MIN_MESSAGE_TTL_SECS: u64 = 60;
pub const MAX_MESSAGE_TTL_SECS: u64 = 365 * 24 * 3600;
/// Most retired channels still open at once (`set_locker` refuses another until one is declared
/// dead): bounds the per-channel replay state and what every delivery scans.
pub const MAX_RETIRED_CHANNELS: usize = 4;
/// Storage the connector keeps free beyond a record it stakes (the replay window and archive
/// entries the same call may add).
pub const STAKE_MARGIN_BYTES: u64 = 1024;
/// The method name no Calimero source callback may have: xCall dapps trust it from the
/// connector.
pub const RESERVED_CALLBACK: &str = "handle_call_message";

#[derive(AccessControlRole, Clone, Copy)]
#[near(serializers = [json])]
pub enum Role {
    /// Full administration, including `set_locker`, `declare_channel_dead` and
    /// `set_light_client`.
    Dao,
    PauseManager,
    UnpauseManager,
    UpgradableCodeStager,
    UpgradableCodeDeployer,
    /// Allow and deny lists, replay window, message lifetime.
    ConfigManager,
    /// Fees (IIP-52's admin): protocol fee and handler, relay fees and collector, the Calimero
    /// fee, the storage price.
    FeeManager,
}

/// Storage keys. Append only: reordering breaks existing state.
#[derive(BorshStorageKey)]
#[near]
enum StorageKey {
    Delivered,
    AllowList,
    DenyList,
    /// v1 records (`records::PendingCallV1`), read and converted on first touch after a migration.
    Pending,
    /// v1 records (`records::RequestV1`), likewise.
    Requests,
    SentArchive,
    ReceivedArchive,
    // --- v2 ---
    PendingV2,
    RequestsV2,
    CrossCalls,
    /// Marker written by `new` and `migrate`: the state has the v2 layout.
    StateVersion,
}

/// Fees, all in yoctoNEAR.
#[near(serializers = [borsh])]
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fees {
    pub protocol_fee: u128,
    pub protocol_fee_handler: Option<AccountId>,
    pub accrued_protocol: u128,
    /// Relay fee of a message to the other network, and the extra for a two-way message (its
    /// response is relayed back too).
    pub relay_fee: u128,
    pub relay_rollback_fee: u128,
    pub relay_fee_collector: Option<AccountId>,
    /// Relay fees, Calimero fees and the destination storage component of xCall fees.
    pub accrued_relay: u128,
    /// What `cross_call` costs (0: Calimero-compatible, nothing to attach).
    pub cross_call_fee: u128,
    /// Price per byte of the destination's storage, for the storage component of `get_fee`
    /// (default: this chain's storage price).
    pub storage_byte_price: u128,
}

/// v2 layout (v1: `migrate::ConnectorV1`).
#[near(contract_state)]
#[derive(PanicOnDefault, Pausable, Upgradable)]
#[access_control(role_type(Role))]
#[pausable(
    pause_roles(Role::Dao, Role::PauseManager),
    unpause_roles(Role::Dao, Role::UnpauseManager)
)]
#[upgradable(access_control_roles(
    code_stagers(Role::UpgradableCodeStager, Role::Dao),
    code_deployers(Role::UpgradableCodeDeployer, Role::Dao),
    duration_initializers(Role::Dao),
    duration_update_stagers(Role::Dao),
    duration_update_appliers(Role::Dao),
))]
pub struct Connector {
    /// The light client on this chain that tracks the other chain.
    light_client: AccountId,
    /// The unprivileged account inbound Calimero calls are made from.
    calimero_executor: AccountId,
    /// Network ids (`btp://<net>/…`) of this chain and of the other one.
    local_net: String,
    remote_net: String,
    /// The channel to the current locker (the connector on the other chain): everything new
    /// goes out on it. `None` until a locker is set.
    current: Option<Channel>,
    /// Channels of replaced lockers that are not declared dead: only responses to their own
    /// records are accepted from them, and requests received on them are answered on them.
    retired: Vec<Channel>,
    /// Every locker ever replaced: never set again (its old messages would replay).
    retired_lockers: Vec<AccountId>,
    /// Id of the next channel `set_locker` opens.
    next_channel: u32,
    /// Largest distance ahead of a channel's watermark a delivery may have.
    window: u32,
    /// `(channel, nsn)` of messages delivered ahead of their channel's watermark; at most
    /// `window` entries per open channel.
    delivered: LookupSet<(u32, u64)>,
    /// Calimero request ids (returned by `cross_call`).
    next_request_id: u64,
    /// xCall serial numbers of sent messages.
    next_sn: u64,
    /// xCall request ids of received messages.
    next_req_id: u64,
    /// Lifetime of a sent xCall message, nanoseconds.
    message_ttl: u64,
    /// Whether only allowed accounts may send (default true).
    allow_list_enforced: bool,
    /// Suffix rules (`.dapp.near` for `*.dapp.near`).
    allow_suffixes: Vec<String>,
    allow_list: LookupSet<AccountId>,
    deny_list: LookupSet<AccountId>,
    fees: Fees,
    /// Sent two-way xCall messages awaiting their response or rollback, by sn.
    pending: LookupMap<u64, PendingCall>,
    /// Received xCall messages awaiting execution, by req_id.
    requests: LookupMap<u64, Request>,
    /// Sent Calimero calls awaiting their response, by request id.
    cross_calls: LookupMap<u64, CrossCallRecord>,
    /// Final states of sent two-way messages and of received requests, 2 bits each.
    sent_archive: LookupMap<u64, u64>,
    received_archive: LookupMap<u64, u64>,
    /// What a migration from v1 left to convert: v1 records and the channel they belong to.
    legacy: records::Legacy,
}

#[near]
impl Connector {
    /// `light_client`: this chain's light client of the other chain. `calimero_executor`: the
    /// account inbound Calimero calls are made from (`contracts/calimero-executor`, initialised
    /// with this connector). `local_net` / `remote_net`: network ids of this chain and the other
    /// one. `locker`: the connector on the other chain (may be set later with `set_locker`).
    /// `admin` becomes super admin and `Dao` (default: the caller).
    #[init]
    pub fn new(
        light_client: AccountId,
        calimero_executor: AccountId,
        local_net: String,
        remote_net: String,
        locker: Option<AccountId>,
        admin: Option<AccountId>,
    ) -> Self {
        require!(
            xsc_interfaces::xcall::is_valid_net(&local_net)
                && xsc_interfaces::xcall::is_valid_net(&remote_net)
                && local_net != remote_net,
            ConnectorError::InvalidNetwork.as_str()
        );
        require!(
            calimero_executor != env::current_account_id() && calimero_executor != light_client,
            ConnectorError::InvalidExecutor.as_str()
        );
        let mut this = Self {
            light_client,
            calimero_executor,
            local_net,
            remote_net,
            current: locker.map(|locker| Channel::new(0, locker)),
            retired: Vec::new(),
            retired_lockers: Vec::new(),
            next_channel: 1,
            window: DEFAULT_WINDOW,
            delivered: LookupSet::new(StorageKey::Delivered),
            next_request_id: 1,
            next_sn: 1,
            next_req_id: 1,
            message_ttl: DEFAULT_MESSAGE_TTL_SECS * 1_000_000_000,
            allow_list_enforced: true,
            allow_suffixes: Vec::new(),
            allow_list: LookupSet::new(StorageKey::AllowList),
            deny_list: LookupSet::new(StorageKey::DenyList),
            fees: Fees {
                storage_byte_price: env::storage_byte_cost().as_yoctonear(),
                ..Fees::default()
            },
            pending: LookupMap::new(StorageKey::PendingV2),
            requests: LookupMap::new(StorageKey::RequestsV2),
            cross_calls: LookupMap::new(StorageKey::CrossCalls),
            sent_archive: LookupMap::new(StorageKey::SentArchive),
            received_archive: LookupMap::new(StorageKey::ReceivedArchive),
            legacy: records::Legacy::none(),
        };
        migrate::mark_v2();
        let admin = admin.unwrap_or_else(env::predecessor_account_id);
        require!(
            this.acl_init_super_admin(admin.clone()),
            ConnectorError::AclInit.as_str()
        );
        // Unchecked: the caller (a deployer) need not be the admin it installs.
        this.acl_get_or_init()
            .grant_role_unchecked(Role::Dao, &admin);
        this
    }
}

impl Connector {
    /// The channel everything new goes out on.
    pub(crate) fn require_current(&self) -> &Channel {
        self.current
            .as_ref()
            .unwrap_or_else(|| ConnectorError::LockerNotSet.panic())
    }

    /// Inbound calls never go to the connector itself, its light client, its Calimero executor
    /// or a denied account.
    pub(crate) fn is_refused_target(&self, target: &AccountId) -> bool {
        *target == env::current_account_id()
            || *target == self.light_client
            || *target == self.calimero_executor
            || self.deny_list.contains(target)
    }

    /// Whether `account` may send messages across.
    pub(crate) fn is_allowed_sender(&self, account: &AccountId) -> bool {
        !self.allow_list_enforced
            || self.allow_list.contains(account)
            || self
                .allow_suffixes
                .iter()
                .any(|suffix| account.as_str().ends_with(suffix.as_str()))
    }

    pub(crate) fn require_allowed_sender(&self, account: &AccountId) {
        if !self.is_allowed_sender(account) {
            ConnectorError::NotAllowed.panic();
        }
    }
}

/// 1-256 characters of `[A-Za-z0-9_]`: every method a NEAR contract exports in practice, and
/// never a `:` (Calimero's separator).
pub(crate) fn is_method_name(name: &str) -> bool {
    (1..=256).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Send `amount` back to `to` (nothing when zero).
pub(crate) fn refund(to: &AccountId, amount: u128) {
    if amount > 0 {
        // Scheduled when dropped.
        near_sdk::Promise::new(to.clone()).transfer(near_sdk::NearToken::from_yoctonear(amount));
    }
}

/// Whether the connector can keep `bytes` more of storage (a record it stakes for someone) and
/// still cover all of its storage, with [`STAKE_MARGIN_BYTES`] to spare. NEAR would otherwise
/// fail the receipt after the fact (`LackBalanceForState`); the connector refuses first.
pub(crate) fn can_stake(bytes: u64) -> bool {
    let used = env::storage_usage()
        .saturating_add(bytes)
        .saturating_add(STAKE_MARGIN_BYTES);
    let needed = u128::from(used).saturating_mul(env::storage_byte_cost().as_yoctonear());
    env::account_balance().as_yoctonear() >= needed
}

/// Register the connector reads promise results into.
const RESULT_REGISTER: u64 = u64::MAX - 7;

/// The first promise result of a callback, without keeping an oversized one: `None` when the
/// promise failed, `Some(Err(len))` when its value is longer than `max` bytes. The host copies
/// the whole value into the register first (and charges for it): callers carry
/// [`GAS_READ_MAX_RESULT`].
pub(crate) fn promise_result_bounded(max: usize) -> Option<Result<Vec<u8>, u64>> {
    // SAFETY: a plain host call writing into a register this contract owns; a callback always
    // has its promise result, so the host never aborts here.
    if unsafe { near_sys::promise_result(0, RESULT_REGISTER) } != 1 {
        return None;
    }
    let len = env::register_len(RESULT_REGISTER).unwrap_or(0);
    if len > max as u64 {
        return Some(Err(len));
    }
    Some(Ok(env::read_register(RESULT_REGISTER).unwrap_or_default()))
}

/// Whether the first promise result is a success (its value is not kept).
pub(crate) fn promise_succeeded() -> bool {
    promise_result_bounded(0).is_some()
}
