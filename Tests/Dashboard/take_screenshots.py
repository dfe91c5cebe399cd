#!/usr/bin/env python3
"""The screenshots of docs/images/dashboard-*.png (run by scripts/screenshots): the real daemon
($TALLY_BIN) with its gateway on a temporary home, the store seeded through the Python client
with the same code as the dashboard tests (dashboard_seed.py), every page in headless Chromium
at 1400x900."""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_seed as seed  # noqa: E402

CHARTS_DRAWN_JS = """
const charts = [...document.querySelectorAll('[data-points]')];
return charts.length > 0 && charts.every(c => Number(c.dataset.points) > 0);
"""


def log(message):
    print(message, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(seed.REPO / "docs" / "images"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    daemon = seed.Daemon()
    stub = seed.start_stub_model_server()
    driver = None
    try:
        client = daemon.client()
        log(f"seeding the daemon at {daemon.base} (home {daemon.home})")
        seeded = seed.seed_all(client, stub, runs_per_experiment=(20, 18, 12), steps=300)
        rich_sweep = seed.seed_rich_sweep(client)
        # A job that is still running while the jobs page is taken: 400 items of 300 ms each.
        seeded.running_job_id = seed.start_slow_job(client, stub, dataset="news-large", items=400, delay_ms=300,
                                                    models=("a", "b"))
        # A run still being logged to.
        live = client.start_run("mnist-cnn", name="mnist-cnn-live", params={"lr": 0.003, "optimizer": "adam", "layers": 4})
        for step in range(120):
            live.log(seed.curve(step, 300, 0.003, 4, seed.random.Random(step)), step=step)
        live.flush()

        mnist = seeded.runs_of("mnist-cnn")
        completed = [r for r in mnist if r.status == "completed"]
        best = min(completed, key=lambda r: r.final["val_loss"])
        charts = sorted(completed, key=lambda r: r.final["val_loss"])[:5]
        compared = charts[:3]
        pages = [
            ("dashboard-experiments.png", "/experiments"),
            ("dashboard-runs.png", f"/runs?experiments={seeded.experiments['mnist-cnn']}"),
            ("dashboard-run.png", f"/run/{best.id}"),
            ("dashboard-charts.png", f"/charts?runs={','.join(r.id for r in charts)}"),
            ("dashboard-compare.png", f"/compare?runs={','.join(r.id for r in compared)}"),
            ("dashboard-sweep.png", f"/sweeps/{rich_sweep}"),
            ("dashboard-evaluation.png", f"/evaluations/{seeded.eval_job_id}"),
            ("dashboard-jobs.png", "/jobs"),
        ]
        driver = seed.make_driver(args.width, args.height)
        browser = seed.Browser(driver, daemon)
        time.sleep(2)  # the running job makes some progress
        failures = []
        for name, route in pages:
            try:
                browser.open(route, timeout=60)
                try:
                    browser.wait_until(lambda: driver.execute_script(
                        "return document.querySelectorAll('[data-points]').length === 0") or driver.execute_script(CHARTS_DRAWN_JS),
                        timeout=20, describe=lambda: "charts drawn")
                except AssertionError as error:
                    log(f"  {name}: {str(error).splitlines()[0]}")
                time.sleep(0.5)  # transitions, the last frame
                path = out / name
                browser.screenshot(str(path))
                severe = browser.severe()
                log(f"  {path} ({path.stat().st_size:,} bytes){'  CONSOLE ERRORS: ' + str(severe) if severe else ''}")
            except Exception as error:  # noqa: BLE001 - take the other pages, report at the end
                failures.append(f"{name} ({route}): {error}")
                log(f"  {name}: FAILED {error}")
        live.end()
        if failures:
            log("some pages could not be taken:\n  " + "\n  ".join(failures))
            sys.exit(1)
    finally:
        if driver is not None:
            driver.quit()
        stub.stop()
        daemon.cleanup()


if __name__ == "__main__":
    main()
