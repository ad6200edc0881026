"""The demo's data runs: the planted loans drift is flagged in the logged report, and every result
and table loads back from the logdir."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepscope.data import Anomalies, DriftReport, Profile, Schema, validate
from deepscope.data.demo import IMAGES_RUN, LOANS_RUN, SHAPES_SAMPLE, demo_datasets, log_data_runs
from deepscope.track import open_logdir

PLANTED = {"income", "purpose", "employment"}  # see deepscope.datasets.loans
UNCHANGED = {"age", "region", "group"}


@pytest.fixture(scope="module")
def logdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "logs"
    assert log_data_runs(path) == [LOANS_RUN, IMAGES_RUN]
    return path


def test_the_runs_finish_with_their_results_and_tables(logdir):
    reader = open_logdir(logdir)
    runs = reader.runs().set_index("run")
    assert list(runs.loc[[LOANS_RUN, IMAGES_RUN], "status"]) == ["finished", "finished"]
    assert set(reader.results(LOANS_RUN)) == {
        "profile/train",
        "profile/serving",
        "drift",
        "schema",
        "anomalies/serving",
    }
    assert set(reader.results(IMAGES_RUN)) == {"profile/shapes", "profile/digits"}
    assert reader.tables(LOANS_RUN) == ["dive/loans"] and reader.tables(IMAGES_RUN) == ["dive/shapes"]


def test_the_planted_drift_is_flagged_in_the_logged_report(logdir):
    reader = open_logdir(logdir)
    report = reader.result(LOANS_RUN, "drift")
    assert isinstance(report, DriftReport)
    assert report.drifted and (report.reference, report.current) == ("train", "serving")
    verdicts = report.features.set_index("feature")["drifted"]
    assert all(verdicts[f] for f in PLANTED)
    assert not any(verdicts[f] for f in UNCHANGED)
    assert set(reader.runs().set_index("run").loc[LOANS_RUN, "meta"]["drifted_features"]) >= PLANTED
    # The numeric drift had raw samples: exact KS p-values, tiny for the shifted incomes.
    pvalues = report.to_frame().query("metric == 'ks_pvalue'").set_index("feature")["value"]
    assert pvalues["income"] < 1e-10 and pvalues["age"] > 0.01


def test_the_logged_profiles_schema_and_anomalies_agree(logdir):
    from deepscope.datasets import loans

    reader = open_logdir(logdir)
    train, serving = reader.result(LOANS_RUN, "profile/train"), reader.result(LOANS_RUN, "profile/serving")
    data = loans()
    assert isinstance(train, Profile) and (train.rows, serving.rows) == (len(data.train), len(data.serving))
    rows = serving.to_frame().set_index("feature")
    assert rows.loc["income", "mean"] == pytest.approx(data.serving["income"].mean())
    assert rows.loc["credit_history_years", "missing"] == pytest.approx(
        data.serving["credit_history_years"].isna().mean()
    )
    schema = reader.result(LOANS_RUN, "schema")
    assert isinstance(schema, Schema) and set(schema.features) == set(data.train.columns)
    anomalies = reader.result(LOANS_RUN, "anomalies/serving")
    assert isinstance(anomalies, Anomalies)
    assert anomalies.to_frame().equals(validate(serving, schema).to_frame())
    found = set(zip(anomalies.to_frame()["kind"], anomalies.to_frame()["feature"], strict=True))
    assert found == {("presence_drop", "credit_history_years"), ("presence_drop", "purpose")}


def test_the_image_profiles_hold_derived_features(logdir):
    from deepscope.datasets import digits, shapes

    reader = open_logdir(logdir)
    shape_profile = reader.result(IMAGES_RUN, "profile/shapes")
    digit_profile = reader.result(IMAGES_RUN, "profile/digits")
    assert {"height", "width", "channels", "brightness", "contrast", "label"} <= set(shape_profile.features)
    assert shape_profile.rows == len(shapes()) and digit_profile.rows == len(digits())
    assert shape_profile["channels"].min == 3 and digit_profile["channels"].max == 1
    assert shape_profile["brightness"].mean == pytest.approx(float(shapes().images.mean()), rel=1e-6)


def test_the_dive_tables_load_back_small_and_with_thumbnails(logdir):
    reader = open_logdir(logdir)
    sample = reader.table(IMAGES_RUN, "dive/shapes")
    assert len(sample) == SHAPES_SAMPLE
    assert sample["class_name"].value_counts().nunique() == 1  # stratified: as many of each shape
    assert sample["thumbnail"].str.startswith("data:image/png;base64,").all()
    table = reader.table(LOANS_RUN, "dive/loans")
    assert table["split"].value_counts().to_dict() == {"train": 3500, "serving": 1500}
    size = sum(f.stat().st_size for f in logdir.rglob("*") if f.is_file())
    assert size < 3_000_000, f"the data runs take {size:,} bytes"


def test_a_second_call_keeps_finished_runs_and_replaces_unfinished_ones(logdir, tmp_path):
    from deepscope.track import Run

    before = open_logdir(logdir).runs().set_index("run")["id"]
    assert log_data_runs(logdir) == [LOANS_RUN, IMAGES_RUN]
    after = open_logdir(logdir).runs().set_index("run")["id"]
    assert before.to_dict() == after.to_dict()

    broken = tmp_path / "broken"
    run = Run(broken, name=LOANS_RUN)
    run.log({"x": 1.0})
    run.finish(status="failed")
    log_data_runs(broken)
    runs = open_logdir(broken).runs().set_index("run")
    assert runs.loc[LOANS_RUN, "status"] == "finished"
    assert "drift" in open_logdir(broken).results(LOANS_RUN)


def test_demo_datasets_are_ready_to_register():
    datasets = demo_datasets()
    assert set(datasets) == {"loans-serving", "shapes"}
    assert isinstance(datasets["loans-serving"], pd.DataFrame) and "income" in datasets["loans-serving"]
    images = datasets["shapes"].images
    assert images.ndim == 4 and images.dtype == np.float32
