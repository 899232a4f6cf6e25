#!/usr/bin/env python3
"""Benchmark of `freshen metrics` on a large synthetic host.

    python3 bench/metrics.py [--bin target/release/freshen] [--sizes 200,2000]

For each size N writes a state directory the way an update and an upgrade
leave it (state.json with N tags, a tenth of them upgradable; inventory.json
with a container per tag and the versions; outcomes.json with an upgrade
result for every fifth tag), then runs `freshen metrics` seven times on it and
prints the median wall time, the output's size and its number of series. No
engine and no network are involved: `freshen metrics` reads the state
directory only. Nothing outside a temporary directory is touched.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import tempfile
import time


def digest(text):
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def write_state(d, n, now):
    at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
    refs = [f"127.0.0.1:5099/freshen-bench/r{i // 20}:t{i % 20}" for i in range(n)]
    entries = []
    for i, r in enumerate(refs):
        up = i % 10 == 0
        entries.append({
            "reference": r,
            "status": "upgradable" if up else "up-to-date",
            "image_id": digest(r + "id"),
            "local_digest": digest(r + "old"),
            "remote_digest": digest(r + ("new" if up else "old")),
            "checked_at": at,
        })
    with open(os.path.join(d, "state.json"), "w") as f:
        json.dump({"schema_version": 1, "updated_at": at, "entries": entries}, f)
    inventory = {
        "schema_version": 1,
        "taken_at": at,
        "engine": {"engine": "docker", "version": "20.10.24", "api_version": "1.41", "image_store": "classic"},
        "containers": [{"name": f"c{i}", "reference": r, "image_id": digest(r + "id"), "running": True,
                        "compose_project": "bench", "compose_service": f"s{i}"} for i, r in enumerate(refs)],
        "versions": {r: {"current": "1.0.0", "available": "1.0.1", "available_created": at} for r in refs},
    }
    with open(os.path.join(d, "inventory.json"), "w") as f:
        json.dump(inventory, f)
    results = ["success", "failed", "rolled_back", "deferred"]
    outcomes = {
        "schema_version": 1,
        "checks": {"last_at": now, "last_ok": True, "last_success_at": now, "failures_in_a_row": 0, "failures": 0},
        "upgrades": {r: {results[i % 4]: {"count": 1, "last_at": now}} for i, r in enumerate(refs) if i % 5 == 0},
    }
    with open(os.path.join(d, "outcomes.json"), "w") as f:
        json.dump(outcomes, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/freshen")
    ap.add_argument("--sizes", default="200,2000")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    print("| tags | median wall time | output | series |")
    print("|---|---|---|---|")
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix="freshen-bench-metrics-") as d:
            write_state(d, n, int(time.time()))
            env = dict(os.environ, FRESHEN_STATE_DIR=d, FRESHEN_CONFIG=os.path.join(d, "none.toml"))
            times, out = [], b""
            for _ in range(args.runs):
                t0 = time.perf_counter()
                out = subprocess.run([args.bin, "metrics"], env=env, check=True, capture_output=True).stdout
                times.append(time.perf_counter() - t0)
            series = sum(1 for line in out.decode().splitlines() if line and not line.startswith("#"))
            print(f"| {n} | {statistics.median(times) * 1000:.0f} ms | {len(out) / 1e6:.1f} MB | {series} |")


if __name__ == "__main__":
    main()
