// Graphics and small shared helpers of the jobs views (views/sweeps.js, views/evaluations.js,
// views/jobs.js): SVG charts drawn by hand (no third-party code), the element builders, number
// and time formatting, a throttle, a reconnecting job watcher and the views' CSS (classes
// prefixed `tj-`, injected once into <head> as <style id="tj-style">).
//
// Charts (each sets data-points="<n drawn>" on its container):
//   bestSoFarChart       data-test="best-so-far"       scatter of trial scores + best-so-far step line
//   parallelCoordinates  data-test="parallel-coords"   one axis per param + the objective, a line per trial
//   confusionHeatmap     data-test="confusion-matrix"  cells <g data-test="confusion-cell" data-actual
//                                                      data-predicted data-count data-share>
//   reliabilityDiagram   data-test="reliability"       bins <rect data-test="reliability-bin" data-bin
//                                                      data-count data-accuracy data-confidence>
//   barChart             data-test="bar-chart"         grouped horizontal bars
//   progressBar          data-test given by the caller; data-progress="<0..1>" (data-job-id when given)

import { experiments, experimentsStream, int } from "./api.js";

const SVG_NS = "http://www.w3.org/2000/svg";

// ---------------------------------------------------------------------------------------------
// Element builders

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "style" && typeof value === "object") Object.assign(node.style, value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
  }
}

/** An HTML element: h("td", { class: "tj-num", "data-test": "x", onclick: f }, "text", node, [more]). */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** An SVG element, like h(). */
export function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// ---------------------------------------------------------------------------------------------
// Formatting

export { int };

/** A number with `digits` significant digits, exponent notation outside [1e-3, 1e6). */
export function fmtNumber(x, digits = 4) {
  if (x === undefined || x === null || x === "") return "";
  const v = Number(x);
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e9) return String(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, "e");
  const s = v.toPrecision(digits);
  return s.includes(".") ? s.replace(/\.?0+$/, "") : s;
}

export const fmtPercent = (x, digits = 1) => `${(Number(x ?? 0) * 100).toFixed(digits)}%`;

