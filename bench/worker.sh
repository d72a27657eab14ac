#!/usr/bin/env bash
# Worker benchmark (not a test): sustained submissions/s and submit-to-report latency with 1 and 2 workers,
# and worker RSS over 10,000 submissions. Needs RabbitMQ on 127.0.0.1:5672 and Python pika.
# Usage: bench/worker.sh [COUNT]   Results: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-2000}"
cargo build --release -q -p assay-scanner
assay="$PWD/target/release/assay"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$assay" keygen --out "$work/keys" >/dev/null 2>&1
tar czf "$work/echo-connector-1.0.0.crate" -C fixtures/connectors --transform 's,^echo,echo-connector-1.0.0,' echo
python3 -c 'import pika' 2>/dev/null || python3 -m pip install --quiet pika

start_workers() { # N PREFIX
  local pids=()
  for i in $(seq 1 "$1"); do
    ASSAY_OFFLINE=true ASSAY_CACHE_DIR="$work/cache" "$assay" worker --prefix "$2" --key "$work/keys/assay-signing.key" \
      --store "$work/store-$2" --advisory-db fixtures/advisory-db --concurrency 2 --log-format json --no-load \
      --archive-root "$work" \
      >/dev/null 2>"$work/worker-$2-$i.log" &
    pids+=($!)
  done
  for _ in $(seq 1 100); do grep -q consuming "$work/worker-$2-1.log" 2>/dev/null && break; sleep 0.1; done
  echo "${pids[@]}"
}

for workers in 1 2; do
  prefix="bench-$workers-$$"
  pids=$(start_workers "$workers" "$prefix")
  echo "workers=$workers burst: $(python3 bench/worker_load.py "$prefix" "$work/echo-connector-1.0.0.crate" "$count")"
  echo "workers=$workers at 200/s: $(RATE=200 python3 bench/worker_load.py "$prefix" "$work/echo-connector-1.0.0.crate" "$count")"
  kill $pids; wait $pids 2>/dev/null || true
done

prefix="bench-rss-$$"
pid=$(start_workers 1 "$prefix")
echo "rss: $(python3 bench/worker_load.py "$prefix" "$work/echo-connector-1.0.0.crate" 10000 $pid)"
kill $pid
