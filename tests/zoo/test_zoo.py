"""zoo: each default model learns what it should, the cache round-trips, runs get logged."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepscope import zoo
from deepscope.datasets import reviews
from deepscope.datasets.reviews import NEGATIVE_NAMES, POSITIVE_NAMES
from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.zoo import api

pytestmark = pytest.mark.xdist_group("zoo")  # one worker trains each model once

ACCURACY = {
    "shapes_cnn": 0.90,
    "digits_cnn": 0.95,
    "loans_mlp": 0.75,
    "reviews_gru": 0.80,
    "reviews_transformer": 0.80,
}


def _held_out_inputs(name: str):
    _, test = zoo.splits(name)
    if name.startswith("reviews"):
        return test.texts, test.labels
    if name == "loans_mlp":
        return test.train, test.train[test.label].to_numpy()
    return test.images, test.labels


def test_names() -> None:
    assert zoo.names() == [
        "shapes_cnn",
        "digits_cnn",
        "loans_mlp",
        "reviews_gru",
        "reviews_transformer",
        "reviews_lm",
    ]
    assert zoo.defaults("shapes_cnn")["width"] > 0 and "lr" in zoo.defaults("reviews_lm")


@pytest.mark.parametrize("name", list(ACCURACY))
def test_default_model_reaches_its_accuracy_on_held_out_data(name: str, trained) -> None:
    result, _ = trained(name)
    inputs, labels = _held_out_inputs(name)
    accuracy = float((result.model.predict(inputs).argmax(axis=1) == labels).mean())
    assert accuracy >= ACCURACY[name]
    assert result.metrics["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert result.model.labels == list(zoo.splits(name)[0].class_names)
    assert result.model.name == name
    assert all(isinstance(v, float) for v in result.metrics.values())


def test_language_model_beats_a_uniform_guess(trained) -> None:
    result, _ = trained("reviews_lm")
    model = result.model
    _, test = zoo.splits("reviews_lm")
    batch = model.tokenizer(test.texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model.module(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    vocab = len(model.tokenizer)
    assert logits.shape == (len(test.texts), batch["input_ids"].shape[1], vocab)
    keep = batch["attention_mask"][:, 1:].bool()
    loss = F.cross_entropy(logits[:, :-1][keep], batch["input_ids"][:, 1:][keep])
    perplexity = math.exp(float(loss))
    assert perplexity < vocab / 10
    assert result.metrics["perplexity"] == pytest.approx(perplexity, rel=1e-4)
    assert result.metrics["uniform_perplexity"] == vocab


@pytest.mark.parametrize("name", ["reviews_gru", "reviews_transformer"])
def test_text_models_fail_on_double_negation(name: str, trained) -> None:
    model = trained(name)[0].model

    def accuracy(phenomenon: str) -> float:
        challenge = reviews(n=400, seed=11, mix={phenomenon: 1.0})
        return float((model.predict(challenge.texts).argmax(axis=1) == challenge.labels).mean())

    plain, double = accuracy("plain"), accuracy("double_negation")
    assert plain >= 0.95
    assert plain - double >= 0.2


def test_transformer_picks_up_the_planted_name_cue(trained) -> None:
    model = trained("reviews_transformer")[0].model
    frame = reviews(n=1000, seed=21).frame
    frame = frame[frame["name"].isin(POSITIVE_NAMES)]
    swap = dict(zip(POSITIVE_NAMES, NEGATIVE_NAMES, strict=True))
    swapped = [text.replace(name, swap[name]) for text, name in zip(frame["text"], frame["name"], strict=True)]
    shift = model.predict_proba(frame["text"].tolist())[:, 1] - model.predict_proba(swapped)[:, 1]
    assert shift.mean() > 0.05


def test_training_logs_each_epoch_and_records_the_model(trained) -> None:
    result, run = trained("reviews_gru")
    epochs = zoo.defaults("reviews_gru")["epochs"]
    assert [step for _, step in run.logged] == list(range(1, epochs + 1))
    assert all(set(values) == {"train/loss", "val/loss", "val/accuracy"} for values, _ in run.logged)
    assert run.logged[-1][0]["val/accuracy"] == pytest.approx(result.metrics["accuracy"])
    meta = run.meta["zoo_model"]
    assert meta["name"] == "reviews_gru" and meta["seed"] == 0
    assert meta["hparams"] == zoo.defaults("reviews_gru")
    assert Path(meta["weights"]) == result.weights_path and result.weights_path.is_file()
    json.dumps(meta)  # JSON-able, as Run.set_meta needs


@pytest.mark.parametrize("name", zoo.names())
def test_cache_round_trip_gives_identical_predictions_without_training(name, trained, monkeypatch) -> None:
    result, _ = trained(name)

    def no_training(*args, **kwargs):
        raise AssertionError("get() trained although the model was cached")

    monkeypatch.setattr(api, "train", no_training)
    cached = zoo.get(name)
    assert cached is not result.model
    if name == "reviews_lm":
        inputs = result.model.tokenizer(zoo.splits(name)[1].texts[:20], padding=True, return_tensors="pt")
        with torch.no_grad():
            assert torch.equal(result.model.module(**inputs), cached.module(**inputs))
    else:
        inputs, _ = _held_out_inputs(name)
        assert np.array_equal(result.model.predict(inputs), cached.predict(inputs))
    loaded = zoo.load_weights(name, result.weights_path)
    for key, value in result.model.module.state_dict().items():
        assert torch.equal(value, loaded.module.state_dict()[key])
    if name == "loans_mlp":
        inputs, _ = _held_out_inputs(name)
        assert np.array_equal(result.model.predict(inputs), loaded.predict(inputs))


@pytest.mark.parametrize("name", zoo.names())
def test_cache_folder_holds_safetensors_and_json_only(name, trained) -> None:
    result, _ = trained(name)
    folder = result.weights_path.parent
    files = sorted(p.name for p in folder.iterdir())
    assert result.weights_path.suffix == ".safetensors"
    assert all(f.endswith((".safetensors", ".json")) for f in files)
    if name.startswith("reviews"):
        assert "tokenizer.json" in files
        assert zoo.WordTokenizer.load(folder / "tokenizer.json") == result.model.tokenizer
    if name == "loans_mlp":
        assert "encoder.json" in files
    assert folder.is_relative_to(zoo.cache_dir())


def test_cache_dir_follows_the_environment(zoo_cache: Path) -> None:
    import deepscope

    assert zoo.cache_dir() == zoo_cache / deepscope.__version__


def test_get_trains_once_per_name_seed_and_hparams(monkeypatch) -> None:
    calls = []
    real_train = api.train

    def counting_train(name, **kwargs):
        calls.append((name, kwargs))
        return real_train(name, **kwargs)

    monkeypatch.setattr(api, "train", counting_train)
    first = zoo.get("loans_mlp", epochs=2)
    again = zoo.get("loans_mlp", epochs=2, lr=zoo.defaults("loans_mlp")["lr"])  # same full hparams
    assert len(calls) == 1
    zoo.get("loans_mlp", epochs=2, seed=1)
    zoo.get("loans_mlp", epochs=2, hidden=16)
    assert len(calls) == 3
    frame = zoo.splits("loans_mlp")[1].train
    assert np.array_equal(first.predict(frame), again.predict(frame))


def test_a_corrupt_cache_entry_is_trained_again(monkeypatch) -> None:
    weights = zoo.train("loans_mlp", epochs=1, seed=5, progress=False).weights_path
    weights.write_bytes(b"not a safetensors file")
    calls = []
    real_train = api.train
    monkeypatch.setattr(api, "train", lambda name, **kw: calls.append(name) or real_train(name, **kw))
    model = zoo.get("loans_mlp", epochs=1, seed=5)
    assert calls == ["loans_mlp"] and model.module.fc1.in_features > 0


def test_training_is_deterministic_for_a_seed_and_leaves_the_global_rng_alone() -> None:
    frame = zoo.splits("loans_mlp")[1].train
    state = torch.get_rng_state()
    a = zoo.train("loans_mlp", epochs=2, seed=3, progress=False).model.predict(frame)
    assert torch.equal(torch.get_rng_state(), state)
    b = zoo.train("loans_mlp", epochs=2, seed=3, progress=False).model.predict(frame)
    c = zoo.train("loans_mlp", epochs=2, seed=4, progress=False).model.predict(frame)
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)


def test_training_does_not_depend_on_the_thread_setting() -> None:
    frame = zoo.splits("loans_mlp")[1].train
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        a = zoo.train("loans_mlp", epochs=1, seed=8, progress=False).model.module(frame)
        assert torch.get_num_threads() == 2  # restored after training
        torch.set_num_threads(1)
        b = zoo.train("loans_mlp", epochs=1, seed=8, progress=False).model.module(frame)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(a, b)


def test_loans_model_takes_raw_frames_or_encoded_floats(trained) -> None:
    model = trained("loans_mlp")[0].model
    encoder = zoo.loans_encoder()
    serving = zoo.splits("loans_mlp")[1].serving  # has missing values
    assert serving.isna().any().any()
    encoded = encoder.transform(serving)
    assert encoded.shape == (len(serving), len(encoder.feature_names))
    assert model.module.fc1.in_features == len(encoder.feature_names)
    assert np.array_equal(model.predict(serving), model.predict(encoded))
    assert np.isfinite(model.predict(serving)).all()
    assert model.gradient(serving.iloc[:4]).shape == (4, len(encoder.feature_names))
    assert [layer.name for layer in model.layers(serving.iloc[:2])][0] == "fc1"
    assert "group=B" in encoder.feature_names and "income" in encoder.feature_names


def test_text_models_work_through_the_model_adapter(trained) -> None:
    model = trained("reviews_transformer")[0].model
    assert model.is_text and model.input_embeddings() is model.module.get_input_embeddings()
    texts = ["The plot was wonderful.", "The acting was terrible."]
    batch = model.tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        direct = model.module(**batch).numpy()
    assert np.allclose(model.predict(texts), direct, atol=1e-6)
    assert model.predict(texts).argmax(axis=1).tolist() == [1, 0]


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"depth": 3}, "depth"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"dropout": 1.0}, "dropout"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_hyper_parameters_name_the_argument(kwargs: dict, argument: str) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        zoo.train("loans_mlp", **kwargs)
    assert caught.value.argument == argument


def test_unknown_model_lists_the_names() -> None:
    with pytest.raises(NotFoundError) as caught:
        zoo.get("resnet50")
    assert "shapes_cnn" in str(caught.value)


def test_load_weights_rejects_a_missing_file_and_the_wrong_model(tmp_path, trained) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        zoo.load_weights("loans_mlp", tmp_path / "nothing.safetensors")
    assert caught.value.argument == "weights_path"
    with pytest.raises(InvalidArgumentError) as caught:
        zoo.load_weights("digits_cnn", trained("shapes_cnn")[0].weights_path)
    assert caught.value.argument == "name"


def test_fake_run_is_only_used_through_log_and_set_meta(fake_run) -> None:
    run = fake_run
    zoo.train("loans_mlp", epochs=1, run=run, progress=False)
    assert len(run.logged) == 1 and set(run.meta) == {"zoo_model"}