export function fmtMs(ms) {
  const v = Number(ms ?? 0);
  if (v < 1000) return `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  return `${(v / 1000).toFixed(2)} s`;
}

const pad = (n) => String(n).padStart(2, "0");

/** Unix milliseconds (number or int64 string) as local "YYYY-MM-DD HH:MM:SS"; "" for 0. */
export function fmtTime(ms) {
  const v = int(ms);
  if (!v) return "";
  const d = new Date(v);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A compact time for tables: "HH:MM:SS" today, "MM-DD HH:MM:SS" this year, else fmtTime(). */
export function fmtTimeShort(ms, now = new Date()) {
  const v = int(ms);
  if (!v) return "";
  const d = new Date(v);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === now.toDateString()) return time;
  if (d.getFullYear() === now.getFullYear()) return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
  return fmtTime(v);
}

export function fmtDuration(ms) {
  const v = Math.max(0, Number(ms ?? 0));
  if (v < 1000) return `${Math.round(v)} ms`;
  if (v < 60_000) return `${(v / 1000).toFixed(1)} s`;
  const s = Math.round(v / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** A job's duration: from start to end, or to now while it runs. */
export function jobDuration(job) {
  const start = int(job.startedAtMs);
  if (!start) return "";
  const end = int(job.completedAtMs) || (shortEnum(job.status) === "running" ? Date.now() : 0);
  return end ? fmtDuration(end - start) : "";
}

/** "JOB_STATUS_RUNNING" → "running" (any enum name: the part after the type's prefix). */
export function shortEnum(name, prefix) {
  if (!name) return "unspecified";
  if (prefix && name.startsWith(prefix)) return name.slice(prefix.length).toLowerCase();
  const known = ["JOB_STATUS_", "TRIAL_STATUS_", "SWEEP_METHOD_", "OBJECTIVE_DIRECTION_", "SAMPLING_"];
  for (const p of known) if (name.startsWith(p)) return name.slice(p.length).toLowerCase();
  return String(name).toLowerCase();
}

/** A ParamValue (proto3 JSON) as a JS value: string, number or boolean. */
export function paramValue(p) {
  if (!p || typeof p !== "object") return p;
  if ("stringValue" in p) return p.stringValue;
  if ("intValue" in p) return Number(p.intValue);
  if ("doubleValue" in p) return Number(p.doubleValue);
  if ("boolValue" in p) return Boolean(p.boolValue);
  return 0; // every field at its default: the oneof is unset (or int 0 written as absent)
}

export function fmtParam(p) {
  const v = paramValue(p);
  if (typeof v === "number") return fmtNumber(v, 5);
  return String(v);
}

export function statusBadge(status, attrs = {}) {
  const s = shortEnum(status);
  return h("span", { class: `tj-badge tj-status-${s}`, "data-status": s, ...attrs }, s);
}

// ---------------------------------------------------------------------------------------------
// Progress bar, errors, misc.

/**
 * A progress bar: <div class="tj-progress" role="progressbar"> with an inner fill. `fraction`
 * null means unknown (striped). Returns the element; update it with setProgress().
 */
export function progressBar(fraction, { test, jobId, label } = {}) {
  const bar = h("div", { class: "tj-progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "1", "data-test": test, "data-job-id": jobId },
    h("div", { class: "tj-progress-fill" }),
    h("span", { class: "tj-progress-label" }));
  setProgress(bar, fraction, label);
  return bar;
}

export function setProgress(bar, fraction, label) {
  const known = fraction !== null && fraction !== undefined && Number.isFinite(fraction);
  const f = known ? Math.min(1, Math.max(0, fraction)) : 0;
  bar.dataset.progress = String(Math.round(f * 10000) / 10000);
  bar.setAttribute("aria-valuenow", String(f));
  bar.classList.toggle("tj-indeterminate", !known);
  bar.firstChild.style.width = known ? `${(f * 100).toFixed(2)}%` : "100%";
  bar.lastChild.textContent = label ?? (known ? fmtPercent(f, 0) : "");
}

/** The progress of a job as a fraction, or null when unknown (a sweep bounded only by time). */
export function jobFraction(job) {
  const total = int(job.progressTotal);
  const current = int(job.progressCurrent);
  const status = shortEnum(job.status);
  if (total > 0) return current / total;
  if (status === "completed") return 1;
  if (status === "running") return null;
  return 0;
}

export function errorBox(error, test = "error") {
  const code = error?.codeName && error.codeName !== "UNKNOWN" ? `${error.codeName}: ` : "";
  return h("div", { class: "tj-error", "data-test": test, "data-code": error?.codeName ?? "UNKNOWN", role: "alert" }, code + (error?.message ?? String(error)));
}

/**
 * The route of a view: the router passes { path: ["sweeps", "<id>"], query: URLSearchParams }
 * (a bare URLSearchParams, or one with .id, is accepted too).
 */
export function routeParams(params) {
  const path = Array.isArray(params?.path) ? params.path : [];
  const query = params?.query instanceof URLSearchParams ? params.query
    : params instanceof URLSearchParams ? params : new URLSearchParams();
  const id = path[1] ?? params?.id ?? query.get("id") ?? null;
  return { path, query, id: id ? decodeURIComponent(id) : null };
}

/**
 * Inserts (or moves) a table row so that rows stay sorted by creation time, newest first, as
 * ListJobs returns them. The row must carry data-created (unix ms).
 */
export function insertByCreated(tbody, tr) {
  const created = Number(tr.dataset.created ?? 0);
  for (const other of tbody.children) {
    if (other !== tr && Number(other.dataset.created ?? 0) < created) {
      tbody.insertBefore(tr, other);
      return;
    }
  }
  tbody.appendChild(tr);
}

export const isActive = (status) => {
  const s = shortEnum(status);
  return s === "pending" || s === "running";
};

/**
 * A trailing throttle: call() runs fn at most once per `ms` (a number, or a function returning
 * one; the last call wins, run at the end of the window). cancel() drops a pending run.
 */
/**
 * Shows a Cancel button for an active job in `actions` (once), or removes it when the job is no
 * longer active. `prefix` names the data-test hooks (`<prefix>-cancel`, `<prefix>-cancel-result`),
 * `noun` the result text; `onUpdated(job)` gets the job CancelJob answered.
 */
export function syncCancelButton(actions, { job, jobId, prefix, noun, isDisposed, onUpdated }) {
  const hook = `${prefix}-cancel`;
  if (!isActive(job.status)) {
    actions.querySelector(`[data-test="${hook}"]`)?.remove();
    return;
  }
  if (actions.querySelector(`[data-test="${hook}"]`)) return;
  const result = h("span", { "data-test": `${hook}-result` });
  const button = h("button", {
    class: "tj-button tj-danger", "data-test": hook,
    onclick: async () => {
      button.disabled = true;
      button.textContent = "Cancelling…";
      try {
        const updated = await experiments("CancelJob", { jobId });
        if (isDisposed()) return;
        fill(result, h("span", { class: "tj-result-ok" }, `${noun} ${shortEnum(updated.status)}`));
        onUpdated(updated);
      } catch (error) {
        if (isDisposed()) return;
        button.disabled = false;
        button.textContent = "Cancel";
        fill(result, h("span", { class: "tj-result-err" }, `${error.codeName}: ${error.message}`));
      }
    },
  }, "Cancel");
  fill(actions, button, result);
}

/**
 * Runs a view's first load: an error goes into `message` (and `root.dataset.error`), and
 * `root.dataset.ready` is set either way, unless the view was left meanwhile.
 */
export async function firstLoad(root, message, load, isDisposed) {
  try {
    await load();
  } catch (error) {
    if (!isDisposed()) {
      fill(message, errorBox(error));
      root.dataset.error = "true";
    }
  } finally {
    if (!isDisposed()) root.dataset.ready = "true";
  }
}

// The pages of the job kinds: where each is shown, what it is called.
const JOB_PAGES = {
  sweep: { route: "#/sweeps/", noun: "a sweep", link: "show it as a sweep" },
  classification_eval: { route: "#/evaluations/", noun: "a classification evaluation", link: "show it as an evaluation" },
};

/**
 * Fetches the job of a detail page. A job of another kind is not shown here: the page gets an
 * error with a link to the job's own page (`root.dataset.error`), and the result is null, as it
 * is when the view was left meanwhile.
 */
export async function jobOfKind(root, message, jobId, kind, isDisposed) {
  const job = await experiments("GetJob", { jobId });
  if (isDisposed()) return null;
  if (!job.kind || job.kind === kind) return job;
  const other = JOB_PAGES[job.kind];
  fill(message,
    errorBox({ codeName: "INVALID_ARGUMENT", message: `job ${jobId} is a ${job.kind} job, not ${JOB_PAGES[kind].noun}` }),
    other ? h("a", { href: `${other.route}${encodeURIComponent(jobId)}` }, other.link) : null);
  root.dataset.error = "true";
  return null;
}

export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  let pending = false;
  const run = () => {
    timer = null;
    pending = false;
    last = Date.now();
    fn();
  };
  return {
    call() {
      pending = true;
      if (timer !== null) return;
      const wait = Math.max(0, last + (typeof ms === "function" ? ms() : ms) - Date.now());
      timer = setTimeout(run, wait);
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      pending = false;
    },
    get pending() {
      return pending;
    },
  };
}

/**
 * A throttled async refresh that never overlaps itself: call() schedules `fn` (at most once per
 * `ms`), now() runs it at once; a call while `fn` runs schedules one more run after it. `fn` must
 * handle its own errors. cancel() stops everything.
 */
export function refresher(fn, ms) {
  let running = false;
  let again = false;
  let stopped = false;
  const run = async () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } catch (error) {
      void error; // fn reports its own errors
    } finally {
      running = false;
      if (again && !stopped) {
        again = false;
        t.call();
      }
    }
  };
  const t = throttle(run, ms);
  return {
    call: () => t.call(),
    now: () => {
      t.cancel();
      return run();
    },
    cancel: () => {
      stopped = true;
      t.cancel();
    },
  };
}

/**
 * Follows WatchJob or WatchJobs and reconnects (with from_seq = the last seq seen) when the stream
 * fails, e.g. when the daemon restarts. `onEvent(event)` gets each JobEvent. A WatchJob stream that
 * ends OK (after the job's terminal event) is not reopened; WatchJobs always is. `onState(state,
 * error)` is told "live", "reconnecting" or "ended". Returns { cancel }.
 */
export function watchJobs(method, request, onEvent, onState = () => {}) {
  let lastSeq = null;
  let current = null;
  let timer = null;
  let cancelled = false;
  let delay = 1000;
  const open = () => {
    if (cancelled) return;
    const req = { ...request };
    if (lastSeq !== null) req.fromSeq = lastSeq;
    let gotAny = false;
    // The stream is open once it has not failed for a moment (WatchJobs may stay silent).
    const openTimer = setTimeout(() => {
      if (!cancelled && !gotAny) onState("live");
    }, 1000);
    current = experimentsStream(method, req, (event) => {
      if (cancelled) return;
      if (!gotAny) {
        gotAny = true;
        delay = 1000;
        onState("live");
      }
      if (event.seq !== undefined) lastSeq = String(event.seq);
      onEvent(event);
    });
    current.done.finally(() => clearTimeout(openTimer)).catch(() => {});
    current.done.then(
      () => {
        if (cancelled) return;
        if (method === "WatchJob") onState("ended");
        else retry(null);
      },
      (error) => {
        if (cancelled) return;
        // Errors that a retry will not fix end the watch.
        if ([3, 5, 7, 12, 16].includes(error.code)) {
          onState("ended", error);
          return;
        }
        retry(error);
      },
    );
  };
  const retry = (error) => {
    onState("reconnecting", error);
    timer = setTimeout(open, delay);
    delay = Math.min(delay * 2, 10_000);
  };
  open();
  return {
    cancel() {
      cancelled = true;
      if (timer !== null) clearTimeout(timer);
      current?.cancel();
    },
  };
}

/**
 * WatchJobs announces a job when it starts, not when it is queued: a job created while every
 * worker is busy stays unseen until then. This polls the pending jobs (of `kind`, or all) every
 * `ms` and hands each to `onJob`. Returns { cancel }.
 */
export function pollPending(kind, onJob, ms = 5000) {
  let stopped = false;
  let timer = null;
  const tick = async () => {
    try {
      const request = { statuses: ["JOB_STATUS_PENDING"], pageSize: 50 };
      if (kind) request.kind = kind;
      const response = await experiments("ListJobs", request);
      if (!stopped) for (const job of response.jobs ?? []) onJob(job);
    } catch (error) {
      void error; // the watch shows the connection state
    }
    if (!stopped) timer = setTimeout(tick, ms);
  };
  timer = setTimeout(tick, ms);
  return {
    cancel() {
      stopped = true;
      if (timer !== null) clearTimeout(timer);
    },
  };
}

/** The live/reconnecting indicator shown next to a view's title. */
export function liveIndicator() {
  const node = h("span", { class: "tj-live", "data-test": "live-state", "data-state": "connecting" }, "connecting…");
  node.set = (state, error) => {
    node.dataset.state = state;
    node.textContent = { live: "● live", reconnecting: "reconnecting…", ended: "", connecting: "connecting…" }[state] ?? state;
    node.title = error ? error.message : "";
  };
  return node;
}

// ---------------------------------------------------------------------------------------------
// Scales and colors

function niceStep(span, count) {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  return (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
}

/** Round tick values covering [lo, hi]. */
export function linearTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const step = niceStep(hi - lo, count);
  const first = Math.ceil(lo / step - 1e-9) * step;
  const ticks = [];
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return ticks;
}

function logTicks(lo, hi) {
  const ticks = [];
  for (let e = Math.ceil(Math.log10(lo) - 1e-9); e <= Math.floor(Math.log10(hi) + 1e-9); e++) ticks.push(10 ** e);
  if (ticks.length < 2) return [lo, hi];
  return ticks;
}

/**
 * A scale of one axis: { map(v) → 0..1, ticks: [{ value, label }], kind }.
 * kind: "linear" | "log" | "categorical" (values: the categories in order).
 */
export function makeScale({ kind = "linear", low, high, values = [], integer = false }) {
  if (kind === "categorical") {
    const keys = values.map((v) => String(v));
    const n = keys.length;
    const pos = (v) => {
      const i = keys.indexOf(String(v));
      return i < 0 ? NaN : n === 1 ? 0.5 : i / (n - 1);
    };
    return { kind, map: pos, ticks: keys.map((k) => ({ value: k, label: k, at: pos(k) })) };
  }
  let lo = Number(low);
  let hi = Number(high);
  if (kind === "log" && lo > 0 && hi > 0) {
    if (hi === lo) { lo /= 10; hi *= 10; }
    const a = Math.log10(lo);
    const b = Math.log10(hi);
    const map = (v) => (Math.log10(v) - a) / (b - a);
    return { kind, map, ticks: logTicks(lo, hi).map((t) => ({ value: t, label: fmtNumber(t, 3), at: map(t) })) };
  }
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const map = (v) => (v - lo) / (hi - lo);
  let values_ = linearTicks(lo, hi, 4);
  if (integer) {
    // integer params: whole-number ticks only (every one when there are few)
    values_ = hi - lo <= 8 ? Array.from({ length: Math.floor(hi) - Math.ceil(lo) + 1 }, (_, i) => Math.ceil(lo) + i) : values_.filter(Number.isInteger);
  }
  return { kind: "linear", map, ticks: values_.map((t) => ({ value: t, label: fmtNumber(t, 3), at: map(t) })) };
}

// viridis, from its published stops
const VIRIDIS = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725"];

function hexToRgb(hex) {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

function interpolate(stops, t) {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = hexToRgb(stops[i]);
  const b = hexToRgb(stops[i + 1]);
  const c = a.map((v, k) => Math.round(v + (b[k] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

/** Color of a score: `goodness` 1 = best (dark purple), 0 = worst (yellow-green). */
export const scoreColor = (goodness) => interpolate(VIRIDIS, 0.88 * (1 - goodness));

/** Color of a heatmap cell, 0 = white … 1 = dark blue. */
export const heatColor = (t) => interpolate(["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"], t);

// ---------------------------------------------------------------------------------------------
// Charts

function chartFrame(container, test, width, height) {
  const root = svg("svg", { class: "tj-chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  container.classList.add("tj-chart-box");
  container.dataset.test = container.dataset.test || test;
  fill(container, root);
  return root;
}

function emptyNote(container, test, text) {
  container.classList.add("tj-chart-box");
  container.dataset.test = container.dataset.test || test;
  container.dataset.points = "0";
  fill(container, h("div", { class: "tj-empty" }, text));
}

/**
 * Scores of completed trials by trial number, and the best so far as a step line.
 * points: [{ x: trial number, y: score, label }]; direction "minimize" | "maximize".
 */
export function bestSoFarChart(container, { points, direction = "minimize", metric = "score", width = 560, height = 260, logY = false }) {
  const pts = points.filter((p) => Number.isFinite(p.y)).sort((a, b) => a.x - b.x);
  if (pts.length === 0) return emptyNote(container, "best-so-far", "No completed trials yet.");
  const useLog = logY && pts.every((p) => p.y > 0);
  const m = { left: 58, right: 14, top: 14, bottom: 36 };
  const W = width - m.left - m.right;
  const H = height - m.top - m.bottom;
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => p.y);
  // Half a trial of room on both sides, 5% above and below the scores.
  const xScale = makeScale({ low: Math.min(...xs) - 0.5, high: Math.max(...xs) + 0.5 });
  const yLo = Math.min(...ys);
  const yHi = Math.max(...ys);
  const yScale = useLog
    ? makeScale({ kind: "log", low: yLo / (yHi > yLo ? (yHi / yLo) ** 0.05 : 1.5), high: yHi * (yHi > yLo ? (yHi / yLo) ** 0.05 : 1.5) })
    : makeScale({ low: yHi > yLo ? yLo - 0.05 * (yHi - yLo) : yLo, high: yHi > yLo ? yHi + 0.05 * (yHi - yLo) : yHi });
  const X = (v) => m.left + xScale.map(v) * W;
  const Y = (v) => m.top + (1 - yScale.map(v)) * H;
  const root = chartFrame(container, "best-so-far", width, height);
  const better = direction === "maximize" ? (a, b) => a > b : (a, b) => a < b;

  const grid = svg("g", { class: "tj-axis" });
  for (const t of yScale.ticks) {
    if (t.at < -1e-9 || t.at > 1 + 1e-9) continue;
    const y = m.top + (1 - t.at) * H;
    grid.append(svg("line", { x1: m.left, x2: m.left + W, y1: y, y2: y, class: "tj-gridline" }),
      svg("text", { x: m.left - 6, y: y + 4, "text-anchor": "end" }, t.label));
  }
  for (const t of xScale.ticks) {
    if (t.at < -1e-9 || t.at > 1 + 1e-9 || !Number.isInteger(t.value)) continue;
    const x = m.left + t.at * W;
    grid.append(svg("line", { x1: x, x2: x, y1: m.top + H, y2: m.top + H + 4, class: "tj-tick" }),
      svg("text", { x, y: m.top + H + 16, "text-anchor": "middle" }, t.label));
  }
  grid.append(svg("line", { x1: m.left, x2: m.left + W, y1: m.top + H, y2: m.top + H, class: "tj-axisline" }),
    svg("text", { x: m.left + W / 2, y: height - 4, "text-anchor": "middle", class: "tj-axis-title" }, "trial"),
    svg("text", { x: 12, y: m.top + H / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${m.top + H / 2})`, class: "tj-axis-title" }, metric));
  root.append(grid);

  let best = null;
  const steps = [];
  for (const p of pts) {
    if (best === null || better(p.y, best)) best = p.y;
    steps.push([p.x, best]);
  }
  let d = "";
  steps.forEach(([x, y], i) => {
    if (i === 0) d += `M${X(x)},${Y(y)}`;
    else d += `H${X(x)}V${Y(y)}`;
  });
  d += `H${m.left + W}`;
  root.append(svg("path", { d, class: "tj-best-line", "data-test": "best-so-far-line" }));
  const dots = svg("g");
  for (const p of pts) {
    const isBest = p.y === best;
    dots.append(svg("circle", { cx: X(p.x), cy: Y(p.y), r: isBest ? 5 : 3.2, class: isBest ? "tj-dot tj-dot-best" : "tj-dot" },
      svg("title", {}, p.label ?? `trial ${p.x}: ${fmtNumber(p.y, 6)}`)));
  }
  root.append(dots);
  container.dataset.points = String(pts.length);
}

