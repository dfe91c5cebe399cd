// #/runs?experiments=ID,ID&filter=TEXT&sort=COLUMN:DIR&cols=COLUMN,COLUMN — the runs table.
//
// SearchRuns with the server's filter language and order_by (sorting is server-side: a click on a
// header asks for that order), fetched page by page (a first small page so rows show at once, then
// pages of 1,000 in the background) into a virtualised table body: only the visible rows (fixed
// height) are in the DOM, so 10,000 runs scroll smoothly. Columns: status, name, started,
// duration, then chosen params and metric aggregates (last/min/max/mean/count from Run.metrics).
// Column ids: "status", "name", "started", "duration", "params:<key>", "metrics:<key>:<aggregate>".
//
// Test hooks:
//   root data-ready="true" once the first rows (or the error / empty message) are on screen
//   data-test="experiment-chips"  the experiments shown (links back to the experiment list)
//   data-test="filter-input"      the filter text box (Enter applies); gets class "invalid" on error
//   data-test="filter-apply"      button: search with the filter
//   data-test="filter-clear"      button: empty filter
//   data-test="filter-error"      hidden unless the server rejected the filter: the message, and a
//                                 <pre data-test="filter-caret"> with the filter and a "^" under the
//                                 character at the error; data-position="<0-based code point>",
//                                 data-field="filter|order_by"; the character is in <mark>
//   data-test="run-count"         "N runs"; data-total="<total_count>"
//   data-test="load-progress"     data-loaded="<rows fetched>" data-total; text while loading
//   data-test="column-picker"     <details>: data-test="column-option" checkboxes with
//                                 data-column="<column id>"; data-test="column-search" filters them
//   data-test="runs-scroll"       the scrolling box of the table
//   data-test="runs-table"        the <table>; data-total, data-loaded, data-rendered (rows in DOM),
//                                 data-sort="<column id>", data-dir="asc|desc"
//   data-test="column-header"     each <th> of a data column; data-column, data-sort="asc|desc" on
//                                 the sorted one (aria-sort too); click to sort
//   data-test="run-row"           one <tr> per rendered run; data-run-id, data-index
//   data-test="run-placeholder"   a rendered row whose page is not fetched yet; data-index
//   data-test="run-select"        the row's checkbox (shift-click selects a range)
//   data-test="run-link"          the run's name link (→ #/run/ID)
//   data-test="cell"              data cells; data-column="<column id>"
//   data-test="select-all"        header checkbox: every fetched run
//   data-test="selection-count"   "N selected"; data-count
//   data-test="chart-selected"    button → #/charts?runs=…  (enabled with ≥ 1 selected)
//   data-test="compare-selected"  button → #/compare?runs=… (enabled with ≥ 2 selected)
//   data-test="clear-selection", "refresh"
//   data-test="empty"             no run matches

import { tracking, RPCError } from "../api.js";
import {
  h, replace, num, fmtNum, fmtInt, fmtDuration, fmtAgo, fmtTime, paramText, paramType, metricMap, aggregate,
  statusName, shortId, esc, filterKey, codePointIndex, listParam, routeHash, replaceHash, loadingBox, errorBox, emptyBox,
} from "../format.js";

const ROW_H = 28;
const OVERSCAN = 8;
const FIRST_PAGE = 40; // about a screenful: the first rows show as soon as possible
const PAGE = 1000;
const AGGREGATES = ["last", "min", "max", "mean", "count"];
const AUTO_PARAMS = 6;
const AUTO_METRICS = 6;

const BASE_COLUMNS = {
  status: { id: "status", label: "Status", order: "status", width: 104 },
  name: { id: "name", label: "Name", order: "name", width: 230 },
  started: { id: "started", label: "Started", order: "started_at", width: 110 },
  duration: { id: "duration", label: "Duration", order: "duration", width: 92, num: true },
};

/** A column definition from its id. */
function column(id) {
  if (BASE_COLUMNS[id]) return BASE_COLUMNS[id];
  if (id.startsWith("params:")) {
    const key = id.slice(7);
    return { id, key, kind: "param", label: key, group: "param", order: `params.${filterKey(key)}`, width: 112 };
  }
  if (id.startsWith("metrics:")) {
    const rest = id.slice(8);
    const cut = rest.lastIndexOf(":");
    const key = cut > 0 ? rest.slice(0, cut) : rest;
    const agg = cut > 0 ? rest.slice(cut + 1) : "last";
    return { id, key, agg, kind: "metric", label: agg === "last" ? key : `${key} (${agg})`, group: "metric", order: `metrics.${filterKey(key)}.${agg}`, width: 112, num: true };
  }
  return null;
}

