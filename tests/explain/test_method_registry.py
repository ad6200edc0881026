"""Methods registered where they are defined: cores for the noise tunnel, typed errors for
options a method does not use, deprecated aliases for renamed options."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.explain import registry
from deepscope.explain._task import gradient_task

UNUSED = [
    ("saliency", "baseline"),
    ("saliency", "seed"),
    ("gradient_x_input", "baseline"),
    ("gradient_x_input", "seed"),
    ("guided_backprop", "baseline"),
    ("guided_backprop", "seed"),
    ("guided_grad_cam", "baseline"),
    ("guided_grad_cam", "seed"),
    ("grad_cam", "baseline"),
    ("grad_cam_pp", "seed"),
    ("integrated_gradients", "seed"),
    ("occlusion", "seed"),
]


@pytest.mark.parametrize(("name", "option"), UNUSED)
def test_a_shared_option_the_method_does_not_use_is_an_error_naming_it(cnn, images, name, option):
    function = getattr(ds.explain, name)
    with pytest.raises(InvalidArgumentError, match=f"^{option}:.*{name} does not use {option}"):
        function(cnn, images, **{option: 3})
    with pytest.raises(InvalidArgumentError, match=f"^{option}:"):
        ds.explain.attribute(cnn, images, name, **{option: 3})
    # None means "not given": calls by name pass every shared option
    assert ds.explain.attribute(cnn, images, name, **{option: None}).method == name


def test_an_unknown_option_is_a_typed_error_listing_the_methods_options(cnn, images):
    with pytest.raises(InvalidArgumentError, match="^n_step:.*n_steps"):
        ds.explain.integrated_gradients(cnn, images, n_step=4)


def test_every_option_is_declared_once_by_the_function():
    assert registry.accepted_options("saliency") == (
        "target",
        "batch_size",
        "progress",
        "abs",
        "feature_names",
        "additional_forward_args",  # every method takes it (the registry passes it to the model)
    )
    assert "seed" in registry.accepted_options("gradient_shap")
    assert "baseline" in registry.accepted_options("integrated_gradients")


def test_integration_method_is_a_deprecated_alias(cnn, images):
    new = ds.explain.integrated_gradients(cnn, images, integration="riemann_left", n_steps=6)
    with pytest.warns(DeprecationWarning, match="integration='riemann_left'"):
        old = ds.explain.integrated_gradients(cnn, images, method="riemann_left", n_steps=6)
    np.testing.assert_array_equal(new.values, old.values)
    assert old.options["integration"] == "riemann_left"
    with pytest.raises(InvalidArgumentError, match="^method:"):
        ds.explain.integrated_gradients(cnn, images, method="riemann_left", integration="riemann_right")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.explain.integrated_gradients(cnn, images, n_steps=4)  # no warning by default


def test_kernel_shap_baseline_is_a_deprecated_alias_of_background():
    w = np.array([1.0, -2.0, 3.0])
    x, background = np.ones((2, 3)), np.full((1, 3), 0.5)
    new = ds.explain.kernel_shap(lambda z: z @ w, x, background=background)
    with pytest.warns(DeprecationWarning, match="background="):
        old = ds.explain.kernel_shap(lambda z: z @ w, x, baseline=background)
    np.testing.assert_array_equal(new.values, old.values)
    np.testing.assert_allclose(new.values, (x - 0.5) * w, atol=1e-9)
    with pytest.raises(InvalidArgumentError, match="^baseline:"):
        ds.explain.kernel_shap(lambda z: z @ w, x, background=background, baseline=np.zeros((1, 3)))


def test_noise_tunnel_composes_a_method_registered_elsewhere(monkeypatch, mlp, table):
    """No table of private functions: a method and its core registered here are wrappable."""
    monkeypatch.setattr(registry, "_METHODS", dict(registry._METHODS))

    @registry.attribution_method("doubled_saliency")
    def doubled_saliency(model, inputs, *, target=None, batch_size=None, progress=None):
        with gradient_task(
            model,
            inputs,
            method="doubled_saliency",
            target=target,
            batch_size=batch_size,
            progress=progress,
        ) as task:
            return task.finish(_core(task, task.x, task.rows, None, None), options={})

    @registry.attribution_core("doubled_saliency")
    def _core(task, x, rows, baseline, gen, *, factor=2.0):
        return task.gradient(x, rows) * factor

    assert "doubled_saliency" in ds.explain.methods()
    assert registry.gradient_core(doubled_saliency)[0] == "doubled_saliency"
    ours = ds.explain.noise_tunnel("doubled_saliency", mlp, table, n_samples=3, seed=0, target=1)
    plain = ds.explain.noise_tunnel("saliency", mlp, table, n_samples=3, seed=0, target=1)
    np.testing.assert_allclose(ours.values, 2 * plain.values, rtol=1e-6)
    half = ds.explain.attribute(
        mlp, table, "smoothgrad", over="doubled_saliency", n_samples=3, seed=0, target=1, factor=1.0
    )
    np.testing.assert_allclose(half.values, plain.values, rtol=1e-6)
    with pytest.raises(InvalidArgumentError, match="^factorr:.*factor"):
        ds.explain.noise_tunnel("doubled_saliency", mlp, table, factorr=1.0)


def test_the_gradient_methods_have_their_cores_registered():
    cores = {n for n, spec in registry._METHODS.items() if spec.core is not None}
    assert cores == {
        "saliency",
        "gradient_x_input",
        "integrated_gradients",
        "guided_backprop",
        "guided_grad_cam",
        "grad_cam",
        "grad_cam_pp",
        "gradient_shap",
        "neuron_gradient",
        "deconvolution",
        "deeplift",
        "deeplift_shap",
        "lrp",
    }
    assert registry._METHODS["integrated_gradients"].baseline_kind == "per_example"
    assert registry._METHODS["gradient_shap"].baseline_kind == "distribution"
    with pytest.raises(InvalidArgumentError, match="a gradient method"):
        registry.gradient_core("occlusion")


def test_the_registry_imports_no_method_module():
    """The methods import the registry, never the other way round (no cycle); the registry
    prepares inputs of any shape (``_multi``) for every method."""
    source = Path(registry.__file__).read_text()
    imported = {node.module for node in ast.walk(ast.parse(source)) if isinstance(node, ast.ImportFrom) and node.module}
    explain = {m for m in imported if m.startswith("deepscope.explain")}
    assert explain == {"deepscope.explain.attribution", "deepscope.explain._multi"}


def test_a_tunnel_of_a_method_with_a_baseline_gets_it(mlp, table):
    base = torch.full((1, 6), 0.3)
    a = ds.explain.noise_tunnel(
        "integrated_gradients", mlp, table, n_samples=2, seed=0, stdev=0.0, baseline=base, n_steps=8
    )
    b = ds.explain.integrated_gradients(mlp, table, baseline=base, n_steps=8)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-5, atol=1e-6)


def test_the_callback_passes_each_method_only_the_shared_options_it_takes():
    class Run:
        def log_result(self, tag, result):
            pass

    callback = ds.explain.ExplainCallback(
        Run(),
        np.zeros((2, 4), np.float32),
        methods=["saliency", "gradient_shap"],
        seed=3,
        baseline=0.5,
        saliency={"abs": True},
    )
    assert callback.method_options("saliency") == {"progress": False, "abs": True}
    assert callback.method_options("gradient_shap") == {
        "progress": False,
        "seed": 3,
        "baseline": 0.5,
    }


def test_layer_methods_check_their_layer_and_run_by_name(cnn, images):
    from deepscope.errors import NotFoundError

    for name in ("layer_conductance", "layer_integrated_gradients"):
        with pytest.raises(NotFoundError, match="layer"):
            ds.explain.attribute(cnn, images, name, layer="nope")
    with pytest.raises(NotFoundError, match="layer"):
        ds.explain.neuron_conductance(cnn, images, layer="nope", neuron=0)
    with pytest.raises(InvalidArgumentError, match="^neuron:.*layer_conductance does not use"):
        ds.explain.layer_conductance(cnn, images, layer="fc", neuron=0)
    # at the output layer, with a rule whose path starts at 0 and ends at 1, conductance is exact
    via = ds.explain.attribute(
        cnn,
        images,
        "layer_conductance",
        layer="fc",
        n_steps=4,
        target=1,
        integration="riemann_trapezoid",
    )
    assert via.values.shape == (5, 3) and np.abs(via.delta).max() < 1e-5
