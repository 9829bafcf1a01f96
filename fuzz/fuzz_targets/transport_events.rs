//! The connector's transport events (`EVENT_JSON:{"standard":"xsc_connector",…}`) and the
//! xCall messages they carry, as the receiving connector's `select` reads proven logs. Any
//! line (raw, or after a kind's prefix so that the JSON parser is reached): no panic, one kind
//! at most, and what parses reads back from its own line. Any message a connector formats
//! (arbitrary strings, data, numbers): its line reads back as exactly that message, of its
//! kind only.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::AccountId;
use xsc_interfaces::{CalimeroMsg, MessageKind, TransportEvent, XcallMsg, XcallResponseMsg};

#[derive(Arbitrary, Debug)]
enum Input {
    Line(String),
    Prefixed {
        kind: u8,
        rest: String,
    },
    Calimero {
        response: bool,
        dst: String,
        net: String,
        nsn: u64,
        request_id: u64,
    },
    Xcall {
        dst: String,
        net: String,
        nsn: u64,
        from: String,
        to: String,
        sn: u64,
        data: Vec<u8>,
        rollback: bool,
        expires_at: u64,
        handler_gas: Option<u64>,
    },
    Response {
        dst: String,
        net: String,
        nsn: u64,
        sn: u64,
        code: i32,
        msg: String,
    },
}

fn account(s: &str) -> AccountId {
    s.parse().unwrap_or_else(|_| "conn.near".parse().unwrap())
}

fuzz_target!(|input: Input| {
    let event = match input {
        Input::Line(line) => return xsc_fuzz::check_log_line(&line),
        Input::Prefixed { kind, rest } => {
            let kind = MessageKind::ALL[kind as usize % 4];
            return xsc_fuzz::check_log_line(&format!("{}{rest}", kind.log_prefix()));
        }
        Input::Calimero {
            response,
            dst,
            net,
            nsn,
            request_id,
        } => {
            let m = CalimeroMsg {
                dst: account(&dst),
                net,
                nsn: U64(nsn),
                request_id: U64(request_id),
            };
            if response {
                TransportEvent::CrossCallResponse(m)
            } else {
                TransportEvent::CrossCall(m)
            }
        }
        Input::Xcall {
            dst,
            net,
            nsn,
            from,
            to,
            sn,
            data,
            rollback,
            expires_at,
            handler_gas,
        } => TransportEvent::XcallMessage(XcallMsg {
            dst: account(&dst),
            net,
            nsn: U64(nsn),
            from,
            to: account(&to),
            sn: U64(sn),
            data: Base64VecU8(data),
            rollback,
            expires_at: U64(expires_at),
            handler_gas: handler_gas.map(U64),
        }),
        Input::Response {
            dst,
            net,
            nsn,
            sn,
            code,
            msg,
        } => TransportEvent::XcallResponse(XcallResponseMsg {
            dst: account(&dst),
            net,
            nsn: U64(nsn),
            sn: U64(sn),
            code,
            msg,
        }),
    };
    let line = event.to_log();
    xsc_fuzz::check_log_line(&line);
    for kind in MessageKind::ALL {
        let expected = (kind == event.kind()).then(|| event.clone());
        assert_eq!(TransportEvent::parse(&line, kind), expected, "{line}");
    }
    assert_eq!(TransportEvent::parse_any(&line), Some(event));
});
