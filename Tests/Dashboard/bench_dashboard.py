#!/usr/bin/env python3
"""Benchmarks of the browser dashboard (run by `scripts/bench`, section `dashboard`), each figure next to a
baseline measured in the same run, against the real daemon (`tally serve --http`) and headless
Chromium driven by Selenium:

  runs     the runs table of 10,000 runs x 20 params x 10 metrics: navigation to its first rows
           on screen; baseline: a static HTML file with a 10,000-row plain table, same measure
  chart    a chart of 20 runs x 1,000,000 points from a cold page: navigation to every series
           drawn; baseline: the page's own GetMetricHistory requests replayed with http.client
  live     a point logged by a Python client (LogMetrics acknowledged) until the page has drawn
           it (the data-points of its chart; data-live-last-step for the append); baseline: the
           same point arriving on a WatchRun SSE stream read by Python through the gateway
  assets   bytes of the dashboard's own files (Sources/TallyGateway/Dashboard) vs the chart library

Times inside the page are taken by a script installed before any of the page's own
(Page.addScriptToEvaluateOnNewDocument): a MutationObserver stamping performance.now() (relative
to the navigation start) or Date.now() (for times compared with Python's clock) when the
watched elements or attributes appear, then requestAnimationFrame: the frame that paints them.
Each load is a new document with the HTTP cache disabled.

  .venv/bin/python Tests/Dashboard/bench_dashboard.py [--tally .build/release/tally] [--quick]
      [--only runs,chart,live,assets] [--runs N] [--points N] [--chart-runs N] [--markdown FILE]

Progress goes to standard error, the table to standard output; --markdown appends the rows to
FILE (scripts/bench writes the other figures there first).
"""
import argparse
import gzip
import http.server
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dashboard_seed as seed  # noqa: E402
from tally.v1 import tracking_pb2 as tpb  # noqa: E402

REPO = seed.REPO
DASHBOARD = REPO / "Sources" / "TallyGateway" / "Dashboard"
DYGRAPHS = Path("/usr/share/javascript/dygraphs")


def log(message):
    print(message, file=sys.stderr, flush=True)


class Report:
    def __init__(self):
        self.rows = []

    def add(self, name, value, baseline, ratio, target, met):
        self.rows.append([name, value, baseline, ratio, target, {True: "PASS", False: "FAIL", None: "info"}[met]])
        log(f"  {self.rows[-1][5]}  {name}: {value}  (baseline {baseline}, ratio {ratio}, target {target})")

    def print_table(self):
        header = ["figure", "value", "baseline", "ratio", "target", "result"]
        widths = [max(len(str(r[i])) for r in [header] + self.rows) for i in range(6)]
        line = lambda cells: " | ".join(str(c).ljust(widths[i]) for i, c in enumerate(cells))  # noqa: E731
        print(line(header))
        print("-|-".join("-" * w for w in widths))
        for row in self.rows:
            print(line(row))
        passed = sum(r[5] == "PASS" for r in self.rows)
        failed = sum(r[5] == "FAIL" for r in self.rows)
        print(f"\n{passed} targets met, {failed} missed")

    def markdown_rows(self):
        return "".join("| " + " | ".join(str(c) for c in row) + " |\n" for row in self.rows)


def ms(value):
    return f"{value:,.1f} ms"


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "—"


# -- the instrumentation installed before the page's own scripts -----------------------------------

PROBE = r"""
(() => {
  const t = { firstRows: null, firstRowsFrame: null, ready: null, readyFrame: null, error: null,
              points: {}, pointsChange: null, pointsFrame: null, live: [], pointsLog: [], fetches: [] };
  window.__bench = t;
  const origFetch = window.fetch;
  window.fetch = function (input, init) {
    const entry = { url: String(input && input.url || input), body: init && typeof init.body === "string" ? init.body : null,
                    start: performance.now(), end: null };
    t.fetches.push(entry);
    const p = origFetch.apply(this, arguments);
    p.then(() => { entry.headers = performance.now(); }, () => {});
    return p;
  };
  const frame = (key) => requestAnimationFrame(() => { t[key] = performance.now(); });
  const check = (mutations) => {
    if (t.firstRows === null) {
      const row = document.querySelector('main [data-test="run-row"] td, body > table tr td');
      if (row) { t.firstRows = performance.now(); frame("firstRowsFrame"); }
    }
    if (t.ready === null) {
      const main = document.querySelector('main[data-ready="true"]');
      if (main) { t.ready = performance.now(); t.error = main.dataset.error === "true" ? main.innerText.slice(0, 500) : null; frame("readyFrame"); }
    }
    for (const m of mutations || []) {
      if (m.type !== "attributes") continue;
      const el = m.target;
      if (m.attributeName === "data-points") {
        const key = el.dataset.key || "?";
        const n = Number(el.dataset.points || 0);
        if (n !== t.points[key]) {
          t.points[key] = n; t.pointsChange = performance.now(); frame("pointsFrame");
          if (t.pointsLog.length < 100000) t.pointsLog.push([key, n, Date.now()]);
        }
      } else if (m.attributeName === "data-live-last-step" && el.dataset.liveLastStep !== undefined) {
        t.live.push([Number(el.dataset.liveLastStep), Date.now(), performance.now()]);
      }
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true,
    attributeFilter: ["data-ready", "data-points", "data-live-last-step"] });
})();
"""


