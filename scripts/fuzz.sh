#!/usr/bin/env bash
# Fuzz every decoder an outsider reaches (issue 8), each target for a bounded time, one at a
# time. Not part of CI (scripts/test.sh does not run it). Results and how to read them:
# fuzz/README.md.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]     (default: 60 s, every target)
#
# Prints executions and crashes per target; exits non-zero if any target crashed (the input is
# kept in fuzz/artifacts/<target>/: reproduce with `cargo fuzz run <target> <file>` in fuzz/,
# then keep it as a unit test next to the code it breaks). Needs cargo-fuzz (installed from
# crates.io if missing) and a C++ compiler (libFuzzer). The toolchain is stable: cargo-fuzz's
# nightly flags (-Zsanitizer=address) are enabled with RUSTC_BOOTSTRAP=1.
set -uo pipefail

secs="${1:-60}"
shift || true
case "$secs" in
'' | *[!0-9]*)
    echo "usage: $0 [seconds-per-target] [target ...]" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/fuzz" || exit 2
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "== building ${#targets[@]} targets (AddressSanitizer, debug assertions)"
cargo fuzz build || exit 2
echo "== seed corpus from shared/vectors"
cargo run -q --release --example seeds || exit 2

# Targets that read text get the dictionary of its tokens.
text_targets=" calimero_lines transport_events btp_address initiator_injection proven_outcome_args "

failed=0
summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" || exit 2
    corpora=("corpus/$t")
    [ -d "seeds/$t" ] && corpora+=("seeds/$t")
    extra=()
    case "$text_targets" in *" $t "*) extra+=("-dict=dict/text.dict") ;; esac
    before=$(find "artifacts/$t" -type f | wc -l)
    log="artifacts/$t.log"
    echo "== $t: ${secs}s"
    cargo fuzz run "$t" "${corpora[@]}" -- \
        -max_total_time="$secs" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 \
        "${extra[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    after=$(find "artifacts/$t" -type f | wc -l)
    crashes=$((after - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes="?"
    fi
    corpus=$(find "corpus/$t" -type f | wc -l)
    line=$(printf '%-22s %12s executions %4s crashes  (corpus %s, exit %s)' \
        "$t" "${execs:-?}" "$crashes" "$corpus" "$rc")
    echo "$line"
    summary+=("$line")
    if [ "$rc" -ne 0 ] || [ "$crashes" != 0 ]; then
        failed=1
        grep -E "panicked|ERROR: |SUMMARY|Test unit written" "$log" | head -5
    fi
done

echo
echo "== fuzz summary (${secs}s per target)"
printf '%s\n' "${summary[@]}"
exit "$failed"
