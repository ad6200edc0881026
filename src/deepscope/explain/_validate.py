"""Checks of the options the attribution methods share: integers, choices, seeds, batch sizes,
deprecated aliases, and options as plain JSON values.

>>> from deepscope.explain._validate import check_positive_int
>>> check_positive_int(3, "n_steps")
3
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, describe
from deepscope.validation import check_int, check_option

DEFAULT_BATCH_SIZE = 64
# Rows of a table are small: model-agnostic methods evaluate at least this many per call by
# default (KernelSHAP and LIME evaluate thousands of perturbed rows per example).
TABULAR_BATCH_SIZE = 16384
DEFAULT_SEED = 0


def check_positive_int(value: Any, argument: str, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``, or a typed error naming ``argument``."""
    return check_int(value, argument, low=minimum)


def check_choice(value: Any, argument: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, or a typed error listing them."""
    return check_option(value, argument, choices)


def deprecated_alias(old: Any, old_name: str, new: Any, new_name: str, default: Any) -> Any:
    """``new``, or ``old`` (with a DeprecationWarning) where the old name was used instead."""
    if old is None:
        return new
    given = new != default if isinstance(new, str) else new is not default
    if given and not (new is old or (isinstance(new, str) and new == old)):
        raise InvalidArgumentError(
            old_name,
            f"not given with {new_name} (its new name)",
            old,
            hint=f"give {new_name}={new!r} only",
        )
    warnings.warn(f"{old_name}= is deprecated here; use {new_name}={old!r}", DeprecationWarning, stacklevel=4)
    return old


def check_method_options(
    options: Any,
    argument: str = "method_options",
    *,
    caller: str = "the score",
    passed: Sequence[str] = ("model", "inputs", "target"),
) -> dict[str, Any]:
    """The options a score passes on to the attribution method it recomputes, as a new dict.

    They travel apart from the score's own arguments, so a method option named like one of them
    (``n_samples`` of SmoothGrad and of max-sensitivity) reaches the method. ``caller`` gives the
    method the arguments named in ``passed`` itself (a score: model, inputs and target); an
    option of those names is an error.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ArgumentTypeError(argument, "a dict of the method's options by name, or None", options)
    for key in passed:
        if key in options:
            hint = f"{caller} passes {key} to the method itself"
            if key not in ("model", "inputs"):
                hint += f"; give {key}= to {caller}"
            raise InvalidArgumentError(f"{argument}[{key!r}]", "no option of this name", key, hint=hint)
    return dict(options)


def resolve_seed(seed: Any) -> int:
    """The seed to use: ``None`` means the fixed default, so results are reproducible."""
    if seed is None:
        return DEFAULT_SEED
    return check_int(seed, "seed")


def check_feature_names(names: Any, n_features: int, default: list[str] | None) -> list[str] | None:
    if names is None:
        return default
    if isinstance(names, str) or len(names) != n_features:
        raise InvalidArgumentError("feature_names", f"{n_features} names (one per feature)", describe(names))
    return [str(n) for n in names]


def jsonable(value: Any) -> Any:
    """Options as plain JSON values (tuples to lists, numpy scalars to Python, others by name)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"array of shape {list(value.shape)}"
    return getattr(value, "__name__", type(value).__name__)
