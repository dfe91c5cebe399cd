"""Cross-validation jobs: `tally.cross_validate_command` running a script once per fold, which
reports through `tally.current_fold()` or a last line of JSON; the summary against a recomputation."""
import math
import os
import statistics
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

import tally

SCORES = [0.81, 0.79, 0.85, 0.83, 0.80]

FOLD_SCRIPT = textwrap.dedent("""
    import json, os, sys
    import tally
    scores = %r
    fold = tally.current_fold()
    assert fold is not None and fold.folds == 5 and str(fold.fold) == os.environ["TALLY_FOLD"]
    assert "--fold=%%d" %% fold.fold in sys.argv and "--folds=5" in sys.argv and fold.params["C"] == 0.5
    fold.run.log({"epoch_loss": 0.1 * fold.fold}, step=0)
    if fold.fold %% 2:
        fold.report(test={"accuracy": scores[fold.fold], "f1": scores[fold.fold] - 0.1},
                    train={"accuracy": 0.95}, fit_time=1.0 + fold.fold, score_time=0.5)
    else:  # the other folds answer with a last line of JSON
        print(json.dumps({"test": {"accuracy": scores[fold.fold], "f1": scores[fold.fold] - 0.1},
                          "train": {"accuracy": 0.95}, "fit_time": 1.0 + fold.fold, "score_time": 0.5}))
""") % (SCORES,)


@pytest.fixture
def tally_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_EXECUTABLE", os.environ.get("TALLY_BIN", ""))


def test_cross_validate_command_runs_each_fold_and_summarises(client: tally.Client, tmp_path: Path,
                                                              tally_on_path: None) -> None:
    script = tmp_path / "fold.py"
    script.write_text(FOLD_SCRIPT)
    experiment = f"cv-{uuid.uuid4().hex[:8]}"
    result = tally.cross_validate_command([sys.executable, str(script)], folds=5, metrics=["accuracy", "f1"],
                                          maximize=True, params={"C": 0.5}, parallel=2, experiment=experiment,
                                          client=client, timeout=120)
    assert result.status == "completed", result.error
    accuracy = result.metrics["accuracy"]
    assert accuracy.test_scores == SCORES and accuracy.train_scores == [0.95] * 5
    assert math.isclose(accuracy.test.mean, statistics.mean(SCORES))
    assert math.isclose(accuracy.test.std, statistics.stdev(SCORES))
    assert math.isclose(accuracy.test.median, statistics.median(SCORES))
    assert accuracy.test.min == min(SCORES) and accuracy.test.max == max(SCORES)
    half = 2.7764451051977987 * statistics.stdev(SCORES) / math.sqrt(5)  # t(0.975, 4)
    assert accuracy.test.ci95 is not None and math.isclose(accuracy.test.ci95[1], statistics.mean(SCORES) + half)
    assert list(result.metrics) == ["accuracy", "f1"]
    assert math.isclose(result.mean_fit_time, 3.0) and math.isclose(result.mean_score_time, 0.5)
    parent = client.get_run(result.parent_run_id)
    assert parent.status == "completed" and parent.params == {"C": 0.5}
    assert math.isclose(parent.metrics["test_accuracy_mean"].last, statistics.mean(SCORES))
    children = client.search_runs(f'parent_run_id = "{parent.id}"')
    assert sorted(r.name for r in children) == [f"fold-{i}" for i in range(5)]
    assert all(r.metrics["epoch_loss"].count == 1 for r in children)


def test_a_failing_fold_fails_the_cross_validation(client: tally.Client, tmp_path: Path, tally_on_path: None) -> None:
    script = tmp_path / "broken.py"
    script.write_text("import os, sys\nif os.environ['TALLY_FOLD'] == '1':\n    sys.exit('bad fold')\nprint('{\"accuracy\": 0.5}')\n")
    result = tally.cross_validate_command([sys.executable, str(script)], folds=3, client=client, timeout=120)
    assert result.status == "failed" and result.error.startswith("fold 1 did not complete: exit status 1"), result.error
    assert tally.current_fold() is None  # not inside a fold here
