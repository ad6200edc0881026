"""The numerics debugger: per-layer tensor health over steps, and the first NaN/Inf.

Hooks every module's forward (and, on request, backward) and records what TensorBoard's debugger
calls full health: min, max, mean and standard deviation of the finite elements, and the counts of
NaN, +Inf, -Inf and zeros. It names the first module whose output went non-finite while its inputs
were finite, which is the module to look at.

>>> import torch
>>> from deepscope.debug import numerics
>>> # Threshold turns inputs <= 0 into NaN: step 0 is healthy, step 1 feeds it a zero.
>>> model = torch.nn.Sequential(torch.nn.Threshold(0.0, float("nan")), torch.nn.Linear(3, 1))
>>> with numerics(model) as dbg:
...     _ = model(torch.ones(4, 3))
...     dbg.step()
...     _ = model(torch.tensor([[1.0, 0.0, 2.0]]))
1
>>> first = dbg.first_nonfinite
>>> first.module, first.step, first.kind, first.input_finite
('0', 1, 'nan', True)
>>> list(dbg.stats().columns[:10])
['step', 'module', 'min', 'max', 'mean', 'std', 'nan', 'pos_inf', 'neg_inf', 'zeros']
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from types import TracebackType
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from deepscope.errors import ArgumentTypeError, DeepscopeError

__all__ = ["Health", "NonFinite", "NonFiniteError", "NumericsDebugger", "numerics"]

logger = logging.getLogger(__name__)

# One health row: the layout of the float64 vectors computed on the device and merged on the CPU.
_NUMEL, _FINITE, _MIN, _MAX, _MEAN, _M2, _NAN, _POS_INF, _NEG_INF, _ZEROS = range(10)
_WIDTH = 10
_COLUMNS = [
    "step", "module", "min", "max", "mean", "std", "nan", "pos_inf", "neg_inf", "zeros",
    "direction", "numel",
]  # fmt: skip


class NonFiniteError(DeepscopeError, ArithmeticError):
    """A module produced NaN or Inf while ``raise_on_nonfinite`` was set.

    ``nonfinite`` holds the :class:`NonFinite` record (module path, step, kind, healths).
    """

    def __init__(self, nonfinite: NonFinite):
        self.nonfinite = nonfinite
        super().__init__(nonfinite.describe())


@dataclass(frozen=True)
class Health:
    """Health of one or more tensors: statistics of the finite elements and special-value counts.

    ``min``/``max``/``mean``/``std`` (population) are NaN when no element is finite.
    """

    numel: int
    min: float
    max: float
    mean: float
    std: float
    nan: int
    pos_inf: int
    neg_inf: int
    zeros: int

    @property
    def is_finite(self) -> bool:
        return self.nan == 0 and self.pos_inf == 0 and self.neg_inf == 0

    @classmethod
    def _from_row(cls, row: np.ndarray) -> Health:
        mean, std, low, high = _moments(row)
        return cls(
            numel=int(row[_NUMEL]), min=low, max=high, mean=mean, std=std,
            nan=int(row[_NAN]), pos_inf=int(row[_POS_INF]), neg_inf=int(row[_NEG_INF]),
            zeros=int(row[_ZEROS]),
        )  # fmt: skip

    def __str__(self) -> str:
        return (
            f"{self.numel} elements, min {self.min:.4g}, max {self.max:.4g}, mean {self.mean:.4g}, "
            f"std {self.std:.4g}, {self.nan} NaN, {self.pos_inf} +Inf, {self.neg_inf} -Inf, "
            f"{self.zeros} zeros"
        )


@dataclass(frozen=True)
class NonFinite:
    """Where NaN/Inf first appeared.

    ``module`` is the dotted path as in ``named_modules()`` (``""`` for the model itself), ``step``
    the debugger's step, ``kind`` ``"nan"``, ``"+inf"`` or ``"-inf"`` (NaN first when an output
    holds several kinds), ``direction`` ``"forward"`` or ``"backward"`` (for backward, the output
    is the gradient the module passed on, the input the gradient it received). ``input`` is the
    health of the module's floating-point inputs (None when it had none); ``input_finite`` is False
    only when no module turned finite inputs into non-finite outputs in that step, so the values
    came in from outside the model (the data, or a parameter already broken).
    """

    module: str
    step: int
    kind: str
    direction: str
    output: Health
    input: Health | None
    input_finite: bool

    def describe(self) -> str:
        name = repr(self.module) if self.module else "the model itself ('')"
        kind = {"nan": "NaN", "+inf": "+Inf", "-inf": "-Inf"}[self.kind]
        where = "gradient" if self.direction == "backward" else "output"
        text = f"module {name} produced {kind} in its {where} at step {self.step}"
        if self.input is None:
            return text + " (it had no floating-point inputs)"
        state = "finite" if self.input_finite else "already non-finite"
        return f"{text}; its inputs were {state} ({self.input})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (non-finite floats become None)."""
        return _jsonable(asdict(self))


