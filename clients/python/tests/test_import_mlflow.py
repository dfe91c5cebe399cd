"""tally.importers.mlflow against a real daemon and stores written by the real `mlflow` package
(a folder store and an SQLite store): every experiment, run, param, tag, parent, status, metric
point (step, time, value) and artifact (by SHA-256) read back and compared with MLflow's own
answers; a second import adds nothing; an interrupted import is completed; the command line."""
import hashlib
import json
import math
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from mlflow.entities import Metric, Param, RunTag, ViewType  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

import tally  # noqa: E402
from tally.importers import ImportReport, _common  # noqa: E402
from tally.importers.mlflow import import_mlflow  # noqa: E402
from tally.v1 import tracking_pb2 as pb  # noqa: E402

T0 = 1_700_000_000_000  # ms
POINTS = 300
STATUS = {"FINISHED": pb.RUN_STATUS_COMPLETED, "FAILED": pb.RUN_STATUS_FAILED, "KILLED": pb.RUN_STATUS_KILLED,
          "RUNNING": pb.RUN_STATUS_KILLED}


def log_history(ml, run_id, key, values, *, t=T0, step0=0, dt=7):
    metrics = [Metric(key, v, t + i * dt, step0 + i) for i, v in enumerate(values)]
    for i in range(0, len(metrics), 900):  # MLflow takes at most 1,000 metrics per batch
        ml.log_batch(run_id, metrics=metrics[i:i + 900])


def build_store(uri: str, artifacts: Path):
    """Two experiments; nested runs (three levels); every status; params that are ints, floats,
    bools and text; tags (user and system); histories of 300 points with steps and times, a NaN,
    infinities and a repeated step; files and a folder of artifacts; a logged model (MLflow 3); a
    deleted run."""
    ml = MlflowClient(tracking_uri=uri)
    vision = ml.create_experiment("vision", artifact_location=(artifacts / "vision").as_uri(),
                                  tags={"team": "cv", "mlflow.note.content": "Image models"})
    nlp = ml.create_experiment("nlp", artifact_location=(artifacts / "nlp").as_uri(), tags={"team": "nlp"})

    sweep = ml.create_run(vision, run_name="sweep", start_time=T0, tags={"stage": "dev"}).info.run_id
    ml.log_batch(sweep, params=[Param("lr", "0.01"), Param("layers", "4"), Param("optimizer", "adam"),
                                Param("use_bn", "True"), Param("eps", "1e-3"), Param("seed", "007"),
                                Param("big", "12345678901234567890")],
                 tags=[RunTag("mlflow.source.name", "train.py"), RunTag("mlflow.note.content", "the sweep")])
    log_history(ml, sweep, "loss", [2.0 / (i + 1) for i in range(POINTS)])
    log_history(ml, sweep, "val/acc", [i / POINTS for i in range(POINTS)], t=T0 + 3, step0=10)
    src = artifacts / "src"
    (src / "plots").mkdir(parents=True)
    (src / "model.txt").write_text("weights\n")
    (src / "plots" / "curve.png").write_bytes(os.urandom(3000))
    (src / "plots" / "deep").mkdir()
    (src / "plots" / "deep" / "data.bin").write_bytes(os.urandom(70_000))
    ml.log_artifact(sweep, str(src / "model.txt"))
    ml.log_artifacts(sweep, str(src / "plots"), "plots")
    # MLflow 3 keeps a model logged in a run apart from the run's artifacts ("logged models").
    model = ml.create_logged_model(vision, name="clf", source_run_id=sweep)
    (src / "clf").mkdir()
    (src / "clf" / "MLmodel").write_text("flavors: {}\n")
    (src / "clf" / "model.pkl").write_bytes(os.urandom(500))
    ml.log_model_artifacts(model.model_id, str(src / "clf"))
    ml.finalize_logged_model(model.model_id, "READY")
    ml.set_terminated(sweep, "FINISHED", end_time=T0 + 60_000)

    child1 = ml.create_run(vision, run_name="trial-1", start_time=T0 + 1000,
                           tags={"mlflow.parentRunId": sweep}).info.run_id
    ml.log_param(child1, "lr", "0.1")
    log_history(ml, child1, "loss", [1.0, float("nan"), float("inf"), -float("inf"), 0.5], t=T0 + 1000)
    ml.log_metric(child1, "loss", 0.25, timestamp=T0 + 1001, step=4)  # a second point at step 4
    ml.set_terminated(child1, "FAILED", end_time=T0 + 2000)

    grandchild = ml.create_run(vision, run_name="fold-0", start_time=T0 + 1500,
                               tags={"mlflow.parentRunId": child1}).info.run_id
    ml.log_metric(grandchild, "score", 0.9, timestamp=T0 + 1600, step=0)
    ml.set_terminated(grandchild, "FINISHED", end_time=T0 + 1700)

    child2 = ml.create_run(vision, run_name="trial-2", start_time=T0 + 1100,
                           tags={"mlflow.parentRunId": sweep}).info.run_id
    ml.set_terminated(child2, "KILLED", end_time=T0 + 1200)

    live = ml.create_run(nlp, run_name="still-running", start_time=T0 + 5000, tags={"owner": "ana"}).info.run_id
    ml.log_param(live, "model", "bert-base")
    log_history(ml, live, "tokens/s", [1000.0 + i for i in range(POINTS)], t=T0 + 5000, dt=1000)

    empty = ml.create_run(nlp, run_name="empty", start_time=T0 + 6000).info.run_id
    ml.set_terminated(empty, "FINISHED", end_time=T0 + 6001)

    gone = ml.create_run(nlp, run_name="deleted").info.run_id
    ml.set_terminated(gone, "FINISHED")
    ml.delete_run(gone)
    return ml, {"vision": vision, "nlp": nlp}, gone


