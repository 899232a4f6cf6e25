#!/usr/bin/env python3
"""Benchmark of `freshen update` and `freshen list --upgradable`, one command.

    python3 bench/check.py

builds the release binary (cargo, if it is not up to date), starts a private
docker-registry on a free loopback port behind a proxy on 127.0.0.1:5099 that
adds 20 ms to every request and counts requests and connections, and for each
size N (200 and 2000 by default):

  * makes N distinct images exist both in the registry and in the engine,
    20 per repository (127.0.0.1:5099/freshen-bench/rR:tI), with correct
    RepoTags and RepoDigests: manifests and configs are pushed through the
    registry API (one shared layer), the engine pulls them (no builds);
  * moves every tenth tag in the registry to a new digest (outdated);
  * runs `freshen update` cold (empty state) then warm (the state that cold
    run left), three times, and takes medians: wall time, requests per image
    and connections seen at the proxy, peak RSS;
  * times `freshen list --upgradable` from that state;
  * times the bare-client reference: the same N manifest HEADs, with the same
    Accept header, all sent at once by `curl --parallel` (the concurrency a
    tool without a bound uses), and the same at freshen's bound;
  * times the engine's `GET /images/json` (what freshen has to wait for);
  * with --cup BIN (or a `cup` on PATH), runs cup's `check` in the same
    runs, interleaved with freshen's (cup, freshen cold, freshen warm, and
    again), through the same proxy: wall time, requests, connections, RSS.
    cup keeps no state, so each of its runs is a first run. It checks every
    image the engine holds, so run the bench on an engine that holds only
    the bench's images (the table says how many cup checked).

It prints a Markdown table and writes bench/results.json. On exit it removes
its own images (127.0.0.1:PORT/freshen-bench/*) and registry storage unless
--keep is given; a later run reuses kept images.

Needs: docker (daemon on /var/run/docker.sock or DOCKER_HOST=unix://…),
docker-registry (Debian package `docker-registry`), curl, cargo.
"""

import argparse
import asyncio
import gzip
import hashlib
import http.client
import io
import json
import math
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.environ.get("FRESHEN_BENCH_DIR", "/tmp/freshen-bench")
NAMESPACE = "freshen-bench"
PER_REPO = 20  # image i lives in freshen-bench/r{i // PER_REPO}
OUTDATED_EVERY = 10  # image i is outdated when i % 10 == 0
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# What freshen sends (registry::MANIFEST_ACCEPT), for the curl reference.
ACCEPT = (
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
)
CURL_MAX_PARALLEL = 300  # curl 7.x caps --parallel-max here; more processes go beyond it


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# The latency proxy: HTTP/1.1 keep-alive on both sides, one upstream
# connection per downstream connection. Every request waits `latency` before
# it is forwarded; requests (by method) and new connections are counted.
# --------------------------------------------------------------------------
class Proxy:
    def __init__(self, listen_port, upstream_port):
        self.listen_port = listen_port
        self.upstream_port = upstream_port
        self.latency = 0.0
        self.reset()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(10)
        if self.error:
            raise SystemExit(f"cannot listen on 127.0.0.1:{listen_port} ({self.error}): pass --proxy-port")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.server = self.loop.run_until_complete(
                asyncio.start_server(self._client, "127.0.0.1", self.listen_port, backlog=4096)
            )
        except OSError as e:
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        self.loop.run_forever()

    def reset(self):
        self.count = 0
        self.connections = 0
        self.by_method = {}
        # (monotonic time, method, path) of every request, for timelines.
        self.events = []

    @staticmethod
    async def _read_head(reader, first=b""):
        head = first + await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                headers[k.strip().lower()] = v.strip()
        return head, lines[0], headers

    @staticmethod
    async def _pipe_body(reader, writer, headers):
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size_line = await reader.readuntil(b"\r\n")
                writer.write(size_line)
                size = int(size_line.split(b";")[0].strip(), 16)
                writer.write(await reader.readexactly(size + 2))
                if size == 0:
                    return
        n = int(headers.get("content-length", "0") or 0)
        while n > 0:
            chunk = await reader.read(min(n, 1 << 16))
            if not chunk:
                raise ConnectionError("closed mid-body")
            writer.write(chunk)
            n -= len(chunk)
            await writer.drain()

    async def _client(self, creader, cwriter):
        self.connections += 1
        upstream = None
        try:
            # The engine tries HTTPS first: close a TLS hello at once (as the
            # registry itself would answer it) instead of waiting for a
            # request line that never comes, so it falls back to HTTP.
            first = await creader.readexactly(1)
            if first == b"\x16":
                return
            while True:
                try:
                    head, request_line, headers = await self._read_head(creader, first)
                    first = b""
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method = request_line.split(" ", 1)[0]
                self.events.append((time.monotonic(), method, request_line.split(" ")[1]))
                self.count += 1
                self.by_method[method] = self.by_method.get(method, 0) + 1
                if self.latency:
                    await asyncio.sleep(self.latency)
                if upstream is None:
                    upstream = await asyncio.open_connection("127.0.0.1", self.upstream_port)
                ureader, uwriter = upstream
                uwriter.write(head)
                await self._pipe_body(creader, uwriter, headers)
                await uwriter.drain()
                rhead, status_line, rheaders = await self._read_head(ureader)
                cwriter.write(rhead)
                status = int(status_line.split(" ")[1])
                if not (method == "HEAD" or status in (204, 304) or 100 <= status < 200):
                    await self._pipe_body(ureader, cwriter, rheaders)
                await cwriter.drain()
        except Exception:
            return
        finally:
            cwriter.close()
            if upstream:
                upstream[1].close()


