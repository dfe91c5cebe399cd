// Classification evaluations: #/evaluations lists the classification_eval jobs,
// #/evaluations/ID shows one (docs/evaluation.md, docs/jobs.md).
//
// Live: the list follows WatchJobs(kind "classification_eval") and polls the pending ones every
// 5 s (a queued job is announced only when it starts); a pending or running evaluation
// follows WatchJob: progress events move its bar at once, and refresh the item browser (at most
// every 3 s); the terminal event fetches the job again, with its results.
//
// #/evaluations/ID?model=M selects the model shown in the confusion matrix, per-label table and
// reliability diagram (default: the first).
//
// Test hooks (data-test):
//   root[data-ready="true"]      first data (or an error) is on screen; root[data-error="true"] when the
//                                first load failed (unknown id, wrong kind of job, RPC error)
//   live-state                   [data-state] connecting | live | reconnecting | ended
//   error                        an RPC failed (text: CODE: message)
// #/evaluations
//   evals-table                  <table>; rows eval-row [data-job-id][data-status]
//   eval-link                    <a href="#/evaluations/ID">
//   eval-progress                progress bar [data-job-id][data-progress="0..1"]
//   eval-accuracy                accuracy of each model, <span data-model data-value>
//   evals-more                   "Load more" button
// #/evaluations/ID
//   eval-status                  status badge [data-status]
//   eval-cancel                  Cancel button (pending/running); eval-cancel-result: its outcome
//   eval-progress                progress bar [data-progress="0..1"]; eval-progress-text: "current/total …"
//   eval-config                  dataset, provider, models, sample (<dl>)
//   eval-metrics                 <table> per model: rows model-row [data-model], cells [data-metric=
//                                accuracy|average_confidence|p50_latency_ms|p95_latency_ms|average_latency_ms|
//                                macro_f1|weighted_f1|expected_calibration_error|evaluated|errors][data-value]
//   eval-pending-results         note shown while the job has no results yet
//   bar-chart                    accuracy / macro F1 / confidence by model (several models)
//   eval-model-select            <select> of the model shown below
//   confusion-matrix             SVG heatmap [data-points=cells]; cells confusion-cell [data-actual]
//                                [data-predicted][data-count][data-share] (click: filters the items)
//   per-label                    <table>; rows label-row [data-label]; cells [data-metric=precision|recall|f1|support]
//   reliability                  SVG reliability diagram; bins reliability-bin [data-bin][data-count][data-accuracy][data-confidence]
//   items                        the item browser section; its table items-table, rows item-row
//                                [data-item-id][data-model][data-correct="true|false"][data-error="true|false"]
//   items-model, items-label, items-predicted   <select> filters ("" = any)
//   items-wrong, items-errors    checkboxes: wrong only (every item not predicted right, errors
//                                included), errors only (failed items)
//   items-prev, items-next       pager buttons; items-page: "page N of M"; items-total [data-total] (matches;
//                                data-total="" while not all items have been scanned)
//   items-empty                  shown when nothing matches

import { experiments, int } from "../api.js";
import {
  firstLoad,
  jobOfKind,
  syncCancelButton,
  barChart, confusionHeatmap, errorBox, fill, fmtMs, fmtNumber, fmtPercent, fmtTime, fmtTimeShort, h, injectStyles, insertByCreated,
  isActive, jobDuration, jobFraction, liveIndicator, pollPending, progressBar, refresher, reliabilityDiagram,
  routeParams, setProgress, shortEnum, statusBadge, watchJobs,
} from "../plots.js";

export async function render(root, params, ctx) {
  injectStyles();
  const { id, query } = routeParams(params);
  return id ? renderEvaluation(root, id, query, ctx) : renderList(root, ctx);
}

function progressText(job) {
  const total = int(job.progressTotal);
  const current = int(job.progressCurrent);
  return total > 0 ? `${current}/${total}` : `${current}`;
}

// ---------------------------------------------------------------------------------------------
// The list

