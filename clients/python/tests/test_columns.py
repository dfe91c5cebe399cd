"""`run.log_columns`: whole columns at once, the same points as a loop of `run.log`."""
import uuid

import numpy as np
import pytest

import tally


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def run(daemon):
    run = tally.start_run(unique("columns"), capture_env=False, system_metrics=False)
    yield run
    run.end()


def test_columns_at_given_steps(run):
    assert run.log_columns({"loss": [0.5, 0.25, 0.125], "acc": (0.1, 0.2, 0.3)}, steps=[10, 20, 30]) == 6
    run.flush()
    hist = run.history()
    assert (hist["loss"].steps, hist["loss"].values) == ([10, 20, 30], [0.5, 0.25, 0.125])
    assert (hist["acc"].steps, hist["acc"].values) == ([10, 20, 30], [0.1, 0.2, 0.3])
    run.log({"loss": 0.0})  # automatic steps go on after the columns
    run.flush()
    assert run.history(["loss"])["loss"].steps[-1] == 31


def test_default_steps_are_each_keys_next_as_log_would_give(run):
    run.log({"a": 1.0})
    run.log({"a": 2.0, "b": 1.0})  # a: steps 0, 1; b: 0
    run.log_columns({"a": [3, 4], "b": np.array([2.0, 3.0], np.float32)})
    run.flush()
    hist = run.history()
    assert (hist["a"].steps, hist["a"].values) == ([0, 1, 2, 3], [1.0, 2.0, 3.0, 4.0])
    assert (hist["b"].steps, hist["b"].values) == ([0, 1, 2], [1.0, 2.0, 3.0])


def test_numpy_pandas_and_ranges(run):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"x": np.linspace(0, 1, 5), "y": np.arange(5)})
    run.log_columns({"x": frame["x"], "y": frame["y"], "z": ["1.5", 2, 3.0, np.float64(4), True]},
                    steps=np.arange(100, 105))
    run.log_columns({"w": range(3)}, steps=range(3))
    run.flush()
    hist = run.history()
    assert hist["x"].values == pytest.approx([0, 0.25, 0.5, 0.75, 1.0]) and hist["y"].steps == list(range(100, 105))
    assert hist["z"].values == [1.5, 2.0, 3.0, 4.0, 1.0] and hist["w"].values == [0.0, 1.0, 2.0]


def test_more_points_than_a_batch_are_split_and_all_arrive(daemon):
    with tally.start_run(unique("big"), batch_points=1000, capture_env=False, system_metrics=False) as run:
        n = 4_000
        run.log_columns({"a": np.arange(n, dtype=float), "b": np.ones(n)})
        run.flush()
        assert (run.acknowledged_points, run.buffered_points) == (2 * n, 0)
    info = tally.get_run(run.id)
    assert (info.metrics["a"].count, info.metrics["a"].last_step, info.metrics["b"].count) == (n, n - 1, n)


def test_bad_columns_are_refused_before_anything_is_logged(run):
    with pytest.raises(ValueError, match="'b' has 1 values, column 'a' 2"):
        run.log_columns({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="3 steps for columns of 2 values"):
        run.log_columns({"a": [1, 2]}, steps=[1, 2, 3])
    with pytest.raises(tally.InvalidArgument, match="metric key"):
        run.log_columns({"bad key!": [1.0]})
    with pytest.raises(ValueError):
        run.log_columns({"a": ["not a number"]})
    with pytest.raises(TypeError):
        run.log_columns({"a": [1.0]}, steps=[1.5])
    assert run.log_columns({}) == 0 and run.log_columns({"a": []}) == 0
    run.flush()
    assert run.acknowledged_points == 0 and run.history() == {}
