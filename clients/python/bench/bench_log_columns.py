"""`run.log_columns` next to a loop of `run.log`: the same points, logged both ways.

    python clients/python/bench/bench_log_columns.py [--steps 100000] [--keys 2] [--repeat 5] [--socket PATH]

Each round logs `--steps` steps of `--keys` metrics to a run of its own: once as a loop of
`run.log({"k0": v, "k1": v, ...}, step=i)`, once as one `run.log_columns({"k0": [...], ...},
steps=range(...))` call with the columns built beforehand (as lists, and as NumPy arrays when NumPy
is installed). It prints, for each way, the best of `--repeat` rounds of the logging call(s) alone
and of the calls plus `flush()` (every point committed by the daemon), in seconds and in
nanoseconds per point, and the ratio of the loop to the columns. The runs start with
`capture_env=False, system_metrics=False`, so that only the points are measured. Starts its own
daemon (`$TALLY_BIN`, else `.build/debug/tally`) on a temporary socket and data folder unless
`--socket` names a running one.
"""
import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_log_call import start_daemon  # noqa: E402


def one_round(client: Any, steps: int, keys: List[str], how: str, columns: Dict[str, Any]) -> Tuple[float, float]:
    """(seconds for the logging calls, seconds until flush() returned) for one run."""
    run = client.start_run("bench-log-columns", name=f"{how}-{steps}x{len(keys)}", capture_env=False,
                           system_metrics=False)
    run.log({k: 0.0 for k in keys}, step=0)  # warm up: the sender is running, the keys are known
    run.flush()
    started = time.perf_counter()
    if how == "log":
        # The loop as one would write it: a dict literal per step (built from the keys' names).
        loop = eval("lambda log, values, steps: [log({" + ", ".join(f"{k!r}: v" for k in keys) + "}, step=i + 1) "
                    "for i, v in zip(range(steps), values)]")
        loop(run.log, columns[keys[0]], steps)
    else:
        run.log_columns(columns, steps=range(1, steps + 1))
    called = time.perf_counter()
    run.flush()
    flushed = time.perf_counter()
    run.end()
    assert run.acknowledged_points == (steps + 1) * len(keys), run.acknowledged_points
    return called - started, flushed - started


def best(rounds: int, measure: Callable[[], Tuple[float, float]]) -> Tuple[float, float]:
    results = [measure() for _ in range(rounds)]
    return min(r[0] for r in results), min(r[1] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--socket")
    args = parser.parse_args()
    proc = root = None
    socket = args.socket
    if socket is None:
        proc, socket, root = start_daemon()
    import tally
    try:
        client = tally.connect(socket)
        keys = [f"k{i}" for i in range(args.keys)]
        values = [1.0 / (i + 1) for i in range(args.steps)]
        as_lists = {k: values for k in keys}
        ways: Dict[str, Callable[[], Tuple[float, float]]] = {
            "log_loop": lambda: one_round(client, args.steps, keys, "log", as_lists),
            "log_columns_lists": lambda: one_round(client, args.steps, keys, "columns", as_lists),
        }
        try:
            import numpy as np
            as_arrays = {k: np.asarray(values) for k in keys}
            ways["log_columns_numpy"] = lambda: one_round(client, args.steps, keys, "columns", as_arrays)
        except ImportError:
            pass
        for measure in ways.values():
            measure()  # warm up
        points = args.steps * args.keys
        out: Dict[str, Any] = {"steps": args.steps, "keys": args.keys, "points": points, "repeat": args.repeat}
        for name, measure in ways.items():
            calls_s, flushed_s = best(args.repeat, measure)
            out[name] = {"calls_s": round(calls_s, 4), "calls_ns_per_point": round(calls_s / points * 1e9, 1),
                         "flushed_s": round(flushed_s, 4), "flushed_ns_per_point": round(flushed_s / points * 1e9, 1)}
        loop = out["log_loop"]
        for name in ways:
            if name != "log_loop":
                out[name]["calls_speedup"] = round(loop["calls_s"] / out[name]["calls_s"], 1)
                out[name]["flushed_speedup"] = round(loop["flushed_s"] / out[name]["flushed_s"], 1)
        client.close()
        print(json.dumps(out, indent=1))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
