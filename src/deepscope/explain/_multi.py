"""Inputs of any shape Captum takes, brought to the one form the methods work on.

A method works on one float tensor ``x`` [N, ...]. Calls that do not fit it directly are
*prepared* here, once, before the method runs (``prepare_call``, used by every registered method):

- a tuple of inputs (each [N, ...], with its own baselines and feature masks): ``x`` is their
  concatenation, one flat float row per example [N, F1 + F2 + ...]; the model sees them split,
  reshaped and in their own dtypes again. The gradient of the flat row is the concatenated
  gradients, so every gradient method works unchanged; feature masks are concatenated (a label
  names one group across every input, as Captum; default: every number its own feature).
  Occlusion slides each input's window over that input alone, the others as they are (as Captum).
- ``additional_forward_args``: passed to the model after the inputs on every forward pass; a
  tensor whose first dimension is the number of examples is indexed with the rows of each pass
  (as Captum expands it over steps and perturbations), anything else is passed unchanged.
- scalar examples (inputs [N]) and integer or boolean inputs (kept in their dtype for the model:
  perturbation methods only ever put input or baseline values there).
- outputs of any shape [N, *S]: flattened to [N, prod(S)], with a tuple target ``(i, j, ...)``
  (one for all examples) or one tuple per example naming the output.
- a callable baseline: called with the inputs (or with nothing, when it takes no argument), as
  Captum calls it.

The result carries one attribution per input: ``Attribution.per_input()`` (the values of a
tuple of inputs are stored flat, [N, F1 + F2 + ...], with ``input_shapes``).

>>> import torch, deepscope as ds
>>> class Two(torch.nn.Module):
...     def forward(self, a, b, scale):
...         return (a * b).sum(dim=1, keepdim=True) * scale
>>> a = ds.explain.saliency(Two(), (torch.ones(2, 3), torch.full((2, 3), 2.0)), additional_forward_args=(3.0,))
>>> [v.shape for v in a.per_input()]
[(2, 3), (2, 3)]
>>> a.per_input()[0][0].tolist()
[6.0, 6.0, 6.0]
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar, cast

import numpy as np
import torch

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    ShapeError,
    TargetError,
    UnsupportedModelError,
    describe,
)
from deepscope.explain._inputs import as_model, is_texts
from deepscope.explain.attribution import Attribution
from deepscope.model.hooks import as_logits

__all__ = ["PreparedInputs", "prepare_call", "any_inputs"]

F = TypeVar("F", bound=Callable[..., Attribution])


def _is_frame(value: Any) -> bool:
    return hasattr(value, "iloc") and hasattr(value, "columns")


def _as_tensor(value: Any, argument: str) -> torch.Tensor:
    """A numeric tensor (its own dtype) from a tensor, array, DataFrame or nested list."""
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        if _is_frame(value):
            value = value.to_numpy()
        try:
            array = np.asarray(value)
        except ValueError as err:
            raise ShapeError(argument, "a rectangular batch of numbers", describe(value)) from err
        if array.dtype.kind not in "biuf":
            raise ArgumentTypeError(argument, "numeric values", describe(value))
        tensor = torch.as_tensor(array)
    if tensor.dtype.is_complex:
        raise ArgumentTypeError(argument, "real numbers", describe(value))
    if tensor.ndim == 0:
        raise ShapeError(argument, "a batch with the examples along the first dimension", describe(value))
    if len(tensor) == 0:
        raise InvalidArgumentError(argument, "at least one example", describe(value))
    return tensor


@dataclass
class PreparedInputs:
    """Inputs the task builds ``x`` from (see the module docstring).

    ``active`` None: ``x`` is the flat concatenation of every input; an index: ``x`` is that
    input alone ([N, 1] for scalar examples) and the others are taken from the example's row.
    """

    parts: list[torch.Tensor]  # each [N, *shape], its own dtype
    args: tuple[Any, ...]  # additional_forward_args
    given_tuple: bool
    active: int | None = None

    @property
    def n(self) -> int:
        return int(self.parts[0].shape[0])

    @property
    def rows_matter(self) -> bool:
        """Whether the model's outputs for a row of ``x`` depend on which example it belongs to
        (other inputs or additional arguments are taken from the example)."""
        return any(isinstance(a, torch.Tensor) and a.ndim > 0 and a.shape[0] == self.n for a in self.args) or (
            self.active is not None and len(self.parts) > 1
        )

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [tuple(p.shape[1:]) for p in self.parts]

    @property
    def sizes(self) -> list[int]:
        return [int(np.prod(s)) if s else 1 for s in self.shapes]

    def check_floating(self) -> None:
        """A typed error where a gradient method would differentiate integer or boolean inputs."""
        for i, part in enumerate(self.parts):
            if not part.is_floating_point() and (self.active is None or i == self.active):
                raise ArgumentTypeError(
                    f"inputs[{i}]" if self.given_tuple else "inputs",
                    "floating-point values (gradients need continuous inputs)",
                    describe(part),
                    hint="integer and boolean inputs are kept as they are by perturbation methods only",
                )

    def float_dtype(self, model: Any) -> torch.dtype:
        module = getattr(model, "module", None)
        if module is None:
            return torch.float64
        for parameter in module.parameters():
            if parameter.is_floating_point():
                return parameter.dtype
        floats = [p.dtype for p in self.parts if p.is_floating_point()]
        return floats[0] if floats else torch.get_default_dtype()

    def x(self, model: Any) -> torch.Tensor:
        """The tensor the method attributes to, on the model's device, floating-point."""
        dtype = self.float_dtype(model)
        device = getattr(model, "device", None) if getattr(model, "module", None) is not None else None
        if self.active is None:
            x = torch.cat([p.reshape(self.n, -1).to(dtype) for p in self.parts], dim=1)
        else:
            part = self.parts[self.active]
            x = (part.reshape(self.n, 1) if part.ndim == 1 else part).to(dtype)
        return x.to(device) if device is not None else x

    def feature_names(self) -> list[str] | None:
        if self.active is not None or not self.given_tuple:
            return None
        names = []
        for i, shape in enumerate(self.shapes):
            for where in np.ndindex(*shape) if shape else [()]:
                names.append(f"input{i}[{','.join(map(str, where))}]")
        return names

    def _extra(self, rows: torch.Tensor) -> tuple[Any, ...]:
        """additional_forward_args for ``rows``: tensors with one row per example are indexed."""
        n = self.n
        return tuple(
            a[rows.to(a.device)] if isinstance(a, torch.Tensor) and a.ndim > 0 and a.shape[0] == n else a
            for a in self.args
        )

    def _call(self, model: Any, given: list[torch.Tensor], rows: torch.Tensor) -> torch.Tensor:
        """The model's outputs [B, *S] for the inputs ``given`` (each [B, *shape], own dtype)."""
        module = getattr(model, "module", None)
        function = getattr(model, "_fn", None)
        extra = self._extra(rows)
        if module is not None:
            try:
                output = module(*given, *extra)
            except RuntimeError as err:
                if type(err) is not RuntimeError:
                    raise
                raise ShapeError(
                    "inputs",
                    "inputs (and additional_forward_args) the model's forward takes",
                    ", ".join(describe(g) for g in given),
                    hint=f"the forward pass failed with: {err}",
                ) from err
            logits = as_logits(output)
            if logits is None:
                raise UnsupportedModelError("model", "a module returning a tensor", describe(output))
        elif function is not None:
            arrays = [g.detach().cpu().numpy() for g in given]
            logits = torch.as_tensor(np.asarray(function(*arrays, *extra), dtype=np.float64))
            if logits.ndim == 1:
                logits = logits.unsqueeze(1)
        else:
            raise UnsupportedModelError("model", "a PyTorch module or a callable", describe(model))
        if logits.ndim == 0 or logits.shape[0] != len(given[0]):
            raise UnsupportedModelError(
                "model", f"outputs with one row per example ({len(given[0])})", describe(logits)
            )
        return logits

    def _parts_on(self, model: Any) -> list[torch.Tensor]:
        """The inputs on the model's device, floating-point ones in the model's dtype."""
        if getattr(model, "module", None) is None:
            return list(self.parts)
        device, dtype = model.device, self.float_dtype(model)
        return [p.to(device, dtype=dtype) if p.is_floating_point() else p.to(device) for p in self.parts]

    def forward(self, model: Any) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The task's forward function: (x rows, their example indices) -> outputs [B, prod(S)]."""
        parts = self._parts_on(model)
        sizes, shapes = self.sizes, self.shapes

        def forward(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            b = len(xb)
            if self.active is None:
                pieces = torch.split(xb, sizes, dim=1)
                given = [piece.reshape(b, *shape) for piece, shape in zip(pieces, shapes, strict=True)]
            else:
                index = rows.to(parts[0].device)
                given = [p[index] for p in parts]
                given[self.active] = xb.reshape(b, *shapes[self.active])
            for i, (piece, original) in enumerate(zip(given, parts, strict=True)):
                # integer and boolean inputs back in their dtype (gradient tasks refuse them)
                if not original.is_floating_point() and (self.active is None or i == self.active):
                    given[i] = (piece != 0) if original.dtype == torch.bool else piece.round().to(original.dtype)
            return self._call(model, given, rows).reshape(b, -1)

        return forward

    def output_shape(self, model: Any) -> tuple[int, ...]:
        """The shape of one example's outputs (one forward pass on the first example)."""
        with model.eval_mode(), torch.no_grad():
            first = torch.zeros(1, dtype=torch.long)
            logits = self._call(model, [p[:1] for p in self._parts_on(model)], first)
        return tuple(logits.shape[1:])


def _unwrap_one(value: Any) -> Any:
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _per_input(value: Any, k: int, argument: str) -> list[Any]:
    """``value`` as one entry per input: a tuple of ``k``, or one value shared by all (numbers)."""
    if isinstance(value, tuple):
        if len(value) != k:
            raise InvalidArgumentError(argument, f"a tuple of {k} (one per input)", f"a tuple of {len(value)}")
        return list(value)
    if value is None or (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)):
        return [value] * k
    raise ArgumentTypeError(argument, f"a number, or a tuple of {k} (one per input)", describe(value))


