"""ExplainCallback: one map per method per logged epoch, saved faithfully, with true IG deltas."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError, ShapeError
from deepscope.explain.callback import (
    PROBES_TAG,
    ExplainCallback,
    MapScores,
    ProbeOutputs,
    ProbeSet,
    map_tag,
    outputs_tag,
    parse_step_tag,
    score_maps,
    scores_tag,
)

from .conftest import SmallCNN, bars, own_options

METHODS = ("integrated_gradients", "grad_cam")
EPOCHS = 3


def _bar_masks(x: torch.Tensor) -> np.ndarray:
    """Where each bar is: the pixels well above the noise."""
    return (x[:, 0] > 0.6).numpy()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny CNN trained 3 epochs in a plain loop, the callback called after each epoch.

    Returns the logdir, the run name, the maps the callback returned and a copy of the model as
    it was at each epoch.
    """
    logdir = tmp_path_factory.mktemp("callback") / "logs"
    torch.manual_seed(0)
    net = SmallCNN(channels=1, classes=2, width=6)
    x, y = bars(256, seed=0)
    probes, probe_labels = bars(6, seed=3)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    returned, snapshots = {}, {}
    with ds.Run(logdir, name="bars") as run:
        callback = ExplainCallback(
            run,
            probes,
            methods=METHODS,
            labels=probe_labels,
            masks=_bar_masks(probes),
            class_names=["horizontal", "vertical"],
            integrated_gradients={"n_steps": 24},
        )
        for epoch in range(1, EPOCHS + 1):
            net.train()
            for start in range(0, len(x), 32):
                optimizer.zero_grad()
                loss = nn.functional.cross_entropy(net(x[start : start + 32]), y[start : start + 32])
                loss.backward()
                optimizer.step()
            net.eval()
            returned[epoch] = callback(epoch, net)
            snapshots[epoch] = copy.deepcopy(net)
        scores = callback.log_scores(net, perturbations=3)
    return logdir, "bars", returned, snapshots, (probes, probe_labels), scores


def test_one_attribution_per_method_per_epoch(trained):
    logdir, run, *_ = trained
    index = ds.open_logdir(logdir).result_index(run)
    maps = index[index["type"].str.endswith(":Attribution")]
    assert sorted(maps["tag"]) == sorted(map_tag(m, e) for m in METHODS for e in range(1, 4))
    assert {parse_step_tag(t) for t in maps["tag"]} == {("maps", m, e) for m in METHODS for e in range(1, 4)}
    outputs = index[index["type"].str.endswith(":ProbeOutputs")]
    assert sorted(outputs["tag"]) == [outputs_tag(e) for e in range(1, 4)]
    assert (index["tag"] == PROBES_TAG).sum() == 1


def test_logged_maps_load_back_equal(trained):
    logdir, run, returned, *_ = trained
    reader = ds.open_logdir(logdir)
    for epoch, maps in returned.items():
        for method, logged in maps.items():
            loaded = reader.result(run, map_tag(method, epoch))
            assert isinstance(loaded, ds.explain.Attribution)
            assert loaded.method == method and loaded.kind == "image"
            np.testing.assert_array_equal(loaded.values, logged.values)
            np.testing.assert_array_equal(loaded.inputs, logged.inputs)
            np.testing.assert_array_equal(loaded.target, logged.target)
            if logged.delta is not None:
                np.testing.assert_array_equal(loaded.delta, logged.delta)
            assert loaded.options == logged.options
            assert loaded.labels == ["horizontal", "vertical"]


def test_maps_change_over_training(trained):
    _, _, returned, *_ = trained
    first, last = returned[1]["integrated_gradients"], returned[EPOCHS]["integrated_gradients"]
    assert not np.allclose(first.values, last.values)


def test_integrated_gradients_completeness_holds_at_every_step(trained):
    logdir, run, _, snapshots, (probes, labels), _ = trained
    reader = ds.open_logdir(logdir)
    for epoch, model in snapshots.items():
        logged = reader.result(run, map_tag("integrated_gradients", epoch))
        np.testing.assert_array_equal(logged.target, labels.numpy())  # labels are the default target
        with torch.no_grad():
            rows = torch.arange(len(probes))
            gap = (model(probes)[rows, labels] - model(torch.zeros_like(probes))[rows, labels]).numpy()
        total = logged.values.reshape(len(probes), -1).sum(axis=1)
        # completeness within the delta the method reported, and the reported delta is the real one
        assert np.all(np.abs(total - gap) <= np.abs(logged.delta) + 1e-5)
        np.testing.assert_allclose(logged.delta, total - gap, atol=1e-4)
        assert np.all(np.abs(logged.delta) <= 0.05 * np.abs(gap) + 1e-3)


