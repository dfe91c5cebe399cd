// Sweeps: #/sweeps lists the sweep jobs, #/sweeps/ID shows one sweep (docs/sweeps.md).
//
// Live: the list follows WatchJobs(kind "sweep"), a sweep that is pending or running follows
// WatchJob; trial and progress events make the view fetch the job again (GetJob carries the
// results so far), at most once a second (every 2 s beyond 500 trials, 5 s beyond 2,000).
//
// Test hooks (data-test):
//   root[data-ready="true"]           first data (or an error) is on screen; root[data-error="true"] when
//                                     the first load failed (unknown id, wrong kind of job, RPC error)
//   live-state                        [data-state] connecting | live | reconnecting | ended
//   error                             an RPC failed (text: CODE: message)
// #/sweeps
//   sweeps-table                      <table> of sweeps; rows: sweep-row [data-job-id][data-status]
//   sweep-link                        <a href="#/sweeps/ID"> in each row
//   sweep-progress                    progress bar [data-job-id][data-progress="0..1"]
//   sweep-best-score                  best objective so far [data-value]
//   sweeps-more                       "Load more" button (when there is a next page)
//   sweeps-empty                      shown when there is no sweep
// #/sweeps/ID
//   sweep-status                      status badge [data-status]
//   sweep-cancel                      Cancel button (pending/running); sweep-cancel-result: its outcome
//   sweep-progress                    progress bar [data-progress]
//   sweep-summary                     configuration and counts (<dl>): sweep-count-<completed|failed|pruned|killed|total>
//   sweep-best                        the best trial [data-trial-number][data-score]; inside it
//                                     best-score, best-ci95 / best-ci99 [data-lower][data-upper], best-params
//   best-so-far                       SVG chart container [data-points]; best-log: its log-scale checkbox
//                                     (on by default when the scores are positive and span > 2 decades)
//   parallel-coords                   SVG chart container [data-points]; lines pc-line [data-id=trial id];
//                                     axes pc-axis [data-name]
//   pc-show-unfinished                checkbox: also draw trials without a score (gray)
//   trials-table                      <table> of trials, newest first; rows trial-row [data-trial-number]
//                                     [data-trial-id][data-status][data-method]; the best trial's row has
//                                     class tj-best-row; cells [data-param=NAME]; headers th[data-sort] sort
//                                     on click (again: reverse)
//   trial-score                       score cell [data-value] (no score: data-value=""), with folds also
//                                     [data-ci95-lower][data-ci95-upper][data-ci99-lower][data-ci99-upper]
//   trial-status-filter               <select> of trial statuses; trials-empty when none matches

import { experiments, int } from "../api.js";
import {
  firstLoad,
  jobOfKind,
  syncCancelButton,
  bestSoFarChart, errorBox, fill, fmtDuration, fmtNumber, fmtParam, fmtTime, fmtTimeShort, h, injectStyles, isActive,
  insertByCreated, jobDuration, jobFraction, liveIndicator, parallelCoordinates, paramValue, progressBar, refresher,
  routeParams, scoreLegend, setProgress, shortEnum, statusBadge, watchJobs,
} from "../plots.js";

export async function render(root, params, ctx) {
  injectStyles();
  const { id } = routeParams(params);
  return id ? renderSweep(root, id, ctx) : renderList(root, ctx);
}

// ---------------------------------------------------------------------------------------------
// Shared bits

const objectiveOf = (config) => ({
  metric: config?.objective?.metric || "score",
  direction: shortEnum(config?.objective?.direction) === "maximize" ? "maximize" : "minimize",
});

function methodOf(config) {
  const m = shortEnum(config?.method);
  return m === "unspecified" ? "grid" : m;
}

function paramSpec(p) {
  if (p.categorical) return `choice: ${(p.categorical.values ?? []).map(fmtParam).join(", ")}`;
  if (p.intRange) {
    const r = p.intRange;
    const step = int(r.step) > 1 ? ` step ${int(r.step)}` : "";
    return `int [${int(r.low)}, ${int(r.high)}]${step}${r.log ? " log" : ""}`;
  }
  if (p.floatRange) {
    const r = p.floatRange;
    const step = Number(r.step ?? 0) > 0 ? ` step ${fmtNumber(r.step)}` : "";
    return `float [${fmtNumber(r.low ?? 0)}, ${fmtNumber(r.high ?? 0)}]${step}${r.log ? " log" : ""}`;
  }
  return "?";
}

