"""The declarative parameter checks: what passes, what comes back, and which error names what."""

# pyright: reportArgumentType=false
# (these tests pass arguments of the wrong type on purpose)

from __future__ import annotations

import functools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from deepscope import data, datasets, embed, evaluate, explain, features, zoo
from deepscope.app.series import SeriesSource
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.evaluate._common import wilson_interval
from deepscope.hparams.table import hparams_table
from deepscope.model.inputs import batch_ranges
from deepscope.progress import progress_bar
from deepscope.track import Run, open_logdir
from deepscope.track.smoothing import smooth
from deepscope.validation import (
    Interval,
    Options,
    ParameterTypeError,
    check,
    check_bool,
    check_int,
    check_number,
    check_option,
    validate_params,
)
from deepscope.viz.side_by_side import salience_figure
from deepscope.viz.text_lm import cocluster_words_figure, generation_figure


def test_ints_come_back_plain_and_bools_are_not_ints():
    value = check_int(np.int32(4), "n", low=1)
    assert value == 4 and type(value) is int
    for wrong in (True, np.bool_(True), 2.0, "3", None):
        with pytest.raises(ParameterTypeError, match="^n: expected an integer >= 1"):
            check_int(wrong, "n", low=1)
    assert check_int(None, "n", allow_none=True) is None


@pytest.mark.parametrize(
    ("closed", "inside", "outside"),
    [
        ("both", [0.0, 0.5, 1.0], [-0.1, 1.1]),
        ("left", [0.0, 0.5], [1.0]),
        ("right", [0.5, 1.0], [0.0]),
        ("neither", [0.5], [0.0, 1.0, float("nan")]),
    ],
)
def test_interval_bounds(closed, inside, outside):
    for value in inside:
        assert check_number(value, "p", low=0, high=1, closed=closed) == value
    for value in outside:
        with pytest.raises(InvalidArgumentError, match="p: expected a number in"):
            check_number(value, "p", low=0, high=1, closed=closed)


def test_descriptions_say_the_bounds():
    assert str(Interval(int, 1, None)) == "an integer >= 1"
    assert str(Interval(float, 0, None, "neither")) == "a number > 0"
    assert str(Interval(float, None, 1, "left")) == "a number < 1"
    assert str(Interval(float, 0, 0.5, "left")) == "a number in [0, 0.5)"
    assert str(Options(["b", "a"])) == "one of 'a', 'b'"


def test_wrong_type_is_both_type_and_value_error_and_wrong_value_is_a_value_error():
    with pytest.raises(ParameterTypeError) as caught:
        check_option(3, "mode", ["fast", "exact"])
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ArgumentTypeError)
    with pytest.raises(InvalidArgumentError, match="mode: expected one of 'exact', 'fast', got") as bad:
        check_option("slow", "mode", ["fast", "exact"])
    assert not isinstance(bad.value, TypeError)


def test_several_constraints_any_may_hold():
    constraints = [Interval(int, 1, None), Options(["auto"]), None]
    assert check("auto", "batch_size", constraints) == "auto"
    assert check(None, "batch_size", constraints) is None
    assert check(np.int64(8), "batch_size", constraints) == 8
    with pytest.raises(InvalidArgumentError, match="an integer >= 1 or 'auto' or None, got 0"):
        check(0, "batch_size", constraints)
    assert check([1], "shape", [list, tuple]) == [1]


def test_validate_params_checks_before_the_body_and_converts():
    calls = []

    @validate_params(n=[Interval(int, 1, None)], scale=[Interval(float, 0, None, "neither")])
    def run(data, n=2, *, scale=1.0):
        calls.append((n, scale))
        return n, scale

    assert run("x", np.int64(3), scale=2) == (3, 2.0)
    assert type(calls[-1][1]) is float
    with pytest.raises(InvalidArgumentError, match="scale"):
        run("x", scale=0)
    with pytest.raises(ParameterTypeError, match="^n:"):
        run("x", n=True)
    assert len(calls) == 1  # the body never ran on bad input
    with pytest.raises(InvalidArgumentError, match="constraints"):
        validate_params(missing=[int])(lambda a: a)


def test_bools_and_numpy_bools_pass_as_plain_bools_and_numbers_do_not():
    for value, expected in ((True, True), (False, False), (np.bool_(True), True), (np.bool_(False), False)):
        checked = check_bool(value, "flag")
        assert checked is expected and type(checked) is bool
    for wrong in (0, 1, np.int64(1), 1.0, "True", None, [True]):
        with pytest.raises(ArgumentTypeError, match="^flag: expected True or False, got") as caught:
            check_bool(wrong, "flag")
        assert caught.value.argument == "flag"
    assert check_bool(None, "progress", allow_none=True) is None
    with pytest.raises(ArgumentTypeError, match="^progress: expected True, False or None, got 1"):
        check_bool(1, "progress", allow_none=True)