def test_probe_set_and_outputs_round_trip(trained):
    logdir, run, _, snapshots, (probes, labels), _ = trained
    reader = ds.open_logdir(logdir)
    probe_set = reader.result(run, PROBES_TAG)
    assert isinstance(probe_set, ProbeSet)
    assert probe_set.kind == "image" and len(probe_set) == 6
    np.testing.assert_array_equal(probe_set.inputs, probes.numpy())
    np.testing.assert_array_equal(probe_set.labels, labels.numpy())
    np.testing.assert_array_equal(probe_set.masks, _bar_masks(probes))
    assert probe_set.class_names == ["horizontal", "vertical"]
    assert probe_set.methods == list(METHODS)
    for epoch, model in snapshots.items():
        outputs = reader.result(run, outputs_tag(epoch))
        assert isinstance(outputs, ProbeOutputs) and outputs.step == epoch
        with torch.no_grad():
            np.testing.assert_allclose(outputs.outputs, model(probes).numpy(), atol=1e-5)
        np.testing.assert_allclose(outputs.probabilities.sum(axis=1), 1.0, atol=1e-6)


def test_scores_are_logged_at_the_last_step(trained):
    logdir, run, returned, *_, scores = trained
    reader = ds.open_logdir(logdir)
    for method in METHODS:
        loaded = reader.result(run, scores_tag(method, EPOCHS))
        assert isinstance(loaded, MapScores) and loaded.step == EPOCHS
        frame = loaded.to_frame()
        assert len(frame) == 6
        assert {
            "sanity_spearman",
            "deletion_area",
            "insertion_area",
            "infidelity",
            "max_sensitivity",
            "pointing_game",
            "energy_in_mask",
        } <= set(frame.columns)
        np.testing.assert_array_equal(frame["deletion_area"], scores[method].faithfulness.deletion_area)
        # the localization scores are those of the logged maps against the masks
        maps = returned[EPOCHS][method]
        probe_set = reader.result(run, PROBES_TAG)
        expected = ds.explain.pointing_game(maps, probe_set.masks)
        np.testing.assert_array_equal(frame["pointing_game"], expected)
        assert loaded.example(0).keys() == set(frame.columns)
        # per example: the rank correlation once every layer is random
        np.testing.assert_array_equal(frame["sanity_spearman"], loaded.sanity.per_example[-1])
        assert loaded.sanity.layers == ["fc", "conv2", "conv1"]


def test_score_maps_recomputes_with_the_method_options_named_like_its_own(monkeypatch):
    from deepscope.explain import registry

    seen = []

    def recording(model, inputs, *, target=None, **given):
        seen.append(given)
        return ds.explain.saliency(model, inputs, target=target)

    monkeypatch.setitem(registry._CUSTOM, "recording", recording)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    maps = ds.explain.saliency(net, torch.rand(3, 4))
    options = {**own_options(score_maps), "n_samples": 16}
    assert {"seed", "perturbations", "masks", "sanity"} <= set(options)
    scores = score_maps(net, maps, method="recording", perturbations=2, method_options=options)
    # the sanity check: trained and two randomized layers; max-sensitivity: 1 + 2 perturbed
    assert seen == [options] * (3 + 3)
    assert scores.sanity.options == options and scores.max_sensitivity.shape == (3,)


def test_every_skips_epochs_and_a_plain_model_is_explained_by_prediction(tmp_path):
    torch.manual_seed(0)
    net = SmallCNN(channels=1, classes=2, width=4).eval()
    probes, _ = bars(3, seed=5)
    with ds.Run(tmp_path, name="every") as run:
        callback = ExplainCallback(run, probes.numpy(), methods=["saliency"], every=2)
        logged = [callback(epoch, ds.Model(net)) for epoch in range(0, 5)]
    assert [m is not None for m in logged] == [True, False, True, False, True]
    assert callback.steps == [0, 2, 4]
    with torch.no_grad():
        np.testing.assert_array_equal(logged[0]["saliency"].target, net(probes).argmax(1).numpy())
    tags = ds.open_logdir(tmp_path).results("every")
    assert [t for t in tags if t.startswith("explain/saliency/")] == [map_tag("saliency", s) for s in (0, 2, 4)]


