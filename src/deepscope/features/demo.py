"""The features demo run: feature visualizations of several ``shapes_cnn`` channels (each beside
its most exciting held-out shapes), an activation atlas of ``relu3``, and one image's layer maps.

Small settings (32 px, 128 steps, an 8 x 8 PCA atlas) keep it to seconds; the Layers page shows
the results and explores the zoo CNNs live.

>>> from deepscope.features.demo import log_features_run
>>> log_features_run("demo-logdir")  # doctest: +SKIP
'shapes_cnn-features'
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from deepscope.errors import InvalidArgumentError

__all__ = ["FEATURES_RUN", "FEATURES_CHANNELS", "log_features_run"]

log = logging.getLogger(__name__)

FEATURES_RUN = "shapes_cnn-features"
FEATURES_LAYER = "relu3"
FEATURES_CHANNELS = (0, 1, 2, 3, 4, 5)


def log_features_run(
    logdir: str | Path,
    *,
    size: int = 32,
    steps: int = 128,
    atlas_points: int = 2000,
    atlas_grid: int = 8,
    progress: bool = False,
) -> str:
    """Log the features run into ``logdir`` (a finished one is kept); return its name.

    ``size`` (pixels) and ``steps`` set every visualization (the atlas's cells take half the
    steps); ``atlas_points`` and ``atlas_grid`` the atlas. Smaller values give a quicker run.
    """
    from deepscope import features, zoo
    from deepscope.features import objectives
    from deepscope.track import Run, open_logdir

    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise InvalidArgumentError("logdir", "a directory path", str(logdir))
    existing = open_logdir(logdir).runs() if logdir.exists() else None
    if existing is not None and len(existing):
        for row in existing.itertuples():
            if row.run == FEATURES_RUN:
                if row.status == "finished":
                    return FEATURES_RUN
                log.warning("replacing the unfinished demo run %s", FEATURES_RUN)
                shutil.rmtree(str(row.path))
    model = zoo.get("shapes_cnn")
    _, test = zoo.splits("shapes_cnn")
    objective = objectives.channel(FEATURES_LAYER, FEATURES_CHANNELS[0], batch=0)
    for i, channel in enumerate(FEATURES_CHANNELS[1:], start=1):
        objective = objective + objectives.channel(FEATURES_LAYER, channel, batch=i)
    with Run(logdir, name=FEATURES_RUN, hparams={"model": "shapes_cnn"}) as run:
        features.visualize(
            model,
            objective,
            batch=len(FEATURES_CHANNELS),
            size=size,
            steps=steps,
            dataset=test,
            top_k=5,
            progress=progress,
        ).save(run, "features/relu3_channels")
        features.visualize(
            model,
            objectives.channel(FEATURES_LAYER, 0),
            param="maco",
            size=size,
            steps=steps,
            dataset=test,
            top_k=5,
            progress=progress,
        ).save(run, "features/relu3_channel0_maco")
        features.atlas(
            model,
            test,
            FEATURES_LAYER,
            n=atlas_points,
            grid=atlas_grid,
            method="pca",
            min_count=5,
            steps=max(steps // 2, 1),
            size=size,
            progress=progress,
        ).save(run)
        features.layer_maps(model, test.images[:1]).save(run)
    return FEATURES_RUN
