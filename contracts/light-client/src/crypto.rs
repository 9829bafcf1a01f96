//! `xsc_core::Crypto` on NEAR host functions: `sha256` and `ed25519_verify` cost a fraction of
//! doing the same in wasm (an ed25519 verification in wasm burns about 6 Tgas; the host function
//! about 0.22).

use near_sdk::env;
use xsc_core::Crypto;

#[derive(Clone, Copy, Debug, Default)]
pub struct HostCrypto;

impl Crypto for HostCrypto {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        env::sha256_array(data)
    }

    fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], public_key: &[u8; 32]) -> bool {
        // Fixed-size arrays: the host function's abort on a wrong length cannot happen.
        env::ed25519_verify(signature, message, public_key)
    }
}
