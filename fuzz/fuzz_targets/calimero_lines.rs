//! Calimero event lines (`CALIMERO_EVENT_CROSS_CALL`, `CALIMERO_EVENT_CROSS_RESPONSE`), as the
//! receiving connector reads them from proven logs. Any line: no panic, and a parsed event
//! reads back from the line it formats to. Any event a sender can cause (fields without `:`,
//! which the sending connector enforces): its line reads back as exactly that event, so no
//! field can spill into another.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use xsc_interfaces::calimero::{
    field_is_safe, CrossCallEvent, CrossResponseEvent, CROSS_CALL_PREFIX, CROSS_RESPONSE_PREFIX,
};

#[derive(Arbitrary, Debug)]
enum Input {
    Line(String),
    CallLine(String),
    ResponseLine(String),
    Call {
        destination_contract_id: String,
        destination_contract_method: String,
        destination_contract_args: Vec<u8>,
        destination_gas: u64,
        destination_deposit: u128,
        initiator: String,
        source_callback_method: String,
    },
    Response {
        source_contract: String,
        source_contract_method: String,
        result: Option<Vec<u8>>,
        destination_contract: String,
    },
}

fuzz_target!(|input: Input| {
    match input {
        Input::Line(line) => xsc_fuzz::check_log_line(&line),
        Input::CallLine(rest) => xsc_fuzz::check_log_line(&format!("{CROSS_CALL_PREFIX}{rest}")),
        Input::ResponseLine(rest) => {
            xsc_fuzz::check_log_line(&format!("{CROSS_RESPONSE_PREFIX}{rest}"))
        }
        Input::Call {
            destination_contract_id,
            destination_contract_method,
            destination_contract_args,
            destination_gas,
            destination_deposit,
            initiator,
            source_callback_method,
        } => {
            let e = CrossCallEvent {
                destination_contract_id,
                destination_contract_method,
                destination_contract_args,
                destination_gas,
                destination_deposit,
                initiator,
                source_callback_method,
            };
            let line = e.to_log();
            xsc_fuzz::check_log_line(&line);
            let safe = [
                &e.destination_contract_id,
                &e.destination_contract_method,
                &e.initiator,
                &e.source_callback_method,
            ]
            .iter()
            .all(|f| field_is_safe(f));
            if safe {
                assert_eq!(CrossCallEvent::parse(&line), Ok(e));
                assert!(CrossResponseEvent::parse(&line).is_err());
            }
        }
        Input::Response {
            source_contract,
            source_contract_method,
            result,
            destination_contract,
        } => {
            let e = CrossResponseEvent {
                source_contract,
                source_contract_method,
                result,
                destination_contract,
            };
            let line = e.to_log();
            xsc_fuzz::check_log_line(&line);
            let safe = [
                &e.source_contract,
                &e.source_contract_method,
                &e.destination_contract,
            ]
            .iter()
            .all(|f| field_is_safe(f));
            if safe {
                assert_eq!(CrossResponseEvent::parse(&line), Ok(e));
                assert!(CrossCallEvent::parse(&line).is_err());
            }
        }
    }
});
