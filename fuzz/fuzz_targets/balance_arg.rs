//! `BalanceArg`, the hand-written JSON decoder of `cross_call`'s `destination_deposit` (any
//! Calimero dapp or user calls it): a JSON number or a decimal string. No panic; what it
//! accepts is a non-negative integer that reads back from the string it writes; negative
//! numbers, fractions and non-decimal strings are refused; and it agrees with `u128` parsing of
//! the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xsc_interfaces::BalanceArg;

fuzz_target!(|data: &[u8]| {
    let Ok(parsed) = serde_json::from_slice::<BalanceArg>(data) else {
        return;
    };
    let written = serde_json::to_string(&parsed).unwrap();
    assert_eq!(written, format!("\"{}\"", parsed.0));
    assert_eq!(
        serde_json::from_str::<BalanceArg>(&written).ok(),
        Some(parsed)
    );
    match serde_json::from_slice::<serde_json::Value>(data).unwrap() {
        serde_json::Value::Number(n) => {
            // A JSON number is accepted only as an integer that fits.
            assert!(n.is_u64() || n.is_i64(), "{n}");
            assert_eq!(n.to_string().parse::<u128>().ok(), Some(parsed.0));
        }
        serde_json::Value::String(s) => assert_eq!(s.parse::<u128>().ok(), Some(parsed.0)),
        other => panic!("accepted {other}"),
    }
});
