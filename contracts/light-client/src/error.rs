//! Errors of the contract itself; verification errors come from `xsc_core::Error` and keep
//! their `ERR_*` codes.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContractError {
    AclInit,
    InvalidWindow,
    UnknownRoot,
    ResetNotNewer,
    ResetNeedsNextBps,
    InvalidProofArgs,
    ForwardMsgTooLong,
    NotEnoughGasToForward,
}

impl ContractError {
    pub const fn as_str(&self) -> &'static str {
        match self {
            ContractError::AclInit => "ERR_ACL_INIT: could not set up the admin",
            ContractError::InvalidWindow => {
                "ERR_INVALID_WINDOW: max_stored_blocks must be within 2..=100000"
            }
            ContractError::UnknownRoot => "ERR_UNKNOWN_ROOT: no trusted block at this height",
            ContractError::ResetNotNewer => {
                "ERR_RESET_NOT_NEWER: a reset must move the head forward"
            }
            ContractError::ResetNeedsNextBps => {
                "ERR_RESET_NEEDS_NEXT_BPS: the reset block must carry next_bps"
            }
            ContractError::InvalidProofArgs => "ERR_INVALID_INPUT: arguments do not decode",
            ContractError::ForwardMsgTooLong => {
                "ERR_FORWARD_MSG_TOO_LONG: msg is longer than MAX_FORWARD_MSG bytes"
            }
            ContractError::NotEnoughGasToForward => {
                "ERR_NOT_ENOUGH_GAS: too little gas left to forward the outcome"
            }
        }
    }
}

impl core::fmt::Display for ContractError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
