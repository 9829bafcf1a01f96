//! `fetch-sandbox`: make sure a neard sandbox binary is where the project looks for one, and print
//! its path.
//!
//! 1. `NEAR_SANDBOX_BIN_PATH` or `$HOME/.xsc/bin/neard-sandbox`, when it exists: nothing to do.
//! 2. Otherwise download the sandbox that near-workspaces users get — the `near-sandbox` crate's
//!    pinned nearcore release ([`near_sandbox::DEFAULT_NEAR_SANDBOX_VERSION`], fixed by
//!    `Cargo.lock`) — and install it at `$HOME/.xsc/bin/neard-sandbox`.
//! 3. Where the download cannot happen (no internet, unsupported platform) exit with status 2 and
//!    say exactly what to do instead; the test and demo scripts then report the sandbox suites as
//!    SKIPPED, never as passed.
//!
//! `cargo run -p xsc-devnet --bin fetch-sandbox` (scripts/test.sh and scripts/demo.sh run it).
//! Only the current-protocol node can be fetched: Calimero's older neard (protocol 63) has no
//! published binaries and is always built by hand (README).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use xsc_devnet::localnet::{find_neard, DEFAULT_BIN};

fn main() -> ExitCode {
    if let Some(p) = std::env::var_os("NEAR_SANDBOX_BIN_PATH").filter(|p| !p.is_empty()) {
        if !Path::new(&p).is_file() {
            eprintln!(
                "fetch-sandbox: NEAR_SANDBOX_BIN_PATH={} is not a file; unset it to use or fetch \
                 $HOME/{DEFAULT_BIN}",
                Path::new(&p).display()
            );
            return ExitCode::from(2);
        }
    }
    if let Some(bin) = find_neard() {
        println!("{}", bin.display());
        return ExitCode::SUCCESS;
    }
    let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) else {
        eprintln!(
            "fetch-sandbox: HOME is not set; set NEAR_SANDBOX_BIN_PATH to a neard sandbox binary"
        );
        return ExitCode::from(2);
    };
    let dest = Path::new(&home).join(DEFAULT_BIN);
    eprintln!(
        "fetch-sandbox: no neard sandbox binary found; downloading nearcore {} (the near-sandbox \
         crate's pinned release) to {}",
        near_sandbox::DEFAULT_NEAR_SANDBOX_VERSION,
        dest.display()
    );
    match near_sandbox::install()
        .map_err(|e| e.to_string())
        .and_then(|downloaded| install_at(&downloaded, &dest))
    {
        Ok(()) => {
            println!("{}", dest.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fetch-sandbox: could not download the neard sandbox: {e}");
            eprintln!("{}", what_to_do(&dest));
            ExitCode::from(2)
        }
    }
}

/// Copy `from` to `dest` atomically (a temporary file in the same directory, then a rename), so an
/// interrupted copy never leaves a half-written binary that later runs would pick up.
fn install_at(from: &Path, dest: &Path) -> Result<(), String> {
    let dir = dest.parent().ok_or("no parent directory")?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp: PathBuf = dest.with_extension("download");
    std::fs::copy(from, &tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
    }
    std::fs::rename(&tmp, dest).map_err(|e| format!("{}: {e}", dest.display()))
}

fn what_to_do(dest: &Path) -> String {
    format!(
        "Without internet, copy a neard sandbox binary (nearcore's neard with its `sandbox` \
         feature, e.g. the one near-workspaces downloaded on a machine with internet) to {}, or set \
         NEAR_SANDBOX_BIN_PATH to it.\n\
         The sandbox test suites are reported as SKIPPED until then; nothing is counted as passed.",
        dest.display()
    )
}
