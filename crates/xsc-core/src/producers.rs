//! Producer sets as verification reads them, and their compact stored form.
//!
//! Verification needs, per producer: the key (ed25519 or not), the stake, the order by
//! descending stake and the total. [`ProducerSet`] is that interface; both the native
//! [`EpochProducers`] (full views, account ids included) and the contract's [`ProducerTable`]
//! implement it, and `verify_approvals` is written once against it, so both give the same
//! verdicts by construction.
//!
//! [`ProducerTable`] is the contract's stored form: read on every block, so it is laid out to
//! be used in place, without decoding (no account ids, no allocations):
//!
//! ```text
//! total_stake u128 ‖ n u16 ‖ by_stake: n × u16 (indices by descending stake, ties by index)
//!   ‖ n × entry, in the epoch's order: key_type u8 (0 ed25519, 1 other) ‖ key[32] ‖ stake u128
//! ```

use crate::block::{EpochProducers, MAX_PRODUCERS};
use crate::block_ref::{BpsRef, KeyRef};
use crate::error::Error;
use crate::primitives::PublicKey;

/// What approval verification reads of a producer set.
pub trait ProducerSet {
    /// Number of producers (approvals past it belong to the next epoch and are ignored).
    fn count(&self) -> usize;
    /// Sum of the stake of every producer.
    fn total_stake(&self) -> u128;
    /// Index of the `k`-th producer by descending stake (`k < count()`).
    fn by_stake(&self, k: usize) -> usize;
    /// The ed25519 key of producer `index`, or `None` for any other key type.
    fn ed25519_key(&self, index: usize) -> Option<&[u8; 32]>;
    fn stake(&self, index: usize) -> u128;
}

impl<T: ProducerSet + ?Sized> ProducerSet for &T {
    fn count(&self) -> usize {
        (**self).count()
    }
    fn total_stake(&self) -> u128 {
        (**self).total_stake()
    }
    fn by_stake(&self, k: usize) -> usize {
        (**self).by_stake(k)
    }
    fn ed25519_key(&self, index: usize) -> Option<&[u8; 32]> {
        (**self).ed25519_key(index)
    }
    fn stake(&self, index: usize) -> u128 {
        (**self).stake(index)
    }
}

impl ProducerSet for EpochProducers {
    fn count(&self) -> usize {
        self.producers.len()
    }
    fn total_stake(&self) -> u128 {
        self.total_stake
    }
    fn by_stake(&self, k: usize) -> usize {
        self.by_stake[k] as usize
    }
    fn ed25519_key(&self, index: usize) -> Option<&[u8; 32]> {
        match self.producers[index].public_key() {
            PublicKey::Ed25519(k) => Some(k),
            PublicKey::Secp256k1(_) => None,
        }
    }
    fn stake(&self, index: usize) -> u128 {
        self.producers[index].stake()
    }
}

const HEADER: usize = 16 + 2;
const ENTRY: usize = 1 + 32 + 16;
const KEY_ED25519: u8 = 0;
const KEY_OTHER: u8 = 1;

/// Size in bytes of the table of `n` producers.
pub const fn table_len(n: usize) -> usize {
    HEADER + 2 * n + ENTRY * n
}

/// Sum of stakes with the checks every producer set must pass: 1 to [`MAX_PRODUCERS`]
/// entries, a total that fits in u128 and whose triple (the 2/3 comparison) does too.
fn checked_total(n: usize, stakes: impl Iterator<Item = u128>) -> Result<u128, Error> {
    if n == 0 || n > MAX_PRODUCERS {
        return Err(Error::InvalidProducerSet);
    }
    let mut total: u128 = 0;
    for s in stakes {
        total = total.checked_add(s).ok_or(Error::StakeOverflow)?;
    }
    if total.checked_mul(3).is_none() {
        return Err(Error::StakeOverflow);
    }
    Ok(total)
}

/// Check a producer list received in a block before anything is stored: the same rules as
/// [`EpochProducers::new`].
pub fn validate_bps(bps: &BpsRef<'_>) -> Result<(), Error> {
    checked_total(bps.count, bps.iter().map(|p| p.stake)).map(|_| ())
}

/// A compact producer table borrowed from its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProducerTable<'a> {
    bytes: &'a [u8],
    n: usize,
}

