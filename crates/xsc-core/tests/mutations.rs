//! Property test: random mutations of REAL blocks and proofs are never accepted.
//!
//! Deterministic: a seeded `StdRng` (override with `XSC_MUTATION_SEED=<u64 or 0x..>`; scale the
//! number of mutations with `XSC_MUTATION_SCALE=<n>`). Every failure message carries the seed,
//! the block or proof, the mutation number and the exact bits flipped.
//!
//! Blocks: each accepted block of every manifest chain is mutated against the exact light client
//! state before it (the chains are replayed). Random bits are flipped in the borsh encoding of
//! the HASHED or COMMITTED part of the block: `prev_block_hash`, `next_block_inner_hash`,
//! `inner_lite`, `inner_rest_hash` (all under the approval message) and `next_bps` (committed by
//! `inner_lite.next_bp_hash`). The result is decoded with borsh (a decode failure counts as a
//! rejection) and applied: it must be rejected, and the head must not move.
//!
//! Approvals are NOT bit-flipped blindly, by design: the verifier checks signatures in
//! descending-stake order and stops as soon as more than 2/3 of the stake is proven. Corrupting
//! a signature that is never reached does not change the verdict, and accepting that block is
//! correct and safe (it is still the authentic block, signed by more than 2/3 of the stake). So
//! approvals are mutated only in ways that MUST be rejected:
//! - corrupt a random non-empty subset of the present signatures such that the stake of the
//!   uncorrupted present signatures is at most 2/3 of the total (bit flips, random bytes, another
//!   producer's signature, the same key's signature of another block, top bits set, zeros),
//!   optionally after blanking some approvals: the verifier must reach a corrupted one, so the
//!   error is exactly `InvalidSignature` at the first corrupted slot in stake order;
//! - truncate the list, or blank present approvals, until at most 2/3 of the stake remains:
//!   `NotEnoughApprovals` with the full total stake.
//!
//! Proofs: each valid manifest proof is borsh-encoded and random bits are flipped ANYWHERE in
//! the encoding (every byte of our borsh proof encoding is covered by a hash: lengths and enum
//! tags either fail to decode or change a hashed value), decoded (failure = rejected) and
//! verified against the manifest root: it must be rejected. A mutation that decodes to exactly
//! the original value is not a mutation: it is skipped and not counted.

mod common;

use common::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use xsc_core::hashing::inner_lite_bytes;
use xsc_core::{
    verify_outcome_proof, Error, LightClientBlockView, LightClientExecutionProof, Signature,
};

const DEFAULT_SEED: u64 = 0x7873_632d_6d75_7431;

/// Per accepted block (31 blocks): flips in the 304 header bytes, flips in `next_bps`, and
/// approval mutations (the costly ones: each verifies up to ~2/3 of the signatures).
const HEADER_FLIPS_PER_BLOCK: usize = 240;
const NEXT_BPS_FLIPS_PER_BLOCK: usize = 60;
const APPROVAL_MUTATIONS_PER_BLOCK: usize = 48;
/// Per valid proof (11 proofs).
const FLIPS_PER_PROOF: usize = 900;

const MIN_BLOCK_MUTATIONS: usize = 5_000;
const MIN_PROOF_MUTATIONS: usize = 5_000;
const MIN_TOTAL_MUTATIONS: usize = 10_000;

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    Some(match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).expect(name),
        None => v.parse().expect(name),
    })
}

fn seed() -> u64 {
    env_u64("XSC_MUTATION_SEED").unwrap_or(DEFAULT_SEED)
}

fn scale() -> usize {
    env_u64("XSC_MUTATION_SCALE").unwrap_or(1).max(1) as usize
}

/// What happened to the mutations of one kind of input.
#[derive(Default, Debug)]
struct Stats {
    /// Mutations counted (decoded to something other than the original, or failed to decode).
    mutations: usize,
    decode_failures: usize,
    /// Decoded to the original value: not a mutation, not counted.
    identities: usize,
    by_error: BTreeMap<&'static str, usize>,
    by_kind: BTreeMap<&'static str, usize>,
}

