"""Importers: bring history over from other trackers.

- `tally.importers.mlflow.import_mlflow(source, *, client=None, experiment_prefix="")`: an MLflow
  store (a local `mlruns` folder or an `sqlite:///...` URI): experiments, runs, params, tags,
  metric histories with their steps and times, artifacts, nested runs.
- `tally.importers.tensorboard.import_tensorboard(logdir, *, experiment, client=None)`:
  TensorBoard logs: one run per folder of event files, every scalar with its step and wall time.

Both return an `ImportReport` and may be run again: what was imported before is skipped. From a
shell: `python -m tally.importers mlflow SOURCE [--prefix P]` and `python -m tally.importers
tensorboard LOGDIR --experiment NAME`. Importing `tally` or this package imports neither mlflow
nor tensorboard: each is imported when its importer is called. See docs/imports.md.
"""

from typing import Any

from tally.importers._common import ImportReport

__all__ = ["ImportReport", "import_mlflow", "import_tensorboard"]


def import_mlflow(source: str, **options: Any) -> ImportReport:
    """`tally.importers.mlflow.import_mlflow` (see there)."""
    from tally.importers.mlflow import import_mlflow as run

    return run(source, **options)


def import_tensorboard(logdir: str, **options: Any) -> ImportReport:
    """`tally.importers.tensorboard.import_tensorboard` (see there)."""
    from tally.importers.tensorboard import import_tensorboard as run

    return run(logdir, **options)
