//! Storage behind `xsc_core::client::LightClientStore`: producer tables by epoch (compact,
//! read in place on every block) and the window (`window`).

use crate::error::ContractError;
use crate::{keys, LightClient};
use near_sdk::{env, near};
use xsc_core::block_ref::BpsRef;
use xsc_core::client::{Head, LightClientStore};
use xsc_core::producers::{table_from_bps, table_len, ProducerTableBuf};
use xsc_core::{CryptoHash, Error};

/// An epoch whose producer table is stored, and its size (so that the storage a block frees or
/// adds is known before anything is written). `producers == 0` is a free slot (a table has at
/// least one producer); the id alone cannot mark it: a chain's first epoch id is all zeros.
#[near(serializers = [borsh])]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KnownEpoch {
    pub id: CryptoHash,
    pub producers: u16,
}

/// Storage of one producer table record: key, value, NEAR's per-record overhead.
pub fn table_record_bytes(producers: usize) -> u64 {
    (33 + table_len(producers) + 40) as u64
}

/// Producers in a table's bytes (its header).
fn table_count(table: &[u8]) -> u16 {
    table
        .get(16..18)
        .map(|b| u16::from_le_bytes([b[0], b[1]]))
        .unwrap_or(0)
}

impl LightClient {
    fn known(&self, epoch_id: &CryptoHash) -> Option<&KnownEpoch> {
        self.known_epochs
            .iter()
            .find(|e| e.producers > 0 && e.id == *epoch_id)
    }

    /// Bytes the table of `epoch_id` occupies, if stored.
    pub(crate) fn table_bytes(&self, epoch_id: &CryptoHash) -> Option<u64> {
        self.known(epoch_id)
            .map(|e| table_record_bytes(e.producers as usize))
    }

    /// Store the producer table of an epoch (at most two are known at a time).
    pub(crate) fn write_producers(&mut self, epoch_id: CryptoHash, table: &[u8]) {
        env::storage_write(&keys::producers(&epoch_id), table);
        let producers = table_count(table);
        if let Some(e) = self
            .known_epochs
            .iter_mut()
            .find(|e| e.producers > 0 && e.id == epoch_id)
        {
            e.producers = producers;
            return;
        }
        match self.known_epochs.iter_mut().find(|e| e.producers == 0) {
            Some(free) => {
                *free = KnownEpoch {
                    id: epoch_id,
                    producers,
                }
            }
            // A block retires the head's epoch before adding the one after next.
            None => env::panic_str(ContractError::CorruptState.as_str()),
        }
    }

    pub(crate) fn read_producers(&self, epoch_id: &CryptoHash) -> Option<ProducerTableBuf> {
        self.known(epoch_id)?;
        let bytes = env::storage_read(&keys::producers(epoch_id))?;
        Some(
            ProducerTableBuf::from_vec(bytes)
                .unwrap_or_else(|| env::panic_str(ContractError::CorruptState.as_str())),
        )
    }

    pub(crate) fn forget_producers(&mut self, epoch_id: &CryptoHash) {
        if self.known(epoch_id).is_none() {
            return;
        }
        env::storage_remove(&keys::producers(epoch_id));
        for e in self.known_epochs.iter_mut() {
            if e.producers > 0 && e.id == *epoch_id {
                *e = KnownEpoch::default();
            }
        }
    }

    pub(crate) fn knows_epoch(&self, epoch_id: &CryptoHash) -> bool {
        self.known(epoch_id).is_some()
    }
}

impl LightClientStore for LightClient {
    type Producers<'a> = ProducerTableBuf;
    type Prepared = Vec<u8>;

    fn head(&self) -> Head {
        self.head.clone()
    }
    fn producers(&self, epoch_id: &CryptoHash) -> Option<ProducerTableBuf> {
        self.read_producers(epoch_id)
    }
    fn has_epoch_producers(&self, epoch_id: &CryptoHash) -> bool {
        self.knows_epoch(epoch_id)
    }
    fn prepare_producers(&self, bps: &BpsRef<'_>) -> Result<Vec<u8>, Error> {
        table_from_bps(bps)
    }
    fn insert_epoch_producers(&mut self, epoch_id: CryptoHash, table: Vec<u8>) {
        self.write_producers(epoch_id, &table);
    }
    fn remove_epoch_producers(&mut self, epoch_id: &CryptoHash) {
        self.forget_producers(epoch_id);
    }
    fn accept(&mut self, head: Head) {
        self.record_head(head, false);
    }
}
