"""Clusters: planted clusters found and named by their known labels; density; activations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from deepscope.embed import Clusters, activations, clusters, density_image, match
from deepscope.track import Run, open_logdir


def _planted(seed: int = 0) -> tuple[np.ndarray, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    truth = np.repeat(np.arange(3), 80)
    coords = centres[truth] + rng.normal(scale=0.6, size=(len(truth), 2))
    names = np.array(["cat", "dog", "bird"])[truth].astype(object)
    noisy = rng.choice(len(truth), size=12, replace=False)  # a few mislabelled points
    names[noisy] = rng.choice(["cat", "dog", "bird"], size=12)
    texts = np.array(["a furry whiskers purr", "loyal barking fetch", "feathers wings sing"])[truth]
    meta = pd.DataFrame({"animal": names, "shade": rng.choice(["light", "dark"], len(truth))})
    return coords, meta.assign(text=texts), truth


def test_planted_clusters_get_their_known_labels():
    coords, meta, truth = _planted()
    found = clusters(coords, metadata=meta[["animal", "shade"]])
    assert len(found.names) == 3
    for cluster in range(3):
        members = truth[found.labels == cluster]
        planted = np.bincount(members).argmax()
        assert np.mean(members == planted) > 0.95
        assert found.names[cluster] == f"animal={['cat', 'dog', 'bird'][planted]}"
    assert found.sizes.sum() == (found.labels >= 0).sum()


def test_free_text_clusters_are_named_by_their_distinctive_words():
    coords, meta, truth = _planted()
    found = clusters(coords, metadata={"text": [f"{t} {i}" for i, t in enumerate(meta["text"])]})
    for cluster in range(3):
        planted = np.bincount(truth[found.labels == cluster]).argmax()
        words = set(found.names[cluster].split())
        assert words <= set(meta["text"][truth == planted].iloc[0].split())


def test_density_peaks_at_the_clusters_and_round_trips(tmp_path):
    coords, _, _ = _planted()
    found = clusters(coords, grid=50)
    assert found.density.shape == (50, 50)
    np.testing.assert_allclose(found.density.sum(), 1.0)
    peak = np.unravel_index(found.density.argmax(), found.density.shape)
    x = (found.x_edges[peak[0]] + found.x_edges[peak[0] + 1]) / 2
    y = (found.y_edges[peak[1]] + found.y_edges[peak[1] + 1]) / 2
    assert min(np.hypot(x - cx, y - cy) for cx, cy in [(0, 0), (10, 0), (0, 10)]) < 1.5
    with Run(tmp_path, name="r") as run:
        found.save(run)
    loaded = open_logdir(tmp_path).load("r", "clusters")
    assert isinstance(loaded, Clusters) and loaded.names == found.names
    np.testing.assert_array_equal(loaded.labels, found.labels)
    figure = loaded.figure()
    assert {t.type for t in figure.data} == {"contour", "scattergl"}
    assert len(figure.layout.annotations) == len(found.names)  # one name per cluster


def test_density_image_counts_every_point_in_view_with_either_engine():
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(5000, 2))
    for engine in ("numpy", "datashader"):
        image = density_image(coords, x_range=(-1, 1), y_range=(0, 2), width=32, height=16, engine=engine)
        inside = ((coords[:, 0] >= -1) & (coords[:, 0] < 1) & (coords[:, 1] >= 0) & (coords[:, 1] < 2)).sum()
        assert abs(image.count - inside) <= 3  # edge pixels: half-open vs closed bins
        assert image.rgba.shape == (16, 32, 4)
        # y grows upwards, rows downwards: the densest rows (near y=0) are at the bottom
        assert image.counts[-1].sum() > image.counts[0].sum()


def test_search_queries():
    meta = pd.DataFrame({"label": ["cat", "dog", "Cat"], "n": [1, 2, 3]})
    assert match(meta, "label=cat").tolist() == [True, False, False]
    assert match(meta, "label~^c").tolist() == [True, False, True]
    assert match(meta, "label!=cat").tolist() == [False, True, True]
    assert match(meta, "o").tolist() == [False, True, False]
    assert match(meta, "").tolist() == [False, False, False]


def test_activations_equal_the_layer_output_pooled():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 36, 2),
    )
    x = torch.randn(10, 1, 6, 6)
    got = activations(net, x, "1", batch_size=3)
    expected = torch.relu(net[0](x)).mean(dim=(2, 3)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    flat = activations(net, x, "1", pool="flatten")
    assert flat.shape == (10, 4 * 36)
