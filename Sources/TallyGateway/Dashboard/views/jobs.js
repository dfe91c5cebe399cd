// Jobs: #/jobs lists every background job (evaluations, sweeps) with a live progress bar fed by
// WatchJobs, and a Cancel button for pending and running jobs (docs/jobs.md).
//
// #/jobs?kind=sweep|classification_eval&status=pending|running|completed|failed|cancelled filters
// the list (the selects on the page set these).
//
// Events: a snapshot (re)writes the job's row; started/progress move its bar at once; a terminal
// event sets the status and fetches the job again (its end time, error, final progress); an event
// of a job not listed (created after the page loaded) fetches it and adds it at the top.
//
// Test hooks (data-test):
//   root[data-ready="true"]   first data (or an error) is on screen; root[data-error="true"] when the list failed
//   live-state                [data-state] connecting | live | reconnecting | ended
//   error                     an RPC failed (text: CODE: message)
//   jobs-table                <table> of jobs
//   job-row                   [data-job-id][data-status][data-kind]
//   job-link                  link to the job's page (#/sweeps/ID or #/evaluations/ID)
//   job-status                status badge [data-status]
//   job-progress              progress bar [data-job-id][data-progress="<0..1>"], updated on each event;
//                             job-progress-text: "current/total"
//   job-created, job-started, job-finished   times (local; HH:MM:SS today, MM-DD HH:MM:SS this year; the full
//                             time in the title); [data-ms] unix milliseconds ("" when none)
//   job-error                 why a job failed
//   job-cancel                Cancel button [data-job-id] (pending and running jobs only)
//   job-cancel-result         the outcome of Cancel [data-job-id][data-outcome="ok|error"]: "cancelled" or CODE: message
//   jobs-kind, jobs-status    filter <select>s
//   jobs-more                 "Load more" button
//   jobs-empty                shown when there is no job

import { experiments, int } from "../api.js";
import {
  firstLoad,
  errorBox, fill, fmtTime, fmtTimeShort, h, injectStyles, insertByCreated, isActive, jobDuration, jobFraction, liveIndicator, progressBar,
  pollPending, refresher, routeParams, setProgress, shortEnum, statusBadge, watchJobs,
} from "../plots.js";

const KINDS = ["classification_eval", "sweep"];
const STATUSES = ["pending", "running", "completed", "failed", "cancelled"];

const pageOf = (job) => (job.kind === "sweep" ? `#/sweeps/${encodeURIComponent(job.id)}`
  : job.kind === "classification_eval" ? `#/evaluations/${encodeURIComponent(job.id)}` : null);

function describe(job) {
  if (job.kind === "sweep") {
    const c = job.sweep ?? {};
    const method = shortEnum(c.method);
    const metric = c.objective?.metric || "score";
    const dir = shortEnum(c.objective?.direction) === "maximize" ? "max" : "min";
    return `${method === "unspecified" ? "grid" : method} · ${dir} ${metric} · ${(c.params ?? []).map((p) => p.name).join(", ")}`;
  }
  if (job.kind === "classification_eval") {
    const c = job.classification ?? {};
    return `${c.dataset ?? ""} · ${c.provider ?? ""} · ${(c.models ?? []).join(", ")}`;
  }
  return "";
}

