"""Measures what `run.log` costs the training loop, and the end-to-end ingest rate.

    python clients/python/bench/bench_log.py [--calls 200000] [--keys 2] [--socket PATH]

Needs a running daemon (`tally serve`, or $TALLY_SOCKET). Prints the median and p99 time of one
`run.log` call (timed one by one with perf_counter_ns), then the points per second from the
first call until `flush()` returned, i.e. until the daemon had committed every point.
"""
import argparse
import statistics
import time

import tally


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--keys", type=int, default=2)
    parser.add_argument("--socket", default=None)
    args = parser.parse_args()

    client = tally.connect(args.socket)
    keys = [f"metric_{i}" for i in range(args.keys)]
    run = client.start_run("bench-log", name=f"{args.calls} calls x {args.keys} keys")
    timings = []
    clock = time.perf_counter_ns
    start = time.perf_counter()
    for step in range(args.calls):
        values = {k: step * 0.001 for k in keys}
        t0 = clock()
        run.log(values, step=step)
        timings.append(clock() - t0)
    logged = time.perf_counter()
    run.flush()
    flushed = time.perf_counter()
    run.end()
    timings.sort()
    points = args.calls * args.keys
    print(f"run.log with {args.keys} keys, {args.calls} calls")
    print(f"  median {statistics.median(timings) / 1000:.2f} us/call, p99 {timings[int(len(timings) * 0.99)] / 1000:.2f} us/call")
    print(f"  logging loop: {args.calls / (logged - start):,.0f} calls/s")
    print(f"  end to end (until flush returned): {points:,} points in {flushed - start:.2f} s = {points / (flushed - start):,.0f} points/s")
    history = client.history(run.id, [keys[0]], max_points=10)
    assert history[keys[0]].total_points == args.calls, "points missing"
    client.close()


if __name__ == "__main__":
    main()
