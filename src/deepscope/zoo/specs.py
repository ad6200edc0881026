"""What each zoo model is: its data, its default hyper-parameters and how to build it.

Every model trains on a fixed dataset (the dataset's seed 0 and its ``split(0.8, seed=0)``), so
models of different seeds or hyper-parameters are comparable on the same held-out split;
the ``seed`` of ``zoo.train`` only sets initialisation, dropout and batch order.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from deepscope import datasets
from deepscope.errors import ArgumentTypeError, InvalidArgumentError, NotFoundError
from deepscope.validation import check_int, check_number
from deepscope.zoo.tabular import TabularEncoder, TabularMLP
from deepscope.zoo.text import CausalLM, GRUClassifier, TransformerClassifier
from deepscope.zoo.tokenizer import WordTokenizer
from deepscope.zoo.vision import SmallCNN

__all__ = ["Spec", "Prepared", "SPECS", "spec", "resolve_hparams", "splits"]

Inputs = torch.Tensor | dict[str, torch.Tensor]
Assets = WordTokenizer | TabularEncoder | None


@dataclass(frozen=True, eq=False)
class Prepared:
    """Tensors to train on and the fitted assets (tokenizer or encoder) that go with the model."""

    train_inputs: Inputs
    train_targets: torch.Tensor
    val_inputs: Inputs
    val_targets: torch.Tensor
    assets: Assets
    labels: list[str] | None


@dataclass(frozen=True, eq=False)
class Spec:
    """One zoo entry: ``task`` is "classification" or "language_model"; ``source`` names the
    dataset (a key of ``_SOURCES``)."""

    name: str
    summary: str
    task: str
    source: str
    defaults: Mapping[str, Any]
    prepare: Callable[[], Prepared]
    build: Callable[[Mapping[str, Any], Assets, list[str] | None], nn.Module]
    assets_file: str | None = None


_POSITIVE_INTS = {"epochs", "batch_size", "width", "hidden", "layers", "heads"}
# the real-valued hyper-parameters with a range (the others: any number)
_REAL_RANGES: dict[str, dict[str, Any]] = {
    "lr": {"low": 0, "closed": "neither"},
    "dropout": {"low": 0, "high": 1, "closed": "left"},
    "weight_decay": {"low": 0},
}


# --- data -------------------------------------------------------------------------------------


_SOURCES: dict[str, Callable[[], Any]] = {
    "shapes": lambda: datasets.shapes(n=2000, seed=0),
    "digits": lambda: datasets.digits(seed=0),
    "loans": lambda: datasets.loans(n=5000, seed=0),
    "reviews": lambda: datasets.reviews(n=2000, seed=0),
}


def splits(name: str) -> tuple[Any, Any]:
    """(train, held-out) datasets the zoo model ``name`` is trained and evaluated on.

    >>> train, test = splits("digits_cnn")
    >>> len(train), len(test)
    (1438, 359)
    """
    return _SOURCES[spec(name).source]().split(0.8, seed=0)


def _images(name: str) -> Prepared:
    train, test = splits(name)
    return Prepared(
        torch.from_numpy(train.images),
        torch.from_numpy(train.labels),
        torch.from_numpy(test.images),
        torch.from_numpy(test.labels),
        None,
        list(train.class_names),
    )


@functools.lru_cache(maxsize=1)
def _fitted_loans_encoder() -> TabularEncoder:
    train, _ = splits("loans_mlp")
    return TabularEncoder(train.numeric, train.categorical).fit(train.train)


def loans_encoder() -> TabularEncoder:
    """The encoder of ``loans_mlp`` (a copy): fitted on the zoo's loans training split.

    >>> encoder = loans_encoder()
    >>> encoder.feature_names[:3]
    ['income', 'debt', 'credit_history_years']
    """
    return TabularEncoder.from_dict(_fitted_loans_encoder().to_dict())


def _loans() -> Prepared:
    train, test = splits("loans_mlp")
    encoder = _fitted_loans_encoder()
    as_tensor = lambda part: torch.from_numpy(encoder.transform(part.train))  # noqa: E731
    target = lambda part: torch.tensor(part.train[part.label].to_numpy(dtype="int64"))  # noqa: E731
    return Prepared(
        as_tensor(train),
        target(train),
        as_tensor(test),
        target(test),
        encoder,
        list(train.class_names),
    )


def _reviews(name: str) -> Prepared:
    train, test = splits(name)
    language_model = name == "reviews_lm"
    tokenizer = WordTokenizer.from_texts(train.texts, add_cls=language_model, add_sep=language_model)

    def encode(texts: list[str]) -> dict[str, torch.Tensor]:
        return dict(tokenizer(texts, padding=True, truncation=True, return_tensors="pt"))

    if language_model:
        train_ids, val_ids = encode(train.texts), encode(test.texts)
        return Prepared(train_ids, train_ids["input_ids"], val_ids, val_ids["input_ids"], tokenizer, None)
    return Prepared(
        encode(train.texts),
        torch.from_numpy(train.labels),
        encode(test.texts),
        torch.from_numpy(test.labels),
        tokenizer,
        list(train.class_names),
    )


# --- models -----------------------------------------------------------------------------------


def _labels(labels: list[str] | None) -> list[str]:
    """The class names, which every classifier's prepared data has."""
    return cast(list[str], labels)


def _words(tokenizer: Assets) -> WordTokenizer:
    """The tokenizer, which every text spec's prepared data has."""
    return cast(WordTokenizer, tokenizer)