/**
 * Parallel coordinates (SVG): one vertical axis per entry of `axes` ({ name, kind, low, high,
 * values }) and a polyline per row ({ id, values: [...] in axes order, goodness 0..1 or null,
 * label, highlight }). Lines are colored by goodness (scoreColor); rows without it are gray.
 */
export function parallelCoordinates(container, { axes, rows, width = 820, height = 320, onSelect }) {
  if (axes.length === 0 || rows.length === 0) return emptyNote(container, "parallel-coords", "No trials with a score yet.");
  const m = { left: 40, right: 60, top: 30, bottom: 26 };
  const W = width - m.left - m.right;
  const H = height - m.top - m.bottom;
  const scales = axes.map(makeScale);
  const gap = axes.length > 1 ? W / (axes.length - 1) : 0;
  const AX = (i) => m.left + (axes.length > 1 ? i * gap : W / 2);
  const root = chartFrame(container, "parallel-coords", width, height);
  const lines = svg("g", { class: "tj-pc-lines" });
  // draw worst first so the best lines end up on top
  const ordered = [...rows].sort((a, b) => (a.highlight ? 1 : 0) - (b.highlight ? 1 : 0) || (a.goodness ?? -1) - (b.goodness ?? -1));
  let drawn = 0;
  for (const row of ordered) {
    const coords = [];
    row.values.forEach((v, i) => {
      const t = scales[i].map(v);
      if (Number.isFinite(t)) coords.push([AX(i), m.top + (1 - Math.min(1, Math.max(0, t))) * H]);
    });
    if (coords.length < Math.min(2, axes.length)) continue;
    const color = row.goodness === null || row.goodness === undefined ? "#b0b0b0" : scoreColor(row.goodness);
    const line = svg("polyline", {
      points: coords.map((c) => c.map((n) => n.toFixed(1)).join(",")).join(" "),
      stroke: color,
      class: row.highlight ? "tj-pc-line tj-pc-best" : "tj-pc-line",
      "data-test": "pc-line",
      "data-id": row.id,
    }, svg("title", {}, row.label ?? row.id));
    if (onSelect) line.addEventListener("click", () => onSelect(row));
    lines.append(line);
    drawn++;
  }
  root.append(lines);
  axes.forEach((axis, i) => {
    const x = AX(i);
    const g = svg("g", { class: "tj-axis tj-pc-axis", "data-test": "pc-axis", "data-name": axis.name });
    g.append(svg("line", { x1: x, x2: x, y1: m.top, y2: m.top + H, class: "tj-axisline" }));
    for (const t of scales[i].ticks) {
      if (!(t.at >= -1e-9 && t.at <= 1 + 1e-9)) continue;
      const y = m.top + (1 - t.at) * H;
      const label = t.label.length > 12 ? `${t.label.slice(0, 11)}…` : t.label;
      g.append(svg("line", { x1: x - 3, x2: x + 3, y1: y, y2: y, class: "tj-tick" }),
        svg("text", { x: x + 5, y: y + 3.5, class: "tj-pc-tick" }, label));
    }
    const title = axis.name + (axis.kind === "log" ? " (log)" : "");
    g.append(svg("text", { x, y: m.top - 12, "text-anchor": "middle", class: axis.objective ? "tj-axis-title tj-pc-objective" : "tj-axis-title" }, title));
    root.append(g);
  });
  container.dataset.points = String(drawn);
}

