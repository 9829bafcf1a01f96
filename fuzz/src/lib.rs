//! What the fuzz targets share: the real trusted states they verify against, a store laid out
//! like the light client contract's (compact producer tables), and the property checks of log
//! lines, which several targets reach.
//!
//! Every check is an `assert!`: a failed property is a crash that libFuzzer keeps as an
//! artifact, and every crash found is kept as a unit test next to the code it tests.

use std::collections::{BTreeMap, HashSet};
use std::sync::OnceLock;
use xsc_core::block_ref::BpsRef;
use xsc_core::client::{Head, LightClientStore};
use xsc_core::producers::{table_from_bps, table_from_epoch, ProducerTableBuf};
use xsc_core::{CryptoHash, Error, LightClient, NativeCrypto};
use xsc_interfaces::calimero::{CrossCallEvent, CrossResponseEvent};
use xsc_interfaces::{MessageKind, TransportEvent};

pub const C: NativeCrypto = NativeCrypto;

/// A light client store with the contract's representation of producer sets: the compact
/// table (`xsc_core::producers`), built from `next_bps` by `table_from_bps` exactly as
/// `contracts/light-client/src/store.rs` does. Verification against it must give the verdicts
/// of the native [`LightClient`] (which keeps full `EpochProducers`).
#[derive(Clone, Debug)]
pub struct CompactStore {
    pub head: Head,
    pub tables: BTreeMap<CryptoHash, ProducerTableBuf>,
}

impl CompactStore {
    pub fn from_native(client: &LightClient) -> Self {
        let tables = client
            .epochs()
            .map(|e| {
                let producers = client.epoch_producers(e).expect("listed epoch");
                let bytes = table_from_epoch(&producers).expect("a stored set encodes");
                (
                    *e,
                    ProducerTableBuf::from_vec(bytes).expect("a well-formed table"),
                )
            })
            .collect();
        CompactStore {
            head: client.head_view().clone(),
            tables,
        }
    }
}

impl LightClientStore for CompactStore {
    type Producers<'a> = &'a ProducerTableBuf;
    type Prepared = Vec<u8>;

    fn head(&self) -> Head {
        self.head.clone()
    }
    fn producers(&self, epoch_id: &CryptoHash) -> Option<&ProducerTableBuf> {
        self.tables.get(epoch_id)
    }
    fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> bool {
        self.tables.contains_key(epoch_id)
    }
    fn prepare_producers(&self, bps: &BpsRef<'_>) -> Result<Vec<u8>, Error> {
        table_from_bps(bps)
    }
    fn insert_epoch_producers(&mut self, epoch_id: CryptoHash, table: Vec<u8>) {
        let table = ProducerTableBuf::from_vec(table).expect("table_from_bps wrote a bad table");
        self.tables.insert(epoch_id, table);
    }
    fn remove_epoch_producers(&mut self, epoch_id: &CryptoHash) {
        self.tables.remove(epoch_id);
    }
    fn accept(&mut self, head: Head) {
        self.head = head;
    }
}

/// A trusted state of a real chain: the light client just before one of its manifest steps.
pub struct Snapshot {
    pub name: String,
    pub native: LightClient,
    pub compact: CompactStore,
}

/// What the targets verify against, read once from `shared/vectors` (found like the tests find
/// it: `XSC_VECTORS_DIR`, else above the workspace; missing data is a hard error).
pub struct Real {
    /// The light client before every step of every chain of the manifest.
    pub snapshots: Vec<Snapshot>,
    /// The hash of every real block of the manifest: the only blocks that may ever be accepted.
    pub block_hashes: HashSet<CryptoHash>,
    /// Valid real proofs: the trusted root and the outcome it proves.
    pub proofs: Vec<(CryptoHash, xsc_core::ProvenOutcome)>,
}

pub fn real() -> &'static Real {
    static REAL: OnceLock<Real> = OnceLock::new();
    REAL.get_or_init(|| {
        let manifest = xsc_vectors::manifest();
        let mut snapshots = Vec::new();
        let mut block_hashes = HashSet::new();
        for chain in &manifest.light_client_chains {
            let mut client = chain.start();
            for (step, block) in chain.steps.iter().zip(chain.blocks()) {
                snapshots.push(Snapshot {
                    name: format!("{} before {}", chain.name, step.height),
                    compact: CompactStore::from_native(&client),
                    native: client.clone(),
                });
                block_hashes.insert(step.block_hash);
                if client.apply(&C, &block).is_err() {
                    // A step the manifest rejects: the next one starts from the same state.
                    assert_ne!(step.expect, xsc_vectors::Verdict::Accept, "{}", chain.name);
                }
            }
        }
        let proofs = manifest
            .outcome_proofs
            .iter()
            .filter(|p| p.expect == xsc_vectors::Verdict::Valid)
            .map(|p| {
                let proof = xsc_vectors::proof(&p.proof);
                let outcome = xsc_core::verify_outcome_proof(&C, &proof, &p.root)
                    .unwrap_or_else(|e| panic!("{}: {e}", p.proof));
                (p.root, outcome)
            })
            .collect();
        Real {
            snapshots,
            block_hashes,
            proofs,
        }
    })
}

/// Every property of one log line of a proven outcome, as the connector's `select` reads it:
/// for each kind, a transport event parses only from its own prefix, names its own kind and
/// reads back from the line it formats to; a Calimero line reads back from its own format.
pub fn check_log_line(line: &str) {
    let mut parsed_as = None;
    for kind in MessageKind::ALL {
        let Some(event) = TransportEvent::parse(line, kind) else {
            continue;
        };
        assert!(line.starts_with(kind.log_prefix()));
        assert_eq!(event.kind(), kind);
        assert!(parsed_as.is_none(), "a line parsed as two kinds: {line:?}");
        parsed_as = Some(kind);
        let again = event.to_log();
        assert!(again.starts_with(kind.log_prefix()), "{again}");
        assert_eq!(TransportEvent::parse(&again, kind).as_ref(), Some(&event));
        assert_eq!(TransportEvent::parse_any(line).as_ref(), Some(&event));
    }
    if parsed_as.is_none() {
        assert_eq!(TransportEvent::parse_any(line), None);
    }
    if let Ok(call) = CrossCallEvent::parse(line) {
        assert_eq!(CrossCallEvent::parse(&call.to_log()), Ok(call));
    }
    if let Ok(response) = CrossResponseEvent::parse(line) {
        assert_eq!(CrossResponseEvent::parse(&response.to_log()), Ok(response));
    }
}
