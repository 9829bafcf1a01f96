#!/usr/bin/env bash
# Deploy xsc between a Calimero shard and NEAR (testnet by default) with `xsc deploy`. Builds
# nothing: run scripts/build.sh first (its wasm runs on protocol-63 shards).
#
# Parameters (environment):
#   SHARD_RPC     the shard's RPC URL
#   SHARD_KEY     near-cli key file of the deployer account on the shard
#   SHARD_NAME    network id of the shard (e.g. my-shard.calimero)
#   SHARD_HEADER  the shard's RPC authentication header, "Name: value" (e.g. "x-api-key: ...")
#   NEAR_RPC      RPC of the NEAR side (default https://rpc.testnet.near.org)
#   NEAR_KEY      key file of the deployer on the NEAR side
#   NEAR_NAME     network id of the NEAR side (default near-testnet)
#   OUT           relayer configuration to write (default xsc-relayer.toml)
#   DEMO=1        also deploy the demo dapps
# Then: xsc relay --config "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
: "${SHARD_RPC:?SHARD_RPC: RPC URL of the Calimero shard}"
: "${SHARD_KEY:?SHARD_KEY: key file of the deployer on the shard}"
: "${SHARD_NAME:?SHARD_NAME: network id of the shard}"
: "${NEAR_KEY:?NEAR_KEY: key file of the deployer on the NEAR side}"
args=(deploy
  --a-name "$SHARD_NAME" --a-rpc "$SHARD_RPC" --a-key "$SHARD_KEY"
  --b-name "${NEAR_NAME:-near-testnet}" --b-rpc "${NEAR_RPC:-https://rpc.testnet.near.org}" --b-key "$NEAR_KEY"
  --res res --out "${OUT:-xsc-relayer.toml}")
[ -n "${SHARD_HEADER:-}" ] && args+=(--a-header "$SHARD_HEADER")
[ "${DEMO:-0}" = 1 ] && args+=(--demo)
exec cargo run -q -p xsc-cli -- "${args[@]}"
