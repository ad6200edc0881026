"""The Explain demo run: ``shapes_cnn`` trained with an ``ExplainCallback`` on a probe set.

The run holds, for a dozen held-out shapes (two per class, with their ground-truth masks), the
maps of three methods after every epoch, the model's outputs on them, and at the end each
method's sanity-check, faithfulness and localization scores per probe. The Explain page shows
them side by side and scrubs through the epochs.

>>> from deepscope.explain.demo import log_explain_run
>>> log_explain_run("demo-logdir")  # doctest: +SKIP
'shapes_cnn-explained'
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from deepscope.errors import InvalidArgumentError

__all__ = ["EXPLAIN_RUN", "EXPLAIN_MODEL", "EXPLAIN_HPARAMS", "EXPLAIN_METHODS", "log_explain_run"]

log = logging.getLogger(__name__)

EXPLAIN_RUN = "shapes_cnn-explained"
EXPLAIN_MODEL = "shapes_cnn"
# Four epochs: enough to see the maps settle, and the whole run stays a few seconds on a laptop.
EXPLAIN_HPARAMS: dict[str, Any] = {"epochs": 4}
EXPLAIN_METHODS = ("integrated_gradients", "grad_cam", "saliency")
PROBES_PER_CLASS = 2
# IG needs 64 Gauss-Legendre points here: the CNN standardizes each image, so along the path from
# the all-zero baseline the output changes fastest right next to it, which fewer points miss (a
# larger completeness gap). 5 perturbations per probe rank the methods' infidelity and
# max-sensitivity well enough.
IG_STEPS = 64
SCORE_SAMPLES = 5


def probe_indices(labels: np.ndarray, per_class: int = PROBES_PER_CLASS) -> np.ndarray:
    """The first ``per_class`` examples of each class, in class order (deterministic).

    >>> probe_indices(np.array([1, 0, 1, 0, 1]), 2).tolist()
    [1, 3, 0, 2]
    """
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]).astype(np.int64)


def log_explain_run(logdir: str | Path, *, progress: bool | None = False) -> str:
    """Train ``shapes_cnn`` into the run ``shapes_cnn-explained`` of ``logdir``; return its name.

    A finished run of that name is kept as it is (nothing is trained); an unfinished one is
    replaced. The trained model is in the zoo's cache afterwards, so
    ``zoo.get(EXPLAIN_MODEL, **EXPLAIN_HPARAMS)`` loads it (``deepscope serve`` registers it from
    the run's ``zoo_model`` meta).
    """
    from deepscope import zoo
    from deepscope.explain.callback import ExplainCallback
    from deepscope.track import Run, open_logdir
    from deepscope.zoo.training import one_thread

    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise InvalidArgumentError("logdir", "a directory path", str(logdir))
    logdir.mkdir(parents=True, exist_ok=True)
    runs = open_logdir(logdir).runs()
    for row in runs.itertuples() if len(runs) else ():
        if row.run == EXPLAIN_RUN:
            if row.status == "finished":
                return EXPLAIN_RUN
            log.warning("replacing the unfinished demo run %s", EXPLAIN_RUN)
            shutil.rmtree(str(row.path))

    _, test = zoo.splits(EXPLAIN_MODEL)
    rows = probe_indices(test.labels)
    hparams = {"model": EXPLAIN_MODEL, **EXPLAIN_HPARAMS}
    with Run(logdir, name=EXPLAIN_RUN, hparams=hparams) as run:
        callback = ExplainCallback(
            run,
            test.images[rows],
            methods=EXPLAIN_METHODS,
            labels=test.labels[rows],
            masks=test.masks[rows],
            class_names=list(test.class_names),
            integrated_gradients={"n_steps": IG_STEPS},
        )

        def on_epoch(epoch: int, module: Any) -> None:
            callback(epoch, module)  # the attributions it returns are logged to the run already

        result = zoo.train(EXPLAIN_MODEL, run=run, progress=progress, on_epoch=on_epoch, **EXPLAIN_HPARAMS)
        with one_thread():  # a tiny model: more threads only wait on each other
            callback.log_scores(result.model, perturbations=SCORE_SAMPLES)
        run.log({f"test/{k}": float(v) for k, v in result.metrics.items() if k in ("accuracy", "loss")})
    log.info("explain demo run %s: %s", EXPLAIN_RUN, result.metrics)
    return EXPLAIN_RUN
