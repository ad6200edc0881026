"""What the Explain page reads: runs with logged maps, their probes, steps and scores, and the
examples a live model is explained on when a run logged none.

A run qualifies when it logged an ``ExplainCallback``'s probe set, or when a live model is
registered under its name. Everything read from the logdir is cached by the logdir's version, so
moving a control does not read the store again and a new epoch shows up on the next version.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from deepscope.app.cache import Cache
from deepscope.app.plugin import AppContext
from deepscope.explain.callback import PROBES_TAG, ProbeSet, parse_step_tag

if TYPE_CHECKING:
    from deepscope.track import Logdir

log = logging.getLogger(__name__)

GALLERY_SIZE = 48  # examples drawn from a dataset when a run logged no probe set
ATTRIBUTION_TYPE = "deepscope.explain.attribution:Attribution"
# What a registered model (user code) may raise on inputs it does not take; shown in place.
MODEL_ERRORS = (ValueError, TypeError, KeyError, IndexError, RuntimeError, OSError)


_RESULTS = Cache(96)
_INDEX = Cache(32)


@dataclass(frozen=True, eq=False)
class Examples:
    """The examples the page shows: inputs (images) or texts, with what is known about them."""

    key: str  # identifies them in caches
    origin: str  # for the page: where they come from
    kind: str  # "image" | "text"
    inputs: np.ndarray | None
    texts: list[str] | None
    labels: np.ndarray | None
    masks: np.ndarray | None
    class_names: list[str] | None

    def __len__(self) -> int:
        return len(self.texts) if self.texts is not None else int(self.images.shape[0])

    def rows(self, index: int) -> Any:
        """Example ``index`` as a batch of one, as the model takes it."""
        return [self.texts[index]] if self.texts is not None else self.images[index : index + 1]

    @property
    def images(self) -> np.ndarray:
        """The inputs of image examples (exactly one of ``inputs`` and ``texts`` is set)."""
        return cast(np.ndarray, self.inputs)

    def class_name(self, index: Any) -> str:
        if index is None:
            return "?"
        names = self.class_names
        return names[int(index)] if names and 0 <= int(index) < len(names) else str(int(index))


@dataclass(frozen=True)
class RunContents:
    """The explain results of a run, by tag (nothing loaded but the index)."""

    run: str
    has_probes: bool
    maps: dict[str, dict[int, str]] = field(default_factory=dict)  # method -> step -> tag
    outputs: dict[int, str] = field(default_factory=dict)  # step -> tag
    scores: dict[str, dict[int, str]] = field(default_factory=dict)  # method -> step -> tag

    @property
    def steps(self) -> list[int]:
        return sorted({s for by_step in self.maps.values() for s in by_step})

    @property
    def methods(self) -> list[str]:
        return list(self.maps)


def version(ctx: AppContext, known: Any = None) -> Any:
    """The logdir's version: the shell's polled one when given, else read now."""
    if known is not None or ctx.logdir is None:
        return known
    try:
        return ctx.logdir.version()
    except OSError:
        log.exception("reading the logdir's version failed")
        return None


def contents(ctx: AppContext, run: str, known_version: Any = None) -> RunContents:
    """What ``run`` logged for this page, from the result index."""
    key = (str(ctx.logdir_path), run, version(ctx, known_version))
    return _INDEX.get(key, lambda: _read_contents(ctx, run))


def _read_contents(ctx: AppContext, run: str) -> RunContents:
    if ctx.logdir is None or run not in ctx.logdir.run_names():
        return RunContents(run, False)
    index = ctx.logdir.result_index(run)
    found = RunContents(run, bool((index["tag"] == PROBES_TAG).any()))
    for tag, type_path in zip(index["tag"], index["type"], strict=True):
        parsed = parse_step_tag(tag)
        if parsed is None:
            continue
        family, method, step = parsed
        if family == "outputs":
            found.outputs[step] = tag
        elif method is None:  # parse_step_tag names the method of every other family
            continue
        elif family == "maps" and type_path == ATTRIBUTION_TYPE:
            found.maps.setdefault(method, {})[step] = tag
        elif family == "scores":
            found.scores.setdefault(method, {})[step] = tag
    return found


def logged_methods(ctx: AppContext, run: str, known_version: Any = None) -> list[str]:
    """The methods with maps logged in ``run``, in the order the callback was given them."""
    found = contents(ctx, run, known_version)
    if not found.has_probes:
        return found.methods
    order = result(ctx, run, PROBES_TAG, known_version).methods
    return [m for m in order if m in found.maps] + [m for m in found.methods if m not in order]


def result(ctx: AppContext, run: str, tag: str, known_version: Any = None) -> Any:
    """A logged result, cached by the logdir's version."""
    key = (str(ctx.logdir_path), run, tag, version(ctx, known_version))
    # a logged result is asked for only where there is a logdir
    return _RESULTS.get(key, lambda: cast("Logdir", ctx.logdir).result(run, tag))


def explained_runs(ctx: AppContext, known_version: Any = None) -> list[str]:
    """Runs with a logged probe set, then runs a live image or text classifier is registered as."""
    if ctx.logdir is None:
        return []
    runs = ctx.logdir.run_names()
    logged = [r for r in runs if contents(ctx, r, known_version).has_probes]
    live = [r for r in runs if r not in logged and model_kind(ctx, r) is not None]
    return logged + live


