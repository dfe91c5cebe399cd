"""Every dashboard page in headless Chromium against the real daemon and seeded data: it loads
with no console error and shows the data that is in the store. The data-test hooks are those
documented at the top of each module of Sources/TallyGateway/Dashboard."""
import re
import time
import urllib.parse

import pytest

import tally
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import assert_no_console_errors, open_page

ITEMS_JS = """
return [...document.querySelectorAll(arguments[0])].map(e => {
  const out = {text: e.innerText === undefined ? e.textContent : e.innerText, hidden: e.hidden || e.offsetParent === null && getComputedStyle(e).position !== 'fixed'};
  for (const a of e.getAttributeNames()) if (a.startsWith('data-')) out[a.slice(5)] = e.getAttribute(a);
  return out;
});
"""


def items(browser, css):
    """Every element matching `css` as {"text", "hidden", <data-* attributes without "data-">}."""
    return browser.driver.execute_script(ITEMS_JS, css)


def one(browser, css):
    found = items(browser, css)
    assert len(found) == 1, f"{len(found)} elements match {css}: {found[:3]}\n{browser.text()[:1000]}"
    return found[0]


def click(browser, css):
    browser.driver.find_element(By.CSS_SELECTOR, css).click()


def hash_route(browser):
    return urllib.parse.unquote(urllib.parse.urlsplit(browser.driver.current_url).fragment)


def number_in(text):
    match = re.search(r"-?\d+(?:[.,]\d+)*(?:\.\d+)?(?:e-?\d+)?", text.replace(",", ""))
    return float(match.group(0)) if match else None


# -- the shell -----------------------------------------------------------------------------------


def test_default_route_is_the_experiments_list(browser, seeded):
    browser.drain_console()
    browser.console.clear()
    browser.driver.get("about:blank")
    browser.driver.get(browser.daemon.base + "/")
    browser.wait_ready()
    assert one(browser, "main[data-test=view]")["view"] == "experiments"
    assert_no_console_errors(browser)
    status = one(browser, "[data-test=daemon-status]")
    browser.wait_until(lambda: one(browser, "[data-test=daemon-status]")["state"] == "ok",
                       describe=lambda: f"daemon status ok (is {status})")
    assert "tally" in one(browser, "[data-test=daemon-status]")["text"]


def test_navigation_links_change_the_view(browser, seeded):
    open_page(browser, "/experiments")
    for name in ("sweeps", "evaluations", "jobs", "runs", "experiments"):
        click(browser, f"[data-test=nav-{name}]")
        browser.wait_until(lambda: (one(browser, "main[data-test=view]").get("view") == name
                                    and one(browser, "main[data-test=view]").get("ready") == "true"),
                           describe=lambda: f"the {name} view after its nav link")
        assert hash_route(browser).startswith(f"/{name}")
        assert "active" in browser.driver.find_element(By.CSS_SELECTOR, f"[data-test=nav-{name}]").get_attribute("class")
    assert_no_console_errors(browser)


# -- experiments ---------------------------------------------------------------------------------


