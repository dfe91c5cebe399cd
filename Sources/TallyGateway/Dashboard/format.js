// Shared helpers of the dashboard: a tiny DOM builder, number/time/size formatting, run status,
// typed param values, filter-language quoting and the error/loading boxes every view uses.
//
// Test hooks created here (used by every view):
//   data-test="loading"        a loading placeholder
//   data-test="error"          an error box; data-code="<RPC code name>"; its text is the message
//   data-test="status-badge"   a run status badge; data-status="running|completed|failed|killed|crashed|unknown"

/**
 * Creates an element. `props`: "class", "text", "style" (string or object), "dataset" (object),
 * "on<event>" functions, boolean/other attributes; `children`: nodes, strings, arrays, null.
 */
export function h(tag, props = null, ...children) {
  const node = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "style" && typeof value === "object") Object.assign(node.style, value);
      else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
      else if (name === "value" || name === "checked" || name === "indeterminate" || name === "disabled") node[name] = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else if (child instanceof Node) node.appendChild(child);
    else node.appendChild(document.createTextNode(String(child)));
  }
}

/** Text escaped for HTML (element content and quoted attribute values). */
export const esc = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Replaces the content of `node` with `children`. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// -------------------------------------------------------------------------------------------
// Numbers

/** proto3 JSON numbers (int64 strings, "NaN", "Infinity") as a JS number; `fallback` when absent. */
export function num(value, fallback = 0) {
  if (value === undefined || value === null || value === "") return fallback;
  return typeof value === "number" ? value : Number(value);
}

/** A metric or param number, short but exact enough to tell values apart. */
export function fmtNum(value) {
  if (value === undefined || value === null) return "";
  const v = typeof value === "number" ? value : Number(value);
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "∞";
  if (v === -Infinity) return "-∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return String(v);
  if (a >= 1e6 || a < 1e-4) return trimExp(v.toExponential(3));
  return String(Number(v.toPrecision(6)));
}

function trimExp(text) {
  return text.replace(/\.?0+e/, "e").replace("e+", "e");
}

/** An integer with thousands separators. */
export function fmtInt(value) {
  return num(value).toLocaleString("en-US");
}