export async function render(root, params, ctx) {
  injectStyles();
  const { query } = routeParams(params);
  const kind = KINDS.includes(query.get("kind")) ? query.get("kind") : "";
  const status = STATUSES.includes(query.get("status")) ? query.get("status") : "";
  let disposed = false;
  const rows = new Map(); // id → { job, tr, bar, text, statusCell, startedCell, finishedCell, durationCell, errorCell, actionCell }

  const navigate = (k, s) => {
    const q = new URLSearchParams();
    if (k) q.set("kind", k);
    if (s) q.set("status", s);
    const hash = `#/jobs${q.toString() ? `?${q}` : ""}`;
    if (ctx?.navigate) ctx.navigate(hash);
    else location.hash = hash;
  };

  const live = liveIndicator();
  const message = h("div");
  const moreBox = h("div");
  const tbody = h("tbody");
  const table = h("table", { class: "tj-table", "data-test": "jobs-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Job"), h("th", {}, "Kind"), h("th", {}, "Status"), h("th", {}, "Progress"),
      h("th", {}, "What"), h("th", {}, "Created"), h("th", {}, "Started"), h("th", {}, "Finished"),
      h("th", { class: "tj-num" }, "Duration"), h("th", {}, ""))),
    tbody);
  const kindSelect = h("select", { "data-test": "jobs-kind", onchange: (e) => navigate(e.target.value, status) },
    h("option", { value: "" }, "all kinds"), KINDS.map((k) => h("option", { value: k, selected: k === kind }, k)));
  const statusSelect = h("select", { "data-test": "jobs-status", onchange: (e) => navigate(kind, e.target.value) },
    h("option", { value: "" }, "all statuses"), STATUSES.map((s) => h("option", { value: s, selected: s === status }, s)));

  fill(root, h("div", { class: "tj-view" },
    h("div", { class: "tj-head" }, h("h1", {}, "Jobs"), live),
    h("div", { class: "tj-filters" }, h("label", {}, "kind ", kindSelect), h("label", {}, "status ", statusSelect)),
    message,
    h("div", { class: "tj-table-wrap" }, table),
    moreBox));

  const matchesFilter = (job) => (!kind || job.kind === kind) && (!status || shortEnum(job.status) === status);

  const timeCell = (test, ms) => h("td", { class: "tj-nowrap", "data-test": test, "data-ms": int(ms) || "", title: fmtTime(ms) }, fmtTimeShort(ms));

  const setTime = (cell, ms) => {
    cell.dataset.ms = int(ms) ? String(int(ms)) : "";
    cell.textContent = fmtTimeShort(ms);
    cell.title = fmtTime(ms);
  };

  const progressLabel = (current, total) => (total > 0 ? `${current}/${total}` : String(current));

  /** Puts the Cancel button (or nothing) in the row's action cell, keeping a shown result. */
  const drawAction = (entry) => {
    const { job, actionCell } = entry;
    const result = actionCell.querySelector('[data-test="job-cancel-result"]');
    const existing = actionCell.querySelector('[data-test="job-cancel"]');
    if (isActive(job.status)) {
      if (!existing) {
        const button = h("button", {
          class: "tj-button tj-danger", "data-test": "job-cancel", "data-job-id": job.id,
          onclick: () => cancel(entry, button),
        }, "Cancel");
        actionCell.prepend(button);
      }
    } else if (existing && !existing.disabled) existing.remove();
    if (result) actionCell.append(result);
  };

  const cancel = async (entry, button) => {
    const id = entry.job.id;
    button.disabled = true;
    button.textContent = "Cancelling…";
    const show = (outcome, text) => {
      entry.actionCell.querySelector('[data-test="job-cancel-result"]')?.remove();
      entry.actionCell.append(h("span", {
        "data-test": "job-cancel-result", "data-job-id": id, "data-outcome": outcome,
        class: outcome === "ok" ? "tj-result-ok" : "tj-result-err",
      }, text));
    };
    try {
      const job = await experiments("CancelJob", { jobId: id });
      if (disposed) return;
      button.remove();
      show("ok", shortEnum(job.status));
      apply(job);
    } catch (error) {
      if (disposed) return;
      button.disabled = false;
      button.textContent = "Cancel";
      show("error", `${error.codeName}: ${error.message}`);
      // The job may have ended meanwhile: show it as it is.
      dirty.add(id);
      refresh.call();
    }
  };

  const buildRow = (job) => {
    const href = pageOf(job);
    const bar = progressBar(jobFraction(job), { test: "job-progress", jobId: job.id });
    const text = h("span", { class: "tj-note", "data-test": "job-progress-text" }, progressLabel(int(job.progressCurrent), int(job.progressTotal)));
    const entry = {
      job,
      bar,
      text,
      statusCell: h("td"),
      startedCell: timeCell("job-started", job.startedAtMs),
      finishedCell: timeCell("job-finished", job.completedAtMs),
      durationCell: h("td", { class: "tj-num" }),
      errorCell: h("div", { class: "tj-note tj-result-err tj-trunc", "data-test": "job-error" }),
      actionCell: h("td"),
    };
    entry.tr = h("tr", { "data-test": "job-row", "data-job-id": job.id, "data-kind": job.kind ?? "" },
      h("td", {}, href ? h("a", { href, class: "tj-mono", "data-test": "job-link" }, job.id) : h("span", { class: "tj-mono" }, job.id)),
      h("td", {}, job.kind ?? ""),
      entry.statusCell,
      h("td", {}, h("div", { class: "tj-row", style: { gap: "6px", alignItems: "center", flexWrap: "nowrap" } }, bar, text)),
      h("td", { class: "tj-what tj-trunc", title: describe(job) }, describe(job), entry.errorCell),
      timeCell("job-created", job.createdAtMs),
      entry.startedCell,
      entry.finishedCell,
      entry.durationCell,
      entry.actionCell);
    return entry;
  };

  /** Writes a job's state into its row. */
  const paint = (entry) => {
    const { job } = entry;
    entry.tr.dataset.status = shortEnum(job.status);
    fill(entry.statusCell, statusBadge(job.status, { "data-test": "job-status" }));
    setProgress(entry.bar, jobFraction(job));
    entry.text.textContent = progressLabel(int(job.progressCurrent), int(job.progressTotal));
    setTime(entry.startedCell, job.startedAtMs);
    setTime(entry.finishedCell, job.completedAtMs);
    entry.durationCell.textContent = jobDuration(job);
    entry.errorCell.textContent = job.error ?? "";
    entry.errorCell.title = job.error ?? "";
    drawAction(entry);
  };

  /** Adds or updates a job's row from a full Job message. */
  const apply = (job) => {
    let entry = rows.get(job.id);
    if (!entry) {
      if (!matchesFilter(job)) return;
      entry = buildRow(job);
      rows.set(job.id, entry);
      entry.tr.dataset.created = String(int(job.createdAtMs));
      insertByCreated(tbody, entry.tr);
      fill(message);
    }
    entry.job = job;
    paint(entry);
  };

  // Jobs to fetch again (unknown ones, ended ones), batched.
  const dirty = new Set();
  const refresh = refresher(async () => {
    const ids = [...dirty];
    dirty.clear();
    await Promise.all(ids.map(async (jobId) => {
      try {
        const job = await experiments("GetJob", { jobId });
        if (!disposed) apply(job);
      } catch (error) {
        void error; // deleted meanwhile
      }
    }));
  }, 500);

  const onEvent = (event) => {
    if (disposed || !event.jobId) return;
    const entry = rows.get(event.jobId);
    if (event.snapshot) {
      apply(event.snapshot);
      return;
    }
    if (!entry) {
      // A job created after the list was loaded (or not on the loaded pages).
      if (!kind || event.jobKind === kind) {
        dirty.add(event.jobId);
        refresh.call();
      }
      return;
    }
    const job = { ...entry.job };
    const t = event.timeMs;
    if (event.started) {
      job.status = "JOB_STATUS_RUNNING";
      if (!int(job.startedAtMs)) job.startedAtMs = t;
      if (event.started.total !== undefined) job.progressTotal = event.started.total;
    } else if (event.progress) {
      if (shortEnum(job.status) === "pending") job.status = "JOB_STATUS_RUNNING";
      job.progressCurrent = event.progress.current ?? "0";
      job.progressTotal = event.progress.total ?? "0";
    } else if (event.completed || event.failed || event.cancelled) {
      job.status = event.completed ? "JOB_STATUS_COMPLETED" : event.failed ? "JOB_STATUS_FAILED" : "JOB_STATUS_CANCELLED";
      job.completedAtMs = t;
      if (event.failed) job.error = event.failed.error ?? "";
      dirty.add(event.jobId);
      refresh.call();
    } else {
      return; // trial and item events: the progress events carry the numbers
    }
    entry.job = job;
    paint(entry);
  };

  const loadPage = async (token) => {
    const request = { pageSize: 100, pageToken: token };
    if (kind) request.kind = kind;
    if (status) request.statuses = [`JOB_STATUS_${status.toUpperCase()}`];
    const response = await experiments("ListJobs", request);
    if (disposed) return;
    for (const job of response.jobs ?? []) apply(job);
    const next = response.nextPageToken ?? "";
    fill(moreBox, next ? h("button", {
      class: "tj-button", "data-test": "jobs-more",
      onclick: async (e) => {
        e.target.disabled = true;
        try {
          await loadPage(next);
        } catch (error) {
          fill(message, errorBox(error));
        }
      },
    }, "Load more") : null);
    if (rows.size === 0) fill(message, h("div", { class: "tj-empty", "data-test": "jobs-empty" }, "No jobs."));
  };

  // Watch first so that no event between the listing and the watch is missed; events of jobs
  // not listed yet are fetched, and the listing then updates the rows in place.
  const watch = watchJobs("WatchJobs", kind ? { kind } : {}, onEvent, (state, error) => live.set(state, error));

  // Jobs queued after the page loaded (WatchJobs announces them only when they start).
  const poll = pollPending(kind, (job) => {
    if (!rows.has(job.id)) apply(job);
  });

  // Running jobs' durations tick.
  const ticker = setInterval(() => {
    for (const entry of rows.values()) if (shortEnum(entry.job.status) === "running") entry.durationCell.textContent = jobDuration(entry.job);
  }, 1000);

  firstLoad(root, message, () => loadPage(""), () => disposed);

  return () => {
    disposed = true;
    watch.cancel();
    poll.cancel();
    refresh.cancel();
    clearInterval(ticker);
  };
}
