"""deepscope.integrations.DeepscopeCallback with a real transformers.Trainer and a tiny random BERT."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

import deepscope as ds

transformers = pytest.importorskip("transformers")
from deepscope.debug import numerics  # noqa: E402
from deepscope.integrations import DeepscopeCallback  # noqa: E402


@pytest.fixture(autouse=True)
def _hide_shadowed_datasets(monkeypatch):
    # pytest's default import mode puts tests/ on sys.path, where tests/datasets (deepscope's own
    # dataset tests) shadows Hugging Face's `datasets`, which transformers then takes for installed.
    spec = importlib.util.find_spec("datasets")
    tests = Path(__file__).resolve().parents[1]
    if spec is not None and spec.origin and Path(spec.origin).resolve().is_relative_to(tests):
        monkeypatch.setattr(transformers.trainer, "is_datasets_available", lambda: False)


def tiny_bert():
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=16, num_labels=2,
    )  # fmt: skip
    return transformers.BertForSequenceClassification(config)


def examples(n=16, length=8):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, 50, (n, length), generator=generator)
    return [
        {"input_ids": ids[i], "attention_mask": torch.ones(length, dtype=torch.long), "labels": int(ids[i, 0] % 2)}
        for i in range(n)
    ]  # fmt: skip


def arguments(tmp_path, **overrides):
    options = dict(
        output_dir=str(tmp_path / "out"), max_steps=4, per_device_train_batch_size=4,
        per_device_eval_batch_size=8, learning_rate=1e-3, logging_steps=1, report_to=[],
        save_strategy="no", use_cpu=True, disable_tqdm=True, seed=0,
    )  # fmt: skip
    options.update(overrides)
    return transformers.TrainingArguments(**options)


def test_logs_scalars_hparams_and_histograms_into_its_own_run(tmp_path):
    logdir = tmp_path / "logs"
    model = tiny_bert()
    args = arguments(tmp_path, eval_strategy="steps", eval_steps=2)
    callback = DeepscopeCallback(logdir, name="hf-run", histograms=True, histogram_every=2)
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=examples(),
        eval_dataset=examples(8),
        callbacks=[callback],
    )
    trainer.train()

    store = ds.open_logdir(logdir)
    info = store.runs().set_index("run").loc["hf-run"]
    assert info["status"] == "finished"
    hparams = info["hparams"]
    assert hparams["learning_rate"] == 1e-3 and hparams["per_device_train_batch_size"] == 4
    assert hparams["max_steps"] == 4 and hparams["model/hidden_size"] == 16
    tags = set(store.scalar_tags())
    assert {"train/loss", "train/learning_rate", "train/grad_norm", "eval/loss"} <= tags
    assert store.scalars(["train/loss"]).step.tolist() == [1, 2, 3, 4]
    assert store.scalars(["eval/loss"]).step.tolist() == [2, 4]
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert {f"weights/{name}", f"gradients/{name}", "weights/classifier.bias"} <= set(store.histogram_tags())
    gradients = store.histograms(f"gradients/{name}")
    assert gradients.step.tolist() == [2, 4] and (gradients["max"] > gradients["min"]).all()


def test_with_a_run_and_a_numerics_debugger(tmp_path):
    model = tiny_bert()
    with ds.Run(tmp_path, name="given") as run, numerics(model, run=run) as dbg:
        callback = DeepscopeCallback(run, numerics=dbg)
        trainer = transformers.Trainer(
            model=model,
            args=arguments(tmp_path, max_steps=3),
            train_dataset=examples(),
            callbacks=[callback],
        )
        trainer.train()
        assert run.status == "running"  # the caller's run stays open
        assert dbg.current_step == 3
    assert dbg.first_nonfinite is None
    stats = dbg.stats()
    assert "bert.encoder.layer.0.attention.self.query" in set(stats.module)
    assert sorted(stats.step.unique()) == [0, 1, 2]
    store = ds.open_logdir(tmp_path)
    assert store.scalars(["train/loss"]).step.tolist() == [1, 2, 3]
    assert len(store.table("given", "numerics")) == len(stats)
    info = store.runs().set_index("run").loc["given"]
    hparams = {**info["hparams"], **info["meta"].get("hparams", {})}
    assert hparams["max_steps"] == 3
    assert info["meta"]["numerics_first_nonfinite"] is None


def test_bad_arguments():
    with pytest.raises(ds.errors.ArgumentTypeError, match="run_or_logdir"):
        DeepscopeCallback(42)
    with pytest.raises(ds.errors.InvalidArgumentError, match="histogram_every"):
        DeepscopeCallback("logs", histogram_every=0)
