#!/usr/bin/env bash
# Static scan against the peer chain (not a test): `assay scan --no-load` one-shot versus `cargo audit` +
# `cargo deny check` + `cargo cyclonedx` on the same assets, interleaved, several repetitions; then the warm
# path (one `assay scan A B C …` process) and whether the answers agree (advisory ids with cargo-audit,
# licences with cargo-cyclonedx). Installs the peers with `cargo install --locked` when absent; builds a
# 67-package and a 500-package asset from crates.io (needs the registry once; later runs are warm).
# Usage: bench/compare.sh [REPETITIONS]   Results: see BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-7}"
db="$(realpath "${ADVISORY_DB:-../shared/advisory-db}")"
for peer in cargo-audit cargo-deny cargo-cyclonedx; do
  command -v "$peer" >/dev/null || cargo install --locked --quiet "$peer"
done
cargo build --release -q -p assay-scanner
work="${BENCH_WORK:-$(mktemp -d)}"
mkdir -p "$work"

source bench/assets.sh
make_asset mid-61 "${MID_61[@]}"
make_asset big-500 'tokio = { version = "1", features = ["full"] }' 'axum = "0.8"' 'reqwest = { version = "0.12", features = ["json"] }' \
  'sqlx = { version = "0.8", features = ["runtime-tokio", "postgres", "mysql", "sqlite"] }' 'clap = { version = "4", features = ["derive"] }' \
  'serde_json = "1"' 'regex = "1"' 'tracing-subscriber = "0.3"' 'aws-config = "1"' 'aws-sdk-s3 = "1"' 'tonic = "0.13"' \
  'prost = "0.13"' 'image = "0.25"' 'rayon = "1"' 'chrono = "0.4"' 'uuid = "1"' 'lettre = "0.11"' 'redis = "0.32"' 'wasmtime = "36"'
# The fixtures are scanned as copies: cargo-cyclonedx writes its SBOM beside the manifest.
for fixture in connectors/echo components/real-deps; do
  [ -d "$work/$(basename "$fixture")" ] || cp -r "fixtures/$fixture" "$work/$(basename "$fixture")"
done
cargo fetch -q --locked --manifest-path "$work/real-deps/Cargo.toml"

# cargo-audit and cargo-deny read the database from a git clone (cargo-deny under db-path, in a directory
# named after the URL's hash); this one is the same snapshot, committed, so all three tools see one database.
deny_db="$work/deny-dbs/advisory-db-3157b0e258782691"
if [ ! -d "$deny_db/.git" ]; then
  mkdir -p "$deny_db" && cp -r "$db"/. "$deny_db"/
  git -C "$deny_db" init -q && git -C "$deny_db" add -A && git -C "$deny_db" -c user.name=bench -c user.email=bench@example commit -qm snapshot
fi
python3 - "$work" "$deny_db" <<'PY'
import sys, tomllib
work, deny_db = sys.argv[1], sys.argv[2]
policy = tomllib.load(open("rules/policies/default.toml", "rb"))
allow = policy.get("licenses", {}).get("allow", [])
open(f"{work}/deny.toml", "w").write(
    '[graph]\nall-features = false\n[advisories]\n'
    f'db-path = "{work}/deny-dbs"\ndb-urls = ["https://github.com/rustsec/advisory-db"]\n'
    '[licenses]\nallow = [' + ", ".join(f'"{l}"' for l in allow) + ']\nconfidence-threshold = 0.8\nunused-allowed-license = "allow"\n'
    '[bans]\nmultiple-versions = "allow"\n[sources]\nunknown-registry = "deny"\nunknown-git = "deny"\n')
PY

python3 bench/compare.py "$work" "$db" "$deny_db" "$reps" echo:"$work/echo" real-deps:"$work/real-deps" \
  mid-61:"$work/mid-61" big-500:"$work/big-500"
