"""LIME: the true largest features first on a linear model; seeded; text words; superpixels."""

from __future__ import annotations

import numpy as np

import deepscope as ds
from deepscope.explain.lime import superpixels, weighted_ridge


def test_linear_model_ranks_the_largest_features_first():
    rng = np.random.default_rng(0)
    w = np.array([0.1, 4.0, -2.5, 0.0, 1.2, -0.6, 3.1, 0.3])
    x = rng.uniform(0.5, 1.5, size=(4, 8))
    result = ds.explain.lime(lambda data: data @ w, x, n_samples=500, seed=0)
    for i in range(4):
        truth = np.argsort(-np.abs(w * x[i]))
        found = np.argsort(-np.abs(result.values[i]))
        assert found[:3].tolist() == truth[:3].tolist()
        assert np.sign(result.values[i][truth[:3]]).tolist() == np.sign(w[truth[:3]]).tolist()


def test_seeded_and_reproducible(mlp, table):
    a = ds.explain.lime(mlp, table, n_samples=100, seed=7)
    b = ds.explain.lime(mlp, table, n_samples=100, seed=7)
    c = ds.explain.lime(mlp, table, n_samples=100, seed=8)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.allclose(a.values, c.values)


def test_weighted_ridge_matches_scikit_learn():
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(1)
    z = rng.integers(0, 2, size=(60, 5)).astype(float)
    y = rng.normal(size=60)
    weights = rng.uniform(0.1, 1.0, size=60)
    beta, intercept = weighted_ridge(z, y, weights, alpha=0.7)
    reference = Ridge(alpha=0.7).fit(z, y, sample_weight=weights)
    np.testing.assert_allclose(beta, reference.coef_, atol=1e-10)
    assert abs(intercept - reference.intercept_) < 1e-10


def test_text_words():
    def sentiment(texts):
        score = np.array([t.split().count("good") * 2.0 - t.split().count("bad") * 3.0 for t in texts])
        return np.stack([-score, score], axis=1)

    result = ds.explain.lime(sentiment, ["a good film but bad acting"], target=1, n_samples=300)
    words = result.tokens[0]
    assert words == ["a", "good", "film", "but", "bad", "acting"]
    values = dict(zip(words, result.values[0][: len(words)], strict=True))
    assert min(values, key=values.get) == "bad" and max(values, key=values.get) == "good"


def test_image_superpixels(cnn, images):
    result = ds.explain.lime(cnn, images[:2], n_samples=60, n_segments=9)
    assert result.values.shape == (2, 1, 10, 10)
    labels = superpixels(images[0].numpy(), n_segments=9)
    assert labels.shape == (10, 10) and 2 <= labels.max() + 1 <= 9
    # one value per superpixel: pixels of a segment share it
    for k in np.unique(labels):
        assert np.unique(result.values[0, 0][labels == k]).size == 1
