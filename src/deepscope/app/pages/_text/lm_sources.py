"""Where the language-model tabs get their results: live models (computed now, cached) or
results logged in the logdir (``LogitLens``, ``Generation``, ``NeuronFactors``, ``CoClusters``).

A source is a dropdown value: ``live:<model name>`` or ``logged:["<run>", "<tag>"]``.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from deepscope.app.cache import Cache
from deepscope.app.plugin import AppContext
from deepscope.datasets import reviews
from deepscope.model import Model
from deepscope.text import (
    CoClusters,
    Generation,
    LogitLens,
    NeuronFactors,
    TunedLens,
    cocluster,
    fit_tuned_lens,
    generate,
    logit_lens,
    neuron_factors,
)
from deepscope.text._lm import is_causal_lm, lm_parts, recurrent_modules
from deepscope.track._results import class_path

log = logging.getLogger(__name__)

LENS = class_path(LogitLens)
TUNED = class_path(TunedLens)
GENERATION = class_path(Generation)
FACTORS = class_path(NeuronFactors)
COCLUSTERS = class_path(CoClusters)

_RESULTS = Cache(64)
_LOGGED = Cache(64)
_LOCK = threading.Lock()  # one computation at a time: the lenses hook the model's blocks
# A tuned lens fitted on demand for a live model without a logged one: a quick fit, in the background.
QUICK_TUNED_STEPS = 40
QUICK_TUNED_TEXTS = 64
_FITTER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepscope-tuned-lens")
_FITS: dict[int, tuple[Any, Future]] = {}  # id(model) -> (model, its fit)
_FITS_LOCK = threading.Lock()


def live_models(ctx: AppContext, kind: str) -> list[str]:
    """Registered models usable live: ``kind`` ``lm`` (causal LMs) or ``states`` (causal LMs
    and recurrent text models)."""
    names: list[str] = []
    recurrent: set[str] = set()  # listed first for co-clusters: RNNVis's own kind of model
    for name in ctx.models:
        try:
            model = ctx.models[name]
        except Exception:  # a model that fails to load is left out; the others still show
            log.exception("model %s failed to load", name)
            continue
        if not isinstance(model, Model) or model.module is None or model.tokenizer is None:
            continue
        if kind == "states" and recurrent_modules(model):
            names.insert(sum(1 for n in names if n in recurrent), name)
            recurrent.add(name)
        elif is_causal_lm(model):
            names.append(name)
    return names


def logged(ctx: AppContext, kind: str) -> list[tuple[str, str]]:
    """(run, tag) of every logged result of class path ``kind``."""
    if ctx.logdir is None:
        return []
    index = ctx.logdir.result_index()
    if not len(index):
        return []
    rows = index[index["type"] == kind]
    return [(str(r.run), str(r.tag)) for r in rows.itertuples()]


def options(ctx: AppContext, kind: str, live: str | None) -> list[dict]:
    """Dropdown options: live models first, then the logged results of ``kind``."""
    found = [{"label": f"{name} (live)", "value": f"live:{name}"} for name in (live_models(ctx, live) if live else [])]
    found += [
        {"label": f"{run} / {tag}", "value": "logged:" + json.dumps([run, tag])} for run, tag in logged(ctx, kind)
    ]
    return found


def parse(source: str | None) -> tuple[str, Any]:
    """``("live", name)``, ``("logged", (run, tag))`` or ``("none", None)``."""
    if not isinstance(source, str):
        return "none", None
    if source.startswith("live:"):
        return "live", source[5:]
    if source.startswith("logged:"):
        run, tag = json.loads(source[7:])
        return "logged", (str(run), str(tag))
    return "none", None


def load(ctx: AppContext, run: str, tag: str) -> Any:
    """A logged result (cached by run and tag)."""
    logdir = ctx.logdir
    if logdir is None:
        raise ValueError(f"ctx: no logdir to load {run!r}/{tag!r} from")
    return _LOGGED.get((id(ctx), run, tag), lambda: logdir.load(run, tag))


def tuned_lens_for(ctx: AppContext, model_name: str) -> TunedLens | None:
    """The newest logged tuned lens fitted to a model of this name, if any."""
    for run, tag in reversed(logged(ctx, TUNED)):
        lens = load(ctx, run, tag)
        if getattr(lens, "model_name", None) == model_name:
            return lens
    return None


def quick_tuned_lens(ctx: AppContext, name: str) -> tuple[TunedLens | None, str]:
    """A tuned lens fitted now for the live model ``name``: ``(lens, "")`` once fitted, else
    ``(None, why)`` (``"fitting"`` while it runs, the error when it failed). The first call starts
    the fit (``QUICK_TUNED_STEPS`` steps on ``QUICK_TUNED_TEXTS`` reviews) in the background."""
    model = ctx.models[name]
    with _FITS_LOCK:
        entry = _FITS.get(id(model))
        if entry is None or entry[0] is not model:
            entry = (model, _FITTER.submit(_fit_quick, model))
            _FITS[id(model)] = entry
    future = entry[1]
    if not future.done():
        return None, "fitting"
    error = future.exception()
    if error is not None:
        return None, str(error)
    return future.result(), ""


def _fit_quick(model: Any) -> TunedLens:
    texts = list(reviews(QUICK_TUNED_TEXTS, seed=5).texts)
    with _LOCK:
        return fit_tuned_lens(model, texts, steps=QUICK_TUNED_STEPS, progress=False)


def _computed(key: tuple, make: Any) -> Any:
    def run() -> Any:
        with _LOCK:
            return make()

    return _RESULTS.get(key, run)


def live_lens(
    ctx: AppContext, name: str, text: str, watch: tuple[str, ...], lens: TunedLens | None = None
) -> LogitLens:
    """The logit lens of ``text`` through the live model ``name`` (read through ``lens`` when
    given: a tuned lens)."""
    model = ctx.models[name]
    return _computed(
        ("lens", id(model), text, watch, id(lens)),
        lambda: logit_lens(model, text, top_k=5, watch=list(watch) or None, lens=lens),
    )


def live_generation(ctx: AppContext, name: str, prompt: str, max_new_tokens: int, method: str) -> Generation:
    model = ctx.models[name]
    return _computed(
        ("generate", id(model), prompt, max_new_tokens, method),
        lambda: generate(model, prompt, max_new_tokens=max_new_tokens, attribution=method),
    )


def live_factors(
    ctx: AppContext, name: str, texts: tuple[str, ...], n_components: int, layer: int | None
) -> NeuronFactors:
    model = ctx.models[name]
    return _computed(
        ("factors", id(model), texts, n_components, layer),
        lambda: neuron_factors(model, list(texts), n_components=n_components, layers=layer, progress=False),
    )


def live_coclusters(
    ctx: AppContext, name: str, texts: tuple[str, ...], n_clusters: int, layer: int | str
) -> CoClusters:
    model = ctx.models[name]
    return _computed(
        ("cocluster", id(model), texts, n_clusters, layer),
        lambda: cocluster(model, list(texts), layer=layer, n_clusters=n_clusters, progress=False),
    )


def state_layers(ctx: AppContext, name: str) -> list[dict]:
    """The layers a live model's co-clusters can be taken at (recurrent layers, or blocks)."""
    model = ctx.models[name]
    recurrent = recurrent_modules(model)
    if recurrent:
        return [{"label": layer, "value": layer} for layer, _ in recurrent]
    blocks = len(lm_parts(model).blocks)
    return [{"label": f"block {i + 1} MLP", "value": i} for i in range(blocks)]


def block_count(ctx: AppContext, name: str) -> int:
    return len(lm_parts(ctx.models[name]).blocks)
