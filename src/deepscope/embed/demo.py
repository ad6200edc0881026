"""The demo's embeddings run, for the Projector page.

``log_embedding_run(logdir)`` logs the run ``embeddings`` with three tags:

- ``shapes_cnn/penultimate``: the ``shapes_cnn`` features before its classifier, for 600 shapes,
  with thumbnails, the true and predicted class and whether the model was right;
- ``reviews/minilm``: MiniLM sentence embeddings of 400 reviews with their text, label, and the
  ``reviews_gru`` model's prediction and error (skipped when the MiniLM package is missing);
- ``loans_mlp/hidden``: the loans MLP's second hidden layer for 1,000 applicants, with the
  label, the sensitive group and the prediction.

>>> log_embedding_run("demo-logdir")  # doctest: +SKIP
'embeddings'
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from deepscope.embed.activations import activations
from deepscope.errors import MissingDependencyError

__all__ = ["log_embedding_run", "EMBEDDINGS_RUN"]

log = logging.getLogger(__name__)

EMBEDDINGS_RUN = "embeddings"


def log_embedding_run(logdir: str | os.PathLike[str]) -> str:
    """Log the demo's embeddings into ``logdir`` (once: a finished run is kept); return its name."""
    from deepscope.track import Run, open_logdir

    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    runs = open_logdir(logdir).runs()
    done = runs[(runs["run"] == EMBEDDINGS_RUN) & (runs["status"] == "finished")]
    if len(done):
        return EMBEDDINGS_RUN
    if EMBEDDINGS_RUN in set(runs["run"]):
        import shutil

        shutil.rmtree(runs.loc[runs["run"] == EMBEDDINGS_RUN, "path"].iloc[0])
    with Run(logdir, name=EMBEDDINGS_RUN, meta={"demo": "projector"}) as run:
        _shapes(run)
        _reviews(run)
        _loans(run)
    return EMBEDDINGS_RUN


def _shapes(run: Any) -> None:
    from deepscope import datasets, zoo
    from deepscope.evaluate import predictions

    data = datasets.shapes(n=600, seed=1)
    model = zoo.get("shapes_cnn", lr=3e-3, width=16)
    vectors = activations(model, data.images, "flatten")
    # the model's predictions on the same examples, for the Evaluate page; the embedding's
    # example_id column names their rows, so a selection on the Projector opens them there
    table = predictions(model, data.images, label=data.labels)
    run.log_table("predictions", table)
    predicted = model.predict(data.images).argmax(axis=1)
    names = np.asarray(data.class_names)
    metadata = pd.DataFrame(
        {
            "label": names[data.labels],
            "predicted": names[predicted],
            "correct": predicted == data.labels,
            "example_id": table.index.to_numpy(),
        }
    )
    run.log_embedding("shapes_cnn/penultimate", vectors, metadata, images=data.images)


def _reviews(run: Any) -> None:
    from deepscope import datasets, zoo

    data = datasets.reviews(n=400, seed=1)
    try:
        encoder = zoo.minilm()
    except (MissingDependencyError, ImportError, OSError) as err:
        log.warning("skipping the MiniLM embeddings of the demo: %s", err)
        return
    vectors = activations(encoder, data.texts, "", batch_size=64)
    names = np.asarray(data.class_names)
    metadata = pd.DataFrame({"text": data.texts, "label": names[data.labels]})
    try:
        classifier = zoo.get("reviews_gru")
        predicted = classifier.predict(data.texts).argmax(axis=1)
        metadata["predicted"] = names[predicted]
        metadata["error"] = predicted != data.labels
    except (MissingDependencyError, ImportError, OSError) as err:
        log.warning("the demo's review embeddings carry no predictions: %s", err)
    run.log_embedding("reviews/minilm", vectors, metadata)


def _loans(run: Any) -> None:
    from deepscope import datasets, zoo

    data = datasets.loans(n=1000, seed=1)
    model = zoo.get("loans_mlp", hidden=32, dropout=0.0)
    rows = data.train.reset_index(drop=True)
    features = rows[data.features]
    vectors = activations(model, features, "relu2")
    predicted = model.predict(features).argmax(axis=1)
    names = np.asarray(data.class_names)
    metadata = pd.DataFrame(
        {
            "label": names[rows[data.label].to_numpy().astype(int)],
            "group": rows[data.sensitive].astype(str),
            "predicted": names[predicted],
        }
    )
    run.log_embedding("loans_mlp/hidden", vectors, metadata)
