"""A team on one machine (docs/reliability.md, "Several hosts"): network namespaces joined by a
bridge stand in for hosts. One holds PostgreSQL, two hold a daemon each (TCP with TLS, one shared
artifact folder), three are training hosts logging through the Python client with member tokens,
one is a watcher with a viewer token that follows every run through the daemon that does not
write it. Mid-run, one training host's link goes down for 10 s, one daemon is killed with SIGKILL
and restarted, and PostgreSQL restarts. Afterwards every point is stored exactly once, the watcher
saw every point of every run, a viewer cannot log and a member cannot register a command
provider.

Run as root: scripts/multihost-test (scripts/test runs it when root). Prints its figures.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python" / "tests"))
from certs import make_certs  # noqa: E402

PREFIX = "tmh"
SUBNET = "10.77.0"
HOSTS = {"pg": 10, "d1": 11, "d2": 12, "t1": 21, "t2": 22, "t3": 23, "w": 31}
TRAINERS = ["t1", "t2", "t3"]
RUNS_PER_HOST = 10
STEPS = 20_000  # points per run: 200,000 per host


def sh(*args, check=True, **kw):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kw)


def ns(host):
    return f"{PREFIX}-{host}"


def in_ns(host, *args):
    return ["ip", "netns", "exec", ns(host), *args]


def address(host):
    return f"{SUBNET}.{HOSTS[host]}"


def build_network():
    """A bridge in its own namespace, and one namespace per host with eth0 on it."""
    teardown_network()
    sh("ip", "netns", "add", ns("switch"))
    sh(*in_ns("switch", "ip", "link", "add", "br0", "type", "bridge"))
    sh(*in_ns("switch", "ip", "link", "set", "br0", "up"))
    for host in HOSTS:
        sh("ip", "netns", "add", ns(host))
        outside, inside = f"{PREFIX}{host}s", f"{PREFIX}{host}h"
        sh("ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
        sh("ip", "link", "set", inside, "netns", ns(host))
        sh("ip", "link", "set", outside, "netns", ns("switch"))
        sh(*in_ns("switch", "ip", "link", "set", outside, "master", "br0"))
        sh(*in_ns("switch", "ip", "link", "set", outside, "up"))
        sh(*in_ns(host, "ip", "link", "set", inside, "name", "eth0"))
        sh(*in_ns(host, "ip", "addr", "add", f"{address(host)}/24", "dev", "eth0"))
        sh(*in_ns(host, "ip", "link", "set", "eth0", "up"))
        sh(*in_ns(host, "ip", "link", "set", "lo", "up"))


def teardown_network():
    for host in [*HOSTS, "switch"]:
        sh("ip", "netns", "del", ns(host), check=False)


class Daemon:
    def __init__(self, name, root, store, password, certs, artifacts, binary):
        self.name, self.root = name, root
        self.socket = str(root / name / "run" / "tally.sock")
        self.url = f"tally+tls://{address(name)}:7312"
        self.args = [binary, "serve", "--log-level", "warning", "--http", "off",
                     "--socket", self.socket, "--home", str(root / name / "home"), "--store", store,
                     "--listen", f"tcp://{address(name)}:7312", "--tls-cert", certs.cert, "--tls-key", certs.key,
                     "--artifacts", str(artifacts)]
        self.env = dict(os.environ, TALLY_PG_PASSWORD=password)
        self.proc = None

    def start(self):
        started = time.monotonic()
        self.proc = subprocess.Popen(in_ns(self.name, *self.args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=self.env)
        for line in self.proc.stdout:
            if line.strip().startswith("artifacts:"):
                return time.monotonic() - started
        raise RuntimeError(f"daemon {self.name} did not start: {self.proc.wait()} {self.proc.stderr.read()}")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def tally(binary, daemon, *args):
    result = sh(binary, *args, "--socket", daemon.socket, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"tally {' '.join(args)}: {result.stderr}")
    return result.stdout


TRAINER = r"""
import json, os, sys, time
import tally
host, urls, runs, steps = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4])
clients = [tally.connect(url=url) for url in urls]
report = []
for index in range(runs):
    daemon = index % len(urls)
    run = clients[daemon].start_run("multihost", name=f"{host}-run{index}", tags={"daemon": str(daemon)},
                                    system_metrics=False, capture_env=False)
    for step in range(steps):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
        if step % 50 == 49:
            time.sleep(0.004)
    run.end(timeout=300)
    report.append({"run": run.id, "daemon": daemon})
