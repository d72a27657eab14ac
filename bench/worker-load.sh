#!/usr/bin/env bash
# Worker throughput with the load stage on (not a test): COUNT submissions of the echo connector through one
# worker, `--concurrency 1` and then `--concurrency 2`, each scan building the service and load-testing it in
# the sandbox under the host-wide measurement lock (builds overlap; measured windows never do). Prints
# submissions per minute, submit-to-report latency, and each report's wait for the lock. Needs RabbitMQ on
# 127.0.0.1:5672, bubblewrap, strace and Python pika.
# Usage: bench/worker-load.sh [COUNT]   Results: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-12}"
cargo build --release -q -p assay-scanner -p assay-load-runner
assay="$PWD/target/release/assay"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$assay" keygen --out "$work/keys" >/dev/null 2>&1
tar czf "$work/echo-connector-1.0.0.crate" -C fixtures/connectors --transform 's,^echo,echo-connector-1.0.0,' echo
python3 -c 'import pika' 2>/dev/null || python3 -m pip install --quiet pika

for concurrency in 1 2; do
  prefix="bench-load-$concurrency-$$"
  ASSAY_OFFLINE=true ASSAY_CACHE_DIR="$work/cache" ASSAY_NO_LOAD=false "$assay" worker --prefix "$prefix" \
    --key "$work/keys/assay-signing.key" --store "$work/store-$prefix" --advisory-db fixtures/advisory-db \
    --concurrency "$concurrency" --log-format json --archive-root "$work" \
    >/dev/null 2>"$work/worker-$prefix.log" &
  pid=$!
  for _ in $(seq 1 100); do grep -q consuming "$work/worker-$prefix.log" 2>/dev/null && break; sleep 0.1; done
  echo "concurrency=$concurrency: $(python3 bench/worker_load.py "$prefix" "$work/echo-connector-1.0.0.crate" "$count")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$work/store-$prefix" <<'PY'
import json, pathlib, statistics, sys
waits, windows = [], []
for load in pathlib.Path(sys.argv[1]).rglob("load.json"):
    window = json.loads(load.read_text()).get("window") or {}
    if window:
        waits.append(window["waited_ms"])
print(f"  windows: {len(waits)}, lock wait median {statistics.median(waits) if waits else 0} ms, "
      f"max {max(waits) if waits else 0} ms")
PY
done
