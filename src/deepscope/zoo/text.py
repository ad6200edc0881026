"""Small text models with Hugging Face's calling convention: a GRU and a transformer classifier,
and a tiny causal language model.

Each ``forward`` takes ``input_ids`` or ``inputs_embeds`` (word embeddings, before positions are
added) with an optional ``attention_mask`` and returns logits; ``get_input_embeddings()`` returns
the word-embedding layer, so gradient methods can differentiate with respect to embeddings.
Attention probabilities pass through an ``nn.Identity`` named ``attention_probs`` in every
attention layer, so a forward hook there captures ``[N, heads, T, T]``.

>>> import torch
>>> lm = CausalLM(vocab_size=20, hidden=16, layers=1, heads=2)
>>> lm(input_ids=torch.tensor([[2, 5, 6, 3]])).shape
torch.Size([1, 4, 20])
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from deepscope.errors import InvalidArgumentError

__all__ = ["GRUClassifier", "TransformerClassifier", "CausalLM", "TransformerOutput"]


@dataclass
class TransformerOutput:
    """What a transformer returns when asked for attentions or hidden states (as in HF)."""

    logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...] | None = None
    attentions: tuple[torch.Tensor, ...] | None = None


def _embed_inputs(
    embeddings: nn.Embedding,
    input_ids: torch.Tensor | None,
    inputs_embeds: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(word embeddings [N, T, D], attention mask [N, T] as float) from either kind of input."""
    if (input_ids is None) == (inputs_embeds is None):
        raise InvalidArgumentError("input_ids", "exactly one of input_ids or inputs_embeds", "both or neither")
    embeds = embeddings(input_ids) if inputs_embeds is None else inputs_embeds
    if attention_mask is None:
        attention_mask = torch.ones(embeds.shape[:2], device=embeds.device)
    return embeds, attention_mask.to(embeds.dtype)


