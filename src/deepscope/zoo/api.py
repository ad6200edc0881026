"""Train, cache and load the zoo's models: ``train``, ``get``, ``load_weights``.

>>> from deepscope import zoo
>>> model = zoo.get("digits_cnn")  # doctest: +SKIP
>>> model.labels[:3]  # doctest: +SKIP
['0', '1', '2']
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from deepscope._version import __version__
from deepscope.errors import InvalidArgumentError
from deepscope.validation import check_int
from deepscope.zoo import cache
from deepscope.zoo.specs import SPECS, Assets, Spec, prepared, resolve_hparams, spec
from deepscope.zoo.tabular import TabularEncoder, TabularMLP
from deepscope.zoo.tokenizer import WordTokenizer
from deepscope.zoo.training import RunLike, fit, seeded

if TYPE_CHECKING:
    from deepscope.model import Model

__all__ = ["TrainResult", "names", "train", "get", "load_weights"]

log = logging.getLogger(__name__)

_METADATA_KEY = "deepscope_zoo"


@dataclass(frozen=True)
class TrainResult:
    """A freshly trained zoo model, its held-out metrics and where its weights were saved."""

    model: Model
    metrics: dict[str, float]
    weights_path: Path


def names() -> list[str]:
    """The names of the zoo's models."""
    return list(SPECS)


def _check_seed(seed: Any) -> int:
    return check_int(seed, "seed", low=0)


@functools.lru_cache(maxsize=1)
def _tabular_model_class() -> type:
    from deepscope.model import Model

    class TabularModel(Model):
        """A Model whose inputs may also be a DataFrame of raw features (encoded by the module)."""

        accepts_frames = True

        def _encoded(self, inputs: Any) -> Any:
            if isinstance(inputs, pd.DataFrame):
                return cast(TabularMLP, self.module).encoder.transform(inputs)
            return inputs

        def prepare(self, inputs: Any) -> Any:
            return super().prepare(self._encoded(inputs))

        def predict(self, inputs: Any, **options: Any) -> Any:
            return super().predict(self._encoded(inputs), **options)

        def gradient(self, inputs: Any, *args: Any, **options: Any) -> Any:
            return super().gradient(self._encoded(inputs), *args, **options)

        def layers(self, example: Any = None) -> Any:
            return super().layers(None if example is None else self._encoded(example))

    return TabularModel


def _wrap(entry: Spec, module: nn.Module, assets: Assets, labels: list[str] | None, name: str) -> Model:
    from deepscope.model import Model

    module.eval()
    tokenizer = assets if isinstance(assets, WordTokenizer) else None
    cls = _tabular_model_class() if isinstance(assets, TabularEncoder) else Model
    return cls(module, tokenizer=tokenizer, labels=labels, name=name)


def _save(
    entry: Spec,
    module: nn.Module,
    assets: Assets,
    labels: list[str] | None,
    seed: int,
    hparams: dict[str, Any],
    metrics: dict[str, float],
) -> Path:
    target = cache.entry_dir(entry.name, seed, hparams)
    staging = cache.staging_dir(target)
    try:
        about = {"name": entry.name, "seed": seed, "hparams": hparams, "labels": labels}
        state = {k: v.detach().contiguous().clone() for k, v in module.state_dict().items()}
        save_file(state, staging / cache.WEIGHTS_FILE, metadata={_METADATA_KEY: json.dumps(about)})
        if entry.assets_file is not None:
            # A spec with an assets file always makes its assets.
            cast(WordTokenizer | TabularEncoder, assets).save(staging / entry.assets_file)
        meta = {**about, "metrics": metrics, "deepscope_version": __version__}
        (staging / cache.META_FILE).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return cache.publish(staging, target) / cache.WEIGHTS_FILE


