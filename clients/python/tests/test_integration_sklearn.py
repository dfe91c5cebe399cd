"""tally.integrations.sklearn against a real daemon: an estimator's params and test scores, and a
grid search as child runs, read back through the client."""
import math
import warnings

import pytest

pytest.importorskip("sklearn")

import numpy as np
from sklearn.datasets import load_iris, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, mean_squared_error, precision_score, r2_score, recall_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import tally
from tally.integrations.sklearn import log_estimator, log_search


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)


def test_a_classifier_logs_every_param_and_the_classification_scores(client, iris):
    X_train, X_test, y_train, y_test = iris
    model = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(C=0.5, max_iter=300))]).fit(X_train, y_train)
    with client.start_run("sklearn-clf") as run:
        scores = log_estimator(run, model, X_test, y_test)
    info = client.get_run(run.id)
    assert info.status == "completed"
    # get_params(deep=True): the pipeline's own, each step as its class name, each step's params.
    assert info.params["clf__C"] == 0.5 and info.params["clf__max_iter"] == 300
    assert info.params["clf"] == "LogisticRegression" and info.params["scale"] == "StandardScaler"
    assert info.params["clf__class_weight"] == "None" and info.params["scale__with_mean"] is True
    assert set(info.params) >= {k for k in model.get_params(deep=True)}
    assert info.tags["estimator"] == "Pipeline"
    predicted = model.predict(X_test)
    expected = {
        "test_accuracy": accuracy_score(y_test, predicted),
        "test_f1_macro": f1_score(y_test, predicted, average="macro"),
        "test_precision_macro": precision_score(y_test, predicted, average="macro"),
        "test_recall_macro": recall_score(y_test, predicted, average="macro"),
    }
    assert scores == pytest.approx(expected)
    assert set(info.metrics) == set(expected)
    for name, value in expected.items():
        assert info.metrics[name].count == 1 and info.metrics[name].last_step == 0
        assert info.metrics[name].last == pytest.approx(value)


def test_a_regressor_logs_r2_mae_rmse(client):
    X, y = make_regression(n_samples=80, n_features=3, noise=5.0, random_state=1)
    model = LinearRegression().fit(X[:60], y[:60])
    with client.start_run("sklearn-reg") as run:
        log_estimator(run, model, X[60:], y[60:])
    info = client.get_run(run.id)
    predicted = model.predict(X[60:])
    assert info.metrics["test_r2"].last == pytest.approx(r2_score(y[60:], predicted))
    assert info.metrics["test_mae"].last == pytest.approx(mean_absolute_error(y[60:], predicted))
    assert info.metrics["test_rmse"].last == pytest.approx(math.sqrt(mean_squared_error(y[60:], predicted)))
    assert "test_accuracy" not in info.metrics
    assert info.params["fit_intercept"] is True and info.params["n_jobs"] == "None"


def test_without_test_data_only_params_are_logged(client):
    with client.start_run("sklearn-params") as run:
        assert log_estimator(run, LogisticRegression(C=2.0)) == {}
    info = client.get_run(run.id)
    assert info.params["C"] == 2.0 and info.metrics == {}


def test_a_param_the_run_has_with_another_value_is_kept_with_a_warning(client):
    with client.start_run("sklearn-params", params={"C": 1.0}) as run:
        with pytest.warns(UserWarning, match="C=1.0"):
            log_estimator(run, LogisticRegression(C=2.0, max_iter=77))
    info = client.get_run(run.id)
    assert info.params["C"] == 1.0 and info.params["max_iter"] == 77


def test_a_grid_search_becomes_one_child_run_per_candidate(client, iris):
    X_train, _, y_train, _ = iris
    search = GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.01, 1.0, 10.0]}, cv=3).fit(X_train, y_train)
    results = search.cv_results_
    with client.start_run("sklearn-search") as run:
        children = log_search(run, search)
    parent = client.get_run(run.id)
    assert len(children) == 3 and parent.child_count == 3
    assert parent.params["best.C"] == search.best_params_["C"]
    assert parent.metrics["best_score"].last == pytest.approx(search.best_score_)
    assert parent.tags["best_run"] == children[search.best_index_]
    for i, child_id in enumerate(children):
        child = client.get_run(child_id)
        assert child.parent_run_id == run.id and child.experiment_id == parent.experiment_id
        assert child.status == "completed" and child.name == f"candidate-{i}" and child.tags["candidate"] == str(i)
        assert child.params == {"C": results["params"][i]["C"]}
        folds = client.history(child_id, ["test_score"])["test_score"]
        assert folds.steps == [0, 1, 2]
        assert folds.values == pytest.approx([results[f"split{k}_test_score"][i] for k in range(3)])
        for name in ("mean_test_score", "std_test_score", "mean_fit_time", "mean_score_time"):
            assert child.metrics[name].last == pytest.approx(float(results[name][i])), name
        assert child.metrics["rank_test_score"].last == results["rank_test_score"][i]


def test_a_candidate_whose_every_fold_failed_ends_failed(client):
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([0, 1, 0, 1, 0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns about the failed fits
        search = GridSearchCV(LogisticRegression(), {"C": [1.0, -1.0]}, cv=2, error_score=np.nan).fit(X, y)
    with client.start_run("sklearn-search-fail") as run:
        children = log_search(run, search)
    ok, bad = (client.get_run(c) for c in children)
    assert ok.status == "completed"
    assert bad.status == "failed" and "every fold" in bad.error
    assert all(math.isnan(v) for v in client.history(bad.id, ["test_score"])["test_score"].values)


def test_log_search_needs_a_fitted_search(client):
    with client.start_run("sklearn-search") as run:
        with pytest.raises(ValueError, match="cv_results_"):
            log_search(run, GridSearchCV(LogisticRegression(), {"C": [1.0]}))
