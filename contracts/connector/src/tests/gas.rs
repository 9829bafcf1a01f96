//! No griefing by gas, no stranded state: the sender fixes the least gas its handler gets and
//! nobody can execute with less; every callback that reads a result survives the largest one.

use super::*;
use crate::xcall::execute_gas;
use crate::{
    MessageState, DEFAULT_HANDLER_GAS, GAS_CROSS_CALL_DONE, GAS_EXECUTE_OVERHEAD, GAS_ON_EXECUTED,
    GAS_READ_MAX_RESULT,
};
use xsc_interfaces::MessageKind;

fn to() -> String {
    format!("btp://{REMOTE_NET}/{REMOTE_DAPP}")
}

fn send_with_gas(c: &mut Connector, handler_gas: Option<Gas>, two_way: bool) -> u64 {
    Call::contract(DAPP, USER).deposit(NEAR).set();
    c.send_call_message(
        to(),
        Base64VecU8(vec![1]),
        two_way.then(|| Base64VecU8(vec![2])),
        handler_gas,
        None,
    )
    .0
}

/// A message of the locker asking for `handler_gas`.
fn receive_with_gas(c: &mut Connector, nsn: u64, handler_gas: Option<u64>, two_way: bool) {
    let mut m = xcall_message(nsn, 5, &to_remote(), DAPP, b"hi", two_way);
    if let TransportEvent::XcallMessage(x) = &mut m {
        x.handler_gas = handler_gas.map(U64);
    }
    verified(
        c,
        MessageKind::XcallMessage,
        0,
        ok_outcome(vec![m.to_log()]),
    );
}

fn to_remote() -> String {
    format!("btp://{REMOTE_NET}/{REMOTE_DAPP}")
}

#[test]
fn the_sender_fixes_the_handler_gas_within_bounds_and_it_travels_in_the_message() {
    let mut c = setup();
    send_with_gas(&mut c, Some(Gas::from_tgas(120)), true);
    let TransportEvent::XcallMessage(m) = transport(MessageKind::XcallMessage).remove(0) else {
        unreachable!()
    };
    assert_eq!(m.handler_gas, Some(U64(Gas::from_tgas(120).as_gas())));
    assert_eq!(
        c.get_pending_message(U64(1)).unwrap().handler_gas,
        U64(Gas::from_tgas(120).as_gas())
    );
    for bad in [Gas::from_tgas(4), Gas::from_tgas(201), Gas::from_gas(0)] {
        assert_err(
            || send_with_gas(&mut c, Some(bad), false),
            "ERR_HANDLER_GAS",
        );
    }
    send_with_gas(&mut c, Some(Gas::from_tgas(5)), false);
    send_with_gas(&mut c, Some(Gas::from_tgas(200)), false);
}

#[test]
fn execute_call_refuses_to_starve_the_handler_and_changes_nothing() {
    let mut c = setup();
    receive_with_gas(&mut c, 0, Some(Gas::from_tgas(100).as_gas()), true);
    let need = execute_gas(Gas::from_tgas(100).as_gas());
    assert_eq!(
        need,
        GAS_EXECUTE_OVERHEAD
            .saturating_add(Gas::from_tgas(100))
            .saturating_add(GAS_ON_EXECUTED)
    );
    assert_eq!(
        c.get_request(U64(1)).unwrap().execute_gas,
        U64(need.as_gas())
    );
    // One gas short: refused, the request untouched, nothing reported back.
    Call::by("griefer.b.near").gas(0).set();
    let mut ctx_gas = need.as_gas() - 1;
    let msg = {
        let storage = near_sdk::mock::with_mocked_blockchain(|b| b.take_storage());
        let mut call = Call::by("griefer.b.near");
        call.gas = Gas::from_gas(ctx_gas);
        call.set_with_storage(storage);
        expect_panic(|| c.execute_call(U64(1)))
    };
    assert!(msg.starts_with("ERR_NOT_ENOUGH_GAS"), "{msg}");
    assert_eq!(c.request_state(U64(1)), MessageState::Delivered);
    // Enough: the handler gets at least what the sender asked, and all the rest.
    ctx_gas += 1;
    let storage = near_sdk::mock::with_mocked_blockchain(|b| b.take_storage());
    let mut call = Call::by("anyone.b.near");
    call.gas = Gas::from_gas(ctx_gas);
    call.set_with_storage(storage);
    c.execute_call(U64(1));
    let calls = function_calls();
    assert_eq!(calls[0].1, "handle_call_message");
    assert_eq!(calls[0].3, Gas::from_tgas(100));
    assert_eq!(
        (calls[1].1.as_str(), calls[1].3),
        ("on_call_executed", GAS_ON_EXECUTED)
    );
    assert_eq!(c.request_state(U64(1)), MessageState::Executing);
}