/** A horizontal gradient legend: worst … best. */
export function scoreLegend(worstLabel, bestLabel) {
  const stops = [];
  for (let i = 0; i <= 10; i++) stops.push(`${scoreColor(i / 10)} ${i * 10}%`);
  return h("div", { class: "tj-legend" },
    h("span", {}, worstLabel),
    h("span", { class: "tj-legend-bar", style: { background: `linear-gradient(to right, ${stops.join(", ")})` } }),
    h("span", {}, bestLabel));
}

/**
 * A confusion matrix as a heatmap: rows = actual labels, columns = predicted labels, a count in
 * each cell, the color by the row-normalised value. `count(actual, predicted)`; `onCell(a, p)`.
 */
export function confusionHeatmap(container, { rows, cols, count, names = {}, onCell, selected }) {
  if (rows.length === 0) return emptyNote(container, "confusion-matrix", "No results yet.");
  const cell = Math.max(30, Math.min(56, Math.floor(560 / Math.max(cols.length, 1))));
  const labelWidth = Math.min(150, 14 + 7 * Math.max(...rows.map((r) => (names[r] ?? r).length), 6));
  const headHeight = Math.min(120, 20 + 6 * Math.max(...cols.map((c) => (names[c] ?? c).length), 6));
  const rowTotalWidth = 48;
  const width = labelWidth + cols.length * cell + rowTotalWidth + 24;
  const height = headHeight + rows.length * cell + 28;
  const root = chartFrame(container, "confusion-matrix", width, height);
  let drawn = 0;
  const ox = labelWidth + 20;
  const oy = headHeight;
  cols.forEach((c, j) => {
    const x = ox + j * cell + cell / 2;
    root.append(svg("text", { x, y: oy - 6, transform: `rotate(-45 ${x} ${oy - 6})`, class: "tj-hm-label" }, names[c] ?? c));
  });
  root.append(svg("text", { x: ox + (cols.length * cell) / 2, y: height - 6, "text-anchor": "middle", class: "tj-axis-title" }, "predicted"),
    svg("text", { x: 10, y: oy + (rows.length * cell) / 2, "text-anchor": "middle", transform: `rotate(-90 10 ${oy + (rows.length * cell) / 2})`, class: "tj-axis-title" }, "actual"),
    svg("text", { x: ox + cols.length * cell + 8, y: oy - 6, class: "tj-hm-label" }, "n"));
  rows.forEach((r, i) => {
    const y = oy + i * cell;
    const total = cols.reduce((sum, c) => sum + count(r, c), 0);
    root.append(svg("text", { x: ox - 6, y: y + cell / 2 + 4, "text-anchor": "end", class: "tj-hm-label" }, names[r] ?? r));
    cols.forEach((c, j) => {
      const n = count(r, c);
      const share = total > 0 ? n / total : 0;
      const x = ox + j * cell;
      const isSel = selected && selected[0] === r && selected[1] === c;
      const g = svg("g", {
        class: `tj-hm-cell${r === c ? " tj-hm-diag" : ""}${isSel ? " tj-hm-selected" : ""}${onCell ? " tj-clickable" : ""}`,
        "data-test": "confusion-cell", "data-actual": r, "data-predicted": c, "data-count": n, "data-share": share.toFixed(4),
      },
      svg("rect", { x: x + 0.5, y: y + 0.5, width: cell - 1, height: cell - 1, fill: heatColor(share) }),
      n > 0 ? svg("text", { x: x + cell / 2, y: y + cell / 2 + 4, "text-anchor": "middle", style: `fill: ${share > 0.5 ? "#fff" : "#1b1b1b"}` }, String(n)) : null,
      svg("title", {}, `actual ${names[r] ?? r}, predicted ${names[c] ?? c}: ${n} of ${total} (${fmtPercent(share)})`));
      if (onCell) g.addEventListener("click", () => onCell(r, c));
      root.append(g);
      drawn++;
    });
    root.append(svg("text", { x: ox + cols.length * cell + 8, y: y + cell / 2 + 4, class: "tj-hm-total" }, String(total)));
  });
  container.dataset.points = String(drawn);
}

