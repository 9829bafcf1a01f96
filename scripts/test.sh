#!/usr/bin/env bash
# The whole test suite. CI (.ci/run) runs exactly this.
#
# 1. scripts/build.sh: installs what a fresh machine lacks (wasm32 target, rust-src) and builds
#    every contract into res/ (the wasm compatibility test checks those artifacts).
# 2. cargo test --workspace: unit, vector, mutation, CLI and wasm-compatibility tests. The
#    sandbox tests are #[ignore]d there and stay ignored.
# 3. The sandbox suite (the real contracts in a neard sandbox), when a sandbox binary is found:
#    NEAR_SANDBOX_BIN_PATH, else $HOME/.xsc/bin/neard-sandbox, else one downloaded there by
#    `fetch-sandbox` where there is internet. Without one it is reported as SKIPPED, never as passed.
#    Then the connector's adversarial suite, the upgrade from the v0.1.0 wasm, and the bridge
#    service's fault injection suite: the real `xsc relay` process behind RPC fault proxies
#    (delays, dropped connections, 5xx, garbage, a lagging backend), killed at random points at
#    least 10 times while 100 messages cross each way.
# 4. The two-chain suite and the fault injection suite again with an older node as chain B (the
#    Calimero side, protocol 63), when one is found: XSC_NEARD_B, else
#    $HOME/.xsc/bin/neard-sandbox-p63. Reported as SKIPPED otherwise.
# 5. PostgreSQL: a throw-away cluster (scripts/pg-harness.sh: Debian's postgresql package,
#    initdb/pg_ctl on a temporary directory and a free loopback port, as the `postgres` user when
#    run as root), the queue's store suite against it (the SQLite half runs in step 2), and with
#    a sandbox binary the multi-instance suite (three `xsc relay` processes on one database).
#    Without PostgreSQL these are reported as SKIPPED, never as passed. The cluster is stopped
#    and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=scripts/pg-harness.sh
source scripts/pg-harness.sh
trap pg_harness_stop EXIT

step "build contracts (scripts/build.sh)"
bash scripts/build.sh

# A failing step does not hide the next ones: every suite runs, the exit status is the summary.
failed=()

# run_suite NAME DETAIL COMMAND...: run one suite and say so, RAN or RAN — FAILED (DETAIL: the
# binaries it ran with); a failure is recorded for the summary.
run_suite() {
  local name="$1" detail="$2"
  shift 2
  if "$@"; then
    echo "$name: RAN$detail"
  else
    echo "$name: RAN$detail — FAILED"
    failed+=("$name")
  fi
}

step "cargo test --workspace"
if ! cargo test --workspace; then
  failed+=("cargo test --workspace")
fi

find_sandbox_bin() {
  if [ -n "${NEAR_SANDBOX_BIN_PATH:-}" ]; then
    if [ -f "$NEAR_SANDBOX_BIN_PATH" ]; then
      printf '%s\n' "$NEAR_SANDBOX_BIN_PATH"
      return 0
    fi
    echo "warning: NEAR_SANDBOX_BIN_PATH=$NEAR_SANDBOX_BIN_PATH does not exist" >&2
  fi
  if [ -n "${HOME:-}" ] && [ -f "$HOME/.xsc/bin/neard-sandbox" ]; then
    printf '%s\n' "$HOME/.xsc/bin/neard-sandbox"
    return 0
  fi
  return 1
}

# No binary yet: fetch the one near-workspaces users get (pinned by Cargo.lock) into
# $HOME/.xsc/bin/neard-sandbox. Without internet this fails with instructions, and the sandbox
# suites below are reported as SKIPPED.
if ! find_sandbox_bin >/dev/null 2>&1 && [ -z "${NEAR_SANDBOX_BIN_PATH:-}" ]; then
  step "no sandbox binary: fetching one (cargo run -p xsc-devnet --bin fetch-sandbox)"
  cargo run -q -p xsc-devnet --bin fetch-sandbox || true
fi