def _flat_rows(values: list[Any], prepared: PreparedInputs, argument: str, *, fill: float = 0.0) -> torch.Tensor:
    """Per-input values (None, a number, one example's shape, or rows [M, *shape]) as flat rows
    [M, F] (M: 1, or the common number of rows)."""
    flat: list[torch.Tensor] = []
    for i, (value, shape, size) in enumerate(zip(values, prepared.shapes, prepared.sizes, strict=True)):
        name = f"{argument}[{i}]" if prepared.given_tuple else argument
        if value is None:
            value = fill
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            flat.append(torch.full((1, size), float(value), dtype=torch.float64))
            continue
        tensor = _as_tensor(value, name) if not isinstance(value, torch.Tensor) or value.ndim > 0 else value
        tensor = tensor.detach().to(torch.float64)
        if tuple(tensor.shape) == shape:
            tensor = tensor.unsqueeze(0)
        if tuple(tensor.shape[1:]) != shape:
            raise ShapeError(
                name,
                f"a number, one example's shape {list(shape)}, or rows shaped [M, {', '.join(map(str, shape))}]",
                describe(value),
            )
        flat.append(tensor.reshape(len(tensor), size))
    counts = {len(t) for t in flat} - {1}
    if len(counts) > 1:
        raise ShapeError(argument, "the same number of rows for every input", sorted(len(t) for t in flat))
    m = counts.pop() if counts else 1
    return torch.cat([t.expand(m, -1) for t in flat], dim=1)


