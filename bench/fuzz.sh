#!/usr/bin/env bash
# Fuzzes Assay's parsers of untrusted bytes (cargo-fuzz: libFuzzer with AddressSanitizer, nightly toolchain):
#
#   bench/fuzz.sh SECONDS [TARGET…]      # every target when none is named; JOBS=2 targets at a time
#
# Each target starts from its committed seeds (fuzz/corpus/<target>/, replayed by `cargo test`) and writes what it
# discovers to target/fuzz-corpus/<target>/ (not committed). A crash, a hang (one input over 10 s) or an input
# that takes over 2 GiB is saved under fuzz/artifacts/<target>/; fix it, then commit the input, minimised with
# `cargo +nightly fuzz tmin`, as fuzz/corpus/<target>/crash-<what-it-was> so `cargo test` keeps it fixed.
# Prints one line per target: executions, executions per second, coverage (libFuzzer's cov/ft), corpus size,
# and findings. Exits non-zero when any target found something. Needs: rustup's nightly, `cargo install cargo-fuzz`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: bench/fuzz.sh SECONDS [TARGET…]}
shift
if (($#)); then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
jobs=${JOBS:-2}

cargo +nightly fuzz build -O
mkdir -p target/fuzz-logs

fuzz_one() { # TARGET
  local target=$1
  mkdir -p "target/fuzz-corpus/$target" "fuzz/artifacts/$target"
  cargo +nightly fuzz run -O "$target" "target/fuzz-corpus/$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="fuzz/artifacts/$target/" >"target/fuzz-logs/$target.log" 2>&1 || true
}
export -f fuzz_one
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'fuzz_one {}'

status=0
printf '%-16s %12s %9s %8s %8s %8s  %s\n' target execs exec/s cov ft corpus findings
for target in "${targets[@]}"; do
  log="target/fuzz-logs/$target.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
  findings=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
  [ "$findings" -eq 0 ] || status=1
  printf '%-16s %12s %9s %8s %8s %8s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${corpus:-?}" \
    "$findings$( ((findings)) && echo " (fuzz/artifacts/$target/, log: $log)")"
done
exit "$status"
