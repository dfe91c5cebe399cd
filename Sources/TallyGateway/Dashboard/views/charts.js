// #/charts?runs=ID,ID — the metrics of several runs overlaid, one chart per metric key.
//
// Series come from GetMetricHistory with max_points ≈ the chart's width in pixels (the daemon
// keeps the min and max of each bucket, so spikes stay visible): raw points are never fetched.
// Running runs are followed (WatchRun, see charts.js followRun) and their new points appended.
// Controls: x by step / relative time / wall time, log y, EMA smoothing 0..0.99 (TensorBoard's
// debiased EMA), drag zoom (double-click resets), hover values in each chart's legend.
//
// Test hooks:
//   root data-ready="true" once every run's history is drawn; data-runs="<runs found>"
//   data-test="charts-runs"       the runs legend; items data-test="legend-run" data-run-id
//                                 (with the run's colour, a link to the run and its status)
//   data-test="missing-runs"      ids that do not exist (if any)
//   data-test="too-many-runs"     more than 50 ids given: only the first 50 are charted
//   data-test="chart-controls"    see charts.js (x-axis, log-y, smoothing, smoothing-value)
//   data-test="metric-filter"     text box: show only charts whose key contains the text
//   data-test="chart-count"       "N metrics"; data-count
//   data-test="metric-chart"      one per key: data-key, data-points (points drawn), data-series,
//                                 data-live-last-step (last step appended live), data-x-mode, data-log-y
//   data-test="live-status"       "following N running runs" / errors of live updates
//   data-test="empty"             no run ids given / no metrics

import { tracking } from "../api.js";
import { h, replace, num, listParam, routeHash, filterString, statusBadge, shortId, isRunning, loadingBox, errorBox, emptyBox, mapLimit } from "../format.js";
import { MetricChart, chartControls, defaultChartOptions, fetchHistory, fetchRange, followRun, pointsForWidth, colorFor } from "../charts.js";

// Histories fetched at once: the browser's 6 connections to the host, less those that WatchRun
// streams of running runs hold.
const HISTORY_CONCURRENCY = 6;
const MAX_RUNS = 50;

async function loadRuns(ids, signal) {
  const found = new Map();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    let token = "";
    do {
      const response = await tracking("SearchRuns", { filter: `id in (${part.map(filterString).join(", ")})`, pageSize: 1000, pageToken: token }, { signal });
      for (const r of response.runs ?? []) found.set(r.id, r);
      token = response.nextPageToken ?? "";
    } while (token);
  }
  return ids.filter((id) => found.has(id)).map((id) => found.get(id));
}