impl<'a> ProducerTable<'a> {
    /// Wrap stored bytes; `None` if they are not a well-formed table.
    pub fn from_bytes(bytes: &'a [u8]) -> Option<Self> {
        let n = u16::from_le_bytes(bytes.get(16..18)?.try_into().ok()?) as usize;
        if n == 0 || bytes.len() != table_len(n) {
            return None;
        }
        Some(ProducerTable { bytes, n })
    }

    fn entry(&self, index: usize) -> &'a [u8] {
        let at = HEADER + 2 * self.n + ENTRY * index;
        &self.bytes[at..at + ENTRY]
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Producers in the epoch's order: (ed25519 key or `None`, stake).
    pub fn entries(&self) -> impl Iterator<Item = (Option<&'a [u8; 32]>, u128)> + '_ {
        (0..self.n).map(|i| (self.ed25519_key_of(i), self.stake(i)))
    }

    fn ed25519_key_of(&self, index: usize) -> Option<&'a [u8; 32]> {
        let e = self.entry(index);
        if e[0] != KEY_ED25519 {
            return None;
        }
        <&[u8; 32]>::try_from(&e[1..33]).ok()
    }
}

impl ProducerSet for ProducerTable<'_> {
    fn count(&self) -> usize {
        self.n
    }
    fn total_stake(&self) -> u128 {
        let mut b = [0u8; 16];
        b.copy_from_slice(&self.bytes[..16]);
        u128::from_le_bytes(b)
    }
    fn by_stake(&self, k: usize) -> usize {
        let at = HEADER + 2 * k;
        u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]) as usize
    }
    fn ed25519_key(&self, index: usize) -> Option<&[u8; 32]> {
        self.ed25519_key_of(index)
    }
    fn stake(&self, index: usize) -> u128 {
        let e = self.entry(index);
        let mut b = [0u8; 16];
        b.copy_from_slice(&e[33..49]);
        u128::from_le_bytes(b)
    }
}

/// An owned [`ProducerTable`] (what the contract reads from storage).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerTableBuf {
    bytes: Vec<u8>,
    n: usize,
}

impl ProducerTableBuf {
    /// `None` if the bytes are not a well-formed table.
    pub fn from_vec(bytes: Vec<u8>) -> Option<Self> {
        let n = ProducerTable::from_bytes(&bytes)?.n;
        Some(ProducerTableBuf { bytes, n })
    }

    pub fn table(&self) -> ProducerTable<'_> {
        ProducerTable {
            bytes: &self.bytes,
            n: self.n,
        }
    }
}

impl ProducerSet for ProducerTableBuf {
    fn count(&self) -> usize {
        self.n
    }
    fn total_stake(&self) -> u128 {
        self.table().total_stake()
    }
    fn by_stake(&self, k: usize) -> usize {
        self.table().by_stake(k)
    }
    fn ed25519_key(&self, index: usize) -> Option<&[u8; 32]> {
        let at = HEADER + 2 * self.n + ENTRY * index;
        let e = &self.bytes[at..at + ENTRY];
        if e[0] != KEY_ED25519 {
            return None;
        }
        <&[u8; 32]>::try_from(&e[1..33]).ok()
    }
    fn stake(&self, index: usize) -> u128 {
        self.table().stake(index)
    }
}

/// Encode producers (key, stake) in the epoch's order into a table, with the checks of
/// [`EpochProducers::new`] and its order (descending stake, ties by index).
fn encode<'k>(
    n: usize,
    entries: impl Iterator<Item = (KeyRef<'k>, u128)> + Clone,
) -> Result<Vec<u8>, Error> {
    let total = checked_total(n, entries.clone().map(|(_, s)| s))?;
    let mut stakes: Vec<(u128, u16)> = Vec::with_capacity(n);
    let mut out = vec![0u8; table_len(n)];
    out[..16].copy_from_slice(&total.to_le_bytes());
    out[16..18].copy_from_slice(&(n as u16).to_le_bytes());
    for (i, (key, stake)) in entries.enumerate() {
        let at = HEADER + 2 * n + ENTRY * i;
        match key {
            KeyRef::Ed25519(k) => {
                out[at] = KEY_ED25519;
                out[at + 1..at + 33].copy_from_slice(k);
            }
            KeyRef::Secp256k1(_) => out[at] = KEY_OTHER,
        }
        out[at + 33..at + 49].copy_from_slice(&stake.to_le_bytes());
        stakes.push((stake, i as u16));
    }
    sort_by_stake(&mut stakes);
    for (k, (_, i)) in stakes.iter().enumerate() {
        let at = HEADER + 2 * k;
        out[at..at + 2].copy_from_slice(&i.to_le_bytes());
    }
    Ok(out)
}