/**
 * Reliability diagram: per confidence bin ({ lower, upper, count, meanConfidence, accuracy }) a bar
 * of its accuracy, a marker at its mean confidence, and the diagonal of perfect calibration.
 */
export function reliabilityDiagram(container, { bins, ece, width = 380, height = 340 }) {
  const m = { left: 46, right: 14, top: 24, bottom: 40 };
  const W = width - m.left - m.right;
  const H = height - m.top - m.bottom;
  const root = chartFrame(container, "reliability", width, height);
  const X = (v) => m.left + v * W;
  const Y = (v) => m.top + (1 - v) * H;
  const axes = svg("g", { class: "tj-axis" });
  for (const t of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    axes.append(svg("line", { x1: X(0), x2: X(1), y1: Y(t), y2: Y(t), class: "tj-gridline" }),
      svg("text", { x: X(0) - 6, y: Y(t) + 4, "text-anchor": "end" }, t.toFixed(1)),
      svg("text", { x: X(t), y: Y(0) + 15, "text-anchor": "middle" }, t.toFixed(1)));
  }
  axes.append(svg("line", { x1: X(0), x2: X(1), y1: Y(0), y2: Y(0), class: "tj-axisline" }),
    svg("text", { x: X(0.5), y: height - 6, "text-anchor": "middle", class: "tj-axis-title" }, "confidence"),
    svg("text", { x: 12, y: Y(0.5), "text-anchor": "middle", transform: `rotate(-90 12 ${Y(0.5)})`, class: "tj-axis-title" }, "accuracy"));
  root.append(axes);
  let drawn = 0;
  bins.forEach((b, i) => {
    const lo = Number(b.lower ?? 0);
    const hi = Number(b.upper ?? 0);
    const n = int(b.count);
    const acc = Number(b.accuracy ?? 0);
    const conf = Number(b.meanConfidence ?? 0);
    const g = svg("g", { "data-test": "reliability-bin", "data-bin": i, "data-count": n, "data-accuracy": acc.toFixed(4), "data-confidence": conf.toFixed(4) });
    if (n > 0) {
      g.append(svg("rect", { x: X(lo) + 1, y: Y(acc), width: Math.max(0, X(hi) - X(lo) - 2), height: Y(0) - Y(acc), class: "tj-rel-bar" }));
      const gapTop = Math.max(acc, conf);
      const gapBottom = Math.min(acc, conf);
      if (gapTop - gapBottom > 1e-9) g.append(svg("rect", { x: X(lo) + 2, y: Y(gapTop), width: Math.max(0, X(hi) - X(lo) - 4), height: Y(gapBottom) - Y(gapTop), class: conf > acc ? "tj-rel-gap tj-rel-over" : "tj-rel-gap tj-rel-under" }));
      g.append(svg("circle", { cx: X(conf), cy: Y(acc), r: 3, class: "tj-rel-dot" }),
        svg("text", { x: (X(lo) + X(hi)) / 2, y: Y(Math.max(acc, conf)) - 4, "text-anchor": "middle", class: "tj-rel-n" }, String(n)));
      drawn++;
    }
    g.append(svg("title", {}, `confidence ${lo.toFixed(1)}–${hi.toFixed(1)}: ${n} answers, mean confidence ${conf.toFixed(3)}, accuracy ${acc.toFixed(3)}`));
    root.append(g);
  });
  root.append(svg("line", { x1: X(0), y1: Y(0), x2: X(1), y2: Y(1), class: "tj-diagonal" }));
  if (ece !== undefined) root.append(svg("text", { x: X(0) + 6, y: m.top - 8, class: "tj-axis-title" }, `ECE ${Number(ece).toFixed(3)}`));
  container.dataset.points = String(drawn);
}

