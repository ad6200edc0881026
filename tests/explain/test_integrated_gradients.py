"""Integrated gradients: memory bounded by batch_size, batch-size independence, options."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.explain.integrated_gradients import integration_steps


def largest_batch(module) -> tuple[list[int], object]:
    seen: list[int] = []
    handle = module.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[0]))
    return seen, handle


def test_never_more_than_batch_size_scaled_inputs(cnn, images):
    seen, handle = largest_batch(cnn)
    try:
        ds.explain.integrated_gradients(cnn, images, n_steps=50, batch_size=16)
    finally:
        handle.remove()
    assert max(seen) <= 16
    assert sum(seen) >= 50 * len(images)  # every (example, step) pair was evaluated


def test_result_does_not_depend_on_batch_size(cnn, images):
    small = ds.explain.integrated_gradients(cnn, images, n_steps=10, batch_size=3)
    large = ds.explain.integrated_gradients(cnn, images, n_steps=10, batch_size=500)
    np.testing.assert_allclose(small.values, large.values, atol=1e-6)
    np.testing.assert_allclose(small.delta, large.delta, atol=1e-6)


def test_integration_rules_sum_to_captums_totals():
    weights, alphas = integration_steps(4, "riemann_trapezoid")
    assert weights == [0.125, 0.25, 0.25, 0.125]  # Captum's convention: 1/n, ends halved
    assert alphas == [0.0, pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0]
    weights, alphas = integration_steps(3, "gausslegendre")
    assert sum(weights) == pytest.approx(1.0)
    assert min(alphas) > 0 and max(alphas) < 1


def test_bad_options_name_the_argument(cnn, images):
    with pytest.raises(InvalidArgumentError, match="integration"):
        ds.explain.integrated_gradients(cnn, images, integration="simpson")
    with pytest.raises(InvalidArgumentError, match="n_steps"):
        ds.explain.integrated_gradients(cnn, images, integration="riemann_left", n_steps=1)


def test_integration_alias_through_attribute(cnn, images):
    via = ds.explain.attribute(cnn, images, "integrated_gradients", integration="riemann_left", n_steps=8)
    direct = ds.explain.integrated_gradients(cnn, images, integration="riemann_left", n_steps=8)
    assert via.options["integration"] == "riemann_left"
    np.testing.assert_allclose(via.values, direct.values, atol=1e-7)
