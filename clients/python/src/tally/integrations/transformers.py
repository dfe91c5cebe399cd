"""A Hugging Face Transformers `TrainerCallback` that records to Tally.

```python
from transformers import Trainer
from tally.integrations.transformers import TallyCallback

trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=test,
                  callbacks=[TallyCallback(experiment="bert-sst2", log_model=True)])
trainer.train()
```

Or, after `tally.integrations.transformers.register()`, `TrainingArguments(report_to="tally")`.
Importing this module imports `transformers`.
"""

import os
import tarfile
import tempfile
import warnings
from typing import Any, Dict, Mapping, Optional, Set, Tuple, Type, cast

from tally import Client, RPCError, Run
from tally.integrations._common import RunHolder, TagsLike, flatten, log_params, numbers_of, require

_transformers = require("transformers", "transformers", "transformers")
_TrainerCallback: Any = _transformers.TrainerCallback


class TallyCallback(_TrainerCallback):  # type: ignore[misc]
    """Logs a `transformers.Trainer` training to a Tally run:
    `Trainer(..., callbacks=[TallyCallback(experiment="bert")])`.

    The run is `run` when given (it is then yours to end), else one started at the beginning of
    training in `experiment` (default: the training arguments' `project` where they have one,
    else "default") named `name` (default: `args.run_name`) with `params` and `tags`, through
    `client` (default: the module's default client), and ended `completed` at the end of training.
    A training that raises never reaches the end of training: such a run is ended by the client's
    exit hook (`failed`, with the exception, when it ends the program); run the training inside
    `with tally.start_run(...) as run:` and pass `run=run` to have it ended `failed` at once.

    - params, at the beginning of training: the training arguments (`args.to_dict()`) and the
      model's config under `model.`, nested dicts flattened with "."; only JSON scalars (strings,
      numbers, booleans) are kept, so lists, None and NaN are left out. A param the run already
      has with another value is kept, with a warning.
    - metrics: every number the Trainer logs (`on_log`: loss, learning rate, grad norm, epoch,
      evaluation metrics, the final runtime figures) at `state.global_step`, and the metrics of
      each evaluation (`on_evaluate`) that were not logged at that step already.
    - `log_model=True`: at the end of training, the model (`save_pretrained`, with the processing
      class when the Trainer has one) as one uncompressed tar file, a `model`-type artifact named
      `model_name` (default `model-<run id>.tar`), with the alias `best` when the Trainer loaded
      the best checkpoint at the end (`load_best_model_at_end`).
    - Only the world's process zero logs.
    """

    _tally_defaults: Dict[str, Any] = {}

    def __init__(self, experiment: Optional[str] = None, *, run: Optional[Run] = None, name: Optional[str] = None,
                 params: Optional[Mapping[str, Any]] = None, tags: TagsLike = None, client: Optional[Client] = None,
                 log_model: Optional[bool] = None, model_name: Optional[str] = None) -> None:
        super().__init__()
        defaults = self._tally_defaults
        self._tally = RunHolder(run=run, experiment=experiment or defaults.get("experiment"),
                                name=name or defaults.get("name"),
                                params=params if params is not None else defaults.get("params"),
                                tags=tags if tags is not None else defaults.get("tags"),
                                client=client or defaults.get("client"))
        self._tally_log_model = bool(log_model if log_model is not None else defaults.get("log_model", False))
        self._tally_model_name = model_name or defaults.get("model_name")
        self._tally_step = -1
        self._tally_logged: Set[Tuple[str, float]] = set()  # (key, value) logged at `_tally_step`

    @property
    def run(self) -> Optional[Run]:
        """The run logged to (None before the training began)."""
        return self._tally.current

    def _run(self, args: Any) -> Run:
        project = getattr(args, "project", None)
        return self._tally.get(experiment=project if isinstance(project, str) and project else None,
                               name=getattr(args, "run_name", None) or None)

    def _log(self, state: Any, values: Mapping[str, Any], *, only_new: bool) -> None:
        metrics = numbers_of(values)
        step = int(state.global_step)
        if step != self._tally_step:
            self._tally_step = step
            self._tally_logged.clear()
        if only_new:
            metrics = {k: v for k, v in metrics.items() if (k, v) not in self._tally_logged}
        if not metrics:
            return
        self._tally_logged.update(metrics.items())
        self._tally.get().log(metrics, step=step)

    # -- the Trainer's events ---------------------------------------------------------------------

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        run = self._run(args)
        params: Dict[str, Any] = {}
        if hasattr(args, "to_dict"):
            params.update(flatten(args.to_dict()))
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_dict"):
            params.update(flatten(config.to_dict(), "model."))
        if params:
            log_params(run, params)

    def on_log(self, args: Any, state: Any, control: Any, logs: Optional[Mapping[str, Any]] = None,
               **kwargs: Any) -> None:
        if state.is_world_process_zero and logs:
            self._run(args)
            self._log(state, logs, only_new=False)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Optional[Mapping[str, Any]] = None,
                    **kwargs: Any) -> None:
        if state.is_world_process_zero and metrics:
            self._run(args)
            self._log(state, metrics, only_new=True)

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or self._tally.current is None:
            return
        if self._tally_log_model and model is not None and hasattr(model, "save_pretrained"):
            best = bool(getattr(args, "load_best_model_at_end", False) and getattr(state, "best_model_checkpoint", None))
            self._upload_model(model, kwargs.get("processing_class"), best)
        if self._tally.owned:
            self._tally.end("completed")
        else:
            self._tally.get().flush()

    def _upload_model(self, model: Any, processing_class: Any, best: bool) -> None:
        run = self._tally.get()
        with tempfile.TemporaryDirectory(prefix="tally-model-") as tmp:
            folder = os.path.join(tmp, "model")
            model.save_pretrained(folder)
            if processing_class is not None and hasattr(processing_class, "save_pretrained"):
                processing_class.save_pretrained(folder)
            files = sorted(os.listdir(folder))
            archive = os.path.join(tmp, "model.tar")
            with tarfile.open(archive, "w") as tar:
                for name in files:
                    tar.add(os.path.join(folder, name), arcname=name)
            metadata = {"format": "tar", "files": ",".join(files)[:5000],
                        "class": type(model).__name__}
            try:
                run.log_artifact(archive, self._tally_model_name or f"model-{run.id}.tar", type="model",
                                 aliases=["best"] if best else [], metadata=metadata)
            except RPCError as exc:
                warnings.warn(f"tally: the model was not stored for run {run.id}: {exc}", stacklevel=2)


