//! Calimero's plain-text events, byte for byte as Calimero's connector writes them, so that
//! Calimero indexers and tooling keep working:
//!
//! ```text
//! CALIMERO_EVENT_CROSS_CALL:{destination_contract_id}:{destination_contract_method}:{base64(args)}:{destination_gas}:{destination_deposit}:{initiator}:{source_callback_method}
//! CALIMERO_EVENT_CROSS_RESPONSE:{source_contract}:{source_contract_method}:{base64(result) | FAILED!}:{destination_contract}
//! ```
//!
//! 8 and 5 colon-separated fields, no escaping: a field that may hold `:` must be rejected on the
//! sending side ([`field_is_safe`]). Base64 is standard with padding; numbers are decimal; an empty
//! result leaves the third response field empty. Calimero's format has no request id and no
//! sequence number: the connector logs a [`crate::TransportEvent`] right after each line.

use near_sdk::base64::{engine::general_purpose::STANDARD, Engine as _};

pub const CROSS_CALL_PREFIX: &str = "CALIMERO_EVENT_CROSS_CALL:";
pub const CROSS_RESPONSE_PREFIX: &str = "CALIMERO_EVENT_CROSS_RESPONSE:";
/// The result field of a response whose destination call failed.
pub const FAILED: &str = "FAILED!";

/// Why a line is not a Calimero event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line does not start with the event's prefix.
    Prefix,
    /// Not exactly 8 (call) or 5 (response) colon-separated fields.
    FieldCount,
    /// A base64 field does not decode.
    Base64,
    /// A gas or deposit field is not a decimal integer.
    Number,
}

/// A field may be written into a Calimero line only if it holds no `:`.
pub fn field_is_safe(field: &str) -> bool {
    !field.contains(':')
}

/// Split `rest` into exactly `N` colon-separated fields.
fn fields<const N: usize>(rest: &str) -> Result<[&str; N], ParseError> {
    let mut out = [""; N];
    let mut it = rest.split(':');
    for slot in out.iter_mut() {
        *slot = it.next().ok_or(ParseError::FieldCount)?;
    }
    if it.next().is_some() {
        return Err(ParseError::FieldCount);
    }
    Ok(out)
}

/// `CALIMERO_EVENT_CROSS_CALL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossCallEvent {
    pub destination_contract_id: String,
    pub destination_contract_method: String,
    /// The raw argument bytes (Calimero dapps pass JSON text); base64 in the line.
    pub destination_contract_args: Vec<u8>,
    pub destination_gas: u64,
    pub destination_deposit: u128,
    /// The account that called `cross_call` (the dapp); the response goes back to it.
    pub initiator: String,
    pub source_callback_method: String,
}

impl CrossCallEvent {
    /// The log line. The caller guarantees that no field holds `:` ([`field_is_safe`]).
    pub fn to_log(&self) -> String {
        format!(
            "{CROSS_CALL_PREFIX}{}:{}:{}:{}:{}:{}:{}",
            self.destination_contract_id,
            self.destination_contract_method,
            STANDARD.encode(&self.destination_contract_args),
            self.destination_gas,
            self.destination_deposit,
            self.initiator,
            self.source_callback_method
        )
    }

    pub fn parse(line: &str) -> Result<Self, ParseError> {
        let rest = line
            .strip_prefix(CROSS_CALL_PREFIX)
            .ok_or(ParseError::Prefix)?;
        let [dest, method, args, gas, deposit, initiator, callback] = fields::<7>(rest)?;
        Ok(CrossCallEvent {
            destination_contract_id: dest.into(),
            destination_contract_method: method.into(),
            destination_contract_args: STANDARD.decode(args).map_err(|_| ParseError::Base64)?,
            destination_gas: gas.parse().map_err(|_| ParseError::Number)?,
            destination_deposit: deposit.parse().map_err(|_| ParseError::Number)?,
            initiator: initiator.into(),
            source_callback_method: callback.into(),
        })
    }
}

/// `CALIMERO_EVENT_CROSS_RESPONSE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrossResponseEvent {
    /// The initiator of the cross call (on the chain the response goes back to).
    pub source_contract: String,
    /// Its callback method.
    pub source_contract_method: String,
    /// The destination's return value, `None` when the call failed (`FAILED!`).
    pub result: Option<Vec<u8>>,
    /// The contract that was called.
    pub destination_contract: String,
}

impl CrossResponseEvent {
    pub fn to_log(&self) -> String {
        let result = match &self.result {
            Some(bytes) => STANDARD.encode(bytes),
            None => FAILED.to_string(),
        };
        format!(
            "{CROSS_RESPONSE_PREFIX}{}:{}:{}:{}",
            self.source_contract, self.source_contract_method, result, self.destination_contract
        )
    }

