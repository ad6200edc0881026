"""Embeddings in the run store: vectors, metadata and thumbnails (a sprite sheet) round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from deepscope.errors import NotFoundError, ShapeError
from deepscope.track import Run, _sprite, open_logdir


def test_vectors_metadata_and_thumbnails_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(7, 5)).astype(np.float32)
    meta = pd.DataFrame({"label": list("abcabca"), "score": np.arange(7.0)})
    nchw = rng.integers(0, 256, size=(7, 3, 6, 5), dtype=np.uint8)
    with Run(tmp_path, name="r") as run:
        run.log_embedding("emb", vectors, metadata=meta, images=nchw, step=2)
        run.log_embedding("emb", vectors * 3, step=5)
    logdir = open_logdir(tmp_path)
    record = logdir.embedding("r", "emb", step=2)
    np.testing.assert_array_equal(record.vectors, vectors)
    pd.testing.assert_frame_equal(record.metadata, meta)
    np.testing.assert_array_equal(record.images, nchw.transpose(0, 2, 3, 1))
    latest = logdir.embedding("r", "emb")
    assert latest.step == 5 and latest.images is None and latest.metadata is None
    np.testing.assert_array_equal(latest.vectors, vectors * 3)
    assert logdir.embedding_steps("r", "emb") == [2, 5]


def test_thumbnails_are_one_png_sprite_sheet_in_tensorboards_layout(tmp_path):
    thumbs = np.arange(5 * 2 * 3, dtype=np.uint8).reshape(5, 2, 3) * 8  # grayscale [N, H, W]
    with Run(tmp_path, name="r") as run:
        run.log_embedding("emb", np.ones((5, 2)), images=thumbs)
    sheets = list((tmp_path / "r" / "embeddings").glob("*.png"))
    assert len(sheets) == 1
    sheet = np.asarray(Image.open(sheets[0]))
    # ceil(sqrt(5)) = 3 columns, 2 rows of 2x3 cells; thumbnail 4 is row 1, column 1
    assert sheet.shape == (4, 9)
    np.testing.assert_array_equal(sheet[2:4, 3:6], thumbs[4])
    np.testing.assert_array_equal(sheet[2:4, 6:9], 0)
    record = open_logdir(tmp_path).embedding("r", "emb")
    np.testing.assert_array_equal(record.images[..., 0], thumbs)


def test_sprite_split_inverts_sprite():
    thumbs = np.random.default_rng(1).integers(0, 256, size=(10, 3, 2, 4), dtype=np.uint8)
    sheet = _sprite.sprite(thumbs)
    assert sheet.shape == (3 * 3, 4 * 2, 4)  # 4 columns, 3 rows of 3x2 cells
    np.testing.assert_array_equal(_sprite.split(sheet, 10, 3, 2), thumbs)


def test_bad_thumbnails_and_missing_tags_raise_typed_errors(tmp_path):
    with Run(tmp_path, name="r") as run:
        with pytest.raises(ShapeError, match="images"):
            run.log_embedding("emb", np.ones((3, 2)), images=np.zeros((2, 4, 4, 3)))
        run.log_embedding("emb", np.ones((3, 2)))
    logdir = open_logdir(tmp_path)
    with pytest.raises(NotFoundError, match="'other'"):
        logdir.embedding("r", "other")
    with pytest.raises(NotFoundError, match="step"):
        logdir.embedding("r", "emb", step=7)