def _cnn(**layout: Any) -> Callable[[Mapping[str, Any], Assets, list[str] | None], nn.Module]:
    def build(hp: Mapping[str, Any], assets: Assets, labels: list[str] | None) -> nn.Module:
        return SmallCNN(n_classes=len(_labels(labels)), width=hp["width"], dropout=hp["dropout"], **layout)

    return build


def _mlp(hp: Mapping[str, Any], encoder: Assets, labels: list[str] | None) -> nn.Module:
    return TabularMLP(
        cast(TabularEncoder, encoder), n_classes=len(_labels(labels)), hidden=hp["hidden"], dropout=hp["dropout"]
    )


def _gru(hp: Mapping[str, Any], tokenizer: Assets, labels: list[str] | None) -> nn.Module:
    return GRUClassifier(len(_words(tokenizer)), len(_labels(labels)), hidden=hp["hidden"], dropout=hp["dropout"])


def _transformer(hp: Mapping[str, Any], tokenizer: Assets, labels: list[str] | None) -> nn.Module:
    tokenizer = _words(tokenizer)
    return TransformerClassifier(
        len(tokenizer),
        len(_labels(labels)),
        hidden=hp["hidden"],
        layers=hp["layers"],
        heads=hp["heads"],
        dropout=hp["dropout"],
        max_positions=tokenizer.model_max_length,
    )


def _lm(hp: Mapping[str, Any], tokenizer: Assets, labels: list[str] | None) -> nn.Module:
    tokenizer = _words(tokenizer)
    return CausalLM(
        len(tokenizer),
        hidden=hp["hidden"],
        layers=hp["layers"],
        heads=hp["heads"],
        dropout=hp["dropout"],
        max_positions=tokenizer.model_max_length,
    )


SPECS: dict[str, Spec] = {
    s.name: s
    for s in [
        Spec(
            "shapes_cnn",
            "3-conv CNN on 32x32 shapes (6 classes)",
            "classification",
            "shapes",
            {
                "lr": 1e-2,
                "epochs": 5,
                "batch_size": 32,
                "weight_decay": 0.0,
                "dropout": 0.0,
                "width": 12,
            },
            functools.partial(_images, "shapes_cnn"),
            _cnn(in_channels=3, image_size=32, stride=2, head="max", normalize=True),
        ),
        Spec(
            "digits_cnn",
            "3-conv CNN on 8x8 digits (10 classes)",
            "classification",
            "digits",
            {
                "lr": 5e-3,
                "epochs": 6,
                "batch_size": 32,
                "weight_decay": 0.0,
                "dropout": 0.0,
                "width": 8,
            },
            functools.partial(_images, "digits_cnn"),
            _cnn(in_channels=1, image_size=8, stride=1, head="flatten"),
        ),
        Spec(
            "loans_mlp",
            "2-layer MLP on encoded loan applications",
            "classification",
            "loans",
            {
                "lr": 3e-3,
                "epochs": 10,
                "batch_size": 64,
                "weight_decay": 0.0,
                "dropout": 0.1,
                "hidden": 32,
            },
            _loans,
            _mlp,
            assets_file="encoder.json",
        ),
        Spec(
            "reviews_gru",
            "GRU sentiment classifier over words",
            "classification",
            "reviews",
            {
                "lr": 1e-2,
                "epochs": 5,
                "batch_size": 64,
                "weight_decay": 0.0,
                "dropout": 0.1,
                "hidden": 32,
            },
            functools.partial(_reviews, "reviews_gru"),
            _gru,
            assets_file="tokenizer.json",
        ),
        Spec(
            "reviews_transformer",
            "2-layer transformer sentiment classifier over words",
            "classification",
            "reviews",
            {
                "lr": 5e-3,
                "epochs": 5,
                "batch_size": 64,
                "weight_decay": 0.0,
                "dropout": 0.1,
                "hidden": 32,
                "layers": 2,
                "heads": 2,
            },
            functools.partial(_reviews, "reviews_transformer"),
            _transformer,
            assets_file="tokenizer.json",
        ),
        Spec(
            "reviews_lm",
            "2-layer causal transformer language model of the reviews",
            "language_model",
            "reviews",
            {
                "lr": 5e-3,
                "epochs": 4,
                "batch_size": 64,
                "weight_decay": 0.0,
                "dropout": 0.0,
                "hidden": 48,
                "layers": 2,
                "heads": 2,
            },
            functools.partial(_reviews, "reviews_lm"),
            _lm,
            assets_file="tokenizer.json",
        ),
    ]
}


def spec(name: str) -> Spec:
    """The zoo entry called ``name``."""
    if not isinstance(name, str):
        raise ArgumentTypeError("name", "a zoo model name (a string)", name)
    if name not in SPECS:
        raise NotFoundError("zoo model", name, list(SPECS))
    return SPECS[name]


def resolve_hparams(entry: Spec, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The defaults of ``entry`` updated with ``hparams``, each checked."""
    unknown = sorted(set(hparams) - set(entry.defaults))
    if unknown:
        raise InvalidArgumentError(
            unknown[0],
            f"a hyper-parameter of {entry.name} among {sorted(entry.defaults)}",
            hparams[unknown[0]],
        )
    resolved = dict(entry.defaults)
    for key, value in hparams.items():
        if key in _POSITIVE_INTS:
            value = check_int(value, key, low=1)
        else:
            value = check_number(value, key, **_REAL_RANGES.get(key, {}))
        resolved[key] = value
    if "heads" in resolved and resolved["hidden"] % resolved["heads"]:
        raise InvalidArgumentError("heads", f"a divisor of hidden={resolved['hidden']}", resolved["heads"])
    return resolved


@functools.cache
def prepared(name: str) -> Prepared:
    """The tensors and assets of ``name`` (made once per process; they depend on nothing else)."""
    return spec(name).prepare()