def test_experiments_page_lists_every_experiment_with_its_run_count(browser, seeded):
    open_page(browser, "/experiments")
    rows = {r["name"]: r for r in items(browser, "[data-test=experiment-row]")}
    for name, experiment_id in seeded.experiments.items():
        assert name in rows, f"{name} not among {sorted(rows)}"
        assert rows[name]["experiment-id"] == experiment_id
    counts = {r["name"]: r["text"] for r in
              browser.driver.execute_script("""return [...document.querySelectorAll('[data-test=experiment-row]')].map(r =>
                ({name: r.dataset.name, text: r.querySelector('[data-test=experiment-run-count]').innerText}))""")}
    for name in seeded.experiments:
        assert number_in(counts[name]) == len(seeded.runs_of(name)), (name, counts[name])
    assert "digit classifier" in rows["mnist-cnn"]["text"]
    tags = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=experiment-row]')].map(r =>
             [r.dataset.name, r.querySelector('[data-test=experiment-tags]').innerText]))""")
    assert "team=vision" in tags["mnist-cnn"] and "stage=prod" in tags["cifar-resnet"], tags
    assert "stage" not in tags["mnist-cnn"]


def test_experiment_tag_filter_and_opening_several(browser, seeded):
    open_page(browser, "/experiments")
    browser.driver.find_element(By.CSS_SELECTOR, "[data-test=experiment-tag-filter]").send_keys("team=vision")
    browser.wait_until(lambda: sorted(r["name"] for r in items(browser, "[data-test=experiment-row]")) == ["cifar-resnet", "mnist-cnn"],
                       describe=lambda: f"the vision experiments, not {[r['name'] for r in items(browser, '[data-test=experiment-row]')]}")
    click(browser, "[data-test=select-all]")
    click(browser, "[data-test=open-selected]")
    browser.wait_until(lambda: hash_route(browser).startswith("/runs?experiments="), describe=lambda: "the runs route")
    ids = set(hash_route(browser).split("experiments=")[1].split("&")[0].split(","))
    assert ids == {seeded.experiments["cifar-resnet"], seeded.experiments["mnist-cnn"]}
    browser.wait_ready()
    wait_rows(browser, {r.name for r in seeded.runs_of("cifar-resnet") + seeded.runs_of("mnist-cnn")})
    assert_no_console_errors(browser)


def test_experiment_name_filter_and_link_to_its_runs(browser, seeded):
    open_page(browser, "/experiments")
    box = browser.driver.find_element(By.CSS_SELECTOR, "[data-test=experiment-name-filter]")
    box.send_keys("CIFAR")
    browser.wait_until(lambda: [r["name"] for r in items(browser, "[data-test=experiment-row]")] == ["cifar-resnet"],
                       describe=lambda: f"only cifar-resnet shown, not {[r['name'] for r in items(browser, '[data-test=experiment-row]')]}")
    click(browser, "[data-test=experiment-row] [data-test=experiment-link]")
    browser.wait_until(lambda: one(browser, "main[data-test=view]").get("view") == "runs"
                       and one(browser, "main[data-test=view]").get("ready") == "true",
                       describe=lambda: "the runs view")
    assert hash_route(browser) == f"/runs?experiments={seeded.experiments['cifar-resnet']}"
    wait_rows(browser, {r.name for r in seeded.runs_of("cifar-resnet")})
    assert_no_console_errors(browser)


# -- runs ----------------------------------------------------------------------------------------


def row_names(browser):
    return browser.driver.execute_script(
        "return [...document.querySelectorAll('[data-test=run-row]')].map(r => r.querySelector('[data-test=run-link]').innerText.trim())")


def wait_rows(browser, expected, ordered=False):
    def check():
        names = row_names(browser)
        total = one(browser, "[data-test=run-count]").get("total")
        if ordered:
            return names == list(expected) and total == str(len(expected))
        return sorted(names) == sorted(expected) and total == str(len(expected))
    browser.wait_until(check, describe=lambda: f"runs {sorted(expected)} (shown {row_names(browser)}, "
                                              f"run-count {one(browser, '[data-test=run-count]')})")


def test_runs_page_shows_the_runs_of_the_experiment(browser, seeded):
    experiment_id = seeded.experiments["mnist-cnn"]
    open_page(browser, f"/runs?experiments={experiment_id}")
    runs = seeded.runs_of("mnist-cnn")
    wait_rows(browser, {r.name for r in runs})
    rows = {r["run-id"]: r for r in items(browser, "[data-test=run-row]")}
    assert set(rows) == {r.id for r in runs}
    statuses = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=run-row]')].map(r =>
             [r.dataset.runId, r.querySelector('[data-test=status-badge]').dataset.status]))""")
    assert statuses == {r.id: r.status for r in runs}
    # Param columns show each run's values.
    cells = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=run-row]')].map(r =>
             [r.dataset.runId, Object.fromEntries([...r.querySelectorAll('[data-test=cell]')].map(c => [c.dataset.column, c.innerText.trim()]))]))""")
    for run in runs:
        row = cells[run.id]
        if "params:optimizer" in row:
            assert row["params:optimizer"] == run.params["optimizer"], row
        if "params:lr" in row:
            assert float(row["params:lr"]) == pytest.approx(run.params["lr"]), row
    shown = set().union(*(set(c) for c in cells.values()))
    assert any(c.startswith("params:") for c in shown) and any(c.startswith("metrics:") for c in shown), shown
    # Runs of other experiments are not there.
    assert not {r.name for r in seeded.runs_of("cifar-resnet")} & set(row_names(browser))


def test_runs_page_of_two_experiments(browser, seeded):
    ids = [seeded.experiments["cifar-resnet"], seeded.experiments["news-bert"]]
    open_page(browser, f"/runs?experiments={','.join(ids)}")
    wait_rows(browser, {r.name for r in seeded.runs_of("cifar-resnet") + seeded.runs_of("news-bert")})
    assert_no_console_errors(browser)


def apply_filter(browser, text):
    box = browser.driver.find_element(By.CSS_SELECTOR, "[data-test=filter-input]")
    box.clear()
    box.send_keys(text + Keys.ENTER)


def test_filter_box_filters_the_runs_table(browser, seeded, client):
    experiment_id = seeded.experiments["mnist-cnn"]
    open_page(browser, f"/runs?experiments={experiment_id}")
    runs = seeded.runs_of("mnist-cnn")
    wait_rows(browser, {r.name for r in runs})

    apply_filter(browser, "params.lr > 0.01")
    expected = {r.name for r in runs if r.params["lr"] > 0.01}
    assert expected == {r.name for r in client.search_runs("params.lr > 0.01", experiments="mnist-cnn")}
    assert 0 < len(expected) < len(runs)
    wait_rows(browser, expected)
    assert "filter=" in browser.driver.current_url  # the filter is in the address (shareable)

    apply_filter(browser, 'params.optimizer = "sgd" and status = "completed"')
    wait_rows(browser, {r.name for r in runs if r.params["optimizer"] == "sgd" and r.status == "completed"})

    apply_filter(browser, 'status in ("failed", "killed")')
    wait_rows(browser, {r.name for r in runs if r.status in ("failed", "killed")})

    apply_filter(browser, "metrics.val_loss.min < -5")
    browser.wait_until(lambda: one(browser, "[data-test=run-count]").get("total") == "0" and not row_names(browser),
                       describe=lambda: "no run")
    assert items(browser, "[data-test=empty]"), "no empty message"

    click(browser, "[data-test=filter-clear]")
    wait_rows(browser, {r.name for r in runs})
    assert_no_console_errors(browser)


def test_filter_in_the_address_is_applied(browser, seeded):
    experiment_id = seeded.experiments["mnist-cnn"]
    text = 'params.optimizer = "adam"'
    open_page(browser, f"/runs?experiments={experiment_id}&filter={urllib.parse.quote(text)}")
    wait_rows(browser, {r.name for r in seeded.runs_of("mnist-cnn") if r.params["optimizer"] == "adam"})
    assert browser.driver.find_element(By.CSS_SELECTOR, "[data-test=filter-input]").get_attribute("value") == text


@pytest.mark.parametrize("text,position,word", [
    ("params.lr <", 11, "expected a value"),
    ("lr > 0.01", 0, "unknown field"),
    ('params.lr > 0.01 and status = "done"', None, "status"),
    ("params.`ünï` = 'x' and (", 24, ""),
])
def test_a_bad_filter_shows_the_error_at_its_position(browser, seeded, client, text, position, word):
    import tally
    with pytest.raises(tally.InvalidArgument) as raised:
        client.search_runs(text, experiments="mnist-cnn")
    daemon_position = int(raised.value.error_details.position)
    if position is None:
        position = daemon_position
    assert daemon_position == position, (text, raised.value.message)
    experiment_id = seeded.experiments["mnist-cnn"]
    open_page(browser, f"/runs?experiments={experiment_id}")
    wait_rows(browser, {r.name for r in seeded.runs_of("mnist-cnn")})
    assert one(browser, "[data-test=filter-error]")["hidden"]
    apply_filter(browser, text)
    browser.wait_until(lambda: not one(browser, "[data-test=filter-error]")["hidden"],
                       describe=lambda: "the filter error")
    error = one(browser, "[data-test=filter-error]")
    assert error["position"] == str(position), error
    assert error["field"] == "filter", error
    assert f"position {position}" in error["text"] and word in error["text"], error["text"]
    caret = one(browser, "[data-test=filter-caret]")["text"]
    lines = caret.split("\n")
    assert lines[0].rstrip() == text.rstrip() or text.rstrip() in caret, caret
    caret_line = next(line for line in lines[1:] if "^" in line)
    assert caret_line.index("^") == position, caret
    assert "invalid" in browser.driver.find_element(By.CSS_SELECTOR, "[data-test=filter-input]").get_attribute("class")
    # Only the 400 of the rejected search may be in the console, no script error.
    severe = [e for e in browser.severe() if not ("Failed to load resource" in e["message"] and "400" in e["message"])]
    assert not severe, severe
    # Fixing it hides the error.
    apply_filter(browser, "params.lr < 0.01")
    browser.wait_until(lambda: one(browser, "[data-test=filter-error]")["hidden"], describe=lambda: "the error hidden")
    wait_rows(browser, {r.name for r in seeded.runs_of("mnist-cnn") if r.params["lr"] < 0.01})


def test_sorting_by_a_column(browser, seeded):
    experiment_id = seeded.experiments["mnist-cnn"]
    open_page(browser, f"/runs?experiments={experiment_id}")
    runs = seeded.runs_of("mnist-cnn")
    wait_rows(browser, {r.name for r in runs})
    click(browser, "[data-test=column-header][data-column=name]")
    browser.wait_until(lambda: row_names(browser) in (sorted(r.name for r in runs), sorted((r.name for r in runs), reverse=True)),
                       describe=lambda: f"rows sorted by name, not {row_names(browser)}")
    first = row_names(browser)
    click(browser, "[data-test=column-header][data-column=name]")
    browser.wait_until(lambda: row_names(browser) == first[::-1], describe=lambda: f"the other order, not {row_names(browser)}")
    assert_no_console_errors(browser)


def test_selecting_runs_opens_compare_and_charts(browser, seeded):
    experiment_id = seeded.experiments["cifar-resnet"]
    open_page(browser, f"/runs?experiments={experiment_id}")
    runs = seeded.runs_of("cifar-resnet")
    wait_rows(browser, {r.name for r in runs})
    boxes = "[data-test=run-row] [data-test=run-select]"
    browser.driver.find_elements(By.CSS_SELECTOR, boxes)[0].click()
    browser.wait_until(lambda: one(browser, "[data-test=selection-count]")["count"] == "1", describe=lambda: "1 selected")
    assert browser.driver.find_element(By.CSS_SELECTOR, "[data-test=chart-selected]").get_attribute("disabled") is None
    assert browser.driver.find_element(By.CSS_SELECTOR, "[data-test=compare-selected]").get_attribute("disabled") is not None
    browser.driver.find_elements(By.CSS_SELECTOR, boxes)[1].click()  # found again: the rows re-render
    picked = [r["run-id"] for r in items(browser, "[data-test=run-row]")][:2]
    assert one(browser, "[data-test=selection-count]")["count"] == "2"
    click(browser, "[data-test=compare-selected]")
    browser.wait_until(lambda: hash_route(browser).startswith("/compare?runs="), describe=lambda: "the compare route")
    assert set(hash_route(browser).split("runs=")[1].split("&")[0].split(",")) == set(picked)
    browser.wait_ready()
    assert_no_console_errors(browser)


# -- sweeps --------------------------------------------------------------------------------------

BEST_SWEEP_SCORE = 0.3 / 8  # lr 0.01, 4 layers, last of 8 epochs (dashboard_seed.seed_sweep)


def test_sweeps_page_lists_the_sweep(browser, seeded):
    open_page(browser, "/sweeps")
    rows = {r["job-id"]: r for r in items(browser, "[data-test=sweep-row]")}
    assert seeded.sweep_id in rows, rows
    assert rows[seeded.sweep_id]["status"] == "completed"
    progress = browser.driver.execute_script(
        "return document.querySelector(`[data-test=sweep-progress][data-job-id='${arguments[0]}']`).dataset.progress", seeded.sweep_id)
    assert float(progress) == pytest.approx(1.0)
    best = browser.driver.execute_script(
        "return document.querySelector(`[data-test=sweep-row][data-job-id='${arguments[0]}'] [data-test=sweep-best-score]`).dataset.value",
        seeded.sweep_id)
    assert float(best) == pytest.approx(BEST_SWEEP_SCORE)


def test_sweep_page_shows_trials_and_the_best(browser, seeded):
    open_page(browser, f"/sweeps/{seeded.sweep_id}")
    assert one(browser, "[data-test=sweep-status]")["status"] == "completed"
    assert number_in(one(browser, "[data-test=sweep-count-completed]")["text"]) == 6
    trials = items(browser, "[data-test=trial-row]")
    assert len(trials) == 6 and {t["status"] for t in trials} == {"completed"}
    scores = sorted(float(s["value"]) for s in items(browser, "[data-test=trial-score]"))
    assert scores[0] == pytest.approx(BEST_SWEEP_SCORE)
    best = one(browser, "[data-test=sweep-best]")
    assert float(best["score"]) == pytest.approx(BEST_SWEEP_SCORE)
    params = one(browser, "[data-test=best-params]")["text"]
    assert re.search(r"lr\D*0\.01\b", params) and re.search(r"layers\D*4\b", params), params
    for chart in ("best-so-far", "parallel-coords"):
        browser.wait_until(lambda: int(one(browser, f"[data-test={chart}]").get("points") or 0) > 0,
                           describe=lambda: f"{chart} drawn ({one(browser, f'[data-test={chart}]')})")
    assert len(items(browser, "[data-test=pc-line]")) == 6
    assert_no_console_errors(browser)


# -- one run -------------------------------------------------------------------------------------


def test_run_page_shows_params_metrics_and_charts(browser, seeded):
    run = min((r for r in seeded.runs_of("mnist-cnn") if r.status == "completed"), key=lambda r: r.final["val_loss"])
    open_page(browser, f"/run/{run.id}")
    assert one(browser, "[data-test=run-name]")["text"].strip() == run.name
    assert run.id in one(browser, "[data-test=run-id]")["text"]
    assert one(browser, "[data-test=run-status]")["status"] == "completed"
    assert "mnist-cnn" in one(browser, "[data-test=run-experiment]")["text"]
    values = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=param-row]')].map(r =>
             [r.dataset.key, r.querySelector('[data-test=param-value]').innerText.trim()]))""")
    assert set(values) == set(run.params), values
    assert values["optimizer"] == run.params["optimizer"]
    assert float(values["lr"]) == pytest.approx(run.params["lr"])
    assert int(values["layers"]) == run.params["layers"]
    assert values["use_amp"].lower() == str(run.params["use_amp"]).lower()
    metrics = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=metric-row]')].map(r =>
             [r.dataset.key, {last: r.querySelector('[data-test=metric-last]').innerText.trim(),
                              count: r.querySelector('[data-test=metric-count]').innerText.trim()}]))""")
    assert set(metrics) == {"loss", "val_loss", "val_acc"}, metrics
    for key, m in metrics.items():
        assert float(m["last"]) == pytest.approx(run.final[key], rel=1e-4), (key, m)
        assert number_in(m["count"]) == run.steps
    tags = [t["key"] for t in items(browser, "[data-test=run-tags] [data-test=tag]")]
    assert "seed" in tags
    # One chart per metric, every point drawn (200 points is below any downsampling).
    browser.wait_until(lambda: {c["key"]: int(c.get("points") or 0) for c in items(browser, "[data-test=metric-chart]")}
                       == {"loss": run.steps, "val_loss": run.steps, "val_acc": run.steps},
                       describe=lambda: f"three charts of {run.steps} points: {items(browser, '[data-test=metric-chart]')}")
    assert_no_console_errors(browser)


def test_failed_run_shows_its_error(browser, seeded):
    run = next(r for r in seeded.runs_of("mnist-cnn") if r.status == "failed")
    open_page(browser, f"/run/{run.id}")
    assert one(browser, "[data-test=run-status]")["status"] == "failed"
    assert "CUDA out of memory" in one(browser, "[data-test=run-error]")["text"]


def test_crashed_run_shows_its_status_and_last_contact(browser, seeded, daemon, client):
    # A writer (a batch with a writer id) whose connection closes without ending its run.
    from tally.v1 import tracking_pb2 as pb
    writer = tally.connect(daemon.socket)
    run = writer.tracking.start_run(pb.StartRunRequest(experiment=pb.ExperimentRef(name="crashes"), create_experiment=True, name="gone"))
    writer.tracking.log_metrics(pb.MetricBatch(run_id=run.id, keys=["loss"], key_index=[0], values=[0.5], steps=[0], writer_id="w", sequence=1))
    writer.close()
    deadline = time.monotonic() + 10
    while client.get_run(run.id).status != "crashed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.get_run(run.id).status == "crashed"
    open_page(browser, f"/run/{run.id}")
    assert one(browser, "[data-test=run-status]")["status"] == "crashed"
    assert "last contact" in browser.text()
    assert_no_console_errors(browser)


def test_unknown_run_shows_not_found(browser, seeded):
    state = browser.open("/run/00000000deadbeef", allow_error=True)
    text = browser.text()
    assert "not found" in text.lower() or "NOT_FOUND" in text, text[:500]
    errors = items(browser, "main [data-test=error]")
    assert errors, f"no error box: {state} {text[:300]}"
    # No script error; the 404 of the failed call is the only console entry allowed.
    severe = [e for e in browser.severe() if not ("Failed to load resource" in e["message"] and "404" in e["message"])]
    assert not severe, severe


def test_a_live_run_chart_gains_points_while_the_client_logs(browser, seeded, client):
    run = client.start_run("live-chart", name="live", params={"lr": 0.01})
    try:
        for step in range(20):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        open_page(browser, f"/run/{run.id}")
        chart = "[data-test=metric-chart][data-key=loss]"
        browser.wait_until(lambda: int(one(browser, chart).get("points") or 0) == 20,
                           describe=lambda: f"20 points drawn: {one(browser, chart)}")
        assert one(browser, "[data-test=run-status]")["status"] == "running"
        browser.wait_until(lambda: one(browser, "[data-test=run-live]").get("state") in ("watching", "polling"),
                           describe=lambda: f"the page following the run: {one(browser, '[data-test=run-live]')}")
        seen_points = [20]
        for step in range(20, 60):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
            if step % 10 == 9:
                run.flush()
                # Appended (data-live-last-step), then drawn on the next frame (data-points).
                browser.wait_until(lambda: int(one(browser, chart).get("live-last-step") or -1) >= step
                                   and int(one(browser, chart)["points"]) == step + 1,
                                   timeout=10, describe=lambda: f"live step {step} drawn: {one(browser, chart)}")
                seen_points.append(int(one(browser, chart)["points"]))
        assert seen_points == sorted(seen_points) and seen_points[-1] == 60, seen_points
        # The metric table follows too, and the status changes when the run ends.
        run.end()
        browser.wait_until(lambda: one(browser, "[data-test=run-status]").get("status") == "completed",
                           describe=lambda: f"status completed: {one(browser, '[data-test=run-status]')}")
        assert_no_console_errors(browser)
    finally:
        run.end()


# -- evaluations ---------------------------------------------------------------------------------


def test_evaluations_page_lists_the_evaluation(browser, seeded):
    open_page(browser, "/evaluations")
    rows = {r["job-id"]: r for r in items(browser, "[data-test=eval-row]")}
    assert seeded.eval_job_id in rows, rows
    assert rows[seeded.eval_job_id]["status"] == "completed"
    assert "news" in rows[seeded.eval_job_id]["text"]
    accuracy = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll(`[data-test=eval-row][data-job-id='${arguments[0]}'] [data-test=eval-accuracy][data-model]`)]
             .map(e => [e.dataset.model, Number(e.dataset.value)]))""", seeded.eval_job_id)
    assert accuracy == pytest.approx({"a": 0.9, "b": 0.6}), accuracy


