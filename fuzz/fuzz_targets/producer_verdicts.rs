//! Approval verification against the two forms of a producer set: native `EpochProducers` and
//! the contract's compact `ProducerTable`, built from the same borsh `next_bps`. The signature
//! check is replaced by a deterministic toy (a signature is "valid" for a key when their first
//! bytes agree on parity), so the fuzzer can reach every mix of valid, invalid, absent,
//! secp256k1 and surplus approvals. Differential: identical verdicts, and every acceptance
//! proves more than 2/3 of the total stake.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use xsc_core::block::{verify_approvals, verify_approvals_ref};
use xsc_core::block_ref::{Approval, BpsRef};
use xsc_core::producers::{table_from_bps, ProducerTable};
use xsc_core::{
    Crypto, EpochProducers, Error, PublicKey, Signature, ValidatorStakeView, ValidatorStakeViewV1,
};

struct Toy;
impl Crypto for Toy {
    fn sha256(&self, data: &[u8]) -> [u8; 32] {
        xsc_fuzz::C.sha256(data)
    }
    fn ed25519_verify(&self, signature: &[u8; 64], message: &[u8], key: &[u8; 32]) -> bool {
        (signature[0] ^ key[0] ^ message.first().copied().unwrap_or(0)) & 1 == 0
    }
}

#[derive(Arbitrary, Debug)]
struct Producer {
    ed25519: bool,
    key: u8,
    stake: u128,
}

#[derive(Arbitrary, Debug)]
enum Sig {
    Absent,
    Ed25519(u8),
    Secp256k1,
}

#[derive(Arbitrary, Debug)]
struct Input {
    producers: Vec<Producer>,
    approvals: Vec<Sig>,
    message: Vec<u8>,
    small_stakes: bool,
}

fuzz_target!(|input: Input| {
    let views: Vec<ValidatorStakeView> = input
        .producers
        .iter()
        .enumerate()
        .map(|(i, p)| {
            ValidatorStakeView::V1(ValidatorStakeViewV1 {
                account_id: format!("p{i}.near"),
                public_key: if p.ed25519 {
                    PublicKey::Ed25519([p.key; 32])
                } else {
                    PublicKey::Secp256k1([p.key; 64])
                },
                // Mostly small stakes (ties, thresholds) unless asked for any u128.
                stake: if input.small_stakes {
                    p.stake % 8
                } else {
                    p.stake
                },
            })
        })
        .collect();
    let raw = borsh::to_vec(&views).unwrap();
    let bps = BpsRef::parse(&raw).expect("borsh of a producer list reads in place");
    let native = EpochProducers::new(views);
    let table = table_from_bps(&bps);
    let (native, table) = match (native, table) {
        (Ok(n), Ok(t)) => (n, t),
        (Err(a), Err(b)) => return assert_eq!(a, b),
        other => panic!("set verdicts differ: {other:?}"),
    };
    let table = ProducerTable::from_bytes(&table).expect("a well-formed table");

    let sigs: Vec<Option<Signature>> = input
        .approvals
        .iter()
        .map(|s| match s {
            Sig::Absent => None,
            Sig::Ed25519(b) => Some(Signature::Ed25519([*b; 64])),
            Sig::Secp256k1 => Some(Signature::Secp256k1([1; 65])),
        })
        .collect();
    let refs: Vec<Approval<'_>> = sigs
        .iter()
        .map(|s| match s {
            None => Approval::Absent,
            Some(Signature::Ed25519(b)) => Approval::Ed25519(b),
            Some(Signature::Secp256k1(_)) => Approval::Secp256k1,
        })
        .collect();

    let by_native = verify_approvals_ref(&Toy, &native, &refs, &input.message);
    let by_table = verify_approvals_ref(&Toy, &table, &refs, &input.message);
    let by_views = verify_approvals(&Toy, &native, &sigs, &input.message);
    assert_eq!(by_native, by_table);
    assert_eq!(by_native, by_views);
    match by_native {
        Ok((approved, checked)) => {
            assert!(approved * 3 > native.total_stake * 2);
            assert!(approved <= native.total_stake);
            assert!(checked as usize <= native.producers.len().min(refs.len()));
        }
        Err(Error::NotEnoughApprovals { approved, total }) => {
            assert_eq!(total, native.total_stake);
            assert!(approved * 3 <= total * 2);
        }
        Err(
            Error::InvalidSignature { index }
            | Error::UnsupportedSignature { index }
            | Error::UnsupportedKey { index },
        ) => assert!(index < native.producers.len() && index < refs.len()),
        Err(e) => panic!("unexpected error {e:?}"),
    }
});
