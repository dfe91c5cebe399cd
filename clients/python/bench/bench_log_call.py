"""What one `run.log` call costs the training loop, next to an empty call, with the sender busy.

    python clients/python/bench/bench_log_call.py [--calls 200000] [--chunk 100] [--strace-calls 20000]

Starts its own daemon (`$TALLY_BIN`, else `.build/debug/tally`) on a temporary socket and data
folder, unless `--socket` names a running one. In one loop it times, in chunks of `--chunk`
calls (time.perf_counter_ns around each chunk), `run.log` of 5 scalars and an empty Python
function taking the same arguments, and prints the median and p90 ns per call of each and their
ratio. 200,000 calls of 5 scalars keep the sender thread encoding and sending batches meanwhile.

Then, when `strace` is installed, it runs a smaller loop in a child process under
`strace -f -e trace=futex,clock_gettime,gettimeofday` and prints those syscalls per call, all
threads counted (the sender's included), between markers around the log loop and around an
empty loop. Reading the clock is no syscall where the kernel offers a vDSO (it is under gVisor
and similar sandboxes), so the child also counts the clock reads of `time.time`/`time.monotonic`
made from Python (the threading module's own waits are not counted).

To compare with another version of the client, put its `src` first: PYTHONPATH=/tmp/old/src.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Optional, Tuple

from _daemon import serve

REPO = Path(__file__).resolve().parents[3]
STRACE_SET = "futex,clock_gettime,gettimeofday"


def start_daemon() -> Tuple[subprocess.Popen, str, str]:
    root = tempfile.mkdtemp(prefix="tally-bench-", dir="/tmp")  # short: socket paths are limited
    binary = os.environ.get("TALLY_BIN") or str(REPO / ".build" / "debug" / "tally")
    proc, socket, _ = serve(binary, root)
    return proc, socket, root


def empty(metrics: object, step: Optional[int] = None) -> None:
    pass


def timing(socket: str, calls: int, chunk: int) -> None:
    import tally
    client = tally.connect(socket)
    run = client.start_run("bench-log-call", name=f"{calls} calls x 5 keys")
    for i in range(1000):  # warm up: sender started, keys known
        run.log({"loss": 0.5, "acc": 0.5, "lr": 0.1, "grad_norm": 1.0, "tokens": 2.0}, step=i)
    run.flush()
    clock = time.perf_counter_ns
    log_ns: List[float] = []
    empty_ns: List[float] = []
    step = 1000
    start = time.perf_counter()
    for _ in range(calls // chunk):
        x = step * 0.001
        t0 = clock()
        for i in range(step, step + chunk):
            run.log({"loss": x, "acc": x, "lr": x, "grad_norm": x, "tokens": x}, step=i)
        t1 = clock()
        for i in range(step, step + chunk):
            empty({"loss": x, "acc": x, "lr": x, "grad_norm": x, "tokens": x}, step=i)
        t2 = clock()
        log_ns.append((t1 - t0) / chunk)
        empty_ns.append((t2 - t1) / chunk)
        step += chunk
    loop_s = time.perf_counter() - start
    run.flush()
    flushed_s = time.perf_counter() - start
    run.end()
    stored = client.get_run(run.id).metrics["loss"].count
    client.close()
    assert stored == step, f"{stored} points stored, {step} logged"

    def p90(xs: List[float]) -> float:
        return sorted(xs)[int(len(xs) * 0.9)]

    log_med, empty_med = statistics.median(log_ns), statistics.median(empty_ns)
    print(f"client: {tally.__file__}")
    print(f"{calls:,} calls of 5 scalars, timed in chunks of {chunk} (loop {loop_s:.2f} s, "
          f"flushed after {flushed_s:.2f} s, every point stored)")
    print(f"  run.log     median {log_med:8.0f} ns/call   p90 {p90(log_ns):8.0f} ns/call")
    print(f"  empty call  median {empty_med:8.0f} ns/call   p90 {p90(empty_ns):8.0f} ns/call")
    print(f"  ratio (median) {log_med / empty_med:.2f}, log minus empty {log_med - empty_med:.0f} ns")


def child(socket: str, calls: int) -> None:
    """Runs under strace: markers (getppid) around a log loop and around an empty loop."""
    import tally
    client = tally.connect(socket)
    run = client.start_run("bench-log-call-strace")
    for i in range(1000):
        run.log({"loss": 0.5, "acc": 0.5, "lr": 0.1, "grad_norm": 1.0, "tokens": 2.0}, step=i)
    run.flush()
    reads = [0]
    real_time, real_monotonic = time.time, time.monotonic

    def counted_time() -> float:
        reads[0] += 1
        return real_time()

    def counted_monotonic() -> float:
        reads[0] += 1
        return real_monotonic()

    time.time, time.monotonic = counted_time, counted_monotonic  # type: ignore[assignment]
    os.getppid()
    for i in range(1000, 1000 + calls):
        x = i * 0.001
        run.log({"loss": x, "acc": x, "lr": x, "grad_norm": x, "tokens": x}, step=i)
    os.getppid()
    log_reads = reads[0]
    for i in range(1000, 1000 + calls):
        x = i * 0.001
        empty({"loss": x, "acc": x, "lr": x, "grad_norm": x, "tokens": x}, step=i)
    os.getppid()
    empty_reads = reads[0] - log_reads
    time.time, time.monotonic = real_time, real_monotonic  # type: ignore[assignment]
    run.end()
    client.close()
    print(f"CLOCK_READS {log_reads} {empty_reads}")


def count_syscalls(trace: str) -> Tuple[List[int], List[int]]:
    """futex and clock syscalls between the getppid markers: [log loop, empty loop] each."""
    futex, clock = [0, 0], [0, 0]
    section = -1
    with open(trace) as f:
        for line in f:
            if "resumed>" in line:  # the end of a call counted where it began
                continue
            if "getppid(" in line:
                section += 1
                continue
            if section not in (0, 1):
                continue
            if "futex(" in line:
                futex[section] += 1
            elif "clock_gettime" in line or "gettimeofday(" in line:
                clock[section] += 1
    return futex, clock


def syscalls(socket: str, calls: int) -> None:
    strace = shutil.which("strace")
    if strace is None:
        print("strace is not installed: no syscall counts")
        return
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "trace")
        out = subprocess.run([strace, "-f", "-qq", "-o", trace, "-e", f"trace={STRACE_SET},getppid",
                              sys.executable, __file__, "--child", "--socket", socket, "--calls", str(calls)],
                             capture_output=True, text=True, timeout=600)
        if out.returncode != 0:
            print(f"strace run failed ({out.returncode}): {out.stderr.strip()[-500:]}")
            return
        reads = [int(n) for n in out.stdout.split("CLOCK_READS")[1].split()]
        futex, clock = count_syscalls(trace)
    print(f"syscalls under strace -f ({STRACE_SET}), {calls:,} calls, all threads:")
    for name, i in (("run.log", 0), ("empty call", 1)):
        print(f"  {name:10}  futex {futex[i]:6} ({futex[i] / calls:.4f}/call)   clock {clock[i]:6} "
              f"({clock[i] / calls:.4f}/call)   Python clock reads {reads[i]:6} ({reads[i] / calls:.4f}/call)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--strace-calls", type=int, default=20_000)
    parser.add_argument("--socket", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.socket, args.calls)
        return
    proc = None
    root = None
    socket = args.socket
    if socket is None:
        proc, socket, root = start_daemon()
    try:
        timing(socket, args.calls, args.chunk)
        if args.strace_calls:
            syscalls(socket, args.strace_calls)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(15)
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
