"""Side-by-side comparison: disagreements first, generated examples, salience against a closed form."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch

from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.evaluate.generators import token_ablation, word_replacer
from deepscope.evaluate.side_by_side import (
    compare_generated,
    from_tables,
    input_columns,
    salience,
    side_by_side,
)
from deepscope.model import Model


class Tokenizer:
    """A whitespace tokenizer with Hugging Face's calling convention (padding on the right)."""

    def __init__(self, words: list[str]):
        self.vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(words)}}
        self.inverse = {i: w for w, i in self.vocab.items()}
        self.pad_token_id = 0

    def __call__(self, texts, padding=True, truncation=True, max_length=None, return_tensors=None):
        rows = [[self.vocab.get(w, 1) for w in re.findall(r"[\w']+|[^\w\s]", t.lower())][:max_length] for t in texts]
        width = max(1, max(len(r) for r in rows))
        ids = [r + [0] * (width - len(r)) for r in rows]
        mask = [[1] * len(r) + [0] * (width - len(r)) for r in rows]
        return {"input_ids": torch.tensor(ids), "attention_mask": torch.tensor(mask)}

    def convert_ids_to_tokens(self, ids):
        return [self.inverse[int(i)] for i in ids]


class Bag(torch.nn.Module):
    """Logits = W · (sum of the token embeddings) + b: linear in each token's embedding."""

    def __init__(self, vocab: int, dim: int = 5, classes: int = 2, seed: int = 0):
        super().__init__()
        torch.manual_seed(seed)
        self.embed = torch.nn.Embedding(vocab, dim)
        self.out = torch.nn.Linear(dim, classes)

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        e = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        if attention_mask is not None:
            e = e * attention_mask[..., None].to(e.dtype)
        return self.out(e.sum(dim=1))


WORDS = ["the", "film", "was", "not", "good", "bad", "very", "a", "plot", "."]


def text_model(seed: int = 0, name: str | None = None) -> Model:
    return Model(Bag(len(WORDS) + 2, seed=seed), Tokenizer(WORDS), labels=["negative", "positive"], name=name)


def test_from_tables_lists_disagreements_first_in_their_original_order():
    label = [1, 0, 1, 1, 0, 1]
    a = pd.DataFrame(
        {
            "x": range(6),
            "label": label,
            "prediction": [1, 0, 0, 1, 1, 1],
            "confidence": [0.9, 0.8, 0.6, 0.7, 0.55, 0.99],
        },
        index=list("uvwxyz"),
    )
    b = a.assign(prediction=[1, 1, 0, 1, 0, 0], confidence=0.5)
    c = a.assign(prediction=[1, 0, 0, 1, 0, 1], confidence=0.5)
    result = from_tables({"a": a, "b": b.iloc[::-1], "c": c})  # b's rows in another order: matched by index
    frame = result.to_frame()
    assert frame.index.tolist() == ["v", "y", "z", "u", "w", "x"]
    assert frame["agree"].tolist() == [False, False, False, True, True, True]
    assert frame.loc["v", ["prediction_a", "prediction_b", "prediction_c"]].tolist() == [0, 1, 0]
    assert frame.loc["v", "n_predictions"] == 2 and frame.loc["u", "n_predictions"] == 1
    assert frame.loc["y", "correct_a"] == False  # noqa: E712
    assert frame.loc["y", "confidence_a"] == 0.55
    assert result.disagreements().index.tolist() == ["v", "y", "z"]
    assert result.agreement_rate == 0.5
    agreement = result.agreement()
    assert agreement.loc["a", "b"] == pytest.approx(np.mean(a["prediction"] == b["prediction"]))
    assert agreement.loc["a", "a"] == 1.0
    assert result.accuracy()["c"] == pytest.approx(np.mean(c["prediction"] == label))
    assert result.inputs == ["x"]


def test_side_by_side_runs_every_model_on_the_same_examples():
    x = np.array([[-2.0], [-0.5], [0.5], [2.0]])
    models = {
        "sign": lambda v: np.column_stack([-v[:, 0], v[:, 0]]),
        "shifted": lambda v: np.column_stack([1.0 - v[:, 0], v[:, 0] - 1.0]),
    }
    result = side_by_side(models, pd.DataFrame({"x": x[:, 0], "label": [0, 0, 1, 1]}))
    frame = result.to_frame()
    assert frame.index.tolist() == [2, 0, 1, 3]
    assert frame.loc[2, ["prediction_sign", "prediction_shifted"]].tolist() == [1, 0]
    assert result.figure().data  # draws


def test_from_tables_rejects_tables_over_other_examples():
    a = pd.DataFrame({"label": [0, 1], "prediction": [0, 1]})
    with pytest.raises(InvalidArgumentError, match="tables"):
        from_tables({"a": a, "b": a.set_axis([5, 6])})
    with pytest.raises(InvalidArgumentError, match="tables"):
        from_tables({"a": a})


def test_input_columns_leave_out_what_the_model_added():
    table = pd.DataFrame(
        columns=[
            "text",
            "phenomenon",
            "label",
            "prediction",
            "score_0",
            "score_1",
            "score",
            "confidence",
            "correct",
            "loss",
        ]
    )
    assert input_columns(table) == ["text", "phenomenon"]


