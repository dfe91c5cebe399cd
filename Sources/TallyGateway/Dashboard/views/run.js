// #/run/ID — one run: status (live, WatchRun), params, tags, description, lineage (parent and
// children), every metric as a chart (live points appended), images logged with `log_image` (one
// card per key with a step slider), artifacts with versions, aliases, size and SHA-256,
// downloadable (DownloadArtifact stream → Blob → <a download>).
//
// The Run message has no description field: the page shows the run's "description" (or "note")
// tag when there is one, and the experiment's description.
//
// Test hooks:
//   root data-ready="true" once the run's details are on screen (charts fill in after)
//   data-test="run-name", "run-id", "run-experiment" (link → runs of the experiment)
//   data-test="run-status"        wraps the status badge; data-status="running|completed|failed|killed|crashed"
//                                 (updated live from WatchRun)
//   data-test="run-error"         why a failed run failed
//   data-test="run-started", "run-duration" (ticks while running), "run-completed"
//   data-test="run-live"          live-update state: data-state="watching|polling|ended|error"
//   data-test="run-description"   the description (run tag and/or experiment description)
//   data-test="run-params"        <table>; rows data-test="param-row" data-key, value cell data-test="param-value"
//   data-test="run-tags"          tag chips (data-test="tag" data-key)
//   data-test="run-parent"        link to the parent run (or "none"); data-run-id
//   data-test="run-children"      list of child links (data-test="child-link" data-run-id); data-count
//   data-test="run-metrics"       <table> of summaries; rows data-test="metric-row" data-key,
//                                 cells data-test="metric-last|metric-min|metric-max|metric-count"
//   data-test="chart-controls"    see charts.js; data-test="metric-chart" per key (data-key, data-points,
//                                 data-live-last-step)
//   data-test="run-artifacts"     <table>; rows data-test="artifact-row" data-artifact-id data-name
//                                 data-version; cells data-test="artifact-aliases|artifact-size|artifact-sha256"
//   data-test="artifact-download" button per artifact row; data-artifact-id
//   data-test="artifact-folder"   instead of the button on a folder version: the CLI command that
//                                 restores it; data-files (its file count)
//   data-test="artifact-versions" button: every version of that name in the experiment
//   data-test="download-status"   per row: progress, then "downloaded N bytes (SHA-256 verified)" or the error;
//                                 data-state="downloading|done|error", data-bytes
//   data-test="chart-selected"    link to #/charts?runs=ID (and the children)
//   data-test="run-images"        the Images section; hidden when the run has no images; data-count (keys)
//   data-test="image-card"        one per image key; data-key, data-steps (how many), data-step (shown),
//                                 data-state="loading|loaded|error"
//   data-test="image-slider"      <input type=range> over the card's steps (0 … steps-1, sorted by step)
//   data-test="image-step"        the step shown; data-step
//   data-test="image-prev", "image-next"  buttons (the slider's arrow keys do the same)
//   data-test="image"             <img>; data-artifact-id of the version shown
//   data-test="image-error"       why an image could not be shown

import { tracking, trackingStream } from "../api.js";
import {
  h, replace, num, fmtNum, fmtInt, fmtBytes, fmtDuration, fmtTime, fmtAgo, paramText, statusBadge, statusName, isRunning,
  shortId, routeHash, filterString, loadingBox, errorBox, emptyBox,
} from "../format.js";
import { MetricChart, chartControls, defaultChartOptions, fetchHistory, fetchRange, followRun, pointsForWidth, colorFor } from "../charts.js";
import { tagChips } from "./experiments.js";

const CHILDREN_SHOWN = 100;
const IMAGE_POLL_MS = 3000; // how often a running run's page looks for new images

