"""Imports TensorBoard logs into Tally: one run per folder holding event files, with every scalar
at its step and wall time, read with TensorBoard's own reader (its `EventAccumulator`).

```python
from tally.importers.tensorboard import import_tensorboard

report = import_tensorboard("runs", experiment="resnet")     # runs/lr-0.1, runs/lr-0.01, ...
print(report)
```

tensorboard is imported when `import_tensorboard` is called, not when this module is imported.
See docs/imports.md.
"""

import os
from typing import Any, Dict, List, Optional

from tally import Client
from tally.importers._common import (Experiments, ImportReport, RunSpec, Series, connect, ended, get_run, import_run,
                                     key, ms, require, run_id_for, skip_existing, tag_map)

WRITER_ID = "tensorboard-import"


def event_folders(logdir: str) -> List[str]:
    """The folders under `logdir` (itself included) that hold event files, as paths relative to it
    with `/` ("." for `logdir` itself), in name order."""
    found = []
    for folder, dirs, files in os.walk(logdir):
        dirs.sort()
        if any("tfevents" in name for name in files):
            found.append(os.path.relpath(folder, logdir).replace(os.sep, "/"))
    return found


def read_scalars(folder: str, report: ImportReport, what: str) -> List[Series]:
    """Every scalar series of the event files in `folder` (not its subfolders), as TensorBoard
    reads them: summaries of TensorFlow 1 (`simple_value`), TensorFlow 2 and PyTorch, every point
    kept (no sampling), events orphaned by a restart left out as TensorBoard leaves them out."""
    accumulators = require("tensorboard.backend.event_processing.plugin_event_accumulator", "tensorboard",
                           "tensorboard")
    tensor_util = require("tensorboard.util.tensor_util", "tensorboard", "tensorboard")
    accumulator = accumulators.EventAccumulator(folder, size_guidance={accumulators.TENSORS: 0},
                                                tensor_size_guidance={"scalars": 0})
    accumulator.Reload()
    out: List[Series] = []
    used: Dict[str, str] = {}
    others: Dict[str, int] = {}
    for tag in sorted(accumulator.Tags().get(accumulators.TENSORS, [])):
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        if plugin != "scalars":
            others[plugin or "unnamed"] = others.get(plugin or "unnamed", 0) + 1
            continue
        metric = key(tag, report, "scalar")
        if metric in used:
            report.warn(f"{what}: scalar {tag!r} is left out (it would share the key {metric!r} with {used[metric]!r})")
            continue
        used[metric] = tag
        events: List[Any] = sorted(accumulator.Tensors(tag), key=lambda e: (e.step, e.wall_time))
        kept = [e for e in events if e.step >= 0]
        if len(kept) < len(events):
            report.warn(f"{what}: scalar {tag!r}: {len(events) - len(kept)} points with a negative step are left out")
        out.append(Series(metric, [int(e.step) for e in kept], [ms(e.wall_time) for e in kept],
                          [float(tensor_util.make_ndarray(e.tensor_proto).item()) for e in kept]))
    if others:
        kinds = ", ".join(f"{plugin} ({n} tag{'' if n == 1 else 's'})" for plugin, n in sorted(others.items()))
        report.warn(f"{what}: only scalars are imported; left out: {kinds}")
    return out


def import_tensorboard(logdir: str, *, experiment: str, client: Optional[Client] = None) -> ImportReport:
    """Imports the TensorBoard logs under `logdir` into the experiment `experiment` (created when
    missing) through `client` (default: the module's default client): one completed run per
    folder holding event files, named by its path relative to `logdir` (`logdir` itself by its
    own name), with every scalar at its step and wall time (to the millisecond). Importing again
    adds nothing: each run's id is made from the experiment and the folder's relative path, and a
    run imported before is skipped.

    Returns an `ImportReport`; see docs/imports.md."""
    require("tensorboard", "tensorboard", "tensorboard")
    root = os.path.abspath(os.fspath(logdir))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"no TensorBoard log folder at {logdir}")
    report = ImportReport("tensorboard", root)
    folders = event_folders(root)
    if not folders:
        report.warn(f"no event files (*tfevents*) under {root}")
        return report
    tally_client = connect(client)
    experiment_id = Experiments(tally_client, report).ensure(
        experiment, tags=tag_map({"tensorboard.logdir": root}, report, f"experiment {experiment!r}"))
    for rel in folders:
        run_id = run_id_for("tensorboard:" + experiment, rel)
        existing = get_run(tally_client, run_id)
        if ended(existing):
            assert existing is not None
            report.run_ids[rel] = run_id
            skip_existing(existing, report)
            continue
        what = f"tensorboard run {rel!r}"
        series = read_scalars(os.path.join(root, rel), report, what)
        times = [t for s in series for t in s.timestamps_ms]
        tags = {"tensorboard.path": rel}
        if times:
            tags["tensorboard.start_time"] = str(min(times))
            tags["tensorboard.end_time"] = str(max(times))
        spec = RunSpec(source_id=rel, run_id=run_id, experiment=experiment,
                       name=os.path.basename(root) if rel == "." else rel, tags=tag_map(tags, report, what))
        import_run(tally_client, report, spec, experiment_id, series, (), writer_id=WRITER_ID, existing=existing)
    return report
