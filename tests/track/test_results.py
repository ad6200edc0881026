"""Saved results come back as the same dataclass with equal fields, and only deepscope's own."""

from __future__ import annotations

import dataclasses
import json
import sys
import types

import numpy as np
import pandas as pd
import pytest

from deepscope.errors import ArgumentTypeError, LogdirError, NotFoundError
from deepscope.track import Run, open_logdir

FAKE_MODULE = "deepscope._test_track_results"


@dataclasses.dataclass(frozen=True)
class Inner:
    weights: np.ndarray
    note: str


@dataclasses.dataclass(frozen=True)
class Report:
    scores: np.ndarray
    names: np.ndarray
    frame: pd.DataFrame
    series: pd.Series
    config: dict
    pairs: tuple
    by_index: dict
    inner: Inner
    layers: list
    nothing: None = None
    derived: float = dataclasses.field(default=0.0, init=False)


@dataclasses.dataclass
class Foreign:
    values: np.ndarray


@pytest.fixture
def deepscope_classes(monkeypatch):
    """Make Inner and Report look like classes of a deepscope module (only those are rebuilt)."""
    module = types.ModuleType(FAKE_MODULE)
    for cls in (Inner, Report):
        monkeypatch.setattr(cls, "__module__", FAKE_MODULE)
        setattr(module, cls.__name__, cls)
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)


def _report() -> Report:
    report = Report(
        scores=np.array([[0.5, np.nan], [np.inf, -1.0]], dtype=np.float32),
        names=np.array(["a", "bb"]),
        frame=pd.DataFrame({"slice": ["x", "y"], "accuracy": [0.9, 0.7]}, index=[3, 7]),
        series=pd.Series([1.0, 2.0], index=["p", "q"], name="importance"),
        config={"method": "ig", "steps": 50, "nested": {"ok": True, "list": [1, 2.5, None]}},
        pairs=(1, "two", 3.0),
        by_index={0: "cat", 1: "dog"},
        inner=Inner(weights=np.arange(6, dtype=np.int16).reshape(2, 3), note="w"),
        layers=[np.zeros(2), {"name": "conv1"}],
    )
    object.__setattr__(report, "derived", 2.5)
    return report


def _assert_same(got: Report, want: Report) -> None:
    assert type(got) is Report
    np.testing.assert_array_equal(got.scores, want.scores)
    assert got.scores.dtype == np.float32
    np.testing.assert_array_equal(got.names, want.names)
    pd.testing.assert_frame_equal(got.frame, want.frame)
    pd.testing.assert_series_equal(got.series, want.series)
    assert got.config == want.config
    assert got.pairs == want.pairs and isinstance(got.pairs, tuple)
    assert got.by_index == want.by_index
    assert type(got.inner) is Inner and got.inner.note == "w"
    np.testing.assert_array_equal(got.inner.weights, want.inner.weights)
    assert got.inner.weights.dtype == np.int16
    np.testing.assert_array_equal(got.layers[0], np.zeros(2))
    assert got.layers[1] == {"name": "conv1"}
    assert got.nothing is None and got.derived == 2.5


def test_result_round_trip_rebuilds_the_dataclass(tmp_path, deepscope_classes):
    report = _report()
    with Run(tmp_path, name="r") as run:
        run.log_result("attribution", report)
    logdir = open_logdir(tmp_path)
    assert logdir.results("r") == ["attribution"]
    assert logdir.result_index()["type"].tolist() == [f"{FAKE_MODULE}:Report"]
    _assert_same(logdir.result("r", "attribution"), report)


def test_a_second_result_with_the_same_tag_replaces_the_first(tmp_path, deepscope_classes):
    first = _report()
    second = dataclasses.replace(first, config={"method": "saliency"})
    with Run(tmp_path, name="r") as run:
        run.log_result("x", first)
        run.log_result("x", second)
    assert open_logdir(tmp_path).result("r", "x").config == {"method": "saliency"}
    assert len(list((tmp_path / "r" / "results").iterdir())) == 1


def test_classes_outside_deepscope_are_not_rebuilt(tmp_path):
    with Run(tmp_path, name="r") as run:
        run.log_result("foreign", Foreign(values=np.arange(3)))
    logdir = open_logdir(tmp_path)
    with pytest.raises(LogdirError, match="only deepscope"):
        logdir.result("r", "foreign")
    raw = logdir.result("r", "foreign", raw=True)
    np.testing.assert_array_equal(raw["values"], np.arange(3))


