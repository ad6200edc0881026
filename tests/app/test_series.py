"""The monitor pages' data path: filters, smoothing, x axes, downsampling, markers, the cache."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from deepscope.app.series import (
    DISTRIBUTION_LEVELS,
    SeriesSource,
    bucket_percentiles,
    histogram_series,
    match_names,
)
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.track import Run, open_logdir
from deepscope.track.smoothing import smooth


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    """Two runs: a long noisy loss (with a NaN, +Inf and -Inf in run b) and a short accuracy."""
    folder = tmp_path_factory.mktemp("series") / "logs"
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        with Run(folder, name=name) as run:
            for step in range(5000):
                loss = 2.0 * math.exp(-step / 1000) + float(rng.normal(0, 0.1))
                if name == "b" and step in (1000, 2000, 3000):
                    loss = {1000: math.nan, 2000: math.inf, 3000: -math.inf}[step]
                values = {"train/loss": loss}
                if step % 500 == 0:
                    values["val/accuracy"] = 0.5 + step / 10_000
                run.log(values, step=step)
    return folder


@pytest.fixture
def source(logdir):
    return SeriesSource(open_logdir(logdir))


def _raw(logdir, run, tag):
    frame = open_logdir(logdir).scalars(tags=[tag], runs=[run])
    return frame.sort_values("step", kind="stable")


def test_match_names_is_a_case_insensitive_regex_search():
    names = ["cnn-lr0.01", "cnn-lr0.003", "MLP-lr0.01"]
    assert match_names(names, None).names == names
    assert match_names(names, "  ").names == names
    assert match_names(names, "^cnn").names == ["cnn-lr0.01", "cnn-lr0.003"]
    assert match_names(names, "mlp").names == ["MLP-lr0.01"]
    assert match_names(names, r"lr0\.01$").names == ["cnn-lr0.01", "MLP-lr0.01"]
    assert match_names(names, r"lr0\.01$").message == ""


def test_a_bad_regex_is_matched_as_text_with_a_message():
    matched = match_names(["a(b", "ab"], "a(")
    assert matched.names == ["a(b"]
    assert matched.message.startswith("Not a valid regular expression")


def test_filters_are_the_one_re2_matcher_with_typed_errors():
    import deepscope.patterns

    assert match_names is deepscope.patterns.match_names
    assert match_names(["a.b", "axb"], r"a\.b").names == ["a.b"]  # a regex
    as_text = match_names(["run lr=0.1 (b", "run lr=0.1 b"], "lr=0.1 (b")  # not a regex: plain text
    assert as_text.names == ["run lr=0.1 (b"] and "plain text" in as_text.message
    # A catastrophic pattern runs in linear time on RE2 (Python's re would take minutes here).
    assert match_names(["a" * 40 + "!"], r"(a+)+$").names == []
    with pytest.raises(ArgumentTypeError, match="pattern"):
        match_names(["a"], 3)  # type: ignore[arg-type]


def test_a_pixels_worth_of_points_keeps_each_two_pixel_columns_extremes(source, logdir):
    """At one point per pixel (what the page asks): at most ``width`` points per raw line and half
    that per smoothed line, and every two-pixel column keeps its lowest and highest value."""
    width = 100
    chart = source.chart("train/loss", ["a"], smoothing=0.6, width=width, points_per_pixel=1)
    series = chart.series[0]
    raw = _raw(logdir, "a", "train/loss")
    steps, values = raw["step"].to_numpy(), raw["value"].to_numpy()
    assert len(series.x) <= width and len(series.smooth_x) <= width // 2
    buckets = (width - 2) // 2
    column = np.minimum((steps * buckets / steps[-1]).astype(int), buckets - 1)
    drawn = dict(zip(series.x.tolist(), series.y.tolist(), strict=True))
    for b in range(buckets):
        mine = column == b
        low, high = values[mine].min(), values[mine].max()
        assert low in [drawn.get(int(s)) for s in steps[mine]], b
        assert high in [drawn.get(int(s)) for s in steps[mine]], b
    smoothed = smooth(values, 0.6)
    assert series.smooth_y.min() == smoothed.min() and series.smooth_y.max() == smoothed.max()


def test_listings(source):
    assert source.run_names() == ["a", "b"]
    assert source.tags() == ["train/loss", "val/accuracy"]


def test_downsampling_keeps_extremes_and_ends_within_two_points_per_pixel(source, logdir):
    chart = source.chart("train/loss", ["a"], smoothing=0.0, width=100)
    series = chart.series[0]
    raw = _raw(logdir, "a", "train/loss")
    assert series.points == 5000
    assert len(series.x) <= 2 * 100
    assert series.x[0] == 0 and series.x[-1] == 4999
    assert series.y.min() == raw["value"].min() and series.y.max() == raw["value"].max()
    # Every drawn point is a real point of the series.
    by_step = dict(zip(raw["step"], raw["value"], strict=True))
    assert all(by_step[int(x)] == y for x, y in zip(series.x, series.y, strict=True))


def test_smoothing_equals_smooth_on_every_point(source, logdir):
    raw = _raw(logdir, "a", "train/loss")
    expected = smooth(raw["value"].to_numpy(), 0.8)
    # Wide enough that nothing is dropped: the whole smoothed series arrives.
    chart = source.chart("train/loss", ["a"], smoothing=0.8, width=5000)
    series = chart.series[0]
    np.testing.assert_array_equal(series.smooth_x, raw["step"].to_numpy())
    np.testing.assert_array_equal(series.smooth_y, expected)
    np.testing.assert_array_equal(series.smooth_raw, raw["value"].to_numpy())
    # Downsampled, each kept point is still the smoothed value of the full series at its step.
    narrow = source.chart("train/loss", ["a"], smoothing=0.8, width=50).series[0]
    assert len(narrow.smooth_x) <= 100
    np.testing.assert_array_equal(narrow.smooth_y, expected[narrow.smooth_x])
    assert narrow.smooth_y.max() == expected.max() and narrow.smooth_y.min() == expected.min()


def test_smoothing_changes_the_line_and_zero_draws_the_raw_series(source):
    light = source.chart("val/accuracy", ["a"], smoothing=0.0).series[0]
    heavy = source.chart("val/accuracy", ["a"], smoothing=0.9).series[0]
    np.testing.assert_array_equal(light.smooth_y, light.y)
    assert not np.array_equal(heavy.smooth_y, heavy.y)


def test_x_axis_modes(source, logdir):
    raw = _raw(logdir, "a", "val/accuracy")
    walls = raw["wall_time"].to_numpy()
    by_step = source.chart("val/accuracy", ["a"], smoothing=0.0, xaxis="step").series[0]
    relative = source.chart("val/accuracy", ["a"], smoothing=0.0, xaxis="relative").series[0]
    wall = source.chart("val/accuracy", ["a"], smoothing=0.0, xaxis="wall").series[0]
    np.testing.assert_array_equal(by_step.x, np.arange(0, 5000, 500))
    np.testing.assert_allclose(wall.x, walls)
    np.testing.assert_allclose(relative.x, walls - walls.min())
    assert relative.x[0] == 0.0
    with pytest.raises(InvalidArgumentError, match="xaxis"):
        source.chart("val/accuracy", ["a"], xaxis="epoch")


def test_nonfinite_points_come_back_as_markers(source):
    chart = source.chart("train/loss", ["a", "b"], smoothing=0.6, width=200)
    a, b = chart.series
    assert a.nonfinite == 0 and a.nonfinite_x.size == 0
    assert b.nonfinite == 3
    assert dict(zip(b.nonfinite_kind.tolist(), b.nonfinite_x.tolist(), strict=True)) == {
        "nan": 1000,
        "+inf": 2000,
        "-inf": 3000,
    }
    assert np.isfinite(b.y).all() and np.isfinite(b.smooth_y).all()
    assert chart.nonfinite == 3


def test_robust_range_is_the_2nd_to_98th_percentile(source, logdir):
    chart = source.chart("train/loss", ["a", "b"], smoothing=0.6)
    values = pd.concat([_raw(logdir, run, "train/loss") for run in ("a", "b")])["value"].to_numpy()
    finite = values[np.isfinite(values)]
    assert chart.robust_range == pytest.approx(tuple(np.percentile(finite, [2, 98])))
    assert chart.nonpositive == int((finite <= 0).sum()) > 0
    log_low, log_high = chart.robust_log_range
    assert log_low == pytest.approx(np.percentile(np.log10(finite[finite > 0]), 2))
    assert log_high < math.log10(finite.max())


def test_runs_without_the_tag_are_left_out(tmp_path):
    with Run(tmp_path, name="only-loss") as run:
        run.log({"loss": 1.0})
    with Run(tmp_path, name="only-acc") as run:
        run.log({"acc": 0.5})
    source = SeriesSource(open_logdir(tmp_path))
    assert [s.run for s in source.chart("loss", ["only-loss", "only-acc"]).series] == ["only-loss"]


def test_cache_reads_once_per_version_and_sees_new_writes(tmp_path):
    run = Run(tmp_path, name="live")
    run.log({"loss": 1.0}, step=0)
    run.flush()
    logdir = open_logdir(tmp_path)
    reads = []
    original = logdir.scalars

    def counting(*args, **kwargs):
        reads.append(kwargs)
        return original(*args, **kwargs)

    logdir.scalars = counting
    source = SeriesSource(logdir)
    version = logdir.version()
    first = source.chart("loss", ["live"], version=version, smoothing=0.6)
    again = source.chart("loss", ["live"], version=version, smoothing=0.3, xaxis="relative")
    assert len(reads) == 1  # a new smoothing or x axis reuses the series read
    assert source.chart("loss", ["live"], version=version, smoothing=0.6) is first
    assert again.series[0].points == 1

    run.log({"loss": 0.5}, step=1)
    run.flush()
    newer = logdir.version()
    assert newer != version
    updated = source.chart("loss", ["live"], version=newer, smoothing=0.6)
    assert len(reads) == 2 and updated.series[0].points == 2
    run.finish()


def test_frame_has_every_point_and_its_smoothed_value(source, logdir):
    frame = source.frame("train/loss", ["a", "b"], smoothing=0.6)
    assert list(frame.columns) == ["run", "tag", "step", "wall_time", "relative_time", "value", "smoothed"]
    assert len(frame) == 10_000
    b = frame[frame["run"] == "b"]
    np.testing.assert_array_equal(b["smoothed"].to_numpy(), smooth(b["value"].to_numpy(), 0.6))
    assert b["value"].isna().sum() == 1


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, True, "0.5"])
def test_bad_smoothing_is_refused(source, smoothing):
    with pytest.raises(InvalidArgumentError, match="smoothing"):
        source.chart("train/loss", ["a"], smoothing=smoothing)


def test_bucket_percentiles_are_linear_within_buckets():
    edges = np.array([0.0, 1.0, 2.0, 4.0])
    counts = np.array([2.0, 0.0, 2.0])
    got = bucket_percentiles(edges, counts, [0, 25, 50, 75, 100])
    # Half the mass lies in [0, 1], none in [1, 2] (so 50% sits at 1), half in [2, 4].
    np.testing.assert_allclose(got, [0.0, 0.5, 1.0, 3.0, 4.0])
    exact = bucket_percentiles(edges, counts, [0, 100], low=0.2, high=3.5)
    np.testing.assert_allclose(exact, [0.2, 3.5])
    assert np.isnan(bucket_percentiles(edges, np.zeros(3), [50])).all()


def test_bucket_percentiles_match_the_samples_of_a_normal():
    values = np.random.default_rng(1).normal(3.0, 2.0, 200_000)
    counts, edges = np.histogram(values, bins=200)
    got = bucket_percentiles(edges, counts, DISTRIBUTION_LEVELS, low=values.min(), high=values.max())
    np.testing.assert_allclose(got, np.percentile(values, DISTRIBUTION_LEVELS), atol=0.03)


def test_histogram_series_from_the_store(tmp_path):
    rng = np.random.default_rng(0)
    with Run(tmp_path, name="h") as run:
        for step in range(0, 100, 10):
            values = rng.normal(step / 10, 1.0, 4000)
            if step == 50:
                values[:3] = np.nan
            run.log_histogram("w", values, step)
    frame = open_logdir(tmp_path).histograms("w", runs=["h"])
    series = histogram_series(frame)
    assert series.run == "h" and series.tag == "w"
    np.testing.assert_array_equal(series.steps, np.arange(0, 100, 10))
    # The median drifts by 1 per 10 steps, as the logged normals do.
    np.testing.assert_allclose(series.percentiles[:, 4], np.arange(10), atol=0.1)
    assert series.total_nan == 3
    for centers, density in zip(series.centers, series.density, strict=True):
        widths = np.gradient(centers)
        assert (density * widths).sum() == pytest.approx(1.0, rel=1e-6)  # a density per step
    thinned = histogram_series(frame, max_steps=4)
    assert thinned.steps[0] == 0 and thinned.steps[-1] == 90 and len(thinned.steps) == 4
    assert thinned.total_steps == 10 and thinned.total_nan == 3


def test_tag_listings_per_run_and_kind_follow_writes(tmp_path):
    with Run(tmp_path, name="a") as run:
        run.log({"loss": 1.0})
        run.log_image("samples", np.zeros((2, 2)), step=0)
        run.log_table("predictions", pd.DataFrame({"label": [1, 0]}))
    live = Run(tmp_path, name="b")
    live.log({"accuracy": 0.5})
    live.flush()
    source = SeriesSource(open_logdir(tmp_path))
    assert source.run_tags("a", "images") == ["samples"]
    assert source.run_tags("a", "tables") == ["predictions"]
    assert source.run_tags("b", "images") == []
    assert source.has_any("images") and source.has_any("tables")
    assert not source.has_any("histograms") and not source.has_any("results")
    assert source.runs_with("images") == ["a"]
    assert source.tags() == ["accuracy", "loss"]
    live.log({"lr": 0.1})
    live.flush()
    assert source.tags() == ["accuracy", "loss", "lr"]  # the run that wrote is read again
    live.finish()
    with pytest.raises(InvalidArgumentError, match="kind"):
        source.run_tags("a", "audio")
