"""Every result type follows the one protocol: save into a run, load back equal, light notebook HTML.

One instance of each result type of ``explain``, ``evaluate`` and ``data`` is built on tiny data,
saved with ``result.save(run)`` (no tag: the default one comes back), rebuilt with
``Logdir.load(run, tag)`` and compared field by field. Its ``_repr_html_`` must be light once
plotly.js is in the notebook, and ten results together stay far below what ten copies of plotly.js
would weigh.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.data.profile import Profile
from deepscope.data.schema import Schema
from deepscope.evaluate.side_by_side import Salience, from_tables
from deepscope.explain.attribution import Attribution
from deepscope.explain.callback import MapScores, ProbeOutputs, ProbeSet
from deepscope.explain.faithfulness import Faithfulness
from deepscope.explain.sanity import SanityCheck
from deepscope.result import Result
from deepscope.viz import notebook
from tests.evaluate.conftest import binary_table, multiclass_table

LIGHT_HTML = 200_000  # bytes: a result's HTML once plotly.js is in the notebook
TEN_RESULTS = 6_000_000  # bytes: ten results' HTML together, as a notebook holds them
PACKAGES = ("deepscope.explain", "deepscope.evaluate", "deepscope.data")


def _texts_model(texts: Any) -> np.ndarray:
    return np.array([[0.2, 0.8] if "good" in s else [0.7, 0.3] for s in texts])


def _attribution() -> Attribution:
    rng = np.random.default_rng(0)
    return Attribution(
        values=rng.normal(size=(3, 4)),
        method="saliency",
        target=np.array([0, 1, 1]),
        inputs=rng.normal(size=(3, 4)),
        kind="tabular",
        options={"abs": True},
        score=np.array([0.2, 0.9, 0.4]),
        feature_names=["a", "b", "c", "d"],
        labels=["no", "yes"],
        input_shapes=[[1], [3]],
    )


def _sanity() -> SanityCheck:
    return SanityCheck(
        method="saliency",
        layers=["fc2", "fc1"],
        correlation=np.array([0.6, 0.1]),
        per_example=np.array([[0.5, 0.7], [0.1, 0.1]]),
        threshold=0.3,
        passed=True,
    )


def _faithfulness() -> Faithfulness:
    fractions = np.linspace(0, 1, 5)
    curve = np.vstack([1 - fractions, 1 - fractions**2])
    return Faithfulness(
        method="saliency",
        fractions=fractions,
        deletion=curve,
        insertion=curve[:, ::-1],
        deletion_area=curve.mean(axis=1),
        insertion_area=curve[:, ::-1].mean(axis=1),
        output="probability",
    )


def _probe_set() -> ProbeSet:
    return ProbeSet(
        kind="image",
        inputs=np.zeros((2, 1, 4, 4), np.float32),
        texts=None,
        labels=np.array([0, 1]),
        masks=np.ones((2, 4, 4), bool),
        class_names=["circle", "square"],
        methods=["saliency"],
        every=5,
    )


def _map_scores() -> MapScores:
    return MapScores(
        method="saliency",
        step=10,
        sanity=_sanity(),
        faithfulness=_faithfulness(),
        pointing_game=np.array([1.0, 0.0]),
    )


def _salience() -> Salience:
    frame = pd.DataFrame(
        {
            "model": ["a", "a"],
            "example": [0, 0],
            "position": [0, 1],
            "token": ["not", "good"],
            "salience": [-0.5, 0.25],
            "target": [1, 1],
            "target_name": ["positive", "positive"],
        }
    )
    return Salience(frame=frame, texts=["not good"], models=["a"], method="gradient_x_input")


def _loans(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(40 + shift, 10, n),
            "region": rng.choice(["north", "south", "east"], n),
            "income": rng.lognormal(10, 0.5, n),
        }
    )


def _builders() -> dict[str, Callable[[], Any]]:
    binary, multi = binary_table(n=300), multiclass_table(n=200)
    other = multiclass_table(n=200, seed=9)
    two = {"one": multi, "two": other}
    numeric = pd.DataFrame(np.random.default_rng(0).normal(size=(30, 2)), columns=["a", "b"])
    texts = pd.DataFrame({"text": ["very good", "not good", "bad", "very bad"], "label": [1, 0, 0, 0]})
    text_table = ds.evaluate.predictions(_texts_model, texts, features="text")
    train = ds.data.profile(_loans(300), name="train", progress=False)
    serving = ds.data.profile(_loans(200, shift=8, seed=1), name="serving", progress=False)
    images = np.random.default_rng(0).random((12, 8, 8))
    return {
        # explain
        "Attribution": _attribution,
        "SanityCheck": _sanity,
        "Faithfulness": _faithfulness,
        "MapScores": _map_scores,
        "ProbeSet": _probe_set,
        "ProbeOutputs": lambda: ProbeOutputs(step=3, outputs=np.array([[1.0, -1.0], [0.0, 2.0]])),
        # evaluate
        "SliceTable": lambda: ds.evaluate.slices(binary, by=["group", ("group", "region")]),
        "Thresholds": lambda: ds.evaluate.thresholds(binary, group="group", strategy="equal_opportunity"),
        "Counterfactual": lambda: ds.evaluate.nearest_counterfactual(binary, 3, features=["age", "income", "region"]),
        "PartialDependence": lambda: ds.evaluate.partial_dependence(lambda x: x[:, 0] * x[:, 1], numeric, feature="a"),
        "ConfusionMatrix": lambda: ds.evaluate.confusion_matrix(multi, normalize="true"),
        "Performance": lambda: ds.evaluate.compare_performance(two),
        "Agreement": lambda: ds.evaluate.compare_predictions(two),
        "ThresholdCurve": lambda: ds.evaluate.confidence_thresholding(two),
        "ThresholdSurface": lambda: ds.evaluate.two_thresholds(multi, other),
        "Calibration": lambda: ds.evaluate.calibration({"one": multi}),
        "Curves": lambda: ds.evaluate.roc_pr(two),
        "PerClassMetrics": lambda: ds.evaluate.multiclass_metrics(two),
        "Groups": lambda: ds.evaluate.groups(
            text_table, {"negated": "has_token(text, 'not')", "intense": "has_token(text, 'very')"}
        ),
        "Rewrite": lambda: ds.evaluate.rewrite(_texts_model, text_table, 'replace(text, "good", "bad")'),
        "Generated": lambda: ds.evaluate.word_replacer(["good film", "bad"], "good -> great"),
        "SideBySide": lambda: from_tables({"one": multi, "two": other}, inputs=["group"]),
        "Salience": _salience,
        # data
        "Profile": lambda: train,
        "Comparison": lambda: ds.data.compare(train, serving),
        "DriftReport": lambda: ds.data.drift(train, serving),
        "Schema": lambda: ds.data.infer_schema(train),
        "Anomalies": lambda: ds.data.validate(serving, ds.data.infer_schema(train)),
        "Dive": lambda: ds.data.dive(
            pd.DataFrame({"kind": list("abc") * 4, "size": np.arange(12.0)}),
            images=images,
            column="kind",
            color="kind",
        ),
    }


BUILDERS = _builders()


def _result_types() -> set[type]:
    """Every Result dataclass defined in the compute packages this test covers."""
    for package in PACKAGES:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            importlib.import_module(info.name)
    found: set[type] = set()
    todo = list(Result.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith(PACKAGES) and dataclasses.is_dataclass(cls):
            found.add(cls)
    return found


def assert_same(loaded: Any, original: Any, where: str = "result") -> None:
    """Equal contents, recursively: arrays and frames value by value, dataclasses field by field."""
    assert type(loaded) is type(original), f"{where}: {type(loaded)} != {type(original)}"
    if isinstance(original, np.ndarray):
        assert loaded.dtype == original.dtype, where
        np.testing.assert_array_equal(loaded, original, err_msg=where)
    elif isinstance(original, pd.DataFrame):
        pd.testing.assert_frame_equal(loaded, original, obj=where)
    elif isinstance(original, pd.Series):
        pd.testing.assert_series_equal(loaded, original, obj=where)
    elif dataclasses.is_dataclass(original):
        for field in dataclasses.fields(original):
            name = field.name
            assert_same(getattr(loaded, name), getattr(original, name), f"{where}.{name}")
    elif isinstance(original, (list, tuple)):
        assert len(loaded) == len(original), where
        for i, (a, b) in enumerate(zip(loaded, original, strict=True)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(original, dict):
        assert list(loaded) == list(original), where
        for key in original:
            assert_same(loaded[key], original[key], f"{where}[{key!r}]")
    elif isinstance(original, float) and np.isnan(original):
        assert np.isnan(loaded), where
    else:
        assert loaded == original, where


def test_every_result_type_is_covered():
    assert {cls.__name__ for cls in _result_types()} == set(BUILDERS)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_save_and_load_give_the_same_result(tmp_path, name):
    result = BUILDERS[name]()
    assert isinstance(result, Result) and type(result).__name__ == name
    with ds.Run(tmp_path, name="r") as run:
        tag = result.save(run)
        assert result.save(run, "chosen/tag") == "chosen/tag"
    assert tag == result.tag_or_default(None) and tag
    logdir = ds.open_logdir(tmp_path)
    assert_same(logdir.load("r", tag), result)
    assert_same(logdir.load("r", "chosen/tag"), result)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_notebook_html_is_light_after_the_first(name):
    notebook.figure_html(BUILDERS["Curves"]().figure())  # plotly.js is now in the notebook
    html = BUILDERS[name]()._repr_html_()
    assert 0 < len(html.encode()) < LIGHT_HTML
    assert "https://" not in html and "http://" not in html


def test_ten_results_in_a_notebook():
    notebook.reset()  # a fresh notebook: the first result carries plotly.js
    names = [
        "Attribution",
        "SliceTable",
        "Curves",
        "ThresholdSurface",
        "Performance",
        "Profile",
        "DriftReport",
        "Dive",
        "SanityCheck",
        "Anomalies",
    ]
    pages = [BUILDERS[name]()._repr_html_() for name in names]
    assert "Plotly.newPlot" in pages[0] and len(pages[0]) > 1_000_000  # plotly.js, inlined once
    assert all(len(page) < LIGHT_HTML for page in pages[1:])
    assert sum(len(page.encode()) for page in pages) < TEN_RESULTS


def test_file_forms_of_profile_and_schema(tmp_path):
    profile = BUILDERS["Profile"]()
    schema = ds.data.infer_schema(profile)
    assert Profile.read(profile.to_file(tmp_path / "p.json")) == profile
    assert Schema.read(schema.to_file(tmp_path / "s.json")) == schema
    with pytest.warns(DeprecationWarning, match="to_file"):
        profile.save(tmp_path / "old.json")
    with pytest.warns(DeprecationWarning, match="read"):
        assert Profile.load(tmp_path / "old.json") == profile
    with pytest.warns(DeprecationWarning, match="to_file"):
        schema.save(str(tmp_path / "old_schema.json"))
    with pytest.warns(DeprecationWarning, match="read"):
        assert Schema.load(tmp_path / "old_schema.json") == schema
    with pytest.raises(ds.errors.ArgumentTypeError, match="run"):
        profile.save(42)
