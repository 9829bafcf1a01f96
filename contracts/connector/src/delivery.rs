//! The one proof path every inbound message takes:
//!
//! 1. A relayer calls a delivery method with borsh `(LightClientExecutionProof, height)`. The
//!    connector checks the claimed outcome cheaply (executor is the locker of an open channel,
//!    status is success, a message of the method's kind for this connector that is not yet
//!    delivered on that channel, enough gas) and panics with an `ERR_*` reason otherwise, so a
//!    hopeless delivery costs the relayer one receipt. Relayers attach no deposit: whatever a
//!    delivery stores is paid by the sender's fee and staked by the connector; a deposit that
//!    still comes along is refunded whatever happens.
//! 2. One hop: `ext_light_client::verify_outcome(proof, height)`, then `on_delivery_verified`.
//! 3. The callback re-runs the same checks on the *proven* outcome (another delivery may have
//!    won the race meanwhile), marks the message delivered and acts on it. It never panics: a
//!    delivery that cannot go ahead changes nothing, refunds the deposit and logs
//!    `delivery_rejected`.
//!
//! **Fast path.** A relayer may instead call the light client's `verify_and_forward(proof,
//! height, connector, borsh(kind))`: the light client verifies and calls `on_proven_outcome`
//! here, which checks that its predecessor is the configured light client and continues at
//! step 3. One receipt fewer (a block less per message, and the gas of loading this contract
//! once more); no cheap pre-check, so a hopeless delivery costs the relayer a verification.

use crate::events::ConnectorEvent;
use crate::replay::{seen, Seen};
use crate::{
    refund, Connector, ConnectorError, ConnectorExt, GAS_CROSS_CALL_DONE, GAS_DELIVERY_OVERHEAD,
    GAS_EXECUTOR, GAS_ON_DELIVERY_VERIFIED, GAS_SOURCE_CALLBACK, GAS_VERIFY_OUTCOME,
};
use near_plugins::{pause, Pausable};
use near_sdk::json_types::{U128, U64};
use near_sdk::{env, near, AccountId, Gas, Promise, PromiseError};
use xsc_core::{ExecutionStatusView, LightClientExecutionProof, ProvenOutcome};
use xsc_interfaces::calimero::{CrossCallEvent, CrossResponseEvent};
use xsc_interfaces::{ext_light_client, MessageKind, TransportEvent, MAX_FORWARD_BATCH};

/// One message taken from an outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Message {
    CrossCall {
        nsn: u64,
        request_id: u64,
        call: CrossCallEvent,
    },
    CrossCallResponse {
        nsn: u64,
        request_id: u64,
        response: CrossResponseEvent,
    },
    Xcall {
        nsn: u64,
        from: String,
        to: AccountId,
        sn: u64,
        data: Vec<u8>,
        two_way: bool,
        expires_at: u64,
        handler_gas: Option<u64>,
    },
    XcallResponse {
        nsn: u64,
        sn: u64,
        code: i32,
        msg: String,
    },
    /// Sequenced by the locker but unusable (its Calimero line is missing or does not parse):
    /// consumed as refused so that it never blocks the window.
    Malformed { kind: MessageKind, nsn: u64 },
}

impl Message {
    pub(crate) fn nsn(&self) -> u64 {
        match self {
            Message::CrossCall { nsn, .. }
            | Message::CrossCallResponse { nsn, .. }
            | Message::Xcall { nsn, .. }
            | Message::XcallResponse { nsn, .. }
            | Message::Malformed { nsn, .. } => *nsn,
        }
    }
}

fn from_event(event: TransportEvent, calimero_line: Option<&String>) -> Message {
    match event {
        TransportEvent::CrossCall(m) => match calimero_line.map(|l| CrossCallEvent::parse(l)) {
            Some(Ok(call)) => Message::CrossCall {
                nsn: m.nsn.0,
                request_id: m.request_id.0,
                call,
            },
            _ => Message::Malformed {
                kind: MessageKind::CrossCall,
                nsn: m.nsn.0,
            },
        },
        TransportEvent::CrossCallResponse(m) => {
            match calimero_line.map(|l| CrossResponseEvent::parse(l)) {
                Some(Ok(response)) => Message::CrossCallResponse {
                    nsn: m.nsn.0,
                    request_id: m.request_id.0,
                    response,
                },
                _ => Message::Malformed {
                    kind: MessageKind::CrossCallResponse,
                    nsn: m.nsn.0,
                },
            }
        }
        TransportEvent::XcallMessage(m) => Message::Xcall {
            nsn: m.nsn.0,
            from: m.from,
            to: m.to,
            sn: m.sn.0,
            data: m.data.0,
            two_way: m.rollback,
            expires_at: m.expires_at.0,
            handler_gas: m.handler_gas.map(|g| g.0),
        },
        TransportEvent::XcallResponse(m) => Message::XcallResponse {
            nsn: m.nsn.0,
            sn: m.sn.0,
            code: m.code,
            msg: m.msg,
        },
    }
}