if bin="$(find_sandbox_bin)"; then
  export NEAR_SANDBOX_BIN_PATH="$bin"
  step "sandbox suite with $bin: light client contract"
  run_suite "sandbox suite (light client)" " with $bin" cargo test -p xsc-tests -- --ignored --test-threads=1
  # Two sandbox chains, the connectors, the demo dapps and the real bridge service.
  step "sandbox suite with $bin: two-chain end to end"
  run_suite "sandbox suite (two-chain end to end)" " with $bin" env -u XSC_NEARD_B cargo test -p xsc-devnet --test e2e_bridge -- --ignored --test-threads=1
  # Issue 8: every privileged entry point attacked through every inbound path, on two chains.
  step "sandbox suite with $bin: adversarial (two chains)"
  run_suite "sandbox suite (adversarial)" " with $bin" env -u XSC_NEARD_B cargo test -p xsc-devnet --test adversarial -- --ignored --test-threads=1
  # Issue 8: the connectors upgraded in place from the v0.1.0 wasm with messages in flight.
  step "sandbox suite with $bin: upgrade from v0.1.0"
  run_suite "sandbox suite (upgrade from v0.1.0)" " with $bin" env -u XSC_NEARD_B cargo test -p xsc-devnet --test upgrade -- --ignored --test-threads=1
  # The relayer under injected RPC faults and SIGKILLs (the `xsc relay` binary as a child).
  step "sandbox suite with $bin: bridge service fault injection"
  run_suite "sandbox suite (bridge service fault injection)" " with $bin" env -u XSC_NEARD_B cargo test -p xsc-cli --test fault_injection -- --ignored --test-threads=1 --nocapture
  # The same suites with an older protocol as chain B (what a Calimero shard runs).
  bin_b="${XSC_NEARD_B:-${HOME:-}/.xsc/bin/neard-sandbox-p63}"
  if [ -f "$bin_b" ]; then
    step "sandbox suite: two-chain end to end with chain B on $bin_b"
    run_suite "sandbox suite (two-chain, older chain B)" " with $bin and $bin_b" env XSC_NEARD_B="$bin_b" cargo test -p xsc-devnet --test e2e_bridge -- --ignored --test-threads=1
    # Here each message alone (XSC_FAULT_PER_TX=1); above with the default batches.
    step "sandbox suite: bridge service fault injection with chain B on $bin_b, one message per transaction"
    run_suite "sandbox suite (bridge service fault injection, older chain B)" " with $bin and $bin_b" env XSC_NEARD_B="$bin_b" XSC_FAULT_PER_TX=1 cargo test -p xsc-cli --test fault_injection -- --ignored --test-threads=1 --nocapture
  else
    echo "sandbox suite (two-chain, older chain B): SKIPPED — no older neard (set XSC_NEARD_B or put one at \$HOME/.xsc/bin/neard-sandbox-p63); not counted as passed"
    echo "sandbox suite (bridge service fault injection, older chain B): SKIPPED — no older neard; not counted as passed"
  fi
else
  line='##########################################################################################'
  echo "$line"
  echo "sandbox suite: SKIPPED — no neard sandbox binary (set NEAR_SANDBOX_BIN_PATH or put one at \$HOME/.xsc/bin/neard-sandbox)"
  echo "sandbox suite (adversarial): SKIPPED — no neard sandbox binary"
  echo "sandbox suite (upgrade from v0.1.0): SKIPPED — no neard sandbox binary"
  echo "sandbox suite (bridge service fault injection): SKIPPED — no neard sandbox binary"
  echo "  The sandbox integration tests did NOT run; they are not counted as passed."
  echo "$line"
fi

step "PostgreSQL: a throw-away cluster for the store suite and the multi-instance suite"
line='##########################################################################################'
if pg_harness_start; then
  pg_ok=1
  echo "$("$PG_HARNESS_BIN/postgres" --version) at $XSC_TEST_POSTGRES_URL"
  step "store suite (postgres): the queue's backend-generic tests on PostgreSQL"
  run_suite "store suite (postgres)" "" cargo test -p xsc-bridge --lib queue::suite::postgres -- --ignored
else
  pg_ok=0
  echo "$line"
  echo "store suite (postgres): SKIPPED — $PG_HARNESS_WHY"
  echo "  The PostgreSQL store tests did NOT run; they are not counted as passed."
  echo "  (Debian: apt-get install postgresql; .ci/run installs it where apt is available.)"
  echo "$line"
fi

# Three `xsc relay` processes on one PostgreSQL queue, one killed mid-flight, on two sandboxes.
if [ "$pg_ok" = 1 ] && bin="$(find_sandbox_bin)"; then
  export NEAR_SANDBOX_BIN_PATH="$bin"
  step "sandbox suite with $bin: multi-instance postgres (three xsc relay processes, one killed)"
  # The binary of this tree, copied aside: the cargo target directory may be shared.
  xsc_dir="$(mktemp -d "${TMPDIR:-/tmp}/xsc-bin.XXXXXX")"
  multi_instance() {
    cargo build -p xsc-cli && cp "${CARGO_TARGET_DIR:-target}/debug/xsc" "$xsc_dir/xsc" &&
      XSC_BIN="$xsc_dir/xsc" env -u XSC_NEARD_B cargo test -p xsc-devnet --test multi_instance -- --ignored --test-threads=1 --nocapture
  }
  run_suite "sandbox suite (multi-instance postgres)" " with $bin" multi_instance
  rm -rf "$xsc_dir"
else
  echo "$line"
  if [ "$pg_ok" = 1 ]; then
    echo "sandbox suite (multi-instance postgres): SKIPPED — no neard sandbox binary"
  else
    echo "sandbox suite (multi-instance postgres): SKIPPED — no PostgreSQL ($PG_HARNESS_WHY)"
  fi
  echo "  The multi-instance suite did NOT run; it is not counted as passed."
  echo "$line"
fi

if [ "${#failed[@]}" -gt 0 ]; then
  printf '\nFAILED: %s\n' "${failed[*]}" >&2
  exit 1
fi