print(json.dumps(report))
"""

WATCHER = r"""
import json, sys, threading, time
import tally
from tally.errors import RPCError
urls, expected_runs, steps, deadline = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3]), time.monotonic() + float(sys.argv[4])
clients = [tally.connect(url=url) for url in urls]
seen, ended, reconnects, threads = {}, set(), [0], {}
lock = threading.Lock()

def follow(run_id, through):
    # With the history: the run was found by a search, after some of its points were committed.
    client = clients[through]
    while time.monotonic() < deadline:
        try:
            with client.watch_run(run_id, include_history=True) as events:
                for event in events:
                    if event.kind == "points":
                        with lock:
                            seen[run_id].update(p.step for p in event.points)
                    elif event.kind == "status" and event.run.status != "running":
                        with lock:
                            ended.add(run_id)
            with lock:
                if run_id in ended and len(seen[run_id]) >= steps:
                    return
        except RPCError:
            with lock:
                reconnects[0] += 1
            time.sleep(0.5)

while time.monotonic() < deadline:
    try:
        runs = clients[0].search_runs(experiments="multihost")
    except RPCError:
        time.sleep(0.5)
        continue
    for run in runs:
        if run.id not in threads:
            writer = int(run.tags.get("daemon", "0"))
            with lock:
                seen[run.id] = set()
            threads[run.id] = threading.Thread(target=follow, args=(run.id, 1 - writer), daemon=True)
            threads[run.id].start()
    with lock:
        done = len(threads) == expected_runs and all(run_id in ended and len(seen[run_id]) >= steps for run_id in threads)
    if done:
        break
    time.sleep(0.2)
