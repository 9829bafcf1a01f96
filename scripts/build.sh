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

CONTRACTS=(${XSC_CONTRACTS:-xsc-light-client})

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
rustup component list --installed 2>/dev/null | grep -q '^rust-src' || rustup component add rust-src

export RUSTC_BOOTSTRAP=1
export RUSTFLAGS="-C target-cpu=mvp -C link-arg=-s"
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
