"""tally.integrations.lightning against a real daemon: a tiny model trained for two epochs by a
real Lightning Trainer, its params, metrics, checkpoints and end read back through the client.
Needs torch and lightning (scripts/test-integrations installs them)."""
import pytest

pytest.importorskip("torch")
pytest.importorskip("lightning")

import torch
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import Logger
from torch.utils.data import DataLoader, TensorDataset

import tally
from tally.integrations.lightning import TallyLogger
from tally.v1 import tracking_pb2

# Lightning 2.6 on torch 2.15 warns about its own use of torch's pytree.
pytestmark = pytest.mark.filterwarnings("ignore:.*LeafSpec")


STEPS_PER_EPOCH = 4  # 32 samples, batches of 8


class Tiny(LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 4, fail_at_step: int = -1, layers=(4, 1)) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
        self.steps_logged = []  # the trainer's global step at each training step

    def training_step(self, batch, batch_idx):
        if self.global_step == self.hparams.fail_at_step:
            raise RuntimeError("the loss exploded")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        self.steps_logged.append(self.global_step)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def loaders():
    torch.manual_seed(0)
    x = torch.randn(32, 2)
    y = x.sum(dim=1, keepdim=True)
    data = TensorDataset(x, y)
    return DataLoader(data, batch_size=8), DataLoader(data, batch_size=16)


def trainer(logger, tmp_path, **options):
    options.setdefault("max_epochs", 2)
    return Trainer(logger=logger, log_every_n_steps=1, accelerator="cpu", devices=1,
                   enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
                   num_sanity_val_steps=0, **options)


def test_a_fit_logs_params_metrics_and_checkpoints_and_ends_the_run_completed(daemon, client, tmp_path):
    logger = TallyLogger(experiment="lightning-tiny", name="sgd", params={"data": "sum"}, client=client, log_model=True)
    assert isinstance(logger, Logger)
    model = Tiny()
    checkpoints = ModelCheckpoint(monitor="val_loss", save_top_k=1, save_last=True)
    train, val = loaders()
    trainer(logger, tmp_path, callbacks=[checkpoints]).fit(model, train, val)

    run_id = logger.version
    assert logger.name == "lightning-tiny" and logger.experiment.id == run_id
    info = client.get_run(run_id)
    assert info.status == "completed" and info.name == "sgd"
    assert info.params["data"] == "sum"
    assert info.params["lr"] == 0.05 and info.params["hidden"] == 4 and info.params["fail_at_step"] == -1
    assert info.params["layers"] == "(4, 1)"  # not a scalar: stored as text

    curves = client.history(run_id)
    # One point per training step, at the trainer's global step when it was logged.
    assert model.steps_logged == list(range(2 * STEPS_PER_EPOCH))
    assert curves["train_loss"].steps == model.steps_logged
    assert curves["val_loss"].steps == [STEPS_PER_EPOCH - 1, 2 * STEPS_PER_EPOCH - 1]
    assert curves["val_loss"].values[-1] == pytest.approx(float(checkpoints.current_score), rel=1e-6)

    # Every checkpoint saved was uploaded; `best` is the best one's, `latest` the newest.
    versions = [a for a in info.artifacts if a.name == f"model-{run_id}.ckpt"]
    assert versions and all(a.type == tracking_pb2.ARTIFACT_TYPE_MODEL for a in versions)
    [best] = [a for a in versions if "best" in a.aliases]
    assert best.metadata["filename"] == checkpoints.best_model_path.rsplit("/", 1)[-1]
    assert best.metadata["monitor"] == "val_loss"
    assert float(best.metadata["score"]) == pytest.approx(float(checkpoints.best_model_score))
    assert {a.metadata["filename"] for a in versions} >= {"last.ckpt"}
    path = client.download_artifact(tmp_path / "best.ckpt", experiment="lightning-tiny", name=f"model-{run_id}.ckpt",
                                    alias="best")
    assert path.sha256 == best.sha256
    state = torch.load(tmp_path / "best.ckpt", weights_only=False)
    assert set(state["state_dict"]) == set(model.state_dict())


def test_a_failing_training_ends_the_run_failed_with_the_exception(daemon, client, tmp_path):
    logger = TallyLogger(experiment="lightning-tiny", client=client)
    train, val = loaders()
    with pytest.raises(RuntimeError, match="the loss exploded"):
        trainer(logger, tmp_path).fit(Tiny(fail_at_step=5), train, val)
    info = client.get_run(logger.version)
    assert info.status == "failed" and "RuntimeError: the loss exploded" in info.error
    assert client.history(logger.version, ["train_loss"])["train_loss"].steps == [0, 1, 2, 3, 4]


def test_a_given_run_is_left_to_its_owner_and_test_after_fit_resumes_an_owned_run(daemon, client, tmp_path):
    train, val = loaders()
    with client.start_run("lightning-tiny", name="mine") as run:
        logger = TallyLogger(run=run)
        trainer(logger, tmp_path, max_epochs=1).fit(Tiny(), train, val)
        assert logger.version == run.id and logger.name == "lightning-tiny"
        assert client.get_run(run.id).status == "running"
    assert client.get_run(run.id).status == "completed"

    logger = TallyLogger(experiment="lightning-tiny")  # the default client
    t = trainer(logger, tmp_path, max_epochs=1)
    model = Tiny()
    t.fit(model, train, val)
    assert tally.get_run(logger.version).status == "completed"
    t.validate(model, val, verbose=False)  # logs again: the run is resumed, then ended again
    info = tally.get_run(logger.version)
    assert info.status == "completed" and info.metrics["val_loss"].count == 2

