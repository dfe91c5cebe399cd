// Metric charts on dygraphs (window.Dygraph, Debian's libjs-dygraphs, loaded by index.html):
// several runs overlaid per metric, x by step / relative time / wall time, log y, TensorBoard's
// debiased EMA smoothing, drag zoom (double-click resets), hover values, live appends.
// Also the data side: GetMetricHistory with max_points (server-side min/max downsampling) and
// following a running run (WatchRun, or polling when too many streams would be open).
// Zooming in (drag) on downsampled series fetches the visible step range again with max_points,
// so detail appears as you zoom; double-click resets.
//
// Test hooks:
//   data-test="metric-chart"     one chart container per metric key; data-key="<metric key>",
//                                data-points="<points drawn, all series>", data-series="<n series>",
//                                data-live-last-step="<last step appended live>" (once a live point came),
//                                data-log-y="true|false" (log y actually in effect),
//                                data-x-mode="step|relative|time", data-smoothing="<EMA weight drawn>", data-zoomed="true|false" (after a
//                                zoom), data-detail="loading|loaded|error" (zoomed in on downsampled
//                                series: the visible step range fetched again at full resolution)
//   data-test="chart-graph"      the dygraphs div inside a chart
//   data-test="chart-legend"     the hover-values legend of a chart
//   data-test="chart-empty"      shown instead of the graph while a metric has no drawable point
//   data-test="chart-controls"   the controls bar: data-test="x-axis" (select: step|relative|time),
//                                "log-y" (checkbox), "smoothing" (range 0..0.99), "smoothing-value"

import { tracking, trackingStream, RPCError } from "./api.js";
import { h, num, fmtNum, fmtDuration, fmtTime, replace } from "./format.js";

// -------------------------------------------------------------------------------------------
// Colours

export const PALETTE = [
  "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
  "#bcbd22", "#7f7f7f", "#393b79", "#ad494a", "#637939", "#e6550d", "#6b6ecf", "#843c39",
  "#7b4173", "#3182bd", "#31a354", "#d6616b",
];
export const colorFor = (index) => PALETTE[index % PALETTE.length];

// -------------------------------------------------------------------------------------------
// Series maths

/**
 * TensorBoard's smoothing: an exponential moving average debiased for its start (so the first
 * points are not pulled towards 0). `weight` in [0, 1); non-finite values pass through unchanged,
 * and a constant series is left as it is.
 */
export function ema(values, weight) {
  const n = values.length;
  if (!(weight > 0) || n === 0) return values;
  const out = new Array(n);
  let constant = true;
  for (let i = 1; i < n; i++) {
    if (values[i] !== values[0]) {
      constant = false;
      break;
    }
  }
  if (constant) return values;
  let last = 0;
  let count = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    last = last * weight + (1 - weight) * v;
    count++;
    const debias = weight === 1 ? 1 : 1 - Math.pow(weight, count);
    out[i] = last / debias;
  }
  return out;
}

/**
 * Min/max bucket downsampling (as the daemon does): the step range is cut into maxPoints/2
 * buckets and each keeps its lowest and highest point, in step order. Arrays are step-sorted.
 */
export function downsampleMinMax(steps, values, times, maxPoints) {
  const n = steps.length;
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  if (n <= maxPoints) return { steps, values, times };
  const lo = steps[0];
  const hi = steps[n - 1];
  const width = (hi - lo) / buckets || 1;
  const out = { steps: [], values: [], times: [] };
  const push = (i) => {
    out.steps.push(steps[i]);
    out.values.push(values[i]);
    out.times.push(times[i]);
  };
  let i = 0;
  while (i < n) {
    const bucket = Math.min(buckets - 1, Math.floor((steps[i] - lo) / width));
    let minI = -1;
    let maxI = -1;
    let j = i;
    for (; j < n && Math.min(buckets - 1, Math.floor((steps[j] - lo) / width)) === bucket; j++) {
      const v = values[j];
      if (Number.isNaN(v)) continue;
      if (minI < 0 || v < values[minI]) minI = j;
      if (maxI < 0 || v > values[maxI]) maxI = j;
    }
    if (minI >= 0) {
      if (minI === maxI) push(minI);
      else if (minI < maxI) {
        push(minI);
        push(maxI);
      } else {
        push(maxI);
        push(minI);
      }
    }
    i = j;
  }
  return out;
}

