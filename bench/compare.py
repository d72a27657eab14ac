"""Times `assay scan --no-load` against the peer chain on each asset, interleaved; then the warm path and
whether the answers agree. Driven by bench/compare.sh: compare.py WORK DB PEER-DB REPS NAME:PATH..."""

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

work, db, peer_db, reps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
assets = [arg.split(":", 1) for arg in sys.argv[5:]]
assay = os.path.abspath("target/release/assay")
deny_toml = os.path.join(work, "deny.toml")
# Warm: every cache of Assay's filled. Cold: Assay's parsed-database and crate-metadata caches emptied before
# each run; its crate cache (the verified .crate files it downloads, as the peers' ~/.cargo registry) stays
# warm, as the peers' does, so neither side is timed downloading crates (bench/cold-deps.sh times that).
warm_cache = os.path.join(work, "assay-cache")
cold_cache = os.path.join(work, "assay-cold-cache")
quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def assay_scan(path, cache, out):
    env = dict(os.environ, ASSAY_CACHE_DIR=cache)
    return [assay, "scan", path, "--no-load", "--advisory-db", db, "--out", out], env


def empty_assay_caches(cache):
    for kept_warm_elsewhere in ("advisory-db-parsed", "crate-metadata"):
        shutil.rmtree(os.path.join(cache, kept_warm_elsewhere), ignore_errors=True)


def peer_commands(path):
    """The peer chain with the configuration closest to Assay's: cargo-audit for advisories (including the
    informational warnings Assay reports), cargo-deny for licences, bans and sources against the bundled rule
    set's licence allow list, cargo-cyclonedx for a CycloneDX SBOM of every target's dependencies."""
    manifest = os.path.join(path, "Cargo.toml")
    return {
        "cargo-audit": ["cargo", "audit", "--db", peer_db, "--no-fetch", "--stale", "--file",
                        os.path.join(path, "Cargo.lock"), "--json"],
        "cargo-deny": ["cargo", "deny", "--offline", "--manifest-path", manifest, "--config", deny_toml,
                       "check", "advisories", "licenses", "bans", "sources"],
        "cargo-cyclonedx": ["cargo", "cyclonedx", "--manifest-path", manifest, "--format", "json", "--target",
                            "all", "--override-filename", "peer.cdx"],
    }


def timed(argv, env=None):
    started = time.perf_counter()
    subprocess.run(argv, env=env, **quiet)
    return time.perf_counter() - started


def checked_peer_run(path):
    """Runs the chain once, untimed, and stops the benchmark if a peer did not really do its work (an early
    error would otherwise be timed as a fast run). Returns cargo-audit's JSON."""
    outputs = {name: subprocess.run(argv, capture_output=True, text=True) for name, argv in peer_commands(path).items()}
    audit = outputs["cargo-audit"]
    try:
        audit_json = json.loads(audit.stdout)
        assert audit_json["database"]["advisory-count"] > 0
    except (ValueError, KeyError, AssertionError):
        sys.exit(f"cargo-audit did not audit {path} (exit {audit.returncode}): {audit.stderr[-2000:]}")
    deny = outputs["cargo-deny"]
    if not re.search(r"advisories (ok|FAILED)", deny.stdout + deny.stderr):
        sys.exit(f"cargo-deny did not check {path} (exit {deny.returncode}): {deny.stderr[-2000:]}")
    if not os.path.exists(os.path.join(path, "peer.cdx.json")):
        sys.exit(f"cargo-cyclonedx wrote no SBOM for {path}: {outputs['cargo-cyclonedx'].stderr[-2000:]}")
    return audit_json