def test_finite_intervals_refuse_infinities():
    assert check_number(float("inf"), "t", low=0) == float("inf")
    with pytest.raises(InvalidArgumentError, match="^t: expected a finite number >= 0, got inf"):
        check_number(float("inf"), "t", low=0, finite=True)
    assert check_number(np.float32(2.5), "t", low=0, finite=True) == 2.5


# --- every public argument whose inline check moved to deepscope.validation ---------------------
# Each row calls a public function with one bad argument; the error must be a deepscope error that
# names the argument, says what was expected and shows what arrived.


class _Objects:
    """Small inputs, built on first use: an MLP on 4 features, a CNN on 1x6x6 images."""

    @functools.cached_property
    def mlp(self) -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Linear(4, 3))

    @functools.cached_property
    def table(self) -> torch.Tensor:
        return torch.rand(3, 4, generator=torch.Generator().manual_seed(0))

    @functools.cached_property
    def cnn(self) -> nn.Module:
        torch.manual_seed(0)
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(72, 3))

    @functools.cached_property
    def images(self) -> torch.Tensor:
        return torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))

    @functools.cached_property
    def saliency(self) -> Any:
        return explain.saliency(self.cnn, self.images, target=0)

    @functools.cached_property
    def points(self) -> np.ndarray:
        return np.random.default_rng(0).normal(size=(20, 2))

    @functools.cached_property
    def source(self) -> SeriesSource:
        with Run(self.logdir, name="a") as run:
            run.log({"loss": 1.0}, step=0)
        return SeriesSource(open_logdir(self.logdir))

    logdir: Any = None


