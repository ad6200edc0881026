"""The features demo run, small: what it logs loads back equal to a fresh computation, and the
Layers page's sources list it."""

from __future__ import annotations

import numpy as np

import deepscope as ds
from deepscope import features, zoo
from deepscope.app.pages import layers as layers_page
from deepscope.app.pages._layers import data as layers_data
from deepscope.app.plugin import AppContext
from deepscope.features.demo import FEATURES_CHANNELS, FEATURES_RUN, log_features_run


def test_demo_logs_visualizations_an_atlas_and_layer_maps_the_page_lists(tmp_path) -> None:
    name = log_features_run(tmp_path, size=32, steps=3, atlas_points=300, atlas_grid=4)
    assert name == FEATURES_RUN
    reader = ds.open_logdir(tmp_path)
    tags = set(reader.results(FEATURES_RUN))
    assert {
        "features/relu3_channels",
        "features/relu3_channel0_maco",
        "features/atlas",
        "features/layer_maps",
    } <= tags

    channels = reader.load(FEATURES_RUN, "features/relu3_channels")
    assert channels.images.shape[:1] == (len(FEATURES_CHANNELS),) and channels.images.shape[2:] == (32, 32)
    assert channels.images.min() >= 0 and channels.images.max() <= 1 and channels.steps == 3
    assert channels.examples is not None and channels.examples.images.shape[1] == 5
    assert reader.load(FEATURES_RUN, "features/relu3_channel0_maco").param == "maco"

    atlas = reader.load(FEATURES_RUN, "features/atlas")
    assert atlas.grid == 4 and atlas.layer == "relu3"
    assert int(atlas.counts.sum()) + atlas.dropped == len(atlas.points)

    # the logged layer maps are the model's on the first held-out image
    _, test = zoo.splits("shapes_cnn")
    logged = reader.load(FEATURES_RUN, "features/layer_maps")
    fresh = features.layer_maps(zoo.get("shapes_cnn"), test.images[:1])
    assert logged.names == fresh.names
    for got, want in zip(logged.maps, fresh.maps, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)

    ctx = AppContext(tmp_path, reader)
    assert layers_page.is_active(ctx)
    kinds = {(row["tag"], row["kind"]) for row in layers_data.logged(ctx)}
    assert ("features/atlas", "atlas") in kinds and ("features/layer_maps", "layer maps") in kinds
    assert ("features/relu3_channels", "visualization") in kinds
    assert layers_data.result(ctx, FEATURES_RUN, "features/atlas").grid == 4

    # a finished run is kept, not logged again
    assert log_features_run(tmp_path) == FEATURES_RUN
    assert len(ds.open_logdir(tmp_path).runs()) == 1