function renderList(root, ctx) {
  void ctx;
  let disposed = false;
  const rows = new Map();
  const live = liveIndicator();
  const tbody = h("tbody");
  const table = h("table", { class: "tj-table", "data-test": "evals-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Evaluation"), h("th", {}, "Status"), h("th", {}, "Progress"), h("th", {}, "Dataset"),
      h("th", {}, "Provider"), h("th", {}, "Models"), h("th", { class: "tj-num" }, "Sample"),
      h("th", {}, "Accuracy"), h("th", {}, "Created"), h("th", { class: "tj-num" }, "Duration"))),
    tbody);
  const message = h("div");
  const moreBox = h("div");
  fill(root, h("div", { class: "tj-view" },
    h("div", { class: "tj-head" }, h("h1", {}, "Evaluations"), live),
    message,
    h("div", { class: "tj-table-wrap" }, table),
    moreBox));

  const rowFor = (job) => {
    const c = job.classification ?? {};
    const models = c.models ?? [];
    const results = job.results?.models ?? [];
    return h("tr", { "data-test": "eval-row", "data-job-id": job.id, "data-status": shortEnum(job.status) },
      h("td", {}, h("a", { href: `#/evaluations/${encodeURIComponent(job.id)}`, class: "tj-mono", "data-test": "eval-link" }, job.id)),
      h("td", {}, statusBadge(job.status), job.error ? h("div", { class: "tj-note tj-trunc", title: job.error }, job.error) : null),
      h("td", {}, progressBar(jobFraction(job), { test: "eval-progress", jobId: job.id, label: progressText(job) })),
      h("td", {}, c.dataset ?? ""),
      h("td", {}, c.provider ?? ""),
      h("td", {}, models.join(", ")),
      h("td", { class: "tj-num" }, int(c.sampleSize) ? String(int(c.sampleSize)) : "all"),
      h("td", {}, results.map((m, i) => [i ? " · " : "", h("span", { "data-test": "eval-accuracy", "data-model": m.model, "data-value": Number(m.accuracy ?? 0) }, `${m.model} ${fmtPercent(m.accuracy ?? 0)}`)])),
      h("td", { class: "tj-nowrap", title: fmtTime(job.createdAtMs) }, fmtTimeShort(job.createdAtMs)),
      h("td", { class: "tj-num" }, jobDuration(job)));
  };

  const upsert = (job) => {
    const tr = rowFor(job);
    tr.dataset.created = String(int(job.createdAtMs));
    const old = rows.get(job.id);
    if (old) tbody.replaceChild(tr, old.tr);
    else insertByCreated(tbody, tr);
    rows.set(job.id, { tr, job });
  };

  const loadPage = async (token) => {
    const response = await experiments("ListJobs", { kind: "classification_eval", pageSize: 50, pageToken: token });
    if (disposed) return;
    for (const job of response.jobs ?? []) upsert(job);
    const next = response.nextPageToken ?? "";
    fill(moreBox, next ? h("button", {
      class: "tj-button", "data-test": "evals-more",
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await loadPage(next);
        } catch (error) {
          fill(message, errorBox(error));
        }
      },
    }, "Load more") : null);
    fill(message, rows.size === 0 ? h("div", { class: "tj-empty", "data-test": "evals-empty" }, "No evaluations yet. Start one with `tally eval`.") : null);
  };

  const dirty = new Set();
  const refresh = refresher(async () => {
    const ids = [...dirty];
    dirty.clear();
    await Promise.all(ids.map(async (jobId) => {
      try {
        const job = await experiments("GetJob", { jobId });
        if (!disposed) upsert(job);
        if (!disposed && rows.size > 0) fill(message);
      } catch (error) {
        void error;
      }
    }));
  }, 1000);

  const watch = watchJobs("WatchJobs", { kind: "classification_eval" }, (event) => {
    if (disposed || !event.jobId) return;
    const entry = rows.get(event.jobId);
    if (event.snapshot) {
      upsert(event.snapshot);
      return;
    }
    if (event.progress && entry) {
      const bar = entry.tr.querySelector('[data-test="eval-progress"]');
      const total = int(event.progress.total);
      const current = int(event.progress.current);
      if (bar) setProgress(bar, total > 0 ? current / total : null, `${current}/${total}`);
      return; // the bar is enough; no need to fetch the job
    }
    dirty.add(event.jobId);
    refresh.call();
  }, (state, error) => live.set(state, error));

  // Evaluations queued after the page loaded (WatchJobs announces them only when they start).
  const poll = pollPending("classification_eval", (job) => {
    if (!rows.has(job.id)) upsert(job);
  });

  firstLoad(root, message, () => loadPage(""), () => disposed);

  return () => {
    disposed = true;
    watch.cancel();
    poll.cancel();
    refresh.cancel();
  };
}

