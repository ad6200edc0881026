"""Feature permutation against Captum's FeaturePermutation (given the same permutations)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from captum.attr import FeaturePermutation
from torch import nn

import deepscope as ds
from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.explain.permutation import permutations

TOL = 1e-5


def close(ours, theirs) -> float:
    return float(np.abs(np.asarray(ours) - theirs.detach().numpy()).max())


def captum_with(order: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Captum's perm_func drawing our permutations, one feature after the other."""
    draws = iter(order)
    return lambda t, mask: torch.where(mask, t[next(draws)], t)


@pytest.fixture
def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(6, 5, generator=torch.Generator().manual_seed(3))


def test_permutations_are_seeded_and_never_the_identity():
    order = permutations(2, 50, seed=1)
    assert (order == torch.tensor([1, 0])).all()
    big = permutations(7, 20, seed=2)
    assert torch.equal(big.sort(dim=1).values, torch.arange(7).expand(20, 7))
    assert torch.equal(big, permutations(7, 20, seed=2)) and not torch.equal(big, permutations(7, 20, seed=3))


def test_feature_permutation_matches_captum(net, x):
    ours = ds.explain.feature_permutation(net, x, target=1, seed=3)
    theirs = FeaturePermutation(net, perm_func=captum_with(permutations(6, 5, 3))).attribute(x, target=1)
    assert close(ours.values, theirs) <= TOL
    mask = torch.tensor([[0, 0, 1, 2, 2]])
    ours = ds.explain.feature_permutation(net, x, target=2, seed=1, feature_mask=mask, batch_size=4)
    theirs = FeaturePermutation(net, perm_func=captum_with(permutations(6, 3, 1))).attribute(
        x, target=2, feature_mask=mask
    )
    assert close(ours.values, theirs) <= TOL
    per_example = torch.randint(0, 3, (6, 5), generator=torch.Generator().manual_seed(0))
    per_example[0, :3] = torch.tensor([0, 1, 2])
    ours = ds.explain.feature_permutation(net, x, target=0, seed=1, feature_mask=per_example)
    theirs = FeaturePermutation(net, perm_func=captum_with(permutations(6, 3, 1))).attribute(
        x, target=0, feature_mask=per_example
    )
    assert close(ours.values, theirs) <= TOL


def test_feature_permutation_on_images_with_shared_groups(cnn, images):
    mask = (torch.arange(100).reshape(10, 10) // 25).expand(3, 10, 10)  # four bands over all channels
    ours = ds.explain.feature_permutation(cnn, images, target=1, feature_mask=mask, seed=4)
    theirs = FeaturePermutation(cnn, perm_func=captum_with(permutations(5, 4, 4))).attribute(
        images, target=1, feature_mask=mask.unsqueeze(0)
    )
    assert close(ours.values, theirs) <= TOL
    assert all(len(np.unique(ours.values[0][mask.numpy() == k])) == 1 for k in range(4))


def test_feature_permutation_of_a_linear_model_is_weight_times_change(linear):
    model, w = linear
    x = torch.randn(4, 5, generator=torch.Generator().manual_seed(8))
    a = ds.explain.feature_permutation(model, x, seed=5)
    order = permutations(4, 5, 5)
    moved = x[order.T, torch.arange(5)]  # example i's feature k from example order[k, i]
    np.testing.assert_allclose(a.values, w * (x - moved).numpy(), atol=1e-5)


def test_feature_permutation_errors(net, x):
    with pytest.raises(InvalidArgumentError, match="inputs"):
        ds.explain.feature_permutation(net, x[:1])
    with pytest.raises(ShapeError, match="feature_mask"):
        ds.explain.feature_permutation(net, x, feature_mask=torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(InvalidArgumentError, match="baseline"):
        ds.explain.feature_permutation(net, x, baseline=0.0)
    assert "feature_permutation" in ds.explain.methods()
