"""What the training integrations share: turning values into scalars, hparams into JSON, and
parameters into histograms."""

from __future__ import annotations

import dataclasses
import enum
import math
import numbers
import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError

_HPARAM_DEPTH = 4


def check_run(run: Any, argument: str = "run") -> Any:
    """``run`` if it can take scalars (``log``) and histograms (``log_histogram``)."""
    if not (callable(getattr(run, "log", None)) and callable(getattr(run, "log_histogram", None))):
        raise ArgumentTypeError(argument, "a deepscope Run", run, "Open one with ds.Run(logdir)")
    return run


def scalar(value: Any) -> float | None:
    """``value`` as a float when it is one number (Python, numpy or a one-element tensor), else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return float(value.reshape(()))
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        return float(value.detach().reshape(()).cpu())
    return None


def scalars(values: Mapping[str, Any]) -> dict[str, float]:
    """The entries of ``values`` that are single numbers, as floats; the others are left out."""
    out = {}
    for key, value in values.items():
        number = scalar(value)
        if number is not None:
            out[str(key)] = number
    return out


def flat_hparams(params: Any) -> dict[str, Any]:
    """Hyper-parameters as a flat JSON-able dict: nested dicts joined with ``/``, NaN/Inf as strings,
    anything that is not a number, string, bool or None as its ``str()``."""
    if params is None:
        return {}
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        params = {f.name: getattr(params, f.name) for f in dataclasses.fields(params)}
    elif not isinstance(params, Mapping) and hasattr(params, "__dict__"):
        params = vars(params)  # argparse.Namespace and friends
    if not isinstance(params, Mapping):
        raise ArgumentTypeError("params", "a dict, dataclass or Namespace of hyper-parameters", params)
    out: dict[str, Any] = {}
    _flatten(params, "", out, 0)
    return out


def _flatten(params: Mapping, prefix: str, out: dict[str, Any], depth: int) -> None:
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and depth < _HPARAM_DEPTH:
            _flatten(value, name + "/", out, depth + 1)
        else:
            out[name] = _json_value(value)


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return _json_value(value.value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else str(number)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, (bool, str, int, float)) for v in value):
        return str(list(value))
    number = scalar(value)
    if number is not None:
        return number if math.isfinite(number) else str(number)
    return str(value)


def set_hparams(run: Any, params: Mapping[str, Any]) -> None:
    """Record hyper-parameters on a run that already exists."""
    if not params:
        return
    for method in ("log_hparams", "set_hparams"):
        update = getattr(run, method, None)
        if callable(update):
            update(dict(params))
            return
    run.set_meta("hparams", dict(params))


def log_parameter_histograms(run: Any, module: Any, step: int, *, weights: bool = True, gradients: bool = True) -> None:
    """Histograms ``weights/<name>`` and ``gradients/<name>`` of every parameter (grads where set)."""
    for name, parameter in _named_parameters(module):
        if weights:
            run.log_histogram(f"weights/{name}", _values(parameter), step)
        if gradients and parameter.grad is not None:
            run.log_histogram(f"gradients/{name}", _values(parameter.grad), step)


def _named_parameters(module: Any) -> Iterable[tuple[str, Any]]:
    return module.named_parameters() if hasattr(module, "named_parameters") else ()


def _values(tensor: torch.Tensor) -> np.ndarray:
    values = tensor.detach()
    if values.dtype not in (torch.float32, torch.float64):
        values = values.float()  # numpy has no bfloat16
    return values.reshape(-1).cpu().numpy()