/// Gas left in the current call.
pub(crate) fn remaining_gas() -> Gas {
    env::prepaid_gas().saturating_sub(env::used_gas())
}

impl Connector {
    /// The first message of `kind` addressed to this connector that is not yet delivered, from
    /// an outcome of the locker of an open channel that succeeded: `(channel id, message)`. Every
    /// log line is examined, not only the first: one outcome may carry several messages (a
    /// transaction with several actions).
    pub(crate) fn select(
        &self,
        kind: MessageKind,
        executor_id: &str,
        status: &ExecutionStatusView,
        logs: &[String],
    ) -> Result<(u32, Message), ConnectorError> {
        let channel = self.channel_of_executor(executor_id)?;
        if !matches!(
            status,
            ExecutionStatusView::SuccessValue(_) | ExecutionStatusView::SuccessReceiptId(_)
        ) {
            return Err(ConnectorError::OutcomeNotSuccess);
        }
        let me = env::current_account_id();
        let mut seen_delivered = false;
        for (i, line) in logs.iter().enumerate() {
            let Some(event) = TransportEvent::parse(line, kind) else {
                continue;
            };
            let (dst, net, nsn) = event.route();
            if *dst != me || net != self.local_net {
                continue;
            }
            match seen(channel, &self.delivered, self.window, nsn) {
                Seen::Delivered => seen_delivered = true,
                Seen::BeyondWindow => return Err(ConnectorError::BeyondWindow),
                Seen::Open => {
                    // A Calimero line is the log right before its transport event.
                    let calimero = kind.calimero_prefix().and_then(|prefix| {
                        i.checked_sub(1)
                            .and_then(|j| logs.get(j))
                            .filter(|l| l.starts_with(prefix))
                    });
                    return Ok((channel.id, from_event(event, calimero)));
                }
            }
        }
        Err(if seen_delivered {
            ConnectorError::AlreadyDelivered
        } else {
            ConnectorError::NoMessage
        })
    }

    /// Requirements the relayer meets with gas, checked before the light client hop.
    fn precheck(&self, message: &Message) {
        let needed = match message {
            Message::CrossCall { call, .. } => GAS_DELIVERY_OVERHEAD
                .saturating_add(GAS_EXECUTOR)
                .saturating_add(Gas::from_gas(call.destination_gas))
                .saturating_add(GAS_CROSS_CALL_DONE),
            Message::CrossCallResponse { .. } => {
                GAS_DELIVERY_OVERHEAD.saturating_add(GAS_SOURCE_CALLBACK)
            }
            _ => GAS_DELIVERY_OVERHEAD,
        };
        if env::prepaid_gas() < needed {
            ConnectorError::NotEnoughGas.panic_with(&needed.as_gas().to_string());
        }
    }

    /// Steps 1 and 2 of every delivery method.
    fn deliver(
        &mut self,
        kind: MessageKind,
        proof: LightClientExecutionProof,
        height: u64,
    ) -> Promise {
        let outcome = &proof.outcome_proof.outcome;
        let (_, message) = self
            .select(kind, &outcome.executor_id, &outcome.status, &outcome.logs)
            .unwrap_or_else(|e| e.panic());
        let deposit = env::attached_deposit().as_yoctonear();
        self.precheck(&message);
        ext_light_client::ext(self.light_client.clone())
            .with_static_gas(GAS_VERIFY_OUTCOME)
            .with_unused_gas_weight(0)
            .verify_outcome(proof, height)
            .then(
                Self::ext(env::current_account_id())
                    .with_static_gas(GAS_ON_DELIVERY_VERIFIED)
                    .with_unused_gas_weight(1)
                    .on_delivery_verified(kind, env::predecessor_account_id(), U128(deposit)),
            )
    }

