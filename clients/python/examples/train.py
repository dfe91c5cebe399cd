"""A simulated training loop that logs to Tally.

    python clients/python/examples/train.py [--steps 2000] [--experiment demo]

Start the daemon first (`tally serve`, or `scripts/serve` in the repository). While it runs,
watch it from another terminal with `python clients/python/examples/watch.py`; afterwards list it
with `tally runs ls`.
"""
import argparse
import math
import os
import random
import tempfile
import time

import tally


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiment", default="demo")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--delay", type=float, default=0.002, help="seconds of 'work' per step")
    args = parser.parse_args()

    params = {"lr": args.lr, "batch": 128, "optimizer": {"name": "adamw", "weight_decay": 0.01}}
    with tally.start_run(experiment=args.experiment, params=params, tags=["example"]) as run:
        print(f"run {run.id} in experiment {args.experiment!r}")
        for step in range(args.steps):
            time.sleep(args.delay)  # the forward and backward pass would be here
            progress = step / args.steps
            loss = 2.5 * math.exp(-4 * progress) + random.gauss(0, 0.05)
            acc = 1 - 0.9 * math.exp(-5 * progress) + random.gauss(0, 0.01)
            run.log({"train/loss": loss, "train/acc": acc}, step=step)
            if step % 500 == 499:
                run.log({"val/acc": acc - 0.02}, step=step)
        with tempfile.TemporaryDirectory() as tmp:
            model = os.path.join(tmp, "model.pt")
            with open(model, "wb") as f:
                f.write(os.urandom(1 << 20))  # stand-in for torch.save(model.state_dict(), model)
            artifact = run.log_artifact(model, type="model", aliases=["best"])
        print(f"logged {args.steps} steps and {artifact.name} v{artifact.version}")
    info = tally.get_run(run.id)
    print(f"run {info.id}: {info.status}, final train/loss {info.metrics['train/loss'].last:.3f}")


if __name__ == "__main__":
    main()
