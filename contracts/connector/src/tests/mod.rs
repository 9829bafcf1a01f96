//! Unit tests with near-sdk's mocked blockchain. The connector under test is `connector.b.near`
//! on network `b`; its locker is `connector.a.near` on network `a`. Messages from the locker are
//! built with the shared formatting code of `xsc_interfaces` (exactly what the locker logs), or
//! taken from a second connector instance run on a second mocked chain (`e2e`).

mod admin;
mod calimero;
mod channels;
mod e2e;
mod fast_path;
mod gas;
mod migrate;
mod origin;
mod replay;
mod safety;
mod storage;
mod xcall;

use crate::{Connector, Role};
use near_plugins::AccessControllable;
use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::mock::MockAction;
use near_sdk::test_utils::{get_created_receipts, get_logs, VMContextBuilder};
use near_sdk::{
    test_vm_config, AccountId, Gas, MockedBlockchain, NearToken, PromiseResult, RuntimeFeesConfig,
};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use xsc_core::{CryptoHash, ExecutionStatusView, ProvenOutcome};
use xsc_interfaces::calimero::{CrossCallEvent, CrossResponseEvent};
use xsc_interfaces::TransportEvent;

pub const CONNECTOR: &str = "connector.b.near";
pub const LIGHT_CLIENT: &str = "lc.b.near";
pub const EXECUTOR: &str = "executor.b.near";
pub const LOCKER: &str = "connector.a.near";
pub const ADMIN: &str = "admin.b.near";
pub const RELAYER: &str = "relayer.b.near";
pub const DAPP: &str = "dapp.b.near";
pub const USER: &str = "user.b.near";
pub const REMOTE_DAPP: &str = "dapp.a.near";
pub const LOCAL_NET: &str = "b";
pub const REMOTE_NET: &str = "a";

pub const NEAR: u128 = 10u128.pow(24);
/// NEP-297 standards.
pub const XSC: &str = "xsc_connector";
pub const XCALL: &str = "xcall";
/// A block time well before any expiry used in the tests.
pub const NOW: u64 = 1_700_000_000_000_000_000;

pub fn acc(s: &str) -> AccountId {
    s.parse().unwrap()
}

/// Who calls, with what, when.
pub struct Call {
    pub current: &'static str,
    pub predecessor: String,
    pub signer: String,
    pub deposit: u128,
    pub gas: Gas,
    pub timestamp: u64,
    pub results: Vec<PromiseResult>,
    pub balance: u128,
}

impl Call {
    pub fn by(who: &str) -> Self {
        Call {
            current: CONNECTOR,
            predecessor: who.to_string(),
            signer: who.to_string(),
            deposit: 0,
            gas: Gas::from_tgas(300),
            timestamp: NOW,
            results: vec![],
            balance: 1000 * NEAR,
        }
    }
    /// A contract `who` called by `signer`.
    pub fn contract(who: &str, signer: &str) -> Self {
        Call {
            signer: signer.to_string(),
            ..Call::by(who)
        }
    }
    /// A callback of the connector with these promise results.
    pub fn callback(results: Vec<PromiseResult>) -> Self {
        Call {
            results,
            ..Call::by(CONNECTOR)
        }
    }
    pub fn deposit(mut self, yocto: u128) -> Self {
        self.deposit = yocto;
        self
    }
    pub fn gas(mut self, tgas: u64) -> Self {
        self.gas = Gas::from_tgas(tgas);
        self
    }
    pub fn at(mut self, timestamp: u64) -> Self {
        self.timestamp = timestamp;
        self
    }
    /// The connector's liquid balance (default 1000 NEAR).
    pub fn balance(mut self, yocto: u128) -> Self {
        self.balance = yocto;
        self
    }
    pub fn on(mut self, current: &'static str) -> Self {
        self.current = current;
        self
    }

    fn context(&self) -> near_sdk::VMContext {
        let mut ctx = VMContextBuilder::new();
        ctx.current_account_id(acc(self.current))
            .predecessor_account_id(acc(&self.predecessor))
            .signer_account_id(acc(&self.signer))
            .attached_deposit(NearToken::from_yoctonear(self.deposit))
            .prepaid_gas(self.gas)
            .block_timestamp(self.timestamp)
            .account_balance(NearToken::from_yoctonear(self.balance));
        ctx.build()
    }

    /// Make this the current call; storage carries over.
    pub fn set(self) {
        let storage = near_sdk::mock::with_mocked_blockchain(|b| b.take_storage());
        self.set_with_storage(storage);
    }

    pub fn set_with_storage(self, storage: HashMap<Vec<u8>, Vec<u8>>) {
        let context = self.context();
        near_sdk::env::set_blockchain_interface(MockedBlockchain::new(
            context,
            test_vm_config(),
            RuntimeFeesConfig::test(),
            self.results,
            storage,
            Default::default(),
            None,
        ));
    }
}