    /// Step 3 on an outcome the light client proved: re-select the message (another delivery
    /// may have won the race), mark it delivered and act on it. Never panics; the deposit (none
    /// is needed) is refunded whatever happens.
    fn handle_proven(
        &mut self,
        kind: MessageKind,
        relayer: &AccountId,
        deposit: u128,
        outcome: ProvenOutcome,
    ) {
        let (channel, message) =
            match self.select(kind, &outcome.executor_id, &outcome.status, &outcome.logs) {
                Ok(selected) => selected,
                Err(e) => return self.reject(Some(kind), relayer, deposit, None, e),
            };
        let nsn = message.nsn();
        let result = match message {
            Message::Malformed { kind, nsn } => {
                self.refuse(channel, kind, nsn, "", ConnectorError::MalformedMessage);
                Ok(())
            }
            Message::CrossCall {
                nsn,
                request_id,
                call,
            } => self.deliver_cross_call(channel, nsn, request_id, call),
            Message::CrossCallResponse {
                nsn,
                request_id,
                response,
            } => self.deliver_cross_response(channel, nsn, request_id, response),
            Message::Xcall {
                nsn,
                from,
                to,
                sn,
                data,
                two_way,
                expires_at,
                handler_gas,
            } => self.deliver_xcall_message(
                channel,
                nsn,
                crate::xcall::Incoming {
                    from,
                    to,
                    sn,
                    data,
                    two_way,
                    expires_at,
                    handler_gas,
                },
            ),
            Message::XcallResponse { nsn, sn, code, msg } => {
                self.deliver_xcall_response(channel, nsn, sn, code, msg)
            }
        };
        match result {
            Ok(()) => refund(relayer, deposit),
            Err(e) => self.reject(Some(kind), relayer, deposit, Some(nsn), e),
        }
    }

    /// Nothing changed: refund everything and say why.
    fn reject(
        &self,
        kind: Option<MessageKind>,
        relayer: &AccountId,
        deposit: u128,
        nsn: Option<u64>,
        error: ConnectorError,
    ) {
        refund(relayer, deposit);
        ConnectorEvent::DeliveryRejected {
            kind,
            nsn: nsn.map(U64),
            code: error.code().to_string(),
            refunded: U128(deposit),
        }
        .emit();
    }

    /// Consumed and acted on.
    pub(crate) fn accept(&mut self, channel: u32, kind: MessageKind, nsn: u64) {
        self.mark_delivered(channel, nsn);
        ConnectorEvent::Delivered {
            kind,
            nsn: U64(nsn),
        }
        .emit();
    }

    /// Consumed without acting on it.
    pub(crate) fn refuse(
        &mut self,
        channel: u32,
        kind: MessageKind,
        nsn: u64,
        target: &str,
        error: ConnectorError,
    ) {
        self.mark_delivered(channel, nsn);
        ConnectorEvent::MessageRefused {
            kind,
            nsn: U64(nsn),
            target: target.to_string(),
            code: error.code().to_string(),
        }
        .emit();
    }
}

#[near]
impl Connector {
    /// Calimero: deliver a proven `cross_call` of the other chain. **Borsh** arguments
    /// `(LightClientExecutionProof, u64 height)`. Payable (any deposit is refunded). Prepaid gas:
    /// `GAS_DELIVERY_OVERHEAD + GAS_EXECUTOR + destination_gas + GAS_CROSS_CALL_DONE`.
    #[pause]
    #[payable]
    pub fn cross_call_execute(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    ) -> Promise {
        self.deliver(MessageKind::CrossCall, proof, height)
    }

    /// Calimero: deliver a proven response of the other chain; the source callback receives
    /// `{"response", "calimero_predecessor_id", "request_id"}`. **Borsh** arguments. Prepaid
    /// gas: `GAS_DELIVERY_OVERHEAD + GAS_SOURCE_CALLBACK`.
    #[pause]
    #[payable]
    pub fn cross_call_receive_response(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    ) -> Promise {
        self.deliver(MessageKind::CrossCallResponse, proof, height)
    }

    /// xCall: deliver a proven message of the other chain; it waits for `execute_call`.
    /// **Borsh** arguments. No deposit: the connector stakes the request's storage (the sender
    /// paid for it in its fee); when it cannot, the delivery is rejected, to be retried.
    #[pause]
    #[payable]
    pub fn xcall_receive_message(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    ) -> Promise {
        self.deliver(MessageKind::XcallMessage, proof, height)
    }