// -------------------------------------------------------------------------------------------
// Data from the daemon

/** Decodes one MetricHistoryChunk / MetricPoints column (int64 strings, "NaN") into numbers. */
function numbers(list) {
  const src = list ?? [];
  const out = new Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = typeof src[i] === "number" ? src[i] : Number(src[i]);
  return out;
}

/**
 * GetMetricHistory of one run (every key when `keys` is empty), downsampled by the daemon to about
 * `maxPoints` per key. Returns { done: Promise<Map<key, {steps, values, times, total, downsampled}>>, cancel }.
 */
export function fetchHistory(runId, { keys = [], maxPoints = 1000, minStep = 0, maxStep = 0 } = {}) {
  const series = new Map();
  const request = { runId, maxPoints: Math.max(0, Math.round(maxPoints)) };
  if (keys.length) request.keys = keys;
  if (minStep) request.minStep = String(minStep);
  if (maxStep) request.maxStep = String(maxStep);
  const call = trackingStream("GetMetricHistory", request, (chunk) => {
    const key = chunk.key ?? "";
    let s = series.get(key);
    if (!s) {
      s = { steps: [], values: [], times: [], total: 0, downsampled: false };
      series.set(key, s);
    }
    const steps = numbers(chunk.steps);
    const values = numbers(chunk.values);
    const times = numbers(chunk.timestampsMs);
    for (let i = 0; i < values.length; i++) {
      s.steps.push(steps[i] ?? 0);
      s.values.push(values[i]);
      s.times.push(times[i] ?? 0);
    }
    s.total = Math.max(s.total, num(chunk.totalPoints));
    s.downsampled = s.downsampled || !!chunk.downsampled;
  });
  return { done: call.done.then(() => series), cancel: call.cancel };
}

/** MetricPoints (columnar, from WatchRun) as a Map key → {steps, values, times}. */
export function splitPoints(points) {
  const keys = points?.keys ?? [];
  const index = points?.keyIndex ?? [];
  const values = numbers(points?.values);
  const steps = numbers(points?.steps);
  const times = numbers(points?.timestampsMs);
  const out = new Map();
  for (let i = 0; i < values.length; i++) {
    const key = keys[index[i] ?? 0] ?? "";
    let s = out.get(key);
    if (!s) {
      s = { steps: [], values: [], times: [] };
      out.set(key, s);
    }
    s.steps.push(steps[i] ?? 0);
    s.values.push(values[i]);
    s.times.push(times[i] ?? 0);
  }
  return out;
}

// Browsers open at most 6 HTTP/1.1 connections per host, and every open server-streaming call
// holds one; so at most MAX_WATCHES WatchRun streams are open at once and further followed runs
// are polled (GetRun + GetMetricHistory from the last step seen).
const MAX_WATCHES = 3;
let openWatches = 0;

/**
 * Follows a run's new points, params and status. Handlers: onSnapshot(run), onPoints(Map key →
 * {steps, values, times}), onStatus(run) (status changed; the run as it now is), onParams(map),
 * onEnd() (the run ended and the stream closed), onError(error) (live updates stopped).
 * Returns { ready, stop, mode }: `ready` resolves once following has started (the snapshot came),
 * so a history fetched after it leaves no gap; points may then be delivered twice (dedupe by step).
 */