def _flat_masks(value: Any, prepared: PreparedInputs) -> torch.Tensor:
    """Feature masks of each input as [1 or N, F]. A label names one group across all inputs (as
    Captum: equal labels in two inputs are one feature); an input without a mask (None) has each
    number as its own feature, labelled after every given label."""
    k = len(prepared.parts)
    masks = _per_input(value, k, "feature_mask") if value is not None else [None] * k
    flat: list[torch.Tensor | None] = []
    for i, (mask, shape, size) in enumerate(zip(masks, prepared.shapes, prepared.sizes, strict=True)):
        name = f"feature_mask[{i}]" if prepared.given_tuple else "feature_mask"
        if mask is None:
            flat.append(None)
            continue
        tensor = _as_tensor(mask, name) if not (isinstance(mask, torch.Tensor) and mask.ndim == 0) else mask
        fractional = tensor.is_floating_point() and not bool((tensor == tensor.round()).all())
        if tensor.dtype == torch.bool or fractional:
            raise ShapeError(name, "integer group labels", describe(mask))
        tensor = tensor.long()
        if tuple(tensor.shape) == shape:
            tensor = tensor.unsqueeze(0)
        if tuple(tensor.shape[1:]) != shape or tensor.shape[0] not in (1, prepared.n):
            raise ShapeError(
                name,
                f"integer labels of the input's example shape {list(shape)}, or one mask per example "
                f"[{prepared.n}, {', '.join(map(str, shape))}]",
                describe(mask),
            )
        flat.append(tensor.reshape(len(tensor), size))
    start = max((int(t.max()) + 1 for t in flat if t is not None), default=0)
    for i, size in enumerate(prepared.sizes):
        if flat[i] is None:
            flat[i] = torch.arange(start, start + size).reshape(1, size)
            start += size
    done = [t for t in flat if t is not None]
    rows = max(len(t) for t in done)
    return torch.cat([t.expand(rows, -1) for t in done], dim=1)


