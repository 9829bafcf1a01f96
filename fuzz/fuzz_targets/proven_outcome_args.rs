//! `on_proven_outcome(sender_id, outcome, msg)` input as the connector decodes it (near-sdk,
//! borsh `(AccountId, ProvenOutcome, Vec<u8>)`; only the light client can call it, but what
//! it carries comes from relayers and proven logs). No panic; the encoding is canonical;
//! `msg` is a `MessageKind` exactly when it is one byte below 4; every log line of the
//! outcome satisfies the transport and Calimero line properties (`check_log_line`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use near_sdk::AccountId;
use xsc_core::ProvenOutcome;
use xsc_interfaces::MessageKind;

fuzz_target!(|data: &[u8]| {
    let Ok((sender, outcome, msg)) = borsh::from_slice::<(AccountId, ProvenOutcome, Vec<u8>)>(data)
    else {
        return;
    };
    assert_eq!(borsh::to_vec(&(&sender, &outcome, &msg)).unwrap(), data);
    assert!(sender.as_str().parse::<AccountId>().is_ok());
    let kind = borsh::from_slice::<MessageKind>(&msg);
    assert_eq!(kind.is_ok(), msg.len() == 1 && msg[0] < 4, "{msg:?}");
    if let Ok(kind) = kind {
        assert_eq!(borsh::to_vec(&kind).unwrap(), msg);
        assert_eq!(MessageKind::from_event_name(kind.event_name()), Some(kind));
    }
    for line in &outcome.logs {
        xsc_fuzz::check_log_line(line);
    }
});
