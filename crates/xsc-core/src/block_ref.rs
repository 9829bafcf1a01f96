//! `LightClientBlockView` read in place from its borsh bytes (see [`crate::wire`]).
//!
//! Layout (nearcore's borsh, which is also what `LightClientBlockView` derives):
//! `prev_block_hash[32] ‖ next_block_inner_hash[32] ‖ inner_lite[208] ‖ inner_rest_hash[32] ‖
//! next_bps: Option<Vec<ValidatorStakeView>> ‖ approvals_after_next: Vec<Option<Signature>>`.
//! The header fields are fixed-size, so they are borrowed as arrays; `next_bps` is kept as its
//! raw bytes, which are exactly what `next_bp_hash` commits to (hashed without re-encoding);
//! approvals are borrowed 64-byte signatures.

use crate::block::MAX_PRODUCERS;
use crate::error::Error;
use crate::primitives::CryptoHash;
use crate::wire::Reader;

/// One entry of `approvals_after_next`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval<'a> {
    Absent,
    Ed25519(&'a [u8; 64]),
    /// A secp256k1 signature (never valid for a block producer; rejected clearly).
    Secp256k1,
}

/// A public key as read from borsh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyRef<'a> {
    Ed25519(&'a [u8; 32]),
    Secp256k1(&'a [u8; 64]),
}

/// One `ValidatorStakeView` (V1) as read from borsh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerRef<'a> {
    pub account_id: &'a str,
    pub public_key: KeyRef<'a>,
    pub stake: u128,
}

/// A borsh `Vec<ValidatorStakeView>`, validated, kept as its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BpsRef<'a> {
    /// `u32_le(count) ‖ entries`: the exact bytes `next_bp_hash` is the SHA-256 of.
    pub raw: &'a [u8],
    pub count: usize,
}

/// Read one `ValidatorStakeView`.
pub fn read_producer<'a>(r: &mut Reader<'a>) -> Result<ProducerRef<'a>, Error> {
    r.tag(1, "ValidatorStakeView version")?;
    let account_id = r.string("ValidatorStakeView.account_id")?;
    let public_key = read_key(r, "ValidatorStakeView.public_key")?;
    let stake = r.u128("ValidatorStakeView.stake")?;
    Ok(ProducerRef {
        account_id,
        public_key,
        stake,
    })
}

/// Read a borsh `PublicKey` (a type byte, then 32 or 64 bytes).
pub fn read_key<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<KeyRef<'a>, Error> {
    Ok(match r.tag(2, what)? {
        0 => KeyRef::Ed25519(r.array::<32>(what)?),
        _ => KeyRef::Secp256k1(r.array::<64>(what)?),
    })
}

/// Smallest borsh `ValidatorStakeView`: tag, empty account id, ed25519 key, stake.
const MIN_PRODUCER_BYTES: usize = 1 + 4 + 33 + 16;

/// Read a `Vec<ValidatorStakeView>` in place.
pub fn read_bps<'a>(r: &mut Reader<'a>) -> Result<BpsRef<'a>, Error> {
    let start = r.pos();
    let count = r.len(MIN_PRODUCER_BYTES, "next_bps length")?;
    for _ in 0..count {
        read_producer(r)?;
    }
    Ok(BpsRef {
        raw: &r.buf()[start..r.pos()],
        count,
    })
}

impl<'a> BpsRef<'a> {
    /// Parse a standalone borsh `Vec<ValidatorStakeView>` (no trailing bytes).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let bps = read_bps(&mut r)?;
        r.finish("trailing bytes after the producer list")?;
        Ok(bps)
    }

    /// The entries, in order. The bytes were validated when this was built.
    pub fn iter(&self) -> impl Iterator<Item = ProducerRef<'a>> + Clone + 'a {
        let mut r = Reader::new(self.raw);
        let count = r.u32("next_bps length").unwrap_or(0) as usize;
        (0..count).map_while(move |_| read_producer(&mut r).ok())
    }
}