def test_a_tampered_class_path_is_refused(tmp_path, deepscope_classes):
    with Run(tmp_path, name="r") as run:
        run.log_result("x", _report())
    [folder] = (tmp_path / "r" / "results").iterdir()
    saved = (folder / "result.json").read_text()
    (folder / "result.json").write_text(saved.replace(f"{FAKE_MODULE}:Report", "os:system", 1))
    with pytest.raises(LogdirError, match="os:system"):
        open_logdir(tmp_path).result("r", "x")
    (folder / "result.json").write_text(saved.replace('"1.npy"', '"../../run.sqlite"'))
    with pytest.raises(LogdirError, match="invalid file"):
        open_logdir(tmp_path).result("r", "x")


def test_unsupported_fields_are_refused_with_the_field_named(tmp_path):
    with Run(tmp_path, name="r") as run:
        with pytest.raises(ArgumentTypeError) as caught:
            run.log_result("x", Foreign(values=np.array([object()])))
        assert caught.value.argument == "result.values"
        with pytest.raises(ArgumentTypeError) as caught:
            run.log_result("x", Foreign(values={"inner": {1, 2}}))
        assert caught.value.argument == "result.values['inner']"
        with pytest.raises(ArgumentTypeError):
            run.log_result("x", {"not": "a dataclass"})
    assert open_logdir(tmp_path).results("r") == []
    assert not (tmp_path / "r" / "results").exists() or not any((tmp_path / "r" / "results").iterdir())


def test_missing_result_names_what_exists(tmp_path, deepscope_classes):
    with Run(tmp_path, name="r") as run:
        run.log_result("x", _report())
    with pytest.raises(NotFoundError, match="'x'"):
        open_logdir(tmp_path).result("r", "y")


@dataclasses.dataclass(frozen=True)
class Big:
    small: np.ndarray
    large: np.ndarray
    text: np.ndarray


def test_large_arrays_are_saved_compressed_and_load_back(tmp_path, deepscope_classes, monkeypatch):
    from deepscope.track import _results

    monkeypatch.setattr(Big, "__module__", FAKE_MODULE)
    monkeypatch.setattr(sys.modules[FAKE_MODULE], "Big", Big, raising=False)
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((4, 4, 40, 40)) * 3
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    big = Big(
        small=np.arange(5, dtype=np.int64),
        large=probabilities.astype(np.float16),  # 51 kB: under the limit
        text=np.array(["tok"] * 20_000),  # 240 kB of fixed-width strings
    )
    bigger = dataclasses.replace(big, large=np.concatenate([big.large] * 2))  # 102 kB: compressed
    with Run(tmp_path, name="r") as run:
        run.log_result("big", bigger)
    [folder] = (tmp_path / "r" / "results").iterdir()
    tree = json.loads((folder / "result.json").read_text())["fields"]
    assert tree["small"] == {"__ds__": "ndarray", "file": "1.npy"}
    assert tree["large"]["__ds__"] == "npz" and tree["text"]["__ds__"] == "npz"
    assert (folder / "2.npz").stat().st_size < bigger.large.nbytes
    assert (folder / "3.npz").stat().st_size < bigger.text.nbytes / 20
    got = open_logdir(tmp_path).result("r", "big")
    for name in ("small", "large", "text"):
        np.testing.assert_array_equal(getattr(got, name), getattr(bigger, name))
        assert getattr(got, name).dtype == getattr(bigger, name).dtype
    assert big.large.nbytes < _results.COMPRESS_FROM


def test_uncompressed_results_of_older_versions_still_load(tmp_path, deepscope_classes):
    """A result folder written before compression (every array a .npy) loads unchanged."""
    values = np.linspace(0, 1, 50_000)  # 400 kB: compressed by this version
    with Run(tmp_path, name="r") as run:
        run.log_result("x", Foreign(values=values))
    [folder] = (tmp_path / "r" / "results").iterdir()
    np.save(folder / "1.npy", values, allow_pickle=False)
    (folder / "1.npz").unlink()
    saved = (folder / "result.json").read_text()
    old = saved.replace('"__ds__": "npz", "file": "1.npz"', '"__ds__": "ndarray", "file": "1.npy"')
    assert old != saved
    (folder / "result.json").write_text(old)
    np.testing.assert_array_equal(open_logdir(tmp_path).result("r", "x", raw=True)["values"], values)


def test_an_npz_that_is_not_one_array_is_refused(tmp_path):
    values = np.zeros(20_000)
    with Run(tmp_path, name="r") as run:
        run.log_result("x", Foreign(values=values))
    [folder] = (tmp_path / "r" / "results").iterdir()
    np.savez(folder / "1.npz", array=values, extra=values)
    with pytest.raises(LogdirError, match="not one array"):
        open_logdir(tmp_path).result("r", "x", raw=True)
    np.save(folder / "1.npy", values, allow_pickle=False)
    (folder / "1.npy").rename(folder / "1.npz")
    with pytest.raises(LogdirError, match="not an .npz"):
        open_logdir(tmp_path).result("r", "x", raw=True)
