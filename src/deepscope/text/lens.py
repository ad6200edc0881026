"""The logit lens (nostalgebraist 2020; Ecco's rankings): read every layer of a causal LM
through its final normalisation and unembedding, as if the model stopped there.

``logit_lens(model, text)`` gives, for the embedding output and each block's output at every
position, the top-k next tokens with probabilities, the rank of the token that actually comes next
(``ranks``), and with ``watch=`` the ranks of chosen tokens at the last position
(``watch_ranks``, Ecco's rankings_watch). ``lens=`` a :class:`~deepscope.text.TunedLens` reads
the layers through its learned translators instead (Belrose et al. 2023).

>>> from deepscope import zoo, text
>>> lens = text.logit_lens(zoo.get("reviews_lm"), "the movie was")  # doctest: +SKIP
>>> lens.ranks.shape  # doctest: +SKIP
(3, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from deepscope.errors import ArgumentTypeError, UnsupportedModelError
from deepscope.result import Result
from deepscope.text._lm import (
    LMParts,
    as_text_model,
    encode_prompt,
    kl_to_last,
    lm_parts,
    run_with_hidden,
    token_strings,
    vocab_token_id,
)
from deepscope.text.tuned_lens import TunedLens
from deepscope.validation import check_int

__all__ = ["LogitLens", "logit_lens", "layer_names"]


def layer_names(n_blocks: int) -> list[str]:
    """``["embeddings", "block 1", ..., "block n"]``: what each lens layer reads."""
    return ["embeddings"] + [f"block {i + 1}" for i in range(n_blocks)]


@dataclass(frozen=True)
class LogitLens(Result):
    """What each layer of a causal LM would predict next, at each position of one text.

    Layers are the embedding output then each block's output (``layers = blocks + 1``); the
    last layer is the model's own prediction. Ranks are 1-based (1: the top token); the last
    position has no next token, so its ``ranks`` and ``next_probs`` are -1 and NaN.

    tokens: the text's tokens ``[T]``; token_ids: their ids.
    top_ids, top_tokens, top_probs: the top-k next tokens per layer and position ``[L, T, k]``.
    ranks: rank of the actual next token ``[L, T]``; next_probs: its probability.
    kl_to_final: KL(final distribution || this layer's) in nats ``[L, T]``.
    watch, watch_ids, watch_ranks, watch_probs: the watched tokens and their ranks and
    probabilities at the last position ``[L, len(watch)]``.
    lens: ``"logit"`` or ``"tuned"``.
    """

    model_name: str
    text: str
    tokens: list[str]
    token_ids: np.ndarray
    layers: list[str]
    top_ids: np.ndarray
    top_tokens: np.ndarray
    top_probs: np.ndarray
    ranks: np.ndarray
    next_probs: np.ndarray
    kl_to_final: np.ndarray
    watch: list[str]
    watch_ids: np.ndarray
    watch_ranks: np.ndarray
    watch_probs: np.ndarray
    lens: str = "logit"

    default_tag: ClassVar[str] = "text/logit_lens"
    figure_function: ClassVar[str] = "deepscope.viz.text_lm:lens_figure"

    @property
    def next_tokens(self) -> list[str | None]:
        """The token that actually comes after each position (None after the last)."""
        return [*self.tokens[1:], None]

    def to_frame(self) -> pd.DataFrame:
        """One row per (layer, position): the token, the actual next token, its rank and
        probability, and the top tokens with their probabilities."""
        rows = []
        for layer_index, layer in enumerate(self.layers):
            for position, token in enumerate(self.tokens):
                following = self.next_tokens[position]
                rows.append(
                    {
                        "layer": layer,
                        "layer_index": layer_index,
                        "position": position,
                        "token": token,
                        "next_token": following,
                        "rank": int(self.ranks[layer_index, position]),
                        "probability": float(self.next_probs[layer_index, position]),
                        "kl_to_final": float(self.kl_to_final[layer_index, position]),
                        "top_tokens": [str(t) for t in self.top_tokens[layer_index, position]],
                        "top_probabilities": [float(p) for p in self.top_probs[layer_index, position]],
                    }
                )
        return pd.DataFrame(rows)


def _check_top_k(top_k: Any, vocab_size: int) -> int:
    return check_int(top_k, "top_k", low=1, high=vocab_size, hint="at most the vocabulary size")


def _watch_ids(model: Any, watch: Any) -> tuple[list[str], list[int]]:
    if watch is None:
        return [], []
    if isinstance(watch, str):
        watch = [watch]
    if not isinstance(watch, Sequence) or not all(isinstance(w, str) for w in watch):
        raise ArgumentTypeError("watch", "a list of token strings", watch)
    ids = [vocab_token_id(model, w, f"watch[{i}]") for i, w in enumerate(watch)]
    return list(watch), ids


def ranks_of(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """1-based ranks ``[..., K]`` of ``ids [..., K]`` among ``logits [..., V]`` (ties count in
    the token's favour)."""
    chosen = logits.gather(-1, ids)
    return (logits.unsqueeze(-2) > chosen.unsqueeze(-1)).sum(dim=-1) + 1


def lens_log_probs(parts: LMParts, hidden: Sequence[torch.Tensor], lens: TunedLens | None) -> torch.Tensor:
    """Log-probabilities ``[L, ..., V]`` of every layer's states, through ``lens`` if given."""
    last = len(hidden) - 1
    rows = []
    for index, states in enumerate(hidden):
        if lens is not None and index < last:
            states = lens.translate(index, states)
        rows.append(parts.logits(states).float().log_softmax(dim=-1))
    return torch.stack(rows)


@torch.no_grad()
def logit_lens(
    model: Any,
    text: str,
    *,
    top_k: int = 5,
    watch: Sequence[str] | None = None,
    lens: TunedLens | None = None,
) -> LogitLens:
    """Every layer's next-token prediction at every position of ``text`` (see :class:`LogitLens`).

    ``watch``: tokens (each one token to the tokenizer, e.g. ``[" is", " are"]`` for GPT-2)
    whose ranks are followed layer by layer at the last position. ``lens``: a tuned lens fitted
    to this model (``fit_tuned_lens``), used instead of the plain logit lens.
    """
    model = as_text_model(model, "logit_lens")
    parts = lm_parts(model)
    if lens is not None:
        if not isinstance(lens, TunedLens):
            raise ArgumentTypeError("lens", "a TunedLens (from fit_tuned_lens) or None", lens)
        lens.check_fits(parts)
    top_k = _check_top_k(top_k, parts.vocab_size)
    watch_tokens, watch_ids = _watch_ids(model, watch)
    ids = encode_prompt(model, text)
    with model.eval_mode():
        hidden, logits = run_with_hidden(parts, ids[None])
        hidden = [h[0] for h in hidden]
        log_probs = lens_log_probs(parts, hidden, lens)  # [L, T, V]
    own = logits[0].float().log_softmax(dim=-1)
    if lens is None and not torch.allclose(log_probs[-1].exp(), own.exp(), atol=1e-4):
        raise UnsupportedModelError(
            "model",
            "a causal LM whose logits are unembed(final_norm(last block output))",
            f"{type(model.module).__name__}, whose output differs from that",
            hint="the lens found the wrong final norm or unembedding for this architecture",
        )
    probs = log_probs.exp()
    top_probs, top_ids = probs.topk(top_k, dim=-1)
    n_layers, length = probs.shape[:2]
    ranks = torch.full((n_layers, length), -1, dtype=torch.long)
    next_probs = torch.full((n_layers, length), float("nan"))
    if length > 1:
        following = ids[1:].expand(n_layers, length - 1)
        ranks[:, :-1] = ranks_of(log_probs[:, :-1], following.unsqueeze(-1))[..., 0].cpu()
        next_probs[:, :-1] = probs[:, :-1].gather(-1, following.unsqueeze(-1))[..., 0].cpu()
    watched = torch.tensor(watch_ids, dtype=torch.long, device=probs.device)
    last = log_probs[:, -1]  # [L, V]
    watch_ranks = ranks_of(last, watched.expand(n_layers, len(watch_ids)))
    watch_probs = last.exp()[:, watched]
    top_ids_np = top_ids.cpu().numpy().astype(np.int64)
    shown = np.unique(top_ids_np)  # convert only the ids shown, not the whole vocabulary
    vocabulary = np.empty(parts.vocab_size, dtype=object)
    vocabulary[shown] = token_strings(model, shown)
    return LogitLens(
        model_name=model.name,
        text=text,
        tokens=token_strings(model, ids),
        token_ids=ids.cpu().numpy().astype(np.int64),
        layers=layer_names(len(parts.blocks)),
        top_ids=top_ids_np,
        top_tokens=vocabulary[top_ids_np].astype(str),
        top_probs=top_probs.cpu().numpy().astype(np.float32),
        ranks=ranks.numpy().astype(np.int64),
        next_probs=next_probs.numpy().astype(np.float32),
        kl_to_final=kl_to_last(log_probs).cpu().numpy().astype(np.float32),
        watch=watch_tokens,
        watch_ids=np.asarray(watch_ids, dtype=np.int64),
        watch_ranks=watch_ranks.cpu().numpy().astype(np.int64).reshape(n_layers, len(watch_ids)),
        watch_probs=watch_probs.cpu().numpy().astype(np.float32).reshape(n_layers, len(watch_ids)),
        lens="logit" if lens is None else "tuned",
    )
