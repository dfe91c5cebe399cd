// The dashboard shell: header navigation, the daemon status line and the hash router.
//
// Every view module exports `render(root, params, ctx)`: `root` is an empty <main> to fill;
// `params` is a URLSearchParams of the hash query that also has `params.path` (the path parts,
// ["sweeps", "<id>"]), `params.query` (itself) and `params.id` (the second path part); `ctx` has
// `navigate(hash)` and `signal` (an AbortSignal aborted when the route changes). `render` may
// return a cleanup function, called when the route changes. Views are loaded with dynamic
// import(), so a missing or broken module shows an error in the page instead of breaking the app.
//
// Test hooks:
//   data-test="header", "nav", "nav-experiments|runs|sweeps|evaluations|jobs" (the active link has
//     class "active" and aria-current="page")
//   data-test="daemon-status"  data-state="pending|ok|error"; text "tally <version> · pid … · up …"
//                              or "daemon unreachable: <message>"
//   data-test="route-loading"  visible while a view module loads / renders its first data
//   data-test="view"           the <main> of the current view; data-view="<route name>";
//                              data-ready="true" once its first data is on screen (set by the view,
//                              or by the router together with data-error="true" when it failed)
//   data-test="error"          (in the view) a view that failed to load or render: the message
//   data-test="toast"          an unexpected error outside a view's own handling

import { call } from "./api.js";
import { h, errorBox, fmtDuration, num } from "./format.js";

const ROUTES = {
  experiments: { module: "./views/experiments.js", nav: "experiments", title: "Experiments" },
  runs: { module: "./views/runs.js", nav: "runs", title: "Runs" },
  run: { module: "./views/run.js", nav: "runs", title: "Run", preload: ["./charts.js"] },
  charts: { module: "./views/charts.js", nav: "runs", title: "Charts", preload: ["./charts.js"] },
  compare: { module: "./views/compare.js", nav: "runs", title: "Compare" },
  sweeps: { module: "./views/sweeps.js", nav: "sweeps", title: "Sweeps" },
  evaluations: { module: "./views/evaluations.js", nav: "evaluations", title: "Evaluations" },
  jobs: { module: "./views/jobs.js", nav: "jobs", title: "Jobs" },
};
const DEFAULT_ROUTE = "experiments";

const app = document.getElementById("app");
const statusEl = document.querySelector('[data-test="daemon-status"]');
const routeLoadingEl = document.querySelector('[data-test="route-loading"]');

