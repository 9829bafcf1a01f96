//! `calimero_initiator_id` injection (`xsc_interfaces::calimero::with_initiator`): the
//! destination of an inbound Calimero call learns the remote initiator from this one key,
//! which only the connector may write. Arguments come from the other chain's sender. For any
//! bytes: no panic; `check_args` and `with_initiator` refuse alike; accepted arguments never
//! hold the key (raw or as any decoded JSON string, key or value, at any depth); an object
//! comes out as JSON exactly when it went in, then as the same object plus our key, and the
//! key appears once in the whole document (top level, ours); anything else passes unchanged
//! and is never an array.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use near_sdk::AccountId;
use serde_json::{Map, Value};
use xsc_interfaces::calimero::{check_args, with_initiator, ArgsError, INITIATOR_KEY};

#[derive(Arbitrary, Debug)]
struct Input {
    args: Vec<u8>,
    initiator: String,
    /// Put the arguments after `{` so that objects are reached quickly.
    object: bool,
}

/// Occurrences of `key` as an object key (and, with `values`, as a string value) anywhere in
/// `v`.
fn count(v: &Value, key: &str, values: bool) -> usize {
    match v {
        Value::String(s) => usize::from(values && s == key),
        Value::Array(a) => a.iter().map(|x| count(x, key, values)).sum(),
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| usize::from(k == key) + count(x, key, values))
            .sum(),
        _ => 0,
    }
}

fn first_significant(b: &[u8]) -> Option<u8> {
    b.iter()
        .copied()
        .find(|c| !matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
}

fuzz_target!(|input: Input| {
    // The connector passes a valid account id (the proven line's initiator, parsed).
    let initiator: AccountId = input
        .initiator
        .parse()
        .unwrap_or_else(|_| "alice.near".parse().unwrap());
    let mut args = input.args;
    if input.object {
        args.insert(0, b'{');
    }
    let checked = check_args(&args);
    let out = with_initiator(&args, initiator.as_str());
    assert_eq!(checked, out.as_ref().map(|_| ()).map_err(|e| *e));
    let out = match out {
        Err(ArgsError::Array) => return assert_eq!(first_significant(&args), Some(b'[')),
        Err(ArgsError::ReservedKey) => return,
        Ok(out) => out,
    };
    let key = INITIATOR_KEY.as_bytes();
    assert!(!args.windows(key.len()).any(|w| w == key));
    let before = serde_json::from_slice::<Value>(&args);
    if let Ok(v) = &before {
        assert_eq!(count(v, INITIATOR_KEY, true), 0, "the key hides in {v}");
        assert!(!v.is_array());
    }
    if first_significant(&args) != Some(b'{') {
        assert_eq!(out, args);
        return;
    }
    let before = serde_json::from_slice::<Map<String, Value>>(&args);
    let after = serde_json::from_slice::<Map<String, Value>>(&out);
    assert_eq!(
        before.is_ok(),
        after.is_ok(),
        "{:?}",
        String::from_utf8_lossy(&out)
    );
    // Whatever a destination's JSON parser makes of the output, the key is ours alone.
    if let Ok(v) = serde_json::from_slice::<Value>(&out) {
        assert_eq!(count(&v, INITIATOR_KEY, false), 1, "{v}");
        assert_eq!(v[INITIATOR_KEY], initiator.as_str());
    }
    if let (Ok(mut before), Ok(after)) = (before, after) {
        before.insert(INITIATOR_KEY.into(), initiator.as_str().into());
        assert_eq!(before, after);
    }
});