class NumericsDebugger:
    """Context manager that hooks a model and records tensor health per module and step.

    Made by :func:`numerics`; hooks are installed on ``__enter__`` and all removed on exit, also
    when the block raises. Statistics stay on the device until the step ends (``step()``,
    ``stats()``, ``first_nonfinite`` or exit), then move to the CPU in one transfer.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        run: Any = None,
        *,
        backward: bool = False,
        raise_on_nonfinite: bool = False,
    ):
        self.module = module
        self.run = run
        self.backward = backward
        self.raise_on_nonfinite = raise_on_nonfinite
        self._names = {m: name for name, m in module.named_modules()}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._step = 0
        self._first: NonFinite | None = None
        # The current step: device rows not yet copied, and the calls that refer to them.
        self._rows: list[torch.Tensor | np.ndarray] = []
        self._calls: list[tuple[str, str, list[int], list[int]]] = []
        self._cache: dict[int, tuple[weakref.ref, int, int]] = {}
        self._scratch: dict[torch.dtype, torch.Tensor] = {}  # reused CPU buffers, freed on close
        # Current step on the CPU: (module, direction) -> merged row, in execution order.
        self._current: dict[tuple[str, str], np.ndarray] = {}
        self._fallback: NonFinite | None = None
        # Finished steps: (step, keys, rows[len(keys), _WIDTH]).
        self._done: list[tuple[int, tuple[tuple[str, str], ...], np.ndarray]] = []

    # -- public ---------------------------------------------------------------------------------

    @property
    def current_step(self) -> int:
        """The step that records go to now (starts at 0)."""
        return self._step

    @property
    def first_nonfinite(self) -> NonFinite | None:
        """The first module and step that produced NaN/Inf, or None while everything is finite."""
        self._flush()
        return self._first or self._fallback

    def step(self) -> int:
        """Finish the current step and start the next; returns the new step number."""
        self._flush()
        self._finish_step()
        self._step += 1
        return self._step

    def stats(self) -> pd.DataFrame:
        """One row per step, module and direction, in execution order within a step.

        Columns: step, module, min, max, mean, std, nan, pos_inf, neg_inf, zeros, direction,
        numel. Statistics are over the finite elements of all floating-point outputs of the module
        in that step (every call, every output tensor); std is the population standard deviation.
        """
        self._flush()
        blocks = list(self._done)
        if self._current:
            blocks.append((self._step, tuple(self._current), np.stack(list(self._current.values()))))
        if not blocks:
            return pd.DataFrame({name: [] for name in _COLUMNS}).astype(
                {"step": "int64", "module": "object", "direction": "object"}
            )
        rows = np.concatenate([block[2] for block in blocks])
        keys = [key for block in blocks for key in block[1]]
        finite = rows[:, _FINITE]
        with np.errstate(invalid="ignore", divide="ignore"):
            has = finite > 0
            frame = pd.DataFrame({
                "step": np.concatenate([np.full(len(b[1]), b[0], dtype=np.int64) for b in blocks]),
                "module": [key[0] for key in keys],
                "min": np.where(has, rows[:, _MIN], np.nan),
                "max": np.where(has, rows[:, _MAX], np.nan),
                "mean": np.where(has, rows[:, _MEAN], np.nan),
                "std": np.where(has, np.sqrt(np.maximum(rows[:, _M2], 0) / finite), np.nan),
                "nan": rows[:, _NAN].astype(np.int64),
                "pos_inf": rows[:, _POS_INF].astype(np.int64),
                "neg_inf": rows[:, _NEG_INF].astype(np.int64),
                "zeros": rows[:, _ZEROS].astype(np.int64),
                "direction": [key[1] for key in keys],
                "numel": rows[:, _NUMEL].astype(np.int64),
            })  # fmt: skip
        return frame

    def close(self) -> None:
        """Remove every hook (``__exit__`` does this)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._cache.clear()
        self._scratch.clear()

    def __enter__(self) -> NumericsDebugger:
        if self._handles:
            raise RuntimeError("this numerics debugger is already active")
        try:
            for module, name in self._names.items():
                self._handles.append(module.register_forward_hook(self._forward_hook(name), with_kwargs=True))
                if self.backward:
                    self._handles.append(module.register_full_backward_hook(self._backward_hook(name)))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
        try:
            self._flush()
            if self.run is not None:
                self._write_run()
        except Exception:
            if error is None:
                raise
            logger.exception("numerics: could not save the statistics after an error")

    def __repr__(self) -> str:
        state = "active" if self._handles else "inactive"
        return f"NumericsDebugger({type(self.module).__name__}, {len(self._names)} modules, step {self._step}, {state})"

    # -- hooks ----------------------------------------------------------------------------------

    def _forward_hook(self, name: str):
        def hook(module: torch.nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
            self._record(name, "forward", (args, kwargs), output)

        return hook

    def _backward_hook(self, name: str):
        def hook(module: torch.nn.Module, grad_input: Any, grad_output: Any) -> None:
            self._record(name, "backward", grad_output, grad_input)

        return hook

    def _record(self, name: str, direction: str, inputs: Any, outputs: Any) -> None:
        with torch.no_grad():
            out_rows = [self._row(t) for t in _tensors(outputs)]
            if not out_rows:
                return
            in_rows = [self._row(t) for t in _tensors(inputs)]
        self._calls.append((name, direction, out_rows, in_rows))
        if self.raise_on_nonfinite and self._first is None:
            bad = _to_numpy([self._rows[i] for i in out_rows])[:, _NAN : _NEG_INF + 1]
            if bad.sum() > 0:  # on an accelerator, the one sync per call this option costs
                self._flush()
                found = self._first or self._fallback
                if found is not None:
                    self._first = found
                    raise NonFiniteError(found)

    def _row(self, tensor: torch.Tensor) -> int:
        """Index of the tensor's health row, computed once per tensor version within a step."""
        # Inference tensors have no version counter to tell an in-place change: never cached.
        cacheable = not tensor.is_inference()
        if cacheable:
            cached = self._cache.get(id(tensor))
            if cached is not None and cached[0]() is tensor and cached[1] == tensor._version:
                return cached[2]
        self._rows.append(_health(tensor, self._scratch))
        index = len(self._rows) - 1
        if cacheable:
            self._cache[id(tensor)] = (weakref.ref(tensor), tensor._version, index)
        return index

    # -- bookkeeping ----------------------------------------------------------------------------

    def _flush(self) -> None:
        """Copy the pending rows to the CPU (one transfer per device) and merge them."""
        if not self._calls:
            self._rows.clear()
            self._cache.clear()
            return
        rows = _to_numpy(self._rows)
        calls = self._calls
        self._rows, self._calls = [], []
        self._cache.clear()
        for name, direction, out_rows, in_rows in calls:
            out = _merge(rows[out_rows])
            key = (name, direction)
            previous = self._current.get(key)
            self._current[key] = out if previous is None else _merge(np.stack([previous, out]))
            if self._first is not None or _nonfinite(out) == 0:
                continue
            inp = _merge(rows[in_rows]) if in_rows else None
            input_finite = bool(inp is None or _nonfinite(inp) == 0)
            found = NonFinite(
                module=name,
                step=self._step,
                kind=_kind(out),
                direction=direction,
                output=Health._from_row(out),
                input=None if inp is None else Health._from_row(inp),
                input_finite=input_finite,
            )
            if input_finite:
                self._fallback = None
                self._announce(found)
            elif self._fallback is None:
                self._fallback = found

    def _finish_step(self) -> None:
        if self._first is None and self._fallback is not None:
            self._announce(self._fallback)
        self._fallback = None
        if self._current:
            keys = tuple(self._current)
            if self._done and self._done[-1][1] == keys:
                keys = self._done[-1][1]  # share the tuple: steps usually call the same modules
            self._done.append((self._step, keys, np.stack(list(self._current.values()))))
            self._current = {}

    def _announce(self, found: NonFinite) -> None:
        self._first = found
        logger.warning("numerics: %s", found.describe())
        if self.run is not None:
            self.run.set_meta("numerics_first_nonfinite", found.to_dict())

    def _write_run(self) -> None:
        self.run.log_table("numerics", self.stats())
        first = self._first or self._fallback
        self.run.set_meta("numerics_first_nonfinite", None if first is None else first.to_dict())


def numerics(
    model: Any,
    run: Any = None,
    backward: bool = False,
    raise_on_nonfinite: bool = False,
) -> NumericsDebugger:
    """Record per-layer tensor health while the ``with`` block runs.

    ``model`` is a ``torch.nn.Module`` or a ``deepscope.Model``. Every module's forward is hooked
    (and backward when ``backward=True``, through full backward hooks, so in-place operations on
    a hooked module's output are not allowed then). Call ``dbg.step()`` once per training step.
    ``raise_on_nonfinite=True`` raises :class:`NonFiniteError` at the first module whose output is
    NaN/Inf, at the cost of one device sync per module call. With a ``run``, the statistics are
    saved as the table ``"numerics"`` on exit and the first offender as the run's meta
    ``"numerics_first_nonfinite"`` as soon as it is known.

    >>> import torch
    >>> layer = torch.nn.Linear(2, 2)
    >>> with numerics(layer) as dbg:
    ...     _ = layer(torch.zeros(1, 2))
    >>> dbg.first_nonfinite is None, len(layer._forward_hooks)
    (True, 0)
    """
    module = getattr(model, "module", None) if not isinstance(model, torch.nn.Module) else model
    if not isinstance(module, torch.nn.Module):
        raise ArgumentTypeError("model", "a torch.nn.Module or a deepscope.Model", model)
    if run is not None and not (hasattr(run, "log_table") and hasattr(run, "set_meta")):
        raise ArgumentTypeError("run", "a deepscope Run (with log_table and set_meta) or None", run)
    return NumericsDebugger(module, run, backward=bool(backward), raise_on_nonfinite=bool(raise_on_nonfinite))


# -- tensor health ------------------------------------------------------------------------------


def _tensors(value: Any, depth: int = 0) -> Iterator[torch.Tensor]:
    """Floating-point tensors inside outputs/inputs: tensors, tuples, lists, dicts, ModelOutputs."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and value.numel() > 0:
            yield value
    elif depth < 6:
        if isinstance(value, Mapping):
            value = value.values()
        elif not isinstance(value, (tuple, list)):
            return
        for item in value:
            yield from _tensors(item, depth + 1)


def _health(tensor: torch.Tensor, scratch: dict[torch.dtype, torch.Tensor]) -> torch.Tensor | np.ndarray:
    """Health row of one tensor: a float64 tensor on its device (no sync), or numpy on the CPU."""
    x = tensor.detach().reshape(-1)
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    if x.device.type == "cpu":
        return _health_cpu(x, scratch)
    return _health_masked(x)


def _health_cpu(x: torch.Tensor, scratch: dict[torch.dtype, torch.Tensor]) -> np.ndarray:
    # Reading a CPU tensor costs no sync, so check first: nearly every tensor is all finite, and
    # then a few reductions that allocate nothing do (new tensors and masks are what is slow).
    low, high = (value.item() for value in torch.aminmax(x))  # NaN propagates
    if not (math.isfinite(low) and math.isfinite(high)):
        return _health_masked(x).numpy()
    numel = x.numel()
    mean = x.sum().item() / numel
    buffer = scratch.get(x.dtype)
    if buffer is None or buffer.numel() < numel:
        buffer = scratch[x.dtype] = torch.empty(numel, dtype=x.dtype)
    centred = torch.sub(x, mean, out=buffer[:numel])
    m2 = torch.dot(centred, centred).item()
    zeros = numel - torch.count_nonzero(x).item()
    return np.array([numel, numel, low, high, mean, m2, 0, 0, 0, zeros], dtype=np.float64)


def _health_masked(x: torch.Tensor) -> torch.Tensor:
    finite = torch.isfinite(x)
    count = finite.sum()
    nan = torch.isnan(x).sum()
    pos_inf = (x == math.inf).sum()
    nonzero = torch.count_nonzero(x)  # NaN and Inf are non-zero
    mean = torch.where(finite, x, 0).sum(dtype=torch.float64) / count.clamp(min=1)
    # Non-finite entries replaced by the mean: they leave min, max and the squared deviations alone.
    filled = torch.where(finite, x, mean.to(x.dtype))
    low, high = torch.aminmax(filled)
    centred = filled - mean.to(x.dtype)
    m2 = (centred * centred).sum(dtype=torch.float64)
    counts = torch.stack([count, nan, pos_inf, nonzero]).to(torch.float64)
    numel = float(x.numel())
    extremes = torch.stack([low, high]).to(torch.float64)
    # Row layout: numel, finite, min, max, mean, m2, nan, +inf, -inf, zeros.
    return torch.cat([
        torch.full((1,), numel, dtype=torch.float64, device=x.device), counts[:1], extremes,
        mean.reshape(1), m2.reshape(1), counts[1:3],
        (numel - counts[0] - counts[1] - counts[2]).reshape(1), (numel - counts[3]).reshape(1),
    ])  # fmt: skip


def _to_numpy(rows: list[torch.Tensor | np.ndarray]) -> np.ndarray:
    out = np.empty((len(rows), _WIDTH))
    on_device: dict[torch.device, list[int]] = {}
    for i, row in enumerate(rows):
        if isinstance(row, np.ndarray):
            out[i] = row
        else:
            on_device.setdefault(row.device, []).append(i)
    for positions in on_device.values():  # one transfer per device
        tensors = [cast(torch.Tensor, rows[i]) for i in positions]  # the rows that are not numpy
        out[positions] = torch.stack(tensors).cpu().numpy()
    return out


def _merge(rows: np.ndarray) -> np.ndarray:
    """Merge health rows as if their tensors were concatenated (Chan's parallel variance)."""
    if len(rows) == 1:
        return rows[0].copy()
    out = rows.sum(axis=0)
    counts = rows[:, _FINITE]
    total = counts.sum()
    out[_MIN] = rows[:, _MIN].min()
    out[_MAX] = rows[:, _MAX].max()
    if total > 0:
        mean = float((counts * rows[:, _MEAN]).sum() / total)
        out[_MEAN] = mean
        out[_M2] = rows[:, _M2].sum() + float((counts * (rows[:, _MEAN] - mean) ** 2).sum())
    else:
        out[_MEAN] = 0.0
        out[_M2] = 0.0
    return out


def _moments(row: np.ndarray) -> tuple[float, float, float, float]:
    if row[_FINITE] <= 0:
        return math.nan, math.nan, math.nan, math.nan
    std = math.sqrt(max(row[_M2], 0.0) / row[_FINITE])
    return float(row[_MEAN]), std, float(row[_MIN]), float(row[_MAX])


def _nonfinite(row: np.ndarray) -> float:
    return row[_NAN] + row[_POS_INF] + row[_NEG_INF]


def _kind(row: np.ndarray) -> str:
    if row[_NAN] > 0:
        return "nan"
    return "+inf" if row[_POS_INF] > 0 else "-inf"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
