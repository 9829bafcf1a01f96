#!/usr/bin/env bash
# The main job: build the contracts, then `xsc demo` — two local sandbox chains with distinct
# chain ids, everything deployed, the bridge service in-process, a Calimero cross_call round trip
# and an xCall two-way message that fails and is rolled back.
#
# Needs a neard sandbox binary: NEAR_SANDBOX_BIN_PATH, or $HOME/.xsc/bin/neard-sandbox, which
# is downloaded there on a machine with internet access.
# Extra arguments go to `xsc demo` (e.g. --keep --log info).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
# A neard sandbox binary: NEAR_SANDBOX_BIN_PATH, $HOME/.xsc/bin/neard-sandbox, or downloaded there
# (near-workspaces' pinned release) where there is internet; otherwise this says what to do.
cargo run -q -p xsc-devnet --bin fetch-sandbox >/dev/null
# A debug build: the release profile is tuned for contracts (LTO, one codegen unit) and is slow
# to build natively; the demo is not CPU-bound.
exec cargo run -p xsc-cli -- demo --res res "$@"
