#!/usr/bin/env bash
# Time to verdict of a connector on a real stack (not a test): `assay scan` of
# fixtures/connectors/inventory-axum (axum, tokio, serde_json, tower-http, tracing: 63 crates) with the load
# stage on — cold (empty crate cache: every crate downloaded from crates.io and verified) and then warm (the
# cache filled; the build in the sandbox starts from nothing either way), ROUNDS times each; then the warm
# scan with --check-reproducible (a second build), and the same three for the std-only `fast` load fixture.
# Usage: bench/real-connector.sh [ROUNDS]   Results: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cargo build --release -q -p assay-scanner -p assay-load-runner
assay="$PWD/target/release/assay"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r fixtures/load/fast "$work/fast" && cp fixtures/load/http.rs "$work/fast/src/"

scan() { # CACHE ASSET [OPTIONS...] -> seconds, verdict and the load stage's note
  local cache="$1" asset="$2"; shift 2
  local start end code=0
  start=$(date +%s.%N)
  ASSAY_CACHE_DIR="$cache" ASSAY_NO_LOAD=false "$assay" scan "$asset" --advisory-db fixtures/advisory-db \
    --out "$work/out" "$@" >/dev/null 2>&1 || code=$?
  end=$(date +%s.%N)
  python3 - "$start" "$end" "$code" "$work/out/report.json" <<'PY'
import json, sys
start, end, code, path = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
report = json.load(open(path))
note = next((s.get("note") for s in report["stages"] if s["name"] == "load"), "")
binary = (report.get("load") or {}).get("binary") or {}
print(f"{end - start:6.1f} s  exit {code}  reproducible={binary.get('reproducible')}  {note}")
PY
  rm -rf "$work/out"
}

for round in $(seq 1 "$rounds"); do
  rm -rf "$work/cache"
  echo "round $round inventory-axum cold:               $(scan "$work/cache" fixtures/connectors/inventory-axum)"
  echo "round $round inventory-axum warm:               $(scan "$work/cache" fixtures/connectors/inventory-axum)"
  echo "round $round inventory-axum warm, reproducible: $(scan "$work/cache" fixtures/connectors/inventory-axum --check-reproducible)"
  echo "round $round fast warm:                         $(scan "$work/cache" "$work/fast")"
  echo "round $round fast warm, reproducible:           $(scan "$work/cache" "$work/fast" --check-reproducible)"
done
