# Sourced by the bench scripts (not run on its own): `make_asset NAME DEPENDENCY-LINES…` builds a bench asset
# under $work from crates.io (the bench's own assets are trusted, so cargo may lock and fetch them here).
# A crate with these dependencies, locked and fetched (so every tool starts warm).
make_asset() { # NAME DEPENDENCY-LINES…
  local dir="$work/$1"; shift
  [ -f "$dir/Cargo.lock" ] && return
  mkdir -p "$dir/src"
  printf '[package]\nname = "%s"\nversion = "1.0.0"\nedition = "2021"\nlicense = "MIT"\ndescription = "bench asset"\nrepository = "https://git.example/bench"\n\n[dependencies]\n' "$(basename "$dir")" > "$dir/Cargo.toml"
  printf '%s\n' "$@" >> "$dir/Cargo.toml"
  echo 'fn main() {}' > "$dir/src/main.rs"
  cargo generate-lockfile -q --manifest-path "$dir/Cargo.toml"
  cargo fetch -q --locked --manifest-path "$dir/Cargo.toml"
}

# The 61-package asset both benchmarks use: clap, serde_json, regex, tokio, anyhow, tracing, uuid.
MID_61=('clap = { version = "4", features = ["derive"] }' 'serde_json = "1"' 'regex = "1"'
  'tokio = { version = "1", features = ["rt-multi-thread", "macros", "net", "time"] }' 'anyhow = "1"' 'tracing = "0.1"'
  'uuid = { version = "1", features = ["v4"] }')
