"""The text functions' argument checks (deepscope.validation): each error names the argument,
says what was expected and shows what arrived; booleans are not numbers."""

# pyright: reportArgumentType=false
# (these tests pass arguments of the wrong type on purpose)

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from deepscope import text
from deepscope.errors import ArgumentTypeError, InvalidArgumentError

TEXTS = ["w1 w2 w3 w4 w1 w2", "w2 w3 w1 w4 w3 w1"]
SENTENCE = "w1 w2 w3 w4"

CASES: list[tuple[str, Callable[[Any], Any], str]] = [
    ("rollout residual", lambda m: text.rollout_matrix(np.full((1, 1, 2, 2), 0.5), residual=1.5), "residual"),
    ("tuned lens lr", lambda m: text.fit_tuned_lens(m, TEXTS, lr=0), "lr"),
    ("tuned lens steps", lambda m: text.fit_tuned_lens(m, TEXTS, steps=0), "steps"),
    ("cocluster layer", lambda m: text.cocluster(m, TEXTS, layer=1.5), "layer"),
    ("cocluster n_clusters", lambda m: text.cocluster(m, TEXTS, layer=0, n_clusters=1), "n_clusters"),
    ("factors layers", lambda m: text.neuron_factors(m, TEXTS, layers=[True]), "layers"),
    ("factors n_components", lambda m: text.neuron_factors(m, TEXTS, n_components=0), "n_components"),
    ("edges top_k", lambda m: text.attention(m, SENTENCE).edges(0, top_k=0), "top_k"),
    ("edges top_k bool", lambda m: text.attention(m, SENTENCE).edges(0, top_k=True), "top_k"),
    ("edges threshold", lambda m: text.attention(m, SENTENCE).edges(0, threshold=1.5), "threshold"),
    ("edges query", lambda m: text.attention(m, SENTENCE).edges(0, query=99), "query"),
    ("thumbnails size", lambda m: text.attention(m, SENTENCE).thumbnails(size=0), "size"),
    ("layer number", lambda m: text.attention(m, SENTENCE).layer_index(1.5), "layer"),
    ("layer number range", lambda m: text.attention(m, SENTENCE).layer_index(99), "layer"),
    ("neuron view query", lambda m: text.neuron_view(m, SENTENCE, layer=0, head=0, query=99), "query"),
    ("logit lens top_k", lambda m: text.logit_lens(m, SENTENCE, top_k=0), "top_k"),
    ("generate temperature", lambda m: text.generate(m, SENTENCE, temperature=float("inf")), "temperature"),
    ("generate temperature type", lambda m: text.generate(m, SENTENCE, temperature="hot"), "temperature"),
    ("generate max_new_tokens", lambda m: text.generate(m, SENTENCE, max_new_tokens=0), "max_new_tokens"),
]


@pytest.mark.parametrize(("call", "argument"), [pytest.param(c, a, id=i) for i, c, a in CASES])
def test_each_text_argument_check_names_the_argument(tiny_gpt2, call, argument):
    with pytest.raises((InvalidArgumentError, ArgumentTypeError)) as caught:
        call(tiny_gpt2)
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}: expected ")
    assert ", got " in str(caught.value)