const sortKey = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

export async function render(root, params, ctx) {
  const experimentIds = listParam(params, "experiments");
  let filter = params.get("filter") ?? "";
  const storageKey = `tally.runs.columns:${[...experimentIds].sort().join(",")}`;
  let sort = parseSort(params.get("sort"));
  let columns = params.get("cols") !== null ? listParam(params, "cols") : loadColumns(storageKey);
  let autoColumns = columns === null;
  let autoChosen = false;
  columns = (columns ?? []).filter((id) => column(id) && !BASE_COLUMNS[id]);

  // The first page is asked for before anything is built: the request is the critical path.
  const firstRequest = () => {
    const request = { filter, orderBy: [`${column(sort.col)?.order ?? "started_at"} ${sort.dir}`], pageSize: FIRST_PAGE };
    if (experimentIds.length) request.experimentIds = experimentIds;
    return request;
  };
  const early = { request: firstRequest(), controller: new AbortController() };
  early.response = tracking("SearchRuns", early.request, { signal: early.controller.signal });
  early.response.catch(() => {}); // handled where it is awaited
  ctx.signal.addEventListener("abort", () => early.controller.abort(), { once: true });

  // ---- state
  let runs = [];
  let total = 0;
  let loading = false;
  let loadController = null;
  let generation = 0;
  const seen = new Set();
  const paramKeys = new Set();
  const metricKeys = new Set();
  const selected = new Set();
  let lastClicked = -1;
  let destroyed = false;

  // ---- page skeleton
  const chips = h("div", { class: "chips", "data-test": "experiment-chips" });
  const filterInput = h("input", {
    type: "text", class: "filter-input mono", "data-test": "filter-input", spellcheck: "false", autocomplete: "off",
    placeholder: 'Filter, e.g. params.lr < 0.01 and metrics.val_acc.max >= 0.9 and status = "completed"',
    value: filter,
  });
  const filterError = h("div", { class: "filter-error", "data-test": "filter-error", role: "alert", hidden: true });
  const countEl = h("span", { class: "run-count", "data-test": "run-count", "data-total": "0" });
  const progressEl = h("span", { class: "muted load-progress", "data-test": "load-progress", "data-loaded": "0", "data-total": "0" });
  const selectionEl = h("span", { class: "muted", "data-test": "selection-count", "data-count": "0", text: "" });
  const chartButton = h("button", { type: "button", "data-test": "chart-selected", disabled: true, text: "Chart" });
  const compareButton = h("button", { type: "button", "data-test": "compare-selected", disabled: true, text: "Compare" });
  const clearButton = h("button", { type: "button", class: "link", "data-test": "clear-selection", hidden: true, text: "clear" });
  const picker = h("details", { class: "column-picker", "data-test": "column-picker" });
  const tableBox = h("div", { class: "runs-table-box" }, loadingBox("Searching runs…"));

  root.append(
    h("div", { class: "page-head" },
      h("h1", { text: "Runs" }), chips, countEl, progressEl),
    h("form", {
      class: "filter-bar",
      onsubmit: (e) => {
        e.preventDefault();
        applyFilter();
      },
    },
      filterInput,
      h("button", { type: "submit", class: "primary", "data-test": "filter-apply", text: "Search" }),
      h("button", {
        type: "button", "data-test": "filter-clear", text: "Clear",
        onclick: () => {
          filterInput.value = "";
          applyFilter();
        },
      }),
      filterHelp()),
    filterError,
    h("div", { class: "toolbar" },
      picker, chartButton, compareButton, selectionEl, clearButton,
      h("span", { class: "spacer" }),
      h("button", { type: "button", "data-test": "refresh", text: "Refresh", onclick: () => load() })),
    tableBox);

  // Experiment names (not blocking the table).
  if (experimentIds.length === 0) {
    chips.append(h("span", { class: "muted", text: "all experiments" }));
  } else {
    for (const id of experimentIds) {
      const chip = h("a", { class: "chip", href: routeHash("runs", { experiments: id }), "data-experiment-id": id, text: shortId(id) });
      chips.append(chip);
      tracking("GetExperiment", { experiment: { id } }, { signal: ctx.signal }).then((e) => {
        chip.textContent = e.name || id;
        chip.title = e.description || id;
      }, () => {});
    }
    chips.append(h("a", { href: "#/experiments", class: "muted small", text: "change" }));
  }

  // ---- table
  const scroller = h("div", { class: "runs-scroll", "data-test": "runs-scroll" });
  const colgroup = h("colgroup");
  const headRow = h("tr");
  const tbody = h("tbody");
  const table = h("table", { class: "table runs virtual", "data-test": "runs-table" }, colgroup, h("thead", null, headRow), tbody);
  scroller.append(table);
  const selectAll = h("input", { type: "checkbox", "data-test": "select-all", title: "Select every fetched run", "aria-label": "Select all" });
  let rendered = { start: -1, end: -1, version: -1 };
  let dataVersion = 0;

  const allColumns = () => [BASE_COLUMNS.status, BASE_COLUMNS.name, BASE_COLUMNS.started, BASE_COLUMNS.duration, ...columns.map(column)];

  function renderHead(withRows = true) {
    const cols = allColumns();
    replace(colgroup, h("col", { style: { width: "34px" } }), cols.map((c) => h("col", { style: { width: `${c.width}px` } })));
    table.style.width = `${34 + cols.reduce((s, c) => s + c.width, 0)}px`;
    replace(headRow,
      h("th", { class: "col-check" }, selectAll),
      cols.map((c) => {
        const sorted = sort.col === c.id;
        return h("th", {
          class: `sortable ${c.num ? "num" : ""} ${c.group ?? ""}`,
          "data-test": "column-header", "data-column": c.id,
          "data-sort": sorted ? sort.dir : null,
          "aria-sort": sorted ? (sort.dir === "asc" ? "ascending" : "descending") : null,
          title: `${c.group === "param" ? "param " : c.group === "metric" ? "metric " : ""}${c.label} — click to sort`,
          tabindex: "0",
          onclick: () => setSort(c.id),
          onkeydown: (e) => {
            if (e.key === "Enter" || e.key === " ") {
              e.preventDefault();
              setSort(c.id);
            }
          },
        }, h("span", { class: "th-label", text: c.label }), sorted ? h("span", { class: "sort-arrow", text: sort.dir === "asc" ? " ▲" : " ▼" }) : null);
      }));
    table.dataset.sort = sort.col;
    table.dataset.dir = sort.dir;
    columnsVersion++;
    rendered = { start: -1, end: -1, version: -1 };
    if (withRows) renderRows();
  }

  // Rows are built as HTML text (one parse per frame is much cheaper than thousands of
  // createElement calls) and cached per run until the columns change.
  let columnsVersion = 0;
  const rowCache = new WeakMap(); // run → { version, html } (the cells after the checkbox)

  function cellHTML(c, run) {
    let content = "";
    let title = "";
    let cls = c.num ? "num" : "";
    switch (c.id) {
      case "status": {
        const name = statusName(run.status);
        content = `<span class="badge status-${name}" data-test="status-badge" data-status="${name}">${name}</span>`;
        title = run.error ?? "";
        break;
      }
      case "name":
        content = (run.parentRunId ? `<span class="child-mark" title="child of ${esc(run.parentRunId)}">↳ </span>` : "") +
          `<a href="#/run/${esc(encodeURIComponent(run.id))}" data-test="run-link">${esc(run.name || run.id)}</a>`;
        title = run.name ? `${run.name} (${run.id})` : run.id;
        break;
      case "started":
        content = esc(fmtAgo(run.startedAtMs));
        title = fmtTime(run.startedAtMs);
        break;
      case "duration":
        content = esc(fmtDuration(run.durationMs));
        break;
      default:
        if (c.kind === "param") {
          const value = run.params?.[c.key];
          const text = paramText(value);
          const type = paramType(value);
          if (type === "int" || type === "double") cls = "num";
          content = esc(text);
          title = text;
        } else {
          const v = aggregate(metricMap(run).get(c.key), c.agg);
          content = v === undefined ? "" : esc(fmtNum(v));
          title = v === undefined ? "" : String(v);
        }
    }
    return `<td${cls ? ` class="${cls}"` : ""}${title ? ` title="${esc(title)}"` : ""} data-test="cell" data-column="${esc(c.id)}">${content}</td>`;
  }

  function rowHTML(run, index, cols) {
    let cached = rowCache.get(run);
    if (!cached || cached.version !== columnsVersion) {
      cached = { version: columnsVersion, html: cols.map((c) => cellHTML(c, run)).join("") };
      rowCache.set(run, cached);
    }
    const on = selected.has(run.id);
    return `<tr data-test="run-row" data-run-id="${esc(run.id)}" data-index="${index}"${on ? ' class="selected"' : ""}>` +
      `<td class="col-check"><input type="checkbox" data-test="run-select" aria-label="Select ${esc(run.name || run.id)}"${on ? " checked" : ""}></td>` +
      cached.html + "</tr>";
  }

  tbody.addEventListener("click", (event) => {
    const box = event.target.closest?.('input[data-test="run-select"]');
    if (!box) return;
    const index = Number(box.closest("tr").dataset.index);
    toggle(index, box.checked, event.shiftKey);
  });

  // Rendered rows by index; a row is rebuilt only when its run (or the columns) changed, so
  // pages arriving in the background and selection changes leave the visible rows in place.
  let renderedRows = new Map(); // index → { tr, run, version }
  const template = document.createElement("template");
  const topSpacer = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td"));
  const bottomSpacer = h("tr", { class: "spacer", "aria-hidden": "true" }, h("td"));

  function renderRows(force = false) {
    if (destroyed) return;
    const count = total;
    const head = table.tHead?.offsetHeight ?? ROW_H;
    const top = Math.max(0, scroller.scrollTop - head);
    const view = scroller.clientHeight || 600;
    const start = Math.max(0, Math.floor(top / ROW_H) - OVERSCAN);
    const end = Math.min(count, Math.ceil((top + view) / ROW_H) + OVERSCAN);
    if (!force && start === rendered.start && end === rendered.end && rendered.version === dataVersion) return;
    rendered = { start, end, version: dataVersion };
    const cols = allColumns();
    const span = String(cols.length + 1);
    const next = new Map();
    const needed = [];
    for (let i = start; i < end; i++) {
      const run = runs[i] ?? null;
      const old = renderedRows.get(i);
      if (old && old.run === run && old.version === columnsVersion) next.set(i, old);
      else needed.push(i);
    }
    if (needed.length) {
      template.innerHTML = needed.map((i) => (runs[i] ? rowHTML(runs[i], i, cols)
        : `<tr class="placeholder" data-test="run-placeholder" data-index="${i}"><td colspan="${span}" class="muted">…</td></tr>`)).join("");
      const made = [...template.content.children];
      needed.forEach((i, k) => next.set(i, { tr: made[k], run: runs[i] ?? null, version: columnsVersion }));
    }
    topSpacer.firstChild.colSpan = span;
    bottomSpacer.firstChild.colSpan = span;
    topSpacer.firstChild.style.height = `${start * ROW_H}px`;
    bottomSpacer.firstChild.style.height = `${(count - end) * ROW_H}px`;
    topSpacer.hidden = start === 0;
    bottomSpacer.hidden = end >= count;
    const ordered = [];
    for (let i = start; i < end; i++) ordered.push(next.get(i).tr);
    // Move only what changed: rows kept in place stay the same nodes.
    const current = [...tbody.children];
    const wanted = [topSpacer, ...ordered, bottomSpacer];
    if (current.length !== wanted.length || current.some((node, k) => node !== wanted[k])) tbody.replaceChildren(...wanted);
    renderedRows = next;
    table.dataset.rendered = String(end - start);
  }

  function syncSelection() {
    for (const { tr, run } of renderedRows.values()) {
      if (!run) continue;
      const on = selected.has(run.id);
      tr.classList.toggle("selected", on);
      const box = tr.querySelector('input[data-test="run-select"]');
      if (box) box.checked = on;
    }
  }

  let frame = 0;
  scroller.addEventListener("scroll", () => {
    if (!frame) frame = requestAnimationFrame(() => {
      frame = 0;
      renderRows();
    });
  }, { passive: true });

  function fitHeight() {
    if (!scroller.isConnected) return;
    const top = scroller.getBoundingClientRect().top;
    const height = Math.max(320, window.innerHeight - top - 12);
    scroller.style.height = `${height}px`;
    renderRows();
  }
  window.addEventListener("resize", fitHeight);

  // ---- selection
  function updateSelection() {
    const n = selected.size;
    selectionEl.textContent = n ? `${fmtInt(n)} selected` : "";
    selectionEl.dataset.count = String(n);
    chartButton.disabled = n < 1;
    compareButton.disabled = n < 2;
    clearButton.hidden = n === 0;
    selectAll.checked = runs.length > 0 && n >= runs.length && runs.every((r) => selected.has(r.id));
    selectAll.indeterminate = n > 0 && !selectAll.checked;
  }

  function toggle(index, on, range) {
    const from = range && lastClicked >= 0 ? Math.min(lastClicked, index) : index;
    const to = range && lastClicked >= 0 ? Math.max(lastClicked, index) : index;
    for (let i = from; i <= to; i++) {
      const run = runs[i];
      if (!run) continue;
      if (on) selected.add(run.id);
      else selected.delete(run.id);
    }
    lastClicked = index;
    updateSelection();
    syncSelection();
  }

  selectAll.addEventListener("change", () => {
    if (selectAll.checked) for (const r of runs) selected.add(r.id);
    else selected.clear();
    updateSelection();
    syncSelection();
  });
  clearButton.addEventListener("click", () => {
    selected.clear();
    updateSelection();
    syncSelection();
  });
  const selectedIds = () => runs.filter((r) => selected.has(r.id)).map((r) => r.id);
  chartButton.addEventListener("click", () => ctx.navigate(routeHash("charts", { runs: selectedIds() })));
  compareButton.addEventListener("click", () => ctx.navigate(routeHash("compare", { runs: selectedIds() })));

  // ---- URL state
  function saveState() {
    const query = { experiments: experimentIds, filter };
    if (!(sort.col === "started" && sort.dir === "desc")) query.sort = `${sort.col}:${sort.dir}`;
    if (!autoColumns) query.cols = columns.length ? columns : "-";
    replaceHash(routeHash("runs", query));
  }

  function setSort(colId) {
    if (sort.col === colId) sort = { col: colId, dir: sort.dir === "asc" ? "desc" : "asc" };
    else sort = { col: colId, dir: colId === "name" || colId === "status" ? "asc" : "desc" };
    saveState();
    load();
  }

  function applyFilter() {
    filter = filterInput.value; // as typed: error positions refer to the text in the box
    saveState();
    load();
  }

  // ---- columns
  function setColumns(list) {
    columns = list;
    autoColumns = false;
    try {
      localStorage.setItem(storageKey, JSON.stringify(columns));
    } catch {
      // storage full or disabled: the URL still has them
    }
    saveState();
    renderHead();
    picker.querySelector("summary").textContent = `Columns (${columns.length})`;
  }

  function buildPicker() {
    const search = h("input", { type: "search", placeholder: "Find a key", "data-test": "column-search" });
    const list = h("div", { class: "picker-list" });
    const fill = () => {
      const q = search.value.trim().toLowerCase();
      const option = (id, text) => h("label", { class: "picker-option" },
        h("input", {
          type: "checkbox", "data-test": "column-option", "data-column": id, checked: columns.includes(id),
          onchange: (e) => setColumns(e.target.checked ? [...columns, id] : columns.filter((c) => c !== id)),
        }), text);
      const params = [...paramKeys].sort(sortKey).filter((k) => !q || k.toLowerCase().includes(q));
      const metrics = [...metricKeys].sort(sortKey).filter((k) => !q || k.toLowerCase().includes(q));
      replace(list,
        h("div", { class: "picker-group" }, h("h4", { text: `Params (${params.length})` }),
          params.length ? h("div", { class: "picker-params" }, params.map((k) => option(`params:${k}`, k))) : h("div", { class: "muted", text: "none" })),
        h("div", { class: "picker-group" }, h("h4", { text: `Metrics (${metrics.length})` }),
          metrics.length ? metrics.map((k) => h("div", { class: "picker-metric" },
            h("span", { class: "picker-key", title: k, text: k }),
            AGGREGATES.map((agg) => option(`metrics:${k}:${agg}`, agg)))) : h("div", { class: "muted", text: "none" })));
    };
    search.addEventListener("input", fill);
    fill();
    replace(picker,
      h("summary", { text: `Columns (${columns.length})` }),
      h("div", { class: "picker-panel" },
        h("div", { class: "picker-actions" }, search,
          h("button", { type: "button", class: "link", text: "none", onclick: () => { setColumns([]); fill(); } })),
        list));
  }
  picker.addEventListener("toggle", () => {
    if (picker.open) buildPicker();
  });
  const closePicker = (event) => {
    if (picker.open && (event.type === "keydown" ? event.key === "Escape" : !picker.contains(event.target))) picker.open = false;
  };
  document.addEventListener("click", closePicker);
  document.addEventListener("keydown", closePicker);
  replace(picker, h("summary", { text: `Columns (${columns.length})` }));

  function noteKeys(list) {
    for (const run of list) {
      for (const key of Object.keys(run.params ?? {})) paramKeys.add(key);
      for (const m of run.metrics ?? []) metricKeys.add(m.key ?? "");
    }
  }

  function chooseAutoColumns() {
    const params = [...paramKeys].sort(sortKey).slice(0, AUTO_PARAMS).map((k) => `params:${k}`);
    const metrics = [...metricKeys].sort(sortKey).slice(0, AUTO_METRICS).map((k) => `metrics:${k}:last`);
    columns = [...params, ...metrics];
    picker.querySelector("summary").textContent = `Columns (${columns.length})`;
  }

  // ---- filter errors
  function showFilterError(error) {
    const details = error.details ?? {};
    const field = details.field || "filter";
    // proto3 JSON leaves out fields at their default: a position of 0 comes as no position at
    // all. The daemon sets `field` whenever the error is about a place in a text.
    const position = details.position !== undefined ? Number(details.position) : details.field ? 0 : -1;
    filterError.hidden = false;
    filterError.dataset.field = field;
    filterError.dataset.position = String(position);
    filterInput.classList.add("invalid");
    const text = field === "filter" ? filter : "";
    const parts = [h("div", { class: "filter-error-message", "data-test": "filter-error-message", text: error.message })];
    if (field === "filter" && position >= 0) {
      const chars = Array.from(text);
      const at = Math.min(position, chars.length);
      const before = chars.slice(0, at).join("");
      const ch = chars[at] ?? " ";
      const after = chars.slice(at + 1).join("");
      parts.push(h("pre", { class: "filter-caret", "data-test": "filter-caret" },
        before, h("mark", { text: ch }), after, "\n", " ".repeat(at) + "^"));
      const index = codePointIndex(text, at);
      filterInput.focus();
      filterInput.setSelectionRange(index, Math.min(filterInput.value.length, index + ch.length));
    }
    replace(filterError, ...parts);
  }

  function clearFilterError() {
    filterError.hidden = true;
    filterInput.classList.remove("invalid");
    filterError.replaceChildren();
    delete filterError.dataset.position;
  }

  // ---- loading
  function setProgress() {
    const loaded = runs.length;
    progressEl.dataset.loaded = String(loaded);
    progressEl.dataset.total = String(total);
    progressEl.textContent = loading && loaded < total ? `loading ${fmtInt(loaded)} of ${fmtInt(total)}…` : "";
    countEl.dataset.total = String(total);
    countEl.textContent = `${fmtInt(total)} run${total === 1 ? "" : "s"}`;
    table.dataset.total = String(total);
    table.dataset.loaded = String(loaded);
  }

  async function load() {
    const gen = ++generation;
    loadController?.abort();
    const controller = new AbortController();
    loadController = controller;
    const signal = controller.signal;
    const abortWithRoute = () => controller.abort();
    ctx.signal.addEventListener("abort", abortWithRoute, { once: true });
    loading = true;
    const request = firstRequest();
    let first;
    try {
      if (early.response && JSON.stringify(early.request) === JSON.stringify(request)) {
        const response = early.response;
        early.response = null;
        signal.addEventListener("abort", () => early.controller.abort(), { once: true });
        first = await response;
      } else {
        early.response = null;
        first = await tracking("SearchRuns", request, { signal });
      }
    } catch (error) {
      if (signal.aborted || gen !== generation) return;
      loading = false;
      const isFilter = error instanceof RPCError && error.codeName === "INVALID_ARGUMENT" &&
        (error.details?.field === "filter" || error.details?.field === "order_by" || /^(filter|order_by)/.test(error.message));
      if (isFilter) {
        showFilterError(error);
        replace(tableBox, emptyBox("Fix the filter to see runs."));
      } else {
        clearFilterError();
        replace(tableBox, errorBox(error, "Could not search the runs"));
      }
      total = 0;
      runs = [];
      setProgress();
      countEl.textContent = "";
      root.dataset.ready = "true";
      return;
    }
    if (gen !== generation) return;
    clearFilterError();
    runs = [];
    seen.clear();
    for (const r of first.runs ?? []) {
      if (!seen.has(r.id)) {
        seen.add(r.id);
        runs.push(r);
      }
    }
    total = Math.max(num(first.totalCount), runs.length);
    noteKeys(runs);
    if (autoColumns && !autoChosen) {
      chooseAutoColumns();
      autoChosen = true;
    }
    dataVersion++;
    // Drop selections of runs no longer in the result? Keep them: they stay chartable by id.
    if (total === 0) {
      replace(tableBox, emptyBox(filter ? "No run matches the filter." : "No runs yet."));
    } else {
      replace(tableBox, scroller);
      scroller.scrollTop = 0;
      renderHead(false);
      fitHeight(); // sizes the box, then renders the visible rows
    }
    setProgress();
    updateSelection();
    root.dataset.ready = "true";

    // The other pages load in the background (render() does not wait for them).
    loadRest(first.nextPageToken ?? "").catch(() => {});

    async function loadRest(token) {
      while (token && gen === generation && !signal.aborted) {
        let page;
        try {
          page = await tracking("SearchRuns", { ...request, pageSize: PAGE, pageToken: token }, { signal });
        } catch (error) {
          if (signal.aborted || gen !== generation) return;
          progressEl.textContent = "";
          tableBox.prepend(errorBox(error, `Stopped after ${fmtInt(runs.length)} runs`));
          break;
        }
        if (gen !== generation) return;
        const fresh = [];
        for (const r of page.runs ?? []) {
          if (!seen.has(r.id)) {
            seen.add(r.id);
            fresh.push(r);
          }
        }
        runs.push(...fresh);
        noteKeys(fresh);
        token = page.nextPageToken ?? "";
        dataVersion++;
        setProgress();
        renderRows();
      }
      if (gen !== generation) return;
      loading = false;
      if (runs.length !== total && !token) {
        total = runs.length; // runs were added or removed while paging
        dataVersion++;
        renderRows();
      }
      setProgress();
      updateSelection();
      ctx.signal.removeEventListener("abort", abortWithRoute);
    }
  }

  await load();

  return () => {
    destroyed = true;
    loadController?.abort();
    cancelAnimationFrame(frame);
    window.removeEventListener("resize", fitHeight);
    document.removeEventListener("click", closePicker);
    document.removeEventListener("keydown", closePicker);
  };
}

