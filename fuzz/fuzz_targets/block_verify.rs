//! A block as the light client receives it, verified against real trusted states (the state
//! before every step of every chain in `shared/vectors/manifest.json`; the seed corpus is those
//! real blocks). Differential: the native client (full `EpochProducers`) and a store laid out
//! like the contract's (compact producer tables) reach the same verdict, the same validated
//! block and the same producer set to store. Safety: an accepted block is one of the real
//! blocks (its hash is in the manifest) — whatever else a mutation changed (dropped or
//! corrupted approvals past 2/3, the list of the next epoch) must not create a new block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xsc_core::block_ref::BlockRef;
use xsc_core::client::plan_block;
use xsc_core::producers::table_from_epoch;
use xsc_fuzz::{real, C};

fuzz_target!(|data: &[u8]| {
    let Ok(block) = BlockRef::parse(data) else {
        return;
    };
    let real = real();
    for s in &real.snapshots {
        let native = plan_block(&s.native, &C, &block);
        let compact = plan_block(&s.compact, &C, &block);
        match (native, compact) {
            (Ok(n), Ok(c)) => {
                assert_eq!(n.validated, c.validated, "{}", s.name);
                assert_eq!(n.retire, c.retire, "{}", s.name);
                let n_add = n.add.map(|(e, p)| (e, table_from_epoch(&p).unwrap()));
                assert_eq!(n_add, c.add, "{}", s.name);
                assert!(
                    real.block_hashes.contains(&n.validated.hash),
                    "{}: accepted a block that is not a real one: {:?}",
                    s.name,
                    n.validated
                );
                assert!(n.validated.approved_stake * 3 > n.validated.total_stake * 2);
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{}", s.name),
            (a, b) => panic!(
                "{}: verdicts differ: native {:?}, compact {:?}",
                s.name,
                a.map(|p| p.validated),
                b.map(|p| p.validated)
            ),
        }
    }
});