    pub fn parse(line: &str) -> Result<Self, ParseError> {
        let rest = line
            .strip_prefix(CROSS_RESPONSE_PREFIX)
            .ok_or(ParseError::Prefix)?;
        let [source, method, result, dest] = fields::<4>(rest)?;
        let result = if result == FAILED {
            None
        } else {
            Some(STANDARD.decode(result).map_err(|_| ParseError::Base64)?)
        };
        Ok(CrossResponseEvent {
            source_contract: source.into(),
            source_contract_method: method.into(),
            result,
            destination_contract: dest.into(),
        })
    }
}

/// The reserved top-level key under which the receiving connector passes the remote initiator
/// of an inbound Calimero call to the destination: `"calimero_initiator_id": "<account on the
/// other chain>"`. It mirrors the `calimero_predecessor_id` of the source callback. Only the
/// connector writes it: arguments that already hold this string anywhere are refused.
pub const INITIATOR_KEY: &str = "calimero_initiator_id";

/// Why `destination_contract_args` cannot be carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgsError {
    /// The arguments already hold [`INITIATOR_KEY`] (as raw text, or as a JSON string once its
    /// escapes are decoded): only the connector may write it.
    ReservedKey,
    /// A JSON array: serde fills a struct's fields from an array by position, so a destination
    /// method would take a positional `calimero_initiator_id` from the sender. Refused.
    Array,
}

/// JSON's insignificant whitespace.
fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn first_significant(args: &[u8]) -> Option<(usize, u8)> {
    args.iter()
        .copied()
        .enumerate()
        .find(|(_, b)| !is_json_ws(*b))
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Whether any JSON string of `args` (keys and values, at any depth) decodes to `key`, which is
/// ASCII. A scan of string tokens only (no full parse): escapes such as `\u005f` cannot hide the
/// key from it. Text that is not JSON is scanned the same way, harmlessly.
fn holds_string(args: &[u8], key: &[u8]) -> bool {
    let mut i = 0;
    while i < args.len() {
        if args[i] != b'"' {
            i += 1;
            continue;
        }
        // A string token: decode it, comparing with `key` as it goes.
        i += 1;
        let mut matched = 0usize;
        let mut equal = true;
        let push = |c: u32, matched: &mut usize, equal: &mut bool| {
            if *equal && *matched < key.len() && c == u32::from(key[*matched]) {
                *matched += 1;
            } else {
                *equal = false;
            }
        };
        loop {
            let Some(&b) = args.get(i) else {
                return false;
            };
            i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = args.get(i) else {
                        return false;
                    };
                    i += 1;
                    let c = match e {
                        b'u' => {
                            let code = args.get(i..i + 4).and_then(|h| {
                                h.iter().try_fold(0u32, |acc, &d| Some(acc * 16 + hex(d)?))
                            });
                            match code {
                                Some(code) => {
                                    i += 4;
                                    code
                                }
                                None => u32::MAX,
                            }
                        }
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => 10,
                        b'r' => 13,
                        b't' => 9,
                        other => u32::from(other),
                    };
                    push(c, &mut matched, &mut equal);
                }
                other => push(u32::from(other), &mut matched, &mut equal),
            }
        }
        if equal && matched == key.len() {
            return true;
        }
    }
    false
}

/// Check `destination_contract_args` on the sending side: refused when they hold
/// [`INITIATOR_KEY`] anywhere or are a JSON array.
pub fn check_args(args: &[u8]) -> Result<(), ArgsError> {
    let key = INITIATOR_KEY.as_bytes();
    if args.windows(key.len()).any(|w| w == key) || holds_string(args, key) {
        return Err(ArgsError::ReservedKey);
    }
    if matches!(first_significant(args), Some((_, b'['))) {
        return Err(ArgsError::Array);
    }
    Ok(())
}

