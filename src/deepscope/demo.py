"""The main job: train the zoo's models while logging real runs into a logdir.

Several runs of the same model with different hyper-parameters are logged, so the dashboard's
comparisons mean something. Everything is made locally; nothing is downloaded.

>>> from deepscope.demo import build_demo
>>> logdir, models = build_demo("demo-logdir", progress=False)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import shutil
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError
from deepscope.progress import tqdm

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoRun:
    """One training run of the demo: which zoo model, with which hyper-parameters."""

    run: str
    model: str
    hparams: dict[str, Any] = field(default_factory=dict)


# Variants per model: sweeps over learning rate, width and dropout so the hparams explorer and the
# learning-curve comparisons have something real to show.
DEMO_RUNS: tuple[DemoRun, ...] = (
    DemoRun("loans_mlp-h32", "loans_mlp", {"hidden": 32, "dropout": 0.0}),
    DemoRun("loans_mlp-h64-d0.2", "loans_mlp", {"hidden": 64, "dropout": 0.2}),
    DemoRun("reviews_gru", "reviews_gru", {}),
    DemoRun("reviews_transformer", "reviews_transformer", {}),
    DemoRun("shapes_cnn-lr0.003", "shapes_cnn", {"lr": 3e-3, "width": 16}),
    DemoRun("shapes_cnn-lr0.01", "shapes_cnn", {"lr": 1e-2, "width": 16}),
    DemoRun("shapes_cnn-lr0.003-w8", "shapes_cnn", {"lr": 3e-3, "width": 8}),
    DemoRun("digits_cnn-lr0.003", "digits_cnn", {"lr": 3e-3}),
    DemoRun("digits_cnn-lr0.0003", "digits_cnn", {"lr": 3e-4}),
)


def build_demo(
    logdir: str | Path = "demo-logdir",
    *,
    runs: Iterable[DemoRun] | None = None,
    progress: bool | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train the demo runs into ``logdir``; return the logdir and the models by run name.

    Runs that already finished in ``logdir`` are kept and their models loaded from the cache, so a
    second call is fast and loses nothing.
    """
    from deepscope import zoo
    from deepscope.track import Run, open_logdir

    logdir = Path(logdir)
    if logdir.exists() and not logdir.is_dir():
        raise InvalidArgumentError("logdir", "a directory path", str(logdir))
    logdir.mkdir(parents=True, exist_ok=True)
    plan = tuple(DEMO_RUNS if runs is None else runs)

    existing = open_logdir(logdir).runs()
    finished = set(existing.loc[existing["status"] == "finished", "run"]) if len(existing) else set()
    planned = {spec.run for spec in plan} | {NUMERICS_RUN}
    for row in existing.itertuples():
        # An interrupted demo run of ours is replaced; runs the user logged here are never touched.
        if row.run in planned and row.status != "finished":
            log.warning("replacing the unfinished demo run %s", row.run)
            shutil.rmtree(str(row.path))

    models: dict[str, Any] = {}
    for spec in tqdm(plan, desc="demo runs", unit="run", disable=progress is False):
        if spec.run in finished:
            models[spec.run] = zoo.get(spec.model, **spec.hparams)
            continue
        # the resolved hyper-parameters, defaults included, so runs compare on every axis
        hparams = {"model": spec.model, **zoo.defaults(spec.model), **spec.hparams}
        with Run(logdir, name=spec.run, hparams=hparams) as run:
            result = zoo.train(
                spec.model,
                run=run,
                progress=False,
                on_epoch=_epoch_logger(run, spec.model),
                **spec.hparams,
            )
            run.log(
                {f"test/{k}": float(v) for k, v in result.metrics.items() if k in ("accuracy", "loss", "perplexity")}
            )
            _log_evaluation(run, spec.model, result.model)
        models[spec.run] = result.model
        log.info("demo run %s: %s", spec.run, result.metrics)
    if runs is None:
        if NUMERICS_RUN not in finished:
            _numerics_run(logdir)
        from deepscope.data.demo import log_data_runs
        from deepscope.embed.demo import log_embedding_run
        from deepscope.explain.demo import EXPLAIN_HPARAMS, EXPLAIN_MODEL, log_explain_run
        from deepscope.features.demo import log_features_run
        from deepscope.text.demo import log_attention_run
        from deepscope.text.lm_demo import LM_MODEL, log_text_lm_run

        log_data_runs(logdir)
        models.update(log_attention_run(logdir))
        log_text_lm_run(logdir)
        models[LM_MODEL] = zoo.get(LM_MODEL)  # reviews_gru is registered by its own run
        log_features_run(logdir)
        log_embedding_run(logdir)
        explained = log_explain_run(logdir)
        models[explained] = zoo.get(EXPLAIN_MODEL, **EXPLAIN_HPARAMS)  # cached by the run
    return logdir, models