def test_generated_examples_show_every_models_prediction_and_flips():
    likes_good = lambda texts: np.array([[0.1, 0.9] if "good" in t else [0.8, 0.2] for t in texts])  # noqa: E731
    hates_not = lambda texts: np.array([[0.7, 0.3] if "not" in t else [0.4, 0.6] for t in texts])  # noqa: E731
    generated = token_ablation(pd.Series(["not good", "a film"], index=[7, 8]))
    result = compare_generated({"good": likes_good, "not": hates_not}, generated)
    frame = result.to_frame()
    by_change = frame.set_index("change")
    # removing "not" keeps "good" happy but flips the not-hater; removing "good" flips only "good"
    assert by_change.loc["removed 'not'", ["prediction_good", "prediction_not"]].tolist() == [1, 1]
    assert by_change.loc["removed 'not'", ["flipped_good", "flipped_not"]].tolist() == [False, True]
    assert by_change.loc["removed 'good'", ["flipped_good", "flipped_not"]].tolist() == [True, False]
    assert by_change.loc["removed 'good'", "original_prediction_good"] == 1
    # "a film" splits the models (disagreements first); "not good"'s variants agree but flip one
    assert frame["source"].tolist() == [8, 8, 7, 7]
    assert frame["agree"].tolist() == [False, False, True, True]
    rates = result.flip_rates()
    assert rates.set_index("model").loc["not", "flipped"] == 1
    assert result.figure().data


def test_generated_with_nothing_to_generate_is_empty_not_an_error():
    result = compare_generated({"m": text_model()}, word_replacer(["the film"], {"zebra": "horse"}))
    assert len(result.to_frame()) == 0 and "prediction_m" in result.to_frame()


def test_salience_is_each_tokens_contribution_for_a_linear_bag_of_embeddings():
    model = text_model(seed=3)
    texts = ["the film was not good .", "bad plot", "very very good"]
    result = salience({"bag": model}, texts, target=1)
    weight = model.module.out.weight.detach().numpy()
    bias = model.module.out.bias.detach().numpy()
    table = model.module.embed.weight.detach().numpy()
    logits = model.predict(texts)
    for i, text in enumerate(texts):
        words = text.split()
        assert result.tokens("bag", i) == words
        ids = [WORDS.index(w) + 2 for w in words]
        closed_form = table[ids] @ weight[1]  # token t adds W[1] · E[x_t] to the positive logit
        np.testing.assert_allclose(result.values("bag", i), closed_form, rtol=1e-5, atol=1e-6)
        # completeness: the contributions add up to the logit less the bias
        assert result.values("bag", i).sum() == pytest.approx(logits[i, 1] - bias[1], rel=1e-4, abs=1e-5)
    # the same word gets the same salience wherever it is
    assert result.values("bag", 2)[0] == pytest.approx(result.values("bag", 2)[1])


def test_salience_explains_each_models_own_prediction_by_default():
    models = {"one": text_model(seed=1), "two": text_model(seed=2)}
    texts = ["not good", "the plot was bad"]
    result = salience(models, texts)
    frame = result.to_frame()
    for name, model in models.items():
        predicted = model.predict(texts).argmax(axis=1)
        targets = frame[frame["model"] == name].groupby("example")["target"].first().tolist()
        assert targets == predicted.tolist()
        # explaining the predicted class: the contributions add up to its logit less its bias
        bias = model.module.out.bias.detach().numpy()
        for i in range(len(texts)):
            logit = model.predict([texts[i]])[0, predicted[i]]
            assert result.values(name, i).sum() == pytest.approx(logit - bias[predicted[i]], abs=1e-4)
    assert frame["target_name"].isin(["negative", "positive"]).all()
    fig = result.figure(example=1)
    assert fig.data[0].z.shape == (2, 4)
    names = frame[frame["example"] == 1].groupby("model", sort=False)["target_name"].first()
    assert list(fig.data[0].y) == [f"one → {names['one']}", f"two → {names['two']}"]


def test_salience_needs_text_models_with_gradients():
    with pytest.raises(UnsupportedModelError, match="models"):
        salience({"f": lambda x: x}, ["a text"])
    with pytest.raises(InvalidArgumentError, match="example"):
        salience({"bag": text_model()}, ["good"]).figure(example=3)


def test_salience_with_an_explain_method():
    model = text_model(seed=4)
    result = salience({"bag": model}, ["not good", "very bad plot"], target=1, method="integrated_gradients")
    assert result.tokens("bag", 1) == ["very", "bad", "plot"]
    assert result.values("bag", 1).shape == (3,)


def test_generated_rows_that_flip_a_prediction_come_before_those_that_change_nothing():
    likes_good = lambda texts: np.array([[0.1, 0.9] if "good" in t else [0.8, 0.2] for t in texts])  # noqa: E731
    generated = word_replacer(["a film", "a good film", "a fine film"], {"a": "one", "good": "fine"})
    frame = compare_generated({"m": likes_good, "n": likes_good}, generated).to_frame()
    assert frame["text"].tolist()[0] == "a fine film"  # the only flip ("good" -> "fine"), first
    assert frame["flipped_m"].tolist() == [True, False, False, False]
    assert frame["source"].tolist()[1:] == [0, 1, 2]  # the rest in their own order


def test_results_round_trip_through_a_run(tmp_path):
    from deepscope.track import Run, open_logdir

    table = pd.DataFrame(
        {"text": ["not good", "good"], "label": [0, 1], "prediction": [0, 1], "confidence": [0.6, 0.9]}
    )
    result = from_tables({"a": table, "b": table.assign(prediction=[1, 1])})
    texts = salience({"bag": text_model()}, ["not good", "the plot"])
    with Run(tmp_path, name="r") as run:
        result.save(run, "side_by_side")
        texts.save(run, "salience")
    reader = open_logdir(tmp_path)
    back = reader.result("r", "side_by_side")
    assert back.models == ["a", "b"] and back.frame.equals(result.frame)
    assert reader.result("r", "salience").frame.equals(texts.frame)