def _call_baseline(baseline: Any, inputs: Any) -> Any:
    """A callable baseline's value: called with the inputs, or with nothing when it takes no
    argument (as Captum)."""
    try:
        parameters = inspect.signature(baseline).parameters
    except (TypeError, ValueError):
        parameters = {"inputs": None}
    value = baseline() if len(parameters) == 0 else baseline(inputs)
    if callable(value) or value is None:
        raise ArgumentTypeError("baseline", "a callable returning a number, an array or a tuple of them", value)
    return value


def _target_index(target: Any, shape: tuple[int, ...], n: int) -> Any:
    """A tuple target (one for all examples) or one tuple per example, as flat output indices."""

    def one(index: Any, where: str) -> int:
        if len(index) != len(shape) or not all(
            isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in index
        ):
            raise TargetError("target", f"a tuple of {len(shape)} indices into outputs shaped {list(shape)}", where)
        if not all(-s <= int(i) < s for i, s in zip(index, shape, strict=True)):
            raise TargetError("target", f"indices within the outputs' shape {list(shape)}", where)
        return int(np.ravel_multi_index(tuple(int(i) % s for i, s in zip(index, shape, strict=True)), shape))

    if isinstance(target, tuple) and all(isinstance(i, (int, np.integer)) for i in target):
        if len(shape) == 1 and len(target) != 1:
            return target  # one class index per example, as before
        return one(target, str(target))
    if isinstance(target, (list, np.ndarray, torch.Tensor)):
        rows = np.asarray(target.cpu() if isinstance(target, torch.Tensor) else target)
        if rows.ndim == 2 and rows.dtype.kind in "iu":
            if len(rows) not in (1, n):
                raise TargetError("target", f"one tuple per example ({n})", f"{len(rows)} tuples")
            flat = np.array([one(tuple(r), str(tuple(r))) for r in rows], dtype=np.int64)
            return int(flat[0]) if len(flat) == 1 else flat
        if isinstance(target, list) and any(isinstance(t, tuple) for t in target):
            return np.array([one(t, str(t)) for t in target], dtype=np.int64)
    if len(shape) > 1 and target is not None and not isinstance(target, str):
        raise TargetError(
            "target",
            f"a tuple of {len(shape)} indices (or one per example) for outputs shaped {[-1, *shape]}",
            describe(target),
        )
    return target


def _is_tuple_target(target: Any) -> bool:
    return (isinstance(target, tuple) and len(target) > 0) or (
        isinstance(target, list) and any(isinstance(t, tuple) for t in target)
    )


