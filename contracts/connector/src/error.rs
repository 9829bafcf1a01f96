//! Errors. Each renders a stable `ERR_*` code followed by a human explanation; the contract
//! panics with exactly this text and events carry the code alone ([`ConnectorError::code`]).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectorError {
    // --- set-up and administration ---
    AclInit,
    InvalidNetwork,
    LockerNotSet,
    LockerReused,
    InvalidWindow,
    InvalidTtl,
    InvalidRule,
    TooManyRules,
    NoFeeHandler,
    NoFeeCollector,
    NothingToClaim,
    InvalidExecutor,
    TooManyChannels,
    ChannelNotRetired,
    Migration,

    // --- sending ---
    NotAllowed,
    InvalidMethodName,
    ArgsTooLarge,
    DestinationGas,
    DestinationDeposit,
    UnknownNetwork,
    InvalidAddress,
    DataTooLarge,
    RollbackTooLarge,
    RollbackNotContract,
    InsufficientFee,
    ReservedArgs,
    ArgsArray,
    ReservedMethod,
    HandlerGas,
    ConnectorBalance,

    // --- deliveries ---
    WrongExecutor,
    OutcomeNotSuccess,
    NoMessage,
    AlreadyDelivered,
    BeyondWindow,
    ProofRejected,
    NotEnoughGas,
    MalformedMessage,
    InvalidDestination,
    TargetRefused,
    InvalidSource,
    Expired,
    UnexpectedResponse,
    ChannelRetired,
    NotLightClient,
    InvalidKind,
    Paused,
    BatchTooLarge,

    // --- execution and rollback ---
    UnknownRequest,
    RequestBusy,
    UnknownSn,
    RollbackNotEnabled,
    RollbackBusy,
    HandlerFailed,
    ChannelAlive,
}

