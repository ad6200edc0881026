"""Parallel coordinates: every row of a file on the axes, and brushes as exact row filters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import deepscope as ds
from deepscope.errors import InvalidArgumentError, NotFoundError
from deepscope.hparams import (
    CATEGORICAL,
    LOG_NUMERIC,
    NUMERIC,
    brushed_rows,
    infer_types,
)
from deepscope.hparams.parallel import MISSING, default_columns
from deepscope.viz.hparams_axes import make_axis
from tests.hparams.sweeps import results_frame, schedule_logdir


def _decode(dimension, kind: str) -> list:
    """Read a row's value back off a drawn dimension: positions through the axis' ticks."""
    values = np.asarray(dimension.values, dtype=float)
    labels = dict(zip(dimension.tickvals or [], dimension.ticktext or [], strict=True))
    out = []
    for v in values:
        if v in labels and labels[v] in ("NaN", "+inf", "-inf"):
            out.append({"NaN": math.nan, "+inf": math.inf, "-inf": -math.inf}[labels[v]])
        elif kind == CATEGORICAL:
            out.append(v)  # a code; mapped back below
        elif kind == LOG_NUMERIC:
            out.append(10.0**v)
        else:
            out.append(v)
    return out


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_parallel_coordinates_from_a_file_round_trips_every_row(tmp_path, suffix):
    frame = results_frame(rows=40)
    frame.loc[5, "lr"] = np.inf
    path = tmp_path / f"results{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)

    figure = ds.hparams.parallel_coordinates(path, color="accuracy", columns=list(frame.columns)).figure()
    dims = {d.name: d for d in figure.data[0].dimensions}
    assert list(dims) == list(frame.columns)
    assert all(len(d.values) == len(frame) for d in dims.values())
    assert dims["lr"].label == "lr (log)"

    np.testing.assert_allclose(_decode(dims["lr"], LOG_NUMERIC), frame["lr"], rtol=1e-12)
    np.testing.assert_allclose(_decode(dims["accuracy"], NUMERIC), frame["accuracy"], rtol=1e-12)
    np.testing.assert_array_equal(_decode(dims["layers"], NUMERIC), frame["layers"])
    for name in ("optimizer", "trial"):
        codes = np.asarray(dims[name].values, dtype=int)
        categories = sorted(set(frame[name]))
        assert [categories[c] for c in codes] == frame[name].tolist()
    # Labelled ticks of a categorical axis name every category (40 fit under the label limit).
    assert dims["optimizer"].ticktext == ("adam", "rmsprop", "sgd")
    # The colour follows the colour column: NaN lowest (grey band), the rest in value order.
    colours = np.asarray(figure.data[0].line.color)
    finite = frame["accuracy"].notna().to_numpy()
    assert colours[~finite].max() < colours[finite].min()
    order = np.argsort(frame["accuracy"][finite].to_numpy())
    assert np.all(np.diff(colours[finite][order]) >= 0)


def test_default_axes_leave_out_identifiers_and_color_the_last_numeric():
    frame = results_frame(rows=40)
    types = infer_types(frame)
    assert default_columns(frame, types) == ["lr", "optimizer", "layers", "accuracy"]
    figure = ds.hparams.parallel_coordinates(frame).figure()
    assert figure.data[0].line.colorbar.title.text == "accuracy"
    small = frame.head(5)  # with few rows, names are worth an axis
    assert "trial" in default_columns(small, infer_types(small))


def test_log_axis_spans_whole_decades_and_slots_sit_outside():
    axis = make_axis("lr", pd.Series([2e-5, 3e-3, np.nan, 0.08, np.inf]), LOG_NUMERIC)
    assert axis.ticktext[:5] == ["1e-05", "0.0001", "0.001", "0.01", "0.1"]
    assert axis.tickvals[:5] == [-5.0, -4.0, -3.0, -2.0, -1.0]
    assert axis.slots["NaN"] < -5 < -1 < axis.slots["+inf"]
    assert axis.range[0] <= axis.slots["NaN"] and axis.range[1] >= axis.slots["+inf"]
    assert np.isclose(axis.positions[1], math.log10(3e-3))


def _manual_numeric(values, lo, hi):
    v = np.asarray(values, dtype=float)
    return np.isfinite(v) & (v >= lo) & (v <= hi)


def test_brushes_filter_exactly_the_rows_inside():
    frame = results_frame(rows=60)
    frame.loc[7, "optimizer"] = None
    types = infer_types(frame)
    lr = make_axis("lr", frame["lr"], types["lr"])
    acc = make_axis("accuracy", frame["accuracy"], types["accuracy"])
    opt = make_axis("optimizer", frame["optimizer"], types["optimizer"])
    assert opt.categories == (MISSING, "adam", "rmsprop", "sgd")

    # A brush on the log axis is in log10 positions: 1e-4 .. 1e-2.
    selection = {"lr": lr.selection([-4.0, -2.0])}
    assert selection["lr"]["ranges"] == [[pytest.approx(1e-4), pytest.approx(1e-2)]]
    keep = brushed_rows(frame, types, selection)
    np.testing.assert_array_equal(keep, _manual_numeric(frame["lr"], 1e-4, 1e-2))

    # Two ranges on one axis (multi-select) and a second axis: an AND across axes.
    selection["accuracy"] = acc.selection([[0.5, 0.6], [0.8, 0.9]])
    keep = brushed_rows(frame, types, selection)
    in_acc = _manual_numeric(frame["accuracy"], 0.5, 0.6) | _manual_numeric(frame["accuracy"], 0.8, 0.9)
    np.testing.assert_array_equal(keep, _manual_numeric(frame["lr"], 1e-4, 1e-2) & in_acc)

    # Categories: plotly snaps an ordinal brush to [code - 0.25, code + 0.25].
    only_sgd = brushed_rows(frame, types, {"optimizer": opt.selection([[2.75, 3.25]])})
    np.testing.assert_array_equal(only_sgd, (frame["optimizer"] == "sgd").to_numpy())
    missing = brushed_rows(frame, types, {"optimizer": opt.selection([-0.25, 0.25])})
    assert missing.tolist() == frame["optimizer"].isna().tolist()

    # The NaN slot can be brushed: that keeps the rows without a value.
    nan_rows = brushed_rows(
        frame, types, {"accuracy": acc.selection([acc.slots["NaN"] - 0.01, acc.slots["NaN"] + 0.01])}
    )
    np.testing.assert_array_equal(nan_rows, frame["accuracy"].isna().to_numpy())


def test_a_selection_redraws_on_a_new_axis_of_the_same_column():
    frame = results_frame(rows=30)
    types = infer_types(frame)
    before = make_axis("lr", frame["lr"], types["lr"])
    selection = before.selection([-4.0, -2.5])
    # The column changed (a new run came in): same brush in data terms, new positions.
    after_values = pd.concat([frame["lr"], pd.Series([1e-7])], ignore_index=True)
    after = make_axis("lr", after_values, types["lr"])
    assert after.constraint(selection) == [[pytest.approx(-4.0), pytest.approx(-2.5)]]
    category = make_axis("optimizer", frame["optimizer"], CATEGORICAL)
    picked = category.selection([[0.75, 1.25]])
    assert picked == {"labels": ["rmsprop"]}
    assert category.constraint({"labels": ["adam", "rmsprop"]}) == [[-0.25, 1.25]]


def test_figure_draws_given_selections_and_names_dimensions():
    frame = results_frame(rows=20)
    types = infer_types(frame)
    acc = make_axis("accuracy", frame["accuracy"], types["accuracy"])
    figure = ds.hparams.parallel_coordinates(frame, selections={"accuracy": acc.selection([0.6, 0.8])}).figure()
    dims = {d.name: d for d in figure.data[0].dimensions}
    assert [list(r) for r in dims["accuracy"].constraintrange] == [[0.6, 0.8]]
    assert dims["lr"].constraintrange is None


def test_bad_inputs():
    frame = results_frame(rows=5)
    with pytest.raises(NotFoundError, match="no column named 'nope'"):
        ds.hparams.parallel_coordinates(frame, color="nope").figure()
    with pytest.raises(NotFoundError, match="available"):
        ds.hparams.parallel_coordinates(frame, columns=["lr", "nope"]).figure()
    with pytest.raises(InvalidArgumentError, match="at least one column"):
        ds.hparams.parallel_coordinates(frame, columns=[]).figure()
    with pytest.raises(TypeError, match="DataFrame"):
        ds.hparams.parallel_coordinates(42).figure()


@pytest.mark.parametrize("source", ["logdir", "csv"])
def test_a_metric_named_like_a_hyperparameter_gets_its_own_axis(tmp_path, source):
    logdir = schedule_logdir(tmp_path / "logs")
    table = ds.hparams.hparams_table(logdir)
    data = logdir
    if source == "csv":  # the table saved and served as a results file: the same columns
        data = tmp_path / "results.csv"
        table.to_frame().to_csv(data, index=False)
    figure = ds.hparams.parallel_coordinates(data, color="lr (metric)").figure()
    dimensions = {d.name: d for d in figure.data[0].dimensions}
    assert list(dimensions) == ["run", "lr", "width", "lr (metric)", "val/accuracy", "val/loss"]
    assert dimensions["lr"].label == "lr (log)" and dimensions["lr (metric)"].label == "lr (metric) (log)"
    for column in ("lr", "lr (metric)"):
        np.testing.assert_allclose(_decode(dimensions[column], LOG_NUMERIC), table.frame[column])
    assert figure.data[0].line.colorbar.title.text == "lr (metric) (log)"
    # A brush on the metric's axis filters by the metric, not by the hyper-parameter.
    axis = make_axis("lr (metric)", table.frame["lr (metric)"], LOG_NUMERIC)
    selection = axis.selection([[-3.0, -1.5]])
    kept = brushed_rows(table.frame, table.types, {"lr (metric)": selection})
    assert kept.tolist() == list((table.frame["lr (metric)"] >= 1e-3) & (table.frame["lr (metric)"] <= 10**-1.5))
    assert 0 < kept.sum() < len(kept)
