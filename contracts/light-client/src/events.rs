//! NEP-297 events (`EVENT_JSON:` logs), standard `xsc_light_client`.

use near_sdk::json_types::U64;
use near_sdk::{near, AccountId};
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
    /// The window of stored blocks was resized.
    #[event_version("1.0.0")]
    WindowResized {
        max_stored_blocks: u32,
        by: AccountId,
    },
}