export function followRun(runId, handlers = {}, { pollMs = 2000, maxPoints = 1000 } = {}) {
  let stopped = false;
  let current = null; // the open stream
  let timer = 0;
  let readyResolve;
  const ready = new Promise((resolve) => (readyResolve = resolve));
  const lastSeen = new Map(); // key → highest step delivered or known stored at start
  const state = { mode: openWatches < MAX_WATCHES ? "watch" : "poll", stop, ready };

  const noteSummaries = (run) => {
    for (const m of run?.metrics ?? []) {
      const step = num(m.lastStep);
      if (!lastSeen.has(m.key) || lastSeen.get(m.key) < step) lastSeen.set(m.key, step);
    }
  };
  const emitPoints = (map) => {
    for (const [key, s] of map) {
      const last = s.steps.length ? s.steps[s.steps.length - 1] : undefined;
      if (last !== undefined && (!lastSeen.has(key) || lastSeen.get(key) < last)) lastSeen.set(key, last);
    }
    if (map.size) handlers.onPoints?.(map);
  };
  const fail = (error) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    readyResolve();
    handlers.onError?.(error);
  };

  // Points stored after lastSeen, for polling and for resuming after the watch was dropped.
  const catchUp = async () => {
    const run = await tracking("GetRun", { runId });
    if (stopped) return run;
    const changed = [];
    let minStep = Infinity;
    for (const m of run.metrics ?? []) {
      const seen = lastSeen.get(m.key);
      if (seen === undefined || num(m.lastStep) > seen) {
        changed.push(m.key);
        minStep = Math.min(minStep, seen === undefined ? 0 : seen + 1);
      }
    }
    if (changed.length) {
      const call = fetchHistory(runId, { keys: changed, maxPoints, minStep: Number.isFinite(minStep) ? minStep : 0 });
      current = call;
      const series = await call.done;
      current = null;
      if (stopped) return run;
      const fresh = new Map();
      for (const [key, s] of series) {
        const seen = lastSeen.get(key);
        const from = seen === undefined ? 0 : s.steps.findIndex((step) => step > seen);
        if (from < 0) continue;
        fresh.set(key, { steps: s.steps.slice(from), values: s.values.slice(from), times: s.times.slice(from) });
      }
      emitPoints(fresh);
    }
    return run;
  };

  const startWatch = () => {
    openWatches++;
    let open = true;
    const close = () => {
      if (open) openWatches--;
      open = false;
    };
    let sawSnapshot = false;
    const call = trackingStream("WatchRun", { runId }, (event) => {
      if (stopped) return;
      if (event.snapshot) {
        if (!sawSnapshot) {
          sawSnapshot = true;
          noteSummaries(event.snapshot);
          handlers.onSnapshot?.(event.snapshot);
          readyResolve();
        }
      } else if (event.points) {
        emitPoints(splitPoints(event.points));
      } else if (event.status) {
        handlers.onStatus?.(event.status);
      } else if (event.params) {
        handlers.onParams?.(event.params.params ?? {});
      }
    });
    current = call;
    call.done.then(
      () => {
        close();
        if (stopped) return;
        stopped = true;
        readyResolve();
        handlers.onEnd?.();
      },
      (error) => {
        close();
        if (stopped) return;
        if (error instanceof RPCError && error.codeName === "RESOURCE_EXHAUSTED" && sawSnapshot) {
          // Too far behind: watch again, then fetch what was missed.
          startWatch();
          catchUp().catch(fail);
          return;
        }
        fail(error);
      });
    const original = call.cancel;
    call.cancel = () => {
      close();
      original();
    };
  };

  const poll = async () => {
    try {
      const run = await catchUp();
      if (stopped) return;
      if (!run || run.status !== "RUN_STATUS_RUNNING") {
        handlers.onStatus?.(run);
        stopped = true;
        handlers.onEnd?.();
        return;
      }
      timer = setTimeout(poll, pollMs);
    } catch (error) {
      fail(error);
    }
  };

  function stop() {
    stopped = true;
    clearTimeout(timer);
    current?.cancel();
    current = null;
    readyResolve();
  }

  if (state.mode === "watch") {
    startWatch();
  } else {
    tracking("GetRun", { runId }).then((run) => {
      if (stopped) return;
      noteSummaries(run);
      handlers.onSnapshot?.(run);
      readyResolve();
      if (run.status !== "RUN_STATUS_RUNNING") {
        handlers.onStatus?.(run);
        stopped = true;
        handlers.onEnd?.();
        return;
      }
      timer = setTimeout(poll, pollMs);
    }, fail);
  }
  return state;
}

