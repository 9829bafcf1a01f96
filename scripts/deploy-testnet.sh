#!/usr/bin/env bash
# Deploy xsc between NEAR testnet and another NEAR-protocol chain (another testnet account pair,
# a Calimero shard, ...) with `xsc deploy`. Builds nothing: run scripts/build.sh first.
#
# Parameters (environment):
#   A_KEY     near-cli key file of the testnet deployer (e.g. ~/.near-credentials/testnet/me.testnet.json)
#   A_RPC     testnet RPC (default https://rpc.testnet.near.org)
#   A_NAME    network id of the testnet side (default near-testnet)
#   B_RPC     RPC of the other chain;  B_KEY  its deployer key file;  B_NAME  its network id
#   B_HEADER  optional RPC header of the other chain, "Name: value"
#   OUT       relayer configuration to write (default xsc-relayer.toml)
#   DEMO=1    also deploy the demo dapps
# Then: xsc relay --config "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
: "${A_KEY:?A_KEY: key file of the testnet deployer account}"
: "${B_RPC:?B_RPC: RPC URL of the other chain}"
: "${B_KEY:?B_KEY: key file of the deployer on the other chain}"
: "${B_NAME:?B_NAME: network id of the other chain}"
args=(deploy
  --a-name "${A_NAME:-near-testnet}" --a-rpc "${A_RPC:-https://rpc.testnet.near.org}" --a-key "$A_KEY"
  --b-name "$B_NAME" --b-rpc "$B_RPC" --b-key "$B_KEY"
  --res res --out "${OUT:-xsc-relayer.toml}")
[ -n "${B_HEADER:-}" ] && args+=(--b-header "$B_HEADER")
[ "${DEMO:-0}" = 1 ] && args+=(--demo)
exec cargo run -q -p xsc-cli -- "${args[@]}"
