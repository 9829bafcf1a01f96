//! Who pays for storage. The window is allocated in full at initialisation (the deployer pays
//! it with the account's balance), so relaying a block normally changes no storage at all. What
//! can still grow is a producer table (a new epoch's set larger than the one it retires, or a
//! set added without one retired) and the window itself when a `ConfigManager` enlarges it.
//! Such a call must attach the cost of exactly the bytes it adds: the growth is computed from
//! the state before anything is written, and a deposit short of it is refused with
//! `ERR_STORAGE_DEPOSIT` (nothing changes). After the writes, the bytes really added are
//! measured and must match; the surplus, and the whole deposit of a call that adds nothing, is
//! refunded to the caller. Storage a call frees stays with the contract (it was paid by whoever
//! added it, possibly long ago).

use crate::error::ContractError;
use near_sdk::{env, NearToken, Promise};

/// The deposit a growth of `bytes` requires (nothing for a shrink).
pub fn cost_of(bytes: i64) -> u128 {
    u128::from(bytes.max(0) as u64).saturating_mul(env::storage_byte_cost().as_yoctonear())
}

/// Refuse the call unless the attached deposit covers `growth` bytes (computed before writing).
pub fn require_deposit(growth: i64) {
    let needed = cost_of(growth);
    let attached = env::attached_deposit().as_yoctonear();
    if attached < needed {
        env::panic_str(&format!(
            "{}: this call stores {growth} more bytes, attach {needed} yoctoNEAR (attached {attached})",
            ContractError::StorageDeposit.as_str()
        ));
    }
}

/// After the writes: the bytes really added since `usage_before` must be covered (they equal
/// the growth checked beforehand); refund the rest of the deposit to the caller.
pub fn settle(usage_before: u64) {
    let added = env::storage_usage() as i64 - usage_before as i64;
    require_deposit(added);
    let surplus = env::attached_deposit().as_yoctonear() - cost_of(added);
    if surplus > 0 {
        Promise::new(env::predecessor_account_id()).transfer(NearToken::from_yoctonear(surplus));
    }
}
