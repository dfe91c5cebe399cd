// #/compare?runs=ID,ID (and/or &experiments=ID,ID) — CompareRuns: params side by side with the
// differing ones marked, and per metric the best and worst run by its goal (declared on the
// experiment, else minimise keys containing "loss"/"error", maximise the rest), judged by the
// daemon on the last value. Another aggregate (min/max/mean) can be shown; best/worst are then
// recomputed here with the same goal.
//
// Test hooks:
//   root data-ready="true" once the comparison is on screen
//   data-test="compare-runs"      header row cells data-test="compare-run" data-run-id (link, status)
//   data-test="compare-params"    <table>; rows data-test="param-row" data-key, class "diff" (and
//                                 data-differs="true") when at least two runs differ; value cells
//                                 data-test="param-value" data-run-id, class "missing" when the run
//                                 lacks the param and "diff-value" when it differs from the first run's
//   data-test="diff-only"         checkbox: show only the differing params
//   data-test="compare-metrics"   <table>; rows data-test="metric-row" data-key data-goal="min|max"
//                                 data-best-run-id data-worst-run-id; value cells data-test="metric-value"
//                                 data-run-id, class "best" / "worst"; data-test="metric-best" /
//                                 "metric-worst" cells name the runs
//   data-test="metric-aggregate"  select: last (default) | min | max | mean
//   data-test="chart-selected"    link → #/charts?runs=… of the compared runs
//   data-test="empty"             nothing to compare

import { tracking } from "../api.js";
import { h, replace, fmtNum, paramText, hasParam, statusBadge, goalName, listParam, routeHash, shortId, metricMap, aggregate, loadingBox, errorBox, emptyBox } from "../format.js";

const same = (a, b) => JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});

