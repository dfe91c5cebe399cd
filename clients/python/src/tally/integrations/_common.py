"""What the framework integrations share: the run they log to, and params and metric keys the
daemon takes. Imports no framework."""

import argparse
import enum
import importlib
import math
import numbers
import re
import sys
import traceback
import warnings
from types import ModuleType
from typing import Any, Dict, Iterable, Mapping, Optional, Tuple, Union

import tally
from tally import Client, Run

Scalar = Union[bool, int, float, str]
TagsLike = Union[Mapping[str, Any], Iterable[str], None]

# The daemon's rule for param, metric and tag keys (docs/tracking.md, "Limits").
_KEY_CHAR = re.compile(r"[^A-Za-z0-9_\-./: ]")
_MAX_KEY = 250
_MAX_STRING_PARAM = 6000
_MAX_PARAMS_PER_REQUEST = 1000


def require(module: str, integration: str, package: str) -> ModuleType:
    """Imports a framework for an integration, or says which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"tally.integrations.{integration} needs {package} (pip install {package}): {exc}") from exc


def key(name: Any) -> str:
    """`name` as a key the daemon takes: other characters become `_`, at most 250 of them, no
    space at either end."""
    text = _KEY_CHAR.sub("_", str(name))[:_MAX_KEY].strip(" ")
    return text or "_"


def scalar(value: Any) -> Optional[Scalar]:
    """A JSON scalar (bool, int, finite float, str) as its plain Python value, else None. numpy
    numbers count; an enum counts by its value."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, (bool, str)):
        return value
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):  # no numbers.Integral
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def flatten(values: Any, prefix: str = "", *, only_scalars: bool = True) -> Dict[str, Scalar]:
    """Nested mappings (and argparse namespaces) flattened with "." into params. Scalars keep their
    type. Other values (None, lists, objects, NaN) are left out with `only_scalars`, else stored as
    text: None as "None", an object with `get_params` (an estimator) as its class name, anything
    else as `str(value)`. Strings are cut to the daemon's 6,000 characters."""
    if isinstance(values, argparse.Namespace):
        values = vars(values)
    out: Dict[str, Scalar] = {}
    for name, value in values.items():
        full = f"{prefix}{name}"
        if isinstance(value, (Mapping, argparse.Namespace)):
            out.update(flatten(value, full + ".", only_scalars=only_scalars))
            continue
        plain = scalar(value)
        if plain is None:
            if only_scalars:
                continue
            if value is None:
                plain = "None"
            elif hasattr(value, "get_params") and not isinstance(value, type):
                plain = type(value).__name__
            else:
                plain = str(value)
        if isinstance(plain, str):
            plain = plain[:_MAX_STRING_PARAM]
        out[key(full)] = plain
    return out


def numbers_of(values: Mapping[str, Any], prefix: str = "") -> Dict[str, float]:
    """The entries of `values` that are numbers (0-d arrays and tensors included; booleans and
    text are not), as metrics."""
    out: Dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, (bool, str, bytes)) or value is None:
            continue
        try:
            out[key(f"{prefix}{name}")] = float(value)
        except Exception:  # not a number, or an array of several
            continue
    return out


def same(a: Any, b: Any) -> bool:
    """Whether two param values are the same for the daemon (an int never equals a float)."""
    return type(a) is type(b) and a == b


def log_params(run: Run, params: Mapping[str, Scalar]) -> None:
    """Logs the params the run does not have yet. A key the run already holds with another value
    is left as it is, with a warning: the daemon refuses to change a param (and would refuse the
    whole request), and a tracker must not stop a training for that."""
    try:
        stored: Dict[str, Any] = dict(run.info().params)
    except tally.RPCError:  # the daemon is away: the params go to the run's journal
        stored = {}
    fresh = {k: v for k, v in params.items() if k not in stored}
    changed = sorted(k for k, v in params.items() if k in stored and not same(stored[k], v))
    if changed:
        shown = ", ".join(f"{k}={stored[k]!r} (now {params[k]!r})" for k in changed[:5])
        warnings.warn(f"tally: run {run.id} keeps the params it has, which cannot change: {shown}"
                      f"{' and more' if len(changed) > 5 else ''}", stacklevel=3)
    items = list(fresh.items())
    for start in range(0, len(items), _MAX_PARAMS_PER_REQUEST):
        run.log_params(dict(items[start:start + _MAX_PARAMS_PER_REQUEST]))


class RunHolder:
    """The run an integration logs to: the one it was given (`params` and `tags` are then logged to
    it on first use), or one it starts on first use from `experiment`, `name`, `params`, `tags`
    with `client` (default: the module's default client).
    Only a run it started is ended by it; when something is logged after that end (a second
    `fit`, a `test` after `fit`), the run is resumed."""

    def __init__(self, *, run: Optional[Run] = None, experiment: Optional[str] = None, name: Optional[str] = None,
                 params: Optional[Mapping[str, Any]] = None, tags: TagsLike = None,
                 client: Optional[Client] = None) -> None:
        self.given = run
        self.current: Optional[Run] = run
        self.experiment = experiment
        self.name = name
        self.params = params
        self.tags = tags
        self.client = client if client is not None else (run.client if run is not None else None)
        self.ended = False  # ended by us (a run we started)

    @property
    def owned(self) -> bool:
        return self.given is None

    def get(self, *, experiment: Optional[str] = None, name: Optional[str] = None, resume: bool = True) -> Run:
        """The run, started when needed (with `experiment` and `name` as fallbacks for the ones not
        given); a run we ended is resumed with `resume`, else returned as it is."""
        run = self.current
        if run is not None and self.given is run and (self.params is not None or self.tags is not None):
            params, tags, self.params, self.tags = self.params, self.tags, None, None
            if params:
                log_params(run, flatten(params, only_scalars=False))
            if tags:
                run.set_tags(tags)
        if run is None:
            run = tally.start_run(self.experiment or experiment or "default", name=self.name or name or "",
                                  params=self.params, tags=self.tags, client=self.client)
            self.current = run
        elif self.ended and resume:
            run = tally.resume_run(run.id, client=self.client or run.client)
            self.current = run
            self.ended = False
        return run

    def end(self, status: str = "completed", error: str = "") -> None:
        """Ends a run we started (nothing for a given run or one not started)."""
        run = self.current
        if run is None or not self.owned or self.ended:
            return
        self.ended = True
        run.end(status, error=error)

    def end_quietly(self, status: str, error: str) -> None:
        """Ends a run we started while an exception is on its way: a failure to end it is printed,
        not raised, so that it does not hide that exception."""
        try:
            self.end(status, error)
        except Exception as exc:
            run = self.current
            print(f"tally: while ending run {run.id if run else '?'}: {exc}", file=sys.stderr)


def failure() -> Tuple[str, str]:
    """The status and error text of the exception being handled, if any: ("killed", ...) for a
    KeyboardInterrupt, ("failed", text) otherwise."""
    exc_type, exc, _ = sys.exc_info()
    if exc is None:
        return "failed", "the training failed"
    text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    return ("killed" if isinstance(exc, KeyboardInterrupt) else "failed"), text


def experiment_name(run: Run) -> str:
    """The name of a run's experiment (the run only knows its id)."""
    from tally.v1 import tracking_pb2

    request = tracking_pb2.GetExperimentRequest(experiment=tracking_pb2.ExperimentRef(id=run.experiment_id))
    return str(run.client.tracking.get_experiment(request).name)