OBJ = _Objects()
CASES: list[tuple[str, Callable[[], Any], str]] = [
    # explain
    (
        "integrated_gradients",
        lambda: explain.integrated_gradients(OBJ.mlp, OBJ.table, target=0, multiply_by_inputs=1),
        "multiply_by_inputs",
    ),
    (
        "gradient_shap flag",
        lambda: explain.gradient_shap(OBJ.mlp, OBJ.table, target=0, multiply_by_inputs=0),
        "multiply_by_inputs",
    ),
    ("gradient_shap stdev", lambda: explain.gradient_shap(OBJ.mlp, OBJ.table, target=0, stdev=-0.1), "stdev"),
    (
        "deeplift flag",
        lambda: explain.deeplift(OBJ.mlp, OBJ.table, target=0, multiply_by_inputs=1),
        "multiply_by_inputs",
    ),
    ("deeplift eps", lambda: explain.deeplift(OBJ.mlp, OBJ.table, target=0, eps=-1e-9), "eps"),
    ("deeplift_shap eps", lambda: explain.deeplift_shap(OBJ.mlp, OBJ.table, target=0, eps="small"), "eps"),
    (
        "grad_cam input",
        lambda: explain.grad_cam(OBJ.cnn, OBJ.images, target=0, layer="0", attribute_to_layer_input=1),
        "attribute_to_layer_input",
    ),
    (
        "grad_cam summation",
        lambda: explain.grad_cam(OBJ.cnn, OBJ.images, target=0, layer="0", attr_dim_summation="yes"),
        "attr_dim_summation",
    ),
    (
        "grad_cam channel_dim",
        lambda: explain.grad_cam(OBJ.cnn, OBJ.images, target=0, layer="0", channel_dim=2),
        "channel_dim",
    ),
    ("occlusion", lambda: explain.occlusion(OBJ.mlp, OBJ.table, target=0, return_input_shape=1), "return_input_shape"),
    (
        "kernel_shap",
        lambda: explain.kernel_shap(OBJ.mlp, OBJ.table, target=0, return_input_shape=0),
        "return_input_shape",
    ),
    ("lime flag", lambda: explain.lime(OBJ.mlp, OBJ.table, target=0, return_input_shape=1), "return_input_shape"),
    ("lime alpha", lambda: explain.lime(OBJ.mlp, OBJ.table, target=0, alpha=0), "alpha"),
    ("lime kernel_width", lambda: explain.lime(OBJ.mlp, OBJ.table, target=0, kernel_width=-1.0), "kernel_width"),
    (
        "partition_shap",
        lambda: explain.partition_shap(OBJ.mlp, OBJ.table, target=0, return_input_shape="no"),
        "return_input_shape",
    ),
    ("noise_tunnel stdev", lambda: explain.noise_tunnel("saliency", OBJ.mlp, OBJ.table, target=0, stdev=-1), "stdev"),
    ("lrp epsilon", lambda: explain.lrp(OBJ.mlp, OBJ.table, target=0, epsilon=-1.0), "epsilon"),
    ("lrp gamma", lambda: explain.lrp(OBJ.mlp, OBJ.table, target=0, gamma=True), "gamma"),
    ("lrp rule parameter", lambda: explain.lrp(OBJ.mlp, OBJ.table, target=0, rule=("epsilon", -2.0)), "rule"),
    (
        "sanity_check threshold",
        lambda: explain.sanity_check("saliency", OBJ.mlp, OBJ.table, threshold=1.5),
        "threshold",
    ),
    ("infidelity stdev", lambda: explain.infidelity(OBJ.cnn, OBJ.saliency, stdev=0), "stdev"),
    (
        "max_sensitivity radius",
        lambda: explain.max_sensitivity("saliency", OBJ.mlp, OBJ.table, target=0, radius=0),
        "radius",
    ),
    (
        "pointing_game tolerance",
        lambda: explain.pointing_game(OBJ.saliency, np.ones((2, 6, 6), bool), tolerance=1.5),
        "tolerance",
    ),
    ("set_memory_budget", lambda: explain.set_memory_budget(0), "nbytes"),
    ("seed", lambda: explain.gradient_shap(OBJ.mlp, OBJ.table, target=0, seed=1.5), "seed"),
    # features
    ("visualize lr", lambda: features.visualize(OBJ.cnn, features.objectives.channel("0", 0), lr=0), "lr"),
    ("pad width", lambda: features.transforms.pad(-1), "width"),
    ("pad width type", lambda: features.transforms.pad(1.5), "width"),
    ("jitter d", lambda: features.transforms.jitter(0), "d"),
    ("channel batch", lambda: features.objectives.channel("0", 0, batch=-1), "batch"),
    ("neuron x", lambda: features.objectives.neuron("0", 0, x=True), "x"),
    # embed
    ("density_image width", lambda: embed.density_image(OBJ.points, width=2), "width"),
    ("density_image height", lambda: embed.density_image(OBJ.points, height=4.5), "height"),
    ("neighbors k", lambda: embed.neighbors(OBJ.points, k=20), "k"),
    ("project dims", lambda: embed.project(OBJ.points, dims=4), "dims"),
    ("project seed", lambda: embed.project(OBJ.points, seed="0"), "seed"),
    ("clusters min_cluster_size", lambda: embed.clusters(OBJ.points, min_cluster_size=1), "min_cluster_size"),
    ("clusters grid", lambda: embed.clusters(OBJ.points, min_cluster_size=5, grid=2), "grid"),
    # data, datasets
    ("profile batch_size", lambda: data.profile(pd.DataFrame({"a": [1, 2]}), batch_size=0), "batch_size"),
    ("loans serving_fraction", lambda: datasets.loans(n=50, serving_fraction=1.0), "serving_fraction"),
    ("shapes size", lambda: datasets.shapes(n=2, size=6), "size"),
    # evaluate
    ("wilson_interval confidence", lambda: wilson_interval(np.array([1]), np.array([2]), confidence=1.0), "confidence"),
    (
        "slices confidence",
        lambda: evaluate.slices(_predictions(), by="g", label="label", prediction="prediction", confidence=0),
        "confidence",
    ),
    (
        "thresholds custom",
        lambda: evaluate.thresholds(_predictions(), group="g", strategy="custom", custom="high"),
        "custom",
    ),
    # viz, app, track, hparams, zoo, progress
    ("salience_figure example", lambda: salience_figure(SimpleNamespace(texts=["a", "b"]), example=2), "example"),
    (
        "generation_figure step",
        lambda: generation_figure(SimpleNamespace(tokens=["a", "b"], n_generated=1), step=1),
        "step",
    ),
    ("cocluster_words_figure cluster", lambda: cocluster_words_figure(SimpleNamespace(n_clusters=2), -1), "cluster"),
    ("SeriesSource.chart smoothing", lambda: OBJ.source.chart("loss", ["a"], smoothing=1.0), "smoothing"),
    ("SeriesSource.frame smoothing", lambda: OBJ.source.frame("loss", ["a"], smoothing="0.5"), "smoothing"),
    ("smooth weight", lambda: smooth([1.0, 2.0], weight=float("nan")), "weight"),
    ("hparams_table step", lambda: hparams_table(OBJ.logdir, select="at", step=None), "step"),
    ("zoo lr", lambda: zoo.train("loans_mlp", lr=0), "lr"),
    ("progress_bar progress", lambda: progress_bar(3, 1, "x"), "progress"),
    ("batch_ranges progress", lambda: list(batch_ranges(4, 2, "yes", "x")), "progress"),
]


