"""The language-model demo run: ``reviews_lm`` looked inside (logit and tuned lens, generations
with attributions, neuron factors) and ``reviews_gru``'s hidden states co-clustered with words.

>>> from deepscope.text.lm_demo import log_text_lm_run
>>> log_text_lm_run("demo-logdir")  # doctest: +SKIP
'reviews_lm-inside'
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from deepscope.text.cocluster import cocluster
from deepscope.text.factors import neuron_factors
from deepscope.text.generate import generate
from deepscope.text.lens import logit_lens
from deepscope.text.tuned_lens import fit_tuned_lens

__all__ = ["TEXT_LM_RUN", "LM_MODEL", "STATES_MODEL", "DEMO_PROMPTS", "log_text_lm_run"]

log = logging.getLogger(__name__)

TEXT_LM_RUN = "reviews_lm-inside"
LM_MODEL = "reviews_lm"
STATES_MODEL = "reviews_gru"
DEMO_PROMPTS = ("the movie was", "honestly , the acting was not", "what a")
WATCH = ["good", "bad", "not"]


def _slug(text: str) -> str:
    return "-".join("".join(c for c in w if c.isalnum()) or "p" for w in text.split())[:40]


def log_text_lm_run(
    logdir: str | Path,
    *,
    tuned_steps: int = 100,
    n_texts: int = 300,
    max_new_tokens: int = 10,
    progress: bool | None = False,
) -> str:
    """Log the run ``reviews_lm-inside`` into ``logdir`` (a finished one is kept); return its name.

    Lenses (logit and tuned) and greedy generations for ``DEMO_PROMPTS``, the tuned lens itself,
    neuron factors over a dozen reviews, and co-clusters of ``reviews_gru``'s GRU states.
    ``tuned_steps`` (the tuned lens's training), ``n_texts`` (the reviews the lens is fitted and
    the states co-clustered on) and ``max_new_tokens`` (per generation) size the run.
    """
    from deepscope import zoo
    from deepscope.datasets import reviews
    from deepscope.track import Run, open_logdir

    logdir = Path(logdir)
    existing = open_logdir(logdir).runs() if logdir.exists() else None
    if existing is not None and len(existing):
        row = existing[existing["run"] == TEXT_LM_RUN]
        if len(row) and row.iloc[0]["status"] == "finished":
            return TEXT_LM_RUN
        if len(row):
            shutil.rmtree(row.iloc[0]["path"])
    lm = zoo.get(LM_MODEL)
    gru = zoo.get(STATES_MODEL)
    texts = list(reviews(600, seed=11).texts)
    fitting, held_out = texts[:n_texts], texts[500:]
    show = bool(progress)
    with Run(logdir, name=TEXT_LM_RUN, hparams={"model": LM_MODEL}) as run:
        tuned = fit_tuned_lens(lm, fitting, steps=tuned_steps, progress=show)
        tuned.save(run)
        for prompt in DEMO_PROMPTS:
            slug = _slug(prompt)
            logit_lens(lm, prompt, watch=WATCH).save(run, f"text/lens/{slug}/logit")
            logit_lens(lm, prompt, watch=WATCH, lens=tuned).save(run, f"text/lens/{slug}/tuned")
            generate(lm, prompt, max_new_tokens=max_new_tokens, progress=show).save(run, f"text/generation/{slug}")
        neuron_factors(lm, held_out[:12], n_components=6, progress=show).save(run)
        cocluster(gru, texts[:n_texts], layer="gru", n_clusters=6, progress=show).save(run)
        run.set_meta("zoo_model", _zoo_meta(LM_MODEL))
    log.info("logged the language-model demo run %s", TEXT_LM_RUN)
    return TEXT_LM_RUN


def _zoo_meta(name: str) -> dict[str, Any]:
    """The run meta ``deepscope serve`` reads to register the live model of a run."""
    from deepscope import zoo
    from deepscope.zoo import cache

    hparams = zoo.defaults(name)
    weights = cache.entry_dir(name, 0, hparams) / cache.WEIGHTS_FILE
    return {"name": name, "seed": 0, "hparams": hparams, "weights": str(weights)}