def test_evaluation_page_shows_metrics_confusion_and_items(browser, seeded):
    open_page(browser, f"/evaluations/{seeded.eval_job_id}?model=b")
    assert one(browser, "[data-test=eval-status]")["status"] == "completed"
    config = one(browser, "[data-test=eval-config]")["text"]
    assert "news" in config and "stub-llm" in config, config
    metrics = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=model-row]')].map(r =>
             [r.dataset.model, Object.fromEntries([...r.querySelectorAll('[data-metric]')].map(c => [c.dataset.metric, c.dataset.value]))]))""")
    assert set(metrics) == {"a", "b"}
    assert float(metrics["a"]["accuracy"]) == pytest.approx(0.9) and float(metrics["b"]["accuracy"]) == pytest.approx(0.6)
    assert float(metrics["a"]["errors"]) == 1 and float(metrics["b"]["errors"]) == 2
    # Model b's confusion matrix (rows actual, columns predicted), and its per-label scores.
    browser.wait_until(lambda: int(one(browser, "[data-test=confusion-matrix]").get("points") or 0) > 0,
                       describe=lambda: "the confusion matrix drawn")
    cells = {(c["actual"], c["predicted"]): int(c["count"]) for c in items(browser, "[data-test=confusion-cell]")}
    for key, count in {("sports", "sports"): 3, ("tech", "sports"): 1, ("tech", "tech"): 2,
                       ("politics", "tech"): 1, ("politics", "politics"): 1}.items():
        assert cells.get(key) == count, (key, cells)
    assert cells.get(("sports", "tech"), 0) == 0
    labels = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=label-row]')].map(r =>
             [r.dataset.label, Object.fromEntries([...r.querySelectorAll('[data-metric]')].map(c => [c.dataset.metric, c.innerText.trim()]))]))""")
    assert float(labels["sports"]["precision"]) == pytest.approx(0.75) and float(labels["sports"]["recall"]) == pytest.approx(0.75)
    assert number_in(labels["sports"]["support"]) == 4
    assert items(browser, "[data-test=reliability-bin]"), "no reliability bins"
    assert_no_console_errors(browser)


