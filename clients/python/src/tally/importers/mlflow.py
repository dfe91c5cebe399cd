"""Imports an MLflow tracking store into Tally: experiments, runs, params, tags, metric histories
and artifacts, read with MLflow's own client (`mlflow.tracking.MlflowClient`).

```python
from tally.importers.mlflow import import_mlflow

report = import_mlflow("mlruns")                       # or "sqlite:///mlflow.db"
print(report)                                          # what was imported and skipped
```

mlflow is imported when `import_mlflow` is called, not when this module is imported. What maps to
what, and why, is in docs/imports.md.
"""

import contextlib
import os
import re
import tempfile
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Set

from tally import Client
from tally.importers._common import (MAX_STRING_PARAM, Artifact, Experiments, ImportReport, RunSpec, Scalar, Series,
                                     connect, cut, ended, finite_or_text, get_run, import_run, key, relative_files,
                                     require, run_id_for, skip_existing, tag_map)

WRITER_ID = "mlflow-import"
_STATUS = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "killed"}  # RUNNING, SCHEDULED: killed
_MOVED_TAGS = ("mlflow.runName",)  # to the run's name (mlflow.parentRunId: to its parent, when found)
_FIGURES = (".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


def tracking_uri(source: str) -> str:
    """The tracking URI of `source`: a local `mlruns` folder (`file:` URI), a local MLflow
    database file (`sqlite:///` URI), or a tracking URI as it is. A local folder or database that
    does not exist is FileNotFoundError (MLflow would create an empty one)."""
    source = os.fspath(source)
    if _SCHEME.match(source):
        if source.startswith("sqlite:///"):
            path = source[len("sqlite:///"):]
            if not os.path.isfile(path):
                raise FileNotFoundError(f"no MLflow database at {path} ({source})")
        elif source.startswith("file:"):
            path = re.sub(r"^file:(//)?", "", source)
            if not os.path.isdir(path):
                raise FileNotFoundError(f"no MLflow folder at {path} ({source})")
        return source
    path = os.path.abspath(source)
    if os.path.isdir(path):
        return "file://" + path
    if os.path.isfile(path):
        return "sqlite:///" + path
    raise FileNotFoundError(f"no MLflow folder or database at {source}")


@contextlib.contextmanager
def _file_store_allowed(uri: str) -> Iterator[None]:
    """MLflow 3 refuses to open a folder store unless MLFLOW_ALLOW_FILE_STORE is set (the store
    is "in maintenance mode"); an import only reads it, so it is allowed for the import."""
    if not uri.startswith("file:") or "MLFLOW_ALLOW_FILE_STORE" in os.environ:
        yield
        return
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        yield
    finally:
        os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)


def _pages(search: Any) -> Iterator[Any]:
    token = None
    while True:
        page = search(token)
        yield from page
        token = getattr(page, "token", None)
        if not token:
            return


def _artifact_type(name: str, model_folders: List[str]) -> str:
    if any(name.startswith(folder) for folder in model_folders):
        return "model"
    return "figure" if name.lower().endswith(_FIGURES) else "other"


def _local_path(uri: str) -> Optional[str]:
    if uri.startswith("file:"):
        return re.sub(r"^file:(//)?", "", uri)
    return None if _SCHEME.match(uri) else uri