/// Producers by descending stake, ties by ascending index: the order in which signatures are
/// checked. A total order (indices are distinct), so an unstable sort gives the one result. One
/// non-generic function for every caller, so the contract links one sort (issue 11: size).
#[inline(never)]
pub fn sort_by_stake(stakes: &mut [(u128, u16)]) {
    stakes.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
}

/// The table of a producer list received in a block (`next_bps`).
pub fn table_from_bps(bps: &BpsRef<'_>) -> Result<Vec<u8>, Error> {
    encode(bps.count, bps.iter().map(|p| (p.public_key, p.stake)))
}

/// The table of a native producer set (initialisation, recovery, migration).
pub fn table_from_epoch(p: &EpochProducers) -> Result<Vec<u8>, Error> {
    encode(
        p.producers.len(),
        p.producers.iter().map(|v| {
            let key = match v.public_key() {
                PublicKey::Ed25519(k) => KeyRef::Ed25519(k),
                PublicKey::Secp256k1(k) => KeyRef::Secp256k1(k),
            };
            (key, v.stake())
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::{ValidatorStakeView, ValidatorStakeViewV1};

    fn v(name: &str, key: PublicKey, stake: u128) -> ValidatorStakeView {
        ValidatorStakeView::V1(ValidatorStakeViewV1 {
            account_id: name.into(),
            public_key: key,
            stake,
        })
    }

    fn same<A: ProducerSet, B: ProducerSet>(a: &A, b: &B) {
        assert_eq!(a.count(), b.count());
        assert_eq!(a.total_stake(), b.total_stake());
        for i in 0..a.count() {
            assert_eq!(a.by_stake(i), b.by_stake(i), "by_stake {i}");
            assert_eq!(a.ed25519_key(i), b.ed25519_key(i), "key {i}");
            assert_eq!(a.stake(i), b.stake(i), "stake {i}");
        }
    }

    #[test]
    fn table_reads_like_the_native_set_with_ties_and_foreign_keys() {
        let views = vec![
            v("a", PublicKey::Ed25519([1; 32]), 10),
            v("b", PublicKey::Secp256k1([2; 64]), 30),
            v("c", PublicKey::Ed25519([3; 32]), 10),
            v("d", PublicKey::Ed25519([1; 32]), 30),
        ];
        let native = EpochProducers::new(views.clone()).unwrap();
        let bytes = table_from_epoch(&native).unwrap();
        let table = ProducerTable::from_bytes(&bytes).unwrap();
        same(&native, &table);
        assert_eq!(
            (0..4).map(|k| table.by_stake(k)).collect::<Vec<_>>(),
            vec![1, 3, 0, 2]
        );
        // From the borsh bytes of the same list: identical table.
        let raw = borsh::to_vec(&views).unwrap();
        let bps = BpsRef::parse(&raw).unwrap();
        assert_eq!(table_from_bps(&bps).unwrap(), bytes);
    }

    #[test]
    fn the_same_checks_as_the_native_set() {
        let over = vec![
            v("a", PublicKey::Ed25519([1; 32]), u128::MAX / 2),
            v("b", PublicKey::Ed25519([1; 32]), u128::MAX / 2),
        ];
        assert_eq!(EpochProducers::new(over.clone()), Err(Error::StakeOverflow));
        let raw = borsh::to_vec(&over).unwrap();
        let bps = BpsRef::parse(&raw).unwrap();
        assert_eq!(validate_bps(&bps), Err(Error::StakeOverflow));
        assert_eq!(table_from_bps(&bps), Err(Error::StakeOverflow));
        let empty: Vec<ValidatorStakeView> = vec![];
        let raw = borsh::to_vec(&empty).unwrap();
        let bps = BpsRef::parse(&raw).unwrap();
        assert_eq!(validate_bps(&bps), Err(Error::InvalidProducerSet));
    }

    #[test]
    fn malformed_table_bytes_are_refused() {
        let native = EpochProducers::new(vec![v("a", PublicKey::Ed25519([1; 32]), 1)]).unwrap();
        let bytes = table_from_epoch(&native).unwrap();
        assert!(ProducerTable::from_bytes(&bytes).is_some());
        assert!(ProducerTable::from_bytes(&bytes[..bytes.len() - 1]).is_none());
        assert!(ProducerTable::from_bytes(&[]).is_none());
    }
}