// -------------------------------------------------------------------------------------------
// Chart options (shared by every chart of a page)

export const X_MODES = { step: "Step", relative: "Relative time", time: "Wall time" };

/** The controls bar; `options` is mutated and `onChange(options)` called on each change. */
export function chartControls(options, onChange) {
  const value = h("output", { "data-test": "smoothing-value", text: options.smoothing.toFixed(2) });
  return h("div", { class: "chart-controls", "data-test": "chart-controls" },
    h("label", null, "X axis ",
      h("select", {
        "data-test": "x-axis",
        onchange: (e) => {
          options.xMode = e.target.value;
          onChange(options, "xMode");
        },
      }, Object.entries(X_MODES).map(([k, text]) => h("option", { value: k, selected: options.xMode === k, text })))),
    h("label", null,
      h("input", {
        type: "checkbox",
        "data-test": "log-y",
        checked: options.logY,
        onchange: (e) => {
          options.logY = e.target.checked;
          onChange(options, "logY");
        },
      }), " Log y"),
    h("label", { class: "smoothing" }, "Smoothing ",
      h("input", {
        type: "range", min: "0", max: "0.99", step: "0.01", value: String(options.smoothing),
        "data-test": "smoothing",
        oninput: (e) => {
          options.smoothing = Number(e.target.value);
          value.textContent = options.smoothing.toFixed(2);
          onChange(options, "smoothing");
        },
      }), value),
    h("span", { class: "muted hint-inline", text: "Drag to zoom · double-click to reset · shift-drag to pan" }));
}

export const defaultChartOptions = () => ({ xMode: "step", logY: false, smoothing: 0 });

