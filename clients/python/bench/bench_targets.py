"""Python figures of the performance targets (docs/performance.md), printed as one JSON object.

    python clients/python/bench/bench_targets.py unary --socket DAEMON --echo RAW_ECHO --size BYTES
    python clients/python/bench/bench_targets.py loop --socket DAEMON

`unary`: p50/p99 of `client.diagnostics.echo` (a 16-byte payload, one call at a time) against a
raw ping-pong of BYTES bytes over a plain Unix socket with a byte echo server at RAW_ECHO (the
same echo server the Swift baseline uses; `tally-bench` starts it).

`loop`: a training loop of 10,000 steps logging 5 metrics per step with `run.log(..., step=i)`:
the median cost of one `run.log` call; the loop's time from the first call until `flush()`
returned (every point acknowledged after commit); the same loop with the logging removed; and
the time to ingest the same 50,000 points as 5 prebuilt batches of 10,000 through the stub.
"""
import argparse
import json
import math
import socket
import statistics
import time

import tally
from tally.v1 import system_pb2, tracking_pb2


def quantile(sorted_values, q):
    index = min(len(sorted_values) - 1, max(0, math.ceil(len(sorted_values) * q) - 1))
    return sorted_values[index]


def raw_ping_pong(path, size, count, warmup):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    message = b"Z" * size
    clock = time.perf_counter_ns
    samples = []
    for i in range(warmup + count):
        t0 = clock()
        sock.sendall(message)
        received = 0
        while received < size:
            chunk = sock.recv(size - received)
            if not chunk:
                raise RuntimeError("echo closed")
            received += len(chunk)
        if i >= warmup:
            samples.append(clock() - t0)
    sock.close()
    samples.sort()
    return samples


def unary(args):
    raw = raw_ping_pong(args.echo, args.size, args.count, 1000)
    client = tally.connect(args.socket)
    request = system_pb2.EchoRequest(payload=b"\x07" * 16)
    echo = client.diagnostics.echo
    for _ in range(1000):
        echo(request)
    clock = time.perf_counter_ns
    samples = []
    for _ in range(args.count):
        t0 = clock()
        echo(request)
        samples.append(clock() - t0)
    client.close()
    samples.sort()
    return {
        "raw_p50_ns": quantile(raw, 0.5), "raw_p99_ns": quantile(raw, 0.99),
        "stub_p50_ns": quantile(samples, 0.5), "stub_p99_ns": quantile(samples, 0.99),
        "count": args.count, "size": args.size,
    }


STEPS = 10_000
KEYS = ["loss", "acc", "lr", "grad_norm", "val_loss"]


def metrics_of(step):
    """The loop's own work: five numbers from the step."""
    x = step * 0.001
    return {"loss": 2.3 / (1.0 + x), "acc": 1.0 - 1.0 / (1.0 + x), "lr": 0.1 * 0.999 ** (step // 100),
            "grad_norm": 1.0 + (step % 17) * 0.01, "val_loss": 2.4 / (1.0 + x)}


def loop(args):
    client = tally.connect(args.socket)
    clock = time.perf_counter_ns

    # 1. The cost of one call, timed call by call.
    run = client.start_run("bench-python", name="per call")
    timings = []
    for step in range(STEPS):
        values = metrics_of(step)
        t0 = clock()
        run.log(values, step=step)
        timings.append(clock() - t0)
    run.flush()
    run.end()
    timings.sort()

    # 2. The same loop with the logging removed.
    best_bare = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        sink = 0.0
        for step in range(STEPS):
            values = metrics_of(step)
            sink += values["loss"]
        best_bare = min(best_bare, time.perf_counter() - t0)

    # 3. Ingest of the same 50,000 points: 5 prebuilt batches of 10,000 through the stub.
    run = client.start_run("bench-python", name="ingest floor")
    batches = []
    for b in range(5):
        batch = tracking_pb2.MetricBatch(run_id=run.id, keys=KEYS)
        steps = range(b * 2000, (b + 1) * 2000)
        batch.key_index.extend([k for _ in steps for k in range(5)])
        batch.steps.extend([s for s in steps for _ in range(5)])
        batch.values.extend([v for s in steps for v in metrics_of(s).values()])
        batches.append(batch)
    t0 = time.perf_counter()
    for batch in batches:
        client.tracking.log_metrics(batch)
    ingest = time.perf_counter() - t0
    run.end()

    # 4. The whole loop, until every point is acknowledged.
    run = client.start_run("bench-python", name="whole loop")
    t0 = time.perf_counter()
    for step in range(STEPS):
        run.log(metrics_of(step), step=step)
    logged = time.perf_counter()
    run.flush()
    whole = time.perf_counter() - t0
    run.end()
    stored = client.history(run.id, ["loss"], max_points=10)["loss"].total_points
    client.close()
    if stored != STEPS:
        raise RuntimeError(f"{stored} of {STEPS} points stored")
    return {
        "call_median_ns": statistics.median(timings), "call_p99_ns": quantile(timings, 0.99),
        "loop_bare_s": best_bare, "ingest_50k_s": ingest, "loop_whole_s": whole,
        "loop_logging_s": logged - t0, "points": STEPS * len(KEYS),
    }


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    u = sub.add_parser("unary")
    u.add_argument("--socket", required=True)
    u.add_argument("--echo", required=True)
    u.add_argument("--size", type=int, required=True)
    u.add_argument("--count", type=int, default=10_000)
    l = sub.add_parser("loop")
    l.add_argument("--socket", required=True)
    args = parser.parse_args()
    result = unary(args) if args.command == "unary" else loop(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