# --------------------------------------------------------------------------
# Talking to the registry (directly, no proxy) and to the engine
# --------------------------------------------------------------------------
class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=300):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def docker_socket():
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise SystemExit(f"DOCKER_HOST={host}: the bench talks to the engine over a unix socket only")
    return host[len("unix://"):]


_local = threading.local()


def engine(method, path, body=None):
    """One engine API call on this thread's connection; returns (status, bytes)."""
    for attempt in range(2):
        conn = getattr(_local, "engine", None)
        if conn is None:
            conn = _local.engine = UnixHTTPConnection(docker_socket())
        try:
            conn.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            r = conn.getresponse()
            return r.status, r.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            _local.engine = None
            if attempt:
                raise


def registry(base_port, method, path, body=None, headers=None):
    """One registry API call on this thread's keep-alive connection."""
    key = f"reg{base_port}"
    for attempt in range(2):
        conn = getattr(_local, key, None)
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", base_port, timeout=60)
            setattr(_local, key, conn)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            data = r.read()
            return r.status, r.headers, data
        except (http.client.HTTPException, OSError):
            conn.close()
            setattr(_local, key, None)
            if attempt:
                raise


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
    for _ in range(200):
        try:
            if registry(port, "GET", "/v2/")[0] == 200:
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("docker-registry did not start")


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def put_blob(port, repo, data):
    digest = sha(data)
    if registry(port, "HEAD", f"/v2/{repo}/blobs/{digest}")[0] == 200:
        return digest
    status, h, _ = registry(port, "POST", f"/v2/{repo}/blobs/uploads/")
    if status != 202:
        raise SystemExit(f"registry refused a blob upload ({status})")
    loc = urllib.parse.urlsplit(h["Location"])
    query = (loc.query + "&" if loc.query else "") + f"digest={digest}"
    status, _, _ = registry(port, "PUT", f"{loc.path}?{query}", data, {"Content-Type": "application/octet-stream"})
    if status != 201:
        raise SystemExit(f"registry refused a blob ({status})")
    return digest


def layer():
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as t:
        payload = b"freshen bench layer\n"
        info = tarfile.TarInfo("bench.txt")
        info.size, info.mtime = len(payload), 0
        t.addfile(info, io.BytesIO(payload))
    tar = raw.getvalue()
    return tar, gzip.compress(tar, mtime=0)


TAR, GZ = layer()


def repo_of(i):
    return f"{NAMESPACE}/r{i // PER_REPO}"


