"""Head summary measures on a hand-built attention with known answers."""

from __future__ import annotations

import numpy as np
import pytest

import deepscope as ds
from deepscope.errors import ArgumentTypeError
from deepscope.text import Attention
from deepscope.text.head_summary import is_punctuation


def _hand_built() -> Attention:
    identity = np.eye(4)
    previous = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], dtype=float)
    uniform = np.full((4, 4), 0.25)
    return Attention(
        tokens=["[CLS]", "good", ",", "[SEP]"],
        weights=np.stack([identity, previous, uniform])[None].astype(np.float32),
        kind="encoder",
        segments=np.zeros(4, dtype=np.int8),
        special=np.array([True, False, False, True]),
        layers=[0],
        heads=[0, 1, 2],
    )


def test_known_answers() -> None:
    summary = ds.text.head_summary(_hand_built())
    frame = summary.to_frame().set_index("head")
    expected = {
        # entropy, distance, special, punctuation, previous, next, self
        0: [0.0, 0.0, 0.5, 0.25, 0.0, 0.0, 1.0],
        1: [0.0, 0.75, 0.5, 0.25, 1.0, 0.0, 0.25],
        2: [np.log(4), 1.25, 0.5, 0.25, 0.25, 0.25, 0.25],
    }
    for head, values in expected.items():
        row = frame.loc[head, list(summary.measures)].to_numpy(dtype=float)
        np.testing.assert_allclose(row, values, atol=1e-6, err_msg=f"head {head}")
    np.testing.assert_allclose(summary.measure("self")[0], [1.0, 0.25, 0.25], atol=1e-6)


def test_cross_attention_has_no_positional_measures(bart) -> None:
    found = ds.text.attention(bart, "not good.", target="bad")
    cross = ds.text.head_summary(found, which="cross")
    assert np.isnan(cross.measure("distance")).all()
    assert cross.layers == found.decoder_layers
    assert np.isfinite(cross.measure("entropy")).all()
    decoder = ds.text.head_summary(found, which="decoder")
    assert decoder.measure("next").max() == pytest.approx(0.0, abs=1e-6)  # causal


def test_punctuation_ignores_subword_marks() -> None:
    assert is_punctuation("Ġ,") and is_punctuation("##.") and is_punctuation("!")
    assert not is_punctuation("[CLS]") and not is_punctuation("a.") and not is_punctuation("##")


def test_type_error_and_round_trip(tmp_path) -> None:
    with pytest.raises(ArgumentTypeError, match="attention"):
        ds.text.head_summary(np.zeros((1, 1, 2, 2)))
    summary = ds.text.head_summary(_hand_built())
    with ds.Run(tmp_path, "r") as run:
        tag = summary.save(run)
    loaded = ds.open_logdir(tmp_path).load("r", tag)
    np.testing.assert_array_equal(loaded.values, summary.values)
    assert loaded.measures == summary.measures and loaded.heads == [0, 1, 2]


def test_attention_round_trip_feeds_summary(tmp_path) -> None:
    found = _hand_built()
    with ds.Run(tmp_path, "r") as run:
        found.save(run, "text/attention/hand")
    loaded = ds.open_logdir(tmp_path).load("r", "text/attention/hand")
    np.testing.assert_allclose(ds.text.head_summary(loaded).values, ds.text.head_summary(found).values, atol=1e-3)
