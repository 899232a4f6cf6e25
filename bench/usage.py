#!/usr/bin/env python3
"""What the usage record (`usage.json`) adds to `freshen update`, at N images.

    python3 bench/usage.py                  # --sizes 2000 --runs 3 --containers 20

Sets up N images in the engine with bench/check.py's own helpers (a private
docker-registry; manifests and configs pushed through its API, then pulled
by the engine: no builds), creates C stopped containers (never started) from
the first images, puts a counting proxy in front of the engine's socket and
runs `freshen -v update` through it:

  * cold: no state and no usage.json: every image is new to the record, so
    the refresh inspects each once for its LastTagTime;
  * warm: the state and record that run left, nothing changed since: the
    steady state of the scheduled update.

For each it reports the medians of the update's wall time, the time the
refresh itself took (freshen's `-v` line "usage record: … refreshed in N
ms"), and the engine requests by kind. The refresh's own requests are the
event read (`/events`), one inspect per stopped container, one image
inspect by id per new or retagged image (LastTagTime) and a second
container listing; everything else is what `update` asks anyway. Writes
bench/usage-results.json and removes its images, containers and registry
storage at the end (unless --keep).
"""

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check  # noqa: E402  (the setup helpers of bench/check.py)

REQUEST = re.compile(rb"(GET|POST|HEAD|DELETE|PUT) (\S+) HTTP/1\.[01]\r\n")


class EngineCounter:
    """A unix-socket proxy in front of the engine that counts the requests
    clients send (scanning their bytes for request lines: freshen's requests
    to the engine during an update carry no bodies)."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.dir = tempfile.mkdtemp(prefix="freshen-bench-engine-")
        self.path = os.path.join(self.dir, "docker.sock")
        self.paths = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run():
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(asyncio.start_unix_server(self._client, path=self.path))
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=run, daemon=True).start()
        ready.wait(10)

    async def _client(self, creader, cwriter):
        ureader, uwriter = await asyncio.open_unix_connection(self.upstream)

        async def pipe(reader, writer, count):
            try:
                while True:
                    data = await reader.read(65536)
                    if not data:
                        break
                    if count:
                        self.paths.extend(m.group(2).decode("latin-1") for m in REQUEST.finditer(data))
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                try:
                    writer.close()
                except Exception:
                    pass

        await asyncio.gather(pipe(creader, uwriter, True), pipe(ureader, cwriter, False))

    def take(self):
        out, self.paths = self.paths, []
        return out


def kind(path):
    p = re.sub(r"^/v\d+\.\d+", "", path.split("?")[0])
    if p == "/events":
        return "events (refresh)"
    if re.fullmatch(r"/containers/[^/]+/json", p):
        return "container inspect (refresh)"
    if re.fullmatch(r"/images/sha256:[0-9a-f]+/json", p):
        return "image inspect by id (refresh: LastTagTime)"
    if p == "/containers/json":
        return "container listing (update + refresh)"
    return "other (update itself)"


def refresh_ms(stderr):
    m = re.search(r"usage record: (\d+) images, refreshed in (\d+) ms", stderr)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="2000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--containers", type=int, default=20)
    ap.add_argument("--binary", help="freshen binary (default: cargo build --release)")
    ap.add_argument("--proxy-port", type=int, default=5099)
    ap.add_argument("--json", default=os.path.join(HERE, "usage-results.json"))
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.binary:
        binary = os.path.abspath(a.binary)
    else:
        check.log("cargo build --release")
        subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=check.ROOT, check=True)
        binary = os.path.join(check.ROOT, "target", "release", "freshen")
    os.makedirs(check.WORK, exist_ok=True)
    reg_port = check.free_port()
    reg = check.start_registry(reg_port)
    proxy = check.Proxy(a.proxy_port, reg_port)  # the registry side, as bench/check.py has it
    proxy.latency = 0.0
    counter = EngineCounter(check.docker_socket())
    results = {"runs": a.runs, "containers": a.containers, "load_average_start": list(os.getloadavg()), "sizes": []}
    created = []
    n_max = 0
    try:
        with ThreadPoolExecutor(8) as pool:
            for n in sorted(int(s) for s in a.sizes.split(",")):
                n_max = max(n_max, n)
                check.log(f"N={n}: setting up")
                check.setup(n, reg_port, a.proxy_port, pool)
                for i in range(len(created), min(a.containers, n)):
                    name = f"freshen-bench-usage-{i}"
                    body = json.dumps({"Image": check.image_ref(a.proxy_port, i), "Cmd": ["none"]}).encode()
                    status, reply = check.engine("POST", f"/containers/create?name={name}", body)
                    if status not in (201, 409):
                        raise SystemExit(f"cannot create container {name}: {status} {reply[:200]!r}")
                    created.append(name)
                row = {"images": n}
                for label in ("cold", "warm"):
                    walls, refreshes, counts = [], [], []
                    for _ in range(a.runs):
                        with tempfile.TemporaryDirectory(prefix="freshen-bench-usage-") as state:
                            env = dict(os.environ, FRESHEN_STATE_DIR=state, DOCKER_HOST=f"unix://{counter.path}",
                                       FRESHEN_CONFIG=os.path.join(state, "none.toml"), NO_COLOR="1")
                            argv = [binary, "-v", "update", f"127.0.0.1:{a.proxy_port}/{check.NAMESPACE}/*"]
                            if label == "warm":
                                subprocess.run(argv, env=env, capture_output=True)
                            counter.take()
                            t = time.monotonic()
                            r = subprocess.run(argv, env=env, capture_output=True, text=True)
                            walls.append(time.monotonic() - t)
                            if r.returncode not in (0, 100):
                                raise SystemExit(f"freshen update failed ({r.returncode}):\n{r.stderr}")
                            images, ms = refresh_ms(r.stderr)
                            if ms is None:
                                raise SystemExit(f"no refresh line in:\n{r.stderr}")
                            refreshes.append(ms)
                            by = {}
                            for path in counter.take():
                                by[kind(path)] = by.get(kind(path), 0) + 1
                            counts.append(by)
                    kinds = sorted({k for c in counts for k in c})
                    row[label] = {
                        "update_wall_s": round(statistics.median(walls), 3),
                        "refresh_ms": statistics.median(refreshes),
                        "record_images": images,
                        "requests": {k: statistics.median(c.get(k, 0) for c in counts) for k in kinds},
                    }
                    check.log(f"N={n} {label}: {row[label]}")
                results["sizes"].append(row)
    finally:
        for name in created:
            check.engine("DELETE", f"/containers/{name}?force=0")
        if not a.keep:
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(check.remove, [check.image_ref(a.proxy_port, i) for i in range(n_max)]))
            reg.kill()
            subprocess.run(["rm", "-rf", os.path.join(check.WORK, "registry")])
    results["load_average_end"] = list(os.getloadavg())
    with open(a.json, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print("| images | run | update wall (s) | refresh (ms) | refresh requests | of which |")
    print("|---:|---|---:|---:|---:|---|")
    for row in results["sizes"]:
        for label in ("cold", "warm"):
            r = row[label]
            own = {k: v for k, v in r["requests"].items() if "refresh" in k}
            total = sum(v for k, v in own.items() if "update +" not in k) + 1
            detail = ", ".join(f"{v} {k}" for k, v in own.items())
            print(f"| {row['images']} | {label} | {r['update_wall_s']} | {r['refresh_ms']} | {total} | {detail} |")


if __name__ == "__main__":
    main()
