"""tally.integrations.transformers against a real daemon: a 2-layer BERT with a tiny vocabulary,
built from a config (nothing downloaded), trained on an in-memory dataset by a real Trainer; its
params, metrics and model read back through the client. Needs torch and transformers
(scripts/test-integrations installs them)."""
import tarfile

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from transformers.integrations import integration_utils

import tally
from tally.integrations import transformers as tally_hf
from tally.integrations.transformers import TallyCallback

TRAIN = 16  # examples; batches of 4: 4 steps an epoch
EPOCHS = 2


class Examples(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 30, (n, 8), generator=g)
        self.labels = (self.ids[:, 0] > 15).long()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "attention_mask": torch.ones(8, dtype=torch.long), "labels": self.labels[i]}


def tiny_bert():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=32, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    return BertForSequenceClassification(config)


def arguments(tmp_path, **options):
    defaults = dict(output_dir=str(tmp_path / "out"), num_train_epochs=EPOCHS, per_device_train_batch_size=4,
                    per_device_eval_batch_size=8, learning_rate=1e-3, logging_steps=1, eval_strategy="epoch",
                    save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True, seed=0)
    defaults.update(options)
    return TrainingArguments(**defaults)


def compute_metrics(prediction):
    logits, labels = prediction
    return {"accuracy": float((logits.argmax(-1) == labels).mean())}


def test_a_training_logs_arguments_config_metrics_and_the_model(daemon, client, tmp_path):
    callback = TallyCallback(experiment="hf-tiny", name="bert", params={"data": "random"}, client=client, log_model=True)
    model = tiny_bert()
    trainer = Trainer(model=model, args=arguments(tmp_path), train_dataset=Examples(TRAIN, 0),
                      eval_dataset=Examples(8, 1), compute_metrics=compute_metrics, callbacks=[callback])
    trainer.train()

    run = callback.run
    assert run is not None
    info = client.get_run(run.id)
    assert info.status == "completed" and info.name == "bert"
    # The training arguments, and the model's config under model., flattened; JSON scalars only.
    assert info.params["data"] == "random"
    assert info.params["learning_rate"] == 1e-3 and info.params["num_train_epochs"] == EPOCHS
    assert info.params["per_device_train_batch_size"] == 4 and info.params["seed"] == 0
    assert info.params["model.hidden_size"] == 16 and info.params["model.num_hidden_layers"] == 2
    assert info.params["model.vocab_size"] == 32 and info.params["model.id2label.0"] == "LABEL_0"
    assert "model.architectures" not in info.params  # a list: left out
    assert all(isinstance(v, (bool, int, float, str)) for v in info.params.values())

    steps = EPOCHS * TRAIN // 4
    curves = client.history(run.id)
    # The training loss of every step at the global step, as the Trainer logged it.
    train_logs = [h for h in trainer.state.log_history if "loss" in h]
    assert curves["loss"].steps == [h["step"] for h in train_logs] == list(range(1, steps + 1))
    assert curves["loss"].values == pytest.approx([h["loss"] for h in train_logs])
    assert curves["learning_rate"].steps == curves["loss"].steps
    # Evaluation metrics once per evaluation (on_log and on_evaluate give the same ones).
    evals = [h for h in trainer.state.log_history if "eval_loss" in h]
    assert curves["eval_loss"].steps == [h["step"] for h in evals] == [steps // 2, steps]
    assert curves["eval_accuracy"].values == pytest.approx([h["eval_accuracy"] for h in evals])
    assert curves["train_runtime"].steps == [steps]

    [artifact] = [a for a in info.artifacts if a.name == f"model-{run.id}.tar"]
    assert artifact.metadata["format"] == "tar" and "config.json" in artifact.metadata["files"].split(",")
    client.download_artifact(tmp_path / "model.tar", artifact.id)
    with tarfile.open(tmp_path / "model.tar") as tar:
        tar.extractall(tmp_path / "model")
    loaded = BertForSequenceClassification.from_pretrained(tmp_path / "model")
    for name, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value), name


def test_evaluation_metrics_come_from_on_evaluate_too_and_an_ended_run_is_resumed_for_them(daemon, client, tmp_path):
    callback = TallyCallback(experiment="hf-tiny", client=client)
    trainer = Trainer(model=tiny_bert(), args=arguments(tmp_path, num_train_epochs=1, eval_strategy="no"),
                      train_dataset=Examples(TRAIN, 0), callbacks=[callback])
    trainer.train()
    run = callback.run
    assert client.get_run(run.id).status == "completed"
    # Metrics given to on_evaluate alone (an evaluation loop of one's own) are recorded, once.
    for _ in range(2):
        callback.on_evaluate(trainer.args, trainer.state, trainer.control, metrics={"eval_extra": 0.5, "eval_loss": 0.25})
    assert callback.run.id == run.id
    callback.run.end()
    curves = client.history(run.id, ["eval_extra", "eval_loss"])
    assert curves["eval_extra"].steps == [trainer.state.global_step] and curves["eval_loss"].values == [0.25]
    assert client.get_run(run.id).status == "completed"


def test_a_given_run_is_not_ended_by_the_callback(daemon, client, tmp_path):
    with client.start_run("hf-tiny", name="mine") as run:
        trainer = Trainer(model=tiny_bert(), args=arguments(tmp_path, num_train_epochs=1, eval_strategy="no"),
                          train_dataset=Examples(TRAIN, 0), callbacks=[TallyCallback(run=run)])
        trainer.train()
        assert client.get_run(run.id).status == "running"
        run.log({"after": 1.0})
    info = client.get_run(run.id)
    assert info.status == "completed" and info.metrics["loss"].count == TRAIN // 4 and "after" in info.metrics
    assert info.params["num_train_epochs"] == 1


def test_report_to_tally_after_register(daemon, tmp_path, monkeypatch):
    assert "tally" not in integration_utils.INTEGRATION_TO_CALLBACK
    with pytest.raises(ValueError, match="tally is not supported"):
        Trainer(model=tiny_bert(), args=arguments(tmp_path, report_to="tally", eval_strategy="no"), train_dataset=Examples(TRAIN, 0))

    monkeypatch.delitem(integration_utils.INTEGRATION_TO_CALLBACK, "tally", raising=False)  # undone at the end
    registered = tally_hf.register(experiment="hf-registered", tags=["report_to"])
    assert integration_utils.INTEGRATION_TO_CALLBACK["tally"] is registered and issubclass(registered, TallyCallback)
    trainer = Trainer(model=tiny_bert(),
                      args=arguments(tmp_path, report_to=["tally"], num_train_epochs=1, eval_strategy="no",
                                     run_name="from-args"),
                      train_dataset=Examples(TRAIN, 0))
    [callback] = [c for c in trainer.callback_handler.callbacks if isinstance(c, TallyCallback)]
    trainer.train()
    info = tally.get_run(callback.run.id)  # the default client
    assert info.status == "completed" and info.name == "from-args" and "report_to" in info.tags
    assert info.metrics["loss"].count == TRAIN // 4
    [experiment] = tally.list_experiments(name="hf-registered")
    assert info.experiment_id == experiment.id


def test_the_experiment_defaults_to_the_arguments_project(daemon, client, tmp_path):
    callback = TallyCallback(client=client)
    Trainer(model=tiny_bert(), args=arguments(tmp_path, num_train_epochs=1, eval_strategy="no", project="hf-project"),
            train_dataset=Examples(8, 0), callbacks=[callback]).train()
    [experiment] = client.list_experiments(name="hf-project")
    assert client.get_run(callback.run.id).experiment_id == experiment.id
