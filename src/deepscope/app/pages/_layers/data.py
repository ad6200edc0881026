"""What the Layers page reads: live image CNNs and their examples, uploaded images, layer maps
and unit arithmetic (cached), and the feature visualizations and atlases runs logged."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import numpy as np

from deepscope import features
from deepscope.app import live
from deepscope.app.cache import Cache
from deepscope.app.plugin import AppContext

log = logging.getLogger(__name__)

RESULT_TYPES = {
    "deepscope.features.visualize:FeatureVisualization": "visualization",
    "deepscope.features.atlas:Atlas": "atlas",
    "deepscope.features.layers:LayerMaps": "layer maps",
}
MODEL_ERRORS = live.MODEL_ERRORS

_MAPS = Cache(32)
_UNITS = Cache(128)
_RESULTS = Cache(16)


def live_models(ctx: AppContext) -> list[str]:
    """Registered image models (with a 2-D convolution)."""
    return live.live_models(ctx, "image")


def examples(ctx: AppContext, model: str | None) -> live.Examples | None:
    """Examples for a live model: a registered image dataset, or its zoo run's held-out split."""
    if not model or live.model_kind(ctx, model) != "image":
        return None
    return live.dataset_examples(ctx, None, model, "image")


def decode_upload(contents: str, like: np.ndarray) -> np.ndarray:
    """An uploaded image (a data URL) as ``[1, C, H, W]`` floats in [0, 1], resized and converted
    to the shape of ``like`` (one example ``[C, H, W]``)."""
    from PIL import Image

    _, _, encoded = contents.partition(",")
    picture = Image.open(io.BytesIO(base64.b64decode(encoded)))
    channels, height, width = like.shape
    picture = picture.convert("RGB" if channels == 3 else "L").resize((width, height))
    array = np.asarray(picture, dtype=np.float32) / 255.0
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    low, high = float(like.min()), float(like.max())
    return (low + array * (high - low))[None].astype(np.float32)


def image_for(ctx: AppContext, model: str, example: Any, upload: str | None) -> tuple[str, np.ndarray]:
    """(cache key, image [1, C, H, W]) of the chosen example or the uploaded image."""
    found = examples(ctx, model)
    if found is None or found.inputs is None:
        raise ValueError(f"no examples for the model {model!r}: register an image dataset")
    if upload:
        return f"upload:{hash(upload)}", decode_upload(upload, found.inputs[0])
    index = int(example) if isinstance(example, int) and 0 <= example < len(found) else 0
    return f"{found.key}:{index}", found.inputs[index : index + 1]


def layer_maps(ctx: AppContext, model: str, key: str, image: np.ndarray) -> features.LayerMaps:
    return _MAPS.get((id(ctx.models), model, key), lambda: features.layer_maps(ctx.models[model], image))


def unit(
    ctx: AppContext,
    model: str,
    key: str,
    image: np.ndarray,
    layer: str,
    channel: int,
    row: int,
    col: int,
) -> features.UnitArithmetic:
    return _UNITS.get(
        (id(ctx.models), model, key, layer, channel, row, col),
        lambda: features.unit_arithmetic(ctx.models[model], image, layer=layer, channel=channel, row=row, col=col),
    )


def has_logged(ctx: AppContext) -> bool:
    """Whether a run saved a result under a ``features/`` tag (the default tags of the features
    results); cheap: the tag lists are cached per run."""
    if ctx.logdir is None:
        return False
    from deepscope.app.series import SeriesSource

    source = SeriesSource.shared(ctx.logdir)
    # One listing of every run's tags (a run_tags call per run would read the logdir's version
    # for each: a thousand runs' stats a thousand times).
    return any(tag.startswith("features/") for tags in source.tags_by_run("results").values() for tag in tags)


def logged(ctx: AppContext, version: Any = None) -> list[dict]:
    """Feature results the runs logged: ``{"run", "tag", "kind"}``, newest runs first."""
    if ctx.logdir is None:
        return []
    index = ctx.logdir.result_index()
    if not len(index):
        return []
    rows = index[index["type"].isin(list(RESULT_TYPES))]
    return [{"run": r.run, "tag": r.tag, "kind": RESULT_TYPES[r.type]} for r in rows.itertuples()]


def result(ctx: AppContext, run: str, tag: str, version: Any = None) -> Any:
    logdir = ctx.logdir
    if logdir is None:
        raise ValueError(f"ctx: no logdir to read the result {run!r}/{tag!r} from")
    return _RESULTS.get((str(ctx.logdir_path), run, tag, version), lambda: logdir.result(run, tag))