def test_evaluation_item_browser_filters(browser, seeded):
    open_page(browser, f"/evaluations/{seeded.eval_job_id}")
    browser.wait_until(lambda: one(browser, "[data-test=items-total]").get("total") == "20",
                       describe=lambda: f"20 items: {one(browser, '[data-test=items-total]')}")
    click(browser, "[data-test=items-errors]")
    browser.wait_until(lambda: sorted((r["model"], r["item-id"]) for r in items(browser, "[data-test=item-row]"))
                       == [("a", "n10"), ("b", "n10"), ("b", "n9")],
                       describe=lambda: f"the 3 failed items: {[(r['model'], r['item-id']) for r in items(browser, '[data-test=item-row]')]}")
    assert all(r["error"] == "true" for r in items(browser, "[data-test=item-row]"))
    assert_no_console_errors(browser)


# -- charts --------------------------------------------------------------------------------------


def test_charts_page_overlays_the_runs(browser, seeded):
    runs = [r for r in seeded.runs_of("mnist-cnn") if r.status == "completed"][:3]
    open_page(browser, f"/charts?runs={','.join(r.id for r in runs)}")
    assert one(browser, "main[data-test=view]")["runs"] == "3"
    legend = {r["run-id"]: r["text"] for r in items(browser, "[data-test=legend-run]")}
    assert set(legend) == {r.id for r in runs}
    for run in runs:
        assert run.name in legend[run.id], legend
    charts = {c["key"]: c for c in items(browser, "[data-test=metric-chart]")}
    assert set(charts) == {"loss", "val_loss", "val_acc"}, charts
    for key, chart in charts.items():
        assert chart["series"] == "3", chart
        assert int(chart["points"]) == 3 * runs[0].steps, chart
    assert number_in(one(browser, "[data-test=chart-count]")["text"]) == 3
    # The metric filter hides the other charts.
    browser.driver.find_element(By.CSS_SELECTOR, "[data-test=metric-filter]").send_keys("val_")
    browser.wait_until(lambda: sorted(c["key"] for c in items(browser, "[data-test=metric-chart]") if not c["hidden"])
                       == ["val_acc", "val_loss"], describe=lambda: "only the val_ charts")
    # Log y takes effect.
    click(browser, "[data-test=log-y]")
    browser.wait_until(lambda: all(c.get("log-y") == "true" for c in items(browser, "[data-test=metric-chart]") if not c["hidden"]),
                       describe=lambda: f"log y: {items(browser, '[data-test=metric-chart]')}")
    assert_no_console_errors(browser)