pub fn fresh_storage() {
    near_sdk::mock::with_mocked_blockchain(|b| {
        b.take_storage();
    });
}

/// `Connector::new` on chain b with this locker (fresh storage, called by the admin).
pub fn new_connector(locker: Option<&str>) -> Connector {
    fresh_storage();
    Call::by(ADMIN).set();
    Connector::new(
        acc(LIGHT_CLIENT),
        acc(EXECUTOR),
        LOCAL_NET.into(),
        REMOTE_NET.into(),
        locker.map(acc),
        None,
    )
}

/// A connector on chain b with locker `connector.a.near`, `dapp.b.near` allowed to send.
pub fn setup() -> Connector {
    let mut c = new_connector(Some(LOCKER));
    Call::by(ADMIN).set();
    c.allow(DAPP.into());
    c
}

pub fn grant(c: &mut Connector, role: Role, who: &str) {
    Call::by(ADMIN).set();
    assert!(c.acl_grant_role(role.into(), acc(who)).unwrap_or(false));
}

pub use xsc_vectors::panic_message;

/// Run `f`, expect a panic, return its message.
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(e) => panic_message(e),
    }
}

pub fn assert_err<R>(f: impl FnOnce() -> R, code: &str) {
    let msg = expect_panic(f);
    assert!(msg.starts_with(code), "expected {code}, got {msg}");
}

// --- messages the locker sends, as it logs them ---

pub fn cross_call_event(dest: &str, method: &str, args: &str, gas_tgas: u64) -> CrossCallEvent {
    CrossCallEvent {
        destination_contract_id: dest.into(),
        destination_contract_method: method.into(),
        destination_contract_args: args.as_bytes().to_vec(),
        destination_gas: Gas::from_tgas(gas_tgas).as_gas(),
        destination_deposit: 0,
        initiator: REMOTE_DAPP.into(),
        source_callback_method: "on_result".into(),
    }
}

/// The two lines `cross_call` on the locker logs.
pub fn cross_call_logs(nsn: u64, request_id: u64, call: &CrossCallEvent) -> Vec<String> {
    vec![
        call.to_log(),
        TransportEvent::CrossCall(xsc_interfaces::CalimeroMsg {
            dst: acc(CONNECTOR),
            net: LOCAL_NET.into(),
            nsn: U64(nsn),
            request_id: U64(request_id),
        })
        .to_log(),
    ]
}

/// The two lines the locker logs for a Calimero response to one of our requests.
pub fn cross_response_logs(nsn: u64, request_id: u64, result: Option<&[u8]>) -> Vec<String> {
    vec![
        CrossResponseEvent {
            source_contract: DAPP.into(),
            source_contract_method: "on_result".into(),
            result: result.map(|r| r.to_vec()),
            destination_contract: "greeter.a.near".into(),
        }
        .to_log(),
        TransportEvent::CrossCallResponse(xsc_interfaces::CalimeroMsg {
            dst: acc(CONNECTOR),
            net: LOCAL_NET.into(),
            nsn: U64(nsn),
            request_id: U64(request_id),
        })
        .to_log(),
    ]
}

pub fn xcall_message_log(nsn: u64, sn: u64, to: &str, data: &[u8], two_way: bool) -> String {
    xcall_message_log_from(
        nsn,
        sn,
        &format!("btp://{REMOTE_NET}/{REMOTE_DAPP}"),
        to,
        data,
        two_way,
    )
}

pub fn xcall_message_log_from(
    nsn: u64,
    sn: u64,
    from: &str,
    to: &str,
    data: &[u8],
    two_way: bool,
) -> String {
    xcall_message(nsn, sn, from, to, data, two_way).to_log()
}

/// An xCall message of the locker (one hour to live, no handler gas: the default applies).
pub fn xcall_message(
    nsn: u64,
    sn: u64,
    from: &str,
    to: &str,
    data: &[u8],
    two_way: bool,
) -> TransportEvent {
    TransportEvent::XcallMessage(xsc_interfaces::XcallMsg {
        dst: acc(CONNECTOR),
        net: LOCAL_NET.into(),
        nsn: U64(nsn),
        from: from.into(),
        to: acc(to),
        sn: U64(sn),
        data: Base64VecU8(data.to_vec()),
        rollback: two_way,
        expires_at: U64(NOW + 3600 * 1_000_000_000),
        handler_gas: None,
    })
}

pub fn xcall_response_log(nsn: u64, sn: u64, code: i32) -> String {
    TransportEvent::XcallResponse(xsc_interfaces::XcallResponseMsg {
        dst: acc(CONNECTOR),
        net: LOCAL_NET.into(),
        nsn: U64(nsn),
        sn: U64(sn),
        code,
        msg: if code == 0 {
            String::new()
        } else {
            "ERR_HANDLER_FAILED".into()
        },
    })
    .to_log()
}

/// The same messages as another locker would send them (`executor` of the outcome differs).
pub fn from_locker(logs: Vec<String>, locker: &str) -> ProvenOutcome {
    outcome(locker, ExecutionStatusView::SuccessValue(vec![]), logs)
}