impl Stats {
    fn rejected(&mut self, kind: &'static str, e: &Error) {
        self.mutations += 1;
        *self.by_error.entry(e.code()).or_default() += 1;
        *self.by_kind.entry(kind).or_default() += 1;
    }
    fn undecodable(&mut self, kind: &'static str) {
        self.mutations += 1;
        self.decode_failures += 1;
        *self.by_kind.entry(kind).or_default() += 1;
    }
    fn report(&self, what: &str) {
        println!(
            "{what}: {} mutations rejected ({} did not decode; {} identities skipped)",
            self.mutations, self.decode_failures, self.identities
        );
        println!("  by kind:  {:?}", self.by_kind);
        println!("  by error: {:?}", self.by_error);
    }
}

/// Flip 1 to 3 random bits in `range`; returns (byte offset, mask) of each flip.
fn flip_random_bits(bytes: &mut [u8], range: Range<usize>, rng: &mut StdRng) -> Vec<(usize, u8)> {
    let n = rng.gen_range(1..=3);
    (0..n)
        .map(|_| {
            let at = rng.gen_range(range.clone());
            let mask = 1u8 << rng.gen_range(0..8);
            bytes[at] ^= mask;
            (at, mask)
        })
        .collect()
}

#[test]
fn random_mutations_of_real_blocks_and_proofs_are_never_accepted() {
    let seed = seed();
    let scale = scale();
    println!(
        "mutation seed {seed:#x} scale {scale} (override: XSC_MUTATION_SEED, XSC_MUTATION_SCALE)"
    );
    let started = std::time::Instant::now();
    // Blocks and proofs run in parallel (each with its own deterministic RNG stream).
    let (blocks, proofs) = std::thread::scope(|s| {
        let b = s.spawn(|| mutate_blocks(seed, scale));
        let p = s.spawn(|| mutate_proofs(seed.rotate_left(32) ^ 0x5eed, scale));
        let b = b.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let p = p.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (b, p)
    });
    blocks.report("blocks");
    proofs.report("proofs");
    let total = blocks.mutations + proofs.mutations;
    println!(
        "total {total} mutations, none accepted, in {:?}",
        started.elapsed()
    );
    assert!(
        blocks.mutations >= MIN_BLOCK_MUTATIONS,
        "{} block mutations",
        blocks.mutations
    );
    assert!(
        proofs.mutations >= MIN_PROOF_MUTATIONS,
        "{} proof mutations",
        proofs.mutations
    );
    assert!(total >= MIN_TOTAL_MUTATIONS, "{total} mutations");
    // Every path of the verifier was exercised.
    for code in [
        "ERR_EPOCH_SKIPPED",
        "ERR_BLOCK_NOT_NEWER",
        "ERR_NEXT_BPS_HASH_MISMATCH",
        "ERR_INVALID_SIGNATURE",
        "ERR_NOT_ENOUGH_APPROVALS",
    ] {
        assert!(
            blocks.by_error.contains_key(code),
            "no block mutation gave {code}"
        );
    }
    for code in [
        "ERR_OUTCOME_ROOT_MISMATCH",
        "ERR_BLOCK_HASH_MISMATCH",
        "ERR_BLOCK_ROOT_MISMATCH",
    ] {
        assert!(
            proofs.by_error.contains_key(code),
            "no proof mutation gave {code}"
        );
    }
    assert!(blocks.decode_failures > 0 && proofs.decode_failures > 0);
}

/// Signatures each key (by its text form) made in the real blocks (valid, for their messages).
type Donors = HashMap<String, Vec<(u64, Signature)>>;

fn signatures_by_key(steps: &[ChainStep]) -> Donors {
    let mut out: Donors = HashMap::new();
    for s in steps {
        for (i, a) in s.block.approvals_after_next.iter().enumerate() {
            if let (Some(sig), Some(p)) = (a, s.producers.producers.get(i)) {
                out.entry(p.public_key().to_string())
                    .or_default()
                    .push((s.block.inner_lite.height, sig.clone()));
            }
        }
    }
    out
}

