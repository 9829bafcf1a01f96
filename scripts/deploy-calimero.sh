#!/usr/bin/env bash
# Deploy xsc between a Calimero shard and NEAR (testnet by default) with `xsc deploy`. Builds
# nothing: run scripts/build.sh first (its wasm runs on protocol-63 shards).
#
# Parameters (environment):
#   SHARD_RPC     the shard's RPC URL (or SHARD_RPC_SECRET when the URL carries a key)
#   SHARD_KEY     near-cli key file of the deployer account on the shard (the contracts' admin)
#   SHARD_NAME    network id of the shard (e.g. my-shard.calimero)
#   SHARD_HEADER_NAME   the shard's RPC authentication header (default x-api-key) ...
#   SHARD_HEADER_VALUE  ... and its value: read from the environment, never written anywhere
#                       (the relayer configuration refers to SHARD_HEADER_VALUE)
#   NEAR_RPC      RPC of the NEAR side (default https://rpc.testnet.near.org)
#   NEAR_KEY      key file of the deployer on the NEAR side
#   NEAR_NAME     network id of the NEAR side (default near-testnet)
#   RELAYER_KEYS  delivery keys per relayer account (default 4)
#   KEYS_DIR      where the relayer's key files go (default xsc-keys, mode 600)
#   OUT           relayer configuration to write (default xsc-relayer.toml)
#   DEMO=1        also deploy the demo dapps
# Then: SHARD_HEADER_VALUE=... xsc relay --config "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SHARD_KEY:?SHARD_KEY: key file of the deployer on the shard}"
: "${SHARD_NAME:?SHARD_NAME: network id of the shard}"
: "${NEAR_KEY:?NEAR_KEY: key file of the deployer on the NEAR side}"
args=(deploy
  --a-name "$SHARD_NAME" --a-key "$SHARD_KEY"
  --b-name "${NEAR_NAME:-near-testnet}" --b-rpc "${NEAR_RPC:-https://rpc.testnet.near.org}" --b-key "$NEAR_KEY"
  --relayer-keys "${RELAYER_KEYS:-4}" --keys-dir "${KEYS_DIR:-xsc-keys}"
  --res res --out "${OUT:-xsc-relayer.toml}")
if [ -n "${SHARD_RPC_SECRET:-}" ]; then args+=(--a-rpc-env SHARD_RPC_SECRET); else args+=(--a-rpc "${SHARD_RPC:?SHARD_RPC (or SHARD_RPC_SECRET): RPC URL of the shard}"); fi
[ -n "${SHARD_HEADER_VALUE:-}" ] && args+=(--a-header-name "${SHARD_HEADER_NAME:-x-api-key}" --a-header-env SHARD_HEADER_VALUE)
[ "${DEMO:-0}" = 1 ] && args+=(--demo)
exec cargo run -q -p xsc-cli -- "${args[@]}"
