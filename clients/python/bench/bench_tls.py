"""Ingest from one Python client over TCP+TLS on loopback, next to the same client over the Unix
socket, against the same daemon in the same run (issue 19: TLS at least 0.7x the socket).

    python clients/python/bench/bench_tls.py [--steps 200000] [--batches 100] [--rounds 5] [--markdown FILE]

Starts its own daemon (`$TALLY_BIN`, else `.build/debug/tally`) on a temporary socket and home,
also listening on `tcp://127.0.0.1:PORT` with TLS 1.3 on a certificate of a private CA made for
the run (tests/certs.py), and makes a member token over the socket (`tally tokens create`).
Two figures, each measured `--rounds` times per transport, alternating socket and TLS, best
round kept, every point checked stored:

* `run.log` loop: `--steps` steps of 5 metrics (`run.log({...}, step=i)`), from the first call
  until `flush()` returned (every point acknowledged after commit);
* batches: `--batches` prebuilt `MetricBatch`es of 10,000 points through the stub
  (`client.tracking.log_metrics`, one at a time), the client's own ingest ceiling, where the
  transport is the largest share of the work.

Each round uses a new client and a new run; the connection is made (for TLS, handshaken) before
the clock starts. Prints a table (figure, value, baseline, ratio, target) and one JSON object,
which also holds every round's time and the client's own CPU seconds per million points (all its
threads: what TLS costs the client, whatever the daemon's speed).
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE.parent / "tests"))  # certs.py
sys.path.insert(0, str(HERE.parent / "src"))

import tally  # noqa: E402
from tally.v1 import tracking_pb2  # noqa: E402

from _daemon import serve  # noqa: E402
from certs import make_certs  # noqa: E402

TARGET = 0.7
KEYS = ["loss", "acc", "lr", "grad_norm", "val_loss"]
BATCH = 10_000
_cpu: List[float] = []  # this process's CPU seconds of each round, every thread counted


def metrics_of(step: int) -> Dict[str, float]:
    x = step * 0.001
    return {"loss": 2.3 / (1.0 + x), "acc": 1.0 - 1.0 / (1.0 + x), "lr": 0.1 * 0.999 ** (step // 100),
            "grad_norm": 1.0 + (step % 17) * 0.01, "val_loss": 2.4 / (1.0 + x)}


def start_daemon(binary: str, root: str, certs_dir: str) -> Tuple[subprocess.Popen, str, str, str, str]:
    """The daemon (socket and TLS listener), its socket, its TLS URL, a member token, the CA file."""
    certs = make_certs(certs_dir)
    # Port 0: the daemon binds a free port and its banner names it.
    proc, sock, banner = serve(binary, root, ["--listen", "tcp://127.0.0.1:0", "--tls-cert", certs.cert,
                                              "--tls-key", certs.key], timeout=60)
    match = re.search(r"listen:\s+tls://127\.0\.0\.1:(\d+)", banner)
    if match is None:
        raise SystemExit(f"the daemon names no TLS listener:\n{banner}")
    port = int(match.group(1))
    env = {k: v for k, v in os.environ.items() if k not in ("TALLY_URL", "TALLY_TOKEN")}
    made = subprocess.run([binary, "tokens", "create", "bench-tls", "--role", "member", "--json", "--socket", sock],
                          capture_output=True, text=True, check=True, env=env, timeout=60)
    token = json.loads(made.stdout)["secret"]
    return proc, sock, f"tally+tls://127.0.0.1:{port}", token, certs.ca


def loop_round(client: tally.Client, steps: int) -> float:
    run = client.start_run("bench-tls", name=f"loop {steps} x 5", capture_env=False, system_metrics=False)
    values = [metrics_of(step) for step in range(steps)]  # the loop's own work, done beforehand
    cpu = time.process_time()
    started = time.perf_counter()
    for step in range(steps):
        run.log(values[step], step=step)
    run.flush()
    seconds = time.perf_counter() - started
    _cpu.append(time.process_time() - cpu)
    run.end()
    stored = client.history(run.id, ["loss"], max_points=10)["loss"].total_points
    if stored != steps:
        raise SystemExit(f"{stored} of {steps} points of a loop stored")
    return seconds


def batches_round(client: tally.Client, batches: List[tracking_pb2.MetricBatch]) -> float:
    run = client.start_run("bench-tls", name=f"batches {len(batches)} x {BATCH}", capture_env=False,
                           system_metrics=False)
    run.flush()  # the run exists before the batches come
    for batch in batches:
        batch.run_id = run.id
    log = client.tracking.log_metrics
    cpu = time.process_time()
    started = time.perf_counter()
    for batch in batches:
        log(batch)
    seconds = time.perf_counter() - started
    _cpu.append(time.process_time() - cpu)
    run.end()
    expected = len(batches) * BATCH // len(KEYS)
    stored = client.history(run.id, ["loss"], max_points=10)["loss"].total_points
    if stored != expected:
        raise SystemExit(f"{stored} of {expected} points of a key stored")
    return seconds


def prebuilt_batches(count: int) -> List[tracking_pb2.MetricBatch]:
    out = []
    per = BATCH // len(KEYS)
    for b in range(count):
        batch = tracking_pb2.MetricBatch(keys=KEYS)
        steps = range(b * per, (b + 1) * per)
        batch.key_index.extend([k for _ in steps for k in range(len(KEYS))])
        batch.steps.extend([s for s in steps for _ in KEYS])
        batch.values.extend([v for s in steps for v in metrics_of(s).values()])
        out.append(batch)
    return out


def measure(rounds: int, clients: Dict[str, Callable[[], tally.Client]],
            work: Callable[[tally.Client], float]) -> Tuple[Dict[str, List[float]], Dict[str, List[float]]]:
    """Seconds of each round per transport, and the client's CPU seconds in them."""
    seconds: Dict[str, List[float]] = {name: [] for name in clients}
    cpu: Dict[str, List[float]] = {name: [] for name in clients}
    for _ in range(rounds):
        for name, make in clients.items():  # alternating: socket, TLS, socket, TLS, ...
            client = make()
            try:
                client.whoami()  # connected (and for TLS, handshaken) before the clock starts
                seconds[name].append(work(client))
                cpu[name].append(_cpu[-1])
            finally:
                client.close()
    return seconds, cpu