fn mutate_blocks(seed: u64, scale: usize) -> Stats {
    let mut rng = StdRng::seed_from_u64(seed);
    let steps = accepted_steps();
    let donors = signatures_by_key(&steps);
    let mut st = Stats::default();
    for s in &steps {
        let mut lc = s.lc.clone();
        let head = s.lc.head_view().clone();
        let bytes = borsh::to_vec(&s.block).unwrap();
        // Layout: prev_block_hash, next_block_inner_hash, inner_lite (the 208 hashed bytes),
        // inner_rest_hash, next_bps, approvals_after_next.
        let header_end = 32 + 32 + 208 + 32;
        let bps_end = header_end + borsh::to_vec(&s.block.next_bps).unwrap().len();
        assert_eq!(&bytes[..32], &s.block.prev_block_hash.0);
        assert_eq!(&bytes[64..272], &inner_lite_bytes(&s.block.inner_lite)[..]);
        assert_eq!(&bytes[272..304], &s.block.inner_rest_hash.0);
        assert_eq!(
            &bytes[bps_end..],
            &borsh::to_vec(&s.block.approvals_after_next).unwrap()[..]
        );

        let regions = [
            ("header", 0..header_end, HEADER_FLIPS_PER_BLOCK * scale),
            (
                "next_bps",
                header_end..bps_end,
                NEXT_BPS_FLIPS_PER_BLOCK * scale,
            ),
        ];
        for (kind, range, n) in regions {
            for m in 0..n {
                let mut b = bytes.clone();
                let flips = flip_random_bits(&mut b, range.clone(), &mut rng);
                let ctx = || {
                    format!(
                        "seed {seed:#x}: {}: {kind} mutation {m}: flipped (offset, mask) {flips:?}",
                        s.label()
                    )
                };
                match borsh::from_slice::<LightClientBlockView>(&b) {
                    Err(_) => st.undecodable(kind),
                    Ok(d) if d == s.block => st.identities += 1,
                    Ok(d) => match lc.apply(&C, &d) {
                        Ok(v) => panic!("ACCEPTED a mutated block: {}: {v:?}", ctx()),
                        Err(e) => st.rejected(kind, &e),
                    },
                }
                assert_eq!(lc.head_view(), &head, "head moved: {}", ctx());
            }
        }

        for m in 0..APPROVAL_MUTATIONS_PER_BLOCK * scale {
            let (kind, what, b, want) = mutate_approvals(s, &donors, &mut rng);
            let ctx = || {
                format!(
                    "seed {seed:#x}: {}: approvals mutation {m}: {what}",
                    s.label()
                )
            };
            match lc.apply(&C, &b) {
                Ok(v) => panic!("ACCEPTED a mutated block: {}: {v:?}", ctx()),
                Err(e) => {
                    assert_eq!(e, want, "{}", ctx());
                    st.rejected(kind, &e);
                }
            }
            assert_eq!(lc.head_view(), &head, "head moved: {}", ctx());
        }

        // The client is intact: the real block is still accepted.
        lc.apply(&C, &s.block)
            .unwrap_or_else(|e| panic!("{}: original rejected after mutations: {e}", s.label()));
    }
    st
}

/// Make `sig` invalid for producer `i`'s key on this block's message, in one of several ways.
fn corrupt(s: &ChainStep, i: usize, donors: &Donors, rng: &mut StdRng) -> (Signature, String) {
    let Some(Signature::Ed25519(orig)) = s.block.approvals_after_next[i].clone() else {
        unreachable!("real approvals are ed25519");
    };
    let key = s.producers.producers[i].public_key();
    loop {
        match rng.gen_range(0..6) {
            0 => {
                let mut sig = orig;
                let n = rng.gen_range(1..=3);
                let mut at = Vec::new();
                for _ in 0..n {
                    let (byte, bit) = (rng.gen_range(0..64), rng.gen_range(0..8));
                    sig[byte] ^= 1 << bit;
                    at.push((byte, bit));
                }
                if sig != orig {
                    return (Signature::Ed25519(sig), format!("{i}: bits {at:?}"));
                }
            }
            1 => {
                let mut sig = [0u8; 64];
                rng.fill(&mut sig[..]);
                return (Signature::Ed25519(sig), format!("{i}: random bytes"));
            }
            2 => {
                // Another producer's signature of the same message (a different key).
                let others: Vec<usize> = (0..s.producers.producers.len())
                    .filter(|&j| {
                        present(&s.producers, &s.block.approvals_after_next, j)
                            && s.producers.producers[j].public_key() != key
                    })
                    .collect();
                if let Some(&j) = others.choose(rng) {
                    let sig = s.block.approvals_after_next[j].clone().unwrap();
                    return (sig, format!("{i}: signature of producer {j}"));
                }
            }
            3 => {
                // The same key's genuine signature of another block (replay).
                let h = s.block.inner_lite.height;
                let mine: Vec<&(u64, Signature)> = donors
                    .get(&key.to_string())
                    .map(|v| v.iter().filter(|(dh, _)| *dh != h).collect())
                    .unwrap_or_default();
                if let Some((dh, sig)) = mine.choose(rng) {
                    return (sig.clone(), format!("{i}: own signature of block {dh}"));
                }
            }
            4 => {
                let mut sig = orig;
                let mask = [0x20u8, 0x40, 0x80, 0xE0][rng.gen_range(0..4)];
                sig[63] |= mask;
                return (Signature::Ed25519(sig), format!("{i}: top bits {mask:#x}"));
            }
            _ => return (Signature::Ed25519([0; 64]), format!("{i}: zeros")),
        }
    }
}