def _needs_preparing(model: Any, inputs: Any, args: Any, target: Any) -> bool:
    if args is not None:
        return True
    if isinstance(inputs, tuple) and not is_texts(inputs):
        return True
    if is_texts(inputs) or isinstance(inputs, (dict, str)):
        return False
    candidate = _is_tuple_target(target)
    if isinstance(inputs, (torch.Tensor, np.ndarray)):
        if inputs.ndim == 1:
            return True
        is_float = inputs.is_floating_point() if isinstance(inputs, torch.Tensor) else inputs.dtype.kind == "f"
        candidate = candidate or not is_float
    if not candidate:
        return False
    adapter = as_model(model)  # token ids of a text model stay as they are
    return not (getattr(adapter, "is_text", False) or getattr(adapter, "kind", None) == "huggingface")


def _prepare_inputs(inputs: Any, args: Any) -> PreparedInputs:
    if args is None:
        extra: tuple[Any, ...] = ()
    elif isinstance(args, tuple):
        extra = args
    else:
        extra = (args,)
    given_tuple = isinstance(inputs, tuple)
    items = list(inputs) if given_tuple else [inputs]
    if not items:
        raise InvalidArgumentError("inputs", "at least one input", "an empty tuple")
    parts = [_as_tensor(item, f"inputs[{i}]" if given_tuple else "inputs") for i, item in enumerate(items)]
    counts = [len(p) for p in parts]
    if len(set(counts)) > 1:
        raise ShapeError("inputs", "the same number of examples in every input", counts)
    flat = len(parts) > 1 or parts[0].ndim == 1
    return PreparedInputs(parts, extra, given_tuple, active=None if flat else 0)


def prepare_call(
    function: Callable[..., Attribution],
    model: Any,
    inputs: Any,
    options: dict[str, Any],
    *,
    windows: bool = False,
    spatial: bool = False,
) -> Attribution:
    """Run ``function(model, inputs, **options)`` with inputs of any shape Captum takes (see the
    module docstring); a call that fits the method as it is runs unchanged. ``windows``: the
    method slides windows over each input (occlusion), so a tuple's inputs are taken one by one.
    ``spatial``: the method's maps are drawn over an image (Grad-CAM), so of a tuple the first
    image input [N, C, H, W] is the one attributed to (the others pass as they are).
    """
    args = options.pop("additional_forward_args", None)
    baseline = options.get("baseline")
    if callable(baseline) and not isinstance(baseline, (torch.Tensor, np.ndarray)):
        options["baseline"] = _call_baseline(baseline, inputs)
    target = options.get("target")
    if isinstance(inputs, PreparedInputs):
        if args is not None:
            raise InvalidArgumentError("additional_forward_args", "given once, with the first inputs", args)
        return function(model, inputs, **options)
    if not _needs_preparing(model, inputs, args, target):
        return function(model, inputs, **options)
    prepared = _prepare_inputs(inputs, args)
    adapter = as_model(model)
    try:
        shape = prepared.output_shape(adapter)
    except ShapeError:
        if args is not None or prepared.given_tuple or prepared.parts[0].is_floating_point():
            raise
        # integer inputs the model does not take as they are: the method's own checks and
        # conversions (gradient methods reject them, perturbation methods pass floats)
        return function(model, inputs, **options)
    if "target" in options:
        options["target"] = _target_index(target, shape, prepared.n)
    if spatial and prepared.given_tuple:
        images = [i for i, p in enumerate(prepared.parts) if p.ndim == 4]
        prepared.active = images[0] if images else 0
        result = function(adapter, prepared, **options)
        return replace(_finish(result, prepared, shape), options={**result.options, "input": prepared.active})
    if windows and prepared.active is None:
        result = _per_input_run(function, adapter, prepared, options)
    else:
        _flatten_options(prepared, options)
        result = function(adapter, prepared, **options)
    return _finish(result, prepared, shape)


def any_inputs(function: F) -> F:
    """``function(first, model, inputs, **options)`` (as ``noise_tunnel``) with inputs of any
    shape Captum takes, as the registered methods have them."""

    @functools.wraps(function)
    def run(first: Any, model: Any, inputs: Any, **options: Any) -> Attribution:
        def call(model: Any, inputs: Any, **options: Any) -> Attribution:
            return function(first, model, inputs, **options)

        return prepare_call(call, model, inputs, options)

    return cast(F, run)


