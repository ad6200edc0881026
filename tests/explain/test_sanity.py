"""The cascading randomization test flags maps that ignore the model and passes gradients."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import deepscope as ds
from deepscope.explain.sanity import spearman


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


def test_spearman_against_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 40)), rng.normal(size=(3, 40))
    b[1] = a[1] * 2 + 1
    ours = spearman(a, b)
    for i in range(3):
        assert abs(ours[i] - spearmanr(a[i], b[i]).statistic) < 1e-12
