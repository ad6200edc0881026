"""`deepscope import-tensorboard` brings over the projector's data from SummaryWriter.add_embedding."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.track import import_tensorboard, open_logdir

torch = pytest.importorskip("torch")
tensorboard_writer = pytest.importorskip("torch.utils.tensorboard")


def test_add_embedding_data_imports_with_identical_vectors_metadata_and_thumbnails(tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(6, 5)).astype(np.float32)
    rows = [["cat", 1], ["dog", 2], ["cat", 3], ["bird", 4], ["dog", 5], ["cat", 6]]
    pixels = rng.random((6, 3, 4, 4)).astype(np.float32)
    labels = ["a", "b", "c", "d"]
    writer = tensorboard_writer.SummaryWriter(str(tmp_path / "tb" / "train"))
    writer.add_embedding(
        torch.from_numpy(vectors),
        metadata=rows,
        metadata_header=["animal", "id"],
        label_img=torch.from_numpy(pixels),
        global_step=7,
        tag="features",
    )
    writer.add_embedding(torch.from_numpy(vectors[:4, :2]), metadata=labels, tag="plain")
    writer.add_scalar("loss", 0.5, 0)
    writer.close()

    (name,) = import_tensorboard(tmp_path / "tb", tmp_path / "logs")
    logdir = open_logdir(tmp_path / "logs")
    assert logdir.embedding_tags() == ["features", "plain"]
    record = logdir.embedding(name, "features")
    assert record.step == 7
    np.testing.assert_array_equal(record.vectors, vectors)
    assert record.metadata["animal"].tolist() == [r[0] for r in rows]
    assert record.metadata["id"].tolist() == [r[1] for r in rows]
    # torch writes the sprite as 8-bit RGB: the thumbnails come back as those bytes
    expected = (pixels.transpose(0, 2, 3, 1) * 255).astype(np.uint8)
    assert record.images.shape == (6, 4, 4, 3)
    assert np.abs(record.images.astype(int) - expected.astype(int)).max() <= 1
    plain = logdir.embedding(name, "plain")
    np.testing.assert_array_equal(plain.vectors, vectors[:4, :2])
    assert plain.metadata["label"].tolist() == labels and plain.images is None
    assert logdir.last_scalars()["tag"].tolist() == ["loss"]  # the events still come over