def _predictions() -> pd.DataFrame:
    return pd.DataFrame(
        {"g": list("aabb"), "label": [0, 1, 0, 1], "prediction": [0, 1, 1, 1], "score": [0.2, 0.7, 0.6, 0.9]}
    )


@pytest.fixture(scope="module", autouse=True)
def _logdir(tmp_path_factory):
    OBJ.logdir = tmp_path_factory.mktemp("validation") / "logs"


@pytest.mark.parametrize(("call", "argument"), [pytest.param(c, a, id=i) for i, c, a in CASES])
def test_each_public_argument_check_names_the_argument(call, argument):
    with pytest.raises((InvalidArgumentError, ArgumentTypeError)) as caught:
        call()
    assert caught.value.argument == argument
    assert str(caught.value).startswith(f"{argument}: expected ")
    assert ", got " in str(caught.value)


# every True/False option: numpy bools pass (as Python bools), 0 and 1 do not
MASK = torch.tensor([[0, 0, 1, 1]])
FLAGS: list[tuple[str, Callable[[Any], Any], str]] = [
    (
        "integrated_gradients",
        lambda v: explain.integrated_gradients(OBJ.mlp, OBJ.table, target=0, n_steps=4, multiply_by_inputs=v),
        "multiply_by_inputs",
    ),
    (
        "gradient_shap",
        lambda v: explain.gradient_shap(OBJ.mlp, OBJ.table, target=0, n_samples=2, multiply_by_inputs=v),
        "multiply_by_inputs",
    ),
    ("deeplift", lambda v: explain.deeplift(OBJ.mlp, OBJ.table, target=0, multiply_by_inputs=v), "multiply_by_inputs"),
    (
        "deeplift_shap",
        lambda v: explain.deeplift_shap(OBJ.mlp, OBJ.table, target=0, multiply_by_inputs=v),
        "multiply_by_inputs",
    ),
    (
        "grad_cam input",
        lambda v: explain.grad_cam(OBJ.cnn, OBJ.images, target=0, layer="0", attribute_to_layer_input=v),
        "attribute_to_layer_input",
    ),
    (
        "grad_cam summation",
        lambda v: explain.grad_cam(OBJ.cnn, OBJ.images, target=0, layer="0", attr_dim_summation=v),
        "attr_dim_summation",
    ),
    (
        "occlusion",
        lambda v: explain.occlusion(OBJ.mlp, OBJ.table, target=0, feature_mask=MASK, return_input_shape=v),
        "return_input_shape",
    ),
    (
        "kernel_shap",
        lambda v: explain.kernel_shap(
            OBJ.mlp, OBJ.table, target=0, n_samples=20, feature_mask=MASK, return_input_shape=v
        ),
        "return_input_shape",
    ),
    (
        "lime",
        lambda v: explain.lime(OBJ.mlp, OBJ.table, target=0, n_samples=20, feature_mask=MASK, return_input_shape=v),
        "return_input_shape",
    ),
    (
        "partition_shap",
        lambda v: explain.partition_shap(OBJ.mlp, OBJ.table, target=0, feature_mask=MASK, return_input_shape=v),
        "return_input_shape",
    ),
    ("progress_bar", lambda v: progress_bar(3, v, "x").close(), "progress"),
    ("batch_ranges", lambda v: list(batch_ranges(4, 2, v, "x")), "progress"),
]


@pytest.mark.parametrize(("call", "argument"), [pytest.param(c, a, id=i) for i, c, a in FLAGS])
def test_bool_options_take_numpy_bools_and_refuse_numbers(call, argument):
    plain, numpy = call(True), call(np.bool_(True))
    if hasattr(plain, "values"):  # an attribution: the numpy bool chose the same
        np.testing.assert_allclose(np.asarray(numpy.values), np.asarray(plain.values))
    call(np.bool_(False))
    for number in (1, 0):
        with pytest.raises(ArgumentTypeError, match=f"^{argument}: expected True,? (or )?False"):
            call(number)