/** The current hash as { path: [...], query: URLSearchParams }. */
export function parseHash(hash = location.hash) {
  let text = hash.replace(/^#/, "");
  const q = text.indexOf("?");
  const pathText = q >= 0 ? text.slice(0, q) : text;
  const query = new URLSearchParams(q >= 0 ? text.slice(q + 1) : "");
  const path = pathText.split("/").filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  if (path.length === 0) path.push(DEFAULT_ROUTE);
  return { path, query };
}

function navigate(hash) {
  const target = hash.startsWith("#") ? hash : `#${hash.startsWith("/") ? "" : "/"}${hash}`;
  if (location.hash === target) route();
  else location.hash = target;
}

let current = { token: 0, cleanup: null, controller: null };

function runCleanup(cleanup) {
  if (typeof cleanup !== "function") return;
  try {
    cleanup();
  } catch (error) {
    showToast(`Cleanup of the previous page failed: ${error.message}`);
  }
}

function setNav(name) {
  for (const link of document.querySelectorAll(".nav a")) {
    const active = link.dataset.route === name;
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  const token = ++current.token;
  runCleanup(current.cleanup);
  current.cleanup = null;
  current.controller?.abort();
  const controller = new AbortController();
  current.controller = controller;

  const { path, query } = parseHash();
  const name = path[0];
  const spec = ROUTES[name];
  const root = h("main", { "data-test": "view", "data-view": name });
  app.replaceChildren(root);
  setNav(spec?.nav ?? "");
  document.title = `${spec?.title ?? "Not found"} · Tally`;
  window.scrollTo(0, 0);

  if (!spec) {
    root.append(errorBox({ codeName: "NOT_FOUND", message: `There is no page "#/${path.join("/")}".` }, "Not found"),
      h("p", null, h("a", { href: "#/experiments", text: "Go to the experiments" })));
    root.dataset.error = "true";
    root.dataset.ready = "true";
    return;
  }

  const params = new URLSearchParams(query);
  params.path = path;
  params.query = params;
  params.id = path[1];
  const ctx = { navigate, signal: controller.signal, route: name };

  routeLoadingEl.hidden = false;
  // Modules the view imports, fetched in parallel with it rather than after it.
  for (const extra of spec.preload ?? []) import(extra).catch(() => {});
  let stage = "load";
  try {
    const module = await import(spec.module);
    if (token !== current.token) return;
    if (typeof module.render !== "function") throw new Error(`${spec.module} does not export render()`);
    stage = "render";
    const cleanup = await module.render(root, params, ctx);
    if (token !== current.token) {
      runCleanup(cleanup);
      return;
    }
    current.cleanup = cleanup;
  } catch (error) {
    if (token !== current.token || controller.signal.aborted) return;
    const context = stage === "load" ? `Could not load the ${spec.title.toLowerCase()} page (${spec.module.slice(2)})` : `Could not show this page`;
    root.prepend(errorBox(stage === "load" ? { codeName: "LOAD_FAILED", message: error?.message ?? String(error) } : error, context));
    root.dataset.error = "true";
    root.dataset.ready = "true";
  } finally {
    if (token === current.token) routeLoadingEl.hidden = true;
  }
}

// -------------------------------------------------------------------------------------------
// Daemon status line (System.Info)

let info = null;
let infoAt = 0;
let statusTimer = 0;

function showStatus() {
  if (!info) return;
  const uptime = num(info.uptimeMs) + (Date.now() - infoAt);
  statusEl.dataset.state = "ok";
  statusEl.textContent = `tally ${info.version ?? "?"} · pid ${num(info.pid)} · up ${fmtDuration(uptime)}`;
  statusEl.title = [
    `store: ${info.storePath ?? ""}`,
    `artifacts: ${info.artifactPath ?? ""}`,
    `socket: ${info.socketPath ?? ""}`,
    `connections: ${num(info.openConnections)}, calls in flight: ${num(info.callsInFlight)}`,
  ].join("\n");
}

async function refreshStatus() {
  clearTimeout(statusTimer);
  try {
    info = await call("tally.v1.System", "Info");
    infoAt = Date.now();
    showStatus();
  } catch (error) {
    info = null;
    statusEl.dataset.state = "error";
    statusEl.textContent = `daemon unreachable: ${error.message}`;
    statusEl.title = error.codeName ?? "";
  }
  statusTimer = setTimeout(refreshStatus, info ? 30000 : 5000);
}

setInterval(() => {
  if (info && !document.hidden) showStatus();
}, 5000);
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && !info) refreshStatus();
});

// -------------------------------------------------------------------------------------------
// Unexpected errors: shown in the page (they are still reported to the console).

let toastEl = null;
function showToast(message) {
  if (!toastEl) {
    toastEl = h("div", { class: "toast", "data-test": "toast", role: "alert" });
    document.body.append(toastEl);
  }
  const item = h("div", { class: "toast-item" }, h("span", { text: message }),
    h("button", { type: "button", class: "link", text: "×", title: "Dismiss", onclick: () => item.remove() }));
  toastEl.append(item);
  setTimeout(() => item.remove(), 15000);
}

window.addEventListener("unhandledrejection", (event) => {
  const error = event.reason;
  if (error?.name === "AbortError") {
    event.preventDefault();
    return;
  }
  showToast(error?.message ?? String(error));
});
window.addEventListener("error", (event) => {
  if (event.message) showToast(event.message);
});

window.addEventListener("hashchange", route);
route();
refreshStatus();