def history(client, run_id):
    out = {}
    for chunk in client.tracking.get_metric_history(pb.GetMetricHistoryRequest(run_id=run_id)):
        out.setdefault(chunk.key, []).extend(zip(chunk.steps, chunk.timestamps_ms, chunk.values))
    return out


def same_value(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


def download_sha256(client, artifact_id):
    digest = hashlib.sha256()
    for part in client.tracking.download_artifact(pb.DownloadArtifactRequest(artifact=pb.ArtifactRef(artifact_id=artifact_id))):
        if part.HasField("chunk") or part.chunk:
            digest.update(part.chunk)
    return digest.hexdigest()


def expected_param(text):
    return {"0.01": 0.01, "4": 4, "True": True, "0.1": 0.1}.get(text, text)


def param(value):
    return getattr(value, value.WhichOneof("kind")) if value.WhichOneof("kind") else None


def check_store(client, ml, experiments, gone, prefix, report):
    """Every record of the MLflow store, read with MLflow's client, against what Tally holds."""
    tally_exps = {}
    for name, mlflow_id in experiments.items():
        exp = client.tracking.get_experiment(pb.GetExperimentRequest(experiment=pb.ExperimentRef(name=prefix + name)))
        source = ml.get_experiment(mlflow_id)
        tags = dict(source.tags)
        assert exp.description == tags.pop("mlflow.note.content", "")
        assert dict(exp.tags) == {**tags, "mlflow.experiment_id": mlflow_id,
                                  "mlflow.artifact_location": source.artifact_location}
        tally_exps[mlflow_id] = exp.id
    runs = ml.search_runs(list(experiments.values()), run_view_type=ViewType.ACTIVE_ONLY)
    assert len(runs) == 6 and gone not in report.run_ids
    assert set(report.run_ids) == {r.info.run_id for r in runs}
    counts = {"params": 0, "points": 0, "artifacts": 0}
    for source in runs:
        info, data = source.info, source.data
        run_id = report.run_ids[info.run_id]
        assert run_id == hashlib.sha256(("mlflow:" + info.run_id + ("\0" + prefix if prefix else "")).encode()).hexdigest()[:16]
        run = client.tracking.get_run(pb.GetRunRequest(run_id=run_id))
        assert run.experiment_id == tally_exps[info.experiment_id]
        assert run.name == info.run_name
        assert run.status == STATUS[info.status]
        assert run.error == ""  # MLflow keeps no error text; the tag mlflow.status has RUNNING for a killed one
        parent = data.tags.get("mlflow.parentRunId")
        assert run.parent_run_id == (report.run_ids[parent] if parent else "")
        expected_tags = {k: v for k, v in data.tags.items() if k not in ("mlflow.runName", "mlflow.parentRunId")}
        expected_tags.update({"mlflow.run_id": info.run_id, "mlflow.status": info.status,
                              "mlflow.start_time": str(info.start_time), "mlflow.artifact_uri": info.artifact_uri,
                              "mlflow.user": info.user_id})
        if info.end_time:
            expected_tags["mlflow.end_time"] = str(info.end_time)
        assert dict(run.tags) == expected_tags
        got_params = {k: param(v) for k, v in run.params.items()}
        assert got_params == {k: expected_param(v) for k, v in data.params.items()}
        for k, v in got_params.items():
            assert type(v) is type(expected_param(data.params[k]))
            assert str(v) == data.params[k]  # the text MLflow had, exactly
        counts["params"] += len(got_params)
        got = history(client, run_id)
        assert set(got) == set(data.metrics)
        for key in data.metrics:
            want = sorted(((m.step, m.timestamp, m.value) for m in ml.get_metric_history(info.run_id, key)),
                          key=lambda p: (p[0], p[1]))
            assert len(got[key]) == len(want), key
            for (s1, t1, v1), (s2, t2, v2) in zip(got[key], want):
                assert (s1, t1) == (s2, t2) and same_value(v1, v2), (key, s1, t1, v1, s2, t2, v2)
            counts["points"] += len(want)
        root = Path(info.artifact_uri.replace("file://", ""))
        files = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()} if root.exists() else {}
        models = {}
        for model in ml.search_logged_models(experiment_ids=[info.experiment_id]):
            if model.source_run_id == info.run_id:
                model_root = Path(model.artifact_location.replace("file://", ""))
                for p in model_root.rglob("*"):
                    files[f"logged_models/{model.name}/{p.relative_to(model_root).as_posix()}"] = p
                    models[f"logged_models/{model.name}/{p.relative_to(model_root).as_posix()}"] = model.model_id
        assert {a.name for a in run.artifacts} == set(files)
        for artifact in run.artifacts:
            content = files[artifact.name].read_bytes()
            assert artifact.sha256 == hashlib.sha256(content).hexdigest() == download_sha256(client, artifact.id)
            assert artifact.size == len(content) and artifact.version == 1
            if artifact.name in models:
                assert artifact.type == pb.ARTIFACT_TYPE_MODEL
                assert dict(artifact.metadata) == {"mlflow.model_id": models[artifact.name]}
            else:
                kind = pb.ARTIFACT_TYPE_FIGURE if artifact.name.endswith(".png") else pb.ARTIFACT_TYPE_OTHER
                assert artifact.type == kind and dict(artifact.metadata) == {}
        counts["artifacts"] += len(files)
    return counts