export async function render(root, params, ctx) {
  const allIds = listParam(params, "runs");
  const ids = allIds.slice(0, MAX_RUNS);
  const head = h("div", { class: "page-head" }, h("h1", { text: "Charts" }));
  root.append(head);
  if (ids.length === 0) {
    root.append(emptyBox("No runs chosen. Select runs in the ", h("a", { href: "#/runs", text: "runs table" }), " and press Chart."));
    root.dataset.ready = "true";
    return;
  }
  const body = h("div", null, loadingBox(`Loading ${ids.length} run${ids.length === 1 ? "" : "s"}…`));
  root.append(body);

  let runs;
  try {
    runs = await loadRuns(ids, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) return;
    replace(body, errorBox(error, "Could not load the runs"));
    root.dataset.ready = "true";
    return;
  }
  root.dataset.runs = String(runs.length);
  const missing = ids.filter((id) => !runs.some((r) => r.id === id));

  // Labels: the run's name, with a short id when two runs share a name.
  const nameCount = new Map();
  for (const r of runs) nameCount.set(r.name || r.id, (nameCount.get(r.name || r.id) ?? 0) + 1);
  const meta = new Map(runs.map((r, i) => [r.id, {
    label: nameCount.get(r.name || r.id) > 1 ? `${r.name || r.id} (${shortId(r.id)})` : r.name || r.id,
    color: colorFor(i),
    startMs: num(r.startedAtMs),
    order: i,
  }]));

  const options = defaultChartOptions();
  const charts = new Map();
  const grid = h("div", { class: "chart-grid wide" });
  const filterBox = h("input", { type: "search", placeholder: "Filter metrics", "data-test": "metric-filter" });
  const countEl = h("span", { class: "muted", "data-test": "chart-count", "data-count": "0" });
  const liveEl = h("span", { class: "muted", "data-test": "live-status" });
  const legend = h("div", { class: "run-legend", "data-test": "charts-runs" }, runs.map((r) => {
    const m = meta.get(r.id);
    const statusHolder = h("span", { class: "legend-status" }, statusBadge(r.status));
    return h("span", { class: "legend-run", "data-test": "legend-run", "data-run-id": r.id },
      h("span", { class: "legend-swatch", style: { background: m.color } }),
      h("a", { href: `#/run/${encodeURIComponent(r.id)}`, text: m.label }), " ", statusHolder);
  }));

  const applyFilter = () => {
    const q = filterBox.value.trim().toLowerCase();
    let shown = 0;
    for (const [key, chart] of charts) {
      const visible = !q || key.toLowerCase().includes(q);
      const wasHidden = chart.container.hidden;
      chart.container.hidden = !visible;
      if (visible) shown++;
      if (visible && wasHidden) chart.graph?.resize();
    }
    countEl.dataset.count = String(charts.size);
    countEl.textContent = q ? `${shown} of ${charts.size} metrics` : `${charts.size} metric${charts.size === 1 ? "" : "s"}`;
  };
  filterBox.addEventListener("input", applyFilter);

  replace(body,
    legend,
    allIds.length > ids.length ? h("div", { class: "warning", "data-test": "too-many-runs", text: `Showing the first ${ids.length} of ${allIds.length} runs.` }) : null,
    missing.length ? h("div", { class: "warning", "data-test": "missing-runs", text: `Not found: ${missing.join(", ")}` }) : null,
    h("div", { class: "toolbar sticky-controls" },
      chartControls(options, () => charts.forEach((c) => c.refresh())),
      filterBox, countEl, liveEl,
      runs.length > 1 ? h("a", { class: "button", href: routeHash("compare", { runs: runs.map((r) => r.id) }), text: "Compare" }) : null),
    grid);

  if (runs.length === 0) {
    grid.append(emptyBox("None of these runs exists."));
    root.dataset.ready = "true";
    return;
  }

  // Chart size → points per series to ask for (one chart a row when there is only one metric).
  const keys = [...new Set(runs.flatMap((r) => (r.metrics ?? []).map((m) => m.key ?? "")))].sort();
  const columns = grid.clientWidth >= 1100 && keys.length > 1 ? 2 : 1;
  grid.classList.toggle("single", columns === 1);
  const chartWidth = Math.floor((grid.clientWidth || 1000) / columns) - 24;
  const maxPoints = pointsForWidth(chartWidth);

  let holding = true; // no drawing per arriving run while the first histories load
  const chartFor = (key) => {
    let chart = charts.get(key);
    if (!chart) {
      const box = h("div");
      const keys = [...charts.keys(), key].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const next = charts.get(keys[keys.indexOf(key) + 1]);
      if (next) grid.insertBefore(box, next.container);
      else grid.append(box);
      chart = new MetricChart(box, { key, options, maxPoints, height: 240, fetchRange });
      chart.hold = holding;
      charts.set(key, chart);
      applyFilter();
    }
    return chart;
  };
  for (const key of keys) chartFor(key);
  if (keys.length === 0 && !runs.some(isRunning)) grid.append(emptyBox("These runs have no metrics."));

  const cleanups = [];
  let destroyed = false;
  const cleanup = () => {
    if (destroyed) return;
    destroyed = true;
    for (const c of cleanups) c();
    for (const chart of charts.values()) chart.destroy();
  };
  ctx.signal.addEventListener("abort", cleanup, { once: true });
  const historyLoaded = new Set();
  const pending = new Map(); // run id → [Map] of live points received before its history
  let following = 0;
  let polling = 0;
  const liveText = () => {
    liveEl.textContent = following ? `following ${following} running run${following === 1 ? "" : "s"}${polling ? ` (${polling} by polling)` : ""}` : "";
  };

  const appendLive = (runId, map) => {
    for (const [key, s] of map) {
      const chart = chartFor(key);
      if (!chart.series.has(runId)) chart.setSeries(runId, meta.get(runId));
      chart.append(runId, s.steps, s.values, s.times);
    }
  };

  const loadRun = async (run) => {
    if (destroyed) return;
    if (isRunning(run)) {
      const live = followRun(run.id, {
        onPoints: (map) => {
          if (historyLoaded.has(run.id)) appendLive(run.id, map);
          else {
            if (!pending.has(run.id)) pending.set(run.id, []);
            pending.get(run.id).push(map);
          }
        },
        onStatus: (updated) => {
          if (!updated) return;
          const holder = legend.querySelector(`[data-run-id="${CSS.escape(run.id)}"] .legend-status`);
          if (holder) replace(holder, statusBadge(updated.status));
        },
        onEnd: () => {
          following--;
          if (live.mode === "poll") polling--;
          liveText();
        },
        onError: (error) => {
          following--;
          if (live.mode === "poll") polling--;
          liveText();
          liveEl.append(h("span", { class: "error-text", text: ` live updates of ${meta.get(run.id).label} stopped: ${error.message}` }));
        },
      }, { maxPoints });
      following++;
      if (live.mode === "poll") polling++;
      liveText();
      cleanups.push(() => live.stop());
      await live.ready;
    }
    if (destroyed) return;
    const call = fetchHistory(run.id, { maxPoints });
    cleanups.push(() => call.cancel());
    const series = await call.done;
    if (destroyed) return;
    for (const [key, s] of series) chartFor(key).setSeries(run.id, meta.get(run.id), s);
    historyLoaded.add(run.id);
    for (const map of pending.get(run.id) ?? []) appendLive(run.id, map);
    pending.delete(run.id);
  };

  // Charts are drawn once every history is in (drawing while loading would only delay the
  // requests still to be sent); meanwhile each chart says how far loading got.
  let loaded = 0;
  const showProgress = () => {
    for (const c of charts.values()) c.setMessage(`Loading ${loaded} of ${runs.length} runs…`);
  };
  showProgress();
  const errors = [];
  const concurrency = runs.some(isRunning) ? 3 : HISTORY_CONCURRENCY;
  await mapLimit(runs, concurrency, (run) => loadRun(run).catch((error) => {
    if (!destroyed) errors.push([run, error]);
  }).finally(() => {
    loaded++;
    if (runs.length > 1) showProgress();
  }));
  performance.mark("tally:charts:histories-loaded");
  if (destroyed) return cleanup;
  holding = false;
  for (const c of charts.values()) {
    c.hold = false;
    c.refresh();
  }
  for (const [run, error] of errors) grid.before(errorBox(error, `Could not load the history of ${meta.get(run.id).label}`));
  for (const chart of charts.values()) if (chart.series.size === 0) chart.setMessage("No points");
  // Ready once the charts are drawn (drawing happens on the next animation frame).
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  if (!destroyed) root.dataset.ready = "true";
  return cleanup;
}