def test_charts_page_names_missing_runs(browser, seeded):
    run = seeded.runs_of("news-bert")[0]
    state = browser.open(f"/charts?runs={run.id},00000000deadbeef", allow_error=True)
    assert "error" not in state, state
    assert "00000000deadbeef" in one(browser, "[data-test=missing-runs]")["text"]
    assert {c["key"] for c in items(browser, "[data-test=metric-chart]")} == {"loss", "val_loss", "val_acc"}


# -- jobs ----------------------------------------------------------------------------------------


def test_jobs_page_lists_sweeps_and_evaluations(browser, seeded):
    open_page(browser, "/jobs")
    rows = {r["job-id"]: r for r in items(browser, "[data-test=job-row]")}
    assert rows[seeded.sweep_id]["kind"] == "sweep" and rows[seeded.sweep_id]["status"] == "completed"
    assert rows[seeded.eval_job_id]["kind"] == "classification_eval" and rows[seeded.eval_job_id]["status"] == "completed"
    progress = {p["job-id"]: float(p["progress"]) for p in items(browser, "[data-test=job-progress]")}
    assert progress[seeded.sweep_id] == pytest.approx(1.0) and progress[seeded.eval_job_id] == pytest.approx(1.0)
    links = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=job-row]')].map(r =>
             [r.dataset.jobId, r.querySelector('[data-test=job-link]').getAttribute('href')]))""")
    assert links[seeded.sweep_id] == f"#/sweeps/{seeded.sweep_id}"
    assert links[seeded.eval_job_id] == f"#/evaluations/{seeded.eval_job_id}"


def test_a_running_jobs_progress_bar_moves(browser, seeded, client, stub):
    from dashboard_seed import start_slow_job, wait_for_job
    job_id = start_slow_job(client, stub, dataset="news-progress", items=40, delay_ms=300)
    try:
        open_page(browser, "/jobs")
        bar = f"[data-test=job-progress][data-job-id='{job_id}']"
        row = f"[data-test=job-row][data-job-id='{job_id}']"
        browser.wait_until(lambda: items(browser, bar), describe=lambda: f"a bar for job {job_id}")
        seen, states = [], []

        def moved():
            value = float(one(browser, bar)["progress"])
            states.append((value, one(browser, row)["status"], one(browser, f"{row} [data-test=job-progress-text]")["text"]))
            if not seen or value != seen[-1]:
                seen.append(value)
            return len(seen) >= 4
        browser.wait_until(moved, timeout=30, interval=0.05, describe=lambda: f"the bar moving: {seen}")
        assert seen == sorted(seen) and 0 <= seen[0] < seen[-1] <= 1, seen
        running = [s for s in states if 0 < s[0] < 1 and s[1] == "running"]
        assert running, f"never running part-way: {states[-5:]}"
        assert "/40" in running[-1][2].replace(" ", ""), running[-1]
        # It ends at 100% and completed, without a reload.
        job = wait_for_job(client, job_id, timeout=60)
        browser.wait_until(lambda: one(browser, row)["status"] == "completed" and float(one(browser, bar)["progress"]) == 1.0,
                           timeout=15, describe=lambda: f"completed at 100%: {one(browser, row)} {one(browser, bar)}")
        assert job.progress_current == 40
        assert_no_console_errors(browser)
    finally:
        from tally.v1 import experiments_pb2 as xpb
        try:
            client.experiments.cancel_job(xpb.CancelJobRequest(job_id=job_id))
        except Exception:  # noqa: BLE001 - already finished
            pass


def test_a_running_evaluation_page_moves_too(browser, seeded, client, stub):
    from dashboard_seed import start_slow_job
    from tally.v1 import experiments_pb2 as xpb
    job_id = start_slow_job(client, stub, dataset="news-progress-2", items=40, delay_ms=300)
    try:
        open_page(browser, f"/evaluations/{job_id}")
        seen = []

        def moved():
            value = float(one(browser, "[data-test=eval-progress]")["progress"])
            if not seen or value != seen[-1]:
                seen.append(value)
            return len(seen) >= 3
        browser.wait_until(moved, timeout=30, describe=lambda: f"the evaluation's bar moving: {seen}")
        assert seen == sorted(seen)
        assert one(browser, "[data-test=eval-status]")["status"] == "running"
        click(browser, "[data-test=eval-cancel]")
        browser.wait_until(lambda: one(browser, "[data-test=eval-status]")["status"] == "cancelled",
                           describe=lambda: f"cancelled: {one(browser, '[data-test=eval-status]')}")
        assert client.experiments.get_job(xpb.GetJobRequest(job_id=job_id)).status == xpb.JOB_STATUS_CANCELLED
    finally:
        try:
            client.experiments.cancel_job(xpb.CancelJobRequest(job_id=job_id))
        except Exception:  # noqa: BLE001 - already finished
            pass


# -- the token in the browser --------------------------------------------------------------------


def test_browser_without_the_token_sees_nothing_and_the_token_url_logs_in(driver, daemon, seeded):
    driver.delete_all_cookies()
    driver.get("about:blank")
    driver.get(daemon.base + "/#/experiments")
    time.sleep(0.5)
    text = driver.execute_script("return document.body ? document.body.innerText : ''")
    for name in seeded.experiments:
        assert name not in text
    assert "UNAUTHENTICATED" in text or "token" in text.lower(), text[:300]
    assert not driver.execute_script("return document.querySelector('main[data-ready]')")

    from dashboard_seed import Browser
    driver.get("about:blank")
    driver.get(f"{daemon.base}/?token={urllib.parse.quote(daemon.token)}#/runs?experiments={seeded.experiments['news-bert']}")
    b = Browser(driver, daemon, login=False)
    b.wait_ready()
    assert "token" not in driver.current_url, driver.current_url
    assert urllib.parse.urlsplit(driver.current_url).fragment == f"/runs?experiments={seeded.experiments['news-bert']}"
    cookie = driver.get_cookie("tally_token")
    assert cookie and cookie["value"] == daemon.token and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
    assert driver.execute_script("return document.cookie") == ""  # HttpOnly: scripts cannot read it
    wait_rows(b, {r.name for r in seeded.runs_of("news-bert")})


# -- compare -------------------------------------------------------------------------------------


def test_compare_page_marks_differing_params_and_best_runs(browser, seeded):
    mnist = seeded.runs_of("mnist-cnn")
    a, b = mnist[0], mnist[6]  # same lr, optimizer, batch_size, use_amp; other layers and dropout
    open_page(browser, f"/compare?runs={a.id},{b.id}")
    assert {c["run-id"] for c in items(browser, "[data-test=compare-run]")} == {a.id, b.id}
    header = " ".join(c["text"] for c in items(browser, "[data-test=compare-run]"))
    assert a.name in header and b.name in header, header
    rows = {r["key"]: r for r in items(browser, "[data-test=compare-params] [data-test=param-row]")}
    assert set(rows) == set(a.params), rows.keys()
    differing = {k for k in a.params if a.params[k] != b.params[k]}
    assert differing == {"layers", "dropout"}
    assert {k for k, r in rows.items() if r.get("differs") == "true"} == differing
    cells = browser.driver.execute_script(
        """return Object.fromEntries([...document.querySelectorAll('[data-test=compare-params] [data-test=param-row]')].map(r =>
             [r.dataset.key, Object.fromEntries([...r.querySelectorAll('[data-test=param-value]')].map(c => [c.dataset.runId, c.innerText.trim()]))]))""")
    assert cells["optimizer"] == {a.id: a.params["optimizer"], b.id: b.params["optimizer"]}
    assert {k: int(v) for k, v in cells["layers"].items()} == {a.id: a.params["layers"], b.id: b.params["layers"]}

    metrics = {r["key"]: r for r in items(browser, "[data-test=compare-metrics] [data-test=metric-row]")}
    assert set(metrics) == {"loss", "val_loss", "val_acc"}
    assert metrics["val_loss"]["goal"] == "min" and metrics["val_acc"]["goal"] == "max"  # the experiment's goals
    lower = min((a, b), key=lambda r: r.final["val_loss"])
    higher_acc = max((a, b), key=lambda r: r.final["val_acc"])
    assert metrics["val_loss"]["best-run-id"] == lower.id and metrics["val_loss"]["worst-run-id"] != lower.id
    assert metrics["val_acc"]["best-run-id"] == higher_acc.id
    best_cell = browser.driver.execute_script(
        "return document.querySelector(`[data-test=compare-metrics] [data-test=metric-row][data-key=val_loss] [data-test=metric-value].best`).dataset.runId")
    assert best_cell == lower.id

    click(browser, "[data-test=diff-only]")
    browser.wait_until(lambda: {r["key"] for r in items(browser, "[data-test=compare-params] [data-test=param-row]") if not r["hidden"]}
                       == differing, describe=lambda: "only the differing params")
    assert_no_console_errors(browser)


def test_compare_whole_experiments(browser, seeded):
    experiment_id = seeded.experiments["news-bert"]
    open_page(browser, f"/compare?experiments={experiment_id}")
    assert {c["run-id"] for c in items(browser, "[data-test=compare-run]")} == {r.id for r in seeded.runs_of("news-bert")}
    runs = seeded.runs_of("news-bert")
    metrics = {r["key"]: r for r in items(browser, "[data-test=compare-metrics] [data-test=metric-row]")}
    assert metrics["val_loss"]["best-run-id"] == min(runs, key=lambda r: r.final["val_loss"]).id
    assert metrics["val_loss"]["worst-run-id"] == max(runs, key=lambda r: r.final["val_loss"]).id


# -- charts: smoothing and the x axis; the run page's artifacts and lineage ----------------------

def tensorboard_ema(values, weight):
    """TensorBoard's smoothing: an EMA debiased for its start."""
    out, last, count = [], 0.0, 0
    for v in values:
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight ** count))
    return out


