// #/experiments — every experiment: name, description, tags, run count, last activity.
// Filter boxes (name, tag) work on the loaded list; a click opens the experiment's runs;
// checkboxes open several experiments' runs together.
//
// Test hooks:
//   root data-ready="true" once the table (or the empty message) is on screen
//   data-test="experiment-name-filter"  text box: case-insensitive substring of the name
//   data-test="experiment-tag-filter"   text box: "key" or "key=value" (substring of "key=value")
//   data-test="experiments-table"       the <table>; data-total="<experiments loaded>"
//   data-test="experiment-row"          one <tr> per shown experiment; data-experiment-id, data-name
//   data-test="experiment-select"       the row's checkbox
//   data-test="experiment-link"         the name link (→ #/runs?experiments=ID)
//   data-test="experiment-run-count", "experiment-last-activity" (data-ms="<unix ms>"), "experiment-tags"
//   data-test="select-all"              header checkbox (selects the shown rows)
//   data-test="open-selected"           button: runs of the selected experiments together
//   data-test="experiment-count"        "N of M experiments"
//   data-test="empty"                   no experiment at all / none matches

import { tracking } from "../api.js";
import { h, replace, num, fmtInt, fmtAgo, fmtTime, loadingBox, errorBox, emptyBox, routeHash } from "../format.js";

async function loadAll(signal) {
  const all = [];
  let pageToken = "";
  do {
    const response = await tracking("ListExperiments", { orderBy: "updated_at desc", pageSize: 1000, pageToken }, { signal });
    all.push(...(response.experiments ?? []));
    pageToken = response.nextPageToken ?? "";
  } while (pageToken);
  return all;
}

export function tagChips(tags) {
  const entries = Object.entries(tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([k, v]) => h("span", { class: "chip", title: v ? `${k}=${v}` : k, text: v ? `${k}=${v}` : k }));
}

export async function render(root, params, ctx) {
  const nameBox = h("input", { type: "search", placeholder: "Filter by name", "data-test": "experiment-name-filter", value: params.get("name") ?? "" });
  const tagBox = h("input", { type: "search", placeholder: "Filter by tag (key or key=value)", "data-test": "experiment-tag-filter", value: params.get("tag") ?? "" });
  const openButton = h("button", { type: "button", class: "primary", "data-test": "open-selected", disabled: true, text: "Open runs of selected" });
  const countEl = h("span", { class: "muted", "data-test": "experiment-count" });
  const body = h("div", { class: "experiments-body" }, loadingBox("Loading experiments…"));
  root.append(
    h("div", { class: "page-head" }, h("h1", { text: "Experiments" }), countEl),
    h("div", { class: "toolbar" }, nameBox, tagBox, openButton,
      h("a", { href: "#/runs", class: "button", "data-test": "all-runs", text: "All runs" })),
    body);

  let experiments;
  try {
    experiments = await loadAll(ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) return;
    replace(body, errorBox(error, "Could not list the experiments"));
    root.dataset.ready = "true";
    return;
  }

  const selected = new Set();
  const selectAll = h("input", { type: "checkbox", "data-test": "select-all", title: "Select all shown", "aria-label": "Select all shown" });
  const tbody = h("tbody");
  const table = h("table", { class: "table experiments", "data-test": "experiments-table", "data-total": String(experiments.length) },
    h("thead", null, h("tr", null,
      h("th", { class: "col-check" }, selectAll),
      h("th", { text: "Name" }), h("th", { text: "Description" }), h("th", { text: "Tags" }),
      h("th", { class: "num", text: "Runs" }), h("th", { text: "Last activity" }), h("th", { text: "Created" }))),
    tbody);

  let shown = [];
  const updateSelection = () => {
    openButton.disabled = selected.size === 0;
    openButton.textContent = selected.size > 1 ? `Open runs of ${selected.size} experiments` : "Open runs of selected";
    const shownSelected = shown.filter((e) => selected.has(e.id)).length;
    selectAll.checked = shown.length > 0 && shownSelected === shown.length;
    selectAll.indeterminate = shownSelected > 0 && shownSelected < shown.length;
  };

  const matches = (e, name, tag) => {
    if (name && !(e.name ?? "").toLowerCase().includes(name)) return false;
    if (tag) {
      const tags = Object.entries(e.tags ?? {}).map(([k, v]) => (v ? `${k}=${v}` : k).toLowerCase());
      if (!tags.some((t) => t.includes(tag))) return false;
    }
    return true;
  };

  const row = (e) => {
    const link = routeHash("runs", { experiments: e.id });
    const check = h("input", {
      type: "checkbox", "data-test": "experiment-select", checked: selected.has(e.id), "aria-label": `Select ${e.name}`,
      onchange: (ev) => {
        if (ev.target.checked) selected.add(e.id);
        else selected.delete(e.id);
        updateSelection();
      },
    });
    const updated = num(e.updatedAtMs) || num(e.createdAtMs);
    return h("tr", { "data-test": "experiment-row", "data-experiment-id": e.id, "data-name": e.name ?? "" },
      h("td", { class: "col-check" }, check),
      h("td", { class: "name" }, h("a", { href: link, "data-test": "experiment-link", text: e.name || e.id })),
      h("td", { class: "description", title: e.description ?? "", text: e.description ?? "" }),
      h("td", { class: "tags", "data-test": "experiment-tags" }, tagChips(e.tags)),
      h("td", { class: "num", "data-test": "experiment-run-count", text: fmtInt(e.runCount) }),
      h("td", { "data-test": "experiment-last-activity", "data-ms": String(updated), title: fmtTime(updated), text: fmtAgo(updated) }),
      h("td", { title: fmtTime(e.createdAtMs), text: fmtTime(e.createdAtMs).slice(0, 10) }));
  };

  const apply = () => {
    const name = nameBox.value.trim().toLowerCase();
    const tag = tagBox.value.trim().toLowerCase();
    shown = experiments.filter((e) => matches(e, name, tag));
    countEl.textContent = name || tag ? `${shown.length} of ${experiments.length} experiments` : `${experiments.length} experiments`;
    if (experiments.length === 0) {
      replace(body, emptyBox(h("p", { text: "No experiments yet." }),
        h("p", { class: "muted" }, "Log a run with the Python client — ", h("code", { text: 'tally.start_run(experiment="mnist", params={...})' }), " — and it appears here.")));
      return;
    }
    replace(tbody, shown.map(row));
    replace(body, table, shown.length === 0 ? emptyBox("No experiment matches the filter.") : null);
    updateSelection();
  };

  selectAll.addEventListener("change", () => {
    for (const e of shown) {
      if (selectAll.checked) selected.add(e.id);
      else selected.delete(e.id);
    }
    for (const box of tbody.querySelectorAll('[data-test="experiment-select"]')) box.checked = selectAll.checked;
    updateSelection();
  });
  openButton.addEventListener("click", () => {
    const ids = experiments.filter((e) => selected.has(e.id)).map((e) => e.id);
    if (ids.length) ctx.navigate(routeHash("runs", { experiments: ids }));
  });
  nameBox.addEventListener("input", apply);
  tagBox.addEventListener("input", apply);

  apply();
  root.dataset.ready = "true";
}
