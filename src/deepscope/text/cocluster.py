"""Hidden-state co-clusters (RNNVis, Ming et al. 2017): which hidden units respond to which words.

For one layer (a GRU/LSTM/RNN's hidden states, or a transformer block's MLP units) the units x
words matrix holds each unit's mean response to each word over the texts; scikit-learn's spectral
co-clustering groups units and words together on the strength of the response (its magnitude),
so each cluster is a set of words and the units that react to them.

>>> from deepscope import zoo, text
>>> texts = ["the movie was good ."]
>>> clusters = text.cocluster(zoo.get("reviews_gru"), texts, layer="gru", n_clusters=2)  # doctest: +SKIP
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.cluster import SpectralCoclustering
from torch import nn

from deepscope.errors import InvalidArgumentError, UnsupportedModelError
from deepscope.model import Model
from deepscope.result import Result
from deepscope.text._lm import (
    as_text_model,
    check_texts,
    lm_parts,
    mlp_activations,
    recurrent_modules,
    token_states,
    token_strings,
    torch_module,
)
from deepscope.validation import Interval, check, check_int

__all__ = ["CoClusters", "cocluster"]

#: how many of the texts a CoClusters keeps to show its clusters' words in context
EXAMPLE_TEXTS = 12


@dataclass(frozen=True)
class CoClusters(Result):
    """Units and words co-clustered by the units' mean response to each word.

    words / word_counts ``[W]``: the words (most frequent first) and how often they occur.
    responses ``[units, W]``: each unit's mean state at the positions of each word (signed).
    unit_clusters ``[units]`` / word_clusters ``[W]``: the co-cluster of each.
    examples / example_tokens: a few of the texts and their tokens, for showing words in context.
    """

    model_name: str
    layer: str
    words: list[str]
    word_counts: np.ndarray
    responses: np.ndarray
    unit_clusters: np.ndarray
    word_clusters: np.ndarray
    n_clusters: int
    examples: list[str]
    example_tokens: list[list[str]]
    seed: int

    default_tag: ClassVar[str] = "text/coclusters"
    figure_function: ClassVar[str] = "deepscope.viz.text_lm:cocluster_figure"

    def cluster_units(self, cluster: int) -> np.ndarray:
        return np.flatnonzero(self.unit_clusters == cluster)

    def cluster_words(self, cluster: int) -> pd.DataFrame:
        """The cluster's words ranked by its units' mean response: (word, response, count)."""
        units = self.cluster_units(cluster)
        words = np.flatnonzero(self.word_clusters == cluster)
        if len(units) == 0 or len(words) == 0:
            return pd.DataFrame({"word": [], "response": [], "count": []})
        response = self.responses[np.ix_(units, words)].mean(axis=0)
        order = np.argsort(-np.abs(response), kind="stable")
        return pd.DataFrame(
            {
                "word": [self.words[words[i]] for i in order],
                "response": response[order].astype(float),
                "count": self.word_counts[words[order]].astype(int),
            }
        )

    def unit_response(self, cluster: int) -> np.ndarray:
        """Each of the cluster's units' mean response over the cluster's words."""
        units = self.cluster_units(cluster)
        words = np.flatnonzero(self.word_clusters == cluster)
        if len(words) == 0:
            return np.zeros(len(units))
        return self.responses[np.ix_(units, words)].mean(axis=1)

    def to_frame(self) -> pd.DataFrame:
        """One row per (cluster, word): the word's rank in its cluster, response and count."""
        frames = []
        for cluster in range(self.n_clusters):
            frame = self.cluster_words(cluster)
            frame.insert(0, "rank", np.arange(1, len(frame) + 1))
            frame.insert(0, "cluster", cluster)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)