def tag_of(i):
    """A tag with no digits (tb, tc, …, tba): cup reads any tag holding a
    number as a version and would list the repository's tags, so that both
    tools do the same job, a digest check per tag."""
    letters = ""
    while True:
        letters = chr(ord("a") + i % 26) + letters
        i //= 26
        if i == 0:
            return "t" + letters


def image_ref(port, i):
    return f"127.0.0.1:{port}/{repo_of(i)}:{tag_of(i)}"


def bodies(i, generation):
    """Config and manifest of image i; the same bytes every time, so the
    digests match what the engine recorded in an earlier (kept) run."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Labels": {"freshen.bench": str(i), "generation": str(generation)}},
            "rootfs": {"type": "layers", "diff_ids": [sha(TAR)]},
        },
        sort_keys=True,
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(config), "digest": sha(config)},
            "layers": [{"mediaType": LAYER_TYPE, "size": len(GZ), "digest": sha(GZ)}],
        },
        sort_keys=True,
    ).encode()
    return config, manifest


def push_image(port, i, generation):
    config, manifest = bodies(i, generation)
    put_blob(port, repo_of(i), config)
    status, _, body = registry(
        port, "PUT", f"/v2/{repo_of(i)}/manifests/{tag_of(i)}", manifest, {"Content-Type": MANIFEST_TYPE}
    )
    if status != 201:
        raise SystemExit(f"registry refused manifest {i}: {status} {body[:200]!r}")
    return sha(manifest)


def local_images(proxy_port):
    """Our images in the engine: reference → (id, repo digests)."""
    flt = urllib.parse.quote(json.dumps({"reference": [f"127.0.0.1:{proxy_port}/{NAMESPACE}/*"]}))
    status, body = engine("GET", f"/images/json?filters={flt}")
    if status != 200:
        raise SystemExit(f"engine answered {status} to images/json")
    out = {}
    for img in json.loads(body):
        for t in img.get("RepoTags") or []:
            out[t] = (img["Id"], img.get("RepoDigests") or [])
    return out


def pull(ref):
    name, tag = ref.rsplit(":", 1)
    q = urllib.parse.urlencode({"fromImage": name, "tag": tag})
    status, body = engine("POST", f"/images/create?{q}")
    errors = [json.loads(line).get("error") for line in body.splitlines() if line.strip()]
    errors = [e for e in errors if e]
    if status != 200 or errors:
        raise SystemExit(f"pull {ref} failed: {status} {errors or body[:200]!r}")


def remove(ref):
    status, body = engine("DELETE", f"/images/{urllib.parse.quote(ref, safe='')}")
    if status not in (200, 404):
        log(f"could not remove {ref}: {status} {body[:200]!r}")


def setup(n, reg_port, proxy_port, pool):
    """Images 0..n-1 exist in the registry (generation 0) and in the engine,
    pulled from it; returns the seconds each part took."""
    t0 = time.monotonic()
    for r in range(math.ceil(n / PER_REPO)):
        put_blob(reg_port, f"{NAMESPACE}/r{r}", GZ)
    digests = list(pool.map(lambda i: push_image(reg_port, i, 0), range(n)))
    t1 = time.monotonic()
    have = local_images(proxy_port)
    missing = []
    for i in range(n):
        ref = image_ref(proxy_port, i)
        want = f"127.0.0.1:{proxy_port}/{repo_of(i)}@{digests[i]}"
        if ref not in have or want not in have[ref][1]:
            missing.append(ref)
    if missing:
        log(f"pulling {len(missing)} images into the engine")
        list(pool.map(pull, missing))
    t2 = time.monotonic()
    have = local_images(proxy_port)
    for i in range(n):
        want = f"127.0.0.1:{proxy_port}/{repo_of(i)}@{digests[i]}"
        if want not in have.get(image_ref(proxy_port, i), ("", []))[1]:
            raise SystemExit(f"{image_ref(proxy_port, i)} has no RepoDigest {want} after the pull")
    return {"registry_s": round(t1 - t0, 2), "pull_s": round(t2 - t1, 2), "pulled": len(missing)}


def make_outdated(n, reg_port, pool, generation):
    moved = [i for i in range(n) if i % OUTDATED_EVERY == 0]
    list(pool.map(lambda i: push_image(reg_port, i, generation), moved))
    return len(moved)


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------
def run_measured(argv, env):
    """Runs argv; returns (seconds, exit code, stdout, stderr, peak RSS in
    KiB, CPU seconds): the CPU time does not depend on what else the
    machine is doing, the wall time does.

    Linux carries a process's peak RSS across exec, so a child forked from
    this (large) Python process would report Python's RSS when it is the
    larger one. The measured program is therefore started by a small shell
    in the background; the shell exits, the program is re-parented to us
    (a child subreaper) and we wait for it ourselves."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        # The shell's stdout carries the program's pid; `exec true` leaves
        # the program unreaped (bash, for file descriptors above 9).
        fd = out.fileno()
        launcher = subprocess.Popen(
            ["/bin/bash", "-c", f'"$@" >&{fd} {fd}>&- & echo $!; exec true', "bash", *argv],
            env=env, stdout=subprocess.PIPE, stderr=err, pass_fds=(fd,),
        )
        pid_line = launcher.stdout.readline()
        launcher.wait()
        pid = int(pid_line)
        _, status, usage = os.wait4(pid, 0)
        elapsed = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return elapsed, os.waitstatus_to_exitcode(status), out.read().decode(), err.read().decode(), \
            usage.ru_maxrss, cpu


