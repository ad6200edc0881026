"""Dive layout: every example a point, facets change the layout, records and thumbnails."""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np
import pandas as pd
import pytest

from deepscope.data import dive
from deepscope.data.dive import OTHER_LABEL, png_data_uri
from deepscope.errors import InvalidArgumentError, NotFoundError


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 100_000
    return pd.DataFrame(
        {
            "kind": rng.choice(list("abcdefghijkl"), n),
            "size": rng.lognormal(0, 1, n),
            "flag": rng.random(n) < 0.3,
            "score": rng.normal(0, 1, n),
        }
    )


def test_every_example_is_a_point_without_overlap(frame):
    layout = dive(frame, column="flag", color="kind")
    points = layout.points
    assert len(points) == len(frame) and points["index"].is_unique
    assert not points.duplicated(["x", "y"]).any()
    assert layout.column_labels == ["False", "True"]
    # Stacked points of one cell are sorted by colour: colour labels form contiguous bands.
    cell = points[points["column"] == "True"].sort_values(["y", "x"])
    changes = (cell["color"] != cell["color"].shift()).sum()
    assert changes <= 2 * len(layout.color_labels)


def test_faceting_changes_the_layout(frame):
    plain = dive(frame)
    faceted = dive(frame, row="kind", column="size", bins=4)
    assert len(plain.row_labels) == len(plain.column_labels) == 1
    assert len(faceted.column_labels) == 4 and len(faceted.row_labels) == 8  # 7 kinds + "(other)"
    assert OTHER_LABEL in faceted.row_labels
    assert not np.allclose(plain.points["x"], faceted.points["x"])
    # Cells do not overlap: the x ranges of two neighbouring columns are disjoint.
    by_column = faceted.points.groupby("column")["x"].agg(["min", "max"]).loc[faceted.column_labels]
    assert (by_column["min"].to_numpy()[1:] > by_column["max"].to_numpy()[:-1]).all()


def test_scatter_positioning_uses_the_features(frame):
    layout = dive(frame.head(2000), positioning="scatter", x="score", y="size", column="flag")
    within = layout.points[layout.points["column"] == "False"]
    source = frame.head(2000).loc[within["index"]]
    assert np.corrcoef(within["x"], source["score"])[0, 1] > 0.999
    with pytest.raises(InvalidArgumentError, match="x"):
        dive(frame, positioning="scatter")


def test_clicked_point_gives_its_record(frame):
    layout = dive(frame.head(100), color="kind")
    record = layout.record(42)
    assert record == {k: (v.item() if hasattr(v, "item") else v) for k, v in frame.iloc[42].items()}
    with pytest.raises(InvalidArgumentError, match="index"):
        layout.record(100)


def test_missing_values_get_their_own_facet():
    layout = dive(pd.DataFrame({"v": [1.0, None, 3.0], "c": ["x", None, "y"]}), row="c", column="v")
    assert "(missing)" in layout.row_labels
    assert layout.points.loc[1, "row"] == "(missing)"


def _decode_png(uri: str) -> tuple[int, int, int, bytes]:
    data = base64.b64decode(uri.split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _, color_type = struct.unpack(">IIBB", data[16:26])
    start = data.index(b"IDAT") + 4
    length = struct.unpack(">I", data[start - 8 : start - 4])[0]
    return width, height, color_type, zlib.decompress(data[start : start + length])


def test_thumbnails_are_png_images():
    rng = np.random.default_rng(0)
    images = rng.random((3, 3, 20, 10)).astype(np.float32)
    layout = dive(pd.DataFrame({"i": [0, 1, 2]}), images=images)
    width, height, color_type, raw = _decode_png(layout.thumbnail(1, size=64))
    assert (width, height, color_type) == (10, 20, 2)
    pixels = np.frombuffer(raw, np.uint8).reshape(20, 1 + 30)[:, 1:].reshape(20, 10, 3)
    np.testing.assert_array_equal(pixels, (np.moveaxis(images[1], 0, -1) * 255).round().astype(np.uint8))
    small = _decode_png(png_data_uri(np.zeros((100, 50), np.uint8), size=25))
    assert small[:3] == (13, 25, 0)  # every 4th pixel of 100 x 50: 25 rows of 13, grey


def test_bad_arguments(frame):
    with pytest.raises(NotFoundError):
        dive(frame, row="nope")
    with pytest.raises(InvalidArgumentError, match="positioning"):
        dive(frame, positioning="spiral")
    with pytest.raises(InvalidArgumentError, match="images"):
        dive(frame.head(3), images=np.zeros((4, 8, 8)))


def test_a_dive_round_trips_through_a_run_and_draws_the_same(tmp_path):
    from deepscope.track import Run, open_logdir

    rng = np.random.default_rng(1)
    records = pd.DataFrame({"kind": rng.choice(["a", "b"], 30), "score": rng.normal(0, 1, 30)})
    layout = dive(records, column="kind", color="kind", images=rng.random((30, 8, 8)).astype(np.float32))
    with Run(tmp_path, name="r") as run:
        assert layout.save(run) == "dive"
    back = open_logdir(tmp_path).load("r", "dive")
    pd.testing.assert_frame_equal(back.points, layout.points)
    pd.testing.assert_frame_equal(back.records, layout.records)
    np.testing.assert_array_equal(back.images, layout.images)
    assert (back.column_labels, back.color_labels) == (layout.column_labels, layout.color_labels)
    assert len(back.figure().data) == len(layout.figure().data) == 2  # one trace per colour