/**
 * Grouped horizontal bars: groups = [{ name, bars: [{ label, value (0..1 unless max given) }] }].
 */
export function barChart(container, { groups, max = 1, width = 420, format = (v) => fmtPercent(v) }) {
  const barH = 16;
  const labelW = 130;
  const rowsCount = groups.reduce((n, g) => n + g.bars.length, 0);
  if (rowsCount === 0) return emptyNote(container, "bar-chart", "Nothing to show.");
  const height = rowsCount * (barH + 4) + groups.length * 18 + 8;
  const root = chartFrame(container, "bar-chart", width, height);
  const W = width - labelW - 60;
  let y = 4;
  let drawn = 0;
  groups.forEach((g, gi) => {
    root.append(svg("text", { x: 0, y: y + 12, class: "tj-axis-title" }, g.name));
    y += 18;
    g.bars.forEach((b, bi) => {
      const v = Math.max(0, Number(b.value ?? 0));
      root.append(svg("text", { x: labelW - 6, y: y + barH - 4, "text-anchor": "end", class: "tj-hm-label" }, b.label),
        svg("rect", { x: labelW, y, width: Math.max(1, (Math.min(v, max) / max) * W), height: barH, fill: scoreColor(1 - bi / Math.max(1, g.bars.length)), class: "tj-bar", "data-value": v },
          svg("title", {}, `${g.name} — ${b.label}: ${format(v)}`)),
        svg("text", { x: labelW + (Math.min(v, max) / max) * W + 4, y: y + barH - 4, class: "tj-hm-total" }, format(v)));
      y += barH + 4;
      drawn++;
    });
    void gi;
  });
  container.dataset.points = String(drawn);
}

