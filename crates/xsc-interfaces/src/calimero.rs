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
}