export async function render(root, params, ctx) {
  const runIds = listParam(params, "runs");
  const experimentIds = listParam(params, "experiments");
  root.append(h("div", { class: "page-head" }, h("h1", { text: "Compare runs" })));
  if (runIds.length === 0 && experimentIds.length === 0) {
    root.append(emptyBox("No runs chosen. Select runs in the ", h("a", { href: "#/runs", text: "runs table" }), " and press Compare."));
    root.dataset.ready = "true";
    return;
  }
  const body = h("div", null, loadingBox("Comparing…"));
  root.append(body);
  let result;
  try {
    const request = {};
    if (runIds.length) request.runIds = runIds;
    if (experimentIds.length) request.experimentIds = experimentIds;
    result = await tracking("CompareRuns", request, { signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) return;
    replace(body, errorBox(error, "Could not compare the runs"));
    root.dataset.ready = "true";
    return;
  }

  const runs = result.runs ?? [];
  if (runs.length === 0) {
    replace(body, emptyBox("No runs to compare."));
    root.dataset.ready = "true";
    return;
  }
  const index = new Map(runs.map((r, i) => [r.runId, i]));
  const label = (id) => {
    const r = runs[index.get(id)];
    return r ? r.name || r.runId : id ? shortId(id) : "";
  };

  const headCells = () => runs.map((r) => h("th", { class: "run-col", "data-test": "compare-run", "data-run-id": r.runId },
    h("a", { href: `#/run/${encodeURIComponent(r.runId)}`, title: r.runId, text: r.name || shortId(r.runId) }),
    h("div", null, statusBadge(r.status))));

  // ---- params
  const diffOnly = h("input", { type: "checkbox", "data-test": "diff-only" });
  const paramRows = (result.params ?? []).map((p) => {
    const values = p.values ?? [];
    const first = values[0];
    return h("tr", { "data-test": "param-row", "data-key": p.key, class: p.differs ? "diff" : null, "data-differs": p.differs ? "true" : "false" },
      h("th", { class: "key", title: p.key, text: p.key }),
      runs.map((r, i) => {
        const v = values[i];
        const present = hasParam(v);
        const classes = [present ? "" : "missing", p.differs && i > 0 && !same(v, first) ? "diff-value" : ""].filter(Boolean).join(" ");
        return h("td", { class: classes || null, "data-test": "param-value", "data-run-id": r.runId, text: present ? paramText(v) : "—" });
      }));
  });
  const differing = paramRows.filter((r) => r.classList.contains("diff")).length;
  const paramsTable = h("table", { class: "table compare", "data-test": "compare-params" },
    h("thead", null, h("tr", { "data-test": "compare-runs" }, h("th", { text: "Param" }), headCells())),
    h("tbody", null, paramRows));
  diffOnly.addEventListener("change", () => paramsTable.classList.toggle("diff-only", diffOnly.checked));

  // ---- metrics
  const aggSelect = h("select", { "data-test": "metric-aggregate" },
    ["last", "min", "max", "mean"].map((a) => h("option", { value: a, text: a === "last" ? "last value" : a })));
  const metricsBody = h("tbody");
  const summaries = runs.map((r) => metricMap(r));
  const fillMetrics = () => {
    const agg = aggSelect.value;
    replace(metricsBody, (result.metrics ?? []).map((m) => {
      const goal = goalName(m.goal, m.key);
      const values = summaries.map((s) => aggregate(s.get(m.key), agg));
      let best = m.bestRunId ?? "";
      let worst = m.worstRunId ?? "";
      if (agg !== "last") {
        best = "";
        worst = "";
        let bestV = null;
        let worstV = null;
        values.forEach((v, i) => {
          if (v === undefined || Number.isNaN(v)) return;
          const better = (a, b) => (goal === "min" ? a < b : a > b);
          if (bestV === null || better(v, bestV)) {
            bestV = v;
            best = runs[i].runId;
          }
          if (worstV === null || better(worstV, v)) {
            worstV = v;
            worst = runs[i].runId;
          }
        });
      }
      return h("tr", { "data-test": "metric-row", "data-key": m.key, "data-goal": goal, "data-best-run-id": best, "data-worst-run-id": worst },
        h("th", { class: "key", title: m.key, text: m.key }),
        h("td", { class: "goal", title: goal === "min" ? "lower is better" : "higher is better", text: goal === "min" ? "min ↓" : "max ↑" }),
        runs.map((r, i) => {
          const v = values[i];
          const cls = r.runId === best && best !== worst ? "best" : r.runId === worst && best !== worst ? "worst" : null;
          return h("td", { class: `num ${cls ?? ""}`.trim(), "data-test": "metric-value", "data-run-id": r.runId, title: v === undefined ? "" : String(v), text: v === undefined ? "—" : fmtNum(v) });
        }),
        h("td", { class: "best-name", "data-test": "metric-best", "data-run-id": best, text: label(best) }),
        h("td", { class: "worst-name", "data-test": "metric-worst", "data-run-id": worst, text: label(worst) }));
    }));
  };
  aggSelect.addEventListener("change", fillMetrics);
  fillMetrics();
  const metricsTable = h("table", { class: "table compare", "data-test": "compare-metrics" },
    h("thead", null, h("tr", null, h("th", { text: "Metric" }), h("th", { text: "Goal" }), headCells(), h("th", { text: "Best" }), h("th", { text: "Worst" }))),
    metricsBody);

  replace(body,
    h("div", { class: "toolbar" },
      h("span", { class: "muted", text: `${runs.length} runs · ${(result.params ?? []).length} params (${differing} differ) · ${(result.metrics ?? []).length} metrics` }),
      h("span", { class: "spacer" }),
      h("a", { class: "button", href: routeHash("charts", { runs: runs.map((r) => r.runId) }), "data-test": "chart-selected", text: "Chart these runs" })),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", { text: "Params" }), h("label", null, diffOnly, " only differences")),
      (result.params ?? []).length ? h("div", { class: "scroll-x" }, paramsTable) : h("p", { class: "muted", text: "No params." })),
    h("section", { class: "card" },
      h("div", { class: "card-head" }, h("h2", { text: "Metrics" }), h("label", null, "Value ", aggSelect)),
      (result.metrics ?? []).length ? h("div", { class: "scroll-x" }, metricsTable) : h("p", { class: "muted", text: "No metrics." })));
  root.dataset.ready = "true";
}