/// What the light client returns for an outcome of `executor` with these logs.
pub fn outcome(executor: &str, status: ExecutionStatusView, logs: Vec<String>) -> ProvenOutcome {
    ProvenOutcome {
        id: CryptoHash([7; 32]),
        block_hash: CryptoHash([8; 32]),
        block_height: 100,
        executor_id: executor.into(),
        status,
        logs,
        receipt_ids: vec![],
        gas_burnt: 1,
        tokens_burnt: 1,
    }
}

pub fn ok_outcome(logs: Vec<String>) -> ProvenOutcome {
    outcome(LOCKER, ExecutionStatusView::SuccessValue(vec![]), logs)
}

/// Run the delivery callback as the light client's successful reply would.
pub fn verified(
    c: &mut Connector,
    kind: xsc_interfaces::MessageKind,
    deposit: u128,
    o: ProvenOutcome,
) {
    verified_with_gas(c, kind, deposit, o, 300)
}

pub fn verified_with_gas(
    c: &mut Connector,
    kind: xsc_interfaces::MessageKind,
    deposit: u128,
    o: ProvenOutcome,
    tgas: u64,
) {
    let bytes = borsh::to_vec(&o).unwrap();
    Call::callback(vec![PromiseResult::Successful(bytes)])
        .gas(tgas)
        .set();
    c.on_delivery_verified(
        kind,
        acc(RELAYER),
        near_sdk::json_types::U128(deposit),
        Ok(o),
    );
}

// --- inspecting what a call did ---

/// NEP-297 events of a standard in the current call's logs: (event, data).
pub fn events(standard: &str) -> Vec<(String, serde_json::Value)> {
    get_logs()
        .iter()
        .filter_map(|l| l.strip_prefix("EVENT_JSON:"))
        .filter_map(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .filter(|v| v["standard"] == standard)
        .map(|v| (v["event"].as_str().unwrap().to_string(), v["data"].clone()))
        .collect()
}

pub fn event(standard: &str, name: &str) -> serde_json::Value {
    events(standard)
        .into_iter()
        .find(|(e, _)| e == name)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no {standard}/{name} in {:?}", get_logs()))
}

/// Function calls created by the current call: (receiver, method, args, gas, deposit).
pub fn function_calls() -> Vec<(String, String, Vec<u8>, Gas, u128)> {
    get_created_receipts()
        .into_iter()
        .flat_map(|r| {
            let receiver = r.receiver_id.to_string();
            r.actions.into_iter().filter_map(move |a| match a {
                MockAction::FunctionCallWeight {
                    method_name,
                    args,
                    prepaid_gas,
                    attached_deposit,
                    ..
                } => Some((
                    receiver.clone(),
                    String::from_utf8(method_name).unwrap(),
                    args,
                    prepaid_gas,
                    attached_deposit.as_yoctonear(),
                )),
                _ => None,
            })
        })
        .collect()
}

/// Transfers created by the current call: (receiver, amount).
pub fn transfers() -> Vec<(String, u128)> {
    get_created_receipts()
        .into_iter()
        .flat_map(|r| {
            let receiver = r.receiver_id.to_string();
            r.actions.into_iter().filter_map(move |a| match a {
                MockAction::Transfer { deposit, .. } => {
                    Some((receiver.clone(), deposit.as_yoctonear()))
                }
                _ => None,
            })
        })
        .collect()
}

/// Bytes the account's storage takes, as NEAR counts them (key + value + 40 per record). The
/// mocked `env::storage_usage` restarts with every call, so it is computed from the trie; this
/// starts a new (neutral) call.
pub fn storage_usage() -> u64 {
    let storage = near_sdk::mock::with_mocked_blockchain(|b| b.take_storage());
    let bytes = storage
        .iter()
        .map(|(k, v)| (k.len() + v.len() + 40) as u64)
        .sum();
    Call::by(ADMIN).set_with_storage(storage);
    bytes
}

/// Write the contract's cached collections to storage (as the end of a wasm call does).
pub fn flush(c: &mut Connector) {
    c.pending.flush();
    c.requests.flush();
    c.cross_calls.flush();
    c.sent_archive.flush();
    c.received_archive.flush();
    c.legacy.pending.flush();
    c.legacy.requests.flush();
}

/// `send_call_message` with the IIP-52 arguments only.
pub fn send_message(
    c: &mut Connector,
    to: String,
    data: Vec<u8>,
    rollback: Option<Vec<u8>>,
) -> u64 {
    c.send_call_message(to, Base64VecU8(data), rollback.map(Base64VecU8), None, None)
        .0
}

/// Logs of the current call that are transport events of `kind`.
pub fn transport(kind: xsc_interfaces::MessageKind) -> Vec<TransportEvent> {
    get_logs()
        .iter()
        .filter_map(|l| TransportEvent::parse(l, kind))
        .collect()
}
