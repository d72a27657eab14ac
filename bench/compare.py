"""Times `assay scan --no-load` against the peer chain on each asset, interleaved; then the warm path and
whether the answers agree. Driven by bench/compare.sh: compare.py WORK DB REPS NAME:PATH..."""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

work, db, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
assets = [arg.split(":", 1) for arg in sys.argv[4:]]
assay = os.path.abspath("target/release/assay")
warm_cache = os.path.join(work, "assay-cache")
quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def assay_scan(path, cache, out):
    env = dict(os.environ, ASSAY_CACHE_DIR=cache)
    return [assay, "scan", path, "--no-load", "--advisory-db", db, "--out", out], env


def timed(argv, env=None, cwd=None):
    started = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, **quiet)
    return time.perf_counter() - started


def peer_chain(path):
    manifest = os.path.join(path, "Cargo.toml")
    lockfile = os.path.join(path, "Cargo.lock")
    total = timed(["cargo", "audit", "--db", db, "--no-fetch", "--stale", "--file", lockfile, "--json"])
    total += timed(["cargo", "deny", "--manifest-path", manifest, "check", "--disable-fetch",
                    "--config", os.path.join(work, "deny.toml"), "advisories", "licenses", "bans", "sources"])
    total += timed(["cargo", "cyclonedx", "--manifest-path", manifest, "--format", "json", "--override-filename",
                    "peer.cdx"])
    return total


def rss_kib(argv, env):
    result = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    return int(result.stderr.strip().splitlines()[-1])


def ms(seconds):
    return f"{seconds * 1000:.1f} ms"


print(f"repetitions: {reps}, advisory db: {db}")
print(f"{'asset':10} {'pkgs':>5} {'assay warm':>11} {'assay cold':>11} {'peer chain':>11} {'ratio warm':>11} "
      f"{'ratio cold':>11} {'assay RSS':>10}")
for name, path in assets:
    out = tempfile.mkdtemp()
    packages = open(os.path.join(path, "Cargo.lock")).read().count("[[package]]")
    argv, env = assay_scan(path, warm_cache, out)
    subprocess.run(argv, env=env, **quiet)  # warms the parsed-database and metadata caches
    warm, cold, peers = [], [], []
    for _ in range(reps):  # interleaved: each round runs all three
        warm.append(timed(argv, env))
        cold_cache = tempfile.mkdtemp()
        cold_argv, cold_env = assay_scan(path, cold_cache, out)
        cold.append(timed(cold_argv, cold_env))
        shutil.rmtree(cold_cache)
        peers.append(peer_chain(path))
    w, c, p = statistics.median(warm), statistics.median(cold), statistics.median(peers)
    rss = rss_kib(argv, env)
    print(f"{name:10} {packages:5} {ms(w):>11} {ms(c):>11} {ms(p):>11} {p / w:10.1f}x {p / c:10.1f}x "
          f"{rss / 1024:7.1f} MiB")

    # Same answers: advisory ids as cargo-audit, licences as cargo-cyclonedx.
    report = json.load(open(os.path.join(out, "report.json")))
    ours = {m["id"] for m in report.get("audit", {}).get("vulnerabilities", []) + report.get("audit", {}).get("warnings", [])}
    audit = subprocess.run(["cargo", "audit", "--db", db, "--no-fetch", "--stale", "--file",
                            os.path.join(path, "Cargo.lock"), "--json"], capture_output=True, text=True)
    theirs_json = json.loads(audit.stdout or "{}")
    theirs = {v["advisory"]["id"] for v in theirs_json.get("vulnerabilities", {}).get("list", [])}
    for kind in theirs_json.get("warnings", {}).values():
        theirs |= {w["advisory"]["id"] for w in kind if w.get("advisory")}
    sbom = json.load(open(os.path.join(out, "sbom.cdx.json")))
    peer_bom_path = next((os.path.join(path, f) for f in os.listdir(path) if f.startswith("peer.cdx")), None)
    peer_bom = json.load(open(peer_bom_path)) if peer_bom_path else {"components": []}

    def licences(bom):
        found = {}
        for component in bom.get("components", []):
            names = sorted(
                entry.get("expression") or entry.get("license", {}).get("id") or entry.get("license", {}).get("name", "")
                for entry in component.get("licenses", []))
            found[(component["name"], component.get("version"))] = names
        return found

    mine, peer = licences(sbom), licences(peer_bom)
    differing = sorted(key for key in set(mine) & set(peer) if mine[key] != peer[key])
    print(f"{'':10} advisory ids: {'identical' if ours == theirs else f'assay {sorted(ours)} vs cargo-audit {sorted(theirs)}'}"
          f"; licences: {len(set(mine) & set(peer)) - len(differing)}/{len(set(mine) & set(peer))} components identical"
          + (f", differ: {differing[:5]}" if differing else ""))
    shutil.rmtree(out)

# The warm path: one process, every asset in a row, as the worker scans them.
paths = [path for _, path in assets]
for name, path in assets:
    if name == "mid-61":
        paths = [path] * 50
out = tempfile.mkdtemp()
result = subprocess.run([assay, "scan", *paths, "--no-load", "--advisory-db", db, "--out", out, "--timings"],
                        env=dict(os.environ, ASSAY_CACHE_DIR=warm_cache), capture_output=True, text=True)
times = sorted(float(line.split()[-2]) for line in result.stderr.splitlines() if line.startswith("timing: "))
if times:
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"warm path (one process, {len(times)} scans of mid-61): median {statistics.median(times):.2f} ms, "
          f"p99 {p99:.2f} ms")
shutil.rmtree(out)