# Where a load's time went: the page's own requests (resource timing, ms from the navigation
# start) and the document's DOMContentLoaded.
TIMELINE_JS = r"""
const nav = performance.getEntriesByType('navigation')[0];
const parts = [`DOMContentLoaded ${nav.domContentLoadedEventEnd.toFixed(0)}`];
const rpcs = performance.getEntriesByType('resource').filter(e => e.name.includes('/api/'));
const byName = new Map();
for (const e of rpcs) {
  const name = e.name.split('/').pop().split('?')[0];
  const g = byName.get(name) || { n: 0, start: Infinity, end: 0 };
  g.n++; g.start = Math.min(g.start, e.startTime); g.end = Math.max(g.end, e.responseEnd);
  byName.set(name, g);
}
for (const [name, g] of byName) {
  parts.push(`${g.n > 1 ? g.n + "x " : ""}${name} ${g.start.toFixed(0)}-${g.end.toFixed(0)}`);
}
const scripts = performance.getEntriesByType('resource').filter(e => e.name.includes('/assets/'));
if (scripts.length) parts.push(`assets done ${Math.max(...scripts.map(e => e.responseEnd)).toFixed(0)}`);
return parts.join(', ') + ' ms';
"""


class Page:
    def __init__(self, daemon):
        self.daemon = daemon
        self.driver = seed.make_driver()
        self.driver.execute_cdp_cmd("Network.enable", {})
        self.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
        self.browser = seed.Browser(self.driver, daemon)  # logs in: the cookie

    def load(self, url, until, timeout=120.0):
        """A new document at `url`; waits until `until(probe)` is true; returns the probe."""
        self.driver.get("about:blank")
        self.driver.get(url)
        deadline = time.monotonic() + timeout
        while True:
            probe = self.driver.execute_script("return window.__bench || null")
            if probe and probe.get("error"):
                raise RuntimeError(f"the view failed: {probe['error']}")
            if probe and until(probe):
                return probe
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out at {url}: {probe}\n{self.browser.text()[:500]}")
            time.sleep(0.02)

    def quit(self):
        self.driver.quit()


# -- (a) the runs table ----------------------------------------------------------------------------


