"""What a transformer attends to: every layer's and head's attention probabilities for one text.

``attention(model, text)`` works on Hugging Face encoders, decoders and encoder-decoders and on
deepscope's own transformers, and returns an :class:`Attention`. Its views stay light at 512+
tokens: :meth:`Attention.edges` keeps only the strongest keys per query (and says how much of the
attention mass it kept), :meth:`Attention.thumbnails` averages each map down to a small grid.

>>> import deepscope as ds
>>> from deepscope import zoo
>>> a = ds.text.attention(zoo.get("reviews_transformer"), "the movie was not good")  # doctest: +SKIP
>>> a.weights.shape  # doctest: +SKIP
(2, 2, 5, 5)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.result import Result
from deepscope.text._transformers import (
    as_text_model,
    attention_maps,
    check_text,
    decoder_inputs,
    model_kind,
    tokenize,
)
from deepscope.validation import check_int, check_number, check_option

__all__ = ["Attention", "AttentionEdges", "attention", "WHICH"]

#: the attention maps of an encoder-decoder; encoders and decoders have only "self"
WHICH = ("self", "encoder", "decoder", "cross")


@dataclass(frozen=True)
class AttentionEdges:
    """The strongest query -> key links of one layer, as flat arrays (one entry per link).

    ``mass_kept``: the share of the attention mass (summed over the shown queries and heads) that
    the kept links carry; ``mass_per_head`` the same per head.
    """

    layer: int
    heads: list[int]
    head: np.ndarray
    query: np.ndarray
    key: np.ndarray
    weight: np.ndarray
    mass_kept: float
    mass_per_head: np.ndarray
    top_k: int | None
    threshold: float | None

    def __len__(self) -> int:
        return int(len(self.weight))


@dataclass(frozen=True, eq=False)
class Attention(Result):
    """Attention probabilities of one example.

    - ``tokens``, ``segments`` (0/1 for sentence A/B), ``special`` (True for [CLS], [SEP], BOS...).
    - ``weights``: float32 ``[layers, heads, query, key]`` (self-attention; for encoder-decoders
      the encoder's, also named ``encoder_weights``, with ``tokens`` = ``encoder_tokens``).
    - ``kind``: ``encoder``, ``decoder`` or ``encoder-decoder``; encoder-decoders also have
      ``decoder_weights`` and ``cross_weights`` ``[layers, heads, decoder tokens, encoder tokens]``
      with ``decoder_tokens``.
    - ``layers``, ``heads``: the model's layer and head numbers the arrays hold
      (``decoder_layers``, ``decoder_heads`` for an encoder-decoder's decoder and cross maps).
    - ``n_tokens``: the input's length before truncation.

    ``save`` stores the weights as float16, compressed; loaded weights are float16 (3 significant
    digits).
    """

    tokens: list[str]
    weights: np.ndarray
    kind: str
    segments: np.ndarray
    special: np.ndarray
    layers: list[int]
    heads: list[int]
    model_name: str = ""
    text: str = ""
    text_b: str | None = None
    target: str | None = None
    n_tokens: int = 0
    decoder_tokens: list[str] | None = None
    decoder_special: np.ndarray | None = None
    decoder_weights: np.ndarray | None = None
    cross_weights: np.ndarray | None = None
    decoder_layers: list[int] | None = None
    decoder_heads: list[int] | None = None

    default_tag = "text/attention"
    figure_function = "deepscope.viz.text_attention:attention_figure"

    def __repr__(self) -> str:
        n_layers, n_heads, q, _ = self.weights.shape
        return f"Attention({self.model_name!r}, kind={self.kind!r}, {n_layers} layers x {n_heads} heads, {q} tokens)"

    @property
    def encoder_weights(self) -> np.ndarray | None:
        return self.weights if self.kind == "encoder-decoder" else None

    @property
    def encoder_tokens(self) -> list[str] | None:
        return self.tokens if self.kind == "encoder-decoder" else None

    @property
    def views(self) -> list[str]:
        """The attention maps this result holds: ``["self"]`` or encoder, decoder and cross."""
        return ["encoder", "decoder", "cross"] if self.kind == "encoder-decoder" else ["self"]

    def view(self, which: str = "self") -> tuple[np.ndarray, list[str], list[str], np.ndarray, np.ndarray]:
        """(weights, query tokens, key tokens, query special, key special) of one attention map.

        ``which``: ``self`` (encoders, decoders; an encoder-decoder's encoder), ``encoder``,
        ``decoder`` or ``cross``.
        """
        if which not in WHICH:
            raise InvalidArgumentError("which", f"one of {list(WHICH)}", which)
        if which in ("self", "encoder"):
            return self.weights, self.tokens, self.tokens, self.special, self.special
        if self.kind != "encoder-decoder":
            raise InvalidArgumentError("which", "'self' (this attention is not an encoder-decoder's)", which)
        if self.decoder_tokens is None or self.decoder_weights is None or self.cross_weights is None:
            raise InvalidArgumentError("which", "'encoder' (this attention holds no decoder maps)", which)
        dec_special = (
            self.decoder_special
            if self.decoder_special is not None
            else np.zeros(len(self.decoder_tokens or []), dtype=bool)
        )
        if which == "decoder":
            return (
                self.decoder_weights,
                self.decoder_tokens,
                self.decoder_tokens,
                dec_special,
                dec_special,
            )
        return self.cross_weights, self.decoder_tokens, self.tokens, dec_special, self.special

    def numbers(self, which: str = "self") -> tuple[list[int], list[int]]:
        """The model's layer and head numbers of one map's rows."""
        if which in ("decoder", "cross") and self.decoder_layers is not None:
            return self.decoder_layers, self.decoder_heads or []
        return self.layers, self.heads

    def layer_index(self, layer: int, argument: str = "layer", which: str = "self") -> int:
        """Position in the map's array of the model's layer number ``layer``."""
        return _position(layer, self.numbers(which)[0], argument)

    def head_index(self, head: int, argument: str = "head", which: str = "self") -> int:
        return _position(head, self.numbers(which)[1], argument)

    def edges(
        self,
        layer: int,
        *,
        which: str = "self",
        top_k: int | None = 8,
        threshold: float | None = None,
        heads: Sequence[int] | None = None,
        query: int | None = None,
        queries: np.ndarray | None = None,
        keys: np.ndarray | None = None,
    ) -> AttentionEdges:
        """The links of one layer that a head view draws: per head and query, the ``top_k``
        strongest keys (None: all) whose weight is at least ``threshold`` (None: any).

        ``query`` keeps one query position (all its keys above ``threshold``: a clicked token);
        ``queries`` / ``keys`` are boolean masks of the positions to keep (sentence A/B filter).
        """
        weights, _, _, _, _ = self.view(which)
        position = self.layer_index(layer, which=which)
        all_heads = self.numbers(which)[1]
        head_numbers = list(all_heads) if heads is None else [int(h) for h in heads]
        rows = [self.head_index(h, "heads", which) for h in head_numbers]
        maps = weights[position][rows].astype(np.float32, copy=False)  # [H, Q, K]
        top_k = check_int(top_k, "top_k", low=1, allow_none=True)
        threshold = check_number(threshold, "threshold", low=0, high=1, allow_none=True)
        n_queries, n_keys = maps.shape[1:]
        query_mask = _mask(queries, n_queries, "queries")
        key_mask = _mask(keys, n_keys, "keys")
        if query is not None:
            query = check_int(query, "query", low=0, high=n_queries - 1, hint="a token position")
            only = np.zeros(n_queries, dtype=bool)
            only[query] = True
            query_mask &= only
            top_k = None
        maps = np.where(query_mask[None, :, None] & key_mask[None, None, :], maps, 0.0)
        total_per_head = maps.sum(axis=(1, 2))
        keep = np.ones_like(maps, dtype=bool)
        if top_k is not None and top_k < n_keys:
            # the k-th largest weight of each row; ties at it are kept
            kth = -np.partition(-maps, top_k - 1, axis=2)[:, :, top_k - 1 : top_k]
            keep &= maps >= kth
        if threshold is not None:
            keep &= maps >= float(threshold)
        keep &= maps > 0
        head, q, k = np.nonzero(keep)
        weight = maps[head, q, k]
        kept_per_head = np.zeros(len(rows))
        np.add.at(kept_per_head, head, weight)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_head = np.where(total_per_head > 0, kept_per_head / total_per_head, 1.0)
        total = float(total_per_head.sum())
        return AttentionEdges(
            layer=int(layer),
            heads=head_numbers,
            head=np.asarray(head_numbers, dtype=np.int32)[head] if len(head) else head.astype(np.int32),
            query=q.astype(np.int32),
            key=k.astype(np.int32),
            weight=weight.astype(np.float32),
            mass_kept=float(kept_per_head.sum() / total) if total > 0 else 1.0,
            mass_per_head=per_head,
            top_k=top_k,
            threshold=threshold,
        )

    def thumbnails(self, size: int = 32, *, which: str = "self") -> np.ndarray:
        """Every map averaged down to at most ``size`` x ``size`` cells: ``[layers, heads, s, s]``.

        Each cell is the mean weight of a block of query x key positions, so a model view of a
        512-token input sends 144 small grids instead of 144 x 512 x 512 weights.
        """
        size = check_int(size, "size", low=1)
        weights, _, _, _, _ = self.view(which)
        return _block_mean(_block_mean(weights, size, axis=2), size, axis=3)

    def to_frame(self) -> pd.DataFrame:
        """One row per layer, head, query and key (every map of the result)."""
        frames = []
        for which in self.views:
            weights, query_tokens, key_tokens, _, _ = self.view(which)
            n_layers, n_heads, n_q, n_k = weights.shape
            index = np.indices(weights.shape).reshape(4, -1)
            layer_numbers, head_numbers = self.numbers(which)
            frames.append(
                pd.DataFrame(
                    {
                        "map": which,
                        "layer": np.asarray(layer_numbers)[index[0]],
                        "head": np.asarray(head_numbers)[index[1]],
                        "query": index[2],
                        "key": index[3],
                        "query_token": np.asarray(query_tokens, dtype=object)[index[2]],
                        "key_token": np.asarray(key_tokens, dtype=object)[index[3]],
                        "weight": weights.reshape(-1).astype(np.float32),
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)

    def save(self, run: Any, tag: str | None = None) -> str:
        """Log into ``run`` with the weights as float16 (half the bytes; 3 significant digits)."""
        half = replace(
            self,
            weights=self.weights.astype(np.float16),
            decoder_weights=None if self.decoder_weights is None else self.decoder_weights.astype(np.float16),
            cross_weights=None if self.cross_weights is None else self.cross_weights.astype(np.float16),
        )
        return Result.save(half, run, tag)


def _position(number: int, numbers: list[int], argument: str) -> int:
    return numbers.index(check_option(check_int(number, argument), argument, numbers))


def _mask(mask: np.ndarray | None, n: int, argument: str) -> np.ndarray:
    if mask is None:
        return np.ones(n, dtype=bool)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (n,):
        raise InvalidArgumentError(argument, f"a boolean mask of {n} positions", mask)
    return mask


def _block_mean(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    n = values.shape[axis]
    if n <= size:
        return values.astype(np.float32, copy=False)
    edges = np.linspace(0, n, size + 1).round().astype(int)
    sums = np.add.reduceat(values.astype(np.float32, copy=False), edges[:-1], axis=axis)
    counts = np.diff(edges).astype(np.float32)
    shape = [1] * values.ndim
    shape[axis] = size
    return sums / counts.reshape(shape)


def _selection(values: Sequence[int] | None, n: int, argument: str) -> list[int]:
    if values is None:
        return list(range(n))
    if isinstance(values, (int, np.integer)) and not isinstance(values, bool):
        values = [int(values)]
    try:
        chosen = [int(v) for v in values]
    except (TypeError, ValueError) as error:
        raise ArgumentTypeError(argument, "a list of integers or None", values) from error
    bad = [v for v in chosen if not 0 <= v < n]
    if not chosen or bad:
        raise InvalidArgumentError(argument, f"indices in [0, {n})", values)
    return chosen


def attention(
    model: Any,
    text: str,
    text_b: str | None = None,
    *,
    target: str | None = None,
    layers: Sequence[int] | None = None,
    heads: Sequence[int] | None = None,
    truncate: bool = True,
) -> Attention:
    """Attention probabilities of ``model`` on ``text`` (and ``text_b``, as sentence B).

    Encoder-decoders take ``text`` as the source and ``target`` as the decoder's text (without
    one the decoder sees only its start token). ``layers`` / ``heads`` keep some of them. Inputs
    longer than the model's maximum positions are truncated with a warning (``truncate=False``
    raises instead).

    >>> import deepscope as ds
    >>> from deepscope import zoo
    >>> a = ds.text.attention(zoo.get("reviews_transformer"), "not good")  # doctest: +SKIP
    >>> a.weights.sum(axis=-1).round(4).min()  # doctest: +SKIP
    1.0
    """
    model = as_text_model(model)
    check_text(text)
    kind = model_kind(model)
    if target is not None and kind != "encoder-decoder":
        raise InvalidArgumentError("target", "None (only encoder-decoders take a target text)", repr(target))
    if text_b is not None and kind == "encoder-decoder":
        raise InvalidArgumentError("text_b", "None (encoder-decoders take the decoder's text as target=)", repr(text_b))
    encoded = tokenize(model, text, text_b, truncate=truncate)
    decoder = None
    if kind == "encoder-decoder":
        decoder = decoder_inputs(model, target, truncate=truncate)
    maps = attention_maps(model, encoded, decoder)
    first = maps["encoder"] if kind == "encoder-decoder" else maps["self"]
    layer_rows = _selection(layers, first.shape[0], "layers")
    head_rows = _selection(heads, first.shape[1], "heads")
    decoder_rows: tuple[list[int], list[int]] | None = None
    if "decoder" in maps:
        decoder_rows = (
            _selection(layers, maps["decoder"].shape[0], "layers"),
            _selection(heads, maps["decoder"].shape[1], "heads"),
        )

    def pick(values: np.ndarray | None, rows: tuple[list[int], list[int]] | None) -> Any:
        if values is None or rows is None:
            return None
        return np.ascontiguousarray(values[np.ix_(*rows)], dtype=np.float32)

    return Attention(
        tokens=encoded.tokens,
        weights=pick(first, (layer_rows, head_rows)),
        kind=kind,
        segments=encoded.segments,
        special=encoded.special,
        layers=layer_rows,
        heads=head_rows,
        model_name=model.name,
        text=text,
        text_b=text_b,
        target=target,
        n_tokens=encoded.n_tokens,
        decoder_tokens=decoder.tokens if decoder is not None else None,
        decoder_special=decoder.special if decoder is not None else None,
        decoder_weights=pick(maps.get("decoder"), decoder_rows),
        cross_weights=pick(maps.get("cross"), decoder_rows),
        decoder_layers=decoder_rows[0] if decoder_rows else None,
        decoder_heads=decoder_rows[1] if decoder_rows else None,
    )