def rss_mib(argv, env):
    """Peak RSS of assay itself (its --timings line) and of the largest process of the run (GNU time)."""
    result = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv + ["--timings"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines = result.stderr.strip().splitlines()
    own = next(int(line.split()[3]) for line in lines if line.startswith("memory: peak RSS "))
    return own / 1024, int(lines[-1]) / 1024


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


def licences(bom):
    found = {}
    for component in bom.get("components", []):
        names = sorted(
            entry.get("expression") or entry.get("license", {}).get("id") or entry.get("license", {}).get("name", "")
            for entry in component.get("licenses", []))
        found[(component["name"], component.get("version"))] = names
    return found


print(f"repetitions: {reps}, advisory db: {db}")
print(f"{'asset':10} {'pkgs':>5} {'assay warm':>11} {'assay cold':>11} {'peer chain':>11} {'ratio warm':>11} "
      f"{'ratio cold':>11} {'RSS warm':>9} {'RSS cold':>9}  peers: audit / deny / cyclonedx (assay RSS: its own)")
for name, path in assets:
    out = tempfile.mkdtemp()
    packages = open(os.path.join(path, "Cargo.lock")).read().count("[[package]]")
    argv, env = assay_scan(path, warm_cache, out)
    cold_argv, cold_env = assay_scan(path, cold_cache, out)
    subprocess.run(argv, env=env, **quiet)  # fills the warm caches
    subprocess.run(cold_argv, env=cold_env, **quiet)  # fills the cold cache's crate cache
    audit_json = checked_peer_run(path)
    warm, cold, peers = [], [], {tool: [] for tool in peer_commands(path)}
    for _ in range(reps):  # interleaved: each round runs all three
        warm.append(timed(argv, env))
        empty_assay_caches(cold_cache)
        cold.append(timed(cold_argv, cold_env))
        for tool, command in peer_commands(path).items():
            peers[tool].append(timed(command))
    chain = [sum(run) for run in zip(*peers.values())]
    w, c, p = statistics.median(warm), statistics.median(cold), statistics.median(chain)
    rss_warm, _ = rss_mib(argv, env)
    empty_assay_caches(cold_cache)
    rss_cold, rss_cold_tree = rss_mib(cold_argv, cold_env)
    per_tool = " / ".join(ms(statistics.median(times)) for times in peers.values())
    print(f"{name:10} {packages:5} {ms(w):>11} {ms(c):>11} {ms(p):>11} {p / w:10.1f}x {p / c:10.1f}x "
          f"{rss_warm:5.1f} MiB {rss_cold:5.1f} MiB  {per_tool}  (cold, largest process: {rss_cold_tree:.1f} MiB)")

    # Same answers: advisory ids as cargo-audit, licences (and components) as cargo-cyclonedx.
    report = json.load(open(os.path.join(out, "report.json")))
    audit = report.get("audit", {})
    ours = {m["id"] for m in audit.get("vulnerabilities", []) + audit.get("warnings", [])}
    theirs = {v["advisory"]["id"] for v in audit_json.get("vulnerabilities", {}).get("list", [])}
    for kind in audit_json.get("warnings", {}).values():
        theirs |= {w["advisory"]["id"] for w in kind if w.get("advisory")}
    mine = licences(json.load(open(os.path.join(out, "sbom.cdx.json"))))
    peer = licences(json.load(open(os.path.join(path, "peer.cdx.json"))))
    shared = set(mine) & set(peer)
    differing = sorted(key for key in shared if mine[key] != peer[key])
    ids = f"identical ({len(ours)}: {', '.join(sorted(ours)) or 'none'})" if ours == theirs else \
        f"DIFFER: assay {sorted(ours)} vs cargo-audit {sorted(theirs)}"
    components = "same components" if set(mine) == set(peer) else \
        f"components only in assay {sorted(set(mine) - set(peer))[:5]}, only in cargo-cyclonedx {sorted(set(peer) - set(mine))[:5]}"
    print(f"{'':10} advisory ids {ids}; licences identical for {len(shared) - len(differing)}/{len(shared)} "
          f"components" + (f", DIFFER for {differing[:5]}" if differing else "") + f"; {components}")
    shutil.rmtree(out)

# The warm path: one process scanning the mid-sized asset 100 times in a row, as the worker scans them.
mid = next((path for name, path in assets if name.startswith("mid-")), assets[-1][1])
out = tempfile.mkdtemp()
result = subprocess.run([assay, "scan", *[mid] * 100, "--no-load", "--advisory-db", db, "--out", out, "--timings"],
                        env=dict(os.environ, ASSAY_CACHE_DIR=warm_cache), capture_output=True, text=True)
times = sorted(float(line.split()[-2]) for line in result.stderr.splitlines() if line.startswith("timing: "))
if len(times) != 100:
    sys.exit(f"warm path: expected 100 timings, got {len(times)}: {result.stderr[-2000:]}")
print(f"warm path (one process, 100 scans of {os.path.basename(mid)}): median {statistics.median(times):.2f} ms, "
      f"p99 {times[98]:.2f} ms")
shutil.rmtree(out)