// -------------------------------------------------------------------------------------------
// One chart

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function compact(v) {
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(2)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(1)}k`;
  return fmtNum(v);
}

function lowerBound(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// dygraphs loads with `async` (so it never delays the first page): charts wait for it.
let dygraphLoaded = null;
export function whenDygraph() {
  if (window.Dygraph) return Promise.resolve(window.Dygraph);
  if (!dygraphLoaded) {
    dygraphLoaded = new Promise((resolve, reject) => {
      const script = document.getElementById("dygraphs") ?? document.querySelector('script[src*="dygraph"]');
      if (!script) {
        reject(new Error("the chart library (dygraphs) is not on the page"));
        return;
      }
      script.addEventListener("load", () => (window.Dygraph ? resolve(window.Dygraph) : reject(new Error("dygraphs did not define window.Dygraph"))), { once: true });
      script.addEventListener("error", () => reject(new Error("the chart library (dygraphs) did not load")), { once: true });
    });
  }
  return dygraphLoaded;
}

function upperBound(xs, x) {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** A series with its zoom detail (full-resolution points of a step range) spliced in. */
function withDetail(s) {
  const d = s.detail;
  if (!d) return s;
  const a = lowerBound(s.steps, d.minStep);
  const b = upperBound(s.steps, d.maxStep);
  return {
    steps: [...s.steps.slice(0, a), ...d.steps, ...s.steps.slice(b)],
    values: [...s.values.slice(0, a), ...d.values, ...s.values.slice(b)],
    times: [...s.times.slice(0, a), ...d.times, ...s.times.slice(b)],
  };
}

let drawQueue = new Set();
let drawFrame = 0;
function scheduleDraw(chart) {
  if (chart.hold || chart.destroyed) return;
  drawQueue.add(chart);
  if (!drawFrame) {
    drawFrame = requestAnimationFrame(() => {
      drawFrame = 0;
      const queue = drawQueue;
      drawQueue = new Set();
      for (const c of queue) c.draw();
    });
  }
}

/**
 * A chart of one metric key with one series per run. `container` is emptied and filled;
 * `options` is the page's shared {xMode, logY, smoothing} object.
 */
export class MetricChart {
  constructor(container, { key, options, maxPoints = 1000, title = key, height = 240, fetchRange = null }) {
    this.key = key;
    // fetchRange(id, key, minStep, maxStep, maxPoints) → Promise<{steps, values, times}>: when
    // set, zooming in on downsampled series fetches the visible step range at full resolution.
    this.fetchRange = fetchRange;
    this.zoomCalls = 0;
    this.options = options;
    this.maxPoints = maxPoints;
    this.series = new Map(); // id → {id, label, color, startMs, order, steps, values, times}
    this.hold = false; // true: changes are not drawn until refresh() with hold false
    this.graph = null;
    this.built = [];
    this.destroyed = false;
    this.liveLastStep = null;
    this.lastXMode = options.xMode;
    this.lastLogY = null;
    this.container = container;
    container.classList.add("chart");
    container.dataset.test = "metric-chart";
    container.dataset.key = key;
    container.dataset.points = "0";
    container.dataset.series = "0";
    this.titleEl = h("div", { class: "chart-title", title: key }, h("span", { class: "chart-key", text: title }), h("span", { class: "chart-note muted" }));
    this.graphEl = h("div", { class: "chart-graph", "data-test": "chart-graph", style: { height: `${height}px` } });
    this.emptyEl = h("div", { class: "chart-empty muted", "data-test": "chart-empty", text: "Loading…", style: { height: `${height}px` } });
    this.legendEl = h("div", { class: "chart-legend", "data-test": "chart-legend" });
    replace(container, this.titleEl, this.emptyEl, this.graphEl, this.legendEl);
    this.graphEl.hidden = true;
  }

  /** Sets (replaces) a run's series. `data`: {steps, values, times} (arrays of numbers, step order). */
  setSeries(id, { label = id, color = PALETTE[0], startMs = 0, order = this.series.size } = {}, data = null) {
    const prev = this.series.get(id);
    const s = prev ?? { id };
    s.label = label;
    s.color = color;
    s.startMs = startMs;
    s.order = prev ? prev.order : order;
    if (data) {
      s.steps = data.steps.slice();
      s.values = data.values.slice();
      s.times = data.times.slice();
      s.downsampled = !!data.downsampled;
      s.detail = null;
    } else if (!prev) {
      s.steps = [];
      s.values = [];
      s.times = [];
    }
    this.series.set(id, s);
    scheduleDraw(this);
  }

  /** Appends live points of a run (points at or before its last step are duplicates and skipped). */
  append(id, steps, values, times) {
    const s = this.series.get(id);
    if (!s) return 0;
    let added = 0;
    let last = s.steps.length ? s.steps[s.steps.length - 1] : -Infinity;
    for (let i = 0; i < steps.length; i++) {
      if (steps[i] <= last) continue;
      s.steps.push(steps[i]);
      s.values.push(values[i]);
      s.times.push(times[i]);
      last = steps[i];
      added++;
    }
    if (added) {
      this.liveLastStep = this.liveLastStep === null ? last : Math.max(this.liveLastStep, last);
      this.container.dataset.liveLastStep = String(this.liveLastStep);
      if (s.steps.length > 3 * this.maxPoints) {
        const d = downsampleMinMax(s.steps, s.values, s.times, this.maxPoints);
        s.steps = d.steps;
        s.values = d.values;
        s.times = d.times;
      }
      scheduleDraw(this);
    }
    return added;
  }

  setNote(text) {
    this.titleEl.querySelector(".chart-note").textContent = text ? ` ${text}` : "";
  }

  setMessage(text) {
    this.emptyEl.textContent = text;
  }

  refresh() {
    scheduleDraw(this);
  }

  /** Builds the dygraphs data table: rows sorted by x, one column per series (null where absent). */
  buildData() {
    const { xMode, smoothing } = this.options;
    const logY = this.options.logY;
    const list = [...this.series.values()].sort((a, b) => a.order - b.order);
    const built = [];
    let total = 0;
    for (const s of list) {
      const v = withDetail(s);
      const n = v.values.length;
      let xs;
      if (xMode === "step") xs = v.steps;
      else {
        const base = xMode === "relative" ? (s.startMs || (n ? v.times[0] : 0)) : 0;
        xs = new Array(n);
        for (let i = 0; i < n; i++) xs[i] = v.times[i] - base;
      }
      let ys = smoothing > 0 ? ema(v.values, smoothing) : v.values;
      const raw = v.values;
      // Sort by x when x is a time (times need not follow steps).
      let order = null;
      if (xMode !== "step") {
        for (let i = 1; i < n; i++) {
          if (xs[i] < xs[i - 1]) {
            order = Array.from({ length: n }, (_, k) => k).sort((a, b) => xs[a] - xs[b]);
            break;
          }
        }
      }
      const bx = new Array(n);
      const by = new Array(n);
      const br = new Array(n);
      const bs = new Array(n);
      for (let k = 0; k < n; k++) {
        const i = order ? order[k] : k;
        bx[k] = xs[i];
        bs[k] = v.steps[i];
        let y = ys[i];
        if (y === Infinity || y === -Infinity || (logY && !(y > 0))) y = null;
        by[k] = y;
        br[k] = raw[i];
      }
      built.push({ s, xs: bx, ys: by, raw: br, steps: bs });
    }
    // Merge: one row per distinct x (series of similar runs share most of their x values); a
    // series with several points at one x gets more rows there, in its own order.
    const cols = built.length;
    const byX = new Map(); // x → row, or an array of rows when a series repeats an x
    const extra = new Set(); // the x values with several rows
    for (let j = 0; j < cols; j++) {
      const { xs, ys } = built[j];
      for (let i = 0; i < xs.length; i++) {
        const x = xs[i];
        if (!Number.isFinite(x)) continue;
        const y = ys[i];
        let row = byX.get(x);
        if (row === undefined) {
          row = new Array(cols + 1);
          row[0] = x;
          byX.set(x, row);
        } else if (extra.has(x)) {
          row = row.find((r) => r[j + 1] === undefined) ?? (() => {
            const r = new Array(cols + 1);
            r[0] = x;
            byX.get(x).push(r);
            return r;
          })();
        } else if (row[j + 1] !== undefined) {
          const r = new Array(cols + 1);
          r[0] = x;
          byX.set(x, [row, r]);
          extra.add(x);
          row = r;
        }
        row[j + 1] = y;
        if (y !== null && !Number.isNaN(y)) total++;
      }
    }
    const keys = [...byX.keys()].sort((p, q) => p - q);
    const rows = [];
    for (const x of keys) {
      if (extra.has(x)) rows.push(...byX.get(x));
      else rows.push(byX.get(x));
    }
    for (const r of rows) for (let j = 1; j <= cols; j++) if (r[j] === undefined) r[j] = null;
    this.built = built;
    return { rows, total, labels: ["x", ...built.map((b) => b.s.id)], colors: built.map((b) => b.s.color) };
  }

  xFormatter() {
    const mode = this.options.xMode;
    if (mode === "time") return (x) => fmtTime(x);
    if (mode === "relative") return (x) => fmtDuration(x);
    return (x) => `step ${Math.round(x).toLocaleString("en-US")}`;
  }

  axesOptions() {
    const mode = this.options.xMode;
    const Dygraph = window.Dygraph;
    const x = mode === "time"
      ? { ticker: Dygraph.dateTicker, axisLabelFormatter: Dygraph.dateAxisLabelFormatter, valueFormatter: (v) => fmtTime(v) }
      : mode === "relative"
        ? { ticker: Dygraph.numericTicks, axisLabelFormatter: (v) => fmtDuration(v), valueFormatter: (v) => fmtDuration(v) }
        : { ticker: Dygraph.numericTicks, axisLabelFormatter: (v) => (Number.isInteger(v) ? compact(v) : ""), valueFormatter: (v) => String(v) };
    return {
      x: { ...x, axisLabelWidth: 70, pixelsPerLabel: 80 },
      y: { axisLabelFormatter: (v) => compact(v), valueFormatter: (v) => fmtNum(v), axisLabelWidth: 56 },
    };
  }

  legend(data) {
    const fx = this.xFormatter();
    const smoothing = this.options.smoothing > 0;
    if (data.x === undefined || data.x === null) {
      if (this.built.length <= 1) return "";
      if (this.built.length > 6) return `<span class="muted">${this.built.length} runs · hover for values</span>`;
      return this.built.map((b) =>
        `<span class="legend-item"><span class="legend-swatch" style="background:${b.s.color}"></span>${esc(b.s.label)}</span>`).join("");
    }
    const highlighted = new Set(data.series.filter((s) => s.isHighlighted).map((s) => s.label));
    const parts = [`<span class="legend-x">${esc(fx(data.x))}</span>`];
    for (const b of this.built) {
      if (!b.xs.length) continue;
      // The series' point nearest to x (series rarely share x values).
      let i = lowerBound(b.xs, data.x);
      if (i >= b.xs.length) i = b.xs.length - 1;
      else if (i > 0 && data.x - b.xs[i - 1] < b.xs[i] - data.x) i--;
      const y = b.ys[i];
      const text = y === null ? fmtNum(b.raw[i]) : fmtNum(y);
      const rawText = smoothing ? ` <span class="muted">(${esc(fmtNum(b.raw[i]))})</span>` : "";
      const cls = highlighted.has(b.s.id) ? "legend-item highlighted" : "legend-item";
      parts.push(`<span class="${cls}"><span class="legend-swatch" style="background:${b.s.color}"></span>${esc(b.s.label)}: <b>${esc(text)}</b>${rawText}</span>`);
    }
    return parts.join("");
  }

  draw() {
    if (this.destroyed) return;
    const Dygraph = window.Dygraph;
    if (!Dygraph) {
      whenDygraph().then(() => scheduleDraw(this), (error) => this.setMessage(error.message));
      return;
    }
    // A new x mode or y scale resets the zoom, and with it the zoom's full-resolution detail.
    const modeChanged = this.lastXMode !== this.options.xMode || this.lastLogY !== this.options.logY;
    if (modeChanged && [...this.series.values()].some((s) => s.detail)) {
      for (const s of this.series.values()) s.detail = null;
      delete this.container.dataset.detail;
      this.zoomCalls++;
    }
    const { rows, total, labels, colors } = this.buildData();
    this.container.dataset.points = String(total);
    this.container.dataset.series = String(this.built.length);
    this.container.dataset.xMode = this.options.xMode;
    this.container.dataset.smoothing = String(this.options.smoothing);
    const logY = this.options.logY && total > 0;
    this.container.dataset.logY = String(logY);
    if (total === 0) {
      if (this.series.size) {
        const anyPoints = [...this.series.values()].some((s) => s.values.length);
        this.setMessage(!anyPoints ? "No points yet" : this.options.logY ? "No positive values to show on a log scale" : "No finite values");
      }
      this.emptyEl.hidden = false;
      this.graphEl.hidden = true;
      return;
    }
    this.emptyEl.hidden = true;
    this.graphEl.hidden = false;
    const resetZoom = modeChanged;
    this.lastXMode = this.options.xMode;
    this.lastLogY = this.options.logY;
    // Short series get dots (a single point would not show as a line).
    const longest = Math.max(...this.built.map((b) => b.xs.length));
    const options = {
      file: rows,
      labels,
      colors,
      logscale: logY,
      axes: this.axesOptions(),
      drawPoints: longest <= 60,
      pointSize: 2,
    };
    if (resetZoom) {
      options.dateWindow = null;
      options.valueRange = null;
      this.container.dataset.zoomed = "false";
    }
    if (this.graph) {
      this.graph.updateOptions(options);
      return;
    }
    delete options.file;
    this.graph = new Dygraph(this.graphEl, rows, {
      ...options,
      connectSeparatedPoints: true,
      strokeWidth: 1.3,
      legend: "always",
      labelsDiv: this.legendEl,
      legendFormatter: (data) => this.legend(data),
      highlightSeriesOpts: this.series.size > 1 ? { strokeWidth: 2.2, highlightCircleSize: 3 } : null,
      highlightSeriesBackgroundAlpha: 0.6,
      highlightCircleSize: 3,
      animatedZooms: false,
      rightGap: 12,
      gridLineColor: "#e3e6ea",
      axisLineColor: "#b8bec6",
      xRangePad: 4,
      zoomCallback: (minX, maxX) => this.zoomed(minX, maxX),
    });
  }

  /** After a zoom: full-resolution points of the visible range for downsampled series. */
  zoomed(minX, maxX) {
    const token = ++this.zoomCalls;
    const zoomed = this.graph?.isZoomed("x");
    this.container.dataset.zoomed = String(!!zoomed);
    if (!zoomed) {
      let had = false;
      for (const s of this.series.values()) {
        had = had || !!s.detail;
        s.detail = null;
      }
      delete this.container.dataset.detail;
      if (had) scheduleDraw(this);
      return;
    }
    if (!this.fetchRange) return;
    const wanted = [];
    for (const b of this.built) {
      if (!b.s.downsampled || b.xs.length === 0) continue;
      const i0 = Math.max(0, lowerBound(b.xs, minX) - 1);
      const i1 = Math.min(b.xs.length - 1, upperBound(b.xs, maxX));
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = i0; i <= i1; i++) {
        lo = Math.min(lo, b.steps[i]);
        hi = Math.max(hi, b.steps[i]);
      }
      if (Number.isFinite(lo) && hi > lo) wanted.push({ s: b.s, lo, hi });
    }
    if (!wanted.length) return;
    this.container.dataset.detail = "loading";
    Promise.all(wanted.map(({ s, lo, hi }) => this.fetchRange(s.id, this.key, lo, hi, this.maxPoints).then((d) => {
      if (token !== this.zoomCalls || this.destroyed || !d) return;
      s.detail = { minStep: lo, maxStep: hi, steps: d.steps, values: d.values, times: d.times };
    }))).then(() => {
      if (token !== this.zoomCalls || this.destroyed) return;
      this.container.dataset.detail = "loaded";
      scheduleDraw(this);
    }, () => {
      if (token === this.zoomCalls) this.container.dataset.detail = "error";
    });
  }

  destroy() {
    this.destroyed = true;
    drawQueue.delete(this);
    this.graph?.destroy();
    this.graph = null;
  }
}

/** A fetchRange for MetricChart: GetMetricHistory of one key over a step range. */
export function fetchRange(runId, key, minStep, maxStep, maxPoints) {
  return fetchHistory(runId, { keys: [key], minStep, maxStep, maxPoints }).done.then((series) => series.get(key) ?? null);
}

/**
 * Chart width → max_points to ask the daemon for: about one point per pixel of the plot area
 * (the chart's box less its padding, the y-axis labels and the right gap).
 */
export function pointsForWidth(width) {
  return Math.max(200, Math.min(2000, Math.round((width || 800) - 90)));
}
