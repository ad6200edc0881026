"""Where the attention tabs get their results: registered live text transformers (computed now,
cached) and attentions logged into runs.

A source is a string: ``live:<model name>`` or ``logged:<run>/<tag>`` (run names have no slash
in deepscope's logdirs; the tag may).
"""

from __future__ import annotations

import inspect
import logging
import threading
import warnings
import weakref
from typing import Any

import torch

from deepscope.app.cache import Cache
from deepscope.app.plugin import AppContext
from deepscope.errors import DeepscopeError
from deepscope.explain import integrated_gradients
from deepscope.text import (
    Attention,
    attention,
    attention_rollout,
    head_summary,
    neuron_view,
    token_deletion_insertion,
)

log = logging.getLogger(__name__)

ATTENTION_TYPE = f"{Attention.__module__}:{Attention.__qualname__}"
DEFAULT_TEXT = "the movie was not good, but the acting was great."
IG_STEPS = 32

_RESULTS = Cache(64)
_LOGGED: dict[tuple[str, str], tuple[int, list[tuple[str, str]]]] = {}
_KINDS: dict[int, tuple[Any, dict[str, str | None]]] = {}
_KINDS_LOCK = threading.Lock()
_RUN_LOCK = threading.Lock()  # one forward at a time: neuron views hook the model's layers


def _capability(model: Any) -> str | None:
    """``"classifier"`` or ``"transformer"`` for a text transformer (``None`` otherwise)."""
    if model.module is None or not model.is_text:
        return None
    module = model.module
    names = [name.rsplit(".", 1)[-1] for name, _ in module.named_modules()]
    has_attention = (
        model.kind == "huggingface"
        or "attention_probs" in names
        or "output_attentions" in inspect.signature(module.forward).parameters
    )
    if not has_attention:
        return None
    try:
        with _RUN_LOCK:
            out = model.predict(["good"], progress=False)
    except (DeepscopeError, RuntimeError, TypeError, ValueError):
        return "transformer"
    classes = out.ndim == 2 and out.shape[1] > 1 and out.shape[1] < 1000
    return "classifier" if classes else "transformer"


#: what the zoo's models can show, told from a run's ``zoo_model`` meta without loading them
ZOO_CAPABILITIES = {"reviews_transformer": "classifier", "reviews_lm": "transformer"}


def _zoo_model(ctx: AppContext, name: str) -> str | None:
    """The zoo model the run ``name`` trained (its ``zoo_model`` meta), or None."""
    if ctx.logdir is None:
        return None
    runs = ctx.logdir.runs()
    if runs.empty:
        return None
    rows = runs[runs["run"] == name]
    meta = rows["meta"].iloc[0] if len(rows) else None
    zoo_name = meta.get("zoo_model", {}).get("name") if isinstance(meta, dict) else None
    return zoo_name if isinstance(zoo_name, str) else None


def capability(ctx: AppContext, name: str) -> str | None:
    """What the registered model ``name`` can show (decided once per model registry; zoo
    models of a run are told by the run's meta without loading them)."""
    with _KINDS_LOCK:
        known = _KINDS.get(id(ctx.models))
        if known is None or known[0]() is not ctx.models:
            known = (weakref.ref(ctx.models), {})
            _KINDS[id(ctx.models)] = known
        kinds = known[1]
        if name in kinds:
            return kinds[name]
    try:
        zoo_name = _zoo_model(ctx, name)
        kind = ZOO_CAPABILITIES.get(zoo_name) if zoo_name is not None else _capability(ctx.models[name])
    except (DeepscopeError, RuntimeError, TypeError, ValueError, OSError, ImportError):
        log.exception("live model %r could not be loaded", name)
        kind = None
    with _KINDS_LOCK:
        kinds[name] = kind
    return kind


def live_models(ctx: AppContext, *, classifiers: bool = False) -> list[str]:
    wanted = ("classifier",) if classifiers else ("classifier", "transformer")
    return [name for name in ctx.models if capability(ctx, name) in wanted]


