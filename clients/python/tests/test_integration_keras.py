"""tally.integrations.keras against a real daemon: small models trained with the JAX backend, their
epoch and batch metrics, optimizer params and summary read back through the client.

The training runs in a child interpreter: JAX starts threads, and other tests of this process
fork (os.fork() with JAX loaded may deadlock)."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("keras") is None or importlib.util.find_spec("jax") is None,
                                reason="needs keras and jax")

EPOCHS = 3
BATCHES_PER_EPOCH = 4  # 32 samples of which 25% validate, batches of 6: ceil(24 / 6)

TRAINING = r"""
import json, os, warnings
os.environ["KERAS_BACKEND"] = "jax"
warnings.filterwarnings("ignore", category=DeprecationWarning)  # keras 3.15 on numpy 2, not ours
import keras
import numpy as np
import tally
from tally.integrations.keras import TallyCallback

rng = np.random.default_rng(0)
x = rng.normal(size=(32, 4)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("float32")

def model():
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"),
                          keras.layers.Dense(1, activation="sigmoid")], name="tiny")
    m.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="binary_crossentropy", metrics=["accuracy"])
    return m

out = {}
# A run the callback starts, through a client of its own, with batch metrics and the summary.
callback = TallyCallback(experiment="keras-tiny", name="dense", params={"seed": 0}, client=tally.connect(),
                         log_every_n_batches=2)
history = model().fit(x, y, epochs=EPOCHS, batch_size=6, validation_split=0.25, verbose=0, callbacks=[callback])
out["main"] = {"run": callback.run.id, "history": {k: [float(v) for v in vs] for k, vs in history.history.items()}}

# A given run: logged to, left open, ended by its owner.
m = model()
with tally.start_run("keras-tiny", name="given") as run:
    m.fit(x, y, epochs=2, batch_size=8, verbose=0,
          callbacks=[TallyCallback(run=run, params={"note": "given"}, log_summary=False)])
    status_during = tally.get_run(run.id).status
    run.log({"after": 1.0})
out["given"] = {"run": run.id, "status_during": status_during}

# A run the callback started (default client), ended by the first fit, resumed by the second.
callback = TallyCallback(experiment="keras-tiny", log_summary=False)
m.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[callback])
first = callback.run.id
status_between = tally.get_run(first).status
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    m.fit(x, y, epochs=3, initial_epoch=1, batch_size=8, verbose=0, callbacks=[callback])
out["resumed"] = {"first": first, "second": callback.run.id, "status_between": status_between,
                  "warnings": [str(w.message) for w in caught if issubclass(w.category, UserWarning)]}
print(json.dumps(out))
""".replace("EPOCHS", str(EPOCHS))


@pytest.fixture(scope="module")
def trained(daemon, tmp_path_factory):
    journal = tmp_path_factory.mktemp("keras-journal")
    env = {**os.environ, "TALLY_SOCKET": daemon.socket, "TALLY_AUTOSTART": "0", "TALLY_JOURNAL": str(journal)}
    proc = subprocess.run([sys.executable, "-c", TRAINING], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_fit_logs_epoch_and_batch_metrics_optimizer_params_and_the_summary(trained, client, tmp_path):
    main = trained["main"]
    info = client.get_run(main["run"])
    assert info.status == "completed" and info.name == "dense"
    assert info.params["seed"] == 0 and info.params["epochs"] == EPOCHS
    assert info.params["optimizer.name"] == "adam"
    assert info.params["optimizer.learning_rate"] == pytest.approx(0.01)
    assert info.params["optimizer.beta_1"] == pytest.approx(0.9)
    assert "optimizer.weight_decay" not in info.params  # None is left out

    curves = client.history(main["run"])
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert curves[name].steps == list(range(EPOCHS)), name
        assert curves[name].values == pytest.approx(main["history"][name], rel=1e-5), name
    # Every second batch, at the count of batches trained.
    assert curves["batch/loss"].steps == list(range(2, EPOCHS * BATCHES_PER_EPOCH + 1, 2))
    assert curves["batch/accuracy"].steps == curves["batch/loss"].steps

    [summary] = [a for a in info.artifacts if a.name == "model_summary.txt"]
    assert summary.metadata["model"] == "tiny"
    client.download_artifact(tmp_path / "summary.txt", summary.id)
    text = (tmp_path / "summary.txt").read_text()
    assert 'Model: "tiny"' in text and "Dense" in text and "Trainable params: 49" in text


def test_a_given_run_is_logged_to_and_left_to_its_owner(trained, client):
    given = trained["given"]
    assert given["status_during"] == "running"  # after fit, before the owner's end
    info = client.get_run(given["run"])
    assert info.status == "completed" and info.name == "given"
    assert info.metrics["loss"].count == 2 and "after" in info.metrics
    assert info.params["note"] == "given" and info.params["optimizer.name"].startswith("adam")
    assert [a.name for a in info.artifacts if not a.name.startswith("env/")] == []  # log_summary=False


def test_a_second_fit_resumes_the_run_the_callback_started(trained, client):
    resumed = trained["resumed"]
    assert resumed["first"] == resumed["second"] and resumed["status_between"] == "completed"
    info = client.get_run(resumed["first"])
    assert info.status == "completed"
    assert client.history(resumed["first"], ["loss"])["loss"].steps == [0, 1, 2]
    # Params cannot change: the first fit's epochs stay, with a warning.
    assert info.params["epochs"] == 1
    assert any("epochs=1 (now 3)" in w for w in resumed["warnings"]), resumed["warnings"]
