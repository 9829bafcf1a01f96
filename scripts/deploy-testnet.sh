#!/usr/bin/env bash
# Deploy xsc between NEAR testnet and another NEAR-protocol chain (another testnet account pair,
# a Calimero shard, ...) with `xsc deploy`. Builds nothing: run scripts/build.sh first.
#
# Parameters (environment):
#   A_KEY     near-cli key file of the testnet deployer (e.g. ~/.near-credentials/testnet/me.testnet.json);
#             it becomes the contracts' admin, never the relayer
#   A_RPC     testnet RPC (default https://rpc.testnet.near.org); an URL holding an API key:
#             export it in A_RPC_SECRET instead (the configuration then says ${A_RPC_SECRET})
#   A_NAME    network id of the testnet side (default near-testnet)
#   B_RPC     RPC of the other chain (or B_RPC_SECRET);  B_KEY  its deployer key file;
#   B_NAME    its network id
#   B_HEADER_NAME  optional RPC header of the other chain; its value in B_HEADER_VALUE (read from
#             the environment, never written)
#   RELAYER_KEYS   delivery keys per relayer account (default 4)
#   KEYS_DIR  where the relayer's key files go (default xsc-keys, mode 600)
#   OUT       relayer configuration to write (default xsc-relayer.toml)
#   DEMO=1    also deploy the demo dapps
# Then: xsc relay --config "$OUT"
set -euo pipefail
cd "$(dirname "$0")/.."
: "${A_KEY:?A_KEY: key file of the testnet deployer account}"
: "${B_KEY:?B_KEY: key file of the deployer on the other chain}"
: "${B_NAME:?B_NAME: network id of the other chain}"
args=(deploy
  --a-name "${A_NAME:-near-testnet}" --a-key "$A_KEY"
  --b-name "$B_NAME" --b-key "$B_KEY"
  --relayer-keys "${RELAYER_KEYS:-4}" --keys-dir "${KEYS_DIR:-xsc-keys}"
  --res res --out "${OUT:-xsc-relayer.toml}")
if [ -n "${A_RPC_SECRET:-}" ]; then args+=(--a-rpc-env A_RPC_SECRET); else args+=(--a-rpc "${A_RPC:-https://rpc.testnet.near.org}"); fi
if [ -n "${B_RPC_SECRET:-}" ]; then args+=(--b-rpc-env B_RPC_SECRET); else args+=(--b-rpc "${B_RPC:?B_RPC (or B_RPC_SECRET): RPC URL of the other chain}"); fi
[ -n "${B_HEADER_NAME:-}" ] && args+=(--b-header-name "$B_HEADER_NAME" --b-header-env B_HEADER_VALUE)
[ "${DEMO:-0}" = 1 ] && args+=(--demo)
exec cargo run -q -p xsc-cli -- "${args[@]}"
