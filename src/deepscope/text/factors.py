"""Neuron factors (Ecco's NMF explorer): non-negative matrix factorisation of a causal LM's MLP
activations over every token of some texts, so groups of neurons that fire together show up as a
handful of factors, each lighting up its own tokens.

>>> from deepscope import zoo, text
>>> factors = text.neuron_factors(zoo.get("reviews_lm"), ["the movie was good ."])  # doctest: +SKIP
>>> factors.components.shape  # doctest: +SKIP
(8, 192)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.result import Result
from deepscope.text._lm import (
    as_text_model,
    check_texts,
    lm_parts,
    mlp_activations,
    token_states,
    token_strings,
)
from deepscope.validation import check_int

__all__ = ["NeuronFactors", "neuron_factors"]


@dataclass(frozen=True)
class NeuronFactors(Result):
    """NMF of MLP activations (after the non-linearity, clipped at 0): ``A ~ W @ H``.

    texts / tokens: the texts and their tokens. token_factors: per text ``[tokens, components]``
    (its rows of ``W``). components ``[components, units]`` (``H``): which units make up each
    factor. unit_layers / unit_index ``[units]``: the block and unit of each column.
    reconstruction_error: ``||A - W H||_F``; relative_error: that over ``||A||_F``.
    """

    model_name: str
    texts: list[str]
    tokens: list[list[str]]
    token_factors: list[np.ndarray]
    components: np.ndarray
    unit_layers: np.ndarray
    unit_index: np.ndarray
    layers: list[int]
    reconstruction_error: float
    relative_error: float
    seed: int

    default_tag: ClassVar[str] = "text/neuron_factors"
    figure_function: ClassVar[str] = "deepscope.viz.text_lm:factors_figure"

    @property
    def n_components(self) -> int:
        return int(self.components.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """One row per token: its text, position, token, strongest factor and every factor."""
        rows = []
        for index, (tokens, factors) in enumerate(zip(self.tokens, self.token_factors, strict=True)):
            for position, token in enumerate(tokens):
                row = {
                    "text": index,
                    "position": position,
                    "token": token,
                    "strongest": int(factors[position].argmax()),
                }
                row |= {f"factor_{k}": float(v) for k, v in enumerate(factors[position])}
                rows.append(row)
        return pd.DataFrame(rows)


def _check_layers(layers: Any, n_blocks: int) -> list[int]:
    if layers is None:
        return list(range(n_blocks))
    if isinstance(layers, (int, np.integer)) and not isinstance(layers, bool):
        layers = [layers]
    if not isinstance(layers, Sequence) or not layers:
        raise ArgumentTypeError("layers", "None, a block index or a list of them", layers)
    checked = []
    for layer in layers:
        layer = check_int(layer, "layers", hint="block indices")
        if not -n_blocks <= layer < n_blocks:
            raise InvalidArgumentError("layers", f"block indices in [0, {n_blocks})", layer)
        checked.append(int(layer) % n_blocks)
    return sorted(set(checked))


def neuron_factors(
    model: Any,
    texts: str | list[str],
    *,
    layers: int | Sequence[int] | None = None,
    n_components: int = 8,
    seed: int = 0,
    max_iter: int = 500,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> NeuronFactors:
    """Factor the MLP activations of ``layers`` (block indices; None: all) over every token.

    ``n_components`` factors, at most the number of tokens and of units. scikit-learn's NMF with
    the NNDSVDA start and ``random_state=seed``, so the same call gives the same factors.
    """
    model = as_text_model(model, "neuron_factors")
    parts = lm_parts(model)
    texts = check_texts(texts)
    layers = _check_layers(layers, len(parts.blocks))
    n_components = check_int(n_components, "n_components", low=1)
    activations = mlp_activations(parts)
    ids, states = token_states(
        model,
        texts,
        [activations[layer] for layer in layers],
        batch_size=batch_size,
        progress=progress,
        desc="neuron factors",
    )
    per_text = [np.concatenate(modules, axis=1) for modules in states]
    matrix = np.clip(np.concatenate(per_text, axis=0), 0.0, None).astype(np.float64)
    limit = min(matrix.shape)
    if not 1 <= n_components <= limit:
        raise InvalidArgumentError(
            "n_components",
            f"an integer in [1, {limit}] (at most the {matrix.shape[0]} tokens and {matrix.shape[1]} units)",
            n_components,
        )
    # sklearn ships no stubs: pyright infers n_components's type from its default, "auto"
    nmf = NMF(
        n_components=int(n_components),  # pyright: ignore[reportArgumentType]
        init="nndsvda",
        random_state=seed,
        max_iter=max_iter,
    )
    weights = nmf.fit_transform(matrix)
    widths = [states[0][i].shape[1] for i in range(len(layers))]
    bounds = np.cumsum([0] + [len(t) for t in per_text])
    norm = float(np.linalg.norm(matrix))
    error = float(nmf.reconstruction_err_)
    return NeuronFactors(
        model_name=model.name,
        texts=texts,
        tokens=[token_strings(model, row) for row in ids],
        token_factors=[weights[bounds[i] : bounds[i + 1]].astype(np.float32) for i in range(len(texts))],
        components=nmf.components_.astype(np.float32),
        unit_layers=np.repeat(np.asarray(layers, dtype=np.int64), widths),
        unit_index=np.concatenate([np.arange(w, dtype=np.int64) for w in widths]),
        layers=layers,
        reconstruction_error=error,
        relative_error=error / norm if norm > 0 else 0.0,
        seed=int(seed),
    )
