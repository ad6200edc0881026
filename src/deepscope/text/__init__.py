"""Inside language models: logit and tuned lens, generation with per-token attributions,
neuron factors and hidden-state co-clusters.

>>> from deepscope import text
>>> callable(text.logit_lens)
True
"""

from __future__ import annotations

from deepscope.text.cocluster import CoClusters, cocluster
from deepscope.text.factors import NeuronFactors, neuron_factors
from deepscope.text.generate import Generation, generate
from deepscope.text.lens import LogitLens, logit_lens
from deepscope.text.tuned_lens import TunedLens, fit_tuned_lens

__all__ = [
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
