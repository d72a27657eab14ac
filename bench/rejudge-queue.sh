#!/usr/bin/env bash
# Benchmark (not a test): one re-judgement round through the broker. N submissions (10,000 by default, ~60
# locked packages each, a tenth affected) are stored in PostgreSQL; W workers (1, then 2) start with the older
# advisory database, fan out the start-up round (nothing changes), then the database is updated on their
# "machines" and the time from the update to an empty <prefix>.rejudge queue (every submission judged again,
# a tenth revised) is measured. Needs RabbitMQ and PostgreSQL on localhost, rabbitmqctl and psql.
# Usage: bench/rejudge-queue.sh [N]   Results: BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-10000}"
cargo build --release -q -p assay-scanner
assay="$PWD/target/release/assay"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
"$assay" keygen --out "$work/keys" >/dev/null 2>&1
database=assay_bench_rejudge_queue
url="postgres://postgres@127.0.0.1:5432/$database"
elapsed() { awk -v from="$1" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f", now - from }'; }
sql() { psql -h 127.0.0.1 -U postgres -d "$1" -tAqc "$2"; }

older_db() { # DIR: the synthetic database before RUSTSEC-2099-0001, at an earlier commit
  cp -r fixtures/advisory-db "$1"
  rm -rf "$1/crates/smallvec"
  printf 'commit: 0000000000000000000000000000000000002098\ncommit-date: 2026-11-20T00:00:00Z\n' >"$1/SNAPSHOT"
}
update_db() { # DIR: as `assay db fetch` would
  cp -r fixtures/advisory-db/crates/smallvec "$1/crates/"
  cp fixtures/advisory-db/SNAPSHOT "$1/SNAPSHOT"
}
queue_empty() { # PREFIX
  rabbitmqctl -q list_queues name messages messages_unacknowledged 2>/dev/null |
    awk -v q="$1.rejudge" '$1 == q { exit !($2 == 0 && $3 == 0) }'
}
fanned_out() { # PREFIX: some worker of PREFIX has fanned a round out
  cat "$work/$1"-*/worker.log 2>/dev/null | grep -q "fanning out the re-judgement round"
}
revised_at_least() { # N: at least N submissions have a revision 1
  [ "$(sql "$database" 'SELECT count(*) FROM verdict_events WHERE revision = 1')" -ge "$1" ]
}
wait_for() { # WHAT COMMAND...: polls every 50 ms
  local what="$1"; shift
  for _ in $(seq 1 12000); do "$@" && return 0; sleep 0.05; done
  echo "timed out waiting for $what" >&2; return 1
}

for workers in 1 2; do
  prefix="bench-rejudge-$workers-$$"
  sql postgres "DROP DATABASE IF EXISTS $database WITH (FORCE)"
  sql postgres "CREATE DATABASE $database"
  seeded=$(date +%s.%N)
  cargo bench -q -p assay-scanner --bench rejudge -- --seed-only "$url" --submissions "$count" >/dev/null
  echo "workers=$workers: seeded $count submissions in $(elapsed "$seeded") s"
  pids=()
  for i in $(seq 1 "$workers"); do
    home="$work/$prefix-$i"; mkdir -p "$home"; older_db "$home/advisory-db"
    ASSAY_CACHE_DIR="$home/cache" "$assay" worker --prefix "$prefix" --key "$work/keys/assay-signing.key" \
      --store "$url" --advisory-db "$home/advisory-db" --db-check-interval 1s --concurrency 2 --no-load --offline \
      --log-format json >/dev/null 2>"$home/worker.log" &
    pids+=($!)
  done
  started=$(date +%s.%N)
  wait_for "the start-up fan-out" fanned_out "$prefix"
  wait_for "the start-up round" queue_empty "$prefix"
  echo "workers=$workers: start-up round (nothing changes) done $(elapsed "$started") s after start"
  updated=$(date +%s.%N)
  for i in $(seq 1 "$workers"); do update_db "$work/$prefix-$i/advisory-db"; done
  wait_for "the revisions" revised_at_least $((count / 10))
  wait_for "the round" queue_empty "$prefix"
  echo "workers=$workers: new advisory: $(sql "$database" 'SELECT count(*) FROM verdict_events WHERE revision = 1') of $count revised, queue empty $(elapsed "$updated") s after the update (includes up to 1 s until the check)"
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  for queue in submissions submissions.dlq rejudge rejudge.dlq reports.all; do
    rabbitmqctl -q delete_queue "$prefix.$queue" >/dev/null 2>&1 || true
  done
done
sql postgres "DROP DATABASE IF EXISTS $database WITH (FORCE)"
