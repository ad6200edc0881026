"""What the Explain page reads: runs with logged maps, their probes, steps and scores, and the
examples a live model is explained on when a run logged none.

A run qualifies when it logged an ``ExplainCallback``'s probe set, or when a live model is
registered under its name. Everything read from the logdir is cached by the logdir's version, so
moving a control does not read the store again and a new epoch shows up on the next version.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from deepscope.app.cache import Cache
from deepscope.app.live import MODEL_ERRORS, Examples, dataset_examples, live_models, model_kind
from deepscope.app.plugin import AppContext
from deepscope.explain.callback import PROBES_TAG, ProbeSet, parse_step_tag

if TYPE_CHECKING:
    from deepscope.track import Logdir

log = logging.getLogger(__name__)

__all__ = [  # the live-model helpers come from deepscope.app.live, shared with other pages
    "ATTRIBUTION_TYPE",
    "MODEL_ERRORS",
    "Examples",
    "RunContents",
    "contents",
    "examples",
    "explained_runs",
    "live_models",
    "logged_methods",
    "model_kind",
    "result",
    "version",
]

ATTRIBUTION_TYPE = "deepscope.explain.attribution:Attribution"


_RESULTS = Cache(96)
_INDEX = Cache(32)


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
    return dataset_examples(ctx, run, model, kind)
