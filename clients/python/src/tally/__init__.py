"""Tally: a local experiment tracker (Python client).

```python
import tally

with tally.start_run(experiment="resnet-cifar", params={"lr": 3e-4}, tags=["baseline"]) as run:
    for step in range(10_000):
        run.log({"loss": loss, "acc": acc}, step=step)
    run.log_artifact("model.pt", type="model", aliases=["best"])
```

Sweeps: `tally.create_sweep({"lr": tally.loguniform(1e-5, 1e-1), "layers": [2, 4]}, method="bayesian",
max_trials=30)` returns a `Sweep`; `for trial in sweep.trials(): trial.report(score)`.

When the daemon cannot be reached, a run's points, params, tags and end go to its journal on disk
and are delivered when it is back; `tally.resume_run(run_id)` reopens an ended or crashed run.

`tally.connect()` gives a `Client` with the generated stubs of every service (`.tracking`,
`.system`, `.diagnostics`); `tally.aio` is the asyncio variant. A daemon on another host is reached
over TCP with TLS: `tally.connect(url="tally+tls://HOST:PORT", token=...)`, or `$TALLY_URL`,
`$TALLY_TOKEN` and `$TALLY_CA`. Errors are `tally.RPCError`
subclasses named after their status (`tally.NotFound`, `tally.InvalidArgument`, ...).
"""

from tally._address import ConnectionInfo
from tally._api import (Client, RunWatcher, compare, connect, create_sweep, cross_validate, cross_validate_command,
                        current_fold, current_trial,
                        default_client, download_artifact, get_run, get_sweep, history, images, list_experiments,
                        resume_run, search_runs, start_run, table, watch_job, watch_jobs, watch_run)
from tally._convert import Comparison, History, HistoryDict, MetricSummary, Point, RunInfo, RunList, WatchEvent
from tally._jobs import JobEvent, JobProgress, JobWatcher
from tally._media import Image
from tally._run import Run
from tally._sweep import (CrossValidation, ParamSpec, Sweep, SweepResults, Trial, TrialInfo, choice, int_range,
                          loguniform, uniform)
from tally._transport import Channel, ResponseIterator
from tally._wire import default_socket_path
from tally.errors import (Aborted, AlreadyExists, Cancelled, DataLoss, DeadlineExceeded, FailedPrecondition,
                          Internal, InvalidArgument, NotFound, OutOfRange, PermissionDenied, ResourceExhausted,
                          RPCError, Unauthenticated, Unavailable, Unimplemented, Unknown)

__version__ = "0.1.0"

__all__ = [
    "Client", "Channel", "ResponseIterator", "Run", "RunWatcher", "RunInfo", "MetricSummary", "History",
    "Point", "WatchEvent", "Comparison", "connect", "default_client", "start_run", "resume_run", "get_run", "search_runs",
    "list_experiments", "history", "compare", "watch_run", "download_artifact", "default_socket_path",
    "Sweep", "Trial", "TrialInfo", "SweepResults", "CrossValidation", "ParamSpec", "create_sweep", "get_sweep",
    "current_trial", "cross_validate", "current_fold", "cross_validate_command", "choice", "int_range", "uniform", "loguniform",
    "RPCError", "Cancelled", "Unknown", "InvalidArgument", "DeadlineExceeded", "NotFound", "AlreadyExists",
    "PermissionDenied", "ResourceExhausted", "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
    "Internal", "Unavailable", "DataLoss", "Unauthenticated",
    "RunList", "HistoryDict", "Image", "images", "table", "JobEvent", "JobProgress", "JobWatcher", "watch_job",
    "watch_jobs", "ConnectionInfo",
]
