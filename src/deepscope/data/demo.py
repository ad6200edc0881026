"""The demo's data runs: loans train against serving (the planted drift shows), and image sets.

``log_data_runs(logdir)`` logs two runs the Data page reads:

- ``data-loans``: profiles of ``loans`` train and serving, the drift of serving against train,
  the schema inferred from train (a result, ``schema``) and the anomalies of serving against it,
  and both parts as one table (``dive/loans``, with a ``split`` column) for Dive;
- ``data-images``: profiles of ``shapes`` and ``digits`` (derived features: size, brightness,
  contrast, label) and a sample of shapes with thumbnails (``dive/shapes``) for Dive.

``demo_datasets()`` gives datasets to register with the dashboard (``ds.serve(..., datasets=...)``).

>>> from deepscope.data.demo import log_data_runs
>>> log_data_runs("demo-logdir")  # doctest: +SKIP
['data-loans', 'data-images']
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from deepscope.data.drift import drift
from deepscope.data.profile import profile
from deepscope.data.schema import infer_schema, validate
from deepscope.data.sources import images_table
from deepscope.datasets import digits, loans, shapes
from deepscope.errors import InvalidArgumentError
from deepscope.png import thumbnail_data_uri
from deepscope.track import Run, open_logdir

__all__ = ["log_data_runs", "demo_datasets", "LOANS_RUN", "IMAGES_RUN", "SHAPES_SAMPLE"]

log = logging.getLogger(__name__)

LOANS_RUN = "data-loans"
IMAGES_RUN = "data-images"
SHAPES_SAMPLE = 300  # few enough for Dive to draw each example as its image
THUMBNAIL_SIZE = 16


def log_data_runs(logdir: str | os.PathLike) -> list[str]:
    """Log the data runs into ``logdir``; return their names.

    A run that already finished there is kept as it is; an unfinished one is replaced.
    """
    if not isinstance(logdir, (str, os.PathLike)):
        raise InvalidArgumentError("logdir", "a directory path", logdir)
    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise InvalidArgumentError("logdir", "a directory path", str(logdir))
    logdir.mkdir(parents=True, exist_ok=True)
    makers = {LOANS_RUN: _log_loans, IMAGES_RUN: _log_images}
    existing = open_logdir(logdir).runs()
    finished = set(existing.loc[existing["status"] == "finished", "run"]) if len(existing) else set()
    for row in existing.itertuples():
        if row.run in makers and row.status != "finished":
            log.warning("replacing the unfinished demo run %s", row.run)
            shutil.rmtree(str(row.path))
    for name, make in makers.items():
        if name in finished:
            continue
        with Run(logdir, name=name, meta={"dataset": name.removeprefix("data-")}) as run:
            make(run)
    return list(makers)


def _log_loans(run: Any) -> None:
    data = loans()
    train = profile(data.train, name="train", progress=False)
    serving = profile(data.serving, name="serving", progress=False)
    train.save(run, tag="profile/train")
    serving.save(run, tag="profile/serving")
    # The raw frames give exact KS statistics and p-values beside the profile metrics.
    report = drift(data.train, data.serving)
    report = replace(report, reference=train.name, current=serving.name)
    report.save(run, tag="drift")
    schema = infer_schema(train)
    run.log_result("schema", schema)
    validate(serving, schema).save(run, tag="anomalies/serving")
    run.log_table("dive/loans", data.to_frame())
    run.set_meta("drifted_features", report.drifted_features)


def _log_images(run: Any) -> None:
    shape_set = shapes()
    profile(shape_set, name="shapes", progress=False).save(run, tag="profile/shapes")
    profile(digits(), name="digits", progress=False).save(run, tag="profile/digits")
    run.log_table("dive/shapes", shapes_sample(shape_set))


def shapes_sample(dataset: Any, n: int = SHAPES_SAMPLE, seed: int = 0) -> pd.DataFrame:
    """``n`` shapes (a stratified sample): class, attributes, brightness and a PNG thumbnail each."""
    fraction = min(n / len(dataset), 0.999)
    sample, _ = dataset.split(fraction, seed=seed)
    derived = images_table(sample.images).to_pandas()[["brightness", "contrast"]]
    frame = sample.to_frame().rename(columns={"contrast": "object_contrast"})
    frame = pd.concat([frame.reset_index(drop=True), derived.rename(columns={"contrast": "image_contrast"})], axis=1)
    frame["thumbnail"] = [thumbnail_data_uri(image, size=THUMBNAIL_SIZE) for image in sample.images]
    return frame.round({c: 4 for c in frame.columns if pd.api.types.is_float_dtype(frame[c])})


def demo_datasets() -> dict[str, Any]:
    """Datasets for the demo dashboard: the loans serving rows (a DataFrame) and the shapes images."""
    return {"loans-serving": loans().serving, "shapes": shapes()}