@pytest.fixture
def folder_store(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # for the writing here; the importer sets it itself
    store = tmp_path / "mlruns"
    ml, experiments, gone = build_store(store.as_uri(), tmp_path / "artifacts")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    return store, ml, experiments, gone


def test_a_folder_store_is_imported_whole_and_a_second_import_adds_nothing(client, folder_store):
    store, ml, experiments, gone = folder_store
    prefix = f"mlf-{uuid.uuid4().hex[:6]}-"
    report = import_mlflow(str(store), client=client, experiment_prefix=prefix)
    assert isinstance(report, ImportReport) and report.source == "file://" + str(store)
    assert "MLFLOW_ALLOW_FILE_STORE" not in os.environ
    counts = check_store(client, ml, experiments, gone, prefix, report)
    assert counts == {"params": 9, "points": 2 * POINTS + 6 + 1 + POINTS, "artifacts": 5}
    assert (report.experiments_imported, report.runs_imported, report.params_imported,
            report.metric_points_imported, report.artifacts_imported) == (2, 6, 9, counts["points"], 5)
    assert (report.experiments_skipped, report.runs_skipped, report.params_skipped,
            report.metric_points_skipped, report.artifacts_skipped) == (0, 0, 0, 0, 0)
    assert report.warnings == []

    again = import_mlflow(str(store), client=client, experiment_prefix=prefix)
    assert not again.imported_anything
    assert (again.experiments_skipped, again.runs_skipped, again.params_skipped, again.metric_points_skipped,
            again.artifacts_skipped) == (2, 6, 9, counts["points"], 5)
    assert again.run_ids == report.run_ids
    assert check_store(client, ml, experiments, gone, prefix, again) == counts  # nothing added, no new versions
    ids = [e.id for e in client.tracking.list_experiments(pb.ListExperimentsRequest(name_contains=prefix)).experiments]
    assert len(ids) == 2
    assert client.tracking.list_runs(pb.ListRunsRequest(experiment_ids=ids)).total_count == 6


def test_an_sqlite_store_is_imported_whole_with_text_params_when_asked(client, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ml, experiments, gone = build_store(uri, tmp_path / "artifacts")
    prefix = f"sql-{uuid.uuid4().hex[:6]}-"
    report = import_mlflow(uri, client=client, experiment_prefix=prefix)
    check_store(client, ml, experiments, gone, prefix, report)
    assert report.runs_imported == 6 and report.warnings == []
    assert import_mlflow(str(tmp_path / "mlflow.db"), client=client, experiment_prefix=prefix).runs_skipped == 6

    text = import_mlflow(uri, client=client, experiment_prefix=prefix + "text-", typed_params=False)
    sweep = next(r for r in ml.search_runs(list(experiments.values())) if r.info.run_name == "sweep")
    run = client.tracking.get_run(pb.GetRunRequest(run_id=text.run_ids[sweep.info.run_id]))
    assert {k: v.string_value for k, v in run.params.items()} == sweep.data.params
    assert all(v.WhichOneof("kind") == "string_value" for v in run.params.values())


def test_an_interrupted_import_is_completed_by_the_next_one_without_duplicates(client, folder_store, monkeypatch):
    store, ml, experiments, gone = folder_store
    prefix = f"int-{uuid.uuid4().hex[:6]}-"
    real = tally.Run.log_artifact
    calls = []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk on fire")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(tally.Run, "log_artifact", failing)
    with pytest.raises(OSError, match="disk on fire"):
        import_mlflow(str(store), client=client, experiment_prefix=prefix)
    monkeypatch.setattr(tally.Run, "log_artifact", real)
    sweep = next(r for r in ml.search_runs(list(experiments.values())) if r.info.run_name == "sweep")
    half = client.tracking.get_run(pb.GetRunRequest(run_id=_common.run_id_for("mlflow:" + sweep.info.run_id, prefix)))
    assert half.status == pb.RUN_STATUS_RUNNING and len(half.artifacts) == 1
    assert sum(m.count for m in half.metrics) == 2 * POINTS

    report = import_mlflow(str(store), client=client, experiment_prefix=prefix)
    counts = check_store(client, ml, experiments, gone, prefix, report)
    # The sweep was resumed: its params and points were sent again and stored once, its first artifact kept.
    assert report.runs_imported == 6 and report.experiments_skipped == 2
    assert report.params_skipped == 7 and report.params_imported == counts["params"] - 7
    assert report.metric_points_skipped == 2 * POINTS
    assert report.metric_points_imported == counts["points"] - 2 * POINTS
    assert (report.artifacts_imported, report.artifacts_skipped) == (4, 1)


def test_a_run_imported_while_running_is_reported_when_it_has_ended_since(client, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    ml = MlflowClient(tracking_uri=store.as_uri())
    run_id = ml.create_run(ml.create_experiment("live"), run_name="r").info.run_id
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    prefix = f"live-{uuid.uuid4().hex[:6]}-"
    first = import_mlflow(str(store), client=client, experiment_prefix=prefix)
    assert first.runs_imported == 1
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    ml.set_terminated(run_id, "FINISHED")
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    second = import_mlflow(str(store), client=client, experiment_prefix=prefix)
    assert second.runs_skipped == 1
    tally_id = first.run_ids[run_id]
    assert second.warnings == [f"mlflow run {run_id} was RUNNING in MLflow when imported and is FINISHED now; delete "
                               f"the Tally run {tally_id} (tally runs rm {tally_id}) and import again to bring it "
                               f"over as it is now"]


def test_an_artifact_name_the_daemon_refuses_is_left_out_with_a_warning(client, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    store = tmp_path / "mlruns"
    ml = MlflowClient(tracking_uri=store.as_uri())
    run_id = ml.create_run(ml.create_experiment("names")).info.run_id
    files = tmp_path / "files"
    files.mkdir()
    (files / "good.txt").write_text("ok")
    (files / "back\\slash.txt").write_text("a backslash is no part of an artifact name")
    ml.log_artifacts(run_id, str(files))
    ml.set_terminated(run_id)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    report = import_mlflow(str(store), client=client, experiment_prefix=f"names-{uuid.uuid4().hex[:6]}-")
    assert report.artifacts_imported == 1 and len(report.warnings) == 1
    assert report.warnings[0].startswith(f"mlflow run {run_id}: artifact 'back\\\\slash.txt' is left out: ")
    run = client.tracking.get_run(pb.GetRunRequest(run_id=report.run_ids[run_id]))
    assert run.status == pb.RUN_STATUS_COMPLETED and [a.name for a in run.artifacts] == ["good.txt"]


def run_cli(*args, socket):
    env = {**os.environ, "TALLY_AUTOSTART": "0"}
    return subprocess.run([sys.executable, "-m", "tally.importers", *args, "--socket", socket],
                          capture_output=True, text=True, timeout=120, env=env)


def test_the_command_line_prints_the_report(daemon, folder_store):
    store, ml, experiments, gone = folder_store
    prefix = f"cli-{uuid.uuid4().hex[:6]}-"
    result = run_cli("mlflow", str(store), "--prefix", prefix, socket=daemon.socket)
    assert result.returncode == 0, result.stderr
    points = 2 * POINTS + 6 + 1 + POINTS
    assert result.stdout.splitlines() == [
        f"imported from mlflow file://{store}",
        "                 imported   skipped",
        "experiments             2         0",
        "runs                    6         0",
        "params                  9         0",
        f"metric points  {points:>10}         0",
        "artifacts               5         0",
    ]
    result = run_cli("mlflow", str(store), "--prefix", prefix, "--json", socket=daemon.socket)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["runs"] == {"imported": 0, "skipped": 6}
    assert report["metric_points"] == {"imported": 0, "skipped": points}
    assert len(report["run_ids"]) == 6 and report["warnings"] == [] and report["kind"] == "mlflow"

    missing = run_cli("mlflow", str(store / "nope"), socket=daemon.socket)
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no MLflow folder or database at ")
    usage = run_cli("tensorboard", str(store), socket=daemon.socket)  # no --experiment
    assert usage.returncode == 64 and "Error: the following arguments are required: --experiment" in usage.stderr
    away = run_cli("mlflow", str(store), socket=str(Path(daemon.socket).parent / "none.sock"))
    assert away.returncode == 1 and away.stderr.startswith("Error: UNAVAILABLE: cannot connect to the Tally daemon")


def test_importing_tally_or_the_importers_imports_neither_framework():
    code = ("import sys, tally, tally.importers, tally.importers.mlflow, tally.importers.tensorboard, "
            "tally.importers.__main__\n"
            "print(sorted(m for m in ('mlflow', 'tensorboard', 'tensorflow', 'torch') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_mlflow_params_become_typed_only_when_the_text_comes_back_exactly():
    typed = _common.finite_or_text
    assert typed("0.01") == 0.01 and typed("1e-05") == 1e-05 and typed("-3") == -3 and typed("1.0") == 1.0
    assert typed("True") is True and typed("False") is False
    for text in ("1e-3", "007", "+1", "nan", "inf", "true", "1_000", "0.10", "12345678901234567890", "adam", ""):
        assert typed(text) == text
