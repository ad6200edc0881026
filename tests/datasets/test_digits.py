"""digits(): scikit-learn's bundled digits, scaled to [0, 1], shuffled by seed."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepscope.datasets import digits
from deepscope.errors import InvalidArgumentError


def test_all_digits_scaled_into_unit_range() -> None:
    data = digits(seed=0)
    assert data.images.shape == (1797, 1, 8, 8) and data.images.dtype == np.float32
    assert data.images.min() == 0.0 and data.images.max() == 1.0
    assert data.masks is None and data.class_names == [str(d) for d in range(10)]
    reference = load_digits()
    # the same images and labels as scikit-learn's, in another order
    ours = np.concatenate([data.images.reshape(1797, -1) * 16, data.labels[:, None]], axis=1)
    theirs = np.concatenate([reference.images.reshape(1797, -1), reference.target[:, None]], axis=1)
    order = lambda rows: rows[np.lexsort(rows.T[::-1])]  # noqa: E731
    assert np.allclose(order(ours), order(theirs))


def test_seed_shuffles_and_n_subsamples() -> None:
    a, b, c = digits(n=100, seed=1), digits(n=100, seed=1), digits(n=100, seed=2)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.labels, c.labels)
    assert len(a) == 100


def test_split_keeps_every_class() -> None:
    train, test = digits(seed=0).split(0.8, seed=0)
    assert set(test.labels) == set(range(10)) and len(train) + len(test) == 1797


@pytest.mark.parametrize("n", [0, -1, 1798])
def test_bad_n(n: int) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        digits(n=n)
    assert caught.value.argument == "n"
