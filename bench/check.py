#!/usr/bin/env python3
"""Benchmark of `freshen update` and `freshen list --upgradable`.

Sets up the real registry (docker-registry) with N distinct images spread over
several repositories, all present locally, and puts a latency-adding proxy in
front of it that counts the requests it forwards. Then it runs the real freshen
binary and reports, per N: wall time, requests per image, peak RSS, and the
ratio of wall time to the floor (ceil(N / concurrency) round trips plus one
authentication per registry; this registry has no authentication).

Usage: bench/check.py [--sizes 100,500,2000] [--latency-ms 20] [--runs 3]
                      [--binary target/release/freshen] [--json bench/results.json]

The setup (registry storage and local images under 127.0.0.1:PROXY_PORT/bench/)
is kept between runs and reused; --clean removes it.
"""

import argparse
import asyncio
import gzip
import hashlib
import io
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

WORK = os.environ.get("FRESHEN_BENCH_DIR", "/tmp/freshen-bench")
PER_REPO = 20  # images per repository: image i lives in bench/r{i // PER_REPO}
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The latency proxy: HTTP/1.1 with keep-alive on both sides, one upstream
# connection per downstream connection. It delays every request by the
# configured latency before forwarding it and counts what it forwards.
# --------------------------------------------------------------------------
class Proxy:
    def __init__(self, listen_port, upstream_port):
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.latency = 0.0
        self.count = 0
        self.by_method = {}
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.listen_port, backlog=1024)
        )
        self.server = server
        self.ready.set()
        self.loop.run_forever()

    def reset(self):
        self.count = 0
        self.by_method = {}

    async def _read_head(self, reader):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        return head, lines[0], headers

    async def _pipe_body(self, reader, writer, headers, head_only):
        if head_only:
            return
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size_line = await reader.readuntil(b"\r\n")
                writer.write(size_line)
                size = int(size_line.split(b";")[0].strip(), 16)
                data = await reader.readexactly(size + 2)
                writer.write(data)
                if size == 0:
                    break
            return
        n = int(headers.get("content-length", "0") or 0)
        while n > 0:
            chunk = await reader.read(min(n, 1 << 16))
            if not chunk:
                raise ConnectionError("upstream closed mid-body")
            writer.write(chunk)
            n -= len(chunk)
            await writer.drain()

    async def _client(self, creader, cwriter):
        upstream = None
        try:
            while True:
                try:
                    head, request_line, headers = await self._read_head(creader)
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method = request_line.split(" ", 1)[0]
                self.count += 1
                self.by_method[method] = self.by_method.get(method, 0) + 1
                if self.latency:
                    await asyncio.sleep(self.latency)
                if upstream is None:
                    upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                ureader, uwriter = upstream
                uwriter.write(head)
                await self._pipe_body(creader, uwriter, headers, False)
                await uwriter.drain()
                rhead, status_line, rheaders = await self._read_head(ureader)
                cwriter.write(rhead)
                status = int(status_line.split(" ")[1])
                no_body = method == "HEAD" or status in (204, 304) or 100 <= status < 200
                await self._pipe_body(ureader, cwriter, rheaders, no_body)
                await cwriter.drain()
        except Exception:
            return
        finally:
            cwriter.close()
            if upstream:
                upstream[1].close()


# --------------------------------------------------------------------------
# Registry and fixture setup
# --------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_registry(port):
    root = os.path.join(WORK, "registry")
    os.makedirs(root, exist_ok=True)
    cfg = os.path.join(WORK, "registry.yml")
    with open(cfg, "w") as f:
        f.write(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n"
        )
    proc = subprocess.Popen(["docker-registry", "serve", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return proc
        except Exception:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, dict(r.headers), r.read()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def put_blob(base, repo, data):
    digest = sha(data)
    try:
        http("HEAD", f"{base}/v2/{repo}/blobs/{digest}")
        return digest
    except urllib.error.HTTPError:
        pass
    _, h, _ = http("POST", f"{base}/v2/{repo}/blobs/uploads/")
    loc = h["Location"]
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    http("PUT", f"{loc}{sep}digest={digest}", data, {"Content-Type": "application/octet-stream"})
    return digest


def layer():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        info = tarfile.TarInfo("bench.txt")
        payload = b"freshen bench layer\n"
        info.size = len(payload)
        info.mtime = 0
        t.addfile(info, io.BytesIO(payload))
    tar = raw.getvalue()
    return tar, gzip.compress(tar, mtime=0)


def manifest_for(index, generation, base, repo, tar, gz):
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Labels": {"freshen.bench": str(index), "generation": str(generation)}},
            "rootfs": {"type": "layers", "diff_ids": [sha(tar)]},
        },
        sort_keys=True,
    ).encode()
    cdigest = put_blob(base, repo, config)
    body = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config), "digest": cdigest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(gz), "digest": sha(gz)}],
        },
        sort_keys=True,
    ).encode()
    return body


