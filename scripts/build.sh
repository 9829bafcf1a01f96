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
#
# `-Cpanic=immediate-abort` (unstable, hence `-Zunstable-options`; Rust >= 1.92 made the old
# `panic_immediate_abort` std feature this panic strategy): a Rust panic becomes a bare wasm
# trap, so no panic message formatting, no `Location`s and no file paths are linked in. The
# contracts' errors do not go through Rust panics: every `ERR_*` is `env::panic_str` (a host
# call that fails the receipt with its message), and so are near-sdk's own argument errors
# (`require!`, "Failed to deserialize input from JSON."); the sandbox suites check that the
# messages reach the caller. What is lost is the text of a Rust panic that should never happen
# (an overflow, an index out of bounds): it still aborts the call and changes nothing.
# XSC_PANIC=abort restores the ordinary panic strategy (messages through near-sdk's panic hook).
panic_flags="-Zunstable-options -Cpanic=immediate-abort"
if [ "${XSC_PANIC:-immediate-abort}" = abort ]; then
  panic_flags="-Cpanic=abort"
fi
export RUSTFLAGS="-C target-cpu=mvp -C link-arg=-s --cfg near $panic_flags"
packages=()
for c in "${CONTRACTS[@]}"; do packages+=(-p "$c"); done

# `--profile wasm` (Cargo.toml): size-optimised but for the hot-path crates, and for
# `compiler_builtins` (memcpy, memset, 128-bit arithmetic: never part of LTO, so its own level is
# what runs; at "z" the MVP's byte-at-a-time copies cost more gas than its size saves).
cargo build --profile wasm --locked --target wasm32-unknown-unknown \
  -Z build-std=std,panic_abort \
  --config 'profile.wasm.package.compiler_builtins.opt-level=3' \
  --target-dir target/wasm "${packages[@]}"

# ---- wasm-opt (binaryen) ------------------------------------------------------------------
# Restricted to what protocol 63 runs: MVP plus sign-extension (never bulk memory, reference
# types, ...), so the optimised artifact validates exactly like cargo's output. A missing
# wasm-opt is installed when we can (root and apt-get: Debian's `binaryen`); otherwise the build
# goes on LOUDLY with the unoptimised wasm (it deploys; it only costs more gas and storage).
WASM_OPT_FEATURES=(--mvp-features --enable-sign-ext)
have_wasm_opt() { command -v wasm-opt >/dev/null 2>&1; }
if ! have_wasm_opt && [ "${XSC_NO_WASM_OPT:-}" != 1 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "build.sh: wasm-opt not found, installing Debian's binaryen (apt-get)" >&2
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y binaryen; } >&2 ||
      echo "build.sh: apt-get install binaryen failed" >&2
  fi
fi
if [ "${XSC_NO_WASM_OPT:-}" = 1 ]; then
  echo "build.sh: XSC_NO_WASM_OPT=1: wasm-opt skipped, artifacts are unoptimised" >&2
elif ! have_wasm_opt; then
  {
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!! build.sh: wasm-opt (binaryen) NOT FOUND and could not be installed."
    echo "!! The contracts in res/ are UNOPTIMISED: larger and more gas per call than the"
    echo "!! numbers in BENCHMARKS.md. Install binaryen (apt-get install binaryen, or a"
    echo "!! release from github.com/WebAssembly/binaryen) and run scripts/build.sh again."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  } >&2
fi

# The wasm-opt passes of a contract: `[package.metadata.xsc] wasm-opt = "-O3"` in its
# Cargo.toml (chosen by measured gas, see BENCHMARKS.md), else -Oz (smallest: a contract
# whose calls do little wasm work pays mostly for loading its code, 0.113 Tgas per 100 KB).
# XSC_WASM_OPT overrides it for every contract (e.g. XSC_WASM_OPT=-O3 for a measurement).
wasm_opt_level() {
  local pkg="$1" manifest level=""
  if [ -n "${XSC_WASM_OPT:-}" ]; then
    echo "$XSC_WASM_OPT"
    return
  fi
  for manifest in contracts/*/Cargo.toml; do
    if sed -n '/^\[package\]/,/^\[/p' "$manifest" | grep -q "^name *= *\"$pkg\""; then
      level="$(sed -n '/^\[package.metadata.xsc\]/,/^\[/{s/^wasm-opt *= *"\([^"]*\)".*/\1/p;}' "$manifest" | head -n 1)"
    fi
  done
  echo "${level:--Oz}"
}

mkdir -p res
for c in "${CONTRACTS[@]}"; do
  name="${c//-/_}"
  built="target/wasm/wasm32-unknown-unknown/wasm/${name}.wasm"
  out="res/${name}.wasm"
  if [ "${XSC_NO_WASM_OPT:-}" != 1 ] && have_wasm_opt; then
    level="$(wasm_opt_level "$c")"
    # shellcheck disable=SC2086 # the level may hold several passes (e.g. "-O3 --converge")
    wasm-opt $level "${WASM_OPT_FEATURES[@]}" --strip-debug --strip-producers "$built" -o "$out.tmp"
    mv "$out.tmp" "$out"
    printf '%-34s %8d bytes (cargo %d, wasm-opt %s)\n' "$out" "$(stat -c %s "$out")" \
      "$(stat -c %s "$built")" "$level"
  else
    cp "$built" "$out"
    printf '%-34s %8d bytes (UNOPTIMISED: no wasm-opt)\n' "$out" "$(stat -c %s "$out")"
  fi
done