def test_smoothing_is_tensorboards_ema_and_the_controls_reach_the_charts(browser, seeded):
    runs = [r for r in seeded.runs_of("mnist-cnn") if r.status == "completed"][:2]
    open_page(browser, f"/charts?runs={','.join(r.id for r in runs)}")
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    for weight in (0.3, 0.9):
        drawn = browser.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('/assets/charts.js').then(m => done(m.ema(arguments[0], arguments[1])), e => done(String(e)));",
            values, weight)
        assert drawn == pytest.approx(tensorboard_ema(values, weight), rel=1e-12), drawn
    # The slider and the x-axis select take effect on every chart.
    browser.driver.execute_script(
        "const s = document.querySelector('[data-test=smoothing]'); s.value = '0.9';"
        "s.dispatchEvent(new Event('input', {bubbles: true}));")
    browser.wait_until(lambda: all(c.get("smoothing") == "0.9" for c in items(browser, "[data-test=metric-chart]")),
                       describe=lambda: f"smoothing 0.9: {items(browser, '[data-test=metric-chart]')}")
    browser.driver.execute_script(
        "const s = document.querySelector('[data-test=x-axis]'); s.value = 'time';"
        "s.dispatchEvent(new Event('change', {bubbles: true}));")
    browser.wait_until(lambda: all(c.get("x-mode") == "time" for c in items(browser, "[data-test=metric-chart]")),
                       describe=lambda: f"x by time: {items(browser, '[data-test=metric-chart]')}")
    assert all(int(c["points"]) == 2 * runs[0].steps for c in items(browser, "[data-test=metric-chart]"))
    assert_no_console_errors(browser)