def train(
    name: str,
    *,
    seed: int = 0,
    run: RunLike | None = None,
    progress: bool | None = None,
    on_epoch: Callable[[int, nn.Module], None] | None = None,
    **hparams: Any,
) -> TrainResult:
    """Train the zoo model ``name`` from scratch, save it in the cache and return it.

    ``hparams`` override the defaults (``zoo.defaults(name)``): ``lr`` (the peak of a one-cycle
    schedule), ``epochs``, ``batch_size``, ``weight_decay``, ``dropout`` and the model's size
    (``width`` for CNNs, ``hidden`` otherwise; ``layers`` and ``heads`` for transformers).
    ``progress``: True shows a bar over epochs, False hides it, None shows it on a terminal.
    ``on_epoch(epoch, module)`` is called after each epoch, with the module in eval mode.
    The metrics are measured on the held-out split (``zoo.splits(name)[1]``). With ``run``, each epoch
    logs ``train/loss``, ``val/loss`` and ``val/accuracy`` at step = epoch (1, 2, ...) and the
    run's meta ``zoo_model`` records name, seed, hparams and the weights path.

    >>> result = train("loans_mlp", epochs=2)  # doctest: +SKIP
    >>> sorted(result.metrics)[:2]  # doctest: +SKIP
    ['accuracy', 'epochs']
    """
    entry = spec(name)
    seed = _check_seed(seed)
    resolved = resolve_hparams(entry, hparams)
    data = prepared(name)
    module = seeded(seed, lambda: entry.build(resolved, data.assets, data.labels))
    metrics = fit(
        module,
        data,
        task=entry.task,
        hparams=resolved,
        seed=seed,
        run=run,
        progress=progress,
        desc=name,
        on_epoch=on_epoch,
    )
    weights = _save(entry, module, data.assets, data.labels, seed, resolved, metrics)
    if run is not None:
        run.set_meta("zoo_model", {"name": name, "seed": seed, "hparams": resolved, "weights": str(weights)})
    log.info("trained %s (seed %d) in %.1f s: %s", name, seed, metrics["train_seconds"], metrics)
    return TrainResult(_wrap(entry, module, data.assets, data.labels, name), metrics, weights)


def load_weights(name: str, weights_path: str | Path, **hparams: Any) -> Model:
    """The zoo model ``name`` rebuilt from a ``.safetensors`` file written by ``train``.

    Hyper-parameters recorded in the file are used unless overridden by ``hparams``; the
    tokenizer or encoder is read from the JSON file beside the weights.
    """
    entry = spec(name)
    path = Path(weights_path)
    if path.is_dir():
        path = path / cache.WEIGHTS_FILE
    if not path.is_file():
        raise InvalidArgumentError("weights_path", "an existing .safetensors file written by zoo.train", str(path))
    with safe_open(str(path), framework="pt") as handle:
        stored = json.loads((handle.metadata() or {}).get(_METADATA_KEY, "{}"))
    if stored.get("name", name) != name:
        raise InvalidArgumentError("name", f"{stored['name']!r}, the model these weights belong to", name)
    resolved = resolve_hparams(entry, {**stored.get("hparams", {}), **hparams})
    assets: Assets = None
    if entry.assets_file is not None:
        assets_path = path.parent / entry.assets_file
        if assets_path.is_file():
            loader = TabularEncoder if entry.assets_file == "encoder.json" else WordTokenizer
            assets = loader.load(assets_path)
        else:
            log.warning("%s is missing; rebuilding the %s assets from its data", assets_path, name)
            assets = prepared(name).assets
    labels = stored["labels"] if "labels" in stored else prepared(name).labels
    module = entry.build(resolved, assets, labels)
    module.load_state_dict(load_file(str(path)))
    return _wrap(entry, module, assets, labels, name)


def get(name: str, *, seed: int = 0, **hparams: Any) -> Model:
    """The zoo model ``name``: loaded from the cache when trained before, else trained now.

    The cache is keyed by name, seed and the full hyper-parameters, so ``get(name)`` and
    ``get(name, lr=<the default lr>)`` share one entry.

    >>> model = get("shapes_cnn")  # doctest: +SKIP
    """
    entry = spec(name)
    seed = _check_seed(seed)
    resolved = resolve_hparams(entry, hparams)
    weights = cache.entry_dir(name, seed, resolved) / cache.WEIGHTS_FILE
    if weights.is_file():
        try:
            return load_weights(name, weights, **resolved)
        except (OSError, ValueError, RuntimeError, KeyError, SafetensorError) as error:
            log.warning("cached %s at %s is unreadable (%s); training it again", name, weights, error)
    return train(name, seed=seed, **hparams).model


def defaults(name: str) -> dict[str, Any]:
    """The default hyper-parameters of the zoo model ``name``."""
    return dict(spec(name).defaults)
