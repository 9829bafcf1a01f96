//! Pluggable crypto: the contract uses NEAR host functions (`sha256`, `ed25519_verify`), native
//! code uses `sha2` and `ed25519-dalek`. Both must give the same verdicts (tested in `tests`).

pub trait Crypto {
    fn sha256(&self, data: &[u8]) -> [u8; 32];
    /// Verify an ed25519 signature. Lengths are fixed by the types, so the host function's
    /// abort-on-wrong-length can never trigger.
    fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool;
}

/// Native implementation (feature `native`).
#[cfg(feature = "native")]
#[derive(Clone, Copy, Debug, Default)]
pub struct NativeCrypto;

#[cfg(feature = "native")]
impl Crypto for NativeCrypto {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(data).into()
    }

    fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool {
        // Mirror nearcore's `ed25519_verify` host function exactly, so that native and
        // on-chain verdicts can never differ: its pre-check on the top bits of `s`, a key that
        // does not decompress is a plain `false`, then ed25519-dalek's (non-strict) `verify`.
        if signature[63] & 0b1110_0000 != 0 {
            return false;
        }
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(public_key) else {
            return false;
        };
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        ed25519_dalek::Verifier::verify(&key, message, &sig).is_ok()
    }
}