def test_run_page_lists_artifacts_and_lineage_and_downloads_verified(browser, seeded, client, tmp_path):
    import hashlib
    import os as _os
    content = _os.urandom(3 * (1 << 20) + 17)  # several chunks of the download stream
    path = tmp_path / "model.bin"
    path.write_bytes(content)
    parent = client.start_run("artifacts-lineage", name="parent-run")
    first = parent.log_artifact(path, name="model.bin")
    path.write_bytes(content[::-1])
    second = parent.log_artifact(path, name="model.bin", aliases=["best"])
    child = client.start_run("artifacts-lineage", name="child-run", parent=parent)
    child.end()
    parent.end()

    open_page(browser, f"/run/{parent.id}")
    rows = {r["version"]: r["artifact-id"] for r in items(browser, "[data-test=artifact-row]")}
    assert rows == {str(first.version): first.id, str(second.version): second.id}
    cells = browser.driver.execute_script(
        """return [...document.querySelectorAll('[data-test=artifact-row]')].map(r => ({
             id: r.dataset.artifactId,
             sha: r.querySelector('[data-test=artifact-sha256]').innerText.trim(),
             bytes: r.querySelector('[data-test=artifact-size]').dataset.bytes,
             aliases: r.querySelector('[data-test=artifact-aliases]').innerText}))""")
    newest = next(c for c in cells if c["id"] == second.id)
    assert newest["sha"] == hashlib.sha256(content[::-1]).hexdigest()
    assert int(newest["bytes"]) == len(content)
    assert "best" in newest["aliases"]
    children = one(browser, "[data-test=run-children]")
    assert children["count"] == "1"
    assert [c["run-id"] for c in items(browser, "[data-test=child-link]")] == [child.id]
    # The download arrives whole: the page checks its SHA-256 against the record before saving.
    browser.driver.find_element(By.CSS_SELECTOR, f"[data-test=artifact-download][data-artifact-id='{second.id}']").click()
    browser.wait_until(lambda: any(s.get("state") in ("done", "error") for s in items(browser, "[data-test=download-status]")),
                       timeout=30, describe=lambda: f"download: {items(browser, '[data-test=download-status]')}")
    status = next(s for s in items(browser, "[data-test=download-status]") if s.get("state"))
    assert status["state"] == "done", status
    assert int(status["bytes"]) == len(content)
    assert "SHA-256 verified" in status["text"]

    open_page(browser, f"/run/{child.id}")
    assert one(browser, "[data-test=run-parent]")["run-id"] == parent.id
    assert_no_console_errors(browser)