class _MlflowImport:
    def __init__(self, ml: Any, uri: str, client: Client, report: ImportReport, prefix: str,
                 typed_params: bool) -> None:
        self.ml = ml
        self.uri = uri
        self.client = client
        self.report = report
        self.prefix = prefix
        self.typed_params = typed_params
        self.experiments = Experiments(client, report)
        self.logged_models: Dict[str, List[Any]] = {}  # MLflow 3's logged models by their source run

    def tally_id(self, mlflow_run_id: str) -> str:
        if self.prefix:
            return run_id_for("mlflow:" + mlflow_run_id, self.prefix)
        return run_id_for("mlflow:" + mlflow_run_id)

    def run(self) -> None:
        view = require("mlflow.entities", "mlflow", "mlflow").ViewType.ACTIVE_ONLY
        experiments = list(_pages(lambda token: self.ml.search_experiments(
            view_type=view, max_results=1000, page_token=token)))
        experiments.sort(key=lambda e: (e.creation_time or 0, e.experiment_id))
        runs: Dict[str, Any] = {}
        names: Dict[str, str] = {}
        for experiment in experiments:
            found = list(_pages(lambda token: self.ml.search_runs(
                [experiment.experiment_id], run_view_type=view, max_results=1000, page_token=token)))
            if not found and experiment.experiment_id == "0" and experiment.name == "Default" and not experiment.tags:
                continue  # the empty experiment MLflow makes by itself
            tags = dict(experiment.tags)
            description = tags.pop("mlflow.note.content", "")
            tags["mlflow.experiment_id"] = str(experiment.experiment_id)
            if experiment.artifact_location:
                tags["mlflow.artifact_location"] = str(experiment.artifact_location)
            name = self.prefix + experiment.name
            self.experiments.ensure(name, tags=tag_map(tags, self.report, f"experiment {name!r}",
                                                       first=("mlflow.experiment_id", "mlflow.artifact_location")),
                                    description=description)
            names[experiment.experiment_id] = name
            for run in found:
                runs[run.info.run_id] = run
            self.find_logged_models(experiment.experiment_id, name)
        for run in self._parents_first(runs):
            self.import_run(run, runs, names[run.info.experiment_id])

    def find_logged_models(self, experiment_id: str, experiment: str) -> None:
        """MLflow 3 keeps a model logged in a run (`mlflow.<flavor>.log_model`) apart from the run's
        artifacts, as a "logged model" of the experiment; its files go with its source run."""
        if not hasattr(self.ml, "search_logged_models"):  # MLflow 2
            return
        orphans = 0
        for model in _pages(lambda token: self.ml.search_logged_models(
                experiment_ids=[experiment_id], max_results=100, page_token=token)):
            if model.source_run_id:
                self.logged_models.setdefault(model.source_run_id, []).append(model)
            else:
                orphans += 1
        if orphans:
            self.report.warn(f"experiment {experiment!r}: {orphans} logged models made outside a run are left out")

    @staticmethod
    def _parents_first(runs: Dict[str, Any]) -> List[Any]:
        ordered: List[Any] = []
        done: Set[str] = set()

        def visit(run: Any, seen: FrozenSet[str]) -> None:
            run_id = run.info.run_id
            if run_id in done:
                return
            parent = runs.get(run.data.tags.get("mlflow.parentRunId", ""))
            if parent is not None and parent.info.run_id not in seen:
                visit(parent, seen | {run_id})
            done.add(run_id)
            ordered.append(run)

        for run in sorted(runs.values(), key=lambda r: (r.info.start_time or 0, r.info.run_id)):
            visit(run, frozenset())
        return ordered

    def import_run(self, run: Any, runs: Dict[str, Any], experiment: str) -> None:
        info, data = run.info, run.data
        source_id = info.run_id
        run_id = self.tally_id(source_id)
        what = f"mlflow run {source_id}"
        existing = get_run(self.client, run_id)
        if ended(existing):
            assert existing is not None
            self.report.run_ids[source_id] = run_id
            skip_existing(existing, self.report)
            then = existing.tags.get("mlflow.status", "")
            if then and then != info.status:
                self.report.warn(f"{what} was {then} in MLflow when imported and is {info.status} now; delete the "
                                 f"Tally run {run_id} (tally runs rm {run_id}) and import again to bring it over "
                                 f"as it is now")
            return

        tags = {k: v for k, v in data.tags.items() if k not in _MOVED_TAGS}
        parent_source = tags.get("mlflow.parentRunId", "")
        parent_run_id = ""
        if parent_source:
            candidate = self.tally_id(parent_source)
            if parent_source in runs or get_run(self.client, candidate) is not None:
                parent_run_id = candidate
                del tags["mlflow.parentRunId"]
            else:
                self.report.warn(f"{what}: its parent {parent_source} is not in the store (deleted?); the run is "
                                 f"imported without a parent, with the tag mlflow.parentRunId")
        ours = {"mlflow.run_id": source_id, "mlflow.status": str(info.status),
                "mlflow.start_time": str(info.start_time or ""), "mlflow.end_time": str(info.end_time or ""),
                "mlflow.artifact_uri": str(info.artifact_uri or "")}
        if info.user_id and "mlflow.user" not in tags:
            ours["mlflow.user"] = str(info.user_id)
        tags.update({k: v for k, v in ours.items() if v})
        params: Dict[str, Scalar] = {}
        for name, text in sorted(data.params.items()):
            value: Scalar = finite_or_text(text) if self.typed_params else text
            if isinstance(value, str):
                value = cut(value, MAX_STRING_PARAM, self.report, f"{what}: param {name!r}")
            params[key(name, self.report, "param")] = value
        status = _STATUS.get(info.status, "killed")  # the tag mlflow.status keeps RUNNING or SCHEDULED
        spec = RunSpec(source_id=source_id, run_id=run_id, experiment=experiment,
                       name=info.run_name or data.tags.get("mlflow.runName", ""),
                       tags=tag_map(tags, self.report, what, first=tuple(ours)), params=params,
                       parent_run_id=parent_run_id, status=status)
        with tempfile.TemporaryDirectory(prefix="tally-mlflow-") as tmp:
            import_run(self.client, self.report, spec, self.experiments.ensure(experiment),
                       self.series(source_id, sorted(data.metrics), what), self.artifacts(run, tmp, what),
                       writer_id=WRITER_ID, existing=existing)

    def series(self, run_id: str, keys: List[str], what: str) -> Iterator[Series]:
        used: Dict[str, str] = {}
        for name in keys:
            metric = key(name, self.report, "metric")
            if metric in used:
                self.report.warn(f"{what}: metric {name!r} is left out (it would share the key {metric!r} "
                                 f"with {used[metric]!r})")
                continue
            used[metric] = name
            points = sorted(self.ml.get_metric_history(run_id, name), key=lambda m: (m.step, m.timestamp))
            kept = [m for m in points if m.step >= 0 and m.timestamp >= 0]
            if len(kept) < len(points):
                self.report.warn(f"{what}: metric {name!r}: {len(points) - len(kept)} points with a negative step "
                                 f"or time are left out")
            yield Series(metric, [int(m.step) for m in kept], [int(m.timestamp) for m in kept],
                         [float(m.value) for m in kept])

    def artifacts(self, run: Any, tmp: str, what: str) -> Iterator[Artifact]:
        run_id = run.info.run_id
        root = str(run.info.artifact_uri or "")
        local = _local_path(root)
        if local is not None and not os.path.isdir(local):  # nothing logged (the folder is made on the first)
            if local and not os.path.isabs(local):
                self.report.warn(f"{what}: no artifact folder at {local} (a relative artifact location is "
                                 f"read from the current folder, as MLflow does)")
        elif self.ml.list_artifacts(run_id):
            folder = self.ml.download_artifacts(run_id, "", dst_path=os.path.join(tmp, "run"))
            files = list(relative_files(folder))
            model_folders = [name[:-len("MLmodel")] for name, _ in files
                             if name == "MLmodel" or name.endswith("/MLmodel")]
            for name, path in files:
                yield Artifact(name=name, path=path, type=_artifact_type(name, model_folders))
        for n, model in enumerate(self.logged_models.get(run_id, [])):
            model_local = _local_path(str(model.artifact_location or ""))
            if model_local is not None and not os.path.isdir(model_local):
                continue  # no files
            download = require("mlflow.artifacts", "mlflow", "mlflow").download_artifacts
            folder = download(artifact_uri=model.artifact_location, dst_path=os.path.join(tmp, f"model-{n}"),
                              tracking_uri=self.uri)
            for name, path in relative_files(folder):
                yield Artifact(name=f"logged_models/{model.name}/{name}", path=path, type="model",
                               metadata={"mlflow.model_id": str(model.model_id)})


def import_mlflow(source: str, *, client: Optional[Client] = None, experiment_prefix: str = "",
                  typed_params: bool = True) -> ImportReport:
    """Imports the MLflow store `source` (a local `mlruns` folder, an `sqlite:///...` URI, or
    another tracking URI MLflow reads) into Tally through `client` (default: the module's default
    client), every experiment named `experiment_prefix` + its MLflow name. Active experiments and
    runs only. Importing again adds nothing: each run's Tally id is made from its MLflow id, and a
    run imported before is skipped (one whose import was interrupted is completed).

    `typed_params`: MLflow keeps params as text; a param whose text is exactly what Python prints
    for a bool, int or float (`True`, `42`, `0.001`) is stored as that type, any other text as
    text. With False every param stays text.

    Returns an `ImportReport`; see docs/imports.md for what maps to what."""
    uri = tracking_uri(source)
    require("mlflow", "mlflow", "mlflow")
    tracking = require("mlflow.tracking", "mlflow", "mlflow")
    report = ImportReport("mlflow", uri)
    with _file_store_allowed(uri):
        ml = tracking.MlflowClient(tracking_uri=uri)
        _MlflowImport(ml, uri, connect(client), report, experiment_prefix, typed_params).run()
    return report
