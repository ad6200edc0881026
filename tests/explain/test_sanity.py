"""The cascading randomization test flags maps that ignore the model and passes gradients."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.explain.sanity import spearman

from .conftest import own_options


def edge_detector(model, inputs, target=None, **options):
    """A Sobel edge map of the input: looks like an explanation, ignores the model entirely."""
    x = torch.as_tensor(np.asarray(inputs)).float().mean(dim=1, keepdim=True)
    kx = torch.tensor([[[[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]]])
    gx, gy = F.conv2d(x, kx, padding=1), F.conv2d(x, kx.transpose(2, 3), padding=1)
    return torch.sqrt(gx**2 + gy**2)[:, 0].numpy()


def test_flags_an_edge_detector(trained_cnn):
    net, x, _ = trained_cnn
    check = ds.explain.sanity_check(edge_detector, net, x[:16])
    assert not check.passed
    np.testing.assert_allclose(check.correlation, 1.0)
    assert check.layers == ["fc", "conv2", "conv1"]


def test_passes_gradient_maps_on_a_trained_cnn(trained_cnn):
    net, x, _ = trained_cnn
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    for method in ("saliency", "smoothgrad", "grad_cam"):
        check = ds.explain.sanity_check(method, net, x[:16], seed=0)
        assert check.passed, check
        assert check.final < 0.3
    # the trained model itself is untouched
    assert all(torch.equal(weights[k], v) for k, v in net.state_dict().items())


def test_input_times_gradient_keeps_the_input_look(trained_cnn):
    """Adebayo et al.'s finding: multiplying by the input keeps maps correlated with it."""
    net, x, _ = trained_cnn
    plain = ds.explain.sanity_check("saliency", net, x[:16])
    times_input = ds.explain.sanity_check("gradient_x_input", net, x[:16])
    assert times_input.final > plain.final + 0.2


def test_result_reads_and_draws(trained_cnn):
    net, x, _ = trained_cnn
    check = ds.explain.sanity_check("saliency", net, x[:8], layers=["fc"])
    assert check.per_example.shape == (1, 8)
    assert list(check.to_frame().columns) == ["step", "layer", "correlation"]
    assert len(check.figure().data) == 8 + 1
    assert "passed" in repr(check) or "FLAGGED" in repr(check)


def test_the_method_gets_its_options_even_named_like_the_checks_own():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    options = own_options(ds.explain.sanity_check)
    assert {"layers", "threshold", "absolute", "seed", "batch_size"} <= set(options)
    seen = []

    def recording(model, inputs, *, target=None, **given):
        seen.append(given)
        return ds.explain.saliency(model, inputs, target=target)

    check = ds.explain.sanity_check(recording, net, torch.rand(6, 4), seed=0, batch_size=3, method_options=options)
    assert seen == [options] * 3  # the trained model, then each of its two layers randomized
    assert check.options == options
    ds.explain.sanity_check(recording, net, torch.rand(6, 4), batch_size=3, method_options={"seed": 1})
    assert seen[-1] == {"batch_size": 3, "seed": 1}  # batch_size still passed on unless given
    with pytest.raises(InvalidArgumentError, match=r"method_options\['inputs'\]"):
        ds.explain.sanity_check("saliency", net, torch.rand(6, 4), method_options={"inputs": None})


def test_spearman_against_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 40)), rng.normal(size=(3, 40))
    b[1] = a[1] * 2 + 1
    ours = spearman(a, b)
    for i in range(3):
        assert abs(ours[i] - spearmanr(a[i], b[i]).statistic) < 1e-12