def test_a_folder_artifact_shows_its_files_and_the_command_that_restores_it(browser, seeded, client, tmp_path):
    folder = tmp_path / "checkpoint"
    (folder / "weights").mkdir(parents=True)
    (folder / "weights" / "model.bin").write_bytes(b"w" * 3000)
    (folder / "config.json").write_bytes(b"{}")
    (folder / "notes.txt").write_bytes(b"hello")
    run = client.start_run("artifacts-folder", name="folder-run", capture_env=False, system_metrics=False)
    art = run.log_artifact(folder, type="model")
    run.end()
    assert art.folder and art.file_count == 3

    open_page(browser, f"/run/{run.id}")
    browser.wait_until(lambda: items(browser, "[data-test=artifact-folder]"),
                       describe=lambda: f"folder row: {items(browser, '[data-test=artifact-row]')}")
    row = browser.driver.execute_script(
        """const r = document.querySelector(`[data-test=artifact-row][data-artifact-id="${arguments[0]}"]`);
           return {size: r.querySelector('[data-test=artifact-size]').innerText.trim(),
                   bytes: r.querySelector('[data-test=artifact-size]').dataset.bytes,
                   command: r.querySelector('[data-test=artifact-folder]').innerText.trim(),
                   files: r.querySelector('[data-test=artifact-folder]').dataset.files,
                   buttons: r.querySelectorAll('[data-test=artifact-download]').length}""", art.id)
    assert row["size"].endswith("in 3 files") and int(row["bytes"]) == 3007
    assert row["command"] == f"tally artifacts get {art.id} -o PATH" and row["files"] == "3"
    assert row["buttons"] == 0
    assert_no_console_errors(browser)
