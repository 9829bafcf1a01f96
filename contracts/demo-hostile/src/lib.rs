//! A hostile destination for the adversarial sandbox suites (`crates/xsc-devnet/tests`): it
//! tries to strand the connector's state by what it returns or burns.
//!
//! - `big(len)` returns `len` zero bytes (NEAR's largest result is 4 MiB): a connector callback that
//!   reads the result must have the gas to copy it.
//! - `burn()` loops until it runs out of gas.
//! - `handle_call_message(from, data)`: the xCall entry point; `data` = `"big"` returns 2 MiB
//!   (returning a result to a callback costs its producer ≈ 72 Tgas per MiB on protocol 86, so
//!   no handler can afford NEAR's 4 MiB there),
//!   `"burn"` burns all gas, data holding `fail` panics, anything else succeeds. It counts its
//!   successful calls.
//!
//! Not a demo to copy: it exists to be attacked with.

use near_sdk::json_types::{Base64VecU8, U64};
use near_sdk::{env, near};

/// NEAR's largest return value.
pub const MAX_RESULT: u64 = 4 * 1024 * 1024;

#[near(contract_state)]
#[derive(Default)]
pub struct Hostile {
    calls: u64,
}

fn return_bytes(len: u64) {
    let len = len.min(MAX_RESULT) as usize;
    // Zeroes: the allocator takes them from fresh (already zero) memory without writing 4 MiB
    // byte by byte in wasm.
    env::value_return(&vec![0u8; len]);
}

fn burn_all_gas() -> ! {
    // Storage reads cost gas and cannot be optimised away: loop until the gas runs out.
    let mut i: u64 = 0;
    loop {
        i = i.wrapping_add(1);
        if env::storage_has_key(&i.to_le_bytes()) {
            env::log_str("never");
        }
    }
}

#[near]
impl Hostile {
    /// Returns `len` zero bytes (at most 4 MiB), raw (not JSON).
    pub fn big(&mut self, len: U64) {
        self.calls += 1;
        return_bytes(len.0);
    }

    /// Burns all its gas.
    pub fn burn(&mut self) {
        burn_all_gas()
    }

    /// xCall: `"big"` returns 2 MiB, `"burn"` burns all gas, data holding `fail` panics,
    /// anything else succeeds.
    pub fn handle_call_message(&mut self, from: String, data: Base64VecU8) {
        if data.0.windows(4).any(|w| w == b"fail") {
            env::panic_str("ERR_HOSTILE_FAIL: asked to fail");
        }
        self.calls += 1;
        env::log_str(&["hostile: message from ", &from].concat());
        match data.0.as_slice() {
            b"big" => return_bytes(MAX_RESULT / 2),
            b"burn" => burn_all_gas(),
            _ => {}
        }
    }

    pub fn calls(&self) -> U64 {
        U64(self.calls)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use near_sdk::test_utils::VMContextBuilder;
    use near_sdk::testing_env;

    #[test]
    fn big_returns_at_most_four_mib() {
        testing_env!(VMContextBuilder::new().build());
        let mut h = Hostile::default();
        h.big(U64(10));
        assert_eq!(h.calls().0, 1);
        h.handle_call_message("btp://a/x.near".into(), Base64VecU8(b"ok".to_vec()));
        assert_eq!(h.calls().0, 2);
    }
}