export async function render(root, params, ctx) {
  const runId = params.id ?? "";
  if (!runId) {
    root.append(errorBox({ codeName: "INVALID_ARGUMENT", message: "No run id in the address (#/run/ID)." }));
    root.dataset.ready = "true";
    return;
  }
  root.append(loadingBox("Loading run…"));
  let run;
  try {
    run = await tracking("GetRun", { runId }, { signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) return;
    replace(root, errorBox(error, `Could not load run ${runId}`));
    root.dataset.ready = "true";
    return;
  }

  const cleanups = [];
  let destroyed = false;
  const charts = new Map(); // key → MetricChart
  const cleanup = () => {
    if (destroyed) return;
    destroyed = true;
    for (const c of cleanups) c();
    for (const chart of charts.values()) chart.destroy();
  };
  ctx.signal.addEventListener("abort", cleanup, { once: true });
  const chartOptions = defaultChartOptions();

  // ---- header
  const statusEl = h("span", { "data-test": "run-status", "data-status": statusName(run.status) }, statusBadge(run.status));
  const durationEl = h("span", { "data-test": "run-duration" });
  const completedEl = h("span", { "data-test": "run-completed" });
  const errorEl = h("div", { class: "run-error", "data-test": "run-error", hidden: true });
  const liveEl = h("span", { class: "live muted", "data-test": "run-live" });
  const experimentLink = h("a", { href: routeHash("runs", { experiments: run.experimentId }), "data-test": "run-experiment", text: shortId(run.experimentId) });
  const descriptionEl = h("div", { class: "description", "data-test": "run-description" });

  const paramsBox = h("section", { class: "card" });
  const tagsBox = h("div", { class: "chips", "data-test": "run-tags" });
  const parentEl = h("span", { "data-test": "run-parent" });
  const childrenEl = h("div", { class: "children", "data-test": "run-children", "data-count": "0" });
  const metricsTableBox = h("div");
  const chartsGrid = h("div", { class: "chart-grid" });
  const artifactsBox = h("div");
  const images = imageSection(ctx, cleanups);

  const titleEl = h("h1", { "data-test": "run-name", text: run.name || run.id });
  root.replaceChildren(
    h("div", { class: "page-head" },
      titleEl, statusEl, liveEl,
      h("span", { class: "spacer" }),
      h("a", { class: "button", href: routeHash("charts", { runs: [run.id] }), "data-test": "chart-selected", text: "Open in charts" })),
    h("div", { class: "run-meta" },
      meta("Id", h("code", { "data-test": "run-id", text: run.id })),
      meta("Experiment", experimentLink),
      meta("Started", h("span", { "data-test": "run-started", title: fmtAgo(run.startedAtMs), text: fmtTime(run.startedAtMs) })),
      meta("Duration", durationEl),
      meta("Ended", completedEl),
      meta("Parent", parentEl)),
    errorEl,
    descriptionEl,
    h("div", { class: "two-col" },
      paramsBox,
      h("section", { class: "card" },
        h("h2", { text: "Tags" }), tagsBox,
        h("h2", { text: "Children" }), childrenEl)),
    h("section", { class: "card" }, h("h2", { text: "Metrics" }), metricsTableBox),
    h("section", { class: "card charts-card" },
      chartControls(chartOptions, () => charts.forEach((c) => c.refresh())),
      chartsGrid),
    images.section,
    h("section", { class: "card" }, h("h2", { text: "Artifacts" }), artifactsBox));

  // ---- fill from the run record (also on live updates)
  let experiment = null;
  const showDescription = () => {
    const tag = run.tags?.description ?? run.tags?.note ?? "";
    replace(descriptionEl,
      tag ? h("p", { class: "run-description", text: tag }) : null,
      experiment?.description ? h("p", { class: "muted" }, h("span", { text: "Experiment: " }), experiment.description) : null);
    descriptionEl.hidden = !tag && !experiment?.description;
  };

  const showStatus = () => {
    replace(statusEl, statusBadge(run.status));
    statusEl.dataset.status = statusName(run.status);
    const running = isRunning(run);
    durationEl.textContent = fmtDuration(running ? Date.now() - num(run.startedAtMs) : num(run.durationMs));
    // A crashed run has no end time: it shows when its writer was last heard from.
    completedEl.textContent = num(run.completedAtMs) ? fmtTime(run.completedAtMs)
      : num(run.lastContactMs) ? `crashed; last contact ${fmtTime(run.lastContactMs)}`
      : running ? "running" : "";
    errorEl.hidden = !run.error;
    errorEl.textContent = run.error ? `Error: ${run.error}` : "";
  };

  const showParams = () => {
    const entries = Object.entries(run.params ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    replace(paramsBox, h("h2", { text: `Params (${entries.length})` }),
      entries.length
        ? h("table", { class: "table compact", "data-test": "run-params" },
          h("tbody", null, entries.map(([key, value]) => h("tr", { "data-test": "param-row", "data-key": key },
            h("th", { text: key }), h("td", { class: "mono", "data-test": "param-value", text: paramText(value) })))))
        : h("p", { class: "muted", "data-test": "run-params", text: "No params." }));
  };

  const showTags = () => {
    const chips = tagChips(run.tags);
    chips.forEach((chip, i) => {
      chip.dataset.test = "tag";
      chip.dataset.key = Object.keys(run.tags ?? {}).sort()[i];
    });
    replace(tagsBox, chips.length ? chips : h("span", { class: "muted", text: "No tags." }));
  };

  const metricSummaries = new Map(); // key → summary (updated live)
  const showMetricTable = () => {
    const list = [...metricSummaries.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    replace(metricsTableBox, list.length
      ? h("table", { class: "table compact", "data-test": "run-metrics" },
        h("thead", null, h("tr", null, ["Key", "Last", "Min", "Max", "Mean", "Points", "Last step"].map((t, i) => h("th", { class: i ? "num" : "", text: t })))),
        h("tbody", null, list.map((m) => h("tr", { "data-test": "metric-row", "data-key": m.key },
          h("th", null, h("button", { type: "button", class: "link", title: "Show its chart", text: m.key, onclick: () => charts.get(m.key)?.container.scrollIntoView({ behavior: "smooth", block: "center" }) })),
          h("td", { class: "num", "data-test": "metric-last", title: String(num(m.lastValue)), text: fmtNum(num(m.lastValue)) }),
          h("td", { class: "num", "data-test": "metric-min", text: fmtNum(num(m.min)) }),
          h("td", { class: "num", "data-test": "metric-max", text: fmtNum(num(m.max)) }),
          h("td", { class: "num", text: fmtNum(num(m.mean)) }),
          h("td", { class: "num", "data-test": "metric-count", text: fmtInt(m.count) }),
          h("td", { class: "num", text: fmtInt(m.lastStep) })))))
      : h("p", { class: "muted", "data-test": "run-metrics", text: "No metrics logged." }));
  };

  for (const m of run.metrics ?? []) metricSummaries.set(m.key ?? "", m);
  showStatus();
  showParams();
  showTags();
  showDescription();
  showMetricTable();
  showArtifacts(artifactsBox, run, ctx, cleanups);
  images.update(run.artifacts);

  // Ticking duration while running.
  const ticker = setInterval(() => {
    if (isRunning(run)) durationEl.textContent = fmtDuration(Date.now() - num(run.startedAtMs));
  }, 1000);
  cleanups.push(() => clearInterval(ticker));

  // Experiment name and description.
  tracking("GetExperiment", { experiment: { id: run.experimentId } }, { signal: ctx.signal }).then((e) => {
    experiment = e;
    experimentLink.textContent = e.name || run.experimentId;
    showDescription();
  }, () => {});

  // Lineage.
  if (run.parentRunId) {
    const link = h("a", { href: `#/run/${encodeURIComponent(run.parentRunId)}`, "data-run-id": run.parentRunId, text: shortId(run.parentRunId) });
    replace(parentEl, link);
    parentEl.dataset.runId = run.parentRunId;
    tracking("GetRun", { runId: run.parentRunId }, { signal: ctx.signal }).then((p) => {
      link.textContent = p.name || p.id;
      link.after(" ", statusBadge(p.status));
    }, () => {});
  } else {
    parentEl.textContent = "none (root run)";
  }
  loadChildren(childrenEl, run, ctx);

  root.dataset.ready = "true";

  // ---- charts
  const chartFor = (key) => {
    let chart = charts.get(key);
    if (!chart) {
      const box = h("div");
      const keys = [...charts.keys(), key].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const after = keys.indexOf(key);
      const next = charts.get(keys[after + 1]);
      if (next) chartsGrid.insertBefore(box, next.container);
      else chartsGrid.append(box);
      chart = new MetricChart(box, { key, options: chartOptions, maxPoints, height: 220, fetchRange });
      chart.setSeries(run.id, { label: run.name || run.id, color: colorFor(0), startMs: num(run.startedAtMs) });
      charts.set(key, chart);
    }
    return chart;
  };
  const maxPoints = pointsForWidth(Math.floor((chartsGrid.clientWidth || 900) / (chartsGrid.clientWidth > 900 ? 2 : 1)) - 20);

  if (metricSummaries.size === 0 && !isRunning(run)) {
    chartsGrid.append(emptyBox("No metrics to chart."));
  }
  for (const key of metricSummaries.keys()) chartFor(key);

  const pending = [];
  let live = null;
  let historyLoaded = false;
  if (isRunning(run)) {
    liveEl.dataset.state = "watching";
    liveEl.textContent = "● live";
    live = followRun(run.id, {
      onSnapshot: (snapshot) => {
        Object.assign(run, snapshot);
        showStatus();
      },
      onPoints: (map) => {
        for (const [key, s] of map) {
          const summary = metricSummaries.get(key) ?? { key, count: "0", min: NaN, max: NaN, mean: NaN };
          updateSummary(summary, s);
          metricSummaries.set(key, summary);
        }
        showMetricTable();
        if (!historyLoaded) {
          pending.push(map);
          return;
        }
        appendLive(map);
      },
      onStatus: (updated) => {
        if (!updated) return;
        Object.assign(run, updated);
        for (const m of updated.metrics ?? []) metricSummaries.set(m.key ?? "", m);
        showStatus();
        showMetricTable();
      },
      onParams: (newParams) => {
        run.params = { ...(run.params ?? {}), ...newParams };
        showParams();
      },
      onEnd: () => {
        liveEl.dataset.state = "ended";
        liveEl.textContent = "";
        tracking("GetRun", { runId: run.id }).then((fresh) => {
          if (destroyed) return;
          Object.assign(run, fresh);
          showStatus();
          showTags();
          for (const m of fresh.metrics ?? []) metricSummaries.set(m.key ?? "", m);
          showMetricTable();
          showArtifacts(artifactsBox, run, ctx, cleanups);
          images.update(run.artifacts);
        }, () => {});
      },
      onError: (error) => {
        liveEl.dataset.state = "error";
        liveEl.textContent = `live updates stopped: ${error.message}`;
        liveEl.classList.add("error-text");
      },
    }, { maxPoints });
    if (live.mode === "poll") liveEl.dataset.state = "polling";
    cleanups.push(() => live.stop());
    // WatchRun carries no artifact events: while the run runs, look for new images now and then.
    let looking = false;
    const lookForImages = setInterval(() => {
      if (looking || destroyed || !isRunning(run)) return;
      looking = true;
      tracking("ListArtifacts", { runId: run.id }, { signal: ctx.signal }).then((response) => {
        if (!destroyed) images.update(response.artifacts);
      }, () => {}).finally(() => { looking = false; });
    }, IMAGE_POLL_MS);
    cleanups.push(() => clearInterval(lookForImages));
    await live.ready;
    if (destroyed) return cleanup;
  }

  function appendLive(map) {
    for (const [key, s] of map) chartFor(key).append(run.id, s.steps, s.values, s.times);
  }

  const history = fetchHistory(run.id, { maxPoints });
  cleanups.push(() => history.cancel());
  history.done.then((series) => {
    if (destroyed) return;
    for (const [key, s] of series) {
      const chart = chartFor(key);
      chart.setSeries(run.id, { label: run.name || run.id, color: colorFor(0), startMs: num(run.startedAtMs) }, s);
      if (s.downsampled) chart.setNote(`${fmtInt(s.values.length)} of ${fmtInt(s.total)} points (min/max downsampled)`);
    }
    for (const [key, chart] of charts) if (!series.has(key)) chart.refresh();
    historyLoaded = true;
    for (const map of pending.splice(0)) appendLive(map);
  }, (error) => {
    if (destroyed) return;
    chartsGrid.prepend(errorBox(error, "Could not load the metric history"));
  });

  return cleanup;
}

function meta(label, value) {
  return h("div", { class: "meta-item" }, h("span", { class: "meta-label", text: label }), value);
}

function updateSummary(summary, s) {
  let count = num(summary.count);
  let min = num(summary.min, NaN);
  let max = num(summary.max, NaN);
  let lastStep = num(summary.lastStep, -Infinity);
  for (let i = 0; i < s.values.length; i++) {
    const v = s.values[i];
    count++;
    if (!Number.isNaN(v)) {
      if (!(v >= min)) min = v;
      if (!(v <= max)) max = v;
    }
    if (s.steps[i] >= lastStep) {
      lastStep = s.steps[i];
      summary.lastValue = v;
    }
  }
  summary.count = String(count);
  summary.min = min;
  summary.max = max;
  summary.lastStep = String(lastStep);
}

async function loadChildren(el, run, ctx) {
  const count = num(run.childCount);
  el.dataset.count = String(count);
  if (count === 0) {
    replace(el, h("span", { class: "muted", text: "No child runs." }));
    return;
  }
  replace(el, loadingBox("Loading children…"));
  try {
    const response = await tracking("ListRuns", { parentRunId: run.id, pageSize: CHILDREN_SHOWN }, { signal: ctx.signal });
    const children = response.runs ?? [];
    const total = num(response.totalCount) || count;
    el.dataset.count = String(total);
    replace(el,
      h("ul", { class: "child-list" }, children.map((c) => h("li", null,
        statusBadge(c.status), " ",
        h("a", { href: `#/run/${encodeURIComponent(c.id)}`, "data-test": "child-link", "data-run-id": c.id, text: c.name || c.id })))),
      h("div", { class: "child-actions" },
        h("a", { href: routeHash("runs", { filter: `parent_run_id = ${filterString(run.id)}` }), text: total > children.length ? `All ${fmtInt(total)} children in the runs table` : "Children in the runs table" }),
        " · ",
        h("a", { href: routeHash("charts", { runs: [run.id, ...children.slice(0, 20).map((c) => c.id)] }), text: "Chart with children" })));
  } catch (error) {
    if (ctx.signal.aborted) return;
    replace(el, errorBox(error, "Could not list the children"));
  }
}

// -------------------------------------------------------------------------------------------
// Images: what `run.log_image(key, image, step)` stores, the figure artifact `<key>/<step>.png`
// (or `.jpg`) with metadata key, step, format, width and height (docs/python-data.md).

const IMAGE_TYPES = { png: "image/png", jpeg: "image/jpeg", jpg: "image/jpeg" };
const SMALL_IMAGE = 128; // images smaller than this (px, longer side) are shown enlarged, pixelated

const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** The run's images: Map key → [{ step, artifact }] in step order, the highest version of each step. */
function groupImages(artifacts) {
  const byKey = new Map(); // key → Map step → artifact
  for (const a of artifacts ?? []) {
    const meta = a.metadata ?? {};
    if (a.type !== "ARTIFACT_TYPE_FIGURE" || (meta.kind !== undefined && meta.kind !== "image")) continue;
    const step = meta.step === undefined || meta.step === "" ? NaN : Number(meta.step);
    if (!meta.key || !Number.isFinite(step)) continue;
    let steps = byKey.get(meta.key);
    if (!steps) byKey.set(meta.key, (steps = new Map()));
    const held = steps.get(step);
    if (!held || num(a.version) > num(held.version)) steps.set(step, a);
  }
  const out = new Map();
  for (const key of [...byKey.keys()].sort(byText)) {
    out.set(key, [...byKey.get(key)].sort(([x], [y]) => x - y).map(([step, artifact]) => ({ step, artifact })));
  }
  return out;
}

function imageType(artifact) {
  const format = String(artifact.metadata?.format ?? "").toLowerCase() || (artifact.name ?? "").split(".").pop().toLowerCase();
  return IMAGE_TYPES[format] ?? "image/png";
}

/**
 * The Images card of the page: { section, update(artifacts) }. `update` (the run record's
 * artifacts, or ListArtifacts' while the run runs) adds keys and steps; a slider that was at the
 * latest step moves to the new latest. Image bytes come through DownloadArtifact once per artifact
 * id and are shown through object URLs, revoked when the page goes.
 */
function imageSection(ctx, cleanups) {
  const grid = h("div", { class: "image-grid" });
  const countEl = h("span", { class: "muted small" });
  const section = h("section", { class: "card", "data-test": "run-images", "data-count": "0", hidden: true },
    h("div", { class: "card-head" }, h("h2", { text: "Images" }), countEl),
    grid);
  const cards = new Map(); // key → card
  const cache = new Map(); // artifact id → { url, call, promise }
  let destroyed = false;
  cleanups.push(() => {
    destroyed = true;
    for (const entry of cache.values()) {
      entry.call?.cancel();
      if (entry.url) URL.revokeObjectURL(entry.url);
    }
    cache.clear();
  });

  const images = {
    /** The object URL of an image version (a promise; null when the download was dropped). */
    load(artifact) {
      let entry = cache.get(artifact.id);
      if (entry) return entry.promise;
      const call = fetchArtifact(artifact, { type: imageType(artifact) });
      entry = { url: "", call, promise: null };
      entry.promise = call.done.then((result) => {
        entry.call = null;
        if (!result || destroyed) return null;
        entry.url = URL.createObjectURL(result.blob);
        return entry.url;
      }, (error) => {
        entry.call = null;
        if (cache.get(artifact.id) === entry) cache.delete(artifact.id); // try again when shown again
        throw error;
      });
      cache.set(artifact.id, entry);
      return entry.promise;
    },
    /** Drops a download still under way that no card waits for (the slider moved on). */
    drop(id) {
      const entry = cache.get(id);
      if (!entry?.call) return;
      entry.call.cancel();
      cache.delete(id);
    },
  };

  const update = (artifacts) => {
    if (destroyed || ctx.signal.aborted) return;
    const groups = groupImages(artifacts);
    let added = false;
    for (const [key, list] of groups) {
      let card = cards.get(key);
      if (!card) {
        card = imageCard(key, images);
        cards.set(key, card);
        added = true;
      }
      card.setSteps(list);
    }
    for (const [key, card] of cards) {
      if (groups.has(key)) continue;
      card.element.remove();
      cards.delete(key);
    }
    if (added) grid.replaceChildren(...[...cards.keys()].sort(byText).map((key) => cards.get(key).element));
    section.hidden = cards.size === 0;
    section.dataset.count = String(cards.size);
    countEl.textContent = cards.size === 1 ? "1 key" : `${fmtInt(cards.size)} keys`;
  };
  return { section, update };
}

function imageCard(key, images) {
  let entries = []; // [{ step, artifact }]
  let index = -1;
  let shownId = ""; // the version in the <img>
  let wantedId = ""; // the version being fetched for it
  const img = h("img", { "data-test": "image", alt: "", hidden: true });
  const errorEl = h("div", { class: "error-text small", "data-test": "image-error", hidden: true });
  const frame = h("div", { class: "image-frame" }, img, errorEl);
  const slider = h("input", { type: "range", class: "image-slider", min: "0", max: "0", step: "1", value: "0", "data-test": "image-slider", "aria-label": `${key}: step` });
  const stepEl = h("span", { class: "image-step mono", "data-test": "image-step" });
  const prev = h("button", { type: "button", class: "image-nav", "data-test": "image-prev", title: "Previous step", "aria-label": "Previous step", text: "‹" });
  const next = h("button", { type: "button", class: "image-nav", "data-test": "image-next", title: "Next step", "aria-label": "Next step", text: "›" });
  const countEl = h("span", { class: "muted small" });
  const note = h("div", { class: "image-note muted small" });
  const element = h("div", { class: "image-card", "data-test": "image-card", "data-key": key, "data-steps": "0", "data-state": "loading" },
    h("div", { class: "image-card-head" }, h("span", { class: "image-key mono", title: key, text: key }), countEl),
    frame,
    h("div", { class: "image-controls" }, prev, slider, next, stepEl),
    note);

  img.addEventListener("load", () => {
    if (wantedId) return;
    element.dataset.state = "loaded";
  });
  img.addEventListener("error", () => {
    if (wantedId || !img.getAttribute("src")) return;
    element.dataset.state = "error";
    errorEl.hidden = false;
    errorEl.textContent = "The browser cannot show this image.";
  });

  const show = (i) => {
    if (entries.length === 0) return;
    index = Math.max(0, Math.min(entries.length - 1, i));
    const { step, artifact } = entries[index];
    const meta = artifact.metadata ?? {};
    slider.value = String(index);
    stepEl.textContent = `step ${step}`;
    stepEl.dataset.step = String(step);
    element.dataset.step = String(step);
    prev.disabled = index === 0;
    next.disabled = index === entries.length - 1;
    note.textContent = [
      num(meta.width) && num(meta.height) ? `${num(meta.width)}×${num(meta.height)}` : "",
      meta.format ?? "", `v${artifact.version ?? 0}`, fmtBytes(artifact.size), `${index + 1} of ${entries.length}`,
    ].filter(Boolean).join(" · ");
    if (artifact.id === shownId && !wantedId) return;
    if (artifact.id === wantedId) return;
    if (wantedId) images.drop(wantedId);
    if (artifact.id === shownId) {
      wantedId = "";
      frame.classList.remove("stale");
      element.dataset.state = errorEl.hidden ? "loaded" : "error";
      return;
    }
    wantedId = artifact.id;
    element.dataset.state = "loading";
    frame.classList.add("stale");
    images.load(artifact).then((url) => {
      if (!url || wantedId !== artifact.id) return;
      wantedId = "";
      shownId = artifact.id;
      frame.classList.remove("stale");
      errorEl.hidden = true;
      const width = num(meta.width);
      const height = num(meta.height);
      const longer = Math.max(width, height);
      const scale = longer && longer < SMALL_IMAGE ? Math.floor(SMALL_IMAGE / longer) : 1;
      img.style.width = scale > 1 ? `${width * scale}px` : "";
      img.classList.toggle("pixelated", scale > 1);
      img.alt = `${key} at step ${step}`;
      img.title = `${key} · step ${step} · ${artifact.name ?? ""}`;
      img.dataset.artifactId = artifact.id;
      img.hidden = false;
      img.src = url;
    }, (error) => {
      if (wantedId !== artifact.id) return;
      wantedId = "";
      frame.classList.remove("stale");
      element.dataset.state = "error";
      errorEl.hidden = false;
      errorEl.textContent = `Could not load step ${step}: ${error.message}`;
    });
  };

  slider.addEventListener("input", () => show(Number(slider.value)));
  slider.addEventListener("change", () => show(Number(slider.value)));
  prev.addEventListener("click", () => show(index - 1));
  next.addEventListener("click", () => show(index + 1));

  return {
    element,
    /** New steps: a card at its latest step (or new) shows the new latest; otherwise it stays at its step. */
    setSteps(list) {
      const atLatest = index < 0 || index === entries.length - 1;
      const step = index >= 0 ? entries[index].step : undefined;
      entries = list;
      slider.max = String(Math.max(0, list.length - 1));
      slider.disabled = list.length < 2;
      element.dataset.steps = String(list.length);
      countEl.textContent = list.length === 1 ? "1 step" : `${fmtInt(list.length)} steps`;
      const kept = atLatest ? -1 : list.findIndex((e) => e.step === step);
      show(kept >= 0 ? kept : list.length - 1);
    },
  };
}

// -------------------------------------------------------------------------------------------
// Artifacts

const typeName = (t) => (t ? String(t).replace(/^ARTIFACT_TYPE_/, "").toLowerCase() : "other");

function showArtifacts(box, run, ctx, cleanups) {
  const artifacts = [...(run.artifacts ?? [])].sort((a, b) => (a.name === b.name ? (b.version ?? 0) - (a.version ?? 0) : a.name < b.name ? -1 : 1));
  if (artifacts.length === 0) {
    replace(box, h("p", { class: "muted", "data-test": "run-artifacts", text: "No artifacts." }));
    return;
  }
  const tbody = h("tbody");
  for (const a of artifacts) tbody.append(...artifactRows(a, run, ctx, cleanups, true));
  replace(box, h("table", { class: "table artifacts", "data-test": "run-artifacts" },
    h("thead", null, h("tr", null, ["Name", "Version", "Type", "Aliases", "Size", "SHA-256", "Created", ""].map((t) => h("th", { text: t })))),
    tbody));
}

function artifactRows(a, run, ctx, cleanups, withVersions) {
  const status = h("div", { class: "download-status muted", "data-test": "download-status" });
  // A folder version cannot be saved as one file from a page: the CLI restores it.
  const button = a.folder
    ? h("code", { class: "small", "data-test": "artifact-folder", "data-files": String(a.fileCount ?? 0), title: "a folder: restore it with the CLI", text: `tally artifacts get ${a.id} -o PATH` })
    : h("button", { type: "button", "data-test": "artifact-download", "data-artifact-id": a.id, text: "Download" });
  if (!a.folder) button.addEventListener("click", () => download(a, button, status, cleanups));
  const sizeText = a.folder ? `${fmtBytes(a.filesSize)} in ${fmtInt(a.fileCount ?? 0)} ${num(a.fileCount) === 1 ? "file" : "files"}` : fmtBytes(a.size);
  const row = h("tr", { "data-test": "artifact-row", "data-artifact-id": a.id, "data-name": a.name, "data-version": String(a.version ?? 0) },
    h("td", { class: "name" }, a.name,
      Object.keys(a.metadata ?? {}).length ? h("div", { class: "muted small", text: Object.entries(a.metadata).map(([k, v]) => `${k}=${v}`).join(", ") }) : null),
    h("td", { class: "num", text: `v${a.version ?? 0}` }),
    h("td", { text: typeName(a.type) }),
    h("td", { "data-test": "artifact-aliases" }, (a.aliases ?? []).map((alias) => h("span", { class: alias === "latest" ? "chip chip-latest" : "chip", text: alias }))),
    h("td", { class: "num", "data-test": "artifact-size", "data-bytes": String(num(a.folder ? a.filesSize : a.size)), title: `${fmtInt(a.folder ? a.filesSize : a.size)} bytes`, text: sizeText }),
    h("td", { class: "mono sha", "data-test": "artifact-sha256", title: a.sha256 ?? "", text: a.sha256 ?? "" }),
    h("td", { title: fmtTime(a.createdAtMs), text: fmtAgo(a.createdAtMs) }),
    h("td", { class: "actions" }, button, status));
  if (!withVersions) {
    row.classList.add("other-version");
    if (a.runId && a.runId !== run.id) {
      row.children[0].append(h("div", { class: "small" }, "from run ", h("a", { href: `#/run/${encodeURIComponent(a.runId)}`, text: shortId(a.runId) })));
    }
    return [row];
  }
  const versionsButton = h("button", { type: "button", class: "link small", "data-test": "artifact-versions", text: "all versions" });
  row.children[1].append(h("div", null, versionsButton));
  let expanded = null;
  versionsButton.addEventListener("click", async () => {
    if (expanded) {
      expanded.forEach((r) => r.remove());
      expanded = null;
      versionsButton.textContent = "all versions";
      return;
    }
    versionsButton.disabled = true;
    try {
      const response = await tracking("ListArtifacts", { experimentId: a.experimentId || run.experimentId, name: a.name }, { signal: ctx.signal });
      const others = (response.artifacts ?? []).filter((v) => v.id !== a.id).sort((x, y) => (y.version ?? 0) - (x.version ?? 0));
      expanded = others.length ? others.flatMap((v) => artifactRows(v, run, ctx, cleanups, false))
        : [h("tr", { class: "other-version" }, h("td", { colSpan: "8", class: "muted", text: "No other version." }))];
      row.after(...expanded);
      versionsButton.textContent = "hide versions";
    } catch (error) {
      if (!ctx.signal.aborted) status.replaceChildren(errorBox(error, "Could not list the versions"));
    } finally {
      versionsButton.disabled = false;
    }
  });
  return [row];
}

function decodeBase64(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * DownloadArtifact of one version (its record, then base64 chunks) as a Blob of MIME `type`.
 * Returns { done, cancel }: `done` resolves to { blob, record } (null once cancelled) and rejects
 * with the call's error or when fewer or more bytes came than the record says.
 */
function fetchArtifact(artifact, { type = "application/octet-stream", onBytes } = {}) {
  const chunks = [];
  let received = 0;
  let record = artifact;
  let cancelled = false;
  const call = trackingStream("DownloadArtifact", { artifact: { artifactId: artifact.id } }, (message) => {
    if (message.artifact) {
      record = message.artifact;
    } else if (message.chunk !== undefined) {
      const bytes = decodeBase64(message.chunk);
      chunks.push(bytes);
      received += bytes.length;
      onBytes?.(received);
    }
  });
  const done = call.done.then(() => {
    if (cancelled) return null;
    const blob = new Blob(chunks, { type });
    if (num(record.size) && blob.size !== num(record.size)) throw new Error(`received ${blob.size} bytes, expected ${num(record.size)}`);
    return { blob, record };
  });
  return {
    done,
    cancel: () => {
      cancelled = true;
      call.cancel();
    },
  };
}

/** DownloadArtifact → Blob, SHA-256 checked → saved through an <a download>. */
function download(artifact, button, status, cleanups) {
  button.disabled = true;
  status.dataset.state = "downloading";
  status.classList.remove("error-text");
  const size = num(artifact.size);
  const progress = (received) => {
    status.dataset.bytes = String(received);
    status.textContent = `downloading ${fmtBytes(received)}${size ? ` of ${fmtBytes(size)} (${Math.floor((received / size) * 100)}%)` : ""}`;
  };
  progress(0);
  const call = fetchArtifact(artifact, { onBytes: progress });
  cleanups.push(call.cancel);
  call.done.then(async (result) => {
    if (!result) return;
    const { blob, record } = result;
    let verified = "";
    const expected = record.sha256 ?? artifact.sha256;
    if (crypto?.subtle && expected && blob.size <= 512 * 1024 * 1024) {
      const digest = hex(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
      if (digest !== expected) throw new Error(`the content's SHA-256 ${digest} is not the recorded ${expected}`);
      verified = " (SHA-256 verified)";
    }
    const url = URL.createObjectURL(blob);
    const a = h("a", { href: url, download: (record.name ?? artifact.name ?? "artifact").split("/").pop() || "artifact", hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    status.dataset.state = "done";
    status.dataset.bytes = String(blob.size);
    status.textContent = `downloaded ${fmtBytes(blob.size)}${verified}`;
  }).catch((error) => {
    status.dataset.state = "error";
    status.classList.add("error-text");
    status.textContent = `download failed: ${error.message}`;
  }).finally(() => {
    button.disabled = false;
  });
}