def repo_of(i):
    return f"bench/r{i // PER_REPO}"


def ref(proxy_port, i):
    return f"127.0.0.1:{proxy_port}/{repo_of(i)}:t{i}"


def push_manifest(base, i, body):
    repo = repo_of(i)
    http("PUT", f"{base}/v2/{repo}/manifests/t{i}", body, {"Content-Type": MANIFEST_TYPE})


def setup(n, base, proxy_port):
    tar, gz = layer()
    for r in range(math.ceil(n / PER_REPO)):
        put_blob(base, f"bench/r{r}", gz)
    have = set(
        subprocess.run(
            ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", f"127.0.0.1:{proxy_port}/bench/*"],
            capture_output=True, text=True, check=True,
        ).stdout.split()
    )
    missing = [i for i in range(n) if ref(proxy_port, i) not in have]
    if not missing:
        return
    log(f"pushing {len(missing)} manifests and pulling them (one-time setup)")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: push_manifest(base, i, manifest_for(i, 0, base, repo_of(i), tar, gz)), missing))

    def pull(i):
        subprocess.run(["docker", "pull", "-q", ref(proxy_port, i)], check=True, capture_output=True)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(pull, missing))


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
def run_freshen(binary, args, state_dir):
    env = dict(os.environ, FRESHEN_STATE_DIR=state_dir, NO_COLOR="1", FRESHEN_CONFIG=os.path.join(state_dir, "none.toml"))
    start = time.monotonic()
    proc = subprocess.run([binary, *args], env=env, capture_output=True)
    elapsed = time.monotonic() - start
    out, err = proc.stdout, proc.stderr
    return elapsed, proc.returncode, out.decode(), err.decode()


def peak_rss_kb(binary, args, state_dir):
    env = dict(os.environ, FRESHEN_STATE_DIR=state_dir, NO_COLOR="1", FRESHEN_CONFIG=os.path.join(state_dir, "none.toml"))
    pid = os.fork()
    if pid == 0:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(binary, [binary, *args], env)
    _, _status, usage = os.wait4(pid, 0)
    return usage.ru_maxrss


ACCEPT = (
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
)


def bare_client_s(n, proxy_port, concurrency, runs):
    """The same n HEADs sent by curl --parallel at the same concurrency,
    through the same proxy: what the registry, the proxy and this machine
    allow, with no engine, state or verdict work. None without curl."""
    if not shutil.which("curl"):
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as f:
        for i in range(n):
            f.write(f'url = "http://127.0.0.1:{proxy_port}/v2/{repo_of(i)}/manifests/t{i}"\n-I\n-s\n-o /dev/null\n')
        cfg = f.name
    times = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run(
            ["curl", "--parallel", "--parallel-max", str(concurrency), "-H", f"Accept: {ACCEPT}", "-K", cfg],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        times.append(time.monotonic() - start)
    os.unlink(cfg)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,500,2000")
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--binary", default="target/release/freshen")
    ap.add_argument("--concurrency", type=int, default=None, help="passed to freshen (default: freshen's own)")
    ap.add_argument("--proxy-port", type=int, default=5099)
    ap.add_argument("--json", default="bench/results.json")
    ap.add_argument("--clean", action="store_true")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    binary = os.path.abspath(a.binary)
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} not found: run 'cargo build --release' first")
    if a.clean:
        shutil.rmtree(WORK, ignore_errors=True)
        ids = subprocess.run(["docker", "images", "-q", f"127.0.0.1:{a.proxy_port}/bench/*"], capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rmi", "-f", *sorted(set(ids))], capture_output=True)
    os.makedirs(WORK, exist_ok=True)

    reg_port = free_port()
    registry = start_registry(reg_port)
    base = f"http://127.0.0.1:{reg_port}"
    proxy = Proxy(a.proxy_port, reg_port)
    results = {"latency_ms": a.latency_ms, "runs": a.runs, "binary_bytes": os.path.getsize(binary), "sizes": []}
    results["concurrency"] = a.concurrency or 32
    try:
        setup(max(sizes), base, a.proxy_port)
        concurrency = a.concurrency or 32  # freshen's default
        proxy.latency = a.latency_ms / 1000.0
        conc_args = ["--concurrency", str(a.concurrency)] if a.concurrency else []
        for n in sizes:
            repos = math.ceil(n / PER_REPO)
            # The first n images are exactly the first n / PER_REPO repositories.
            patterns = [f"127.0.0.1:{a.proxy_port}/bench/r{r}" for r in range(repos)]
            state = tempfile.mkdtemp(prefix="freshen-bench-state-")
            args = ["update", *conc_args, *patterns]
            times, counts = [], []
            for _ in range(a.runs):
                proxy.reset()
                t, code, out, err = run_freshen(binary, args, state)
                if code != 0:
                    raise SystemExit(f"freshen failed ({code}):\n{out}\n{err}")
                if "All images are up to date." not in out:
                    raise SystemExit(f"unexpected summary:\n{out}")
                times.append(t)
                counts.append(proxy.count)
            proxy.reset()
            rss = peak_rss_kb(binary, args, state)
            rtt = a.latency_ms / 1000.0
            floor = math.ceil(n / concurrency) * rtt + rtt  # + one round trip to learn auth
            wall = statistics.median(times)
            bare = bare_client_s(n, a.proxy_port, concurrency, a.runs)
            row = {
                "images": n,
                "repositories": repos,
                "wall_s": round(wall, 3),
                "requests": statistics.median(counts),
                "requests_per_image": round(statistics.median(counts) / n, 3),
                "peak_rss_mb": round(rss / 1024, 1),
                "floor_s": round(floor, 3),
                "wall_over_floor": round(wall / floor, 2),
                "bare_client_s": round(bare, 3) if bare else None,
                "wall_over_bare_client": round(wall / bare, 2) if bare else None,
            }
            if n == max(sizes):
                # list --upgradable from the state, offline: make 5% upgradable first.
                tar, gz = layer()
                moved = list(range(0, n, 20))
                for i in moved:
                    push_manifest(base, i, manifest_for(i, 1, base, repo_of(i), tar, gz))
                t, code, out, err = run_freshen(binary, args, state)
                list_times = []
                for _ in range(max(5, a.runs)):
                    t, code, out, err = run_freshen(binary, ["list", "--upgradable", "--format", "json"], state)
                    list_times.append(t)
                upgradable = len(json.loads(out)["images"])
                list_rss = peak_rss_kb(binary, ["list", "--upgradable"], state)
                for i in moved:
                    push_manifest(base, i, manifest_for(i, 0, base, repo_of(i), tar, gz))
                row["list_upgradable_s"] = round(statistics.median(list_times), 3)
                row["list_upgradable_rows"] = upgradable
                row["list_peak_rss_mb"] = round(list_rss / 1024, 1)
            results["sizes"].append(row)
            shutil.rmtree(state, ignore_errors=True)
            log(f"N={n}: {row}")
    finally:
        registry.kill()

    print(f"freshen update, {a.latency_ms:g} ms added per request, concurrency {concurrency}, median of {a.runs} runs")
    print("| images | wall (s) | latency floor (s) | wall/floor | bare client (s) | wall/bare | requests/image | peak RSS (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["sizes"]:
        print(
            f"| {r['images']} | {r['wall_s']} | {r['floor_s']} | {r['wall_over_floor']} | {r['bare_client_s']} "
            f"| {r['wall_over_bare_client']} | {r['requests_per_image']} | {r['peak_rss_mb']} |"
        )
    for r in results["sizes"]:
        if "list_upgradable_s" in r:
            print(f"\nfreshen list --upgradable at N={r['images']} ({r['list_upgradable_rows']} upgradable): "
                  f"{r['list_upgradable_s'] * 1000:.0f} ms, peak RSS {r['list_peak_rss_mb']} MB")
    print(f"binary size: {results['binary_bytes'] / 1e6:.1f} MB")
    with open(a.json, "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
