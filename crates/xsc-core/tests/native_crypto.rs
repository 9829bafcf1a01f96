//! `NativeCrypto::ed25519_verify` must give the verdicts of nearcore's `ed25519_verify` host
//! function (which the light client contract uses), also on edge cases, so that the CLI and the
//! contract can never disagree about a block:
//! - a signature whose last byte has any of its top 3 bits set is `false` (nearcore's pre-check);
//! - a public key that does not decompress to a curve point is `false`, never a panic or abort;
//! - otherwise ed25519-dalek's (non-strict) `verify`.

mod common;

use common::*;
use xsc_core::hashing::{approval_message, block_and_next_hash};
use xsc_core::{Crypto, PublicKey, Signature};

/// Real (signature, message, key) triples: every present approval of a few real blocks.
fn real_signatures() -> Vec<([u8; 64], [u8; 41], [u8; 32])> {
    let mut out = Vec::new();
    for s in accepted_steps().into_iter().step_by(5) {
        let (_, next) = block_and_next_hash(&C, &s.block);
        let msg = approval_message(&next, s.block.inner_lite.height);
        for (i, a) in s.block.approvals_after_next.iter().enumerate() {
            if let (Some(Signature::Ed25519(sig)), Some(p)) = (a, s.producers.producers.get(i)) {
                let PublicKey::Ed25519(key) = p.public_key() else {
                    panic!("real producer keys are ed25519");
                };
                out.push((*sig, msg, *key));
            }
        }
    }
    assert!(out.len() >= 100, "{}", out.len());
    out
}

#[test]
fn real_approvals_verify() {
    for (sig, msg, key) in real_signatures() {
        assert!(C.ed25519_verify(&sig, &msg, &key));
    }
}

#[test]
fn a_signature_with_any_top_three_bits_of_its_last_byte_set_is_false() {
    for (sig, msg, key) in real_signatures() {
        // A canonical scalar s < L < 2^253 never has them set.
        assert_eq!(sig[63] & 0b1110_0000, 0);
        for mask in [0x20u8, 0x40, 0x80, 0x60, 0xA0, 0xC0, 0xE0] {
            let mut bad = sig;
            bad[63] |= mask;
            assert!(!C.ed25519_verify(&bad, &msg, &key), "mask {mask:#x}");
        }
    }
    // Also for arbitrary bytes (no panic on any s).
    for b in 0..=255u8 {
        let mut sig = [b; 64];
        sig[63] |= 0x20;
        assert!(!C.ed25519_verify(&sig, b"msg", &[b; 32]));
    }
}

#[test]
fn a_key_that_does_not_decompress_is_false_not_a_panic() {
    // Find 32-byte strings that are not valid compressed Edwards points (about half of all y
    // coordinates have no x), confirmed by ed25519-dalek itself.
    let mut not_points = Vec::new();
    for b in 0..=255u8 {
        let mut key = [0u8; 32];
        key[0] = b;
        key[31] = 0x11;
        if ed25519_dalek::VerifyingKey::from_bytes(&key).is_err() {
            not_points.push(key);
        }
    }
    assert!(not_points.len() >= 50, "{}", not_points.len());
    let (sig, msg, _) = real_signatures()[0];
    for key in not_points {
        let r = std::panic::catch_unwind(|| C.ed25519_verify(&sig, &msg, &key));
        assert_eq!(r.ok(), Some(false), "key {}", hex::encode(key));
    }
}

#[test]
fn a_valid_signature_is_false_for_another_message_or_key() {
    let sigs = real_signatures();
    let (sig, msg, key) = sigs[0];
    let mut other_msg = msg;
    other_msg[40] ^= 1; // height + 2 differs
    assert!(!C.ed25519_verify(&sig, &other_msg, &key));
    assert!(!C.ed25519_verify(&sig, &msg[..40], &key));
    let other_key = sigs.iter().map(|t| t.2).find(|k| *k != key).unwrap();
    assert!(!C.ed25519_verify(&sig, &msg, &other_key));
    // The identity point and the all-zero key decompress but never verify a real signature.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(!C.ed25519_verify(&sig, &msg, &identity));
    assert!(!C.ed25519_verify(&sig, &msg, &[0; 32]));
    assert!(!C.ed25519_verify(&[0; 64], &msg, &key));
}