def row(figure: str, value: float, baseline: float, unit: str = "points/s") -> Tuple[str, bool]:
    """A row of the table, as tally-bench prints it, and whether the target is met."""
    ratio = value / baseline
    met = ratio >= TARGET
    line = (f"| {figure} | {value:,.0f} {unit} | {baseline:,.0f} {unit} same client over the Unix socket, same daemon | "
            f"{ratio:.2f}x | >= {TARGET}x | {'PASS' if met else 'FAIL'} |")
    print(line)
    return line, met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=200_000, help="steps of 5 metrics per loop round")
    parser.add_argument("--batches", type=int, default=100, help="batches of 10,000 points per batch round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--markdown", help="append the table's rows to this file")
    args = parser.parse_args()
    binary = os.environ.get("TALLY_BIN") or str(REPO / ".build" / "debug" / "tally")
    root = tempfile.mkdtemp(prefix="tally-bench-tls-", dir="/tmp")
    proc, sock, url, token, ca = start_daemon(binary, root, root)
    try:
        clients: Dict[str, Callable[[], tally.Client]] = {
            "unix": lambda: tally.connect(sock, autostart=False),
            "tls": lambda: tally.connect(url=url, token=token, ca=ca),
        }
        with clients["tls"]() as probe:
            me = probe.whoami()
            assert (me.transport, me.role) == ("tls", "member"), me
            version = me.tls_version
        prebuilt = prebuilt_batches(args.batches)
        # Warm up both paths (experiment made, code paths and caches hot).
        measure(1, clients, lambda c: loop_round(c, min(args.steps, 20_000)))
        loop, loop_cpu = measure(args.rounds, clients, lambda c: loop_round(c, args.steps))
        batches, batch_cpu = measure(args.rounds, clients, lambda c: batches_round(c, prebuilt))
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            print("bench_tls: the daemon did not stop within 30 s of SIGTERM; killed", file=sys.stderr)
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)

    loop_points = args.steps * len(KEYS)
    batch_points = args.batches * BATCH
    rate = {
        "loop": {name: loop_points / min(s) for name, s in loop.items()},
        "batches": {name: batch_points / min(s) for name, s in batches.items()},
    }
    print(f"Python client over TCP+TLS ({version}, loopback) and over the Unix socket, one daemon "
          f"({binary}), best of {args.rounds} rounds each, alternating", file=sys.stderr)
    print("| figure | value | baseline | ratio | target | met |")
    print("| --- | --- | --- | --- | --- | --- |")
    results = [
        row(f"Python ingest over TCP+TLS, run.log loop of {args.steps:,} steps x 5 metrics, first call to all "
            "acknowledged", rate["loop"]["tls"], rate["loop"]["unix"]),
        row(f"Python ingest over TCP+TLS, {args.batches} prebuilt batches of {BATCH:,} points through the stub",
            rate["batches"]["tls"], rate["batches"]["unix"]),
    ]
    if args.markdown:
        header = "" if os.path.exists(args.markdown) else (
            "| figure | value | baseline | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n")
        with open(args.markdown, "a") as out:
            out.write(header + "".join(line + "\n" for line, _ in results))
    print(json.dumps({
        "tls_version": version, "rounds": args.rounds,
        "loop_points": loop_points, "batch_points": batch_points,
        "loop_points_per_s": {k: round(v) for k, v in rate["loop"].items()},
        "batch_points_per_s": {k: round(v) for k, v in rate["batches"].items()},
        "loop_seconds": {k: [round(x, 4) for x in v] for k, v in loop.items()},
        "batch_seconds": {k: [round(x, 4) for x in v] for k, v in batches.items()},
        # The client's own CPU per million points (median round): what TLS costs this process.
        "loop_client_cpu_s_per_million": {k: round(statistics.median(v) / loop_points * 1e6, 4)
                                          for k, v in loop_cpu.items()},
        "batch_client_cpu_s_per_million": {k: round(statistics.median(v) / batch_points * 1e6, 4)
                                           for k, v in batch_cpu.items()},
        "loop_ratio": round(rate["loop"]["tls"] / rate["loop"]["unix"], 3),
        "batch_ratio": round(rate["batches"]["tls"] / rate["batches"]["unix"], 3),
        "target": TARGET, "pass": all(met for _, met in results),
    }))


if __name__ == "__main__":
    main()
