"""The model adapter: ``Model`` wraps torch modules, Hugging Face models and plain callables.

>>> import torch
>>> from deepscope.model import Model
>>> [layer.name for layer in Model(torch.nn.Sequential(torch.nn.Linear(2, 2))).layers()]
['0']
"""

from deepscope.model.adapter import Model
from deepscope.model.hooks import Capture, LayerInfo
from deepscope.model.probabilities import to_probabilities

__all__ = ["Model", "LayerInfo", "Capture", "to_probabilities"]