// ---------------------------------------------------------------------------------------------
// CSS

const CSS = `
.tj-view { display: flex; flex-direction: column; gap: 16px; }
.tj-head { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; }
.tj-head h1, .tj-head h2 { margin: 0; }
.tj-sub { color: var(--muted, #666); font-size: 0.9em; }
.tj-section { display: flex; flex-direction: column; gap: 8px; }
.tj-section > h2, .tj-section > h3 { margin: 4px 0 0; font-size: 1.1em; }
.tj-row { display: flex; gap: 16px; flex-wrap: wrap; align-items: flex-start; }
.tj-card { align-self: flex-start; border: 1px solid var(--line, #dfe3e8); border-radius: 6px; padding: 10px 14px; background: var(--panel, #fff); }
.tj-kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
.tj-kv dt { color: var(--muted, #666); }
.tj-kv dd { margin: 0; font-variant-numeric: tabular-nums; }
table.tj-table { border-collapse: separate; border-spacing: 0; background: var(--panel, #fff); font-size: 13px; font-variant-numeric: tabular-nums; }
table.tj-table th, table.tj-table td { padding: 4px 8px; border-bottom: 1px solid var(--line-soft, #eceff2); text-align: left; vertical-align: middle; }
table.tj-table thead th { font-weight: 600; white-space: nowrap; position: sticky; top: 0; z-index: 1; background: #f1f3f6; color: #374151; border-bottom-color: var(--line, #dfe3e8); }
table.tj-table tbody tr:hover { background: #f8fafc; }
table.tj-table td.tj-num, table.tj-table th.tj-num { text-align: right; }
table.tj-table tr.tj-best-row td { background: rgba(68, 1, 84, 0.08); }
table.tj-table tr.tj-wrong td.tj-pred { color: #b3261e; font-weight: 600; }
table.tj-table tr.tj-err td.tj-pred { color: #b3261e; }
table.tj-table th.tj-sortable { cursor: pointer; user-select: none; }
table.tj-table th.tj-sortable:hover { text-decoration: underline; }
.tj-table-wrap { overflow: auto; max-height: 560px; width: fit-content; max-width: 100%; border: 1px solid var(--line, #dfe3e8); border-radius: 4px; }
.tj-mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
.tj-badge { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 0.85em; line-height: 1.6; background: #e8e8e8; color: #333; white-space: nowrap; }
.tj-status-running { background: #dbeafe; color: #1e40af; }
.tj-status-pending { background: #fef3c7; color: #92400e; }
.tj-status-completed { background: #dcfce7; color: #166534; }
.tj-status-failed { background: #fee2e2; color: #991b1b; }
.tj-status-cancelled, .tj-status-killed { background: #e5e7eb; color: #374151; }
.tj-status-pruned { background: #f3e8ff; color: #6b21a8; }
.tj-progress { position: relative; min-width: 120px; height: 16px; border-radius: 4px; background: #e9e9e9; overflow: hidden; }
.tj-progress-fill { position: absolute; inset: 0 auto 0 0; background: var(--accent, #2563eb); opacity: 0.5; transition: width 0.3s ease; }
.tj-progress.tj-indeterminate .tj-progress-fill { background: repeating-linear-gradient(45deg, #93c5fd 0 8px, #bfdbfe 8px 16px); }
.tj-progress-label { position: relative; display: block; text-align: center; font-size: 11px; line-height: 16px; color: #111; font-variant-numeric: tabular-nums; }
.tj-error { border: 1px solid #f5a3a3; background: #fff1f1; color: #8a1c1c; padding: 8px 12px; border-radius: 4px; }
.tj-note { color: var(--muted, #666); font-size: 0.9em; }
.tj-empty { color: #777; padding: 18px; font-style: italic; }
.tj-live { font-size: 0.8em; color: #16a34a; }
.tj-live[data-state="reconnecting"] { color: #b45309; }
.tj-chart-box { max-width: 100%; overflow-x: auto; }
svg.tj-chart { display: block; font: 11px system-ui, sans-serif; fill: currentColor; max-width: 100%; height: auto; }
:where(svg.tj-chart) text { fill: currentColor; }
.tj-axis text { fill: #555; }
.tj-axis-title { font-weight: 600; fill: #444; }
.tj-gridline { stroke: #ececec; }
.tj-axisline, .tj-tick { stroke: #888; }
.tj-best-line { fill: none; stroke: #440154; stroke-width: 2; }
.tj-dot { fill: #31688e; fill-opacity: 0.55; }
.tj-dot-best { fill: #440154; fill-opacity: 1; }
.tj-pc-line { fill: none; stroke-width: 1.4; stroke-opacity: 0.75; }
.tj-pc-line:hover { stroke-width: 3.5; stroke-opacity: 1; }
.tj-pc-best { stroke-width: 3.5; stroke-opacity: 1; stroke-dasharray: none; }
.tj-pc-tick { fill: #444; font-size: 10px; paint-order: stroke; stroke: rgba(255, 255, 255, 0.85); stroke-width: 3px; stroke-linejoin: round; }
.tj-pc-objective { fill: #440154; }
.tj-legend { display: flex; align-items: center; gap: 8px; font-size: 0.85em; color: #555; }
.tj-legend-bar { display: inline-block; width: 160px; height: 10px; border-radius: 3px; }
.tj-hm-label { fill: #333; font-size: 11px; }
.tj-hm-total { fill: #666; font-size: 11px; }
.tj-hm-cell text { font-size: 12px; font-variant-numeric: tabular-nums; pointer-events: none; }
.tj-hm-diag rect { stroke: #08306b; stroke-width: 1; }
.tj-hm-selected rect { stroke: #f59e0b; stroke-width: 3; }
.tj-clickable { cursor: pointer; }
.tj-rel-bar { fill: #6baed6; }
.tj-rel-gap { fill: none; stroke: #dc2626; stroke-width: 1.5; stroke-dasharray: 3 2; }
.tj-rel-over { fill: #f87171; fill-opacity: 0.25; }
.tj-rel-n { fill: #666; font-size: 9px; }
.tj-rel-dot { fill: #08306b; }
.tj-diagonal { stroke: #555; stroke-dasharray: 4 3; }
.tj-filters { display: flex; gap: 12px; flex-wrap: wrap; align-items: center; }
.tj-filters label { display: inline-flex; gap: 4px; align-items: center; }
.tj-pager { display: flex; gap: 8px; align-items: center; }
.tj-ci { color: var(--muted, #666); font-size: 0.9em; }
.tj-muted { color: var(--muted, #888); }
.tj-nowrap { white-space: nowrap; }
.tj-trunc { max-width: 420px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.tj-what, .tj-what .tj-trunc { max-width: 340px; }
.tj-wrap { white-space: pre-wrap; word-break: break-word; }
button.tj-button { font: inherit; padding: 2px 10px; border-radius: 4px; border: 1px solid #aaa; background: ButtonFace; cursor: pointer; }
button.tj-button:disabled { opacity: 0.55; cursor: default; }
button.tj-danger { border-color: #d97777; color: #a11; }
.tj-result-ok { color: #166534; }
.tj-result-err { color: #991b1b; }
`;

/** Adds the views' <style id="tj-style"> to <head> once. */
export function injectStyles() {
  if (document.getElementById("tj-style")) return;
  const style = document.createElement("style");
  style.id = "tj-style";
  style.textContent = CSS;
  document.head.appendChild(style);
}