/// The arguments the destination of an inbound Calimero call receives: for a JSON object, the
/// same object with `"calimero_initiator_id": "<initiator>"` inserted as its first key; any
/// other argument bytes unchanged (the destination then learns no origin from them). Refused as
/// [`check_args`] refuses. `initiator` must be a valid account id (no character to escape).
pub fn with_initiator(args: &[u8], initiator: &str) -> Result<Vec<u8>, ArgsError> {
    check_args(args)?;
    let Some((open, b'{')) = first_significant(args) else {
        return Ok(args.to_vec());
    };
    let rest = &args[open + 1..];
    let empty = matches!(first_significant(rest), Some((_, b'}')));
    let mut out = Vec::with_capacity(args.len() + INITIATOR_KEY.len() + initiator.len() + 8);
    out.extend_from_slice(&args[..=open]);
    out.push(b'"');
    out.extend_from_slice(INITIATOR_KEY.as_bytes());
    out.extend_from_slice(b"\":\"");
    out.extend_from_slice(initiator.as_bytes());
    out.push(b'"');
    if !empty {
        out.push(b',');
    }
    out.extend_from_slice(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first_log(vector: &str) -> String {
        xsc_vectors::proof(vector).outcome_proof.outcome.logs[0].clone()
    }

    #[test]
    fn parses_the_real_calimero_cross_call_event() {
        let line = first_log("proofs/calimero-cross-call-event.json");
        let e = CrossCallEvent::parse(&line).unwrap();
        assert_eq!(
            e.destination_contract_id,
            "dev-1666269241011-86059863198522"
        );
        assert_eq!(e.destination_contract_method, "game_ended");
        let args: serde_json::Value = serde_json::from_slice(&e.destination_contract_args).unwrap();
        assert_eq!(args["game_id"], 0);
        assert_eq!(args["game"]["status"], "Tie");
        assert_eq!(e.destination_gas, 20_000_000_000_000);
        assert_eq!(e.destination_deposit, 0);
        assert_eq!(e.initiator, "testtictactoe.90.calimero.testnet");
        assert_eq!(e.source_callback_method, "callback_game_ended");
        // Formatting gives back exactly Calimero's line.
        assert_eq!(e.to_log(), line);
    }

    #[test]
    fn parses_the_real_calimero_cross_response_event() {
        let line = first_log("proofs/calimero-cross-response-event.json");
        let e = CrossResponseEvent::parse(&line).unwrap();
        assert_eq!(e.source_contract, "dev-1668382397562-28997434477113");
        assert_eq!(e.source_contract_method, "game_started");
        assert_eq!(e.result.as_deref(), Some(&b"1"[..]));
        assert_eq!(e.destination_contract, "tictactoe.rel42.calimero.testnet");
        assert_eq!(e.to_log(), line);
    }

    #[test]
    fn failed_and_empty_results_round_trip() {
        let mut e = CrossResponseEvent {
            source_contract: "dapp.a.near".into(),
            source_contract_method: "on_result".into(),
            result: None,
            destination_contract: "greeter.b.near".into(),
        };
        let line = e.to_log();
        assert_eq!(
            line,
            "CALIMERO_EVENT_CROSS_RESPONSE:dapp.a.near:on_result:FAILED!:greeter.b.near"
        );
        assert_eq!(CrossResponseEvent::parse(&line).unwrap(), e);
        e.result = Some(vec![]);
        let line = e.to_log();
        assert_eq!(
            line,
            "CALIMERO_EVENT_CROSS_RESPONSE:dapp.a.near:on_result::greeter.b.near"
        );
        assert_eq!(CrossResponseEvent::parse(&line).unwrap(), e);
    }

    #[test]
    fn malformed_lines_are_rejected() {
        let ok = "CALIMERO_EVENT_CROSS_CALL:a.near:m:e30=:1:0:b.near:cb";
        assert!(CrossCallEvent::parse(ok).is_ok());
        assert_eq!(
            CrossCallEvent::parse("CALIMERO_EVENT_CROSS_CALL:a.near:m:e30=:1:0:b.near:cb:extra"),
            Err(ParseError::FieldCount)
        );
        assert_eq!(
            CrossCallEvent::parse("CALIMERO_EVENT_CROSS_CALL:a.near:m:e30=:1:0:b.near"),
            Err(ParseError::FieldCount)
        );
        assert_eq!(
            CrossCallEvent::parse("CALIMERO_EVENT_CROSS_CALL:a.near:m:!!:1:0:b.near:cb"),
            Err(ParseError::Base64)
        );
        assert_eq!(
            CrossCallEvent::parse("CALIMERO_EVENT_CROSS_CALL:a.near:m:e30=:x:0:b.near:cb"),
            Err(ParseError::Number)
        );
        assert_eq!(
            CrossCallEvent::parse("EVENT_JSON:{}"),
            Err(ParseError::Prefix)
        );
        assert_eq!(
            CrossResponseEvent::parse("CALIMERO_EVENT_CROSS_RESPONSE:a:b:c"),
            Err(ParseError::FieldCount)
        );
        assert!(!field_is_safe("a:b"));
        assert!(field_is_safe("method_name"));
    }

    #[test]
    fn the_initiator_is_inserted_first_into_json_objects_only() {
        let with = |a: &str| {
            String::from_utf8(with_initiator(a.as_bytes(), "dapp.a.near").unwrap()).unwrap()
        };
        assert_eq!(
            with(r#"{"name":"ada"}"#),
            r#"{"calimero_initiator_id":"dapp.a.near","name":"ada"}"#
        );
        assert_eq!(with("{}"), r#"{"calimero_initiator_id":"dapp.a.near"}"#);
        assert_eq!(
            with(" \n{ } "),
            " \n{\"calimero_initiator_id\":\"dapp.a.near\" } "
        );
        // What comes out is JSON whose top-level key is the initiator.
        let v: serde_json::Value =
            serde_json::from_str(&with(r#" {"a": {"b": [1, "x"]}, "c": null}"#)).unwrap();
        assert_eq!(v["calimero_initiator_id"], "dapp.a.near");
        assert_eq!(v["a"]["b"][1], "x");
        // Not an object: unchanged (no origin).
        for other in ["", "\"text\"", "42", "null", "not json", "\u{0}\u{1}borsh"] {
            assert_eq!(with(other), other);
        }
    }

    #[test]
    fn arguments_holding_the_reserved_key_or_an_array_are_refused() {
        for bad in [
            r#"{"calimero_initiator_id":"victim.a.near"}"#,
            r#"{"a":{"calimero_initiator_id":"victim.a.near"}}"#,
            r#"{"a":"calimero_initiator_id"}"#,
            // Escapes cannot hide it from a parser that decodes keys.
            r#"{"calimero\u005finitiator_id":"victim.a.near"}"#,
            r#"{"\u0063alimero_initiator_id":"victim.a.near"}"#,
            r#"{"calimero_initiator\u005Fid":"victim.a.near"}"#,
            // Not even inside a longer key or in text that is not JSON.
            r#"{"calimero_initiator_idx":"x"}"#,
            r#"{"a":"\"calimero_initiator_id"}"#,
            "xxcalimero_initiator_idxx",
        ] {
            assert_eq!(
                check_args(bad.as_bytes()),
                Err(ArgsError::ReservedKey),
                "{bad}"
            );
            assert_eq!(
                with_initiator(bad.as_bytes(), "a.near"),
                Err(ArgsError::ReservedKey),
                "{bad}"
            );
        }
        // serde fills a struct's fields from an array by position: refused.
        for bad in [r#"["1000000","victim.a.near"]"#, " \t[1]", "[]"] {
            assert_eq!(check_args(bad.as_bytes()), Err(ArgsError::Array), "{bad}");
        }
        // Near misses pass.
        for ok in [
            r#"{"calimero_initiator":"x"}"#,
            r#"{"calimero_initiatorid":"x"}"#,
            r#"{"calimero\u005finitiator":"x"}"#,
            r#"{"unterminated"#,
            r#"{"bad escape \u00"#,
        ] {
            assert_eq!(check_args(ok.as_bytes()), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_struct_parser_sees_the_connectors_initiator_only() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Args {
            amount: String,
            calimero_initiator_id: String,
        }
        let out = with_initiator(br#"{"amount":"5"}"#, "alice.a.near").unwrap();
        let a: Args = serde_json::from_slice(&out).unwrap();
        assert_eq!(a.calimero_initiator_id, "alice.a.near");
        // Without an object the field cannot be filled (arrays are refused above).
        assert!(serde_json::from_slice::<Args>(&with_initiator(b"42", "x.near").unwrap()).is_err());
    }

    proptest::proptest! {
        /// Whatever the other chain sends: no panic; an object gets the initiator as its only
        /// `calimero_initiator_id` (a parser sees ours or refuses the text); anything else is
        /// passed unchanged or refused.
        #[test]
        fn any_arguments_are_refused_passed_unchanged_or_given_exactly_our_initiator(
            args in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            json in proptest::prelude::any::<std::collections::BTreeMap<String, u32>>(),
        ) {
            for input in [args, serde_json::to_vec(&json).unwrap()] {
                match with_initiator(&input, "alice.near") {
                    Err(ArgsError::ReservedKey) => {
                        let key = INITIATOR_KEY.as_bytes();
                        let raw = input.windows(key.len()).any(|w| w == key);
                        let parsed = serde_json::from_slice::<serde_json::Value>(&input).ok();
                        let decoded = parsed.as_ref().is_some_and(|v| v.to_string().contains(INITIATOR_KEY));
                        proptest::prop_assert!(raw || decoded || holds_string(&input, key));
                    }
                    Err(ArgsError::Array) => {
                        proptest::prop_assert_eq!(first_significant(&input).map(|(_, b)| b), Some(b'['));
                    }
                    Ok(out) if matches!(first_significant(&input), Some((_, b'{'))) => {
                        let before = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&input);
                        let after = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&out);
                        proptest::prop_assert_eq!(before.is_ok(), after.is_ok());
                        if let (Ok(mut before), Ok(after)) = (before, after) {
                            proptest::prop_assert_eq!(&after[INITIATOR_KEY], "alice.near");
                            before.insert(INITIATOR_KEY.into(), "alice.near".into());
                            proptest::prop_assert_eq!(before, after);
                        }
                    }
                    Ok(out) => proptest::prop_assert_eq!(out, input),
                }
            }
        }
    }
}
