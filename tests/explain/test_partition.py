"""SHAP's partition explainer: Owen values agree with shap's PartitionExplainer on the same
masker and clustering, add up exactly, and respect the clustering."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import deepscope as ds
from deepscope.errors import InvalidArgumentError, ShapeError
from deepscope.explain.partition import balanced_tree, grid_tree

shap = pytest.importorskip("shap")


def interactions(z: np.ndarray) -> np.ndarray:
    return z[:, 0] * z[:, 1] + np.sin(z[:, 2]) - z[:, 3] * z[:, 4] ** 2 + z[:, 5]


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    background = rng.normal(size=(40, 6))
    background[:, 1] += background[:, 0]  # correlated columns: the clustering pairs them
    return background, rng.normal(size=(3, 6))


@pytest.mark.slow  # shap compiles its numba kernels on first use (about 30 s on two busy cores)
def test_tabular_agrees_with_shap_partition_explainer(data):
    background, x = data
    masker = shap.maskers.Partition(background, clustering="correlation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = shap.PartitionExplainer(interactions, masker)(x, max_evals=2000)
    ours = ds.explain.partition_shap(
        interactions, x, background=background, clustering=masker.clustering, max_evals=2000
    )
    np.testing.assert_allclose(ours.values, theirs.values, atol=1e-8)
    np.testing.assert_allclose(ours.base_value, theirs.base_values, atol=1e-8)
    assert np.abs(ours.delta).max() < 1e-8  # efficiency
    # a small budget still adds up exactly (unexpanded nodes pass their credit down)
    cheap = ds.explain.partition_shap(
        interactions, x, background=background, clustering=masker.clustering, max_evals=12
    )
    assert np.abs(cheap.delta).max() < 1e-8 and not np.allclose(cheap.values, ours.values)

    # texts: shap's Text masker (words at \\W+, masked ones as "...") and its clustering of each text
    def sentiment(texts: list[str]) -> np.ndarray:
        score = np.array(
            [t.count("good") * 2.0 - t.count("bad") * 3.0 + 0.5 * t.count("not") * t.count("good") for t in texts]
        )
        return np.stack([-score, score + 0.1 * np.array([t.count("...") for t in texts])], axis=1)

    texts = ["a good film, but bad acting", "not good at all"]
    text_masker = shap.maskers.Text()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = shap.PartitionExplainer(sentiment, text_masker)(texts, max_evals=2000, silent=True)
    ours = ds.explain.partition_shap(sentiment, texts, target=1, clustering=text_masker.clustering, max_evals=2000)
    assert ours.tokens == [["a", "good", "film,", "but", "bad", "acting"], ["not", "good", "at", "all"]]
    for i in range(len(texts)):
        np.testing.assert_allclose(ours.values[i, : len(ours.tokens[i])], theirs.values[i][:, 1], atol=1e-8)
    np.testing.assert_allclose(ours.base_value, theirs.base_values[:, 1], atol=1e-8)


@pytest.mark.slow  # shap compiles its image masker's numba kernels (about 30 s)
def test_images_agree_with_shap_image_masker():
    height, width, channels = 2, 3, 3
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 2)).eval()
    images = torch.rand(2, channels, height, width, generator=torch.Generator().manual_seed(1))

    def channels_last(z: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(z, dtype=torch.float32).permute(0, 3, 1, 2)).numpy()

    masker = shap.maskers.Image(0.0, (height, width, channels))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = shap.PartitionExplainer(channels_last, masker)(
            images.permute(0, 2, 3, 1).numpy(), max_evals=5000, outputs=[1], silent=True
        )
    # shap's features are the numbers of an [H, W, C] image in order: the same labels here
    labels = torch.arange(height * width * channels).reshape(height, width, channels).permute(2, 0, 1)
    ours = ds.explain.partition_shap(
        net, images, target=1, feature_mask=labels, clustering=masker.clustering, max_evals=5000
    )
    np.testing.assert_allclose(ours.values.transpose(0, 2, 3, 1), theirs.values[..., 0], atol=1e-5)
    default = ds.explain.partition_shap(net, images, target=1)  # pixels over a spatial tree
    assert default.values.shape == images.shape and np.abs(default.delta).max() < 1e-5


def test_owen_values_of_an_additive_model_are_its_terms_whatever_the_tree(data):
    background, x = data
    w = np.arange(1.0, 7.0)
    for tree in (None, balanced_tree(6)):
        result = ds.explain.partition_shap(lambda z: z @ w, x, background=background, clustering=tree)
        np.testing.assert_allclose(result.values, w * (x - background.mean(axis=0)), atol=1e-8)


def test_the_clustering_decides_interaction_credit():
    # f = x0 * x1 with x2 free: the Owen value of x0 depends on whether x0 pairs with x1 or x2
    x, background = np.ones((1, 3)), np.zeros((1, 3))
    with_partner = np.array([[0, 1, 0, 2], [2, 3, 1, 3]], dtype=float)  # (x0, x1), then x2
    apart = np.array([[0, 2, 0, 2], [1, 3, 1, 3]], dtype=float)  # (x0, x2), then x1
    f = lambda z: z[:, 0] * z[:, 1]  # noqa: E731
    paired = ds.explain.partition_shap(f, x, background=background, clustering=with_partner).values
    split = ds.explain.partition_shap(f, x, background=background, clustering=apart).values
    np.testing.assert_allclose(paired, [[0.5, 0.5, 0.0]])
    np.testing.assert_allclose(split, [[0.5, 0.5, 0.0]])
    assert grid_tree(2, 2).shape == (3, 4)


def test_groups_and_checks(data):
    background, x = data
    sets = np.array([0, 0, 1, 1, 2, 2])
    per_group = ds.explain.partition_shap(
        interactions, x, background=background, feature_mask=sets, return_input_shape=False
    )
    assert per_group.values.shape == (3, 3) and np.abs(per_group.delta).max() < 1e-8
    with pytest.raises(ShapeError, match="clustering"):
        ds.explain.partition_shap(interactions, x, clustering=np.zeros((2, 4)))
    with pytest.raises(ShapeError, match="feature_mask"):
        ds.explain.partition_shap(interactions, x, feature_mask=np.zeros(5, dtype=int))
    with pytest.raises(InvalidArgumentError, match="max_evals"):
        ds.explain.partition_shap(interactions, x, max_evals=1)
    with pytest.raises(InvalidArgumentError, match="feature_mask"):
        ds.explain.partition_shap(lambda t: np.zeros((len(t), 2)), ["a text"], feature_mask=np.zeros(2, dtype=int))


def test_text_words_default_tree_and_masked_text():
    from deepscope.explain.partition import masked_text, word_segments

    segments = word_segments("not good, at all")
    # as shap's Text masker: a masked word takes its separator with it
    assert masked_text(segments, np.array([True, False, False, True]), "...", True) == "not ...all"
    assert masked_text(segments, np.array([True, False, False, True]), "...", False) == "not ... ...all"

    def counts(texts: list[str]) -> np.ndarray:  # additive in the words: Owen values are the terms
        score = np.array([2.0 * t.count("good") - 3.0 * t.count("bad") for t in texts])
        return np.stack([-score, score], axis=1)

    result = ds.explain.partition_shap(counts, ["good and bad", "bad bad"], target=1)
    np.testing.assert_allclose(result.values, [[2.0, 0.0, -3.0], [-3.0, -3.0, 0.0]], atol=1e-12)
    assert result.kind == "text" and result.tokens[1] == ["bad", "bad"]