const trialsOf = (job) => job?.results?.sweep?.trials ?? [];
const hasScore = (t) => t.score !== undefined && t.score !== null && Number.isFinite(Number(t.score));

/** The best score of a sweep, or undefined. */
function bestScoreOf(job) {
  const r = job?.results?.sweep;
  if (r && r.bestScore !== undefined) return Number(r.bestScore);
  return undefined;
}

function sweepFraction(job) {
  const f = jobFraction(job);
  return f;
}

function progressLabel(job) {
  const total = int(job.progressTotal);
  const current = int(job.progressCurrent);
  return total > 0 ? `${current}/${total}` : `${current} trials`;
}

// ---------------------------------------------------------------------------------------------
// The list

function renderList(root, ctx) {
  void ctx;
  let disposed = false;
  const rows = new Map(); // job id → { tr, job }
  const live = liveIndicator();
  const tbody = h("tbody");
  const table = h("table", { class: "tj-table", "data-test": "sweeps-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Sweep"), h("th", {}, "Status"), h("th", {}, "Method"), h("th", {}, "Objective"),
      h("th", {}, "Params"), h("th", {}, "Trials"), h("th", { class: "tj-num" }, "Best"),
      h("th", {}, "Created"), h("th", { class: "tj-num" }, "Duration"))),
    tbody);
  const message = h("div");
  const moreBox = h("div");
  fill(root, h("div", { class: "tj-view" },
    h("div", { class: "tj-head" }, h("h1", {}, "Sweeps"), live),
    message,
    h("div", { class: "tj-table-wrap" }, table),
    moreBox));

  const rowFor = (job) => {
    const config = job.sweep ?? {};
    const { metric, direction } = objectiveOf(config);
    const best = bestScoreOf(job);
    const params = (config.params ?? []).map((p) => p.name).join(", ");
    return h("tr", { "data-test": "sweep-row", "data-job-id": job.id, "data-status": shortEnum(job.status) },
      h("td", {}, h("a", { href: `#/sweeps/${encodeURIComponent(job.id)}`, class: "tj-mono", "data-test": "sweep-link" }, job.id)),
      h("td", {}, statusBadge(job.status)),
      h("td", {}, methodOf(config)),
      h("td", {}, `${direction} ${metric}`),
      h("td", { class: "tj-trunc", title: params }, params),
      h("td", {}, progressBar(sweepFraction(job), { test: "sweep-progress", jobId: job.id, label: progressLabel(job) })),
      h("td", { class: "tj-num", "data-test": "sweep-best-score", "data-value": best ?? "" }, best === undefined ? "–" : fmtNumber(best, 5)),
      h("td", { class: "tj-nowrap", title: fmtTime(job.createdAtMs) }, fmtTimeShort(job.createdAtMs)),
      h("td", { class: "tj-num" }, jobDuration(job)));
  };

  const upsert = (job) => {
    // ListJobs and WatchJobs snapshots leave out the results of a running sweep (GetJob has them):
    // keep the ones already shown, or fetch them.
    if (!job.results?.sweep && isActive(job.status)) {
      const old = rows.get(job.id)?.job;
      if (old?.results?.sweep) job = { ...job, results: old.results };
      else if (!pendingResults.has(job.id)) {
        pendingResults.add(job.id);
        dirty.add(job.id);
        refresh.call();
      }
    }
    const tr = rowFor(job);
    tr.dataset.created = String(int(job.createdAtMs));
    const old = rows.get(job.id);
    if (old) tbody.replaceChild(tr, old.tr);
    else insertByCreated(tbody, tr);
    rows.set(job.id, { tr, job });
  };

  let nextToken = "";
  const loadPage = async (token) => {
    const response = await experiments("ListJobs", { kind: "sweep", pageSize: 50, pageToken: token });
    if (disposed) return;
    for (const job of response.jobs ?? []) upsert(job);
    nextToken = response.nextPageToken ?? "";
    fill(moreBox, nextToken ? h("button", {
      class: "tj-button", "data-test": "sweeps-more",
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await loadPage(nextToken);
        } catch (error) {
          fill(message, errorBox(error));
        }
      },
    }, "Load more") : null);
    fill(message, rows.size === 0 ? h("div", { class: "tj-empty", "data-test": "sweeps-empty" }, "No sweeps yet. Create one with `tally sweeps create`.") : null);
  };

  // Jobs to fetch again after events, batched.
  const dirty = new Set();
  const pendingResults = new Set(); // running sweeps whose results were asked for once
  const refresh = refresher(async () => {
    const ids = [...dirty];
    dirty.clear();
    await Promise.all(ids.map(async (jobId) => {
      try {
        const job = await experiments("GetJob", { jobId });
        if (!disposed) upsert(job);
        if (!disposed && rows.size > 0) fill(message);
      } catch (error) {
        void error; // deleted meanwhile: keep the row as it is
      }
    }));
  }, 1000);

  const watch = watchJobs("WatchJobs", { kind: "sweep" }, (event) => {
    if (disposed || !event.jobId) return;
    const entry = rows.get(event.jobId);
    if (event.snapshot) {
      upsert(event.snapshot);
      return;
    }
    if (entry && event.progress) {
      const bar = entry.tr.querySelector('[data-test="sweep-progress"]');
      const total = int(event.progress.total);
      const current = int(event.progress.current);
      if (bar) setProgress(bar, total > 0 ? current / total : null, total > 0 ? `${current}/${total}` : `${current} trials`);
      return;
    }
    if (entry && (event.trialStarted || event.trialFinished)) {
      const best = (event.trialFinished ?? event.trialStarted).best;
      const cell = entry.tr.querySelector('[data-test="sweep-best-score"]');
      if (cell && best && best.score !== undefined) {
        cell.dataset.value = String(best.score);
        cell.textContent = fmtNumber(best.score, 5);
      }
      return;
    }
    // started, a terminal event, or a sweep not listed yet: fetch it
    dirty.add(event.jobId);
    refresh.call();
  }, (state, error) => live.set(state, error));

  firstLoad(root, message, () => loadPage(""), () => disposed);

  return () => {
    disposed = true;
    watch.cancel();
    refresh.cancel();
  };
}

