"""scikit-learn estimators and hyperparameter searches, logged to Tally.

```python
import tally
from tally.integrations.sklearn import log_estimator, log_search

with tally.start_run("iris") as run:
    search = GridSearchCV(LogisticRegression(max_iter=500), {"C": [0.1, 1, 10]}, cv=5).fit(X_train, y_train)
    log_search(run, search)                                        # a child run per candidate
    log_estimator(run, search.best_estimator_, X_test, y_test)     # params and test scores
```

scikit-learn is imported when a function is called, not when this module is imported.
"""

import importlib
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from tally import Run
from tally.integrations._common import experiment_name, flatten, key, log_params, require, scalar

_SPLIT = re.compile(r"split(\d+)_(.+)")


def _metrics() -> Any:
    require("sklearn", "sklearn", "scikit-learn")
    return importlib.import_module("sklearn.metrics")


def estimator_params(estimator: Any) -> Dict[str, Any]:
    """Every param of `estimator.get_params()` (deep: a pipeline's steps as `step__param`) as a
    Tally param: numbers, strings and booleans as they are, None as "None", an estimator as its
    class name, anything else as text."""
    return flatten(estimator.get_params(deep=True), only_scalars=False)


def estimator_scores(estimator: Any, X_test: Any, y_test: Any, *, prefix: str = "test_") -> Dict[str, float]:
    """The test scores that fit the estimator's type: `accuracy`, `f1_macro`, `precision_macro`,
    `recall_macro` for a classifier; `r2`, `mae`, `rmse` for a regressor; nothing for another
    kind. Keys start with `prefix`."""
    base = require("sklearn.base", "sklearn", "scikit-learn")
    metrics = _metrics()
    if base.is_classifier(estimator):
        predicted = estimator.predict(X_test)
        return {
            f"{prefix}accuracy": float(metrics.accuracy_score(y_test, predicted)),
            f"{prefix}f1_macro": float(metrics.f1_score(y_test, predicted, average="macro", zero_division=0)),
            f"{prefix}precision_macro": float(metrics.precision_score(y_test, predicted, average="macro",
                                                                       zero_division=0)),
            f"{prefix}recall_macro": float(metrics.recall_score(y_test, predicted, average="macro", zero_division=0)),
        }
    if base.is_regressor(estimator):
        predicted = estimator.predict(X_test)
        return {
            f"{prefix}r2": float(metrics.r2_score(y_test, predicted)),
            f"{prefix}mae": float(metrics.mean_absolute_error(y_test, predicted)),
            f"{prefix}rmse": math.sqrt(float(metrics.mean_squared_error(y_test, predicted))),
        }
    return {}


def log_estimator(run: Run, estimator: Any, X_test: Any = None, y_test: Any = None, *,
                  prefix: str = "test_") -> Dict[str, float]:
    """Logs an estimator to `run`: every param of `get_params()` (see `estimator_params`), the tag
    `estimator` (its class name), and, given `X_test` and `y_test`, its test scores (see
    `estimator_scores`) at the next step of each (0 the first time). Returns the scores.

    A param the run already has with another value is kept, with a warning (params cannot
    change): log a second estimator to a run of its own."""
    params = estimator_params(estimator)
    if params:
        log_params(run, params)
    run.set_tags({"estimator": type(estimator).__name__})
    if X_test is None or y_test is None:
        return {}
    scores = estimator_scores(estimator, X_test, y_test, prefix=prefix)
    if scores:
        run.log(scores)
    return scores


def _candidate_metrics(results: Mapping[str, Any], index: int) -> Tuple[Dict[str, List[float]], Dict[str, float]]:
    """A candidate's numbers from `cv_results_`: `split<k>_<name>` as the series `<name>` (one
    value per fold, in fold order), and the others (`mean_*`, `std_*`, `rank_*`, …) alone."""
    folds: Dict[str, Dict[int, float]] = {}
    single: Dict[str, float] = {}
    for name, column in results.items():
        if name == "params" or name.startswith("param_"):
            continue
        try:
            value = float(column[index])  # NaN: a fit that failed (error_score=nan)
        except (TypeError, ValueError, IndexError, KeyError):
            continue
        split = _SPLIT.fullmatch(name)
        if split:
            folds.setdefault(key(split.group(2)), {})[int(split.group(1))] = value
        else:
            single[key(name)] = value
    return {name: [values[k] for k in sorted(values)] for name, values in folds.items()}, single


def log_search(run: Run, search: Any, *, experiment: Optional[str] = None) -> List[str]:
    """Logs a fitted `GridSearchCV` or `RandomizedSearchCV` (or another search with
    `cv_results_`) to `run` and returns the ids of the child runs it made, one per candidate in
    `cv_results_` order.

    Each child run (`parent=run`, named `candidate-<i>`, tagged `candidate=<i>`, in the parent's
    experiment unless `experiment` names another) gets the candidate's params, the fold scores
    `split<k>_test_score` as the series `test_score` with step k (likewise `train_score` with
    `return_train_score`, and `test_<name>` per scorer when there are several), and `mean_*`,
    `std_*` and `rank_*` (`mean_fit_time`, `mean_score_time`, `rank_test_score`, …) at step 0. It
    ends `completed`, or `failed` when every fold of it failed (its test scores are all NaN).

    The parent gets `best_params_` as params `best.<name>`, `best_score_` as the metric
    `best_score`, and the tag `best_run` naming the best candidate's child run."""
    results: Mapping[str, Any] = getattr(search, "cv_results_", None) or {}
    if not results or "params" not in results:
        raise ValueError("log_search needs a fitted search with cv_results_ (GridSearchCV, RandomizedSearchCV, …)")
    target = experiment or experiment_name(run)
    children: List[str] = []
    for index, candidate in enumerate(results["params"]):
        folds, single = _candidate_metrics(results, index)
        test = [v for name, values in folds.items() if name.startswith("test_") for v in values]
        failed = bool(test) and all(math.isnan(v) for v in test)
        with run.client.start_run(target, name=f"candidate-{index}", params=flatten(candidate, only_scalars=False),
                                  tags={"candidate": str(index)}, parent=run) as child:
            for name, values in folds.items():
                for step, value in enumerate(values):
                    child.log({name: value}, step=step)
            if single:
                child.log(single, step=0)
            if failed:
                child.end("failed", error="every fold of this candidate failed to fit or score")
        children.append(child.id)
    best_params = getattr(search, "best_params_", None)
    if isinstance(best_params, Mapping):
        log_params(run, flatten(best_params, "best.", only_scalars=False))
    best_score = getattr(search, "best_score_", None)
    if best_score is not None:
        run.log({"best_score": float(best_score)})
    best_index = scalar(getattr(search, "best_index_", None))
    if isinstance(best_index, int) and not isinstance(best_index, bool) and 0 <= best_index < len(children):
        run.set_tags({"best_run": children[best_index]})
    return children


__all__ = ["log_estimator", "log_search", "estimator_params", "estimator_scores"]
