"""Pointing game and energy in mask against ground-truth masks."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import ShapeError


def attribution(values):
    return ds.explain.Attribution(values=values, method="m", target=np.zeros(len(values), np.int64), kind="image")


def test_scores_by_hand():
    values = np.zeros((2, 1, 6, 6))
    values[0, 0, 1, 1] = 5.0  # inside
    values[0, 0, 5, 5] = 1.0
    values[1, 0, 4, 4] = 2.0  # two pixels outside the mask's corner
    values[1, 0, 0, 0] = -9.0  # negative values carry no energy
    masks = np.zeros((2, 6, 6), bool)
    masks[:, :3, :3] = True
    a = attribution(values)
    assert ds.explain.pointing_game(a, masks).tolist() == [True, False]
    assert ds.explain.pointing_game(a, masks, tolerance=2).tolist() == [True, True]
    np.testing.assert_allclose(ds.explain.energy_in_mask(a, masks), [5 / 6, 0.0])


def test_channels_are_summed_and_masks_checked():
    values = np.zeros((1, 3, 4, 4))
    values[0, :, 0, 0] = 1.0
    values[0, 0, 3, 3] = 2.5
    masks = np.zeros((1, 1, 4, 4), bool)
    masks[0, 0, 0, 0] = True
    assert ds.explain.pointing_game(attribution(values), masks).tolist() == [True]
    with pytest.raises(ShapeError, match="masks"):
        ds.explain.energy_in_mask(attribution(values), np.zeros((1, 5, 5), bool))


def test_on_the_shapes_dataset(cnn):
    from deepscope.datasets import shapes

    data = shapes(n=6, seed=0, size=16)
    oracle = attribution(data.masks[:, None].astype(float))
    assert ds.explain.pointing_game(oracle, data.masks).all()
    np.testing.assert_allclose(ds.explain.energy_in_mask(oracle, data.masks), 1.0)
    cam = ds.explain.grad_cam(cnn, data.images)
    energy = ds.explain.energy_in_mask(cam, data.masks)
    assert energy.shape == (6,) and np.all((energy[np.isfinite(energy)] >= 0) & (energy[np.isfinite(energy)] <= 1))