// ---------------------------------------------------------------------------------------------
// One evaluation

const METRICS = [
  ["accuracy", "Accuracy", (m) => m.accuracy, fmtPercent],
  ["average_confidence", "Avg confidence", (m) => m.averageConfidence, (v) => fmtNumber(v, 3)],
  ["p50_latency_ms", "Latency p50", (m) => m.p50LatencyMs, fmtMs],
  ["p95_latency_ms", "Latency p95", (m) => m.p95LatencyMs, fmtMs],
  ["average_latency_ms", "Latency mean", (m) => m.averageLatencyMs, fmtMs],
  ["macro_f1", "Macro F1", (m) => m.macroF1, (v) => fmtNumber(v, 3)],
  ["weighted_f1", "Weighted F1", (m) => m.weightedF1, (v) => fmtNumber(v, 3)],
  ["expected_calibration_error", "ECE", (m) => m.expectedCalibrationError, (v) => fmtNumber(v, 3)],
  ["evaluated", "Evaluated", (m) => int(m.evaluated), String],
  ["errors", "Errors", (m) => int(m.errors), String],
];

function renderEvaluation(root, jobId, query, ctx) {
  void ctx;
  let disposed = false;
  let job = null;
  let watch = null;
  let selectedModel = query.get("model") || "";

  const live = liveIndicator();
  const statusBox = h("span");
  const actions = h("span", { class: "tj-row" });
  const message = h("div");
  const progressBox = h("div", { class: "tj-row" });
  const configBox = h("div", { class: "tj-card" });
  const metricsBox = h("section", { class: "tj-section" });
  const modelBox = h("section", { class: "tj-section" });
  const itemsBox = h("section", { class: "tj-section", "data-test": "items" });

  fill(root, h("div", { class: "tj-view" },
    h("div", { class: "tj-head" }, h("h1", {}, "Evaluation ", h("span", { class: "tj-mono" }, jobId)), statusBox, live, actions),
    h("div", {}, h("a", { href: "#/evaluations" }, "← all evaluations")),
    message,
    progressBox,
    configBox,
    metricsBox,
    modelBox,
    itemsBox));

  const labelsOf = () => job?.classification?.labels ?? [];
  const labelNames = () => Object.fromEntries(labelsOf().map((l) => [l.id, l.name || l.id]));
  const modelsOf = () => job?.classification?.models ?? [];

  // -- header, progress, configuration --------------------------------------------------------

  const drawHeader = () => {
    fill(statusBox, statusBadge(job.status, { "data-test": "eval-status" }));
    syncCancelButton(actions, { job, jobId, prefix: "eval", noun: "evaluation", isDisposed: () => disposed, onUpdated: update });
  };

  let progressBar_ = null;
  let progressTextNode = null;
  const drawProgress = (event) => {
    if (!progressBar_) {
      progressBar_ = progressBar(jobFraction(job), { test: "eval-progress", jobId });
      progressTextNode = h("span", { class: "tj-note", "data-test": "eval-progress-text" });
      fill(progressBox, progressBar_, progressTextNode);
    }
    if (event) {
      const total = int(event.total);
      const current = int(event.current);
      setProgress(progressBar_, total > 0 ? current / total : null);
      const parts = [`${current}/${total} items`];
      if (event.model) parts.push(`model ${event.model}`);
      if (Number(event.itemsPerSecond ?? 0) > 0) parts.push(`${Number(event.itemsPerSecond).toFixed(1)} items/s`);
      const eta = Number(event.etaSeconds ?? -1);
      if (event.etaSeconds !== undefined && eta >= 0) parts.push(`ETA ${eta < 90 ? `${Math.round(eta)} s` : `${Math.round(eta / 60)} min`}`);
      progressTextNode.textContent = parts.join(" · ");
    } else {
      setProgress(progressBar_, jobFraction(job));
      const dur = jobDuration(job);
      progressTextNode.textContent = `${progressText(job)} items${dur ? ` · ${dur}` : ""}`;
    }
  };

  const drawConfig = () => {
    const c = job.classification ?? {};
    const dl = h("dl", { class: "tj-kv", "data-test": "eval-config" });
    const add = (k, v) => dl.append(h("dt", {}, k), h("dd", {}, v));
    add("dataset", c.dataset ?? "");
    add("provider", c.provider ?? "");
    add("models", (c.models ?? []).join(", "));
    add("sample", `${int(c.sampleSize) || "whole dataset"}, ${shortEnum(c.sampling) === "stratified" ? "stratified" : "random"}, seed ${int(c.seed)}`);
    add("labels", labelsOf().map((l) => (l.name && l.name !== l.id ? `${l.name} (${l.id})` : l.id)).join(", "));
    add("concurrency", String(int(c.concurrency) || 4));
    add("created", fmtTime(job.createdAtMs));
    if (int(job.startedAtMs)) add("started", fmtTime(job.startedAtMs));
    if (int(job.completedAtMs)) add("finished", fmtTime(job.completedAtMs));
    if (job.experimentId) add("experiment", h("a", { href: `#/runs?experiments=${encodeURIComponent(job.experimentId)}` }, c.experiment || job.experimentId));
    if (job.error) add("error", h("span", { class: "tj-result-err" }, job.error));
    fill(configBox, h("h2", { class: "tj-sub" }, "Configuration"), dl);
  };

  // -- per-model metrics ---------------------------------------------------------------------

  const drawMetrics = () => {
    const results = job.results?.models ?? [];
    if (results.length === 0) {
      const s = shortEnum(job.status);
      const text = s === "pending" ? "Queued: the job waits for a worker."
        : s === "running" ? "Running: the metrics appear when the job completes; items are listed below as they finish."
          : s === "completed" ? "No results." : `The job ${s === "failed" ? "failed" : "was cancelled"}; it has no metrics. Items evaluated before are listed below.`;
      fill(metricsBox, h("h2", {}, "Metrics"), h("div", { class: "tj-note", "data-test": "eval-pending-results" }, text));
      return;
    }
    const best = {};
    for (const [key, , get] of METRICS) {
      const values = results.map((m) => Number(get(m) ?? 0));
      const lowerBetter = key.includes("latency") || key === "expected_calibration_error" || key === "errors";
      best[key] = lowerBetter ? Math.min(...values) : Math.max(...values);
    }
    const table = h("table", { class: "tj-table", "data-test": "eval-metrics" },
      h("thead", {}, h("tr", {}, h("th", {}, "Model"), METRICS.map(([, label]) => h("th", { class: "tj-num" }, label)), h("th", {}, "Run"))),
      h("tbody", {}, results.map((m) => h("tr", { "data-test": "model-row", "data-model": m.model },
        h("td", {}, h("strong", {}, m.model)),
        METRICS.map(([key, , get, fmt]) => {
          const v = Number(get(m) ?? 0);
          const isBest = results.length > 1 && key !== "evaluated" && v === best[key];
          return h("td", { class: "tj-num", "data-metric": key, "data-value": v, style: isBest ? { fontWeight: "700" } : null }, fmt(v));
        }),
        h("td", {}, m.runId ? h("a", { href: `#/run/${encodeURIComponent(m.runId)}` }, "run") : "")))));
    const parts = [h("h2", {}, "Metrics"), h("div", { class: "tj-table-wrap" }, table)];
    if (results.length > 1) {
      const chart = h("div");
      barChart(chart, {
        groups: [
          { name: "accuracy", bars: results.map((m) => ({ label: m.model, value: m.accuracy ?? 0 })) },
          { name: "macro F1", bars: results.map((m) => ({ label: m.model, value: m.macroF1 ?? 0 })) },
          { name: "average confidence", bars: results.map((m) => ({ label: m.model, value: m.averageConfidence ?? 0 })) },
        ],
      });
      parts.push(chart);
    }
    fill(metricsBox, ...parts);
  };

  // -- one model: confusion, per label, reliability ------------------------------------------

  const drawModel = () => {
    const results = job.results?.models ?? [];
    if (results.length === 0) {
      fill(modelBox);
      return;
    }
    let m = results.find((r) => r.model === selectedModel);
    if (!m) {
      m = results[0];
      selectedModel = m.model;
    }
    const select = h("select", {
      "data-test": "eval-model-select",
      onchange: (e) => {
        selectedModel = e.target.value;
        rememberModel();
        drawModel();
      },
    }, results.map((r) => h("option", { value: r.model, selected: r.model === selectedModel }, r.model)));

    // Rows: the label set, then any other actual label; columns: the rows' labels, any other
    // predicted label, and ERROR when some item failed.
    const labels = labelsOf().map((l) => l.id);
    const confusion = m.confusion ?? {};
    const rows = [...labels];
    for (const a of Object.keys(confusion)) if (!rows.includes(a)) rows.push(a);
    const cols = [...rows];
    let hasError = false;
    for (const row of Object.values(confusion)) {
      for (const p of Object.keys(row.predicted ?? {})) {
        if (p === "ERROR") hasError = true;
        else if (!cols.includes(p)) cols.push(p);
      }
    }
    if (hasError) cols.push("ERROR");
    const heat = h("div");
    const names = labelNames();
    confusionHeatmap(heat, {
      rows, cols, names,
      count: (a, p) => int(confusion[a]?.predicted?.[p]),
      onCell: (a, p) => {
        items.setFilters({ model: selectedModel, actual: a, predicted: p, wrongOnly: false, errorsOnly: false });
        itemsBox.scrollIntoView({ behavior: "smooth", block: "start" });
      },
    });

    const perLabel = m.perLabel ?? {};
    const labelRows = [...labels];
    for (const l of Object.keys(perLabel)) if (!labelRows.includes(l)) labelRows.push(l);
    const labelTable = h("table", { class: "tj-table", "data-test": "per-label" },
      h("thead", {}, h("tr", {}, h("th", {}, "Label"), h("th", { class: "tj-num" }, "Precision"), h("th", { class: "tj-num" }, "Recall"), h("th", { class: "tj-num" }, "F1"), h("th", { class: "tj-num" }, "Support"))),
      h("tbody", {}, labelRows.map((l) => {
        const s = perLabel[l] ?? {};
        return h("tr", { "data-test": "label-row", "data-label": l },
          h("td", { title: l }, names[l] ?? l),
          h("td", { class: "tj-num", "data-metric": "precision", "data-value": Number(s.precision ?? 0) }, fmtNumber(Number(s.precision ?? 0), 3)),
          h("td", { class: "tj-num", "data-metric": "recall", "data-value": Number(s.recall ?? 0) }, fmtNumber(Number(s.recall ?? 0), 3)),
          h("td", { class: "tj-num", "data-metric": "f1", "data-value": Number(s.f1 ?? 0) }, fmtNumber(Number(s.f1 ?? 0), 3)),
          h("td", { class: "tj-num", "data-metric": "support", "data-value": int(s.support) }, String(int(s.support))));
      })),
      h("tfoot", {}, h("tr", {}, h("td", {}, "macro / weighted F1"), h("td"), h("td"),
        h("td", { class: "tj-num" }, `${fmtNumber(m.macroF1 ?? 0, 3)} / ${fmtNumber(m.weightedF1 ?? 0, 3)}`), h("td", { class: "tj-num" }, String(int(m.total))))));

    const rel = h("div");
    const bins = m.reliability?.length ? m.reliability
      : Array.from({ length: 10 }, (_, i) => ({ lower: i / 10, upper: (i + 1) / 10 }));
    reliabilityDiagram(rel, { bins, ece: m.expectedCalibrationError ?? 0 });

    fill(modelBox,
      h("div", { class: "tj-head" }, h("h2", {}, "Model ", h("span", { class: "tj-mono" }, m.model)),
        results.length > 1 ? h("label", { class: "tj-note" }, "show ", select) : null),
      h("div", { class: "tj-row" },
        h("div", { class: "tj-section" }, h("h3", {}, "Confusion matrix"), heat,
          h("div", { class: "tj-note" }, "Counts; color by share of the row (actual label). Click a cell to list its items.")),
        h("div", { class: "tj-section" }, h("h3", {}, "Per label"), labelTable),
        h("div", { class: "tj-section" }, h("h3", {}, "Reliability"), rel,
          h("div", { class: "tj-note" }, "Bars: accuracy per confidence bin; red: gap to the diagonal."))));
  };

  const rememberModel = () => {
    // Keep ?model= in the address without a new route (no hashchange).
    const [path, q] = location.hash.split("?");
    const search = new URLSearchParams(q ?? "");
    search.set("model", selectedModel);
    history.replaceState(history.state, "", `${path}?${search}`);
  };

  // -- the item browser ------------------------------------------------------------------------

  const items = makeItemBrowser(itemsBox, jobId, {
    models: () => modelsOf(),
    labels: () => labelsOf(),
    names: () => labelNames(),
    isDisposed: () => disposed,
  });

  // -- updates ---------------------------------------------------------------------------------

  const update = (next) => {
    const firstTime = job === null;
    const hadResults = Boolean(job?.results?.models?.length);
    job = next;
    if (disposed) return;
    fill(message);
    drawHeader();
    drawProgress();
    drawConfig();
    if (firstTime || !hadResults || !isActive(job.status)) {
      drawMetrics();
      drawModel();
    }
    if (firstTime) items.start();
    else items.reload();
    if (!isActive(job.status) && watch) {
      watch.cancel();
      watch = null;
      live.set("ended");
    }
  };

  const refresh = refresher(async () => {
    try {
      const next = await experiments("GetJob", { jobId });
      if (!disposed) update(next);
    } catch (error) {
      if (!disposed) fill(message, errorBox(error));
    }
  }, 1000);
  const itemsRefresh = refresher(() => items.reload(), 3000);

  const startWatch = () => {
    watch = watchJobs("WatchJob", { jobId }, (event) => {
      if (disposed) return;
      if (event.progress) {
        drawProgress(event.progress);
        itemsRefresh.call();
      } else if (event.started) {
        if (shortEnum(job?.status) !== "running") refresh.call();
      } else if (event.completed || event.failed || event.cancelled) {
        itemsRefresh.cancel();
        refresh.now();
      } else if (event.snapshot && job && shortEnum(event.snapshot.status) !== shortEnum(job.status)) {
        update(event.snapshot);
      }
    }, (s, error) => live.set(s, error));
  };

  firstLoad(root, message, async () => {
    try {
      const first = await jobOfKind(root, message, jobId, "classification_eval", () => disposed);
      if (!first) return live.set("ended");
      update(first);
      if (isActive(first.status)) startWatch();
      else live.set("ended");
    } catch (error) {
      live.set("ended");
      throw error;
    }
  }, () => disposed);

  return () => {
    disposed = true;
    watch?.cancel();
    refresh.cancel();
    itemsRefresh.cancel();
    items.cancel();
  };
}

