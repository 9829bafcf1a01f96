//! Errors of the contract itself; verification errors come from `xsc_core::Error` and keep
//! their `ERR_*` codes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractError {
    AclInit,
    InvalidWindow,
    UnknownRoot,
    ResetNotNewer,
    ResetNeedsNextBps,
    InvalidInput,
    ForwardMsgTooLong,
    NotEnoughGasToForward,
    StorageDeposit,
    CorruptState,
    LegacyRetained,
    NotMigratable,
    Private,
    BatchSize,
}

impl ContractError {
    pub const fn as_str(&self) -> &'static str {
        match self {
            ContractError::AclInit => "ERR_ACL_INIT: could not set up the admin",
            ContractError::InvalidWindow => {
                "ERR_INVALID_WINDOW: ring_size must be within 2..=512, retention_hours and checkpoint_interval_minutes at least 1, and at most 512 checkpoints (retention / interval + 1)"
            }
            ContractError::UnknownRoot => "ERR_UNKNOWN_ROOT: no trusted block at this height",
            ContractError::ResetNotNewer => {
                "ERR_RESET_NOT_NEWER: a reset must move the head forward"
            }
            ContractError::ResetNeedsNextBps => {
                "ERR_RESET_NEEDS_NEXT_BPS: the reset block must carry next_bps"
            }
            ContractError::InvalidInput => "ERR_INVALID_INPUT: arguments do not decode",
            ContractError::ForwardMsgTooLong => {
                "ERR_FORWARD_MSG_TOO_LONG: msg is longer than MAX_FORWARD_MSG bytes"
            }
            ContractError::NotEnoughGasToForward => {
                "ERR_NOT_ENOUGH_GAS: too little gas left to forward the outcome"
            }
            ContractError::StorageDeposit => {
                "ERR_STORAGE_DEPOSIT: the attached deposit does not cover the storage added"
            }
            ContractError::CorruptState => "ERR_CORRUPT_STATE: stored data is inconsistent",
            ContractError::LegacyRetained => {
                "ERR_LEGACY_RETAINED: the previous window stays provable until the retention has passed since the migration"
            }
            ContractError::Private => {
                "ERR_PRIVATE: only the contract itself may call this method"
            }
            ContractError::BatchSize => {
                "ERR_BATCH_SIZE: a batch holds 1 to MAX_FORWARD_BATCH outcomes"
            }
            ContractError::NotMigratable => {
                "ERR_NOT_MIGRATABLE: the stored state is not the v0.1 layout"
            }
        }
    }
}

impl core::fmt::Display for ContractError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
