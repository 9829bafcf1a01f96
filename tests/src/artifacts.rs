//! Contract artifacts: `res/<name>.wasm`, produced by `scripts/build.sh` (`XSC_RES_DIR` points
//! elsewhere).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// File stem of the light client artifact.
pub const LIGHT_CLIENT: &str = "xsc_light_client";

/// The workspace root (the parent of this package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// `XSC_RES_DIR` if set (artifacts built elsewhere), else `<workspace>/res`.
pub fn res_dir() -> PathBuf {
    match std::env::var_os("XSC_RES_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("res"),
    }
}

pub fn artifact_path(name: &str) -> PathBuf {
    res_dir().join(format!("{name}.wasm"))
}

/// The bytes of `res/<name>.wasm`; a missing file is an error that says how to build it.
pub fn load(name: &str) -> Result<Vec<u8>> {
    let path = artifact_path(name);
    if !path.is_file() {
        bail!(
            "{} is missing: run scripts/build.sh (it builds every contract into res/)",
            path.display()
        );
    }
    std::fs::read(&path).with_context(|| format!("read {}", path.display()))
}

/// Every `res/*.wasm`, sorted by name.
pub fn all() -> Result<Vec<PathBuf>> {
    let dir = res_dir();
    let mut out = Vec::new();
    if dir.is_dir() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("list {}", dir.display()))? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "wasm") && path.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}
