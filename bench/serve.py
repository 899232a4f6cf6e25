#!/usr/bin/env python3
"""Benchmark of `freshen serve`: idle memory and GET /api/v1/status at N tags.

    python3 bench/serve.py [--tags 2000] [--binary target/release/freshen]

makes N images exist in a private registry and in the engine, every tenth one
outdated (the same setup as bench/check.py, whose helpers it uses, behind its
proxy on 127.0.0.1:5098 with no added latency), runs `freshen update` on
them, then starts `freshen serve` on a free loopback port and measures:

  * idle RSS: VmRSS of the server once it has looked at the host and rendered
    its views, after a few quiet seconds (and VmHWM, its peak so far);
  * latency of GET /api/v1/status from one keep-alive client on loopback,
    sequential requests: median, p90, p99, max, and the body's size;
  * requests per second: `wrk` (Debian's package) with 2 threads and 16
    connections for 10 seconds, if wrk is installed; else 8 Python threads;
  * RSS after that load.

It prints a Markdown table and writes bench/serve-results.json. The server
answers from memory (it re-reads the engine only when freshen's files change
or once a minute), so the numbers measure what a request costs.

Needs: docker, docker-registry, cargo (unless --binary), optionally wrk.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
os.environ.setdefault("FRESHEN_BENCH_DIR", tempfile.mkdtemp(prefix="freshen-bench-serve-"))
sys.path.insert(0, HERE)
import check  # noqa: E402  (bench/check.py: registry, proxy, image setup)


def log(msg):
    print(f"[bench-serve] {msg}", file=sys.stderr, flush=True)


def rss_kib(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def get(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    return r.status, body


def wait_for(what, ok, limit=600):
    start = time.monotonic()
    while True:
        try:
            if ok():
                return
        except OSError:
            pass
        if time.monotonic() - start > limit:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def latency(port, requests):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times, size = [], 0
    for _ in range(20):  # warm up the connection
        get(conn, "/api/v1/status")
    for _ in range(requests):
        t0 = time.perf_counter()
        status, body = get(conn, "/api/v1/status")
        times.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            raise SystemExit(f"/api/v1/status answered {status}")
        size = len(body)
    conn.close()
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(q * len(times)))], 2)  # noqa: E731
    return {
        "requests": requests,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": pick(0.90),
        "p99_ms": pick(0.99),
        "max_ms": round(times[-1], 2),
        "body_bytes": size,
    }


def throughput(port, seconds):
    url = f"http://127.0.0.1:{port}/api/v1/status"
    if shutil.which("wrk"):
        out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", url],
                             capture_output=True, text=True, check=True).stdout
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
        p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
        unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
        ms = lambda m: round(float(m.group(1)) * unit[m.group(2)], 2) if m else None  # noqa: E731
        errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        return {"tool": "wrk -t2 -c16", "seconds": seconds, "requests_per_s": round(rps),
                "p50_ms": ms(p50), "p99_ms": ms(p99), "non_2xx": int(errors.group(1)) if errors else 0}
    done, stop = [0], time.monotonic() + seconds
    lock = threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.monotonic() < stop:
            get(conn, "/api/v1/status")
            n += 1
        with lock:
            done[0] += n

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"tool": "python, 8 threads", "seconds": seconds, "requests_per_s": round(done[0] / seconds)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tags", type=int, default=2000)
    ap.add_argument("--binary", help="freshen binary (default: cargo build --release)")
    ap.add_argument("--proxy-port", type=int, default=5098)
    ap.add_argument("--requests", type=int, default=2000, help="sequential requests for the latency")
    ap.add_argument("--seconds", type=int, default=10, help="length of the throughput run")
    ap.add_argument("--json", default=os.path.join(HERE, "serve-results.json"))
    ap.add_argument("--keep", action="store_true", help="keep the images for the next run")
    a = ap.parse_args()
    if a.binary:
        binary = os.path.abspath(a.binary)
    else:
        log("cargo build --release")
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "freshen")
    os.makedirs(check.WORK, exist_ok=True)
    reg_port = check.free_port()
    reg = check.start_registry(reg_port)
    proxy = check.Proxy(a.proxy_port, reg_port)
    server = None
    state = tempfile.mkdtemp(prefix="freshen-bench-serve-state-")
    try:
        with ThreadPoolExecutor(8) as pool:
            log(f"N={a.tags}: setting up")
            log(f"setup {check.setup(a.tags, reg_port, a.proxy_port, pool)}")
            check.make_outdated(a.tags, reg_port, pool, 1)
        env = check.freshen_env(state)
        pattern = f"127.0.0.1:{a.proxy_port}/{check.NAMESPACE}/*"
        t0 = time.monotonic()
        upd = subprocess.run([binary, "update", pattern], env=env, capture_output=True, text=True)
        log(f"freshen update: {upd.returncode} in {time.monotonic() - t0:.1f}s: {upd.stdout.strip()}")
        config = os.path.join(state, "config.toml")
        with open(config, "w") as f:
            f.write('[serve]\ninterval = "0"\n')
        port = check.free_port()
        server = subprocess.Popen([binary, "--config", config, "serve", "--listen", f"127.0.0.1:{port}"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()

        def ready():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            status, body = get(conn, "/api/v1/status")
            return status == 200 and json.loads(body)["counts"]["tags"] >= a.tags

        wait_for("the server's first look at the host", ready)
        first_look_s = round(time.monotonic() - t0, 2)
        time.sleep(5)
        idle = rss_kib(server.pid)
        lat = latency(port, a.requests)
        thr = throughput(port, a.seconds)
        after = rss_kib(server.pid)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        counts = json.loads(get(conn, "/api/v1/status")[1])["counts"]
        results = {
            "tags_served": counts["tags"],
            "updates": counts["updates"],
            "machine": f"{os.cpu_count()} cores, Docker {check.docker_version()}",
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "binary_bytes": os.path.getsize(binary),
            "first_look_s": first_look_s,
            "idle_rss_mib": round(idle["VmRSS"] / 1024, 1),
            "peak_rss_mib_before_load": round(idle["VmHWM"] / 1024, 1),
            "rss_mib_after_load": round(after["VmRSS"] / 1024, 1),
            "latency": lat,
            "throughput": thr,
        }
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
        reg.kill()
        reg.wait()
        shutil.rmtree(state, ignore_errors=True)
        check.cleanup(a.proxy_port, a.keep)
    with open(a.json, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    lat, thr = results["latency"], results["throughput"]
    print(f"freshen serve, {results['tags_served']} tags ({results['machine']}, load {results['load_average']})\n")
    print("| measure | value |\n|---|---|")
    print(f"| idle RSS | {results['idle_rss_mib']} MiB (peak so far {results['peak_rss_mib_before_load']} MiB) |")
    print(f"| RSS after the load | {results['rss_mib_after_load']} MiB |")
    print(f"| GET /api/v1/status, one client, sequential | median {lat['median_ms']} ms, p99 {lat['p99_ms']} ms, "
          f"max {lat['max_ms']} ms ({lat['body_bytes']} bytes) |")
    print(f"| GET /api/v1/status, {thr['tool']}, {thr['seconds']} s | {thr['requests_per_s']} requests/s"
          + (f", p50 {thr['p50_ms']} ms, p99 {thr['p99_ms']} ms" if "p50_ms" in thr else "") + " |")
    print(f"| first look at the host after start | {results['first_look_s']} s |")


if __name__ == "__main__":
    main()
