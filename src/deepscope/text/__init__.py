"""Text: what a transformer attends to and what a language model computes.

- ``attention(model, text, text_b=None, *, target=None, layers=None, heads=None) -> Attention``
- ``neuron_view(model, text, *, layer, head, query=None) -> NeuronView``
- ``head_summary(attention) -> HeadSummary``
- ``attention_rollout(model, text, ...) -> deepscope.explain.Attribution``
- ``token_deletion_insertion(model, attribution) -> deepscope.explain.Faithfulness``
"""

from __future__ import annotations

from deepscope.text.attention import Attention, AttentionEdges, attention
from deepscope.text.head_summary import HeadSummary, head_summary
from deepscope.text.neuron_view import NeuronView, neuron_view
from deepscope.text.rollout import attention_rollout, rollout_matrix
from deepscope.text.token_faithfulness import token_deletion_insertion

__all__ = [
    "Attention",
    "AttentionEdges",
    "attention",
    "HeadSummary",
    "head_summary",
    "NeuronView",
    "neuron_view",
    "attention_rollout",
    "rollout_matrix",
    "token_deletion_insertion",
]