#[test]
fn execute_rollback_gives_the_rollback_handler_the_senders_gas_too() {
    let mut c = setup();
    let sn = send_with_gas(&mut c, Some(Gas::from_tgas(50)), true);
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(0, sn, -1)]),
    );
    let need = execute_gas(Gas::from_tgas(50).as_gas()).as_tgas();
    Call::by(USER).gas(need - 1).set();
    assert_err(|| c.execute_rollback(U64(sn)), "ERR_NOT_ENOUGH_GAS");
    assert_eq!(c.message_state(U64(sn)), MessageState::ExecutionFailed);
    Call::by(USER).gas(need).set();
    c.execute_rollback(U64(sn));
    assert_eq!(function_calls()[0].3, Gas::from_tgas(50));
}

#[test]
fn a_message_without_handler_gas_gets_the_default_and_an_impossible_one_is_refused() {
    let mut c = setup();
    // From a connector that predates the field: the default.
    receive_with_gas(&mut c, 0, None, false);
    assert_eq!(
        c.get_request(U64(1)).unwrap().handler_gas,
        U64(DEFAULT_HANDLER_GAS.as_gas())
    );
    // From a locker asking for more than any transaction can give: refused at once, answered.
    receive_with_gas(&mut c, 1, Some(Gas::from_tgas(290).as_gas()), true);
    assert_eq!(event(XSC, "message_refused")["code"], "ERR_HANDLER_GAS");
    let TransportEvent::XcallResponse(r) = transport(MessageKind::XcallResponse).remove(0) else {
        unreachable!()
    };
    assert_eq!((r.code, r.msg.as_str()), (-1, "ERR_HANDLER_GAS"));
    assert_eq!(c.request_state(U64(2)), MessageState::Unknown);
}

#[test]
fn every_result_reading_callback_carries_the_gas_of_the_largest_result() {
    // 4 MiB copied into a register at the protocol's write_register_byte cost.
    let copy = Gas::from_gas(4 * 1024 * 1024 * 3_801_564);
    assert!(GAS_READ_MAX_RESULT > copy);
    assert!(GAS_CROSS_CALL_DONE > GAS_READ_MAX_RESULT);
    assert!(GAS_ON_EXECUTED > GAS_READ_MAX_RESULT);
}

#[test]
fn a_handler_returning_the_largest_result_still_clears_the_request() {
    let mut c = setup();
    receive_with_gas(&mut c, 0, None, true);
    Call::by(USER).gas(100).set();
    c.execute_call(U64(1));
    Call::callback(vec![PromiseResult::Successful(vec![7; 4 << 20])]).set();
    c.on_call_executed(1);
    assert_eq!(c.request_state(U64(1)), MessageState::ExecutedOk);
    let TransportEvent::XcallResponse(r) = transport(MessageKind::XcallResponse).remove(0) else {
        unreachable!()
    };
    assert_eq!(r.code, 0);
    // The same for a rollback handler.
    let sn = send_with_gas(&mut c, None, true);
    verified(
        &mut c,
        MessageKind::XcallResponse,
        0,
        ok_outcome(vec![xcall_response_log(1, sn, -1)]),
    );
    Call::by(USER).gas(100).set();
    c.execute_rollback(U64(sn));
    Call::callback(vec![PromiseResult::Successful(vec![7; 4 << 20])]).set();
    c.on_rollback_executed(sn);
    assert_eq!(c.message_state(U64(sn)), MessageState::RolledBack);
}