def static_table_html(runs, params, metrics):
    import random
    rng = random.Random(1)
    head = "<th>name</th><th>status</th>" + "".join(f"<th>p{p}</th>" for p in range(params)) + \
        "".join(f"<th>m{m}</th>" for m in range(metrics))
    rows = []
    for i in range(runs):
        cells = [f"run-{i:05d}", "completed"] + [f"{rng.random():.6g}" for _ in range(params + metrics)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return ("<!doctype html><html><head><meta charset=utf-8><title>runs</title></head><body><table><thead><tr>"
            + head + "</tr></thead><tbody>" + "\n".join(rows) + "</tbody></table></body></html>")


class StaticServer:
    """Serves one folder on loopback (the baseline's static page)."""

    def __init__(self, folder):
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(folder), **k)  # noqa: E731
        http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def bench_runs(report, daemon, page, args, workdir):
    n = args.runs
    log(f"runs: seeding {n:,} runs x 20 params x 10 metrics")
    start = time.time()
    experiment_id = seed.seed_wide_runs(daemon.client, "bench-wide", n, 20, 10, steps=5,
                                        progress=lambda k: log(f"  {k:,} runs"))
    log(f"  seeded in {time.time() - start:.1f} s")

    route = f"{daemon.base}/#/runs?experiments={experiment_id}"
    first_rows = lambda p: p.get("firstRowsFrame") is not None  # noqa: E731
    page.load(route, lambda p: p.get("firstRowsFrame") is not None and p.get("readyFrame") is not None)  # warm-up
    samples, ready_samples, counts, breakdowns = [], [], [], []
    for _ in range(args.repeat):
        probe = page.load(route, lambda p: p.get("firstRowsFrame") is not None and p.get("readyFrame") is not None)
        samples.append(probe["firstRowsFrame"])
        ready_samples.append(probe["readyFrame"])
        counts.append(page.driver.execute_script("return document.querySelectorAll('main [data-test=run-row]').length"))
        breakdowns.append(page.driver.execute_script(TIMELINE_JS))
    value = statistics.median(samples)
    timeline = breakdowns[samples.index(value)] if value in samples else breakdowns[-1]

    (workdir / "static").mkdir(exist_ok=True)
    (workdir / "static" / "table.html").write_text(static_table_html(n, 20, 10))
    server = StaticServer(workdir / "static")
    try:
        url = f"http://127.0.0.1:{server.port}/table.html"
        page.load(url, first_rows)
        base_samples, base_full = [], []
        for _ in range(args.repeat):
            probe = page.load(url, lambda p: p.get("firstRowsFrame") is not None)
            base_samples.append(probe["firstRowsFrame"])
            base_full.append(page.driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd || n.domContentLoadedEventEnd"))
        blank = []
        for _ in range(args.repeat):
            page.driver.get("about:blank")
            page.driver.get(f"http://127.0.0.1:{server.port}/")
            blank.append(page.driver.execute_script(
                "const n = performance.getEntriesByType('navigation')[0]; return n.loadEventEnd"))
    finally:
        server.stop()
    baseline = statistics.median(base_samples)
    report.add(f"Runs table, {n:,} runs x 20 params x 10 metrics: navigation to first rows on screen, median of "
               f"{args.repeat} ({statistics.median(counts):.0f} rows in the DOM; median load: {timeline})",
               ms(value), f"{ms(baseline)} static HTML {n:,}-row table, same measure (whole table loaded "
               f"{ms(statistics.median(base_full))}; a directory listing {ms(statistics.median(blank))})",
               ratio(value, baseline), "< 300 ms", value < 300)


# -- (b) a chart of 20 runs x 1,000,000 points -----------------------------------------------------


def replay(daemon, requests, parallel=6):
    """POSTs each (url, body) through the gateway, `parallel` at a time, reading every byte."""
    def one(item):
        url, body = item
        status, _, data = seed.http_request("POST", url if url.startswith("http") else daemon.base + url,
                                            body=(body or "{}").encode(),
                                            headers={"Content-Type": "application/json", **daemon.auth()}, timeout=300)
        if status != 200:
            raise RuntimeError(f"{url}: {status} {data[:200]}")
        return len(data)
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        size = sum(pool.map(one, requests))
    return (time.perf_counter() - start) * 1000, size


def bench_chart(report, daemon, page, args):
    runs, points = args.chart_runs, args.points
    log(f"chart: seeding {runs} runs x {points:,} points (LogMetrics, batches of 250,000)")
    client = daemon.client()
    start = time.time()
    ids = seed.seed_long_series(client, "bench-long", runs, points,
                                progress=lambda r, el: log(f"  {r} runs, {r * points / el:,.0f} points/s"))
    seeding = time.time() - start
    log(f"  seeded {runs * points:,} points in {seeding:.1f} s ({runs * points / seeding:,.0f} points/s)")
    route = f"{daemon.base}/#/charts?runs={','.join(ids)}"

    def drawn(p):
        # Every series drawn: the chart's data-points stopped changing for 1 s after the view was ready.
        if p.get("readyFrame") is None or p.get("pointsFrame") is None:
            return False
        now = page.driver.execute_script("return performance.now()")
        series = page.driver.execute_script(
            "return [...document.querySelectorAll('[data-test=metric-chart]')].map(c => Number(c.dataset.series || 0))")
        return series and max(series) >= runs and now - p["pointsChange"] > 1000

    page.load(route, drawn, timeout=300)  # warm-up (the daemon's page cache, the JIT)
    samples, totals, history_requests = [], [], []
    last = None
    timelines = []
    for _ in range(max(1, args.repeat // 2)):
        probe = page.load(route, drawn, timeout=300)
        samples.append(max(probe["readyFrame"], probe["pointsFrame"]))
        timelines.append(page.driver.execute_script(TIMELINE_JS))
        totals.append(sum(probe["points"].values()))
        history_requests = [(f["url"], f["body"]) for f in probe["fetches"] if "GetMetricHistory" in f["url"]]
        last = probe
    value = statistics.median(samples)
    timeline = timelines[samples.index(value)] if value in samples else timelines[-1]
    if not history_requests:
        raise RuntimeError(f"the charts page made no GetMetricHistory request: {last['fetches']}")
    base = [replay(daemon, history_requests)[0] for _ in range(3)]
    baseline = statistics.median(base)
    _, size = replay(daemon, history_requests)
    full, full_size = replay(daemon, [("/api/tally.v1.Tracking/GetMetricHistory", json.dumps({"runId": ids[0]}))], 1)
    report.add(f"Chart of {runs} runs x {points:,} points from a cold page: navigation to every series drawn, median "
               f"({statistics.median(totals):,.0f} points drawn; median load: {timeline})",
               ms(value), f"{ms(baseline)} the page's GetMetricHistory requests replayed by Python, 6 at a time "
               f"({size / 1e6:.2f} MB; one whole {points:,}-point series: {ms(full)}, {full_size / 1e6:.1f} MB)",
               ratio(value, baseline), "< 1 s", value < 1000)
    report.add("Seeding the chart's runs: LogMetrics, batches of 250,000 (Python client)",
               f"{runs * points / seeding:,.0f} points/s", "—", "—", "—", None)


# -- (c) live latency ------------------------------------------------------------------------------


def bench_live(report, daemon, page, args):
    client = daemon.client()
    run_id = seed.start_run(client, "bench-live", "live", {"lr": 0.01})
    batch = tpb.MetricBatch(run_id=run_id, keys=["loss"], key_index=[0] * 10, values=[1.0 / (s + 1) for s in range(10)],
                            steps=list(range(10)))
    client.tracking.log_metrics(batch)
    page.load(f"{daemon.base}/#/run/{run_id}",
              lambda p: p.get("readyFrame") is not None and p["points"].get("loss", 0) > 0, timeout=60)
    time.sleep(1.0)  # the page's WatchRun is open

    # The baseline: the same points read by Python from WatchRun through the gateway (SSE).
    sse_seen = {}
    stop = threading.Event()

    def read_watch():
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", daemon.port, timeout=120)
        conn.request("POST", "/api/tally.v1.Tracking/WatchRun", body=json.dumps({"runId": run_id}),
                     headers={"Content-Type": "application/json", "Accept": "text/event-stream", **daemon.auth()})
        response = conn.getresponse()
        buffer = b""
        while not stop.is_set():
            chunk = response.fp.readline()
            if not chunk:
                break
            buffer += chunk
            if chunk in (b"\n", b"\r\n"):
                for name, data in seed.parse_sse(buffer.decode()):
                    if name == "message" and "points" in data:
                        for s in data["points"].get("steps", []):
                            sse_seen.setdefault(int(s), time.time() * 1000)
                buffer = b""
        conn.close()

    reader = threading.Thread(target=read_watch, daemon=True)
    reader.start()
    time.sleep(0.5)

    acks, sent = {}, {}
    samples = args.live_samples
    for i in range(samples):
        step = 10 + i
        b = tpb.MetricBatch(run_id=run_id, keys=["loss"], key_index=[0], values=[1.0 / (step + 1)], steps=[step])
        sent[step] = time.time() * 1000
        client.tracking.log_metrics(b)
        acks[step] = time.time() * 1000
        time.sleep(args.live_interval)
    last_step = 10 + samples - 1
    deadline = time.monotonic() + 15
    probe = None
    while time.monotonic() < deadline:
        probe = page.driver.execute_script("return window.__bench")
        if probe["live"] and max(s for s, _, _ in probe["live"]) >= last_step and last_step in sse_seen:
            break
        time.sleep(0.1)
    stop.set()
    # Appended: data-live-last-step reached the step; drawn: the loss chart's data-points reached
    # step + 1 (steps 0…step), set when the chart is drawn on the next animation frame.
    appended, drawn = {}, {}
    for s, wall, _ in probe["live"]:
        for k in acks:
            if k <= s and k not in appended:
                appended[k] = wall
    for key, n, wall in probe["pointsLog"]:
        if key != "loss":
            continue
        for k in acks:
            if n >= k + 1 and k not in drawn:
                drawn[k] = wall
    latencies = sorted(drawn[k] - acks[k] for k in acks if k in drawn)
    appended_latencies = sorted(appended[k] - acks[k] for k in acks if k in appended)
    base = sorted(sse_seen[k] - acks[k] for k in acks if k in sse_seen)
    if not latencies:
        raise RuntimeError(f"the page drew no live point (data-points of the loss chart never grew): {probe}")
    p50 = statistics.median(latencies)
    p90 = latencies[int(0.9 * (len(latencies) - 1))]
    sent_p50 = statistics.median(drawn[k] - sent[k] for k in acks if k in drawn)
    base_p50 = statistics.median(base) if base else float("nan")
    appended_p50 = statistics.median(appended_latencies) if appended_latencies else float("nan")
    report.add(f"Live chart: point acknowledged (LogMetrics) to drawn (data-points), p50 of {len(latencies)}/{samples} "
               f"(p90 {ms(p90)}; from the send {ms(sent_p50)}; appended, data-live-last-step: {ms(appended_p50)})",
               ms(p50), f"{ms(base_p50)} the same points on a WatchRun SSE stream read by Python",
               f"+{p50 - base_p50:.1f} ms" if base else "—", "p50 < 250 ms", p50 < 250)
    seed.end_run(client, run_id)
    client.close()


# -- (d) assets ------------------------------------------------------------------------------------


def bench_assets(report, daemon, page):
    files = [p for p in DASHBOARD.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in files)
    library = [DYGRAPHS / "dygraph.min.js", DYGRAPHS / "dygraph.min.css"]
    lib_size = sum(p.stat().st_size for p in library)
    lib_gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in library)
    report.add(f"Dashboard's own assets, {len(files)} files under Sources/TallyGateway/Dashboard (gzip -9: {gz / 1000:.1f} KB)",
               f"{total / 1000:.1f} KB", f"{lib_size / 1000:.1f} KB dygraphs 2.2.1 min.js + min.css (gzip -9: {lib_gz / 1000:.1f} KB)",
               ratio(total, lib_size), "< 300 KB", total < 300_000)
    if page is not None:
        # What a cold load of the experiments page transfers (every request, as the browser saw it).
        page.load(f"{daemon.base}/#/experiments", lambda p: p.get("readyFrame") is not None)
        entries = page.driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => [e.name, e.encodedBodySize, e.transferSize])")
        assets = sum(e[1] for e in entries if "/assets/" in e[0] or e[0].endswith("/"))
        vendor = sum(e[1] for e in entries if "/vendor/" in e[0])
        report.add(f"Bytes a cold load of #/experiments fetched: the dashboard's files ({sum('/assets/' in e[0] for e in entries)} requests)",
                   f"{assets / 1000:.1f} KB", f"{vendor / 1000:.1f} KB the chart library", ratio(assets, vendor), "—", None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tally", default=os.environ.get("TALLY_BIN") or str(REPO / ".build" / "release" / "tally"))
    parser.add_argument("--quick", action="store_true", help="2,000 runs, 20 x 100,000 points, 20 live samples")
    parser.add_argument("--only", default="runs,chart,live,assets")
    parser.add_argument("--runs", type=int, default=None, help="runs of the runs table (10,000)")
    parser.add_argument("--points", type=int, default=None, help="points per run of the chart (1,000,000)")
    parser.add_argument("--chart-runs", type=int, default=20)
    parser.add_argument("--live-samples", type=int, default=None)
    parser.add_argument("--live-interval", type=float, default=0.2, help="seconds between live points")
    parser.add_argument("--repeat", type=int, default=5, help="page loads per figure (median)")
    parser.add_argument("--markdown", help="append the rows to this Markdown file")
    args = parser.parse_args()
    args.runs = args.runs or (2_000 if args.quick else 10_000)
    args.points = args.points or (100_000 if args.quick else 1_000_000)
    args.live_samples = args.live_samples or (20 if args.quick else 50)
    only = set(args.only.split(","))
    unknown = only - {"runs", "chart", "live", "assets"}
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")

    report = Report()
    workdir = Path(tempfile.mkdtemp(prefix="tally-dbench-", dir="/tmp"))
    log(f"bench-dashboard: {args.tally}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%dT%H:%M:%S')}"
        f"{', quick' if args.quick else ''}")
    daemon = seed.Daemon(root=workdir / "d", binary=args.tally)
    page = None
    try:
        page = Page(daemon)
        if "runs" in only:
            bench_runs(report, daemon, page, args, workdir)
        if "chart" in only:
            bench_chart(report, daemon, page, args)
        if "live" in only:
            bench_live(report, daemon, page, args)
        if "assets" in only:
            bench_assets(report, daemon, page)
    finally:
        if page is not None:
            page.quit()
        daemon.stop()
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"Tally dashboard benchmarks — {os.cpu_count()} cores — {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
    report.print_table()
    if args.markdown:
        path = Path(args.markdown)
        text = path.read_text() if path.exists() else ""
        if "| figure | value |" not in text:
            text += "| figure | value | baseline | ratio | target | met |\n| --- | --- | --- | --- | --- | --- |\n"
        path.write_text(text + report.markdown_rows())


if __name__ == "__main__":
    main()
