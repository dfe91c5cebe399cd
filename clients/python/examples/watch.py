"""Follows a run live: metric points as they are committed, params, and its end.

    python clients/python/examples/watch.py [RUN_ID]

Without RUN_ID it waits for the most recently started running run (start examples/train.py in
another terminal).
"""
import sys
import time

import tally


def main() -> None:
    run_id = sys.argv[1] if len(sys.argv) > 1 else None
    while run_id is None:
        running = tally.search_runs('status = "running"', order_by="started_at desc", max_results=1)
        if running:
            run_id = running[0].id
        else:
            time.sleep(0.5)
    with tally.watch_run(run_id) as events:
        for event in events:
            if event.kind == "snapshot":
                print(f"watching run {event.run.id} ({event.run.name or 'unnamed'}), status {event.run.status}")
            elif event.kind == "points":
                latest = {}
                for point in event.points:
                    latest[point.key] = point
                shown = "  ".join(f"{p.key}={p.value:.4f}@{p.step}" for p in latest.values())
                print(f"+{len(event.points):5d} points  {shown}")
            elif event.kind == "params":
                print(f"params {event.params}")
            elif event.kind == "status":
                print(f"run ended: {event.run.status}{' (' + event.run.error + ')' if event.run.error else ''}")


if __name__ == "__main__":
    main()
