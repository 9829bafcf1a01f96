//! NEP-297 events (`EVENT_JSON:` logs), standard `xsc_light_client`.
//!
//! `block_accepted`, logged on every block, is written by hand (the same JSON near-sdk's event
//! macro produces, checked by a unit test) to keep serde_json off the per-block path; the rare
//! events use the macro.

use near_sdk::json_types::{U128, U64};
use near_sdk::{env, near, AccountId};
use xsc_core::CryptoHash;

#[near(event_json(standard = "xsc_light_client"))]
pub enum LightClientEvent {
    /// A block was accepted and is now the head.
    #[event_version("1.0.0")]
    BlockAccepted {
        height: U64,
        hash: CryptoHash,
        epoch_id: CryptoHash,
        /// The block started a new epoch.
        new_epoch: bool,
    },
    /// An authorised account replaced the head (recovery after relaying fell behind).
    #[event_version("1.0.0")]
    HeadReset {
        old_height: U64,
        old_hash: CryptoHash,
        new_height: U64,
        new_hash: CryptoHash,
        by: AccountId,
        reason: String,
    },
    /// The proof window's configuration changed.
    #[event_version("1.0.0")]
    WindowChanged {
        ring_size: u32,
        retention_hours: u32,
        checkpoint_interval_minutes: u32,
        by: AccountId,
    },
    /// A forwarded deposit came back (the receiver's call failed) and was sent to the relayer.
    #[event_version("1.0.0")]
    ForwardRefunded { sender_id: AccountId, amount: U128 },
    /// Blocks of the v0.1 window were removed after the retention.
    #[event_version("1.0.0")]
    LegacyPruned { removed: u32, left: u32 },
}

fn push_u64(out: &mut String, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    for &d in &digits[i..] {
        out.push(d as char);
    }
}

/// Log `block_accepted` without serde_json.
pub fn emit_block_accepted(height: u64, hash: &CryptoHash, epoch_id: &CryptoHash, new_epoch: bool) {
    env::log_str(&block_accepted_line(height, hash, epoch_id, new_epoch));
}

fn block_accepted_line(
    height: u64,
    hash: &CryptoHash,
    epoch_id: &CryptoHash,
    new_epoch: bool,
) -> String {
    let mut s = String::with_capacity(220);
    s.push_str(
        "EVENT_JSON:{\"standard\":\"xsc_light_client\",\"version\":\"1.0.0\",\"event\":\"block_accepted\",\"data\":{\"height\":\"",
    );
    push_u64(&mut s, height);
    s.push_str("\",\"hash\":\"");
    s.push_str(&bs58::encode(hash.0).into_string());
    s.push_str("\",\"epoch_id\":\"");
    s.push_str(&bs58::encode(epoch_id.0).into_string());
    s.push_str("\",\"new_epoch\":");
    s.push_str(if new_epoch { "true" } else { "false" });
    s.push_str("}}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hand_written_block_accepted_is_what_the_event_macro_writes() {
        for (height, new_epoch) in [(0, true), (7, false), (u64::MAX, true), (105233559, false)] {
            let hash = CryptoHash([3; 32]);
            let epoch_id = CryptoHash([0; 32]);
            let by_macro = format!(
                "EVENT_JSON:{}",
                LightClientEvent::BlockAccepted {
                    height: U64(height),
                    hash,
                    epoch_id,
                    new_epoch,
                }
                .to_json()
            );
            let by_hand = block_accepted_line(height, &hash, &epoch_id, new_epoch);
            let a: serde_json::Value = serde_json::from_str(&by_macro[11..]).unwrap();
            let b: serde_json::Value = serde_json::from_str(&by_hand[11..]).unwrap();
            assert_eq!(a, b, "{by_hand}");
        }
    }
}