def _layer_module(model: Model, layer: Any) -> tuple[str, nn.Module]:
    """The module whose outputs ``[N, T, units]`` are the hidden states to co-cluster."""
    if isinstance(layer, str):
        named = dict(torch_module(model).named_modules())
        if layer not in named or not layer:
            raise InvalidArgumentError(
                "layer",
                "the name of one of the model's layers",
                layer,
                hint="recurrent layers: " + ", ".join(n for n, _ in recurrent_modules(model)),
            )
        return layer, named[layer]
    layer = check(layer, "layer", [str, Interval(int, None, None)])
    recurrent = recurrent_modules(model)
    if recurrent:
        if not -len(recurrent) <= layer < len(recurrent):
            raise InvalidArgumentError("layer", f"an index among the {len(recurrent)} recurrent layers", layer)
        return recurrent[layer]
    try:
        activations = mlp_activations(lm_parts(model))
    except UnsupportedModelError as err:
        raise UnsupportedModelError(
            "model",
            "a recurrent model (GRU/LSTM/RNN) or a transformer language model",
            type(model.module).__name__,
        ) from err
    if not -len(activations) <= layer < len(activations):
        raise InvalidArgumentError("layer", f"a block index in [0, {len(activations)})", layer)
    return f"block {int(layer) % len(activations) + 1} MLP", activations[layer]


def cocluster(
    model: Any,
    texts: str | list[str],
    *,
    layer: int | str,
    n_clusters: int = 8,
    seed: int = 0,
    min_count: int = 2,
    max_words: int = 300,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> CoClusters:
    """Co-cluster the units of ``layer`` with the words of ``texts``.

    ``layer``: a module name (e.g. ``"gru"``), or an index: of the recurrent layers for a
    recurrent model, of the blocks (their MLP units) for a transformer LM. Words seen at least
    ``min_count`` times are kept, at most ``max_words`` of the most frequent; special tokens are
    left out.
    """
    model = as_text_model(model, "cocluster")
    texts = check_texts(texts)
    name, module = _layer_module(model, layer)
    for value, argument, minimum in ((min_count, "min_count", 1), (max_words, "max_words", 2)):
        check_int(value, argument, low=minimum)
    ids, states = token_states(model, texts, [module], batch_size=batch_size, progress=progress, desc="co-clusters")
    special = set(getattr(model.tokenizer, "all_special_ids", []) or [])
    counts = Counter(int(i) for row in ids for i in row if int(i) not in special)
    kept = [i for i, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])) if c >= min_count]
    kept = kept[:max_words]
    column = {token: j for j, token in enumerate(kept)}
    width = states[0][0].shape[1]
    sums = np.zeros((width, len(kept)))
    for row_ids, row_states in zip(ids, states, strict=True):
        for position, token in enumerate(row_ids):
            j = column.get(int(token))
            if j is not None:
                sums[:, j] += row_states[0][position]
    n = np.asarray([counts[t] for t in kept], dtype=np.int64)
    responses = sums / np.maximum(n, 1)
    n_clusters = check_int(n_clusters, "n_clusters", low=2)
    limit = min(responses.shape)
    if not 2 <= n_clusters <= limit:
        raise InvalidArgumentError(
            "n_clusters",
            f"an integer in [2, {limit}] (at most the {width} units and {len(kept)} words seen {min_count}+ times)",
            n_clusters,
        )
    strength = np.abs(responses) + 1e-9
    model_fit = SpectralCoclustering(n_clusters=int(n_clusters), random_state=seed)
    model_fit.fit(strength)
    shown = texts[:EXAMPLE_TEXTS]
    return CoClusters(
        model_name=model.name,
        layer=name,
        words=token_strings(model, kept),
        word_counts=n,
        responses=responses.astype(np.float32),
        unit_clusters=model_fit.row_labels_.astype(np.int64),
        word_clusters=model_fit.column_labels_.astype(np.int64),
        n_clusters=int(n_clusters),
        examples=shown,
        example_tokens=[token_strings(model, row) for row in ids[: len(shown)]],
        seed=int(seed),
    )
