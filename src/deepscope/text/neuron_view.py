"""The neuron view: how one head's attention weights come out of its query and key vectors.

For a chosen query position i, ``scores[i, j] = q_i . k_j * scale`` (scale = 1/sqrt(d)), the
masked softmax of that row is the head's attention ``weights[i]``, and ``product[j] = q_i * k_j``
(elementwise) shows which dimensions of the vectors make the dot product.

Works on Hugging Face BERT-like models (modules with ``query`` and ``key`` linear layers),
GPT-2-like models (a fused ``c_attn``) and deepscope's own transformers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from deepscope.errors import UnsupportedModelError
from deepscope.model.hooks import this_thread_only
from deepscope.result import Result
from deepscope.text._transformers import (
    Encoded,
    as_text_model,
    check_text,
    model_kind,
    tokenize,
)
from deepscope.text.attention import _position
from deepscope.validation import check_int

__all__ = ["NeuronView", "neuron_view"]


@dataclass(frozen=True, eq=False)
class NeuronView(Result):
    """Query and key vectors ``[T, d]`` of one head, and the arithmetic from them to its weights.

    ``scores`` ``[T, T]``: q.k * ``scale`` (masked-out pairs: -inf); ``weights`` their row-wise
    softmax; ``product`` ``[T, d]``: q_query * k_j for the chosen ``query``.
    """

    tokens: list[str]
    layer: int
    head: int
    query: int
    queries: np.ndarray
    keys: np.ndarray
    product: np.ndarray
    scores: np.ndarray
    weights: np.ndarray
    scale: float
    kind: str = "encoder"
    model_name: str = ""
    text: str = ""

    default_tag = "text/neuron_view"
    figure_function = "deepscope.viz.text_attention:neuron_view_figure"

    def __repr__(self) -> str:
        return (
            f"NeuronView({self.model_name!r}, layer {self.layer}, head {self.head}, query "
            f"{self.query} {self.tokens[self.query]!r}, head size {self.queries.shape[1]})"
        )

    def for_query(self, query: int) -> NeuronView:
        """The same head seen from another query position."""
        query = _check_query(query, len(self.tokens))
        return replace(self, query=query, product=self.queries[query][None, :] * self.keys)

    def to_frame(self) -> pd.DataFrame:
        """One row per key for the chosen query: its token, q.k, the score and the weight."""
        dot = self.product.sum(axis=1)
        return pd.DataFrame(
            {
                "key": np.arange(len(self.tokens)),
                "token": self.tokens,
                "dot": dot,
                "score": self.scores[self.query],
                "weight": self.weights[self.query],
            }
        )


def _check_query(query: Any, n: int) -> int:
    return check_int(query, "query", low=0, high=n - 1, hint="a token position")


def _attention_modules(module: torch.nn.Module) -> tuple[str, list[torch.nn.Module]]:
    """("qk", [modules with query/key linears]) or ("fused", [modules with c_attn]), in order."""
    separate = [
        m
        for m in module.modules()
        if isinstance(getattr(m, "query", None), torch.nn.Linear)
        and isinstance(getattr(m, "key", None), torch.nn.Linear)
    ]
    if separate:
        return "qk", separate
    fused = [m for m in module.modules() if hasattr(m, "c_attn") and not getattr(m, "is_cross_attention", False)]
    if fused:
        return "fused", fused
    raise UnsupportedModelError(
        "model",
        "a BERT-like (query/key linear layers), GPT-2-like (c_attn) or deepscope transformer",
        type(module).__name__,
        hint="the neuron view needs the query and key projections of each attention layer",
    )


def _heads_of(module: torch.nn.Module, layer: torch.nn.Module) -> int:
    for name in ("heads", "num_heads", "num_attention_heads", "n_head"):
        value = getattr(layer, name, None)
        if isinstance(value, int):
            return value
    config = getattr(module, "config", None)
    for name in ("num_attention_heads", "n_head"):
        value = getattr(config, name, None)
        if isinstance(value, int):
            return value
    raise UnsupportedModelError("model", "attention layers that say their number of heads", type(layer).__name__)


def _scale(module: torch.nn.Module, style: str, layer: int, size: int) -> float:
    config = getattr(module, "config", None)
    scale = 1.0
    if style == "fused" and config is not None:
        if getattr(config, "scale_attn_weights", True):
            scale /= size**0.5
        if getattr(config, "scale_attn_by_inverse_layer_idx", False):
            scale /= float(layer + 1)
        return scale
    return 1.0 / size**0.5


def neuron_view(
    model: Any,
    text: str,
    *,
    layer: int,
    head: int,
    query: int | None = None,
    truncate: bool = True,
) -> NeuronView:
    """Query/key vectors of head ``head`` in layer ``layer`` on ``text``, and their products.

    ``query``: the query position to break down (default: the first non-special token).
    The softmax of ``scores`` equals ``attention(model, text).weights[layer, head]``.
    """
    model = as_text_model(model)
    check_text(text)
    kind = model_kind(model)
    if kind == "encoder-decoder":
        raise UnsupportedModelError("model", "an encoder or a decoder for the neuron view", "an encoder-decoder")
    style, modules = _attention_modules(model.module)
    layer_index = _position(layer, list(range(len(modules))), "layer")
    block = modules[layer_index]
    n_heads = _heads_of(model.module, block)
    head_index = _position(head, list(range(n_heads)), "head")
    encoded = tokenize(model, text, truncate=truncate)
    q, k = _query_key(model, encoded, style, block)
    size = q.shape[-1] // n_heads
    q = q.reshape(q.shape[0], n_heads, size)[:, head_index].astype(np.float64)
    k = k.reshape(k.shape[0], n_heads, size)[:, head_index].astype(np.float64)
    scale = _scale(model.module, style, layer_index, size)
    n = len(encoded.tokens)
    scores = (q @ k.T) * scale
    if kind == "decoder":
        scores = np.where(np.tri(n, dtype=bool), scores, -np.inf)
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    weights = exp / exp.sum(axis=1, keepdims=True)
    if query is None:
        plain = np.flatnonzero(~encoded.special)
        query = int(plain[0]) if len(plain) else 0
    query = _check_query(query, n)
    return NeuronView(
        tokens=encoded.tokens,
        layer=layer_index,
        head=head_index,
        query=query,
        queries=q.astype(np.float32),
        keys=k.astype(np.float32),
        product=(q[query][None, :] * k).astype(np.float32),
        scores=scores.astype(np.float32),
        weights=weights.astype(np.float32),
        scale=float(scale),
        kind=kind,
        model_name=model.name,
        text=text,
    )


def _query_key(model: Any, encoded: Encoded, style: str, block: torch.nn.Module) -> tuple[np.ndarray, np.ndarray]:
    """The [T, heads * d] query and key projections of one attention layer, by forward hooks."""
    seen: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(module: torch.nn.Module, args: Any, output: torch.Tensor) -> None:
            seen[name] = output.detach()

        return hook

    if style == "qk":
        handles = [
            cast(torch.nn.Module, block.query).register_forward_hook(this_thread_only(keep("query"))),
            cast(torch.nn.Module, block.key).register_forward_hook(this_thread_only(keep("key"))),
        ]
    else:
        handles = [cast(torch.nn.Module, block.c_attn).register_forward_hook(this_thread_only(keep("fused")))]
    inputs = {
        "input_ids": encoded.input_ids.to(model.device),
        "attention_mask": encoded.attention_mask.to(model.device),
    }
    if encoded.token_type_ids is not None:
        inputs["token_type_ids"] = encoded.token_type_ids.to(model.device)
    try:
        with model.eval_mode(), torch.no_grad():
            model.module(**inputs)
    finally:
        for handle in handles:
            handle.remove()
    if style == "qk":
        q, k = seen["query"][0], seen["key"][0]
    else:
        q, k, _ = seen["fused"][0].split(seen["fused"].shape[-1] // 3, dim=-1)
    return q.float().cpu().numpy(), k.float().cpu().numpy()