def demo_datasets() -> dict[str, Any]:
    """The datasets the demo's dashboard registers, so its pages can compute on them live."""
    from deepscope.data.demo import demo_datasets as data_page_datasets

    return data_page_datasets()


# -- what each demo run logs beyond its learning curves -------------------------------------------

NUMERICS_RUN = "loans_mlp-constant-feature-bug"


def _epoch_logger(run: Any, model_name: str) -> Callable[[int, torch.nn.Module], None]:
    """Weight histograms every epoch; for CNNs also the first layer's filters as an image."""

    def log_epoch(epoch: int, module: torch.nn.Module) -> None:
        for name, param in module.named_parameters():
            if name.endswith("weight") and param.dim() > 1:
                run.log_histogram(f"weights/{name}", param.detach().cpu().numpy(), step=epoch)
        if model_name.endswith("_cnn"):
            conv = next(m for m in module.modules() if isinstance(m, torch.nn.Conv2d))
            run.log_image("filters/first_conv", _filter_grid(conv.weight.detach()), step=epoch)

    return log_epoch


def _filter_grid(weight: torch.Tensor) -> np.ndarray:
    """First-layer filters [out, in, k, k] tiled into one image, each scaled to its own range."""
    filters = weight.cpu().numpy()
    if filters.shape[1] not in (1, 3):
        filters = filters.mean(axis=1, keepdims=True)
    low = filters.min(axis=(1, 2, 3), keepdims=True)
    high = filters.max(axis=(1, 2, 3), keepdims=True)
    filters = (filters - low) / np.maximum(high - low, 1e-8)
    count, channels, k, _ = filters.shape
    cols = int(np.ceil(np.sqrt(count)))
    rows = int(np.ceil(count / cols))
    scale = 8  # upsample each kernel pixel so a 3x3 filter is visible
    cell = k * scale + 2
    grid = np.ones((rows * cell, cols * cell, channels), dtype=np.float32)
    for i, f in enumerate(filters):
        r, c = divmod(i, cols)
        big = np.kron(f.transpose(1, 2, 0), np.ones((scale, scale, 1), dtype=np.float32))
        grid[r * cell + 1 : r * cell + 1 + k * scale, c * cell + 1 : c * cell + 1 + k * scale] = big
    return grid if channels == 3 else grid[..., 0]


def _log_evaluation(run: Any, model_name: str, model: Any) -> None:
    """Held-out predictions (for the Evaluate page) and penultimate embeddings where cheap."""
    from deepscope import evaluate, zoo

    _, test = zoo.splits(model_name)
    if model_name == "loans_mlp":
        frame = test.train
        features = list(test.features)
        encoder = zoo.loans_encoder()
        evaluate.predictions(model, frame, label=test.label, features=features, encode=encoder.transform, run=run)
    elif model_name.startswith("reviews_") and model_name != "reviews_lm":
        frame = test.frame.reset_index(drop=True)
        table = evaluate.predictions(model, frame, label="label", features="text")
        # the planted phenomena, so Slices and Errors can show where the model fails
        table.insert(1, "phenomenon", frame["phenomenon"])
        run.log_table("predictions", table)
    elif model_name.endswith("_cnn"):
        table = evaluate.predictions(model, test.images, label=test.labels)
        if test.attributes is not None:
            # where the shape sits and how big and contrasted it is: slices that explain errors
            attributes = test.attributes.round(2).set_index(table.index)
            table = attributes[["area", "radius", "contrast"]].join(table)
        run.log_table("predictions", table)


def _numerics_run(logdir: Path) -> None:
    """A planted training bug for the Numerics page: from step 30 one input feature arrives constant
    (a broken data join), and a per-batch standardisation layer divides by its zero spread."""
    from deepscope.debug import numerics
    from deepscope.track import Run

    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(
        OrderedDict(
            encoder=torch.nn.Linear(6, 16),
            relu=torch.nn.ReLU(),
            standardize=_BatchStandardize(),
            head=torch.nn.Linear(16, 2),
        )
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    hparams = {"model": "mlp", "lr": 0.05}
    with Run(logdir, name=NUMERICS_RUN, hparams=hparams) as run, numerics(model, run=run) as dbg:
        for step in range(40):
            x = torch.randn(64, 6, generator=generator)
            if step >= 30:
                x = torch.zeros_like(x)  # the bug: every feature arrives as 0
            y = (x[:, 0] > 0).long()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            run.log({"train/loss": loss.item()}, step=step)
            dbg.step()


class _BatchStandardize(torch.nn.Module):
    """Standardise each unit over the batch, without the epsilon a careful layer would add."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - x.mean(dim=0)) / x.std(dim=0)