def _flatten_options(prepared: PreparedInputs, options: dict[str, Any]) -> None:
    """Baselines, backgrounds and feature masks in the layout of ``x``."""
    if prepared.active is not None:
        for key in ("baseline", "background", "feature_mask"):
            if key in options:
                options[key] = _unwrap_one(options[key]) if prepared.given_tuple else options[key]
        return
    k = len(prepared.parts)
    for key in ("baseline", "background"):
        value = options.get(key)
        if value is None or isinstance(value, str) or key not in options:
            continue
        if not isinstance(value, tuple) and k > 1 and not isinstance(value, (int, float, np.integer, np.floating)):
            raise ArgumentTypeError(key, f"a number, or a tuple of {k} (one per input)", describe(value))
        options[key] = _flat_rows(_per_input(value, k, key) if k > 1 else [_unwrap_one(value)], prepared, key)
    if "feature_mask" in options:
        options["feature_mask"] = _flat_masks(options["feature_mask"], prepared)


def _per_input_run(
    function: Callable[..., Attribution],
    model: Any,
    prepared: PreparedInputs,
    options: dict[str, Any],
) -> Attribution:
    """Occlusion of a tuple of inputs: each input's windows over that input alone."""
    k = len(prepared.parts)
    per_key = {key: options[key] for key in ("baseline", "window", "stride", "feature_mask") if key in options}
    results = []
    for i in range(k):
        one = dict(options)
        for key, value in per_key.items():
            if isinstance(value, tuple) and (key not in ("window", "stride") or _is_nested(value, k)):
                if len(value) != k:
                    raise InvalidArgumentError(key, f"a tuple of {k} (one per input)", f"a tuple of {len(value)}")
                one[key] = value[i]
        if prepared.parts[i].ndim == 1:
            for key in ("window", "stride"):
                if one.get(key) is not None:
                    one[key] = 1
            if isinstance(one.get("baseline"), torch.Tensor | np.ndarray):
                one["baseline"] = np.asarray(one["baseline"]).reshape(-1, 1)
        results.append(function(model, replace(prepared, active=i), **one))
    first = results[0]
    values = np.concatenate([r.values.reshape(len(r.values), -1) for r in results], axis=1)
    inputs = np.concatenate([np.asarray(r.inputs).reshape(len(r.values), -1) for r in results], axis=1)
    options_out = dict(first.options)
    for key in ("window", "stride"):
        if key in first.options:
            options_out[key] = [r.options.get(key) for r in results]
    merged = replace(
        first,
        values=values,
        inputs=inputs,
        kind="tabular",
        options=options_out,
        feature_names=replace(prepared, active=None).feature_names(),
    )
    return merged


def _is_nested(value: tuple[Any, ...], k: int) -> bool:
    """Whether a window/stride tuple holds one entry per input (not one size per dimension)."""
    return any(isinstance(v, tuple | list) for v in value) or k > 1 and len(value) == k


def _finish(result: Attribution, prepared: PreparedInputs, output_shape: tuple[int, ...]) -> Attribution:
    """The result of a prepared call: scalar examples back to [N], a tuple's inputs recorded."""
    changes: dict[str, Any] = {}
    total = sum(prepared.sizes)
    n = prepared.n
    if prepared.given_tuple:
        if result.values.size == n * total:
            changes["input_shapes"] = [list(s) for s in prepared.shapes]
    elif prepared.parts[0].ndim == 1 and result.values.shape == (n, 1):
        changes["values"] = result.values.reshape(n)
        if result.inputs is not None and np.asarray(result.inputs).shape == (n, 1):
            changes["inputs"] = np.asarray(result.inputs).reshape(n)
        changes["kind"] = "array"
        changes["feature_names"] = None
    if len(output_shape) > 1:
        changes["options"] = {**result.options, "output_shape": list(output_shape)}
    return replace(result, **changes) if changes else result
