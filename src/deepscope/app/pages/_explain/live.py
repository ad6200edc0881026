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
from deepscope.explain.layer import LAYER_METHODS, NEURON_METHODS, layer_map
from deepscope.explain.registry import get_method, methods, targeted

# Offered for live models in this order, where registered (methods added to the registry later
# appear once listed here); layer and neuron methods take the page's layer and neuron.
CANDIDATES = {
    "image": (
        "integrated_gradients",
        "grad_cam",
        "saliency",
        "gradient_x_input",
        "smoothgrad",
        "guided_backprop",
        "deconvolution",
        "occlusion",
        "grad_cam_pp",
        "guided_grad_cam",
        "gradient_shap",
        "smoothgrad_sq",
        "vargrad",
        "deeplift",
        "lrp",
        "feature_ablation",
        "shapley_sampling",
        "shapley_exact",
        "lime",
        *LAYER_METHODS,
        *NEURON_METHODS,
    ),
    "text": ("integrated_gradients", "saliency", "gradient_x_input", "smoothgrad", "deeplift", "lime"),
}
LIVE_METHODS = {kind: tuple(m for m in names if m in methods()) for kind, names in CANDIDATES.items()}
# Feature groups of the perturbation methods: a grid of cells x cells patches over the image
# (exact Shapley values evaluate all 2^9 coalitions of a 3 x 3 grid).
GRID = {"feature_ablation": 8, "shapley_sampling": 4, "shapley_exact": 3}
# Enough for a faithful map of one example in well under a second on a laptop CPU.
OPTIONS: dict[str, dict[str, Any]] = {
    "integrated_gradients": {"n_steps": 64},
    "smoothgrad": {"n_samples": 16},
    "smoothgrad_sq": {"n_samples": 16},
    "vargrad": {"n_samples": 16},
    "occlusion": {"window": 4, "stride": 4},
    "shapley_sampling": {"n_samples": 8},
    "lime": {"n_samples": 200},
    "layer_integrated_gradients": {"n_steps": 32},
    "layer_conductance": {"n_steps": 32},
    "neuron_integrated_gradients": {"n_steps": 32},
    "neuron_conductance": {"n_steps": 32},
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


def needs_layer(method: str) -> bool:
    return method in LAYER_METHODS or method in NEURON_METHODS


def method_options(method: str, shape: tuple[int, ...] = (), layer: str | None = None, neuron: Any = None) -> dict:
    """What ``method`` runs with on one example of ``shape`` (``layer`` and ``neuron``: the
    page's choice, for the methods that take them)."""
    options = dict(OPTIONS.get(method, {}))
    if method in GRID and len(shape) == 3:
        options["feature_mask"] = patch_grid(shape, GRID[method])
    if needs_layer(method):
        options["layer"] = layer
    if method in NEURON_METHODS:
        options["neuron"] = tuple(neuron) if neuron is not None else None
    return options


def patch_grid(shape: tuple[int, ...], cells: int) -> np.ndarray:
    """Feature groups [C, H, W]: ``cells`` x ``cells`` patches over every channel."""
    channels, height, width = shape
    rows = np.minimum(np.arange(height) * cells // height, cells - 1)
    cols = np.minimum(np.arange(width) * cells // width, cells - 1)
    grid = rows[:, None] * cells + cols[None, :]
    return np.broadcast_to(grid, (channels, height, width)).copy()


def layers(model: Any, examples: Examples) -> list[tuple[str, tuple[int, ...] | None]]:
    """(name, output shape of one example) of every layer of the model, probed on example 0."""

    def run() -> list[tuple[str, tuple[int, ...] | None]]:
        with _lock(model):
            found = model.layers(examples.rows(0))
        return [(info.name, None if info.output_shape is None else tuple(info.output_shape[1:])) for info in found]

    return _cached(_OUTPUTS, model, (examples.key, "layers"), run)


def outputs(model: Any, examples: Examples) -> np.ndarray:
    """The model's outputs [N, C] on every example."""

    def run() -> np.ndarray:
        with _lock(model):
            batch = examples.texts if examples.texts is not None else examples.inputs
            out = np.asarray(model.predict(batch, progress=False), dtype=np.float64)
        return out[:, None] if out.ndim == 1 else out

    return _cached(_OUTPUTS, model, (examples.key,), run)


def _shape(examples: Examples) -> tuple[int, ...]:
    return tuple(examples.inputs.shape[1:]) if examples.inputs is not None else ()


def attribution(
    model: Any, examples: Examples, row: int, method: str, target: int, layer: str | None = None, neuron: Any = None
) -> Attribution:
    """``method``'s map of example ``row`` for class ``target`` (a layer's map upsampled onto
    the image, as Grad-CAM's)."""
    options = method_options(method, _shape(examples), layer, neuron)

    def run() -> Attribution:
        with _lock(model):
            function = get_method(method)
            found = function(model, examples.rows(row), **targeted(method, [int(target)]), progress=False, **options)
        return layer_map(found) if found.kind == "array" else found

    key = (examples.key, row, method, int(target), layer, None if neuron is None else tuple(neuron))
    return _cached(_MAPS, model, key, run)


def scores(
    model: Any,
    examples: Examples,
    row: int,
    method: str,
    maps: Attribution,
    layer: str | None = None,
    neuron: Any = None,
) -> MapScores:
    """The truthfulness scores of ``maps`` (one example, made by ``model`` with ``method``)."""
    masks = examples.masks[row : row + 1] if examples.masks is not None else None
    options = method_options(method, _shape(examples), layer, neuron)

    def run() -> MapScores:
        with _lock(model):
            return score_maps(
                model,
                maps,
                method=method,
                masks=masks,
                perturbations=SCORE_SAMPLES,
                method_options=options,
            )

    key = (examples.key, row, method, int(maps.target[0]), layer, None if neuron is None else tuple(neuron))
    return _cached(_SCORES, model, key, run)