function parseSort(text) {
  if (!text) return { col: "started", dir: "desc" };
  const cut = text.lastIndexOf(":");
  const dir = text.slice(cut + 1);
  if (cut > 0 && (dir === "asc" || dir === "desc") && column(text.slice(0, cut))) return { col: text.slice(0, cut), dir };
  return { col: "started", dir: "desc" };
}

function loadColumns(key) {
  try {
    const value = JSON.parse(localStorage.getItem(key) ?? "null");
    return Array.isArray(value) ? value.filter((v) => typeof v === "string") : null;
  } catch {
    return null;
  }
}

function filterHelp() {
  const examples = [
    'params.lr < 0.01 and metrics.val_acc.max >= 0.9',
    'status = "running" and duration > 3600000',
    'params.optimizer in ("adam", "adamw")',
    'name ilike "bert-%" and not status in ("failed", "killed")',
    'tags.stage is null or tags.stage != "prod"',
    'parent_run_id = "<run id>"',
  ];
  return h("details", { class: "filter-help" },
    h("summary", { text: "Syntax" }),
    h("div", { class: "filter-help-panel" },
      h("p", null, "Fields: ", h("code", { text: "params.<key>" }), ", ", h("code", { text: "metrics.<key>[.last|min|max|mean|count|first_step|last_step]" }), ", ",
        h("code", { text: "tags.<key>" }), ", ", h("code", { text: "status name id experiment_id parent_run_id started_at completed_at duration" }), "."),
      h("p", null, "Operators: ", h("code", { text: "= != < <= > >= in, not in, like, ilike, is null, is not null, and, or, not, ( )" }),
        ". Keys with other characters go in backticks: ", h("code", { text: "params.`optimizer.lr`" }), "."),
      h("ul", null, examples.map((e) => h("li", null, h("code", { text: e }))))));
}
