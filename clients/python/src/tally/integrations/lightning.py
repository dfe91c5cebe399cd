"""A PyTorch Lightning logger that records to Tally.

```python
from lightning.pytorch import Trainer
from tally.integrations.lightning import TallyLogger

trainer = Trainer(max_epochs=10, logger=TallyLogger(experiment="mnist", log_model=True))
trainer.fit(model, train_loader, val_loader)
```

Hyperparameters (`save_hyperparameters()`, the datamodule's) become params, every `self.log`
value a metric at Lightning's step, checkpoints (with `log_model=True`) versions of a `model`
artifact with the alias `best` on the best one, and the end of `fit` ends the run completed, or
failed with the exception that stopped it. Importing this module imports `lightning`.
"""

import os
import warnings
from typing import Any, Dict, Mapping, Optional, Tuple, Union

from tally import Client, RPCError, Run
from tally.integrations._common import RunHolder, TagsLike, experiment_name, failure, flatten, log_params, numbers_of, require

_loggers = require("lightning.pytorch.loggers", "lightning", "lightning")
_logger_module = require("lightning.pytorch.loggers.logger", "lightning", "lightning")
_utilities = require("lightning.pytorch.utilities", "lightning", "lightning")

_Logger: Any = _loggers.Logger
_DummyExperiment: Any = _logger_module.DummyExperiment
_rank_zero_only: Any = _utilities.rank_zero_only


def _rank_zero() -> bool:
    return int(getattr(_rank_zero_only, "rank", 0) or 0) == 0


class TallyLogger(_Logger):  # type: ignore[misc]
    """Logs a Lightning training to a Tally run: `Trainer(logger=TallyLogger(experiment="mnist"))`.

    The run is `run` when given (it is then yours to end), else one this logger starts on first
    use in `experiment` (default "default") with `name`, `params` and `tags`, through `client`
    (default: the module's default client), and ends when Lightning finalizes the training:
    `completed` after success, `failed` (with the exception's text) after an exception, `killed`
    after a KeyboardInterrupt. Something logged after that (a `trainer.test()` after `fit`)
    resumes the run, and the next finalization ends it again.

    - `log_hyperparams`: params, nested dicts flattened with "."; values other than numbers,
      strings and booleans are stored as text. A param the run already has with another value
      is kept, with a warning (params cannot change).
    - `log_metrics`: every number, at the step Lightning gives (its count of optimizer steps),
      under `prefix` + its name (characters a key cannot have become `_`).
    - `log_model=True`: each checkpoint Lightning's `ModelCheckpoint` saves (the best k, `last`)
      is uploaded once as a new version of the `model`-type artifact `checkpoint_name` (default
      `model-<run id>.ckpt`), with the alias `best` on the best one (the daemon moves it) and
      `latest` on the newest; metadata: `filename`, `monitor`, `score`. A checkpoint the daemon
      cannot take is skipped with a warning.
    - No graph logging (`log_graph` does nothing). Only rank zero logs.
    """

    def __init__(self, experiment: Optional[str] = None, *, run: Optional[Run] = None, name: Optional[str] = None,
                 params: Optional[Mapping[str, Any]] = None, tags: TagsLike = None, client: Optional[Client] = None,
                 log_model: bool = False, checkpoint_name: Optional[str] = None, prefix: str = "") -> None:
        super().__init__()
        self._tally = RunHolder(run=run, experiment=experiment, name=name, params=params, tags=tags, client=client)
        self._tally_experiment_name = experiment
        self._tally_log_model = log_model
        self._tally_checkpoint_name = checkpoint_name
        self._tally_prefix = prefix
        self._tally_uploaded: Dict[str, Tuple[int, int]] = {}

    # -- what Lightning asks of a logger ----------------------------------------------------------

    @property
    def name(self) -> Optional[str]:
        """The experiment's name (Lightning puts checkpoints under `<root>/<name>/<version>`)."""
        if self._tally_experiment_name is None:
            given = self._tally.given
            if given is None:
                return "default"
            try:
                self._tally_experiment_name = experiment_name(given)
            except RPCError:
                return given.experiment_id or "default"
        return self._tally_experiment_name

    @property
    def version(self) -> Optional[Union[int, str]]:
        """The run's id (starts the run on rank zero)."""
        current = self._tally.current
        if current is not None:
            return current.id
        return self.run.id if _rank_zero() else None

    @property
    def experiment(self) -> Any:
        """The `tally.Run` (Lightning's name for a logger's underlying object): on rank zero the
        run, started if needed; elsewhere an object that ignores every call."""
        if not _rank_zero():
            return _DummyExperiment()
        return self.run

    @property
    def run(self) -> Run:
        """The run this logger records to (started when needed; after its end, the ended run)."""
        return self._tally.get(resume=False)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        if not _rank_zero() or params is None:
            return
        values = flatten(params, only_scalars=False)
        if values:
            log_params(self._tally.get(), values)

    def log_metrics(self, metrics: Mapping[str, Any], step: Optional[int] = None) -> None:
        if not _rank_zero():
            return
        values = numbers_of(metrics, self._tally_prefix)
        if values:
            self._tally.get().log(values, step=step)

    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if self._tally_log_model and _rank_zero():
            self._upload_checkpoints(checkpoint_callback)

    def finalize(self, status: str) -> None:
        """Ends the run this logger started: `completed` for "success", `failed` (or `killed`) with
        the exception being handled for "failed", `killed` for another status. A given run is
        only flushed."""
        if not _rank_zero() or self._tally.current is None:
            return
        if not self._tally.owned:
            if status == "success":
                self._tally.current.flush()
            return
        if status == "success":
            self._tally.end("completed")
        elif status == "failed":
            self._tally.end_quietly(*failure())
        else:
            self._tally.end_quietly("killed", f"Lightning finalized the training with status {status!r}")

    # -- checkpoints ------------------------------------------------------------------------------

    def _upload_checkpoints(self, callback: Any) -> None:
        best = str(getattr(callback, "best_model_path", "") or "")
        last = str(getattr(callback, "last_model_path", "") or "")
        scores: Mapping[str, Any] = getattr(callback, "best_k_models", None) or {}
        monitor = getattr(callback, "monitor", None)
        paths = [p for p in dict.fromkeys([*(str(p) for p in scores), best, last]) if p]
        for path in paths:
            try:
                stat = os.stat(path)
            except OSError:
                continue  # removed already (no longer among the best k)
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._tally_uploaded.get(path) == stamp:
                continue
            metadata = {"filename": os.path.basename(path)}
            if monitor:
                metadata["monitor"] = str(monitor)
            score = scores.get(path)
            if score is not None:
                metadata["score"] = repr(float(score))
            run = self._tally.get()
            try:
                run.log_artifact(path, self._tally_checkpoint_name or f"model-{run.id}.ckpt", type="model",
                                 aliases=["best"] if path == best else [], metadata=metadata)
                self._tally_uploaded[path] = stamp
            except RPCError as exc:
                warnings.warn(f"tally: checkpoint {path} was not stored for run {run.id}: {exc}", stacklevel=2)


__all__ = ["TallyLogger"]
