"""Many small runs: what a run's life costs from Python, next to writing the same records as JSON
lines in the same process.

    python clients/python/bench/bench_small_runs.py [--runs 200] [--repeat 5] [--socket PATH]

Each run starts with 10 params (and 2 tags), logs 10 points (one key, steps 0..9) and ends
`completed`, without the environment capture and system metrics a run has by default (so the run
is the one measured, `capture_env=False, system_metrics=False`); the same loop with the defaults
is measured too (`tally_defaults_s`: about 20 `env.` params more per start, docs/python-data.md); `end()` returns once the daemon has committed everything (with `synchronous =
FULL`: every acknowledged commit is on disk). The baseline writes each run as JSON lines (a start
line with the params and tags, one line per point, an end line) to a file and flushes it per run,
without fsync. Starts its own daemon (`$TALLY_BIN`, else `.build/debug/tally`) on a temporary
socket and data folder unless `--socket` names a running one. Prints one JSON object: the best of
`--repeat` rounds for each, seconds per round and milliseconds per run, and their ratio.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_log_call import start_daemon  # noqa: E402

PARAMS = {f"p{i}": (i * 0.1 if i % 2 else i) for i in range(10)}
TAGS = {"bench": "", "size": "small"}


def tally_round(client, runs: int, bare: bool = True) -> float:
    options = {"capture_env": False, "system_metrics": False} if bare else {}
    started = time.perf_counter()
    for r in range(runs):
        run = client.start_run("bench-small-runs", name=f"run-{r}", params=PARAMS, tags=TAGS, **options)
        for step in range(10):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.end()
    return time.perf_counter() - started


def jsonl_round(path: str, runs: int) -> float:
    started = time.perf_counter()
    with open(path, "w") as f:
        for r in range(runs):
            f.write(json.dumps({"event": "start", "run": r, "params": PARAMS, "tags": TAGS}) + "\n")
            for step in range(10):
                f.write(json.dumps({"run": r, "key": "loss", "step": step, "value": 1.0 / (step + 1),
                                    "ts": time.time()}) + "\n")
            f.write(json.dumps({"event": "end", "run": r, "status": "completed"}) + "\n")
            f.flush()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200)
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
        tally_round(client, 10)  # warm up: connection, experiment
        tally_s = min(tally_round(client, args.runs) for _ in range(args.repeat))
        defaults_s = min(tally_round(client, args.runs, bare=False) for _ in range(args.repeat))
        scratch = tempfile.mkdtemp(prefix="tally-jsonl-")
        jsonl_s = min(jsonl_round(os.path.join(scratch, "runs.jsonl"), args.runs) for _ in range(args.repeat))
        shutil.rmtree(scratch, ignore_errors=True)
        client.close()
        print(json.dumps({
            "runs": args.runs,
            "tally_s": round(tally_s, 4), "tally_ms_per_run": round(tally_s / args.runs * 1000, 3),
            "tally_defaults_s": round(defaults_s, 4),
            "jsonl_s": round(jsonl_s, 4), "jsonl_ms_per_run": round(jsonl_s / args.runs * 1000, 3),
            "ratio": round(tally_s / jsonl_s, 1), "target_s": 0.2, "pass": tally_s < 0.2,
        }))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
