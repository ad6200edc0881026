"""Text: what a transformer attends to and what a language model computes.

Attention (BertViz's views, beyond them):

- ``attention(model, text, text_b=None, *, target=None, layers=None, heads=None) -> Attention``
- ``neuron_view(model, text, *, layer, head, query=None) -> NeuronView``
- ``head_summary(attention) -> HeadSummary``
- ``attention_rollout(model, text, ...) -> deepscope.explain.Attribution``
- ``token_deletion_insertion(model, attribution) -> deepscope.explain.Faithfulness``

Inside language models (Ecco, RNNVis, the tuned lens):

- ``logit_lens(model, text, *, top_k=5, watch=None, lens=None) -> LogitLens``
- ``fit_tuned_lens(model, texts, ...) -> TunedLens``
- ``generate(model, prompt, *, max_new_tokens=20, attribution=..., ...) -> Generation``
- ``neuron_factors(model, texts, ...) -> NeuronFactors``
- ``cocluster(model, texts, *, layer, ...) -> CoClusters``

>>> from deepscope import text
>>> callable(text.logit_lens) and callable(text.attention)
True
"""

from __future__ import annotations

from deepscope.text.attention import Attention, AttentionEdges, attention
from deepscope.text.cocluster import CoClusters, cocluster
from deepscope.text.factors import NeuronFactors, neuron_factors
from deepscope.text.generate import Generation, generate
from deepscope.text.head_summary import HeadSummary, head_summary
from deepscope.text.lens import LogitLens, logit_lens
from deepscope.text.neuron_view import NeuronView, neuron_view
from deepscope.text.rollout import attention_rollout, rollout_matrix
from deepscope.text.token_faithfulness import token_deletion_insertion
from deepscope.text.tuned_lens import TunedLens, fit_tuned_lens

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
    "CoClusters",
    "NeuronFactors",
    "cocluster",
    "neuron_factors",
    "Generation",
    "generate",
    "LogitLens",
    "TunedLens",
    "fit_tuned_lens",
    "logit_lens",
]
