//! Hashes, keys and signatures: nearcore's borsh layout, the RPC's JSON text form.

use borsh::{BorshDeserialize, BorshSerialize};
use core::fmt;
use core::str::FromStr;
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A 32-byte SHA-256 hash; base58 in JSON.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub struct CryptoHash(pub [u8; 32]);

impl CryptoHash {
    pub const fn zero() -> Self {
        CryptoHash([0; 32])
    }
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CryptoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).into_string())
    }
}

impl fmt::Debug for CryptoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for CryptoHash {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = decode_base58_exact::<32>(s).map_err(|e| format!("hash: {e}"))?;
        Ok(CryptoHash(bytes))
    }
}

impl From<[u8; 32]> for CryptoHash {
    fn from(b: [u8; 32]) -> Self {
        CryptoHash(b)
    }
}

impl Serialize for CryptoHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for CryptoHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

fn decode_base58_exact<const N: usize>(s: &str) -> Result<[u8; N], String> {
    let v = bs58::decode(s)
        .into_vec()
        .map_err(|e| format!("invalid base58: {e}"))?;
    <[u8; N]>::try_from(v.as_slice()).map_err(|_| format!("expected {N} bytes, got {}", v.len()))
}

/// A public key as nearcore borsh-encodes it: a key-type byte then the key bytes.
/// Block producers use ed25519; secp256k1 is representable so that it can be rejected clearly.
#[derive(Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum PublicKey {
    Ed25519([u8; 32]),
    Secp256k1([u8; 64]),
}

/// A signature as nearcore borsh-encodes it.
#[derive(Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Signature {
    Ed25519([u8; 64]),
    Secp256k1([u8; 65]),
}

fn split_typed(s: &str) -> (&str, &str) {
    match s.split_once(':') {
        Some((t, rest)) => (t, rest),
        None => ("ed25519", s),
    }
}

impl FromStr for PublicKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match split_typed(s) {
            ("ed25519", b) => Ok(PublicKey::Ed25519(
                decode_base58_exact(b).map_err(|e| format!("ed25519 public key: {e}"))?,
            )),
            ("secp256k1", b) => Ok(PublicKey::Secp256k1(
                decode_base58_exact(b).map_err(|e| format!("secp256k1 public key: {e}"))?,
            )),
            (t, _) => Err(format!("unknown key type `{t}`")),
        }
    }
}

impl FromStr for Signature {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match split_typed(s) {
            ("ed25519", b) => Ok(Signature::Ed25519(
                decode_base58_exact(b).map_err(|e| format!("ed25519 signature: {e}"))?,
            )),
            ("secp256k1", b) => Ok(Signature::Secp256k1(
                decode_base58_exact(b).map_err(|e| format!("secp256k1 signature: {e}"))?,
            )),
            (t, _) => Err(format!("unknown signature type `{t}`")),
        }
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicKey::Ed25519(b) => write!(f, "ed25519:{}", bs58::encode(b).into_string()),
            PublicKey::Secp256k1(b) => write!(f, "secp256k1:{}", bs58::encode(b).into_string()),
        }
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Signature::Ed25519(b) => write!(f, "ed25519:{}", bs58::encode(b).into_string()),
            Signature::Secp256k1(b) => write!(f, "secp256k1:{}", bs58::encode(b).into_string()),
        }
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <String as Deserialize>::deserialize(d)?;
                s.parse().map_err(de::Error::custom)
            }
        }
    };
}
serde_via_str!(PublicKey);
serde_via_str!(Signature);

/// serde helpers for integers the RPC writes as decimal strings (u128 balances, nanosecond
/// timestamps). Numbers are accepted too.
pub mod dec_str {
    use super::*;

    pub fn serialize<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// A decimal string or a non-negative integer. A plain visitor rather than an untagged
    /// enum: untagged enums pull serde's buffering machinery (and float formatting) into every
    /// contract that parses JSON with this.
    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: FromStr + TryFrom<u64>,
        <T as FromStr>::Err: fmt::Display,
        D: Deserializer<'de>,
    {
        struct V<T>(core::marker::PhantomData<T>);
        impl<T> de::Visitor<'_> for V<T>
        where
            T: FromStr + TryFrom<u64>,
            <T as FromStr>::Err: fmt::Display,
        {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string or an integer")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<T, E> {
                s.parse::<T>().map_err(de::Error::custom)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<T, E> {
                T::try_from(n).map_err(|_| de::Error::custom("number out of range"))
            }
        }
        d.deserialize_any(V(core::marker::PhantomData))
    }
}

/// serde helper for byte strings the RPC writes as standard base64.
pub mod base64_bytes {
    use super::*;
    use base64::Engine;

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trips_base58() {
        let h: CryptoHash = "2GHoV4zcLfHbsEshMVDLp9Nt3qh5c9mAjPEHry7PjkbQ"
            .parse()
            .unwrap();
        assert_eq!(
            h.to_string(),
            "2GHoV4zcLfHbsEshMVDLp9Nt3qh5c9mAjPEHry7PjkbQ"
        );
    }

    #[test]
    fn wrong_length_signature_is_a_clear_error() {
        let short = format!("ed25519:{}", bs58::encode([7u8; 63]).into_string());
        let err = short.parse::<Signature>().unwrap_err();
        assert!(err.contains("expected 64 bytes, got 63"), "{err}");
    }

    #[test]
    fn unknown_key_type_is_rejected() {
        assert!("bls:abc"
            .parse::<PublicKey>()
            .unwrap_err()
            .contains("unknown key type"));
    }

    #[test]
    fn borsh_layout_matches_nearcore() {
        let k = PublicKey::Ed25519([9; 32]);
        let b = borsh::to_vec(&k).unwrap();
        assert_eq!(b.len(), 33);
        assert_eq!(b[0], 0);
        let s = Signature::Secp256k1([1; 65]);
        assert_eq!(borsh::to_vec(&s).unwrap()[0], 1);
    }
}