impl ConnectorError {
    /// The stable machine-readable code (the text before the first ':').
    pub fn code(&self) -> &'static str {
        let s = self.as_str();
        s.split_once(':').map_or(s, |(code, _)| code)
    }

    pub const fn as_str(&self) -> &'static str {
        use ConnectorError::*;
        match self {
            AclInit => "ERR_ACL_INIT: could not set up the admin",
            InvalidNetwork => {
                "ERR_INVALID_NETWORK: network ids are 1-64 characters of [A-Za-z0-9._-] and the two differ"
            }
            LockerNotSet => "ERR_LOCKER_NOT_SET: the owner has not set the connector of the other chain",
            LockerReused => {
                "ERR_LOCKER_REUSED: the locker is already set or was replaced before"
            }
            InvalidWindow => "ERR_INVALID_WINDOW: the replay window must be within 1..=1024",
            InvalidTtl => "ERR_INVALID_TTL: the message lifetime must be within 60 s..=365 days",
            InvalidRule => {
                "ERR_INVALID_RULE: a rule is an account id or `*.` followed by an account id"
            }
            TooManyRules => "ERR_TOO_MANY_RULES: at most 16 suffix rules",
            NoFeeHandler => "ERR_NO_FEE_HANDLER: no protocol fee handler is set",
            NoFeeCollector => "ERR_NO_FEE_COLLECTOR: no relay fee collector is set",
            NothingToClaim => "ERR_NOTHING_TO_CLAIM: no fees accrued",
            InvalidExecutor => {
                "ERR_INVALID_EXECUTOR: the Calimero executor must be its own account, not the connector or the light client"
            }
            TooManyChannels => {
                "ERR_TOO_MANY_CHANNELS: too many retired channels are open; declare one dead first"
            }
            ChannelNotRetired => "ERR_CHANNEL_NOT_RETIRED: no retired, open channel with this id",
            Migration => "ERR_MIGRATION: the stored state is not the previous version's",

            NotAllowed => "ERR_NOT_ALLOWED: the caller is not on the allow list",
            InvalidMethodName => {
                "ERR_INVALID_METHOD_NAME: method names are 1-256 characters of [A-Za-z0-9_]"
            }
            ArgsTooLarge => "ERR_ARGS_TOO_LARGE: destination_contract_args exceeds 4096 bytes",
            DestinationGas => "ERR_DESTINATION_GAS: destination_gas must be within 1 gas..=200 Tgas",
            DestinationDeposit => {
                "ERR_DESTINATION_DEPOSIT: destination_deposit must be 0 (tokens do not cross chains)"
            }
            UnknownNetwork => "ERR_UNKNOWN_NETWORK: this connector does not reach that network",
            InvalidAddress => "ERR_INVALID_ADDRESS: expected btp://<net>/<account id>",
            DataTooLarge => "ERR_DATA_TOO_LARGE: data exceeds 2048 bytes",
            RollbackTooLarge => "ERR_ROLLBACK_TOO_LARGE: rollback exceeds 1024 bytes",
            RollbackNotContract => {
                "ERR_ROLLBACK_NOT_CONTRACT: only a contract (predecessor != signer) may send rollback data"
            }
            InsufficientFee => {
                "ERR_INSUFFICIENT_FEE: attach the fee (get_fee / get_cross_call_fee) plus the storage deposit of the rollback data"
            }
            ReservedArgs => {
                "ERR_RESERVED_ARGS: destination_contract_args may not hold calimero_initiator_id (the connector writes it)"
            }
            ArgsArray => {
                "ERR_ARGS_ARRAY: destination_contract_args may not be a JSON array (a destination would read fields from it by position)"
            }
            ReservedMethod => {
                "ERR_RESERVED_METHOD: handle_call_message is reserved for xCall; choose another callback"
            }
            HandlerGas => "ERR_HANDLER_GAS: handler_gas must be within 5..=200 Tgas",
            ConnectorBalance => {
                "ERR_CONNECTOR_BALANCE: the connector cannot cover the storage now; retry later"
            }

            WrongExecutor => {
                "ERR_WRONG_EXECUTOR: the proven outcome was not executed by the connector of the other chain"
            }
            OutcomeNotSuccess => "ERR_OUTCOME_NOT_SUCCESS: the proven outcome did not succeed",
            NoMessage => {
                "ERR_NO_MESSAGE: the outcome carries no message of this kind for this connector"
            }
            AlreadyDelivered => "ERR_ALREADY_DELIVERED: every such message of the outcome was delivered",
            BeyondWindow => {
                "ERR_BEYOND_WINDOW: the message is too far ahead of the oldest undelivered one; deliver that first"
            }
            ProofRejected => "ERR_PROOF_REJECTED: the light client did not verify the proof",
            NotEnoughGas => "ERR_NOT_ENOUGH_GAS: attach more gas (see the README for the budget)",
            MalformedMessage => "ERR_MALFORMED_MESSAGE: the message does not parse",
            InvalidDestination => "ERR_INVALID_DESTINATION: the destination is not a valid account id",
            TargetRefused => {
                "ERR_TARGET_REFUSED: calls into the connectors, the light client or a denied account are refused"
            }
            InvalidSource => {
                "ERR_INVALID_SOURCE: the message does not come from the network of the other chain"
            }
            Expired => "ERR_EXPIRED: the message expired before it was executed",
            UnexpectedResponse => {
                "ERR_UNEXPECTED_RESPONSE: no two-way message awaits a response with this sn"
            }
            ChannelRetired => {
                "ERR_CHANNEL_RETIRED: the locker of this channel was replaced; only responses are accepted from it"
            }
            NotLightClient => {
                "ERR_NOT_LIGHT_CLIENT: proven outcomes are accepted only from the configured light client"
            }
            InvalidKind => "ERR_INVALID_KIND: msg must be a borsh MessageKind",
            Paused => "ERR_PAUSED: deliveries of this kind are paused",
            BatchTooLarge => {
                "ERR_BATCH_TOO_LARGE: a batch of proven outcomes holds at most MAX_FORWARD_BATCH"
            }

            UnknownRequest => "ERR_UNKNOWN_REQUEST: no pending request with this id",
            RequestBusy => "ERR_REQUEST_IN_PROGRESS: the request is being executed",
            UnknownSn => "ERR_UNKNOWN_SN: no pending two-way message with this sn",
            RollbackNotEnabled => {
                "ERR_ROLLBACK_NOT_ENABLED: rollback is possible only after a failure response"
            }
            RollbackBusy => "ERR_ROLLBACK_IN_PROGRESS: the rollback is being executed",
            HandlerFailed => "ERR_HANDLER_FAILED: handle_call_message failed",
            ChannelAlive => {
                "ERR_CHANNEL_ALIVE: the request's channel is not declared dead; its response may still come"
            }
        }
    }

    pub fn panic(self) -> ! {
        near_sdk::env::panic_str(self.as_str())
    }

    /// Panic with the message and a detail (amounts, limits).
    pub fn panic_with(self, detail: &str) -> ! {
        near_sdk::env::panic_str(&format!("{} ({detail})", self.as_str()))
    }
}

impl core::fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectorError;

    #[test]
    fn codes_are_the_prefix() {
        assert_eq!(ConnectorError::NoMessage.code(), "ERR_NO_MESSAGE");
        assert_eq!(ConnectorError::HandlerFailed.code(), "ERR_HANDLER_FAILED");
    }
}
