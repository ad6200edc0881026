"""Live models the pages share: which registered models are image or text classifiers, and the
examples to run one on when a run logged none (a registered dataset of its kind, or the held-out
split of the zoo run it trained).

The kind of a zoo model is told by its run's meta without loading it; any other model is loaded
once and looked at (a 2-D convolution makes an image model). Kinds are cached per models mapping.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepscope.app.cache import Cache
from deepscope.app.plugin import AppContext

log = logging.getLogger(__name__)

__all__ = [
    "GALLERY_SIZE",
    "MODEL_ERRORS",
    "Examples",
    "dataset_examples",
    "live_models",
    "model_kind",
    "zoo_spec",
]

GALLERY_SIZE = 48  # examples drawn from a dataset when a run logged none
# What a registered model (user code) may raise on inputs it does not take; pages show it in place.
MODEL_ERRORS = (ValueError, TypeError, KeyError, IndexError, RuntimeError, OSError)


@dataclass(frozen=True, eq=False)
class Examples:
    """The examples a page shows: inputs (images) or texts, with what is known about them."""

    key: str  # identifies them in caches
    origin: str  # for the page: where they come from
    kind: str  # "image" | "text"
    inputs: np.ndarray | None
    texts: list[str] | None
    labels: np.ndarray | None
    masks: np.ndarray | None
    class_names: list[str] | None

    def __len__(self) -> int:
        if self.texts is not None:
            return len(self.texts)
        return 0 if self.inputs is None else int(self.inputs.shape[0])

    def rows(self, index: int) -> Any:
        """Example ``index`` as a batch of one, as the model takes it."""
        if self.texts is not None:
            return [self.texts[index]]
        if self.inputs is None:
            raise IndexError(f"index: these examples hold no inputs, got {index}")
        return self.inputs[index : index + 1]

    @property
    def images(self) -> np.ndarray:
        """The inputs of image examples (exactly one of ``inputs`` and ``texts`` is set)."""
        if self.inputs is None:
            raise IndexError("images: these examples are texts, not images")
        return self.inputs

    def class_name(self, index: Any) -> str:
        if index is None:
            return "?"
        names = self.class_names
        return names[int(index)] if names and 0 <= int(index) < len(names) else str(int(index))


# -- live models --------------------------------------------------------------------------------

_KINDS: dict[int, tuple[weakref.ref, dict[str, str | None]]] = {}
_KINDS_LOCK = threading.Lock()


def model_kind(ctx: AppContext, name: str | None) -> str | None:
    """``"image"`` or ``"text"`` when the registered model ``name`` is such a classifier, else
    None. Zoo models of a run are told by the run's meta without loading them."""
    if not name or name not in ctx.models:
        return None
    with _KINDS_LOCK:
        ref, kinds = _KINDS.get(id(ctx.models), (None, {}))
        if ref is None or ref() is not ctx.models:
            kinds = {}
            _KINDS[id(ctx.models)] = (weakref.ref(ctx.models), kinds)
        if name in kinds:
            return kinds[name]
    kind = _zoo_kind(ctx, name)
    if kind is None:
        try:
            kind = _module_kind(ctx.models[name])
        except MODEL_ERRORS:
            log.exception("live model %r could not be loaded", name)
            kind = None
    with _KINDS_LOCK:
        kinds[name] = kind
    return kind


def _zoo_kind(ctx: AppContext, name: str) -> str | None:
    spec = zoo_spec(ctx, name)
    if spec is None or spec.task != "classification":
        return None
    return {"shapes": "image", "digits": "image", "reviews": "text"}.get(spec.source)


def zoo_spec(ctx: AppContext, run: str | None) -> Any:
    """The zoo entry the run ``run`` trained (its ``zoo_model`` meta), or None."""
    if ctx.logdir is None or not run:
        return None
    runs = ctx.logdir.runs()
    rows = runs[runs["run"] == run]
    meta = rows["meta"].iloc[0] if len(rows) else None
    name = meta.get("zoo_model", {}).get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str):
        return None
    from deepscope.zoo.specs import SPECS

    return SPECS.get(name)


def _module_kind(model: Any) -> str | None:
    module = getattr(model, "module", None)
    if module is None:
        return None
    if getattr(model, "is_text", False):
        return "text"
    import torch

    if any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
        return "image"
    return None


def live_models(ctx: AppContext, kind: str | None = None) -> list[str]:
    """Registered image and text classifiers (only those of ``kind`` when given)."""
    return [
        name for name in ctx.models if (found := model_kind(ctx, name)) is not None and (kind is None or found == kind)
    ]


# -- examples -----------------------------------------------------------------------------------


def dataset_examples(ctx: AppContext, run: str | None, model: str, kind: str) -> Examples | None:
    """Examples of ``kind`` for a live model: the first registered dataset of that kind, else the
    held-out split of the zoo model that ``run`` (or the run named ``model``) trained."""
    for name, dataset in ctx.datasets.items():
        found = _from_dataset(dataset, kind, f"dataset {name!r}", f"dataset:{name}")
        if found is not None:
            return found
    spec = zoo_spec(ctx, run) or zoo_spec(ctx, model)
    if spec is None:
        return None
    _, test = _split(spec.name)
    return _from_dataset(test, kind, f"the held-out split of {spec.name}", f"zoo:{spec.name}")


_SPLITS = Cache(4)


def _split(name: str) -> Any:
    from deepscope import zoo

    return _SPLITS.get(name, lambda: zoo.splits(name))


def _from_dataset(dataset: Any, kind: str, origin: str, key: str) -> Examples | None:
    images = getattr(dataset, "images", None)
    texts = getattr(dataset, "texts", None)
    labels = getattr(dataset, "labels", None)
    names = getattr(dataset, "class_names", None)
    rows = slice(0, GALLERY_SIZE)
    labels = np.asarray(labels)[rows] if labels is not None else None
    names = [str(n) for n in names] if names is not None else None
    if kind == "image" and isinstance(images, np.ndarray) and images.ndim == 4:
        masks = getattr(dataset, "masks", None)
        return Examples(
            key=key,
            origin=f"the first {len(images[rows])} examples of {origin}",
            kind="image",
            inputs=images[rows],
            texts=None,
            labels=labels,
            masks=np.asarray(masks)[rows] if masks is not None else None,
            class_names=names,
        )
    if kind == "text" and isinstance(texts, list) and texts:
        return Examples(
            key=key,
            origin=f"the first {len(texts[rows])} examples of {origin}",
            kind="text",
            inputs=None,
            texts=list(texts[rows]),
            labels=labels,
            masks=None,
            class_names=names,
        )
    return None
