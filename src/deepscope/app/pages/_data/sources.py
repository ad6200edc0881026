"""Where the Data page's datasets come from: results logged in runs and datasets registered live.

Logged: ``Profile``, ``DriftReport``, ``Anomalies`` and ``Schema`` results
(``run.log_result("profile/train", profile)``) and tables (``run.log_table``) for Dive. A table
may carry a ``thumbnail`` column of PNG data URIs (``deepscope.png.thumbnail_data_uri``): Dive
shows them as the points' images and beside a clicked record.

Registered (``ds.serve(..., datasets=...)``): a DataFrame or Arrow table, a deepscope
``TabularDataset`` (train and serving: profiles of both, drift of serving against train, the
anomalies of serving against a schema inferred from train), ``ImageDataset`` (derived image
features, thumbnails) or ``TextDataset``. They are profiled on first use and kept.

Every source has a key, a JSON list: ``["result", run, tag]``, ``["dataset", name, part]``,
``["pair", run, reference_tag, current_tag]`` (drift between two logged profiles) or
``["table", run, tag]``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from deepscope.app.cache import Cache
from deepscope.app.plugin import AppContext
from deepscope.data import (
    Anomalies,
    DriftReport,
    Profile,
    Schema,
    drift,
    infer_schema,
    profile,
    validate,
)
from deepscope.errors import NotFoundError
from deepscope.png import decode_data_uri

log = logging.getLogger(__name__)

PROFILE = "deepscope.data.profile:Profile"
DRIFT = "deepscope.data.drift:DriftReport"
ANOMALIES = "deepscope.data.schema:Anomalies"
SCHEMA = "deepscope.data.schema:Schema"
THUMBNAIL_COLUMN = "thumbnail"
MAX_SPRITES = 400  # Dive draws images as points up to this many examples (dive_figure's limit)
_CACHE_SIZE = 32
# What a registered dataset that profile() cannot read raises; the page leaves it out.
_UNREADABLE = (TypeError, ValueError)


_CACHE = Cache(_CACHE_SIZE)


def key(*parts: str) -> str:
    return json.dumps(list(parts))


def parse(source: str) -> list[str]:
    parts = json.loads(source)
    if not isinstance(parts, list) or not parts:
        raise NotFoundError("data source", source, [])
    return [str(p) for p in parts]


# -- the logdir -------------------------------------------------------------------------------------


def _version(ctx: AppContext) -> Any:
    return ctx.logdir.version() if ctx.logdir is not None else None


def result_index(ctx: AppContext) -> pd.DataFrame:
    """(run, tag, type) of every logged result, read once per logdir version.

    The page's dropdowns read it again at each version the shell polls (a training run writing
    scalars makes one every few seconds): only the runs that saved results are opened.
    """
    logdir = ctx.logdir
    if logdir is None:
        return pd.DataFrame(columns=["run", "tag", "type"])

    def read() -> pd.DataFrame:
        from deepscope.app.series import SeriesSource

        source = SeriesSource.shared(logdir)  # result tags cached per run until it writes
        with_results = [run for run, tags in source.tags_by_run("results").items() if tags]
        return _in_logged_order(logdir.result_index(with_results))

    return _CACHE.get(("index", id(logdir), _version(ctx)), read)


def _in_logged_order(index: pd.DataFrame) -> pd.DataFrame:
    """Runs in the logdir's order, each run's results in the order they were logged (train first)."""
    runs = {run: i for i, run in enumerate(dict.fromkeys(index["run"]))}
    ordered = index.assign(_run=index["run"].map(runs)).sort_values(["_run", "wall_time"], kind="stable")
    return ordered[["run", "tag", "type"]].reset_index(drop=True)


def logged(ctx: AppContext, kind: str) -> list[tuple[str, str]]:
    """(run, tag) of the logged results of one type, in run order, then in the order logged."""
    index = result_index(ctx)
    chosen = index[index["type"] == kind]
    return list(zip(chosen["run"].astype(str), chosen["tag"].astype(str), strict=True))


def _result(ctx: AppContext, run: str, tag: str) -> Any:
    logdir = ctx.logdir
    if logdir is None:
        raise NotFoundError("run", run, [])
    return _CACHE.get(("result", id(logdir), run, tag, _version(ctx)), lambda: logdir.result(run, tag))


def has_data(ctx: AppContext) -> bool:
    """Whether a dataset is registered or some run logged a profile (checked run by run)."""
    if ctx.datasets:
        return True
    if ctx.logdir is None:
        return False
    from deepscope.app.series import SeriesSource

    source = SeriesSource.shared(ctx.logdir)  # cached tag lists: cheap on every navigation
    for run, tags in source.tags_by_run("results").items():
        if not tags:
            continue
        index = ctx.logdir.result_index(run)
        if (index["type"] == PROFILE).any():
            return True
    return False


# -- registered datasets ----------------------------------------------------------------------------


def is_split(dataset: Any) -> bool:
    """A deepscope ``TabularDataset``: a train and a serving DataFrame."""
    return isinstance(getattr(dataset, "train", None), pd.DataFrame) and isinstance(
        getattr(dataset, "serving", None), pd.DataFrame
    )


def _parts(dataset: Any) -> list[str]:
    return ["train", "serving"] if is_split(dataset) else [""]


def _part(dataset: Any, part: str) -> Any:
    return getattr(dataset, part) if part else dataset


def _registered_profile(ctx: AppContext, name: str, part: str) -> Profile:
    dataset = ctx.datasets[name]
    label = f"{name} {part}".strip()
    return _CACHE.get(
        ("profile", name, part, id(dataset)), lambda: profile(_part(dataset, part), name=label, progress=False)
    )


def _profileable(ctx: AppContext, name: str) -> bool:
    """Whether ``profile`` reads the registered dataset (tried once, then remembered)."""
    dataset = ctx.datasets[name]

    def attempt() -> bool:
        try:
            for part in _parts(dataset):
                _registered_profile(ctx, name, part)
        except _UNREADABLE:
            log.warning("registered dataset %r cannot be profiled; the Data page leaves it out", name, exc_info=True)
            return False
        return True

    return _CACHE.get(("profileable", name, id(dataset)), attempt)


# -- profiles ---------------------------------------------------------------------------------------


def profile_options(ctx: AppContext) -> list[dict[str, str]]:
    """Every profile: logged ones by run, then the registered datasets (profiled on first use)."""
    options = [{"label": f"{run} · {tag}", "value": key("result", run, tag)} for run, tag in logged(ctx, PROFILE)]
    for name in ctx.datasets:
        if _profileable(ctx, name):
            options += [
                {"label": f"{name} {part} (registered)".replace("  ", " "), "value": key("dataset", name, part)}
                for part in _parts(ctx.datasets[name])
            ]
    return options


def default_profiles(ctx: AppContext, options: list[dict[str, str]]) -> list[str]:
    """The profiles of the first run (or registered dataset) that has any: train beside serving."""
    if not options:
        return []
    first = parse(options[0]["value"])[:2]
    return [o["value"] for o in options if parse(o["value"])[:2] == first]


def load_profile(ctx: AppContext, source: str) -> Profile:
    parts = parse(source)
    if parts[0] == "result":
        result = _result(ctx, parts[1], parts[2])
        if not isinstance(result, Profile):
            raise NotFoundError("profile", source, [o["value"] for o in profile_options(ctx)])
        return result
    if parts[0] == "dataset" and parts[1] in ctx.datasets:
        return _registered_profile(ctx, parts[1], parts[2])
    raise NotFoundError("profile", source, [o["value"] for o in profile_options(ctx)])


def named_profiles(ctx: AppContext, sources: list[str]) -> list[Profile]:
    """The chosen profiles, renamed so that no two share a name (``run/name`` on a clash)."""
    profiles = [load_profile(ctx, s) for s in sources]
    names = [p.name for p in profiles]
    result = []
    for source, p in zip(sources, profiles, strict=True):
        parts = parse(source)
        if names.count(p.name) > 1:
            p = replace(p, name=f"{parts[1]}/{p.name}")
        result.append(p)
    return result


# -- drift ------------------------------------------------------------------------------------------


def drift_options(ctx: AppContext) -> list[dict[str, str]]:
    """Logged drift reports; drift between the profiles of a run that logged none; registered splits."""
    reports = logged(ctx, DRIFT)
    options = [{"label": f"{run} · {tag}", "value": key("result", run, tag)} for run, tag in reports]
    with_report = {run for run, _ in reports}
    by_run: dict[str, list[str]] = {}
    for run, tag in logged(ctx, PROFILE):
        by_run.setdefault(run, []).append(tag)
    for run, tags in by_run.items():
        if run in with_report:
            continue
        options += [
            {"label": f"{run} · {current} against {tags[0]}", "value": key("pair", run, tags[0], current)}
            for current in tags[1:]
        ]
    for name, dataset in ctx.datasets.items():
        if is_split(dataset):
            options.append({"label": f"{name} serving against train (registered)", "value": key("dataset", name)})
    return options


def load_drift(ctx: AppContext, source: str) -> DriftReport:
    parts = parse(source)
    if parts[0] == "result":
        report = _result(ctx, parts[1], parts[2])
        if isinstance(report, DriftReport):
            return report
    elif parts[0] == "pair":
        run, reference, current = parts[1:4]
        return _CACHE.get(
            ("pair", id(ctx.logdir), *parts[1:], _version(ctx)),
            lambda: drift(_result(ctx, run, reference), _result(ctx, run, current)),
        )
    elif parts[0] == "dataset" and is_split(ctx.datasets.get(parts[1])):
        dataset = ctx.datasets[parts[1]]
        # The raw frames give exact KS statistics and p-values besides the profile metrics.
        return _CACHE.get(
            ("drift", parts[1], id(dataset)),
            lambda: _named(drift(dataset.train, dataset.serving), f"{parts[1]} train", f"{parts[1]} serving"),
        )
    raise NotFoundError("drift report", source, [o["value"] for o in drift_options(ctx)])


def _named(report: DriftReport, reference: str, current: str) -> DriftReport:
    return replace(report, reference=reference, current=current)


# -- anomalies --------------------------------------------------------------------------------------


def anomaly_options(ctx: AppContext) -> list[dict[str, str]]:
    options = [{"label": f"{run} · {tag}", "value": key("result", run, tag)} for run, tag in logged(ctx, ANOMALIES)]
    for name, dataset in ctx.datasets.items():
        if is_split(dataset):
            options.append(
                {"label": f"{name} serving against the schema of train (registered)", "value": key("dataset", name)}
            )
    return options


def load_anomalies(ctx: AppContext, source: str) -> tuple[Anomalies, Schema | None]:
    """The anomalies and the schema they were checked against (None when the run logged none)."""
    parts = parse(source)
    if parts[0] == "result":
        found = _result(ctx, parts[1], parts[2])
        if isinstance(found, Anomalies):
            schemas = [tag for run, tag in logged(ctx, SCHEMA) if run == parts[1]]
            return found, (_result(ctx, parts[1], schemas[0]) if schemas else None)
    elif parts[0] == "dataset" and is_split(ctx.datasets.get(parts[1])):
        name = parts[1]

        def check() -> tuple[Anomalies, Schema]:
            schema = infer_schema(_registered_profile(ctx, name, "train"))
            return validate(_registered_profile(ctx, name, "serving"), schema), schema

        return _CACHE.get(("anomalies", name, id(ctx.datasets[name])), check)
    raise NotFoundError("anomalies", source, [o["value"] for o in anomaly_options(ctx)])


# -- tables for Dive --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DiveTable:
    """Examples to lay out: one row per example, and their images when there are any.

    ``images``: an array [N, (C,) H, W] for ``dive(images=...)``, or None. ``thumbnails``: a PNG
    data URI per example (from a logged ``thumbnail`` column), or None.
    """

    records: pd.DataFrame
    images: np.ndarray | None = None
    thumbnails: list[str] | None = None


def dive_options(ctx: AppContext) -> list[dict[str, str]]:
    """Tables logged for Dive ("dive/..."), registered tables and image sets, other logged tables."""
    tables = []
    if ctx.logdir is not None:
        from deepscope.app.series import SeriesSource

        source = SeriesSource.shared(ctx.logdir)  # table tags cached per run until it writes
        tables = [(run, tag) for run, tags in source.tags_by_run("tables").items() for tag in tags]

    def logged_options(for_dive: bool) -> list[dict[str, str]]:
        return [
            {"label": f"{run} · {tag}", "value": key("table", run, tag)}
            for run, tag in tables
            if tag.startswith("dive") == for_dive
        ]

    registered = [
        {"label": f"{name} (registered)", "value": key("dataset", name)}
        for name, dataset in ctx.datasets.items()
        if _is_table_like(dataset)
    ]
    return logged_options(True) + registered + logged_options(False)


def _is_table_like(dataset: Any) -> bool:
    import pyarrow as pa

    return (
        isinstance(dataset, (pd.DataFrame, pa.Table))
        or is_split(dataset)
        or (getattr(dataset, "images", None) is not None and hasattr(dataset, "labels"))
        or isinstance(getattr(dataset, "frame", None), pd.DataFrame)
    )


def load_table(ctx: AppContext, source: str) -> DiveTable:
    parts = parse(source)
    logdir = ctx.logdir
    if parts[0] == "table" and logdir is not None:
        run, tag = parts[1], parts[2]
        return _CACHE.get(("table", id(logdir), run, tag, _version(ctx)), lambda: _logged_table(logdir.table(run, tag)))
    if parts[0] == "dataset" and parts[1] in ctx.datasets:
        dataset = ctx.datasets[parts[1]]
        return _CACHE.get(("dive", parts[1], id(dataset)), lambda: registered_table(dataset))
    raise NotFoundError("table", source, [o["value"] for o in dive_options(ctx)])


def _logged_table(frame: pd.DataFrame) -> DiveTable:
    frame = frame.reset_index(drop=True)
    column = frame.get(THUMBNAIL_COLUMN)
    if column is None or not column.map(lambda v: isinstance(v, str) and v.startswith("data:image/png")).all():
        return DiveTable(frame)
    thumbnails = column.tolist()
    images = None
    if len(frame) <= MAX_SPRITES:
        decoded = [decode_data_uri(uri) for uri in thumbnails]
        arrays = [d for d in decoded if d is not None]
        if len(arrays) == len(decoded) and len({a.shape for a in arrays}) == 1:
            images = np.stack(arrays)
    return DiveTable(frame.drop(columns=[THUMBNAIL_COLUMN]), images=images, thumbnails=thumbnails)


def registered_table(dataset: Any) -> DiveTable:
    """One row per example of a registered dataset (a TabularDataset's train and serving stacked)."""
    import pyarrow as pa

    if isinstance(dataset, pd.DataFrame):
        return DiveTable(dataset.reset_index(drop=True))
    if isinstance(dataset, pa.Table):
        return DiveTable(dataset.to_pandas())
    if is_split(dataset):
        return DiveTable(
            pd.concat([dataset.train.assign(split="train"), dataset.serving.assign(split="serving")], ignore_index=True)
        )
    images = getattr(dataset, "images", None)
    if images is not None:
        from deepscope.data.sources import images_table

        derived = images_table(images).to_pandas()
        derived = derived[[c for c in derived.columns if derived[c].nunique() > 1]]  # size is often constant
        frame = dataset.to_frame() if hasattr(dataset, "to_frame") else pd.DataFrame({"label": dataset.labels})
        return DiveTable(pd.concat([frame.reset_index(drop=True), derived], axis=1), images=np.asarray(images))
    frame = getattr(dataset, "frame", None)
    if isinstance(frame, pd.DataFrame):
        return DiveTable(frame.reset_index(drop=True))
    raise NotFoundError("table", type(dataset).__name__, [])