/** Bytes as B, KiB, MiB, GiB. */
export function fmtBytes(value) {
  const n = num(value);
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

// -------------------------------------------------------------------------------------------
// Times

/** A duration in ms as "850 ms", "12.3 s", "4m 05s", "2h 03m", "3d 4h". */
export function fmtDuration(ms) {
  const v = num(ms);
  if (!Number.isFinite(v) || v < 0) return "";
  if (v < 1000) return `${Math.round(v)} ms`;
  const s = v / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

const pad2 = (n) => String(n).padStart(2, "0");

/** Unix ms as local "2025-01-31 14:05:09" (empty for 0). */
export function fmtTime(ms) {
  const v = num(ms);
  if (!v) return "";
  const d = new Date(v);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** Unix ms relative to now: "just now", "5 min ago", "3 h ago", "2 days ago", else the date. */
export function fmtAgo(ms, now = Date.now()) {
  const v = num(ms);
  if (!v) return "";
  const s = (now - v) / 1000;
  if (s < 0) return fmtTime(v);
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.round(s / 86400)} days ago`;
  return fmtTime(v).slice(0, 10);
}

// -------------------------------------------------------------------------------------------
// Runs

/** "RUN_STATUS_RUNNING" → "running" ("unknown" for unspecified or absent). */
export function statusName(status) {
  if (!status || status === "RUN_STATUS_UNSPECIFIED") return "unknown";
  return String(status).replace(/^RUN_STATUS_/, "").toLowerCase();
}

export const isRunning = (run) => run?.status === "RUN_STATUS_RUNNING";

/** A coloured badge for a run status. */
export function statusBadge(status) {
  const name = statusName(status);
  return h("span", { class: `badge status-${name}`, "data-test": "status-badge", "data-status": name, text: name });
}

/** The name to show for a run: its name, else its id. */
export const runLabel = (run) => (run?.name ? run.name : run?.id ?? run?.runId ?? "");

/** A short form of an id (first 8 characters). */
export const shortId = (id) => String(id ?? "").slice(0, 8);

/** A ParamValue's JSON ({stringValue}|{intValue}|{doubleValue}|{boolValue}) as text. */
export function paramText(value) {
  if (!value) return "";
  if ("stringValue" in value) return value.stringValue;
  if ("intValue" in value) return String(value.intValue);
  if ("doubleValue" in value) return fmtNum(value.doubleValue);
  if ("boolValue" in value) return value.boolValue ? "true" : "false";
  return "";
}

/** Whether a ParamValue carries a value at all. */
export const hasParam = (value) =>
  !!value && ("stringValue" in value || "intValue" in value || "doubleValue" in value || "boolValue" in value);

/** A ParamValue's type name ("string", "int", "double", "bool", "" when unset). */
export function paramType(value) {
  if (!value) return "";
  if ("stringValue" in value) return "string";
  if ("intValue" in value) return "int";
  if ("doubleValue" in value) return "double";
  if ("boolValue" in value) return "bool";
  return "";
}

/** Metric summaries of a run as a Map key → summary (cached on the run object). */
export function metricMap(run) {
  if (!run._metricMap) {
    const map = new Map();
    for (const m of run.metrics ?? []) map.set(m.key ?? "", m);
    Object.defineProperty(run, "_metricMap", { value: map, enumerable: false, writable: true });
  }
  return run._metricMap;
}

/** The value of an aggregate ("last", "min", "max", "mean", "count", "last_step", "first_step") of a summary. */
export function aggregate(summary, agg) {
  if (!summary) return undefined;
  switch (agg) {
    case "last": return num(summary.lastValue);
    case "min": return num(summary.min);
    case "max": return num(summary.max);
    case "mean": return num(summary.mean);
    case "count": return num(summary.count);
    case "last_step": return num(summary.lastStep);
    case "first_step": return num(summary.firstStep);
    default: return undefined;
  }
}

/** "METRIC_GOAL_MINIMIZE" → "min", "METRIC_GOAL_MAXIMIZE" → "max", else the default by name. */
export function goalName(goal, key = "") {
  if (goal === "METRIC_GOAL_MINIMIZE") return "min";
  if (goal === "METRIC_GOAL_MAXIMIZE") return "max";
  return /loss|error/.test(key) ? "min" : "max";
}

// -------------------------------------------------------------------------------------------
// Filter language

const BARE_KEY = /^[\p{L}\p{N}_\-/:]+$/u;

/** A key as the filter language writes it: bare when possible, else in backticks. */
export function filterKey(key) {
  if (BARE_KEY.test(key)) return key;
  return "`" + key.replace(/\\/g, "\\\\").replace(/`/g, "\\`") + "`";
}

/** A string literal of the filter language. */
export const filterString = (text) => '"' + String(text).replace(/\\/g, "\\\\").replace(/"/g, '\\"') + '"';

/** Index in a JS (UTF-16) string of code point `position` (the server counts code points). */
export function codePointIndex(text, position) {
  let index = 0;
  let count = 0;
  for (const ch of text) {
    if (count >= position) break;
    index += ch.length;
    count++;
  }
  return index;
}

// -------------------------------------------------------------------------------------------
// Hash routes

/** Builds "#/path?query" from a path and an object of query values (empty values left out). */
export function routeHash(path, query = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const text = q.toString();
  return `#/${path}${text ? "?" + text : ""}`;
}

/** A comma-separated list from a query parameter, without empty entries or duplicates. */
export function listParam(params, name) {
  const value = params?.get ? params.get(name) : null;
  if (!value) return [];
  return [...new Set(value.split(",").map((s) => s.trim()).filter(Boolean))];
}

/** Replaces the current hash without a hashchange event (keeps view state in the URL). */
export function replaceHash(hash) {
  if (location.hash !== hash) history.replaceState(history.state, "", hash);
}

// -------------------------------------------------------------------------------------------
// Boxes

export function loadingBox(text = "Loading…") {
  return h("div", { class: "loading", "data-test": "loading", role: "status" }, h("span", { class: "spinner" }), text);
}

/** An error as a box with its RPC code and message (never a blank page). */
export function errorBox(error, context = "") {
  const codeName = error?.codeName ?? (error?.name === "TypeError" ? "NETWORK" : "ERROR");
  let message = error?.message || String(error);
  let hint = null;
  if (codeName === "UNAUTHENTICATED") {
    hint = "This browser is not signed in to the daemon: open the URL that `tally ui` prints (it carries the token).";
  } else if (codeName === "NETWORK" || codeName === "UNAVAILABLE") {
    hint = "Is the daemon running? Start it with `tally serve`.";
  }
  return h("div", { class: "error-box", "data-test": "error", "data-code": codeName, role: "alert" },
    h("strong", { text: context ? `${context}: ` : "Error: " }),
    h("span", { class: "error-message", text: message }),
    codeName !== "ERROR" && codeName !== "NETWORK" ? h("span", { class: "error-code", text: ` (${codeName})` }) : null,
    hint ? h("div", { class: "hint", text: hint }) : null);
}

/** An "empty" placeholder. */
export function emptyBox(...children) {
  return h("div", { class: "empty", "data-test": "empty" }, ...children);
}

/** Runs `fn` at most once per `ms`, with the latest arguments, trailing. */
export function throttle(fn, ms) {
  let timer = 0;
  let lastArgs = null;
  let last = 0;
  const wrapped = (...args) => {
    lastArgs = args;
    if (timer) return;
    const wait = Math.max(0, last + ms - performance.now());
    timer = setTimeout(() => {
      timer = 0;
      last = performance.now();
      fn(...lastArgs);
    }, wait);
  };
  wrapped.cancel = () => {
    clearTimeout(timer);
    timer = 0;
  };
  return wrapped;
}

/** Runs `fn` `ms` after the last call. */
export function debounce(fn, ms) {
  let timer = 0;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}

/** Maps `items` through async `fn` with at most `limit` in flight; results in order. */
export async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
