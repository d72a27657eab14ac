#!/usr/bin/env bash
# Dependency metadata with an EMPTY crate cache (not a test): every crate downloaded, per asset, interleaved:
#   new      `assay scan --no-load` of this tree: Assay downloads and verifies each crate itself and reads its
#            packaged Cargo.toml (no cargo on the host);
#   old      the same with OLD_ASSAY (an assay binary from before the trust-boundary work, e.g. built from
#            f371420), which ran `cargo metadata --locked` on the host with an empty CARGO_HOME;
#   sandbox  the alternative the issue offered: `cargo metadata --offline` inside bubblewrap over a vendor
#            directory (the vendor directory made beforehand, so this is the sandboxed cargo alone).
# Then the echo connector end to end with the load stage: vendor + build in the sandbox + load.
# The network makes cold numbers noisy: quote medians. Usage: bench/cold-deps.sh [REPETITIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
reps="${1:-5}"
db="$(realpath "${ADVISORY_DB:-../shared/advisory-db}")"
cargo build --release -q -p assay-scanner -p assay-load-runner
assay="$PWD/target/release/assay"
old="${OLD_ASSAY:-}"
work="${BENCH_WORK:-$(mktemp -d)}"
mkdir -p "$work"

source bench/assets.sh
make_asset mid-61 "${MID_61[@]}"
[ -d "$work/real-deps" ] || cp -r fixtures/components/real-deps "$work/real-deps"

now() { date +%s%N; }
ms_since() { echo $(( ($(now) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# The sandboxed alternative: bwrap with the same view as Assay's build sandbox (system read-only, toolchain
# at /opt/rust, vendor at /vendor, the asset at /scratch/asset, an empty CARGO_HOME, no network).
sysroot="$(rustc --print sysroot)"
sandboxed_metadata() { # ASSET VENDOR
  local copy; copy="$(mktemp -d)"; cp -r "$1"/. "$copy"
  bwrap --unshare-net --unshare-pid --die-with-parent --ro-bind /usr /usr --symlink usr/lib /lib \
    --symlink usr/lib64 /lib64 --symlink usr/bin /bin --proc /proc --dev /dev --tmpfs /tmp \
    --ro-bind "$sysroot" /opt/rust --ro-bind "$2" /vendor --bind "$copy" /scratch/asset \
    --ro-bind /etc/ld.so.cache /etc/ld.so.cache --tmpfs /home/sandbox --clearenv --setenv PATH /opt/rust/bin:/usr/bin --setenv HOME /home/sandbox \
    --setenv CARGO_HOME /home/sandbox/.cargo --chdir /scratch/asset \
    /opt/rust/bin/cargo metadata --offline --locked --format-version 1 \
    --config 'source.crates-io.replace-with="v"' --config 'source.v.directory="/vendor"' > /dev/null
  rm -rf "$copy"
}

printf '%-10s %5s %12s %12s %14s\n' asset pkgs "new (ms)" "old (ms)" "sandbox (ms)"
for asset in real-deps mid-61; do
  dir="$work/$asset"
  packages=$(grep -c '^\[\[package\]\]' "$dir/Cargo.lock")
  vendor="$work/$asset-vendor"
  [ -d "$vendor" ] || (cd "$dir" && cargo vendor -q --locked "$vendor" > /dev/null)
  new=(); olds=(); boxed=()
  for _ in $(seq "$reps"); do
    cache="$(mktemp -d)"; out="$(mktemp -d)"; t=$(now)
    ASSAY_CACHE_DIR="$cache" "$assay" scan "$dir" --no-load --advisory-db "$db" --out "$out" 2>/dev/null || true
    new+=("$(ms_since "$t")")
    grep -q '"unknown_licenses": 0' "$out/report.json" || { echo "new: licences unknown for $asset" >&2; exit 1; }
    rm -rf "$cache" "$out"
    if [ -n "$old" ]; then
      cache="$(mktemp -d)"; out="$(mktemp -d)"; t=$(now)
      ASSAY_CACHE_DIR="$cache" "$old" scan "$dir" --no-load --advisory-db "$db" --out "$out" 2>/dev/null || true
      olds+=("$(ms_since "$t")")
      rm -rf "$cache" "$out"
    fi
    t=$(now); sandboxed_metadata "$dir" "$vendor"; boxed+=("$(ms_since "$t")")
  done
  old_median="-"; [ -n "$old" ] && old_median=$(printf '%s\n' "${olds[@]}" | median)
  printf '%-10s %5s %12s %12s %14s\n' "$asset" "$packages" "$(printf '%s\n' "${new[@]}" | median)" "$old_median" \
    "$(printf '%s\n' "${boxed[@]}" | median)"
done

# The echo connector as shipped (std only), and a copy depending on serde + serde_json: build scripts and a
# proc macro (serde_derive, syn) run in the sandbox from the vendored crates.
[ -d "$work/echo-serde" ] || {
  cp -r fixtures/connectors/echo "$work/echo-serde"
  sed -i 's/^\[package.metadata.marketplace\]$/[dependencies]\nserde = { version = "1", features = ["derive"] }\nserde_json = "1"\n\n&/' \
    "$work/echo-serde/Cargo.toml"
  cargo generate-lockfile -q --manifest-path "$work/echo-serde/Cargo.toml"
}
for connector in fixtures/connectors/echo "$work/echo-serde"; do
echo
echo "$(basename "$connector"), load stage on (download + vendor + sandboxed build + load), empty cache, $reps runs:"
for _ in $(seq "$reps"); do
  cache="$(mktemp -d)"; out="$(mktemp -d)"; t=$(now)
  ASSAY_CACHE_DIR="$cache" "$assay" scan "$connector" --advisory-db "$db" --out "$out" 2>/dev/null || true
  total=$(ms_since "$t")
  python3 - "$out/report.json" "$total" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
load = next(s for s in report["stages"] if s["name"] == "load")
print(f"  verdict {report['verdict']}, scan {sys.argv[2]} ms, load stage {load['duration_ms']} ms ({load['note']}), "
      f"service ready in {report['load']['startup_ms']} ms")
PY
  rm -rf "$cache" "$out"
done
done
