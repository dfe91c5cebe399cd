"""A trial script for `tally agent`: a linear model fitted by gradient descent to a synthetic
regression problem, scored by 5-fold cross-validation (no scikit-learn, no numpy).

    sweep=$(tally sweeps create --param lr=float:0.001:1:log --param l2=float:1e-5:1:log \\
        --param epochs=int:5:80 --method bayesian --max-trials 30 --parallel 3 --metric val_mse)
    tally agent "$sweep" --parallel 3 -- python clients/python/examples/sweep_trial.py

Under the agent the params arrive as --lr=… --l2=… --epochs=… and through
`tally.current_trial()`, which also reports the folds' scores and gives the trial's run for the
per-fold curves. Run on its own, it takes the same options (or defaults) and prints the folds.
"""
import argparse
import json
import random

import tally


def make_data(n=240, features=6, noise=0.3, seed=0):
    rng = random.Random(seed)
    weights = [rng.uniform(-2, 2) for _ in range(features)]
    X = [[rng.gauss(0, 1) for _ in range(features)] for _ in range(n)]
    y = [sum(w * x for w, x in zip(weights, row)) + 0.5 + rng.gauss(0, noise) for row in X]
    return X, y


def fit(X, y, lr, l2, epochs):
    """Full-batch gradient descent on the mean squared error plus an L2 penalty."""
    w = [0.0] * len(X[0])
    b = 0.0
    n = len(X)
    for _ in range(epochs):
        grad_w = [0.0] * len(w)
        grad_b = 0.0
        for row, target in zip(X, y):
            err = sum(wi * xi for wi, xi in zip(w, row)) + b - target
            for i, xi in enumerate(row):
                grad_w[i] += err * xi
            grad_b += err
        w = [wi - lr * (2 * g / n + 2 * l2 * wi) for wi, g in zip(w, grad_w)]
        b -= lr * 2 * grad_b / n
    return w, b


def mse(model, X, y):
    w, b = model
    return sum((sum(wi * xi for wi, xi in zip(w, row)) + b - t) ** 2 for row, t in zip(X, y)) / len(X)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--l2", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    trial = tally.current_trial()  # None when not started by `tally agent`

    X, y = make_data()
    k = 5
    size = len(X) // k
    scores = []
    for fold in range(k):
        lo, hi = fold * size, (fold + 1) * size
        model = fit(X[:lo] + X[hi:], y[:lo] + y[hi:], args.lr, args.l2, args.epochs)
        score = mse(model, X[lo:hi], y[lo:hi])
        scores.append(score if score == score and score < 1e6 else 1e6)  # diverged: a bad score
        if trial:
            trial.run.log({"fold_val_mse": scores[-1]}, step=fold)
    if trial:
        trial.report(folds=scores)
        print(f"val_mse {sum(scores) / k:.4f} over {k} folds")
    else:
        print(json.dumps({"folds": scores}))


if __name__ == "__main__":
    main()