/// One approvals mutation that must be rejected, with the exact error it must give.
fn mutate_approvals(
    s: &ChainStep,
    donors: &Donors,
    rng: &mut StdRng,
) -> (&'static str, String, LightClientBlockView, Error) {
    let p = &s.producers;
    let total = p.total_stake;
    let stake = |i: usize| p.producers[i].stake();
    let mut b = s.block.clone();
    let mut present_idx: Vec<usize> = (0..p.producers.len())
        .filter(|&i| present(p, &b.approvals_after_next, i))
        .collect();
    present_idx.shuffle(rng);
    let mut remaining = present_stake(p, &b.approvals_after_next);
    assert!(more_than_two_thirds(remaining, total));
    match rng.gen_range(0..10) {
        // Corrupt a subset (60%), after blanking some approvals (half of those).
        k @ 0..=5 => {
            let blank = if k % 2 == 1 {
                rng.gen_range(0..=present_idx.len() / 2)
            } else {
                0
            };
            let mut what = format!("blanked {:?}; corrupted", &present_idx[..blank]);
            for &i in &present_idx[..blank] {
                b.approvals_after_next[i] = None;
                remaining -= stake(i);
            }
            let mut corrupted = Vec::new();
            for &i in &present_idx[blank..] {
                if !more_than_two_thirds(remaining, total)
                    && !corrupted.is_empty()
                    && !rng.gen_bool(0.25)
                {
                    break;
                }
                let (sig, how) = corrupt(s, i, donors, rng);
                b.approvals_after_next[i] = Some(sig);
                what.push_str(&format!(" [{how}]"));
                corrupted.push(i);
                remaining -= stake(i);
            }
            // The uncorrupted approvals cannot pass on their own: the verifier must reach a
            // corrupted one, the first in stake order.
            assert!(!more_than_two_thirds(remaining, total) && !corrupted.is_empty());
            let first = p
                .by_stake
                .iter()
                .map(|&i| i as usize)
                .find(|i| corrupted.contains(i))
                .unwrap();
            let kind = if blank > 0 {
                "blank+corrupt"
            } else {
                "corrupt"
            };
            (kind, what, b, Error::InvalidSignature { index: first })
        }
        // Truncate to a prefix holding at most 2/3 of the stake.
        6..=7 => {
            let k_max = (0..=b.approvals_after_next.len())
                .rev()
                .find(|&k| {
                    !more_than_two_thirds(present_stake(p, &b.approvals_after_next[..k]), total)
                })
                .unwrap();
            let k = rng.gen_range(0..=k_max);
            b.approvals_after_next.truncate(k);
            let kept = present_stake(p, &b.approvals_after_next);
            let want = Error::NotEnoughApprovals {
                approved: kept,
                total,
            };
            ("truncate", format!("truncated to {k}"), b, want)
        }
        // Blank present approvals (random order) until at most 2/3 remain, sometimes more.
        _ => {
            let mut blanked = Vec::new();
            for &i in &present_idx {
                if !more_than_two_thirds(remaining, total) && !rng.gen_bool(0.25) {
                    break;
                }
                b.approvals_after_next[i] = None;
                blanked.push(i);
                remaining -= stake(i);
            }
            let want = Error::NotEnoughApprovals {
                approved: remaining,
                total,
            };
            ("blank", format!("blanked {blanked:?}"), b, want)
        }
    }
}

