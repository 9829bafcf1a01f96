//! Unit tests with near-sdk's mocked blockchain: every manifest case through the contract, plus
//! the contract's own behaviour (window, deposits, events, pause, roles, recovery, proofs,
//! forwarding, migration).

mod blocks;
mod common;
mod forward;
mod migrate;
mod proofs;
mod window;
