"""Does a map point at the object? Scores against ground-truth masks (e.g. the ``shapes`` data).

- Pointing game (Zhang et al. 2016): a hit when the map's maximum falls inside the mask
  (optionally grown by ``tolerance`` pixels).
- Energy in mask (Wang et al. 2020, Score-CAM's "energy-based pointing game"): the share of
  the map's positive mass that lies inside the mask.

>>> import numpy as np
>>> from deepscope.explain import Attribution, energy_in_mask, pointing_game
>>> values = np.zeros((1, 1, 4, 4)); values[0, 0, 1, 1] = 3.0; values[0, 0, 3, 3] = 1.0
>>> a = Attribution(values=values, method="grad_cam", target=np.array([0]), kind="image")
>>> mask = np.zeros((1, 4, 4), bool); mask[0, :2, :2] = True
>>> pointing_game(a, mask).tolist(), energy_in_mask(a, mask).tolist()
([True], [0.75])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError
from deepscope.explain.attribution import Attribution
from deepscope.validation import check_int

__all__ = ["pointing_game", "energy_in_mask"]


def _maps_and_masks(attribution: Any, masks: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(attribution, Attribution):
        raise ArgumentTypeError("attribution", "an Attribution", attribution)
    if attribution.kind != "image":
        raise InvalidArgumentError("attribution", "an attribution of images", f"a {attribution.kind} one")
    maps = np.asarray(attribution.map(), dtype=np.float64)
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if masks.shape != maps.shape:
        raise ShapeError("masks", f"one mask per example shaped {list(maps.shape)}", masks)
    return maps, masks.astype(bool)


def pointing_game(attribution: Attribution, masks: Any, *, tolerance: int = 0) -> np.ndarray:
    """Per example, whether the map's highest pixel lies in the mask grown by ``tolerance`` px."""
    maps, masks = _maps_and_masks(attribution, masks)
    tolerance = check_int(tolerance, "tolerance", low=0, hint="a number of pixels")
    if tolerance:
        from scipy.ndimage import maximum_filter

        size = 2 * int(tolerance) + 1
        masks = np.stack([maximum_filter(m, size=size) for m in masks]).astype(bool)
    flat = maps.reshape(len(maps), -1).argmax(axis=1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), flat]


def energy_in_mask(attribution: Attribution, masks: Any) -> np.ndarray:
    """Per example, the share of the map's positive values inside the mask (NaN if none)."""
    maps, masks = _maps_and_masks(attribution, masks)
    positive = np.clip(maps, 0, None)
    total = positive.reshape(len(maps), -1).sum(axis=1)
    inside = (positive * masks).reshape(len(maps), -1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / np.where(total > 0, total, 1.0), np.nan)
