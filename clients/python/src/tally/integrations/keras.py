"""A Keras 3 callback that records to Tally.

```python
from tally.integrations.keras import TallyCallback

model.fit(x, y, epochs=10, validation_split=0.2,
          callbacks=[TallyCallback(experiment="mnist", log_every_n_batches=50)])
```

Importing this module imports `keras` (with the backend `KERAS_BACKEND` names).
"""

import os
import tempfile
import warnings
from typing import Any, Dict, Mapping, Optional

from tally import Client, RPCError, Run
from tally.integrations._common import RunHolder, TagsLike, flatten, log_params, numbers_of, require

_keras = require("keras", "keras", "keras")
_Callback: Any = _keras.callbacks.Callback


class TallyCallback(_Callback):  # type: ignore[misc]
    """Logs a Keras `fit` to a Tally run: `model.fit(..., callbacks=[TallyCallback(experiment="mnist")])`.

    The run is `run` when given (it is then yours to end), else one started when training begins
    in `experiment` (default "default") with `name`, `params` and `tags`, through `client`
    (default: the module's default client), and ended `completed` when training ends; a later
    `fit` with the same callback resumes it. A `fit` that raises never reaches the end of
    training: such a run is ended by the client's exit hook (`failed`, with the exception, when
    it ends the program); train inside `with tally.start_run(...) as run:` and pass `run=run` to
    have it ended `failed` at once.

    - params, when training begins: the optimizer's config under `optimizer.` (`get_config()`,
      flattened; a learning-rate schedule's config too; None values left out) and `epochs`.
    - metrics: the logs of each epoch (`loss`, `val_loss`, compiled metrics) at the epoch number
      (from 0); with `log_every_n_batches=N`, the training logs of every Nth batch under `batch/`
      (`batch/loss`) at the number of batches trained since the callback's first `fit` (1, 2, …).
    - `log_summary=True` (default): the model's `summary()` as the text artifact
      `model_summary.txt` (type `other`), once per run.
    """

    def __init__(self, experiment: Optional[str] = None, *, run: Optional[Run] = None, name: Optional[str] = None,
                 params: Optional[Mapping[str, Any]] = None, tags: TagsLike = None, client: Optional[Client] = None,
                 log_every_n_batches: int = 0, log_summary: bool = True) -> None:
        super().__init__()
        if log_every_n_batches < 0:
            raise ValueError(f"log_every_n_batches must be 0 (no batch metrics) or more, got {log_every_n_batches}")
        self._tally = RunHolder(run=run, experiment=experiment, name=name, params=params, tags=tags, client=client)
        self._tally_every = log_every_n_batches
        self._tally_log_summary = log_summary
        self._tally_summary_logged = False
        self._tally_batches = 0

    @property
    def run(self) -> Optional[Run]:
        """The run logged to (None before training began)."""
        return self._tally.current

    def on_train_begin(self, logs: Optional[Mapping[str, Any]] = None) -> None:
        run = self._tally.get()
        params: Dict[str, Any] = {}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_config"):
            params.update(flatten(optimizer.get_config(), "optimizer."))
        epochs = (self.params or {}).get("epochs")
        if isinstance(epochs, int):
            params["epochs"] = epochs
        if params:
            log_params(run, params)
        if self._tally_log_summary and not self._tally_summary_logged:
            self._tally_summary_logged = True
            self._log_summary(run)

    def on_train_batch_end(self, batch: int, logs: Optional[Mapping[str, Any]] = None) -> None:
        self._tally_batches += 1
        if self._tally_every and self._tally_batches % self._tally_every == 0 and logs:
            values = numbers_of(logs, "batch/")
            if values:
                self._tally.get().log(values, step=self._tally_batches)

    def on_epoch_end(self, epoch: int, logs: Optional[Mapping[str, Any]] = None) -> None:
        values = numbers_of(logs or {})
        if values:
            self._tally.get().log(values, step=int(epoch))

    def on_train_end(self, logs: Optional[Mapping[str, Any]] = None) -> None:
        if self._tally.current is None:
            return
        if self._tally.owned:
            self._tally.end("completed")
        else:
            self._tally.current.flush()

    def _log_summary(self, run: Run) -> None:
        lines = []
        try:
            self.model.summary(print_fn=lambda text, *args, **kwargs: lines.append(str(text)))
        except ValueError as exc:  # a model not built yet
            warnings.warn(f"tally: no model summary for run {run.id}: {exc}", stacklevel=2)
            return
        with tempfile.TemporaryDirectory(prefix="tally-keras-") as tmp:
            path = os.path.join(tmp, "model_summary.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(lines).rstrip("\n") + "\n")
            try:
                run.log_artifact(path, type="other", metadata={"model": str(getattr(self.model, "name", ""))})
            except RPCError as exc:
                warnings.warn(f"tally: the model summary was not stored for run {run.id}: {exc}", stacklevel=2)


__all__ = ["TallyCallback"]