def test_zoo_training_calls_it_each_epoch(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    train, test = ds.zoo.splits("digits_cnn")
    with ds.Run(tmp_path / "logs", name="digits") as run:
        callback = ExplainCallback(
            run,
            test.images[:4],
            methods=["gradient_x_input"],
            labels=test.labels[:4],
            class_names=list(test.class_names),
        )
        ds.zoo.train("digits_cnn", run=run, progress=False, on_epoch=callback, epochs=2)
    reader = ds.open_logdir(tmp_path / "logs")
    index = reader.result_index("digits").set_index("tag")
    for epoch in (1, 2):
        # the step of each map is the epoch, as for the learning curves
        assert index.loc[map_tag("gradient_x_input", epoch), "step"] == epoch
    assert callback.steps == [1, 2]


def test_text_probes(tmp_path, text_model):
    model, texts = text_model
    with ds.Run(tmp_path, name="text") as run:
        callback = ExplainCallback(run, texts[:3], methods=["saliency"], labels=[1, 0, 0])
        maps = callback(1, model)
    loaded = ds.open_logdir(tmp_path).result("text", map_tag("saliency", 1))
    assert loaded.kind == "text" and loaded.tokens == maps["saliency"].tokens
    probe_set = ds.open_logdir(tmp_path).result("text", PROBES_TAG)
    assert probe_set.kind == "text" and probe_set.texts == texts[:3] and probe_set.inputs is None


def test_bad_arguments_are_named(tmp_path):
    probes, labels = bars(3)
    with ds.Run(tmp_path, name="bad") as run:
        with pytest.raises(NotFoundError):
            ExplainCallback(run, probes, methods=["no_such_method"])
        with pytest.raises(InvalidArgumentError, match="n_steps"):
            ExplainCallback(run, probes, n_steps=8)  # options go by method name
        with pytest.raises(ShapeError, match="masks"):
            ExplainCallback(run, probes, masks=np.zeros((3, 5, 5), bool))
        with pytest.raises(ShapeError, match="labels"):
            ExplainCallback(run, probes, labels=labels[:2])
        with pytest.raises(InvalidArgumentError, match="every"):
            ExplainCallback(run, probes, every=0)
        with pytest.raises(InvalidArgumentError, match="callback"):
            ExplainCallback(run, probes).log_scores(SmallCNN(channels=1, classes=2))


def test_parse_step_tag():
    assert parse_step_tag(map_tag("grad_cam", 3)) == ("maps", "grad_cam", 3)
    assert parse_step_tag(scores_tag("saliency", 12)) == ("scores", "saliency", 12)
    assert parse_step_tag(outputs_tag(0)) == ("outputs", None, 0)
    for other in ("explain/probes", "explain/grad_cam", "explain/step0001", "loss/step0001"):
        assert parse_step_tag(other) is None


def test_demo_run_holds_maps_probes_and_scores(tmp_path, monkeypatch):
    from deepscope.explain import demo

    monkeypatch.setenv("DEEPSCOPE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(demo, "EXPLAIN_HPARAMS", {"epochs": 1})  # one epoch keeps the test short
    name = demo.log_explain_run(tmp_path / "logs")
    assert name == demo.EXPLAIN_RUN
    reader = ds.open_logdir(tmp_path / "logs")
    probe_set = reader.result(name, PROBES_TAG)
    assert len(probe_set) == 12 and probe_set.masks.shape == (12, 32, 32)
    assert sorted(np.bincount(probe_set.labels).tolist()) == [2] * 6
    for method in demo.EXPLAIN_METHODS:
        assert reader.result(name, map_tag(method, 1)).values.shape[0] == 12
        frame = reader.result(name, scores_tag(method, 1)).to_frame()
        assert len(frame) == 12 and frame["pointing_game"].dtype == bool
        energy = frame["energy_in_mask"].dropna()  # NaN where a map has no positive mass
        assert ((energy >= 0) & (energy <= 1)).all()
    assert reader.runs().set_index("run").loc[name, "meta"]["zoo_model"]["name"] == "shapes_cnn"

    def no_training(*args, **kwargs):
        raise AssertionError("a finished demo run was trained again")

    monkeypatch.setattr(ds.zoo, "train", no_training)
    assert demo.log_explain_run(tmp_path / "logs") == name
