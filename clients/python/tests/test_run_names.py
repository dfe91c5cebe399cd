"""Readable names for unnamed runs, and runs addressed as EXPERIMENT/RUN_NAME."""
import uuid

import pytest

import tally
from tally import _names
from tally.v1 import tracking_pb2


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_an_unnamed_run_is_named_at_once_as_the_daemon_names_it(client: tally.Client) -> None:
    exp = unique("names")
    run = client.start_run(exp)
    assert run.name == _names.run_name(run.id) and run.name.count("-") == 2
    run.end()
    assert client.get_run(run.id).name == run.name
    # A start sent without a name (another client) is named by the daemon the same way.
    raw = client.tracking.start_run(tracking_pb2.StartRunRequest(
        experiment=tracking_pb2.ExperimentRef(name=exp), run_id="0123456789abcdef"))
    assert raw.name == _names.run_name("0123456789abcdef")


def test_experiment_slash_run_name_addresses_a_run(client: tally.Client) -> None:
    exp = unique("by/name")  # an experiment name with a slash in it
    with client.start_run(exp, name="baseline") as run:
        run.log({"loss": 0.5}, step=0)
    assert client.run_id(f"{exp}/baseline") == run.id
    assert client.get_run(f"{exp}/baseline").id == run.id
    assert client.history(f"{exp}/baseline")["loss"].values == [0.5]
    experiment_id = client.get_run(run.id).experiment_id
    assert client.run_id(f"{experiment_id}/baseline") == run.id  # the experiment by id
    assert client.run_id(run.id) == run.id

    with pytest.raises(tally.errors.NotFound, match='no run named "other"'):
        client.get_run(f"{exp}/other")
    with pytest.raises(tally.errors.NotFound):
        client.get_run(f"{unique('missing')}/baseline")

    twin = client.start_run(exp, name="baseline")
    twin.end()
    with pytest.raises(tally.errors.InvalidArgument) as refused:
        client.get_run(f"{exp}/baseline")
    assert run.id in str(refused.value) and twin.id in str(refused.value) and "2 runs" in str(refused.value)


def test_a_runs_note(client: tally.Client) -> None:
    run = client.start_run(unique("noted"), capture_env=False, system_metrics=False)
    assert run.note == ""
    run.note = "baseline with the old augmentation"
    assert run.note == "baseline with the old augmentation"
    run.end()
    assert client.get_run(run.id).note == "baseline with the old augmentation"
    run.note = ""  # also once ended
    assert client.get_run(run.id).note == ""
    with pytest.raises(tally.errors.InvalidArgument):
        run.note = "x" * 70_000
