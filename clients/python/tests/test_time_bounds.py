"""Time bounds in Python: `search_runs(started_after=…)` and `list_experiments(created_after=…)`."""
import datetime
import time
import uuid

import pytest

import tally
from tally import _convert


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_time_bound_forms():
    now = time.time()
    assert abs(_convert.time_bound_ms("7d", "x") - (now - 7 * 86400) * 1000) < 5000
    assert abs(_convert.time_bound_ms(datetime.timedelta(hours=2), "x") - (now - 7200) * 1000) < 5000
    assert _convert.time_bound_ms("2026-01-02T03:04:05Z", "x") == 1767323045000
    assert _convert.time_bound_ms(datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc), "x") == 1767323045000
    assert _convert.time_bound_ms(1767323045, "x") == 1767323045000
    local_midnight = datetime.datetime(2026, 1, 2).timestamp() * 1000
    assert _convert.time_bound_ms(datetime.date(2026, 1, 2), "x") == local_midnight
    assert _convert.time_bound_ms("2026-01-02", "x") == local_midnight
    with pytest.raises(ValueError, match="x expects"):
        _convert.time_bound_ms("yesterday", "x")
    with pytest.raises(TypeError):
        _convert.time_bound_ms(True, "x")  # type: ignore[arg-type]


def test_search_runs_and_list_experiments_by_time(daemon):
    exp = unique("times")
    with tally.start_run(exp, name="old") as old:
        pass
    time.sleep(0.05)
    boundary = datetime.datetime.now()
    time.sleep(0.05)
    with tally.start_run(exp, name="new") as new:
        pass
    assert [r.id for r in tally.search_runs(experiments=exp, started_after=boundary)] == [new.id]
    assert [r.id for r in tally.search_runs(experiments=exp, started_before=boundary)] == [old.id]
    assert [r.id for r in tally.search_runs("status = \"completed\"", experiments=exp, started_after="1h")] == [new.id, old.id]
    assert tally.search_runs(experiments=exp, started_before="1h") == []

    names = [e.name for e in tally.list_experiments(name=exp, created_after="1h")]
    assert names == [exp]
    assert tally.list_experiments(name=exp, created_before="1h") == []
    assert tally.list_experiments(name=exp, updated_after=datetime.datetime.now() + datetime.timedelta(minutes=1)) == []


def test_a_bad_filter_with_time_bounds_reports_its_own_position(daemon):
    """The bounds are added to the caller's filter; a syntax error still names the position in
    the caller's text, with or without bounds."""
    for bounds in ({}, {"started_after": "1h"}):
        with pytest.raises(tally.InvalidArgument, match="at position 11"):
            tally.search_runs("params.lr <", **bounds)
