#!/usr/bin/env bash
# Load harness accuracy (not a test): the goose harness against `oha` on the same server (the `fast` load
# fixture, on the host's loopback), same concurrency and duration, interleaved; then the harness's highest
# throughput as users grow. Pinned as the load stage pins (PIN=auto, with two or more CPUs): the server on
# every CPU but the last, the client — harness or oha alike — on the last. Settings, each the same for both
# tools: CONCURRENCY users paced to each of RATES requests/s in total (the contract's `rate`; oha's `-q`),
# and 1, 2, 4 and 8 users at full speed (closed loop). Each harness run also shows how busy its users' thread
# was (from 85% it reports itself saturated); the accuracy target holds below that.
# Installs oha with `cargo install --locked oha` when absent.
# Usage: [FIXTURE=fast] [RATES="500 1000 2000 4000"] [PIN=auto|off] bench/load-accuracy.sh [CONCURRENCY] [SECONDS] [ROUNDS]
# Results: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency="${1:-8}"
seconds="${2:-10}"
rounds="${3:-3}"
fixture="${FIXTURE:-fast}"
rates="${RATES:-500 1000 2000 4000}"
pin="${PIN:-auto}"
command -v oha >/dev/null || cargo install --locked --quiet oha
cargo build --release -q -p assay-load-runner
harness="$PWD/target/release/assay-load-harness"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# The fixture, assembled and built as the load stage would (without the sandbox: both tools share the host).
cp -r "fixtures/load/$fixture" "$work/$fixture" && cp fixtures/load/http.rs "$work/$fixture/src/"
cargo build --release -q --manifest-path "$work/$fixture/Cargo.toml" --target-dir "$work/target"
server="$work/target/release/load-$fixture"

# The CPUs: the client (harness or oha) on the last allowed CPU, the server on the others.
server_pin=() client_pin=() server_prefix='[]'
cpus="$(python3 -c 'import os; print(" ".join(map(str, sorted(os.sched_getaffinity(0)))))')"
if [ "$pin" = auto ] && [ "$(wc -w <<<"$cpus")" -ge 2 ]; then
  client_cpu="${cpus##* }"
  server_cpus="$(tr ' ' ',' <<<"${cpus% *}")"
  server_pin=(taskset -c "$server_cpus") client_pin=(taskset -c "$client_cpu")
  server_prefix="[\"taskset\", \"-c\", \"$server_cpus\"]"
fi

plan() { # USERS SECONDS PORT [RATE]
  python3 - "$server" "$server_prefix" "$@" <<'PY'
import json, sys
server, prefix, users, seconds, port = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
# All users start within 0.1 s; the window opens once the last one runs.
spec = {"users": users, "ramp": f"{users * 10}/s", "duration": f"{seconds}s",
        "scenario": [{"name": "items", "request": {"path": "/items"}}]}
if len(sys.argv) > 6:
    spec["rate"] = f"{sys.argv[6]}/s"
print(json.dumps({
    "service": {"prefix": prefix, "program": server, "cwd": "/tmp", "env": [["HOME", "/tmp"]],
                "port_env": "PORT", "port": port, "ready": "/health"},
    "spec": spec, "startup_timeout_ms": 10000, "request_timeout_ms": 10000, "output_limit": 65536}))
PY
}

harness_run() { # USERS SECONDS PORT [RATE] -> "p50_ms p99_ms rps (max_ms, corrected p99_ms, users' thread busy %)"
  plan "$@" | "${client_pin[@]}" "$harness" 2>/dev/null | python3 -c '
import json, sys
answer = json.load(sys.stdin)
r = answer["overall"]
print("%.3f %.3f %.0f (max %.3f, corrected p99 %.3f, busy %s%%)" % (r["latency"]["p50_ms"], r["latency"]["p99_ms"],
      r["throughput_rps"], r["latency"]["max_ms"], r["corrected"]["p99_ms"], answer.get("users_busy_percent")))'
}

oha_run() { # CONNECTIONS SECONDS PORT [RATE] -> "p50_ms p99_ms rps (max_ms)"
  PORT="$3" "${server_pin[@]}" "$server" 2>/dev/null &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$3/health" >/dev/null 2>&1 && break; sleep 0.05; done
  "${client_pin[@]}" oha --no-tui --output-format json -c "$1" -z "$2s" ${4:+-q "$4"} "http://127.0.0.1:$3/items" 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
p = r["latencyPercentiles"]
print("%.3f %.3f %.0f (max %.3f)" % (p["p50"] * 1000, p["p99"] * 1000, r["summary"]["requestsPerSec"],
      r["summary"]["slowest"] * 1000))'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

echo "fixture=$fixture concurrency=$concurrency rates=$rates duration=${seconds}s rounds=$rounds" \
  "pinning: server ${server_pin[*]:-unpinned}, client ${client_pin[*]:-unpinned} (p50 ms, p99 ms, rps; max ms)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
for round in $(seq 1 "$rounds"); do
  for rate in $rates; do
    echo "round $round $rate/s, $concurrency users: harness $(harness_run "$concurrency" "$seconds" "$(free_port)" "$rate")"
    echo "round $round $rate/s, $concurrency users: oha     $(oha_run "$concurrency" "$seconds" "$(free_port)" "$rate")"
  done
  for users in 1 2 4 8; do
    echo "round $round full speed, $users users: harness $(harness_run "$users" "$seconds" "$(free_port)")"
    echo "round $round full speed, $users users: oha     $(oha_run "$users" "$seconds" "$(free_port)")"
  done
done
