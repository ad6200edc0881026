"""What each head looks at, in numbers: the measures of Clark et al. 2019 ("What does BERT look
at?") for every layer and head.

For a head's map ``A`` ``[Q, K]`` (rows sum to one), averaged over the queries:

- ``entropy``: -sum_k A[q, k] log A[q, k] (nats); low = focused, high = broad.
- ``distance``: mean attended distance, sum_k A[q, k] |q - k| (in tokens).
- ``special``, ``punctuation``: the share of attention on special tokens ([CLS], [SEP], BOS,
  EOS...) and on punctuation.
- ``previous``, ``next``, ``self``: the weight on the token before (queries that have one), the
  token after (queries that have one) and the token itself.

Cross-attention (decoder queries over encoder keys) has no positions in common, so distance,
previous, next and self are NaN there.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.result import Result
from deepscope.text.attention import Attention

__all__ = ["HeadSummary", "head_summary", "MEASURES", "is_punctuation"]

MEASURES = ("entropy", "distance", "special", "punctuation", "previous", "next", "self")
MEASURE_LABELS = {
    "entropy": "entropy (nats)",
    "distance": "mean distance (tokens)",
    "special": "to special tokens",
    "punctuation": "to punctuation",
    "previous": "to previous token",
    "next": "to next token",
    "self": "to itself",
}
_MARKS = ("##", "Ġ", "▁", "Ċ")


def is_punctuation(token: str) -> bool:
    """True for a token made only of punctuation (subword marks such as ``##`` or ``Ġ`` aside)."""
    core = token
    for mark in _MARKS:
        core = core.replace(mark, "")
    return bool(core) and all(c in string.punctuation for c in core)


@dataclass(frozen=True, eq=False)
class HeadSummary(Result):
    """``values`` ``[measures, layers, heads]`` of the measures named in ``measures``."""

    values: np.ndarray
    measures: list[str]
    layers: list[int]
    heads: list[int]
    which: str = "self"
    model_name: str = ""
    n_tokens: int = 0

    default_tag = "text/head_summary"
    figure_function = "deepscope.viz.text_attention:head_summary_figure"

    def __repr__(self) -> str:
        return (
            f"HeadSummary({self.model_name!r}, {len(self.layers)} layers x {len(self.heads)} "
            f"heads, {self.which} attention over {self.n_tokens} tokens)"
        )

    def measure(self, name: str) -> np.ndarray:
        """One measure as ``[layers, heads]``."""
        if name not in self.measures:
            raise InvalidArgumentError("measure", f"one of {self.measures}", name)
        return self.values[self.measures.index(name)]

    def to_frame(self) -> pd.DataFrame:
        """One row per layer and head, one column per measure."""
        layer, head = np.meshgrid(self.layers, self.heads, indexing="ij")
        frame = pd.DataFrame({"layer": layer.ravel(), "head": head.ravel()})
        for i, name in enumerate(self.measures):
            frame[name] = self.values[i].ravel()
        return frame


def _diagonal_mean(maps: np.ndarray, offset: int) -> np.ndarray:
    """Mean over queries q of maps[..., q, q + offset] (only queries where that key exists)."""
    diagonal = np.diagonal(maps, offset=offset, axis1=-2, axis2=-1)
    if diagonal.shape[-1] == 0:
        return np.full(maps.shape[:-2], np.nan)
    return diagonal.mean(axis=-1)


def head_summary(attention: Attention, *, which: str = "self") -> HeadSummary:
    """The Clark et al. measures of every layer and head of ``attention`` (see the module doc).

    ``which``: the map of an encoder-decoder (``encoder``, ``decoder`` or ``cross``).
    """
    if not isinstance(attention, Attention):
        raise ArgumentTypeError("attention", "an Attention (from deepscope.text.attention)", attention)
    maps, query_tokens, key_tokens, _, key_special = attention.view(which)
    maps = maps.astype(np.float64)
    n_q, n_k = maps.shape[-2:]
    clipped = np.clip(maps, 1e-30, None)
    entropy = -(maps * np.log(clipped)).sum(axis=-1).mean(axis=-1)
    special = maps[..., key_special].sum(axis=-1).mean(axis=-1)
    punct = np.asarray([is_punctuation(t) for t in key_tokens], dtype=bool)
    punctuation = maps[..., punct].sum(axis=-1).mean(axis=-1)
    nan = np.full(maps.shape[:2], np.nan)
    if which == "cross":
        distance = previous = following = itself = nan
    else:
        gap = np.abs(np.arange(n_q)[:, None] - np.arange(n_k)[None, :])
        distance = (maps * gap).sum(axis=-1).mean(axis=-1)
        previous = _diagonal_mean(maps, -1)
        following = _diagonal_mean(maps, 1)
        itself = _diagonal_mean(maps, 0)
    values = np.stack([entropy, distance, special, punctuation, previous, following, itself])
    return HeadSummary(
        values=values.astype(np.float64),
        measures=list(MEASURES),
        layers=list(attention.numbers(which)[0]),
        heads=list(attention.numbers(which)[1]),
        which=which,
        model_name=attention.model_name,
        n_tokens=len(query_tokens),
    )
