"""shapes(): deterministic synthetic images whose masks are exactly the drawn shape's pixels."""

from __future__ import annotations

import numpy as np
import pytest

from deepscope.datasets import ImageDataset, shapes
from deepscope.datasets.shapes import SHAPE_NAMES
from deepscope.errors import ArgumentTypeError, InvalidArgumentError


@pytest.fixture(scope="module")
def data() -> ImageDataset:
    return shapes(n=300, seed=7)


def test_contract_shapes_and_ranges(data: ImageDataset) -> None:
    assert data.images.shape == (300, 3, 32, 32) and data.images.dtype == np.float32
    assert data.images.min() >= 0.0 and data.images.max() <= 1.0
    assert data.labels.dtype == np.int64 and data.masks.dtype == bool
    assert data.masks.shape == (300, 32, 32)
    assert data.class_names == SHAPE_NAMES
    assert len(data) == 300


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = shapes(n=50, seed=1), shapes(n=50, seed=1), shapes(n=50, seed=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images, c.images)


def test_classes_are_balanced(data: ImageDataset) -> None:
    counts = np.bincount(data.labels, minlength=len(SHAPE_NAMES))
    assert counts.max() - counts.min() <= 1


def test_mask_is_exactly_the_shape(data: ImageDataset) -> None:
    # Classify every pixel by whether its colour is nearer the shape's or the background's
    # (medians inside and outside the mask); that classification must reproduce the mask.
    for image, mask in zip(data.images, data.masks, strict=True):
        pixels = image.reshape(3, -1).T
        inside, outside = np.median(pixels[mask.ravel()], 0), np.median(pixels[~mask.ravel()], 0)
        assert np.linalg.norm(inside - outside) > 0.45
        nearer_shape = np.linalg.norm(pixels - inside, axis=1) < np.linalg.norm(pixels - outside, axis=1)
        assert (nearer_shape == mask.ravel()).mean() > 0.995


def test_masks_have_the_shape_of_their_class(data: ImageDataset) -> None:
    # A ring has a hole: its mask does not cover its own centre; a filled circle does.
    for index in np.flatnonzero(data.labels == SHAPE_NAMES.index("ring"))[:20]:
        x, y = data.attributes.loc[index, ["center_x", "center_y"]]
        assert not data.masks[index, int(round(y)), int(round(x))]
    for index in np.flatnonzero(data.labels == SHAPE_NAMES.index("circle"))[:20]:
        x, y = data.attributes.loc[index, ["center_x", "center_y"]]
        assert data.masks[index, int(round(y)), int(round(x))]


def test_attributes_describe_each_image(data: ImageDataset) -> None:
    assert np.array_equal(data.attributes["area"].to_numpy(), data.masks.sum(axis=(1, 2)))
    assert data.attributes["contrast"].min() >= 0.6
    frame = data.to_frame()
    assert list(frame.columns[:2]) == ["label", "class_name"] and len(frame) == 300
    assert (frame["class_name"] == np.asarray(SHAPE_NAMES)[data.labels]).all()


def test_size_scales_the_images() -> None:
    small = shapes(n=12, seed=0, size=16)
    assert small.images.shape == (12, 3, 16, 16) and small.masks.any(axis=(1, 2)).all()


def test_split_is_stratified_deterministic_and_keeps_rows_aligned(data: ImageDataset) -> None:
    train, test = data.split(0.8, seed=3)
    assert len(train) + len(test) == len(data)
    assert np.abs(np.bincount(train.labels) - 0.8 * np.bincount(data.labels)).max() <= 1
    again, _ = data.split(0.8, seed=3)
    assert np.array_equal(train.images, again.images)
    # masks and attributes travel with their image
    assert np.array_equal(test.attributes["area"].to_numpy(), test.masks.sum(axis=(1, 2)))
    assert isinstance(train, ImageDataset)


@pytest.mark.parametrize(
    ("kwargs", "argument", "error"),
    [
        ({"n": 0}, "n", InvalidArgumentError),
        ({"n": -3}, "n", InvalidArgumentError),
        ({"n": 2.5}, "n", ArgumentTypeError),
        ({"seed": -1}, "seed", InvalidArgumentError),
        ({"size": 4}, "size", InvalidArgumentError),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict, argument: str, error: type) -> None:
    with pytest.raises(error) as caught:
        shapes(**kwargs)
    assert caught.value.argument == argument


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_bad_split_fraction(data: ImageDataset, fraction: float) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        data.split(fraction)
    assert caught.value.argument == "fraction"