def register(experiment: Optional[str] = None, *, name: Optional[str] = None,
             params: Optional[Mapping[str, Any]] = None, tags: TagsLike = None, client: Optional[Client] = None,
             log_model: bool = False, model_name: Optional[str] = None) -> Type[TallyCallback]:
    """Makes `TrainingArguments(report_to="tally")` (and `report_to=["tally", ...]`) add a
    `TallyCallback` to each Trainer made afterwards, with these options (a Trainer makes the
    callback itself, with no arguments). Transformers has no registry of third-party
    integrations: this adds the entry "tally" to its table of reporting integrations
    (`transformers.integrations.integration_utils.INTEGRATION_TO_CALLBACK`). Returns the
    callback class registered; calling it again replaces the entry."""
    utils = require("transformers.integrations.integration_utils", "transformers", "transformers")
    table = getattr(utils, "INTEGRATION_TO_CALLBACK", None)
    if not isinstance(table, dict):
        raise RuntimeError(f"transformers {getattr(_transformers, '__version__', '?')} has no table of reporting "
                           f"integrations (INTEGRATION_TO_CALLBACK): pass callbacks=[TallyCallback(...)] instead")
    defaults = {"experiment": experiment, "name": name, "params": params, "tags": tags, "client": client,
                "log_model": log_model, "model_name": model_name}
    callback = cast(Type[TallyCallback], type("TallyCallback", (TallyCallback,), {
        "_tally_defaults": defaults, "__module__": __name__, "__doc__": TallyCallback.__doc__}))
    table["tally"] = callback
    return callback


__all__ = ["TallyCallback", "register"]