def _last_positions(mask: torch.Tensor) -> torch.Tensor:
    """Index of the last position with mask 1 in each row (0 for an all-padding row)."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return (positions * (mask > 0)).argmax(dim=1)


class GRUClassifier(nn.Module):
    """embeddings -> gru -> (state at the last real token) -> dropout -> classifier."""

    def __init__(
        self,
        vocab_size: int,
        n_classes: int = 2,
        hidden: int = 32,
        dropout: float = 0.0,
        pad_id: int = 0,
    ):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, hidden, padding_idx=pad_id)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden, n_classes)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> torch.Tensor:
        embeds, mask = _embed_inputs(self.embeddings, input_ids, inputs_embeds, attention_mask)
        states, _ = self.gru(embeds)
        last = _last_positions(mask)
        final = states[torch.arange(states.shape[0], device=states.device), last]
        return self.classifier(self.dropout(final))


class SelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention; ``causal`` hides later positions."""

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0, causal: bool = False):
        super().__init__()
        if hidden % heads:
            raise InvalidArgumentError("heads", f"a divisor of hidden={hidden}", heads)
        self.heads = heads
        self.causal = causal
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)
        self.attention_probs = nn.Identity()
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, t, d = x.shape
        split = lambda y: y.view(n, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d // self.heads)
        allowed = (mask[:, None, None, :] > 0).expand(n, 1, t, t)
        if self.causal:
            allowed = allowed & torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        # a query that may see nothing (padding) attends to itself, so no row is all -inf
        allowed = allowed | torch.eye(t, dtype=torch.bool, device=x.device)
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        probs = self.attention_probs(scores.softmax(dim=-1))
        mixed = (self.dropout(probs) @ v).transpose(1, 2).reshape(n, t, d)
        return self.output(mixed), probs


class Block(nn.Module):
    """Pre-norm transformer block: x + attention(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0, causal: bool = False):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attention = SelfAttention(hidden, heads, dropout, causal)
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        attended, probs = self.attention(self.norm1(x), mask)
        x = x + self.dropout(attended)
        x = x + self.dropout(self.mlp(self.norm2(x)))
        return x, probs


class _TransformerBase(nn.Module):
    def __init__(
        self,
        vocab_size: int,
        hidden: int,
        layers: int,
        heads: int,
        dropout: float,
        causal: bool,
        max_positions: int,
        pad_id: int,
    ):
        super().__init__()
        self.embeddings = nn.Embedding(vocab_size, hidden, padding_idx=pad_id)
        self.position_embeddings = nn.Embedding(max_positions, hidden)
        self.embedding_dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(Block(hidden, heads, dropout, causal) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings

    def _encode(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None,
        inputs_embeds: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
        embeds, mask = _embed_inputs(self.embeddings, input_ids, inputs_embeds, attention_mask)
        length = embeds.shape[1]
        if length > self.position_embeddings.num_embeddings:
            raise InvalidArgumentError(
                "input_ids",
                f"at most {self.position_embeddings.num_embeddings} tokens",
                f"{length} tokens",
            )
        positions = torch.arange(length, device=embeds.device)
        x = self.embedding_dropout(embeds + self.position_embeddings(positions)[None])
        hidden_states, attentions = [x], []
        for layer in self.layers:
            x, probs = layer(x, mask)
            hidden_states.append(x)
            attentions.append(probs)
        return self.norm(x), mask, hidden_states, attentions

    @staticmethod
    def _output(
        logits: torch.Tensor,
        hidden_states: list[torch.Tensor],
        attentions: list[torch.Tensor],
        output_attentions: bool,
        output_hidden_states: bool,
        return_dict: bool,
    ) -> torch.Tensor | TransformerOutput:
        if not (output_attentions or output_hidden_states or return_dict):
            return logits
        return TransformerOutput(
            logits=logits,
            hidden_states=tuple(hidden_states) if output_hidden_states else None,
            attentions=tuple(attentions) if output_attentions else None,
        )


class TransformerClassifier(_TransformerBase):
    """embeddings + position_embeddings -> layers (pre-norm blocks) -> norm -> masked mean -> classifier."""

    def __init__(
        self,
        vocab_size: int,
        n_classes: int = 2,
        hidden: int = 32,
        layers: int = 2,
        heads: int = 2,
        dropout: float = 0.0,
        max_positions: int = 128,
        pad_id: int = 0,
    ):
        super().__init__(vocab_size, hidden, layers, heads, dropout, False, max_positions, pad_id)
        self.classifier = nn.Linear(hidden, n_classes)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool = False,
    ) -> torch.Tensor | TransformerOutput:
        x, mask, hidden_states, attentions = self._encode(input_ids, attention_mask, inputs_embeds)
        pooled = (x * mask[..., None]).sum(dim=1) / mask.sum(dim=1, keepdim=True).clamp(min=1.0)
        logits = self.classifier(pooled)
        return self._output(logits, hidden_states, attentions, output_attentions, output_hidden_states, return_dict)


class CausalLM(_TransformerBase):
    """A tiny GPT-like language model: logits ``[N, T, V]`` for the token after each position.

    ``norm`` then ``lm_head`` map any layer's hidden state to vocabulary logits (logit lens).
    """

    def __init__(
        self,
        vocab_size: int,
        hidden: int = 48,
        layers: int = 2,
        heads: int = 2,
        dropout: float = 0.0,
        max_positions: int = 128,
        pad_id: int = 0,
    ):
        super().__init__(vocab_size, hidden, layers, heads, dropout, True, max_positions, pad_id)
        self.lm_head = nn.Linear(hidden, vocab_size, bias=False)

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        output_attentions: bool = False,
        output_hidden_states: bool = False,
        return_dict: bool = False,
    ) -> torch.Tensor | TransformerOutput:
        x, _, hidden_states, attentions = self._encode(input_ids, attention_mask, inputs_embeds)
        logits = self.lm_head(x)
        return self._output(logits, hidden_states, attentions, output_attentions, output_hidden_states, return_dict)