with lock:
    print(json.dumps({"runs": {run_id: sorted(steps_seen) == list(range(steps)) for run_id, steps_seen in seen.items()},
                      "points": sum(len(s) for s in seen.values()), "reconnects": reconnects[0]}))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tally", default=os.environ.get("TALLY_BIN", str(REPO / ".build" / "debug" / "tally")))
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"))
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--runs", type=int, default=RUNS_PER_HOST)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("multihost: needs root (ip netns)")
    root = Path(tempfile.mkdtemp(prefix="tally-mh-", dir="/tmp"))
    os.chmod(root, 0o755)
    daemons, processes = [], []
    figures = {}
    try:
        build_network()
        pg_dir = root / "pg"
        env = dict(os.environ, TALLY_PG_LISTEN=address("pg"), TALLY_PG_PORT="5432")
        out = sh(*in_ns("pg", str(REPO / "scripts" / "pg-cluster"), "start", str(pg_dir)), env=env).stdout
        password = [line.split("=", 1)[1] for line in out.splitlines() if line.startswith("TALLY_PG_PASSWORD=")][0]
        store = f"postgres://tally@{address('pg')}:5432/tally?sslmode=disable"
        certs = make_certs(str(root), hosts=[address("d1"), address("d2")])
        artifacts = root / "artifacts"
        daemons = [Daemon(name, root, store, password, certs, artifacts, args.tally) for name in ("d1", "d2")]
        for daemon in daemons:
            daemon.start()
        d1, d2 = daemons
        members = {host: json.loads(tally(args.tally, d1, "tokens", "create", f"trainer-{host}", "--role", "member", "--json"))["secret"]
                   for host in TRAINERS}
        viewer = json.loads(tally(args.tally, d1, "tokens", "create", "watcher", "--role", "viewer", "--json"))["secret"]
        urls = ",".join(d.url for d in daemons)

        def client_env(host, token):
            return dict(os.environ, TALLY_TOKEN=token, TALLY_CA=certs.ca, TALLY_JOURNAL=str(root / host / "journal"),
                        HOME=str(root / host))

        # Who may do what, over the network.
        refusals = sh(*in_ns("w", args.python, "-c",
                             "import tally\nfrom tally.errors import RPCError\n"
                             f"c = tally.connect(url='{d1.url}')\n"
                             "try:\n    c.tracking.start_run(__import__('tally.v1.tracking_pb2', fromlist=['x']).StartRunRequest())\n"
                             "    print('allowed')\nexcept RPCError as e:\n    print(e.code_name)\n"),
                      env=client_env("w", viewer), check=False)
        member_provider = sh(*in_ns("t1", args.tally, "providers", "create", "sh", "--kind", "command", "--url", d1.url,
                                    "--", "/bin/sh", "-c", "id"), env=client_env("t1", members["t1"]), check=False)
        figures["viewer_log"] = refusals.stdout.strip() or refusals.stderr.strip()[-200:]
        figures["member_command_provider"] = "PERMISSION_DENIED" if "PERMISSION_DENIED" in member_provider.stderr else member_provider.stderr[-200:]

        started = time.monotonic()
        expected_runs = len(TRAINERS) * args.runs
        watcher = subprocess.Popen(in_ns("w", args.python, "-c", WATCHER, urls, str(expected_runs), str(args.steps), "600"),
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=client_env("w", viewer))
        trainers = {host: subprocess.Popen(in_ns(host, args.python, "-c", TRAINER, host, urls, str(args.runs), str(args.steps)),
                                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                           env=client_env(host, members[host]))
                    for host in TRAINERS}
        processes = [watcher, *trainers.values()]

        # The outages, while the trainers log.
        time.sleep(5)
        sh(*in_ns("t1", "ip", "link", "set", "eth0", "down"))
        time.sleep(10)
        sh(*in_ns("t1", "ip", "link", "set", "eth0", "up"))
        figures["link_down_s"] = 10
        d2.kill()
        figures["daemon_restart_s"] = round(d2.start(), 2)
        time.sleep(3)
        restart = time.monotonic()
        sh(*in_ns("pg", str(REPO / "scripts" / "pg-cluster"), "restart", str(pg_dir)))
        figures["postgres_restart_s"] = round(time.monotonic() - restart, 2)

        reports = {}
        for host, proc in trainers.items():
            out, err = proc.communicate(timeout=900)
            if proc.returncode != 0:
                raise RuntimeError(f"trainer {host} failed: {err[-2000:]}")
            reports[host] = json.loads(out.strip().splitlines()[-1])
        figures["trainers_done_s"] = round(time.monotonic() - started, 1)
        out, err = watcher.communicate(timeout=900)
        if watcher.returncode != 0:
            raise RuntimeError(f"watcher failed: {err[-2000:]}")
        watched = json.loads(out.strip().splitlines()[-1])
        figures["watcher_done_s"] = round(time.monotonic() - started, 1)

        # Every point stored exactly once: each run's series holds exactly its steps.
        stored, wrong = 0, []
        for host, runs in reports.items():
            for entry in runs:
                info = json.loads(tally(args.tally, d1, "runs", "show", entry["run"], "--json"))
                loss = [m for m in info.get("metrics", []) if m["key"] == "loss"]
                count = int(loss[0]["count"]) if loss else 0
                stored += count
                if count != args.steps or info.get("status") != "RUN_STATUS_COMPLETED" or int(loss[0]["lastStep"]) != args.steps - 1:
                    wrong.append((entry["run"], count, info.get("status")))
        expected = expected_runs * args.steps
        figures.update(points=expected, stored=stored, lost=expected - stored if stored <= expected else 0,
                       duplicated=stored - expected if stored > expected else 0,
                       watcher_points=watched["points"], watcher_runs_complete=sum(watched["runs"].values()),
                       watcher_reconnects=watched["reconnects"])
        print(json.dumps(figures, indent=2))
        failures = []
        if wrong:
            failures.append(f"runs not stored exactly: {wrong[:5]}")
        if watched["points"] != expected or sum(watched["runs"].values()) != expected_runs:
            failures.append(f"the watcher saw {watched['points']} of {expected} points")
        if figures["viewer_log"] != "PERMISSION_DENIED":
            failures.append(f"a viewer's StartRun was not refused: {figures['viewer_log']}")
        if figures["member_command_provider"] != "PERMISSION_DENIED":
            failures.append(f"a member's command provider was not refused: {figures['member_command_provider']}")
        if failures:
            print("multihost: FAILED\n  " + "\n  ".join(failures), file=sys.stderr)
            return 1
        print("multihost: passed")
        return 0
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
        for daemon in daemons:
            daemon.stop()
        sh(*in_ns("pg", str(REPO / "scripts" / "pg-cluster"), "stop", str(root / "pg")), check=False)
        teardown_network()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
