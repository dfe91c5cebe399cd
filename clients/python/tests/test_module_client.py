"""Every module-level function takes `client=`, as `start_run` does: with a client of another
daemon, the calls go there and not to the default client's."""
import uuid

import pytest

import tally


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_module_functions_use_the_given_client(daemon, own_daemon, tmp_path):
    other = tally.connect(own_daemon.socket, autostart=False)
    experiment = unique("elsewhere")
    with tally.start_run(experiment, params={"lr": 0.5}, client=other, capture_env=False,
                         system_metrics=False) as run:
        run.log({"loss": 1.0})
        run.log_image("img", tally._media.encode_png(1, 1, 1, b"\x00"))
        run.log_table("tab", [{"a": 1}], format="jsonl")
        (tmp_path / "f.txt").write_text("hello")
        run.log_artifact(tmp_path / "f.txt")
    with pytest.raises(tally.NotFound):
        tally.get_run(run.id)  # the default client's daemon has no such run

    assert tally.get_run(run.id, client=other).params == {"lr": 0.5}
    assert [r.id for r in tally.search_runs(experiments=experiment, client=other)] == [run.id]
    assert [e.name for e in tally.list_experiments(name=experiment, client=other)] == [experiment]
    assert tally.history(run.id, client=other)["loss"].values == [1.0]
    assert [r.id for r in tally.compare([run.id], client=other).runs] == [run.id]
    tally.download_artifact(tmp_path / "back.txt", run=run.id, name="f.txt", client=other)
    assert (tmp_path / "back.txt").read_text() == "hello"
    assert [i.step for i in tally.images(run.id, "img", client=other)] == [0]
    assert tally.table(run.id, "tab", client=other) == [{"a": 1}]
    with tally.watch_run(run.id, client=other) as events:
        assert next(events).kind == "snapshot"
    again = tally.resume_run(run.id, client=other, system_metrics=False)
    again.end()
    assert tally.cross_validate([0.5, 0.7], client=other).mean == pytest.approx(0.6)
    sweep = tally.create_sweep({"x": [1]}, experiment=unique("sweep"), client=other)
    assert tally.get_sweep(sweep.id, client=other).id == sweep.id
    with pytest.raises(tally.NotFound):
        tally.get_sweep(sweep.id)
    assert next(tally.watch_job(sweep.id, client=other)).kind == "snapshot"
    assert tally.current_trial(client=other) is None  # not started by an agent
    other.close()