def logged(ctx: AppContext) -> list[tuple[str, str]]:
    """(run, tag) of every Attention saved in the logdir (re-read only when the logdir changed)."""
    if ctx.logdir is None:
        return []
    version = ctx.logdir.version()
    key = ("logged", str(ctx.logdir_path))
    cached = _LOGGED.get(key)
    if cached is not None and cached[0] == version:
        return cached[1]
    index = ctx.logdir.result_index()
    found: list[tuple[str, str]] = []
    if not index.empty:
        rows = index[index["type"] == ATTENTION_TYPE]
        found = list(zip(rows["run"], rows["tag"], strict=True))
    _LOGGED[key] = (version, found)
    return found


def source_options(ctx: AppContext, *, live_only: bool = False, classifiers: bool = False) -> list[dict[str, str]]:
    options = [
        {"label": f"{name} (live model)", "value": f"live:{name}"} for name in live_models(ctx, classifiers=classifiers)
    ]
    if not live_only:
        options += [{"label": f"{run}: {tag} (logged)", "value": f"logged:{run}/{tag}"} for run, tag in logged(ctx)]
    return options


def _run(make: Any) -> tuple[Any, list[str]]:
    """``make()`` and the messages of the warnings it gave (truncation)."""
    with _RUN_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = make()
    return value, [str(w.message) for w in caught]


def get_attention(ctx: AppContext, source: str, text: str | None, text_b: str | None) -> tuple[Attention, list[str]]:
    """The attention of a source: a logged one as saved, a live one computed for the text(s)."""
    kind, _, rest = source.partition(":")
    if kind == "logged":
        run, _, tag = rest.partition("/")
        logdir = ctx.logdir
        if logdir is None:
            raise KeyError(f"no logdir to load the logged attention {rest!r} from")
        found = _RESULTS.get(("logged", str(ctx.logdir_path), run, tag), lambda: logdir.load(run, tag))
        return found, []
    model = ctx.models[rest]
    text_b = text_b or None

    def make() -> tuple[Attention, list[str]]:
        target = None
        second = text_b
        if text_b is not None and _is_encoder_decoder(model):
            target, second = text_b, None
        return _run(lambda: attention(model, text or "", second, target=target))

    return _RESULTS.get(("attention", id(model), rest, text, text_b), make)


def _is_encoder_decoder(model: Any) -> bool:
    return bool(getattr(getattr(model.module, "config", None), "is_encoder_decoder", False))


def get_neuron_view(ctx: AppContext, name: str, text: str, layer: int, head: int) -> tuple[Any, list[str]]:
    model = ctx.models[name]
    return _RESULTS.get(
        ("neuron", id(model), name, text, layer, head),
        lambda: _run(lambda: neuron_view(model, text, layer=layer, head=head)),
    )


def get_head_summary(attention_result: Attention, which: str) -> Any:
    return _RESULTS.get(
        ("summary", id(attention_result), which),
        lambda: head_summary(attention_result, which=which),
    )


def get_rollout_and_ig(ctx: AppContext, name: str, text: str) -> tuple[list[Any], list[Any], list[str]]:
    """(rollout and IG attributions, their faithfulness scores, warnings) for one text."""
    model = ctx.models[name]

    def make() -> tuple[list[Any], list[Any], list[str]]:
        rollout, notes = _run(lambda: attention_rollout(model, text))
        target = int(rollout.target[0])

        def gradients() -> Any:
            torch.manual_seed(0)
            return integrated_gradients(model, [text], target=target, n_steps=IG_STEPS, progress=False)

        ig, more = _run(gradients)
        scores = [_run(lambda a=a: token_deletion_insertion(model, a))[0] for a in (rollout, ig)]
        return [rollout, ig], scores, notes + more

    return _RESULTS.get(("rollout", id(model), name, text), make)