# -- live models --------------------------------------------------------------------------------

_KINDS: dict[int, tuple[weakref.ref, dict[str, str | None]]] = {}
_KINDS_LOCK = threading.Lock()


def model_kind(ctx: AppContext, name: str | None) -> str | None:
    """``"image"`` or ``"text"`` when the registered model ``name`` is such a classifier, else
    None. Zoo models of a run are told by the run's meta without loading them."""
    if not name or name not in ctx.models:
        return None
    with _KINDS_LOCK:
        entry = _KINDS.get(id(ctx.models))
        if entry is None or entry[0]() is not ctx.models:
            kinds: dict[str, str | None] = {}
            _KINDS[id(ctx.models)] = (weakref.ref(ctx.models), kinds)
        else:
            kinds = entry[1]
        if name in kinds:
            return kinds[name]
    kind = _zoo_kind(ctx, name)
    if kind is None:
        try:
            kind = _module_kind(ctx.models[name])
        except MODEL_ERRORS:
            log.exception("live model %r could not be loaded", name)
            kind = None
    with _KINDS_LOCK:
        kinds[name] = kind
    return kind


def _zoo_kind(ctx: AppContext, name: str) -> str | None:
    spec = zoo_spec(ctx, name)
    if spec is None or spec.task != "classification":
        return None
    return {"shapes": "image", "digits": "image", "reviews": "text"}.get(spec.source)


def zoo_spec(ctx: AppContext, run: str | None) -> Any:
    """The zoo entry the run ``run`` trained (its ``zoo_model`` meta), or None."""
    if ctx.logdir is None or not run:
        return None
    runs = ctx.logdir.runs()
    rows = runs[runs["run"] == run]
    meta = rows["meta"].iloc[0] if len(rows) else None
    name = meta.get("zoo_model", {}).get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str):
        return None
    from deepscope.zoo.specs import SPECS

    return SPECS.get(name)


def _module_kind(model: Any) -> str | None:
    module = getattr(model, "module", None)
    if module is None:
        return None
    if getattr(model, "is_text", False):
        return "text"
    import torch

    if any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
        return "image"
    return None


def live_models(ctx: AppContext) -> list[str]:
    """Registered models the page can explain (image and text classifiers)."""
    return [name for name in ctx.models if model_kind(ctx, name) is not None]


# -- examples -----------------------------------------------------------------------------------


def examples(ctx: AppContext, run: str | None, model: str | None, known_version: Any = None) -> Examples | None:
    """The run's probe set; else, for a live model, examples of a registered dataset of its kind or
    of the held-out split its zoo run trained on. None when there are none."""
    if run and contents(ctx, run, known_version).has_probes:
        probes: ProbeSet = result(ctx, run, PROBES_TAG, known_version)
        return Examples(
            key=f"probes:{ctx.logdir_path}:{run}",
            origin=f"the {len(probes)} probes logged with the run",
            kind=probes.kind,
            inputs=probes.inputs,
            texts=probes.texts,
            labels=probes.labels,
            masks=probes.masks,
            class_names=probes.class_names,
        )
    kind = model_kind(ctx, model)
    if kind is None or model is None:  # model_kind is None without a model
        return None
    return _dataset_examples(ctx, run, model, kind)


def _dataset_examples(ctx: AppContext, run: str | None, model: str, kind: str) -> Examples | None:
    for name, dataset in ctx.datasets.items():
        found = _from_dataset(dataset, kind, f"dataset {name!r}", f"dataset:{name}")
        if found is not None:
            return found
    spec = zoo_spec(ctx, run) or zoo_spec(ctx, model)
    if spec is None:
        return None
    _, test = _split(spec.name)
    return _from_dataset(test, kind, f"the held-out split of {spec.name}", f"zoo:{spec.name}")


_SPLITS = Cache(4)


def _split(name: str) -> Any:
    from deepscope import zoo

    return _SPLITS.get(name, lambda: zoo.splits(name))


def _from_dataset(dataset: Any, kind: str, origin: str, key: str) -> Examples | None:
    images = getattr(dataset, "images", None)
    texts = getattr(dataset, "texts", None)
    labels = getattr(dataset, "labels", None)
    names = getattr(dataset, "class_names", None)
    rows = slice(0, GALLERY_SIZE)
    labels = np.asarray(labels)[rows] if labels is not None else None
    names = [str(n) for n in names] if names is not None else None
    if kind == "image" and isinstance(images, np.ndarray) and images.ndim == 4:
        masks = getattr(dataset, "masks", None)
        return Examples(
            key=key,
            origin=f"the first {len(images[rows])} examples of {origin}",
            kind="image",
            inputs=images[rows],
            texts=None,
            labels=labels,
            masks=np.asarray(masks)[rows] if masks is not None else None,
            class_names=names,
        )
    if kind == "text" and isinstance(texts, list) and texts:
        return Examples(
            key=key,
            origin=f"the first {len(texts[rows])} examples of {origin}",
            kind="text",
            inputs=None,
            texts=list(texts[rows]),
            labels=labels,
            masks=None,
            class_names=names,
        )
    return None