def become_subreaper():
    """Orphans of our children become our children (see run_measured)."""
    import ctypes

    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        raise SystemExit("prctl(PR_SET_CHILD_SUBREAPER) failed: the bench needs Linux")


def freshen_env(state_dir):
    return dict(
        os.environ,
        FRESHEN_STATE_DIR=state_dir,
        FRESHEN_CONFIG=os.path.join(state_dir, "no-config.toml"),
        NO_COLOR="1",
    )


def curl_heads(n, proxy_port, parallel, runs, proxy):
    """The same n manifest HEADs from curl through the proxy, `parallel` at
    a time (n: all at once, split over several curl processes beyond
    curl's own cap). Returns (median seconds, requests, connections)."""
    per_process = min(parallel, CURL_MAX_PARALLEL)
    processes = max(1, math.ceil(min(parallel, n) / per_process))
    files = []
    for p in range(processes):
        f = tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False)
        for i in range(p, n, processes):
            f.write(
                f'url = "http://127.0.0.1:{proxy_port}/v2/{repo_of(i)}/manifests/{tag_of(i)}"\n'
                "head\nsilent\noutput = /dev/null\n"
            )
        f.close()
        files.append(f.name)
    times, counts, conns = [], [], []
    for _ in range(runs):
        proxy.reset()
        start = time.monotonic()
        procs = [
            subprocess.Popen(
                ["curl", "--parallel", "--parallel-immediate", "--parallel-max", str(per_process),
                 "-H", f"Accept: {ACCEPT}", "-K", f],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            for f in files
        ]
        for p in procs:
            if p.wait() != 0:
                raise SystemExit(f"curl failed ({p.returncode})")
        times.append(time.monotonic() - start)
        counts.append(proxy.count)
        conns.append(proxy.connections)
    for f in files:
        os.unlink(f)
    return statistics.median(times), statistics.median(counts), statistics.median(conns)


def engine_listing_s(runs):
    times = []
    for _ in range(runs):
        start = time.monotonic()
        status, _ = engine("GET", "/images/json")
        times.append(time.monotonic() - start)
        if status != 200:
            raise SystemExit(f"engine answered {status} to images/json")
    return statistics.median(times)


def expect_summary(out, upgradable):
    want = f"{upgradable} images can be upgraded." if upgradable != 1 else "1 image can be upgraded."
    if want not in out:
        raise SystemExit(f"freshen's summary is not '{want}':\n{out}")


def cup_config(proxy_port):
    """cup talks HTTPS unless told the registry is insecure."""
    path = os.path.join(WORK, "cup.json")
    with open(path, "w") as f:
        json.dump({"version": 3, "registries": {f"127.0.0.1:{proxy_port}": {"insecure": True}}}, f)
    return path


def run_cup(cup, config, proxy, n, upgradable):
    """One `cup check -r`; returns its measurement, after checking that it
    found the outdated tags (a run that found nothing would time nothing)."""
    proxy.reset()
    t, code, out, err, rss, cpu = run_measured([cup, "-c", config, "check", "-r"], dict(os.environ))
    if code != 0:
        raise CupFailed(f"cup check failed ({code}): {(out + err).strip()[:500]}")
    try:
        metrics = json.loads(out)["metrics"]
        found, checked = metrics["updates_available"], metrics["monitored_images"]
    except (ValueError, KeyError, TypeError) as e:
        raise CupFailed(f"cup's output is not the JSON of cup 3.x ({e}): {out[:300]!r}")
    if found != upgradable:
        raise CupFailed(f"cup found {found} updates, not {upgradable}: {metrics}")
    return {"s": t, "requests": proxy.count, "connections": proxy.connections, "rss_kb": rss, "cpu_s": cpu,
            "by_method": dict(proxy.by_method), "checked": checked}


class CupFailed(Exception):
    """cup could not be measured: the bench goes on without it."""


def summarise(rs, n):
    med = lambda key: statistics.median(r[key] for r in rs)  # noqa: E731
    return {
        "wall_s": round(med("s"), 3),
        "requests_per_image": round(med("requests") / n, 3),
        "connections": med("connections"),
        "peak_rss_mb": round(med("rss_kb") / 1024, 1),
        "cpu_s": round(med("cpu_s"), 3),
        "by_method": rs[len(rs) // 2]["by_method"],
        "all_s": [round(r["s"], 3) for r in rs],
    }


def measure(n, a, binary, proxy):
    repos = math.ceil(n / PER_REPO)
    ours = len(local_images(a.proxy_port))
    if ours == n:
        patterns = [f"127.0.0.1:{a.proxy_port}/{NAMESPACE}/*"]
    else:  # a kept setup of a larger size: select the first n images
        patterns = [f"127.0.0.1:{a.proxy_port}/{NAMESPACE}/r{r}" for r in range(repos)]
    conc = ["--concurrency", str(a.concurrency)] if a.concurrency else []
    upgradable = len(range(0, n, OUTDATED_EVERY))
    runs = {"cold": [], "warm": []}
    cup_runs = []
    config = cup_config(a.proxy_port) if a.cup else None
    list_times, list_rss = [], []
    for _ in range(a.runs):
        if a.cup:
            try:
                cup_runs.append(run_cup(a.cup, config, proxy, n, upgradable))
            except CupFailed as e:
                log(f"{e}; measuring without cup from here on")
                a.cup, cup_runs = None, []
        state = tempfile.mkdtemp(prefix="freshen-bench-state-")
        try:
            for kind in ("cold", "warm"):
                proxy.reset()
                t, code, out, err, rss, cpu = run_measured(
                    [binary, "update", *conc, *patterns], freshen_env(state)
                )
                if code != 0:
                    raise SystemExit(f"freshen update failed ({code}):\n{out}\n{err}")
                expect_summary(out, upgradable)
                runs[kind].append(
                    {"s": t, "requests": proxy.count, "connections": proxy.connections, "rss_kb": rss,
                     "cpu_s": cpu, "by_method": dict(proxy.by_method)}
                )
            for _ in range(max(1, a.runs)):
                t, code, out, err, rss, _ = run_measured(
                    [binary, "list", "--upgradable", "--format", "json", *patterns], freshen_env(state)
                )
                if code != 0:
                    raise SystemExit(f"freshen list failed ({code}):\n{out}\n{err}")
                rows = len(json.loads(out)["images"])
                if rows != upgradable:
                    raise SystemExit(f"list --upgradable shows {rows} images, not {upgradable}")
                list_times.append(t)
                list_rss.append(rss)
        finally:
            shutil.rmtree(state, ignore_errors=True)
    row = {"images": n, "repositories": repos, "outdated": upgradable, "bench_images_in_engine": ours}
    for kind, rs in runs.items():
        row[kind] = summarise(rs, n)
    if cup_runs:
        row["cup"] = summarise(cup_runs, n)
        row["cup"]["images_checked"] = statistics.median(r["checked"] for r in cup_runs)
    row["list_upgradable_ms"] = round(statistics.median(list_times) * 1000, 1)
    row["list_peak_rss_mb"] = round(statistics.median(list_rss) / 1024, 1)
    bound = a.concurrency or a.default_concurrency
    s, count, conns = curl_heads(n, a.proxy_port, n, a.runs, proxy)
    row["curl_all_s"], row["curl_all_connections"] = round(s, 3), conns
    if count != n:
        raise SystemExit(f"curl sent {count} requests, not {n}")
    s, _, _ = curl_heads(n, a.proxy_port, bound, a.runs, proxy)
    row["curl_bounded_s"] = round(s, 3)
    row["engine_list_ms"] = round(engine_listing_s(a.runs) * 1000, 1)
    return row


def print_table(results):
    bound = results["freshen_concurrency"]
    print(
        f"\nfreshen update, {results['latency_ms']:g} ms added per request, every tenth tag outdated, "
        f"median of {results['runs']} runs ({results['machine']}, load average "
        f"{results['load_average_start'][0]:g} at the start, {results['load_average_end'][0]:g} at the end)\n"
    )
    print(
        "| images | run | freshen wall (s) | curl all at once (s) | freshen/curl | requests/image "
        f"| connections | peak RSS (MB) | CPU (s) | curl at {bound} (s) | list --upgradable (ms) | images/json (ms) |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results["sizes"]:
        for kind in ("cold", "warm"):
            k = r[kind]
            print(
                f"| {r['images']} | {kind} | {k['wall_s']:.2f} | {r['curl_all_s']:.2f} "
                f"| {k['wall_s'] / r['curl_all_s']:.2f} | {k['requests_per_image']:.2f} | {k['connections']:g} "
                f"| {k['peak_rss_mb']:.1f} | {k['cpu_s']:.2f} | {r['curl_bounded_s']:.2f} "
                f"| {r['list_upgradable_ms']:.0f} | {r['engine_list_ms']:.0f} |"
            )


def print_cup_table(results):
    rows = [r for r in results["sizes"] if "cup" in r]
    if not rows:
        return
    print(f"\nBeside {results['cup']} in the same runs (cup, freshen cold, freshen warm, in turn; "
          "cup keeps no state, so every cup run is a first run)\n")
    print("| images | freshen cold (s) | freshen warm (s) | cup (s) | cold/cup | warm/cup "
          "| requests/image cold / warm / cup | connections cold / cup | peak RSS MB cold / warm / cup "
          "| CPU s cold / cup | images cup checked |")
    print("|---:|---:|---:|---:|---:|---:|---|---|---|---|---:|")
    for r in rows:
        c, w, u = r["cold"], r["warm"], r["cup"]
        print(
            f"| {r['images']} | {c['wall_s']:.2f} | {w['wall_s']:.2f} | {u['wall_s']:.2f} "
            f"| {c['wall_s'] / u['wall_s']:.2f} | {w['wall_s'] / u['wall_s']:.2f} "
            f"| {c['requests_per_image']:.2f} / {w['requests_per_image']:.2f} / {u['requests_per_image']:.2f} "
            f"| {c['connections']:g} / {u['connections']:g} "
            f"| {c['peak_rss_mb']:.1f} / {w['peak_rss_mb']:.1f} / {u['peak_rss_mb']:.1f} "
            f"| {c['cpu_s']:.2f} / {u['cpu_s']:.2f} | {u['images_checked']:g} |"
        )


def cup_version(cup):
    try:
        out = subprocess.run([cup, "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
        return out or cup
    except (OSError, subprocess.SubprocessError):
        return cup


def cleanup(proxy_port, keep):
    if keep:
        log(f"kept the images and {WORK} (--keep)")
        return
    refs = sorted(local_images(proxy_port))
    if refs:
        log(f"removing {len(refs)} bench images")
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(remove, refs))
    shutil.rmtree(WORK, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="200,2000", help="image counts, ascending (default 200,2000)")
    ap.add_argument("--latency-ms", type=float, default=20.0)
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; medians are reported")
    ap.add_argument("--binary", help="freshen binary (default: cargo build --release, target/release/freshen)")
    ap.add_argument("--concurrency", type=int, help="passed to freshen (default: freshen's own)")
    ap.add_argument("--proxy-port", type=int, default=5099)
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--keep", action="store_true", help="keep the images and registry for the next run")
    ap.add_argument("--cup", default=os.environ.get("FRESHEN_BENCH_CUP") or shutil.which("cup"),
                    help="cup binary to measure beside freshen (default: $FRESHEN_BENCH_CUP, else cup on PATH)")
    ap.add_argument("--no-cup", action="store_true", help="measure no cup even if one is found")
    ap.add_argument("--setup-only", action="store_true", help="create the images, measure nothing (implies --keep)")
    a = ap.parse_args()
    sizes = sorted(int(s) for s in a.sizes.split(","))
    if a.no_cup:
        a.cup = None
    if a.cup:
        a.cup = os.path.abspath(a.cup) if os.path.exists(a.cup) else shutil.which(a.cup)
        if not a.cup:
            raise SystemExit("--cup: no such binary")
    for tool in ("docker-registry", "curl"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} not found: apt-get install docker-registry curl")
    if a.binary:
        binary = os.path.abspath(a.binary)
    else:
        log("cargo build --release")
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
        binary = os.path.join(ROOT, "target", "release", "freshen")
    if not os.path.exists(binary):
        raise SystemExit(f"{binary} not found")
    become_subreaper()
    # Every HEAD at once needs a descriptor per connection, twice in the proxy.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    a.default_concurrency = int(
        os.environ.get("FRESHEN_BENCH_DEFAULT_CONCURRENCY", default_concurrency())
    )
    os.makedirs(WORK, exist_ok=True)
    reg_port = free_port()
    reg = start_registry(reg_port)
    proxy = Proxy(a.proxy_port, reg_port)
    results = {
        "latency_ms": a.latency_ms,
        "runs": a.runs,
        "freshen_concurrency": a.concurrency or a.default_concurrency,
        "machine": f"{os.cpu_count()} cores, Docker {docker_version()}",
        "binary_bytes": os.path.getsize(binary),
        # Other work on the machine moves wall times (not requests, CPU or RSS).
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
        "sizes": [],
    }
    if a.cup:
        results["cup"] = cup_version(a.cup)
    try:
        with ThreadPoolExecutor(8) as pool:
            for n in sizes:
                proxy.latency = 0.0
                log(f"N={n}: setting up")
                setup_times = setup(n, reg_port, a.proxy_port, pool)
                log(f"N={n}: setup {setup_times}")
                if a.setup_only:
                    continue
                make_outdated(n, reg_port, pool, 1)
                proxy.latency = a.latency_ms / 1000.0
                row = measure(n, a, binary, proxy)
                row["setup"] = setup_times
                results["sizes"].append(row)
                log(f"N={n}: {json.dumps(row)}")
                # Back to generation 0 for the next size (and a kept setup).
                proxy.latency = 0.0
                make_outdated(n, reg_port, pool, 0)
    finally:
        reg.kill()
        reg.wait()
        try:
            cleanup(a.proxy_port, a.keep or a.setup_only)
        except Exception as e:  # the results are still worth printing
            log(f"cleanup failed: {e}")
    results["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    if results["sizes"]:
        print_table(results)
        print_cup_table(results)
        with open(a.json, "w") as f:
            json.dump(results, f, indent=2)
            f.write("\n")


def default_concurrency():
    """freshen's default bound, from its source (for the bounded curl run)."""
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            try:
                with open(os.path.join(dirpath, name)) as f:
                    for line in f:
                        if "const DEFAULT_CONCURRENCY: usize" in line:
                            return int(line.split("=")[1].strip().rstrip(";"))
            except (OSError, ValueError):
                pass
    return 32


def docker_version():
    try:
        status, body = engine("GET", "/version")
        return json.loads(body).get("Version", "?")
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