    /// xCall: deliver a proven response to a two-way message sent from here. **Borsh**
    /// arguments.
    #[pause]
    #[payable]
    pub fn xcall_receive_response(
        &mut self,
        #[serializer(borsh)] proof: LightClientExecutionProof,
        #[serializer(borsh)] height: u64,
    ) -> Promise {
        self.deliver(MessageKind::XcallResponse, proof, height)
    }

    /// Step 3 of every delivery. Never panics (the relayer's deposit is in the contract now).
    #[private]
    pub fn on_delivery_verified(
        &mut self,
        #[serializer(borsh)] kind: MessageKind,
        #[serializer(borsh)] relayer: AccountId,
        #[serializer(borsh)] deposit: U128,
        #[callback_result]
        #[serializer(borsh)]
        outcome: Result<ProvenOutcome, PromiseError>,
    ) {
        let deposit = deposit.0;
        let Ok(outcome) = outcome else {
            return self.reject(
                Some(kind),
                &relayer,
                deposit,
                None,
                ConnectorError::ProofRejected,
            );
        };
        self.handle_proven(kind, &relayer, deposit, outcome);
    }

    /// The fast path: an outcome the light client verified and forwarded
    /// (`verify_and_forward`), with the relayer (`sender_id`), its deposit and `msg` = borsh
    /// [`MessageKind`]. Only the configured light client may call it; after that check it
    /// never panics (a refused delivery refunds the relayer and logs `delivery_rejected`).
    #[payable]
    pub fn on_proven_outcome(
        &mut self,
        #[serializer(borsh)] sender_id: AccountId,
        #[serializer(borsh)] outcome: ProvenOutcome,
        #[serializer(borsh)] msg: Vec<u8>,
    ) {
        if env::predecessor_account_id() != self.light_client {
            ConnectorError::NotLightClient.panic();
        }
        let deposit = env::attached_deposit().as_yoctonear();
        let Ok(kind) = borsh::from_slice::<MessageKind>(&msg) else {
            return self.reject(None, &sender_id, deposit, None, ConnectorError::InvalidKind);
        };
        // Pausing a delivery method pauses its fast path too (a panic here would send the
        // deposit to the light client, so refuse and refund instead).
        if self.pa_is_paused(kind.delivery_method().to_string()) {
            return self.reject(
                Some(kind),
                &sender_id,
                deposit,
                None,
                ConnectorError::Paused,
            );
        }
        self.handle_proven(kind, &sender_id, deposit, outcome);
    }

    /// The fast path for a batch (`verify_and_forward_batch`): outcomes the light client
    /// verified, each with its `msg` = borsh [`MessageKind`], taken in order exactly as
    /// [`Self::on_proven_outcome`] takes one (the same selection, replay and gas checks per
    /// message: a message that cannot go ahead is refused alone, with `delivery_rejected`, and
    /// changes nothing; a message twice in one batch is delivered once). No deposit. Only the
    /// configured light client may call it; after that check it never panics.
    pub fn on_proven_outcomes(
        &mut self,
        #[serializer(borsh)] sender_id: AccountId,
        #[serializer(borsh)] items: Vec<(ProvenOutcome, Vec<u8>)>,
    ) {
        if env::predecessor_account_id() != self.light_client {
            ConnectorError::NotLightClient.panic();
        }
        // The light client never forwards more; a batch this large is not one of its calls.
        if items.len() > MAX_FORWARD_BATCH {
            return self.reject(None, &sender_id, 0, None, ConnectorError::BatchTooLarge);
        }
        let mut paused: Vec<(MessageKind, bool)> = Vec::new();
        for (outcome, msg) in items {
            let Ok(kind) = borsh::from_slice::<MessageKind>(&msg) else {
                self.reject(None, &sender_id, 0, None, ConnectorError::InvalidKind);
                continue;
            };
            // Pausing a delivery method pauses its fast paths too (read once per kind).
            let is_paused = match paused.iter().find(|(k, _)| *k == kind) {
                Some((_, p)) => *p,
                None => {
                    let p = self.pa_is_paused(kind.delivery_method().to_string());
                    paused.push((kind, p));
                    p
                }
            };
            if is_paused {
                self.reject(Some(kind), &sender_id, 0, None, ConnectorError::Paused);
                continue;
            }
            self.handle_proven(kind, &sender_id, 0, outcome);
        }
    }
}
