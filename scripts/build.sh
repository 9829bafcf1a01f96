#!/usr/bin/env bash
# Build every contract to wasm that deploys on current nearcore AND on older NEAR VMs such as
# Calimero shards (protocol 63: WebAssembly MVP plus sign-extension only).
#
# Rust >= 1.82 ships a wasm32 standard library built with newer features (reference types,
# bulk memory, ...), so the standard library is rebuilt here for the MVP CPU from the `rust-src`
# component (`-Zbuild-std`, enabled on stable through RUSTC_BOOTSTRAP). Nothing else needs
# installing. Output: res/<contract>.wasm. `cargo test -p xsc-tests --test wasm_features`
# checks every artifact's features and host-function imports.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every package under contracts/ (its [package] name), unless XSC_CONTRACTS lists some
# (space-separated package names). A new contract is picked up without editing this file.
discover_contracts() {
  local manifest
  for manifest in contracts/*/Cargo.toml; do
    [ -f "$manifest" ] || continue
    sed -n '/^\[package\]/,/^\[/{s/^name *= *"\([^"]*\)".*/\1/p;}' "$manifest" | head -n 1
  done
}
if [ -n "${XSC_CONTRACTS:-}" ]; then
  read -r -a CONTRACTS <<< "$XSC_CONTRACTS"
else
  mapfile -t CONTRACTS < <(discover_contracts)
fi
if [ "${#CONTRACTS[@]}" -eq 0 ]; then
  echo "build.sh: no contracts found (contracts/*/Cargo.toml)" >&2
  exit 1
fi
echo "contracts: ${CONTRACTS[*]}"

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src

export RUSTC_BOOTSTRAP=1
# `--cfg near` is what cargo-near sets. near-sdk 5.15 does not look at it (same bytes with or
# without), but newer near-sdk releases (with `near-sdk-env`) do: without it they build their
# "pure-Rust fallbacks, not for on-chain use", where `env::panic_str` is a bare wasm trap (no ERR_
# message reaches the caller) and hashes run in wasm instead of the host functions.
export RUSTFLAGS="-C target-cpu=mvp -C link-arg=-s --cfg near"
export CARGO_PROFILE_RELEASE_PANIC=abort
packages=()
for c in "${CONTRACTS[@]}"; do packages+=(-p "$c"); done

cargo build --release --locked --target wasm32-unknown-unknown \
  -Z build-std=std,panic_abort \
  --target-dir target/wasm "${packages[@]}"

mkdir -p res
for c in "${CONTRACTS[@]}"; do
  name="${c//-/_}"
  cp "target/wasm/wasm32-unknown-unknown/release/${name}.wasm" "res/${name}.wasm"
  printf '%-28s %8d bytes\n' "res/${name}.wasm" "$(stat -c %s "res/${name}.wasm")"
done
