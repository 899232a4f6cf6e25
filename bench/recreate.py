#!/usr/bin/env python3
"""Measurement of `freshen upgrade` recreating ten running containers.

    python3 bench/recreate.py [--freshen PATH] [--docker-host unix://…] [--json FILE]

compiles a small static C program, builds runnable FROM-scratch images with
it (DOCKER_BUILDKIT=0; some with a HEALTHCHECK that passes every second, one
without, one with `VOLUME /data`), starts a private docker-registry on a free
loopback port, pushes v1 of each tag and runs ten containers on them:

  web-1..3    web:1     HEALTHCHECK, a published port, a user network (alias)
  worker-1..3 worker:1  no HEALTHCHECK, restart policy, env; one on the network
  db-1        db:1      HEALTHCHECK, a named volume and an anonymous one
  cache-1..2  cache:1   HEALTHCHECK, the user network with an alias
  api         api:1     HEALTHCHECK, a Compose service (if `docker compose`
                        v2 is installed; else a plain container `api-1`)

then pushes v2 of every tag (the registry's tags move; the local ones do
not), runs `freshen update` and times `freshen upgrade -y --format json`.
Per container it reports the downtime from the engine's own events
(`docker events --since … --until …`): from the old container's `die` (it
stops serving) to the new one's `health_status: healthy`, or its `start` for
an image without a HEALTHCHECK; beside it freshen's own figure (stop of the
old container → gate passed, which for a container without a HEALTHCHECK
includes the whole --wait). Also freshen's `--wait` default.

Everything it makes carries the label freshen.bench=NONCE or lives in the
registry namespace freshen-bench-rc-NONCE; only that is removed at the end
(containers with their anonymous volumes, the Compose project, the network,
the named volume, the images, the registry and its storage).

Needs: docker CLI (+ compose plugin, optional), docker-registry, cc with a
static libc, cargo (when --freshen is not given). DOCKER_HOST or
--docker-host selects the engine.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"
)

PROGRAM = r"""
#include <signal.h>
#include <string.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "ok") == 0) return 0;
    signal(SIGTERM, stop);
    signal(SIGINT, stop);
    for (;;) pause();
}
"""

# The container events a downtime is read from (and a few for the record).
WATCHED = ("kill", "die", "stop", "start", "health_status", "rename", "create", "destroy")

# repo -> (healthcheck, volume)
IMAGES = {"web": (True, False), "worker": (False, False), "db": (True, True), "cache": (True, False), "api": (True, False)}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.nonce = uuid.uuid4().hex[:8]
        self.prefix = f"freshen-bench-rc-{self.nonce}"
        self.label = f"freshen.bench={self.nonce}"
        self.work = tempfile.mkdtemp(prefix="freshen-bench-recreate-")
        self.env = dict(os.environ)
        if args.docker_host:
            self.env["DOCKER_HOST"] = args.docker_host
        self.env["DOCKER_BUILDKIT"] = "0"
        self.registry = None
        self.host = None
        self.compose = False
        self.project = self.prefix
        self.built = []

    # ---------------------------------------------------------------- helpers
    def run(self, *cmd, check=True, capture=True, **kw):
        out = subprocess.run(
            list(cmd), env=self.env, stdin=subprocess.DEVNULL, text=True,
            stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE if capture else None, **kw,
        )
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: exit {out.returncode}: {(out.stderr or '').strip()}")
        return out

    def docker(self, *args, check=True):
        return self.run("docker", *args, check=check).stdout.strip()

    def ref(self, repo, tag="1"):
        return f"{self.host}/{self.prefix}/{repo}:{tag}"

    def name(self, suffix):
        return f"{self.prefix}-{suffix}"

    # ---------------------------------------------------------------- set-up
    def start_registry(self):
        storage = os.path.join(self.work, "storage")
        os.makedirs(storage)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.host = f"127.0.0.1:{port}"
        config = os.path.join(self.work, "registry.yml")
        with open(config, "w") as f:
            f.write(
                "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n"
                f"storage:\n  filesystem:\n    rootdirectory: {storage}\n"
                f"http:\n  addr: {self.host}\n"
            )
        logf = open(os.path.join(self.work, "registry.log"), "w")
        self.registry = subprocess.Popen(
            ["docker-registry", "serve", config], stdin=subprocess.DEVNULL, stdout=logf, stderr=logf
        )
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection(self.host, timeout=2)
                c.request("GET", "/v2/")
                if c.getresponse().status == 200:
                    log(f"registry on {self.host}")
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("docker-registry did not answer within 15 s")

    def compile_program(self):
        src = os.path.join(self.work, "prog.c")
        with open(src, "w") as f:
            f.write(PROGRAM)
        self.run("cc", "-static", "-O2", "-o", os.path.join(self.work, "prog"), src)

    def build(self, repo, version, tag):
        healthcheck, volume = IMAGES[repo]
        ctx = os.path.join(self.work, f"ctx-{repo}-{version}")
        os.makedirs(ctx)
        shutil.copy(os.path.join(self.work, "prog"), ctx)
        with open(os.path.join(ctx, "version"), "w") as f:
            f.write(f"{repo} {version} {self.nonce}\n")
        lines = ["FROM scratch", "COPY prog /prog", "COPY version /version"]
        if volume:
            lines.append("VOLUME /data")
        if healthcheck:
            lines.append('HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD ["/prog", "ok"]')
        lines.append('CMD ["/prog"]')
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("\n".join(lines) + "\n")
        self.run("docker", "build", "-q", "-t", tag, ctx)
        self.built.append(self.docker("image", "inspect", "-f", "{{.Id}}", tag))
        self.docker("push", tag)

    def copy_tag(self, repo, src, dst):
        path = f"/v2/{self.prefix}/{repo}/manifests/"
        c = http.client.HTTPConnection(self.host, timeout=10)
        c.request("GET", path + src, headers={"Accept": MANIFEST_TYPES})
        r = c.getresponse()
        body, media = r.read(), r.getheader("Content-Type")
        c.request("PUT", path + dst, body=body, headers={"Content-Type": media})
        r = c.getresponse()
        r.read()
        if r.status != 201:
            raise RuntimeError(f"PUT {path}{dst}: {r.status}")

    def publish_v2(self):
        for repo in IMAGES:
            scratch = self.ref(repo, "v2")
            self.build(repo, "v2", scratch)
            self.copy_tag(repo, "v2", "1")
            self.docker("rmi", scratch)

    def start_containers(self):
        net = self.name("net")
        self.docker("network", "create", "--label", self.label, net)
        vol = self.name("dbdata")
        self.docker("volume", "create", "--label", self.label, vol)
        common = ["run", "-d", "--label", self.label]
        for i in range(1, 4):
            self.docker(*common, "--name", self.name(f"web-{i}"), "-p", "127.0.0.1::8080",
                        "--network", net, "--network-alias", "web", "--restart", "unless-stopped",
                        self.ref("web"))
        for i in range(1, 4):
            extra = ["--network", net] if i == 3 else []
            self.docker(*common, "--name", self.name(f"worker-{i}"), "--restart", "on-failure:3",
                        "-e", f"WORKER={i}", *extra, self.ref("worker"))
        self.docker(*common, "--name", self.name("db-1"), "-v", f"{vol}:/var/lib/db", self.ref("db"))
        for i in range(1, 3):
            self.docker(*common, "--name", self.name(f"cache-{i}"), "--network", net,
                        "--network-alias", "cache", self.ref("cache"))
        self.compose = self.run("docker", "compose", "version", "--short", check=False).returncode == 0
        if self.compose:
            d = os.path.join(self.work, "compose")
            os.makedirs(d)
            with open(os.path.join(d, "compose.yaml"), "w") as f:
                f.write(f"services:\n  api:\n    image: {self.ref('api')}\n    labels:\n"
                        f"      freshen.bench: \"{self.nonce}\"\n    ports:\n      - \"127.0.0.1::8080\"\n")
            self.run("docker", "compose", "-p", self.project, "--project-directory", d, "up", "-d")
        else:
            log("docker compose v2 is not installed: api runs as a plain container")
            self.docker(*common, "--name", self.name("api-1"), self.ref("api"))

    def containers(self):
        """name -> (id, image id) of every container of this run."""
        out = self.docker("ps", "-a", "--filter", f"label={self.label}", "--format", "{{.ID}}")
        ids = out.split()
        if not ids:
            return {}
        found = json.loads(self.docker("inspect", *ids))
        return {c["Name"].lstrip("/"): (c["Id"], c["Image"], c) for c in found}

    def wait_ready(self, limit=60):
        deadline = time.time() + limit
        while time.time() < deadline:
            cs = self.containers()
            states = [c[2]["State"] for c in cs.values()]
            if len(cs) == 10 and all(
                s["Running"] and s.get("Health", {}).get("Status", "healthy") == "healthy" for s in states
            ):
                return cs
            time.sleep(0.5)
        raise RuntimeError("the v1 containers did not all become healthy/running within 60 s")

    # ---------------------------------------------------------------- measure
    def freshen(self, *args):
        state = os.path.join(self.work, "state")
        return self.run(self.args.freshen, "--state-dir", state, *args, check=False)

    def measure(self):
        before = self.wait_ready()
        log(f"{len(before)} containers running v1; pushing v2")
        self.publish_v2()
        pattern = f"{self.host}/{self.prefix}/*"
        up = self.freshen("update", pattern)
        if up.returncode != 0:
            raise RuntimeError(f"freshen update: exit {up.returncode}\n{up.stdout}{up.stderr}")
        # Streamed while the upgrade runs: the engine replays `since` only
        # from a short in-memory buffer (256 events in Docker), which the
        # health checks' exec events of a busy host overrun in seconds.
        since = time.time()
        watch = subprocess.Popen(
            ["docker", "events", "--since", f"{since:.3f}", "--filter", "type=container",
             "--filter", f"label={self.label}", *[a for e in WATCHED for a in ("--filter", f"event={e}")],
             "--format", "{{json .}}"],
            env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
        )
        time.sleep(0.5)
        t0 = time.monotonic()
        run = self.freshen("upgrade", "-y", "--format", "json", pattern)
        wall = time.monotonic() - t0
        time.sleep(1)
        watch.terminate()
        lines = watch.communicate()[0]
        if run.returncode != 0:
            raise RuntimeError(f"freshen upgrade: exit {run.returncode}\n{run.stdout}{run.stderr}")
        report = json.loads(run.stdout)
        after = self.containers()
        events = [json.loads(line) for line in lines.splitlines() if line.strip()]

        def at(cid, action):
            times = [
                e["timeNano"] / 1e9 for e in events if e["Actor"]["ID"] == cid and e.get("Action") == action
            ]
            return min(times) if times else None

        own = {r["name"]: r.get("downtime_seconds") for r in report.get("recreated", [])}
        rows = []
        for name, (old_id, old_image, c) in sorted(before.items()):
            new_id, new_image, nc = after.get(name, (None, None, None))
            checked = "Health" in (nc or c)["State"]
            died = at(old_id, "die")
            up_at = at(new_id, "health_status: healthy" if checked else "start") if new_id else None
            rows.append({
                "container": name[len(self.prefix) + 1:],
                "healthcheck": checked,
                "recreated": new_id is not None and new_id != old_id and new_image != old_image,
                "downtime_s": round(up_at - died, 2) if died and up_at else None,
                "freshen_downtime_s": own.get(name),
            })
        return {
            "engine": self.engine(),
            "compose": self.run("docker", "compose", "version", "--short", check=False).stdout.strip() or None,
            "wait_default_s": self.wait_default(),
            "upgrade_wall_s": round(wall, 2),
            "containers": rows,
        }

    def engine(self):
        v = json.loads(self.docker("version", "--format", "{{json .Server}}"))
        store = self.docker("info", "--format", "{{json .DriverStatus}}")
        containerd = "io.containerd.snapshotter" in store
        return f"{v.get('Platform', {}).get('Name') or 'Docker Engine'} {v['Version']}" + (
            " (containerd image store)" if containerd else ""
        )

    def wait_default(self):
        text = self.run(self.args.freshen, "upgrade", "--help").stdout
        m = re.search(r"--wait <SECONDS>.*?\[default: (\d+)\]", text, re.S)
        return int(m.group(1)) if m else None

    # ---------------------------------------------------------------- clean-up
    def cleanup(self):
        log("cleaning up")
        if self.compose:
            d = os.path.join(self.work, "compose")
            self.run("docker", "compose", "-p", self.project, "--project-directory", d, "down", check=False)
        if self.host:
            ids = self.docker("ps", "-aq", "--filter", f"label={self.label}", check=False).split()
            if ids:
                self.docker("rm", "-f", "-v", *ids, check=False)
            for kind in ("network", "volume"):
                names = self.docker(kind, "ls", "-q", "--filter", f"label={self.label}", check=False).split()
                if names:
                    self.docker(kind, "rm", *names, check=False)
            refs = self.docker("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).split()
            mine = [r for r in refs if r.startswith(f"{self.host}/{self.prefix}/")]
            if mine:
                self.docker("rmi", *mine, check=False)
            # What freshen pulled or retired by ID, and what was built.
            for image in self.built + self.pulled:
                self.docker("rmi", image, check=False)
        if self.registry:
            self.registry.terminate()
            self.registry.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    pulled = []


def print_table(r):
    print(f"Engine: {r['engine']}; Compose: {r['compose'] or 'not installed'}; "
          f"freshen's --wait default: {r['wait_default_s']} s")
    print(f"`freshen upgrade -y` of {len(r['containers'])} running containers: wall {r['upgrade_wall_s']:.2f} s\n")
    print("| container | HEALTHCHECK | recreated | downtime (events) | freshen's downtime |")
    print("|---|---|---|---|---|")
    for c in r["containers"]:
        d = "—" if c["downtime_s"] is None else f"{c['downtime_s']:.2f} s"
        f = "—" if c["freshen_downtime_s"] is None else f"{c['freshen_downtime_s']:.2f} s"
        print(f"| {c['container']} | {'yes' if c['healthcheck'] else 'no'} | "
              f"{'yes' if c['recreated'] else 'NO'} | {d} | {f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--freshen", help="the freshen binary (default: cargo build, target/debug/freshen)")
    ap.add_argument("--docker-host", help="DOCKER_HOST for docker, compose and freshen")
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if not args.freshen:
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
        args.freshen = os.path.join(ROOT, "target", "debug", "freshen")
    b = Bench(args)
    try:
        b.compile_program()
        b.start_registry()
        log("building and pushing v1")
        for repo in IMAGES:
            b.build(repo, "v1", b.ref(repo))
        b.start_containers()
        result = b.measure()
        b.pulled = [c[1] for c in b.containers().values()]
    finally:
        b.cleanup()
    print_table(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