// ---------------------------------------------------------------------------------------------
// One sweep

function renderSweep(root, jobId, ctx) {
  void ctx;
  let disposed = false;
  let job = null;
  let watch = null;
  const state = { sortKey: "number", sortDir: -1, statusFilter: "", showUnfinished: false, logY: null };

  const live = liveIndicator();
  const statusBox = h("span");
  const actions = h("span", { class: "tj-row" });
  const message = h("div");
  const progressBox = h("div", { class: "tj-row" });
  const summaryBox = h("div", { class: "tj-card" });
  const bestBox = h("div", { class: "tj-card", "data-test": "sweep-best" });
  const curveBox = h("div", { "data-test": "best-so-far" });
  const logToggle = h("input", {
    type: "checkbox", "data-test": "best-log",
    onchange: (e) => {
      state.logY = e.target.checked;
      drawCurve();
    },
  });
  const pcBox = h("div", { "data-test": "parallel-coords" });
  const pcLegend = h("div");
  const pcToggle = h("input", {
    type: "checkbox", "data-test": "pc-show-unfinished",
    onchange: (e) => {
      state.showUnfinished = e.target.checked;
      drawParallel();
    },
  });
  const filterSelect = h("select", {
    "data-test": "trial-status-filter",
    onchange: (e) => {
      state.statusFilter = e.target.value;
      drawTable();
    },
  }, ["", "running", "completed", "failed", "pruned", "killed"].map((s) => h("option", { value: s }, s || "all statuses")));
  const tableBox = h("div", { class: "tj-table-wrap" });
  const tableNote = h("span", { class: "tj-note" });

  fill(root, h("div", { class: "tj-view" },
    h("div", { class: "tj-head" },
      h("h1", {}, "Sweep ", h("span", { class: "tj-mono" }, jobId)), statusBox, live, actions),
    h("div", {}, h("a", { href: "#/sweeps" }, "← all sweeps")),
    message,
    progressBox,
    h("div", { class: "tj-row" }, summaryBox, bestBox),
    h("div", { class: "tj-row" },
      h("section", { class: "tj-section" }, h("h2", {}, "Best so far"), curveBox,
        h("label", { class: "tj-note" }, logToggle, " log scale")),
      h("section", { class: "tj-section" },
        h("h2", {}, "Parameters against the objective"),
        pcBox,
        h("div", { class: "tj-row" }, pcLegend, h("label", { class: "tj-note" }, pcToggle, " show trials without a score")))),
    h("section", { class: "tj-section" },
      h("div", { class: "tj-head" }, h("h2", {}, "Trials"), filterSelect, tableNote),
      tableBox)));

  // -- drawing -----------------------------------------------------------------------------

  const drawHeader = () => {
    fill(statusBox, statusBadge(job.status, { "data-test": "sweep-status" }));
    syncCancelButton(actions, { job, jobId, prefix: "sweep", noun: "sweep", isDisposed: () => disposed, onUpdated: update });
    fill(progressBox,
      progressBar(sweepFraction(job), { test: "sweep-progress", jobId, label: progressLabel(job) }),
      h("span", { class: "tj-note" }, job.error ? `error: ${job.error}` : ""));
  };

  const drawSummary = () => {
    const config = job.sweep ?? {};
    const r = job.results?.sweep ?? {};
    const { metric, direction } = objectiveOf(config);
    const dl = h("dl", { class: "tj-kv", "data-test": "sweep-summary" });
    const add = (k, v, test) => dl.append(h("dt", {}, k), h("dd", { "data-test": test }, v));
    add("objective", `${direction} ${metric}`);
    add("method", methodOf(config) + (shortEnum(config.method) === "bayesian" ? ` (${config.startupTrials ?? 10} random startup trials)` : ""));
    for (const p of config.params ?? []) add(`param ${p.name}`, paramSpec(p));
    for (const [k, v] of Object.entries(config.fixed ?? {})) add(`fixed ${k}`, fmtParam(v));
    const maxTrials = int(config.maxTrials) || int(config.totalCombinations);
    add("trials", `${int(r.total)}${maxTrials ? ` of ${maxTrials}` : ""}`, "sweep-count-total");
    add("completed", String(int(r.completed)), "sweep-count-completed");
    add("failed", String(int(r.failed)), "sweep-count-failed");
    add("pruned", String(int(r.pruned)), "sweep-count-pruned");
    add("killed", String(int(r.killed)), "sweep-count-killed");
    add("parallel", String(int(config.maxParallel) || 1));
    if (int(config.timeLimitMs)) add("time limit", fmtDuration(int(config.timeLimitMs)));
    if (config.pruner?.enabled) add("pruner", `median (min ${config.pruner.minTrials ?? 5} trials, warmup ${config.pruner.warmupSteps ?? 0})`);
    add("seed", String(int(config.seed)));
    if (int(r.tuningTimeMs)) add("tuning time", fmtDuration(int(r.tuningTimeMs)));
    add("created", fmtTime(job.createdAtMs));
    if (int(job.completedAtMs)) add("finished", fmtTime(job.completedAtMs));
    if (job.experimentId) add("experiment", h("a", { href: `#/runs?experiments=${encodeURIComponent(job.experimentId)}` }, config.experiment || job.experimentId));
    fill(summaryBox, h("h2", { class: "tj-sub" }, "Configuration"), dl);
  };

  const drawBest = () => {
    const r = job.results?.sweep ?? {};
    const { metric } = objectiveOf(job.sweep);
    const best = trialsOf(job).find((t) => t.id === r.bestTrialId);
    if (!r.bestTrialId || r.bestScore === undefined) {
      bestBox.removeAttribute("data-trial-number");
      bestBox.removeAttribute("data-score");
      fill(bestBox, h("h2", { class: "tj-sub" }, "Best trial"), h("div", { class: "tj-empty" }, "No completed trial yet."));
      return;
    }
    const score = Number(r.bestScore);
    bestBox.dataset.trialNumber = String(int(best?.number));
    bestBox.dataset.score = String(score);
    const folds = best?.folds;
    const hasInterval = folds ? Boolean(folds.hasInterval) : [r.bestCi95Lower, r.bestCi95Upper].some((v) => v !== undefined && Number(v) !== 0);
    const ci = (level, lower, upper) => hasInterval
      ? h("dd", { "data-test": `best-ci${level}`, "data-lower": lower, "data-upper": upper },
        `[${fmtNumber(lower, 5)}, ${fmtNumber(upper, 5)}]`, h("span", { class: "tj-ci" }, ` ±${fmtNumber((upper - lower) / 2, 3)}`))
      : h("dd", { "data-test": `best-ci${level}`, class: "tj-muted" }, "— (needs at least 2 fold scores)");
    const dl = h("dl", { class: "tj-kv" },
      h("dt", {}, "trial"), h("dd", {}, `#${int(best?.number)} `, best?.runId ? h("a", { href: `#/run/${encodeURIComponent(best.runId)}` }, "run") : null),
      h("dt", {}, metric), h("dd", { "data-test": "best-score", "data-value": score }, h("strong", {}, fmtNumber(score, 6))),
      h("dt", {}, "95% interval"), ci(95, Number(r.bestCi95Lower ?? folds?.ci95Lower ?? 0), Number(r.bestCi95Upper ?? folds?.ci95Upper ?? 0)),
      h("dt", {}, "99% interval"), ci(99, Number(r.bestCi99Lower ?? folds?.ci99Lower ?? 0), Number(r.bestCi99Upper ?? folds?.ci99Upper ?? 0)));
    if (folds) {
      dl.append(h("dt", {}, "folds"), h("dd", {}, `n=${int(folds.n)}, std ${fmtNumber(folds.std ?? 0, 4)}, median ${fmtNumber(folds.median ?? 0, 5)}, range [${fmtNumber(folds.min ?? 0, 4)}, ${fmtNumber(folds.max ?? 0, 4)}]`));
    }
    const params = h("dl", { class: "tj-kv", "data-test": "best-params" });
    for (const [k, v] of Object.entries(r.bestParams ?? {}).sort(([a], [b]) => a.localeCompare(b))) params.append(h("dt", {}, k), h("dd", { "data-param": k }, fmtParam(v)));
    fill(bestBox, h("h2", { class: "tj-sub" }, "Best trial"), dl, h("h3", { class: "tj-sub" }, "params"), params);
  };

  const drawCurve = () => {
    const { metric, direction } = objectiveOf(job.sweep);
    const points = trialsOf(job).filter((t) => shortEnum(t.status) === "completed" && hasScore(t))
      .map((t) => ({ x: int(t.number), y: Number(t.score), label: `trial ${int(t.number)}: ${metric} ${fmtNumber(t.score, 6)}` }));
    const ys = points.map((p) => p.y);
    const positive = ys.length > 0 && ys.every((y) => y > 0);
    // Log scale by default when the scores are positive and span more than two decades.
    if (state.logY === null && ys.length >= 5) state.logY = positive && Math.max(...ys) / Math.min(...ys) > 100;
    logToggle.checked = Boolean(state.logY);
    logToggle.disabled = !positive;
    bestSoFarChart(curveBox, { points, direction, metric, width: 460, height: 300, logY: Boolean(state.logY) && positive });
  };

  const axesOf = () => {
    const config = job.sweep ?? {};
    const trials = trialsOf(job);
    const axes = (config.params ?? []).map((p) => {
      if (p.categorical) return { name: p.name, kind: "categorical", values: (p.categorical.values ?? []).map(paramValue) };
      const r = p.intRange ?? p.floatRange ?? {};
      return { name: p.name, kind: r.log ? "log" : "linear", low: Number(r.low ?? 0), high: Number(r.high ?? 0), integer: Boolean(p.intRange) };
    });
    // Params of the trials that the config does not list (should not happen): categorical axes.
    const known = new Set(axes.map((a) => a.name));
    for (const t of trials) {
      for (const name of Object.keys(t.params ?? {})) {
        if (!known.has(name) && !(name in (config.fixed ?? {}))) {
          known.add(name);
          const values = [...new Set(trials.map((x) => paramValue(x.params?.[name])).filter((v) => v !== undefined))];
          axes.push({ name, kind: "categorical", values });
        }
      }
    }
    return axes;
  };

  const drawParallel = () => {
    const { metric, direction } = objectiveOf(job.sweep);
    const trials = trialsOf(job);
    const scored = trials.filter((t) => shortEnum(t.status) === "completed" && hasScore(t));
    const scores = scored.map((t) => Number(t.score));
    const lo = Math.min(...scores);
    const hi = Math.max(...scores);
    const axes = axesOf();
    const objectiveAxis = { name: metric, kind: "linear", low: scores.length ? lo : 0, high: scores.length ? hi : 1, objective: true };
    const bestId = job.results?.sweep?.bestTrialId;
    const goodness = (s) => (hi > lo ? (direction === "minimize" ? (hi - s) / (hi - lo) : (s - lo) / (hi - lo)) : 1);
    const rows = (state.showUnfinished ? trials : scored).map((t) => {
      const score = hasScore(t) ? Number(t.score) : NaN;
      const values = axes.map((a) => paramValue(t.params?.[a.name]));
      values.push(score);
      const params = axes.map((a) => `${a.name}=${fmtParam(t.params?.[a.name])}`).join(", ");
      return {
        id: t.id,
        values,
        goodness: Number.isFinite(score) ? goodness(score) : null,
        highlight: t.id === bestId,
        label: `trial ${int(t.number)} (${shortEnum(t.status)}): ${params}; ${metric} ${Number.isFinite(score) ? fmtNumber(score, 6) : "–"}`,
      };
    });
    parallelCoordinates(pcBox, { axes: [...axes, objectiveAxis], rows, width: Math.max(520, 150 * (axes.length + 1)), height: 300 });
    if (scores.length) {
      const worst = direction === "minimize" ? hi : lo;
      const best = direction === "minimize" ? lo : hi;
      fill(pcLegend, scoreLegend(`worst ${fmtNumber(worst, 4)}`, `best ${fmtNumber(best, 4)}`));
    } else fill(pcLegend);
  };

  const sortValue = (t, key) => {
    if (key === "number") return int(t.number);
    if (key === "score") return hasScore(t) ? Number(t.score) : NaN;
    if (key === "status") return shortEnum(t.status);
    if (key === "method") return t.methodUsed ?? "";
    if (key === "duration") return (int(t.finishedAtMs) || Date.now()) - int(t.startedAtMs);
    if (key.startsWith("param:")) return paramValue(t.params?.[key.slice(6)]);
    return 0;
  };

  const drawTable = () => {
    const config = job.sweep ?? {};
    const { metric } = objectiveOf(config);
    const names = (config.params ?? []).map((p) => p.name);
    for (const t of trialsOf(job)) for (const k of Object.keys(t.params ?? {})) if (!names.includes(k) && !(k in (config.fixed ?? {}))) names.push(k);
    const bestId = job.results?.sweep?.bestTrialId;
    let trials = trialsOf(job);
    const total = trials.length;
    if (state.statusFilter) trials = trials.filter((t) => shortEnum(t.status) === state.statusFilter);
    const { sortKey, sortDir } = state;
    trials = [...trials].sort((a, b) => {
      const x = sortValue(a, sortKey);
      const y = sortValue(b, sortKey);
      const xNaN = typeof x === "number" && Number.isNaN(x);
      const yNaN = typeof y === "number" && Number.isNaN(y);
      if (xNaN || yNaN) return xNaN && yNaN ? int(a.number) - int(b.number) : xNaN ? 1 : -1; // no score: last
      const c = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
      return c * sortDir || int(a.number) - int(b.number);
    });
    const th = (key, label, cls = "") => h("th", {
      class: `tj-sortable ${cls}`, "data-sort": key, title: "sort",
      onclick: () => {
        if (state.sortKey === key) state.sortDir = -state.sortDir;
        else {
          state.sortKey = key;
          state.sortDir = key === "number" ? -1 : 1;
        }
        drawTable();
      },
    }, label, state.sortKey === key ? (state.sortDir > 0 ? " ▲" : " ▼") : "");
    const limit = 2000;
    const body = h("tbody");
    for (const t of trials.slice(0, limit)) {
      const status = shortEnum(t.status);
      const score = hasScore(t) ? Number(t.score) : undefined;
      const folds = t.folds;
      let scoreCell;
      if (score === undefined) scoreCell = h("td", { class: "tj-num tj-muted", "data-test": "trial-score", "data-value": "" }, "–");
      else if (folds?.hasInterval) {
        const half95 = (Number(folds.ci95Upper ?? 0) - Number(folds.ci95Lower ?? 0)) / 2;
        scoreCell = h("td", {
          class: "tj-num", "data-test": "trial-score", "data-value": score,
          "data-ci95-lower": folds.ci95Lower ?? 0, "data-ci95-upper": folds.ci95Upper ?? 0,
          "data-ci99-lower": folds.ci99Lower ?? 0, "data-ci99-upper": folds.ci99Upper ?? 0,
          title: `${int(folds.n)} folds; 95% [${fmtNumber(folds.ci95Lower ?? 0, 5)}, ${fmtNumber(folds.ci95Upper ?? 0, 5)}]; 99% [${fmtNumber(folds.ci99Lower ?? 0, 5)}, ${fmtNumber(folds.ci99Upper ?? 0, 5)}]; std ${fmtNumber(folds.std ?? 0, 4)}`,
        }, fmtNumber(score, 5), h("span", { class: "tj-ci" }, ` ± ${fmtNumber(half95, 3)}`));
      } else scoreCell = h("td", { class: "tj-num", "data-test": "trial-score", "data-value": score }, fmtNumber(score, 5));
      const started = int(t.startedAtMs);
      const finished = int(t.finishedAtMs);
      const duration = started ? fmtDuration((finished || Date.now()) - started) : "";
      const why = t.error || t.note || "";
      body.append(h("tr", {
        "data-test": "trial-row", "data-trial-number": int(t.number), "data-status": status, "data-method": t.methodUsed ?? "",
        "data-trial-id": t.id, class: t.id === bestId ? "tj-best-row" : null,
      },
      h("td", { class: "tj-num" }, t.runId ? h("a", { href: `#/run/${encodeURIComponent(t.runId)}`, title: "the trial's run" }, String(int(t.number))) : String(int(t.number))),
      h("td", {}, statusBadge(t.status)),
      h("td", { title: t.note ?? "" }, t.methodUsed ?? "", t.note ? " *" : ""),
      names.map((n) => h("td", { class: "tj-num", "data-param": n }, t.params?.[n] === undefined ? "" : fmtParam(t.params[n]))),
      scoreCell,
      h("td", { class: "tj-num" }, duration),
      h("td", { class: "tj-mono" }, t.worker ?? ""),
      h("td", { class: "tj-trunc", title: why }, why)));
    }
    const table = h("table", { class: "tj-table", "data-test": "trials-table" },
      h("thead", {}, h("tr", {},
        th("number", "#", "tj-num"), th("status", "Status"), th("method", "Method"),
        names.map((n) => th(`param:${n}`, n, "tj-num")),
        th("score", `${metric} ± 95% CI`, "tj-num"), th("duration", "Duration", "tj-num"),
        h("th", {}, "Worker"), h("th", {}, "Error / note"))),
      body);
    fill(tableBox, trials.length ? table : h("div", { class: "tj-empty", "data-test": "trials-empty" }, total ? "No trial with this status." : "No trials yet."));
    fill(tableNote, trials.length > limit ? `showing ${limit} of ${trials.length}` : `${trials.length} of ${total} trials`);
  };

  const update = (next) => {
    job = next;
    if (disposed) return;
    fill(message);
    drawHeader();
    drawSummary();
    drawBest();
    drawCurve();
    drawParallel();
    drawTable();
    if (!isActive(job.status) && watch) {
      watch.cancel();
      watch = null;
      live.set("ended");
    }
  };

  // GetJob carries every trial: fetch it less often for big sweeps.
  const refresh = refresher(async () => {
    try {
      const next = await experiments("GetJob", { jobId });
      if (!disposed) update(next);
    } catch (error) {
      if (!disposed) fill(message, errorBox(error));
    }
  }, () => (trialsOf(job).length > 2000 ? 5000 : trialsOf(job).length > 500 ? 2000 : 1000));

  const startWatch = () => {
    watch = watchJobs("WatchJob", { jobId }, (event) => {
      if (disposed) return;
      if (event.progress && job) {
        const total = int(event.progress.total);
        const current = int(event.progress.current);
        const bar = progressBox.querySelector('[data-test="sweep-progress"]');
        if (bar) setProgress(bar, total > 0 ? current / total : null, total > 0 ? `${current}/${total}` : `${current} trials`);
      }
      if (event.completed || event.failed || event.cancelled) refresh.now();
      else if (!event.snapshot || job === null) refresh.call();
    }, (s, error) => live.set(s, error));
  };

  firstLoad(root, message, async () => {
    try {
      const first = await jobOfKind(root, message, jobId, "sweep", () => disposed);
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
  };
}
