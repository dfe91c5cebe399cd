"""A hyperparameter sweep of a simulated training function.

    python clients/python/examples/sweep.py [--method bayesian] [--trials 30] [--workers 2]

creates a sweep, evaluates its trials in worker threads (each trial logs a loss curve to its run
and reports intermediate values, so the median pruner can stop poor trials early) and prints the
results. Start the daemon first (`tally serve`, or `scripts/serve` in the repository).

The same file is also a trial program for `tally agent`, which runs it once per trial with the
trial in its environment (and the params as --name=value arguments, which --trial ignores):

    sweep=$(python clients/python/examples/sweep.py --create-only)    # prints the sweep's id
    tally agent "$sweep" --parallel 2 -- python clients/python/examples/sweep.py --trial
"""
import argparse
import math
import random
import threading
import time

import tally


def train(trial: tally.Trial, epochs: int = 20, delay: float = 0.005) -> float:
    """A stand-in for training: the validation loss falls towards a floor set by the params."""
    lr, layers, dropout = trial.params["lr"], trial.params["layers"], trial.params["dropout"]
    floor = (math.log10(lr) + 2.5) ** 2 / 4 + 0.05 * (layers - 4) ** 2 + (0.2 if trial.params["optimizer"] == "sgd" else 0)
    rng = random.Random(trial.number)
    loss = floor + 2.0
    for epoch in range(epochs):
        time.sleep(delay)  # the epoch's work would be here
        loss = floor + 2.0 * math.exp(-0.3 * (epoch + 1)) * (1 + dropout) + rng.gauss(0, 0.01)
        trial.run.log({"val_loss": loss, "lr": lr}, step=epoch)
        if trial.report_intermediate(epoch, loss):
            return loss  # pruned: the trial has ended, nothing to report
    return loss


def create(method: str, trials: int) -> tally.Sweep:
    return tally.create_sweep(
        {
            "lr": tally.loguniform(1e-5, 1e-1),
            "layers": tally.int_range(1, 8),
            "dropout": tally.uniform(0.0, 0.5, step=0.1),
            "optimizer": ["adam", "sgd"],
        },
        method=method, max_trials=trials, max_parallel=2, seed=7, fixed={"epochs": 20},
        pruner={"min_trials": 5, "warmup_steps": 5}, objective="val_loss", experiment="sweep-example")


def worker(sweep: tally.Sweep, name: str) -> None:
    for trial in sweep.trials(worker=name):
        with trial:  # an exception fails the trial with its text
            loss = train(trial)
            if not trial.ended:  # not pruned
                trial.report(loss)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", default="bayesian", choices=["grid", "random", "bayesian"])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--create-only", action="store_true", help="create the sweep and print its id")
    parser.add_argument("--trial", action="store_true", help="evaluate the trial of `tally agent`")
    args, unknown = parser.parse_known_args()
    if unknown and not args.trial:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")

    if args.trial:
        trial = tally.current_trial()
        if trial is None:
            raise SystemExit("--trial runs under `tally agent` (no TALLY_TRIAL_ID in the environment)")
        with trial:
            loss = train(trial)
            if not trial.ended:
                trial.report(loss)
        return

    sweep = create(args.method, args.trials)
    if args.create_only:
        print(sweep.id)
        return
    print(f"sweep {sweep.id}: {args.trials} trials, {args.method}, {args.workers} workers")
    threads = [threading.Thread(target=worker, args=(sweep, f"thread-{i}")) for i in range(args.workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = sweep.wait()
    print(f"{results.completed} completed, {results.pruned} pruned, {results.failed} failed "
          f"in {results.tuning_time:.1f}s")
    print(f"best val_loss {results.best_score:.4f} with {results.best_params}")


if __name__ == "__main__":
    main()
