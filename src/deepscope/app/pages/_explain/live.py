"""Maps, scores and predictions computed now through a live model, for one example at a time.

Results are cached per model object, examples and method, so moving between examples and
methods computes each map once. One computation runs at a time per model: some methods hook
the model's layers while they run (guided backprop), so two at once would see each other's hooks.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import numpy as np

from deepscope.app.cache import Cache
from deepscope.app.pages._explain.data import Examples
from deepscope.explain import Attribution
from deepscope.explain.callback import MapScores, score_maps
from deepscope.explain.registry import get_method

LIVE_METHODS = {
    "image": (
        "integrated_gradients",
        "grad_cam",
        "saliency",
        "gradient_x_input",
        "smoothgrad",
        "guided_backprop",
        "deconvolution",
        "occlusion",
    ),
    "text": ("integrated_gradients", "saliency", "gradient_x_input", "smoothgrad"),
}
# Enough for a faithful map of one example in well under a second on a laptop CPU.
OPTIONS: dict[str, dict[str, Any]] = {
    "integrated_gradients": {"n_steps": 64},
    "smoothgrad": {"n_samples": 16},
    "occlusion": {"window": 4, "stride": 4},
}
SCORE_SAMPLES = 5

_MAPS = Cache(256)
_SCORES = Cache(128)
_OUTPUTS = Cache(16)
_LOCKS: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock(model: Any) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(model, threading.Lock())


def _cached(cache: Cache, model: Any, key: tuple, make: Any) -> Any:
    """``make()`` cached under ``key`` for this model object (a new model with a reused id
    misses)."""
    ref, value = cache.get((id(model), *key), lambda: (weakref.ref(model), make()))
    if ref() is not model:
        value = make()
        cache.put((id(model), *key), (weakref.ref(model), value))
    return value


def method_options(method: str) -> dict[str, Any]:
    return dict(OPTIONS.get(method, {}))


def outputs(model: Any, examples: Examples) -> np.ndarray:
    """The model's outputs [N, C] on every example."""

    def run() -> np.ndarray:
        with _lock(model):
            batch = examples.texts if examples.texts is not None else examples.inputs
            out = np.asarray(model.predict(batch, progress=False), dtype=np.float64)
        return out[:, None] if out.ndim == 1 else out

    return _cached(_OUTPUTS, model, (examples.key,), run)


def attribution(model: Any, examples: Examples, row: int, method: str, target: int) -> Attribution:
    """``method``'s map of example ``row`` for class ``target``."""

    def run() -> Attribution:
        with _lock(model):
            function = get_method(method)
            return function(model, examples.rows(row), target=[int(target)], progress=False, **method_options(method))

    return _cached(_MAPS, model, (examples.key, row, method, int(target)), run)


def scores(model: Any, examples: Examples, row: int, method: str, maps: Attribution) -> MapScores:
    """The truthfulness scores of ``maps`` (one example, made by ``model`` with ``method``)."""
    masks = examples.masks[row : row + 1] if examples.masks is not None else None

    def run() -> MapScores:
        with _lock(model):
            return score_maps(
                model,
                maps,
                method=method,
                masks=masks,
                perturbations=SCORE_SAMPLES,
                method_options=method_options(method),
            )

    key = (examples.key, row, method, int(maps.target[0]))
    return _cached(_SCORES, model, key, run)