fn mutate_proofs(seed: u64, scale: usize) -> Stats {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut st = Stats::default();
    for case in valid_proofs() {
        let bytes = borsh::to_vec(&case.proof).unwrap();
        let decoded: LightClientExecutionProof = borsh::from_slice(&bytes).unwrap();
        assert_eq!(decoded, case.proof, "{}: borsh round trip", case.name);
        for m in 0..FLIPS_PER_PROOF * scale {
            let mut b = bytes.clone();
            let flips = flip_random_bits(&mut b, 0..bytes.len(), &mut rng);
            check_proof_mutation(&case, &b, &mut st, || {
                format!(
                    "seed {seed:#x}: {}: mutation {m}: flipped (offset, mask) {flips:?}",
                    case.name
                )
            });
        }
    }
    st
}

fn check_proof_mutation(case: &ProofCase, bytes: &[u8], st: &mut Stats, ctx: impl Fn() -> String) {
    match borsh::from_slice::<LightClientExecutionProof>(bytes) {
        Err(_) => st.undecodable("proof"),
        Ok(d) if d == case.proof => st.identities += 1,
        Ok(d) => match verify_outcome_proof(&C, &d, &case.root) {
            Ok(o) => panic!("ACCEPTED a mutated proof: {}: {o:?}", ctx()),
            Err(e) => st.rejected("proof", &e),
        },
    }
}

#[test]
fn every_single_bit_flip_of_every_real_proof_is_rejected() {
    // Exhaustive complement of the random test: each bit of each valid proof's encoding.
    let mut st = Stats::default();
    for case in valid_proofs() {
        let bytes = borsh::to_vec(&case.proof).unwrap();
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                check_proof_mutation(&case, &b, &mut st, || {
                    format!("{}: byte {at} bit {bit}", case.name)
                });
            }
        }
    }
    st.report("single-bit proof flips");
    assert_eq!(st.identities, 0, "a flipped bit decoded to the same proof");
    assert!(st.mutations >= 50_000, "{}", st.mutations);
}

#[test]
fn every_single_bit_flip_of_a_real_block_header_gives_the_expected_error() {
    // Exhaustive complement of the random test, for the first block of every chain: each of
    // the 304 * 8 bits of prev_block_hash, next_block_inner_hash, inner_lite and
    // inner_rest_hash, with the exact error its field must give.
    let steps = accepted_steps();
    let mut firsts: Vec<&ChainStep> = Vec::new();
    for s in &steps {
        if !firsts.iter().any(|f| f.case == s.case) {
            firsts.push(s);
        }
    }
    assert!(firsts.len() >= 4);
    let mut st = Stats::default();
    for s in firsts {
        let mut lc = s.lc.clone();
        let head = s.lc.head_view().clone();
        let first = first_checked(&s.producers, &s.block.approvals_after_next);
        let bytes = borsh::to_vec(&s.block).unwrap();
        for at in 0..304 {
            let (field, kind) = match at {
                0..=31 => ("prev_block_hash", "header"),
                32..=63 => ("next_block_inner_hash", "header"),
                64..=71 => ("height", "height"),
                72..=103 => ("epoch_id", "epoch"),
                104..=135 => ("next_epoch_id", "header"),
                136..=167 => ("prev_state_root", "header"),
                168..=199 => ("outcome_root", "header"),
                200..=207 => ("timestamp", "header"),
                208..=239 => ("next_bp_hash", "next_bp_hash"),
                240..=271 => ("block_merkle_root", "header"),
                _ => ("inner_rest_hash", "header"),
            };
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[at] ^= 1 << bit;
                let what = format!("{}: {field} byte {at} bit {bit}", s.label());
                let d: LightClientBlockView = borsh::from_slice(&b).expect(&what);
                let want = match kind {
                    "epoch" => Error::EpochSkipped,
                    "next_bp_hash" => Error::NextBpsHashMismatch,
                    "height" if d.inner_lite.height <= head.height => Error::BlockNotNewer {
                        head: head.height,
                        block: d.inner_lite.height,
                    },
                    _ => Error::InvalidSignature { index: first },
                };
                match lc.apply(&C, &d) {
                    Ok(v) => panic!("ACCEPTED {what}: {v:?}"),
                    Err(e) => {
                        assert_eq!(e, want, "{what}");
                        st.rejected(kind, &e);
                    }
                }
                assert_eq!(lc.head_view(), &head, "{what}");
            }
        }
    }
    st.report("single-bit header flips");
    assert_eq!(st.mutations, 4 * 304 * 8);
}
