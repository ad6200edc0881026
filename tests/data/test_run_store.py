"""Data results go into a run and come back out of the logdir equal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from deepscope import track
from deepscope.data import Profile, compare, drift, infer_schema, profile, validate


def test_results_round_trip_through_a_run(tmp_path):
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(0, 1, 500), "c": rng.choice(["a", "b"], 500)})
    serving = pd.DataFrame({"x": rng.normal(1, 1, 200), "c": rng.choice(["a", "b", "z"], 200)})
    p_train, p_serving = profile(train, name="train"), profile(serving, name="serving")
    report = drift(p_train, p_serving)
    anomalies = validate(p_serving, infer_schema(p_train))
    with track.Run(tmp_path, name="data") as run:
        p_train.save(run, tag="profile/train")
        report.save(run)
        anomalies.save(run)
        compare(p_train, p_serving).save(run)
    logdir = track.open_logdir(tmp_path)
    loaded = logdir.result("data", "profile/train")
    assert isinstance(loaded, Profile) and loaded == p_train
    assert loaded["x"].quantiles([0.5]) == pytest.approx(p_train["x"].quantiles([0.5]))
    back = logdir.result("data", "drift")
    pd.testing.assert_frame_equal(back.to_frame(), report.to_frame())
    assert back.drifted == report.drifted
    assert logdir.result("data", "anomalies").to_frame()["kind"].tolist() == anomalies.to_frame()["kind"].tolist()
    assert logdir.result("data", "comparison").order == compare(p_train, p_serving).order