// ---------------------------------------------------------------------------------------------
// Item browser

const PAGE_SIZE = 25;
const CHUNK = 500; // items per ListJobItems call (the daemon allows 1 to 1,000)
const SCAN_LIMIT = 50_000; // items scanned at most for the filters the daemon does not apply

/**
 * ListJobItems filters by model and errors only; "wrong only" and the label filters are applied
 * here, scanning the daemon's pages (CHUNK items each) until a page of matches is found.
 */
function makeItemBrowser(box, jobId, { models, labels, names, isDisposed }) {
  const filters = { model: "", actual: "", predicted: "", wrongOnly: false, errorsOnly: false };
  let page = 0;
  let cursor = null; // { key, matches, token, exhausted, scanned, total }
  let generation = 0;
  let started = false;

  const tableBox = h("div");
  const pager = h("div", { class: "tj-pager" });
  const status = h("span", { class: "tj-note" });
  const controls = h("div", { class: "tj-filters" });

  fill(box, h("h2", {}, "Items"), controls, tableBox, pager);

  const clientFiltered = () => filters.wrongOnly || filters.actual !== "" || filters.predicted !== "";
  const matches = (it) => {
    const isError = Boolean(it.error);
    const correct = !isError && it.predicted === it.actual;
    if (filters.wrongOnly && correct) return false;
    if (filters.actual && it.actual !== filters.actual) return false;
    if (filters.predicted) {
      if (filters.predicted === "ERROR") return isError;
      if (isError || it.predicted !== filters.predicted) return false;
    }
    return true;
  };

  const newCursor = () => ({ matches: [], token: "", exhausted: false, scanned: 0, total: null });

  /** Loads until `n` matches are known, or the items end. */
  const ensure = async (c, n, gen) => {
    while (!c.exhausted && c.matches.length < n && c.scanned < SCAN_LIMIT) {
      const response = await experiments("ListJobItems", {
        jobId, model: filters.model, errorsOnly: filters.errorsOnly, pageSize: CHUNK, pageToken: c.token,
      });
      if (gen !== generation) return;
      const got = response.items ?? [];
      c.total = int(response.totalCount);
      c.scanned += got.length;
      for (const it of got) if (matches(it)) c.matches.push(it);
      c.token = response.nextPageToken ?? "";
      if (!c.token || got.length === 0) c.exhausted = true;
    }
  };

  const drawControls = () => {
    const option = (value, label, selected) => h("option", { value, selected: value === selected }, label);
    const labelOptions = (selected, withError) => [
      option("", "any", selected),
      labels().map((l) => option(l.id, names()[l.id] ?? l.id, selected)),
      withError ? option("ERROR", "ERROR (failed)", selected) : null,
    ];
    const change = (key) => (e) => {
      filters[key] = e.target.type === "checkbox" ? e.target.checked : e.target.value;
      page = 0;
      load(true);
    };
    fill(controls,
      h("label", {}, "model ", h("select", { "data-test": "items-model", onchange: change("model") },
        option("", "all models", filters.model), models().map((m) => option(m, m, filters.model)))),
      h("label", {}, "actual ", h("select", { "data-test": "items-label", onchange: change("actual") }, labelOptions(filters.actual, false))),
      h("label", {}, "predicted ", h("select", { "data-test": "items-predicted", onchange: change("predicted") }, labelOptions(filters.predicted, true))),
      h("label", {}, h("input", { type: "checkbox", "data-test": "items-wrong", checked: filters.wrongOnly, onchange: change("wrongOnly") }), " wrong only"),
      h("label", {}, h("input", { type: "checkbox", "data-test": "items-errors", checked: filters.errorsOnly, onchange: change("errorsOnly") }), " errors only"),
      status);
  };

  const drawPage = (c) => {
    const n = names();
    const slice = c.matches.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const known = c.exhausted || !clientFiltered();
    const totalMatches = c.exhausted ? c.matches.length : clientFiltered() ? null : c.total ?? c.matches.length;
    if (slice.length === 0) {
      fill(tableBox, h("div", { class: "tj-empty", "data-test": "items-empty" },
        c.scanned >= SCAN_LIMIT ? `No match in the first ${SCAN_LIMIT} items; narrow the filters.` : "No items match."));
    } else {
      fill(tableBox, h("div", { class: "tj-table-wrap" }, h("table", { class: "tj-table", "data-test": "items-table" },
        h("thead", {}, h("tr", {},
          h("th", {}, "Item"), h("th", {}, "Model"), h("th", {}, "Actual"), h("th", {}, "Predicted"),
          h("th", { class: "tj-num" }, "Confidence"), h("th", { class: "tj-num" }, "Latency"), h("th", {}, "Text"), h("th", {}, "Reasoning / error"))),
        h("tbody", {}, slice.map((it) => {
          const isError = Boolean(it.error);
          const correct = !isError && it.predicted === it.actual;
          const why = isError ? it.error : [it.reasoning, it.alternatives?.length ? `alternatives: ${it.alternatives.map((a) => n[a] ?? a).join(", ")}` : ""].filter(Boolean).join(" · ");
          return h("tr", {
            "data-test": "item-row", "data-item-id": it.itemId, "data-model": it.model, "data-correct": String(correct), "data-error": String(isError),
            class: isError ? "tj-err" : correct ? null : "tj-wrong",
          },
          h("td", { class: "tj-mono" }, it.itemId ?? ""),
          h("td", {}, it.model ?? ""),
          h("td", { title: it.actual }, n[it.actual] ?? it.actual ?? ""),
          h("td", { class: "tj-pred", title: it.predicted ?? "" }, isError ? statusBadge("FAILED", { title: it.error }) : (n[it.predicted] ?? it.predicted ?? ""), correct ? " ✓" : isError ? "" : " ✗"),
          h("td", { class: "tj-num" }, isError ? "" : Number(it.confidence ?? 0).toFixed(2)),
          h("td", { class: "tj-num" }, fmtMs(it.latencyMs ?? 0)),
          h("td", { class: "tj-trunc", title: it.excerpt ?? "" }, it.excerpt ?? ""),
          h("td", { class: "tj-trunc", title: why }, why));
        })))));
    }
    const pages = totalMatches === null ? null : Math.max(1, Math.ceil(totalMatches / PAGE_SIZE));
    const hasNext = c.matches.length > (page + 1) * PAGE_SIZE || (!c.exhausted && (totalMatches === null || (page + 1) * PAGE_SIZE < totalMatches));
    const from = slice.length ? page * PAGE_SIZE + 1 : 0;
    fill(pager,
      h("button", { class: "tj-button", "data-test": "items-prev", disabled: page === 0, onclick: () => { page--; load(false); } }, "← Prev"),
      h("span", { "data-test": "items-page" }, `page ${page + 1}${pages ? ` of ${pages}` : ""}`),
      h("button", { class: "tj-button", "data-test": "items-next", disabled: !hasNext, onclick: () => { page++; load(false); } }, "Next →"),
      h("span", { class: "tj-note", "data-test": "items-total", "data-total": known && totalMatches !== null ? totalMatches : "" },
        slice.length ? `items ${from}–${from + slice.length - 1} of ${totalMatches ?? `${c.matches.length}+`}` : ""),
      clientFiltered() && !c.exhausted ? h("span", { class: "tj-note" }, ` (scanned ${c.scanned} of ${c.total ?? "?"})`) : null);
  };

  /** Shows the current page; `reset` drops what was loaded (new filters, new items). */
  const load = async (reset) => {
    if (!started || isDisposed()) return;
    const gen = ++generation;
    if (reset || !cursor) cursor = newCursor();
    const c = cursor;
    drawControls();
    status.textContent = "loading…";
    try {
      // one extra match tells whether there is a next page
      await ensure(c, (page + 1) * PAGE_SIZE + 1, gen);
      if (gen !== generation || isDisposed()) return;
      if (page > 0 && c.matches.length <= page * PAGE_SIZE && c.exhausted) page = Math.max(0, Math.ceil(c.matches.length / PAGE_SIZE) - 1);
      status.textContent = "";
      drawPage(c);
    } catch (error) {
      if (gen !== generation || isDisposed()) return;
      status.textContent = "";
      fill(tableBox, errorBox(error));
    }
  };

  return {
    start() {
      started = true;
      load(true);
    },
    /** New items may exist: load the current page again. */
    reload() {
      return load(true);
    },
    setFilters(next) {
      Object.assign(filters, next);
      page = 0;
      load(true);
    },
    cancel() {
      generation++;
    },
  };
}