/// A light client block borrowed from its borsh encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRef<'a> {
    pub prev_block_hash: &'a [u8; 32],
    pub next_block_inner_hash: &'a [u8; 32],
    /// The 208-byte `BlockHeaderInnerLite`, exactly as nearcore hashes it.
    pub inner_lite: &'a [u8; 208],
    pub inner_rest_hash: &'a [u8; 32],
    pub next_bps: Option<BpsRef<'a>>,
    /// `approvals_after_next`, at most [`MAX_PRODUCERS`] entries: later ones cannot belong to
    /// any producer set this light client accepts, so they are only checked for well-formedness.
    pub approvals: Vec<Approval<'a>>,
    /// Length of the whole list.
    pub approvals_len: usize,
}

fn hash_at(b: &[u8; 208], at: usize) -> CryptoHash {
    let mut h = [0u8; 32];
    h.copy_from_slice(&b[at..at + 32]);
    CryptoHash(h)
}

fn u64_at(b: &[u8; 208], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

impl<'a> BlockRef<'a> {
    /// Parse the borsh of a `LightClientBlockView`; everything must be consumed.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes);
        let block = Self::read(&mut r)?;
        r.finish("trailing bytes after the block")?;
        Ok(block)
    }

    /// Read a block from a reader (for argument tuples).
    pub fn read(r: &mut Reader<'a>) -> Result<Self, Error> {
        let prev_block_hash = r.array::<32>("prev_block_hash")?;
        let next_block_inner_hash = r.array::<32>("next_block_inner_hash")?;
        let inner_lite = r.array::<208>("inner_lite")?;
        let inner_rest_hash = r.array::<32>("inner_rest_hash")?;
        let next_bps = if r.option("next_bps option")? {
            Some(read_bps(r)?)
        } else {
            None
        };
        let approvals_len = r.len(1, "approvals_after_next length")?;
        let mut approvals = Vec::with_capacity(approvals_len.min(MAX_PRODUCERS));
        for i in 0..approvals_len {
            let a = if r.option("approval option")? {
                match r.tag(2, "approval signature type")? {
                    0 => Approval::Ed25519(r.array::<64>("approval: ed25519 signature")?),
                    _ => {
                        r.bytes(65, "approval: secp256k1 signature")?;
                        Approval::Secp256k1
                    }
                }
            } else {
                Approval::Absent
            };
            if i < MAX_PRODUCERS {
                approvals.push(a);
            }
        }
        Ok(BlockRef {
            prev_block_hash,
            next_block_inner_hash,
            inner_lite,
            inner_rest_hash,
            next_bps,
            approvals,
            approvals_len,
        })
    }

    pub fn height(&self) -> u64 {
        u64_at(self.inner_lite, 0)
    }
    pub fn epoch_id(&self) -> CryptoHash {
        hash_at(self.inner_lite, 8)
    }
    pub fn next_epoch_id(&self) -> CryptoHash {
        hash_at(self.inner_lite, 40)
    }
    pub fn timestamp(&self) -> u64 {
        u64_at(self.inner_lite, 136)
    }
    pub fn next_bp_hash(&self) -> CryptoHash {
        hash_at(self.inner_lite, 144)
    }
    pub fn block_merkle_root(&self) -> CryptoHash {
        hash_at(self.inner_lite, 176)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::{PublicKey, Signature};
    use crate::views::{
        BlockHeaderInnerLiteView, LightClientBlockView, ValidatorStakeView, ValidatorStakeViewV1,
    };

    fn sample() -> LightClientBlockView {
        LightClientBlockView {
            prev_block_hash: CryptoHash([1; 32]),
            next_block_inner_hash: CryptoHash([2; 32]),
            inner_lite: BlockHeaderInnerLiteView {
                height: 77,
                epoch_id: CryptoHash([3; 32]),
                next_epoch_id: CryptoHash([4; 32]),
                prev_state_root: CryptoHash([5; 32]),
                outcome_root: CryptoHash([6; 32]),
                timestamp: 1_700_000_000_000_000_123,
                next_bp_hash: CryptoHash([7; 32]),
                block_merkle_root: CryptoHash([8; 32]),
            },
            inner_rest_hash: CryptoHash([9; 32]),
            next_bps: Some(vec![
                ValidatorStakeView::V1(ValidatorStakeViewV1 {
                    account_id: "a.near".into(),
                    public_key: PublicKey::Ed25519([10; 32]),
                    stake: 5,
                }),
                ValidatorStakeView::V1(ValidatorStakeViewV1 {
                    account_id: "ß.near".into(),
                    public_key: PublicKey::Secp256k1([11; 64]),
                    stake: u128::MAX,
                }),
            ]),
            approvals_after_next: vec![
                Some(Signature::Ed25519([12; 64])),
                None,
                Some(Signature::Secp256k1([13; 65])),
            ],
        }
    }

    #[test]
    fn every_field_reads_back_as_borsh_wrote_it() {
        let b = sample();
        let bytes = borsh::to_vec(&b).unwrap();
        let r = BlockRef::parse(&bytes).unwrap();
        assert_eq!(r.prev_block_hash, &b.prev_block_hash.0);
        assert_eq!(r.next_block_inner_hash, &b.next_block_inner_hash.0);
        assert_eq!(
            r.inner_lite,
            &crate::hashing::inner_lite_bytes(&b.inner_lite)
        );
        assert_eq!(r.height(), 77);
        assert_eq!(r.epoch_id(), b.inner_lite.epoch_id);
        assert_eq!(r.next_epoch_id(), b.inner_lite.next_epoch_id);
        assert_eq!(r.timestamp(), b.inner_lite.timestamp);
        assert_eq!(r.next_bp_hash(), b.inner_lite.next_bp_hash);
        assert_eq!(r.block_merkle_root(), b.inner_lite.block_merkle_root);
        let bps = r.next_bps.unwrap();
        assert_eq!(bps.count, 2);
        assert_eq!(
            bps.raw,
            borsh::to_vec(b.next_bps.as_ref().unwrap()).unwrap()
        );
        let entries: Vec<_> = bps.iter().collect();
        assert_eq!(entries[0].account_id, "a.near");
        assert_eq!(entries[0].public_key, KeyRef::Ed25519(&[10; 32]));
        assert_eq!(entries[1].stake, u128::MAX);
        assert_eq!(entries[1].public_key, KeyRef::Secp256k1(&[11; 64]));
        assert_eq!(
            r.approvals,
            vec![
                Approval::Ed25519(&[12; 64]),
                Approval::Absent,
                Approval::Secp256k1
            ]
        );
    }

    #[test]
    fn a_63_byte_signature_is_a_decode_error_naming_the_signature() {
        let mut b = sample();
        b.next_bps = None;
        b.approvals_after_next = vec![Some(Signature::Ed25519([12; 64]))];
        let mut bytes = borsh::to_vec(&b).unwrap();
        bytes.pop();
        let e = BlockRef::parse(&bytes).unwrap_err();
        assert!(matches!(e, Error::Decode { what, .. } if what.contains("ed25519 signature")));
        assert!(e.to_string().starts_with("ERR_INVALID_INPUT"), "{e}");
    }

    #[test]
    fn a_31_byte_key_in_next_bps_is_a_decode_error() {
        let b = sample();
        let mut bytes = borsh::to_vec(&b).unwrap();
        // Drop the last byte of the first producer's key: everything after shifts.
        let key_end = 304 + 1 + 4 + 1 + 4 + "a.near".len() + 1 + 32;
        bytes.remove(key_end - 1);
        assert!(BlockRef::parse(&bytes).is_err());
        assert!(borsh::from_slice::<LightClientBlockView>(&bytes).is_err());
    }

    #[test]
    fn unknown_tags_and_trailing_bytes_are_refused_like_borsh() {
        let b = sample();
        let bytes = borsh::to_vec(&b).unwrap();
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(BlockRef::parse(&trailing).is_err());
        let mut bad_option = bytes.clone();
        bad_option[304] = 2;
        assert!(BlockRef::parse(&bad_option).is_err());
        assert!(borsh::from_slice::<LightClientBlockView>(&bad_option).is_err());
        for cut in [0, 31, 303, 305, bytes.len() - 1] {
            assert!(BlockRef::parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
