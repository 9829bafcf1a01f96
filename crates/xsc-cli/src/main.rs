//! `xsc`: the xsc command-line tool.
//!
//! Offline subcommands verify RPC data with `xsc-core`, exactly as the light client contract does.
//! `relay`, `status`, `deploy` and `demo` run the bridge (`xsc-bridge`).
//! Exit status: 0 when everything verified, 1 when some input was rejected or invalid, 2 for usage
//! errors and inputs that cannot be used at all (see each subcommand).

mod bridge;
mod json;
mod verify_blocks;
mod verify_proof;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Every input verified (or accepted).
pub const EXIT_OK: u8 = 0;
/// At least one input was rejected or invalid.
pub const EXIT_REJECTED: u8 = 1;
/// Usage error, or an input needed to verify anything (head, producers, ...) is unusable.
/// Same code as clap's own usage errors.
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "xsc",
    version,
    about = "xsc: cross-chain calls between NEAR-protocol chains"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Verify light client blocks (RPC `next_light_client_block` results) from a trusted head.
    VerifyBlocks(verify_blocks::Args),
    /// Verify an execution outcome proof (RPC `EXPERIMENTAL_light_client_proof` result).
    VerifyProof(verify_proof::Args),
    /// Run the bridge service: both directions of the configured chain pair.
    Relay(bridge::ConfigArgs),
    /// Show the queue (pending messages, dead letters), the chains and light client heads; or
    /// one message end to end (`--message <id>`).
    Status(bridge::StatusArgs),
    /// Put every failed message (dead letter) back into the queue.
    Requeue(bridge::RequeueArgs),
    /// Put one failed message back into the queue.
    Retry(bridge::RetryArgs),
    /// Deploy and initialise the light clients, connectors (and demo dapps) on two chains.
    Deploy(Box<bridge::DeployArgs>),
    /// Two local sandbox chains, deployment, the bridge service and both demo round trips.
    Demo(bridge::DemoArgs),
}

impl Command {
    fn run(self) -> anyhow::Result<u8> {
        match self {
            Command::VerifyBlocks(args) => verify_blocks::run(&args),
            Command::VerifyProof(args) => verify_proof::run(&args),
            Command::Relay(args) => bridge::relay(&args),
            Command::Status(args) => bridge::status(&args),
            Command::Requeue(args) => bridge::requeue(&args),
            Command::Retry(args) => bridge::retry(&args),
            Command::Deploy(args) => bridge::deploy(&args),
            Command::Demo(args) => bridge::demo(&args),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.run() {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("xsc: error: {e:#}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
