"""`tally.watch_job` and `tally.watch_jobs`: job events as dataclasses, ending with the job, and
resuming from the last event seen after the daemon restarts."""
import threading
import time
import uuid
from typing import List

import pytest

import tally


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def work(sweep: tally.Sweep, count: int) -> None:
    """Evaluates `count` trials of the sweep (score: the param x)."""
    for _ in range(count):
        trial = sweep.next_trial(timeout=30)
        assert trial is not None
        trial.report(float(trial.params["x"]))


def collect(watcher: tally.JobWatcher, until: str, timeout: float = 30) -> List[tally.JobEvent]:
    events: List[tally.JobEvent] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = watcher.next(timeout=0.2)
        if event is None:
            continue
        events.append(event)
        if event.kind == until:
            return events
    raise AssertionError(f"no {until} event within {timeout}s: {[e.kind for e in events]}")


def test_watch_job_follows_a_sweep_to_its_end(daemon):
    sweep = tally.create_sweep({"x": [3, 1]}, experiment=unique("watch-job"))
    watcher = tally.watch_job(sweep.id)
    first = watcher.next(timeout=10)
    assert first is not None and first.kind == "snapshot" and first.job_id == sweep.id and first.job_kind == "sweep"
    assert first.job is not None and first.status in ("pending", "running") and not first.final
    worker = threading.Thread(target=work, args=(sweep, 2))
    worker.start()
    events = list(watcher)  # ends after the final event
    worker.join()
    kinds = [e.kind for e in events]
    assert kinds[-1] == "completed" and kinds.count("trial_finished") == 2 and kinds.count("trial_started") == 2
    finished = [e for e in events if e.kind == "trial_finished"]
    assert sorted(e.trial.score for e in finished) == [1.0, 3.0] and all(e.trial.status == "completed" for e in finished)
    assert finished[-1].best is not None and finished[-1].best.score == 1.0
    last = events[-1]
    assert last.status == "completed" and last.final and last.results is not None
    assert last.results.sweep.best_score == 1.0
    seqs = [first.seq] + [e.seq for e in events]
    assert seqs == sorted(seqs) and watcher.last_seq == seqs[-1]
    with pytest.raises(StopIteration):
        next(watcher)
    # A finished job: its snapshot, then its final event.
    again = list(tally.watch_job(sweep.id))
    assert [e.kind for e in again] == ["snapshot", "completed"] and again[0].final


def test_watch_jobs_sees_every_job_until_closed(daemon):
    with tally.watch_jobs(kind="sweep") as watcher:
        assert watcher.next(timeout=0.3) is None or True  # snapshots of open sweeps, if any
        sweep = tally.create_sweep({"x": [5]}, experiment=unique("watch-jobs"))
        work(sweep, 1)
        mine: List[tally.JobEvent] = []
        deadline = time.monotonic() + 30
        while not (mine and mine[-1].final) and time.monotonic() < deadline:
            event = watcher.next(timeout=0.2)
            if event is not None and event.job_id == sweep.id:
                mine.append(event)
        assert [e.kind for e in mine][-1] == "completed" and "trial_finished" in [e.kind for e in mine]
        assert watcher.next(timeout=0.2) is None  # it goes on: nothing more now
    with pytest.raises(StopIteration):
        watcher.next(timeout=0.1)


def test_watching_an_unknown_job_raises(daemon):
    with pytest.raises(tally.NotFound):
        next(tally.watch_job("ffffffffffffffff"))


def test_watch_job_resumes_after_a_daemon_restart(own_daemon):
    client = tally.connect(own_daemon.socket, autostart=False)
    sweep = client.create_sweep({"x": [4, 2, 6]}, experiment=unique("restart"))
    watcher = tally.watch_job(sweep.id, client=client)
    assert collect(watcher, "snapshot")[0].job_id == sweep.id
    work(sweep, 1)
    before = collect(watcher, "trial_finished")
    own_daemon.stop()
    deadline = time.monotonic() + 0.6
    while time.monotonic() < deadline:  # the daemon is away: waiting, not failing
        event = watcher.next(timeout=0.1)
        if event is not None:
            before.append(event)  # sent before it stopped
    own_daemon.start()
    work(tally.get_sweep(sweep.id, client=client), 2)
    after = collect(watcher, "completed")
    assert watcher.reconnects >= 1
    finished = [e for e in before + after if e.kind == "trial_finished"]
    assert sorted(e.trial.score for e in finished) == [2.0, 4.0, 6.0]  # each trial told once
    assert after[-1].results.sweep.best_score == 2.0 and after[-1].status == "completed"
    with pytest.raises(StopIteration):
        watcher.next(timeout=0.1)
    client.close()
