"""What a feature visualization maximises: objectives on layer activations, composable.

An objective maps the captured activations of a batch to one score per image (higher is better).
Objectives add, subtract and scale by numbers; ``batch=i`` makes a term count for image ``i`` only,
so each image of a batch can have its own objective.

>>> from deepscope.features import objectives as obj
>>> combined = obj.channel("conv2", 3) - 0.5 * obj.channel("conv2", 4, batch=1)
>>> combined.layers
('conv2',)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError
from deepscope.validation import check_int

__all__ = ["Objective", "channel", "neuron", "layer", "direction", "diversity"]

Scores = Callable[[Mapping[str, torch.Tensor]], torch.Tensor]


@dataclass(frozen=True)
class _Term:
    weight: float
    layer: str
    name: str
    scores: Scores  # activations -> one score per image [B]
    batch: int | None
    unit: int | None  # the channel a channel/neuron term targets (for top dataset examples)
    per_batch: bool = False  # a term that compares the images of a batch (diversity)


class Objective:
    """A weighted sum of terms, each scoring every image from one layer's activations."""

    def __init__(self, terms: Sequence[_Term]):
        self.terms: tuple[_Term, ...] = tuple(terms)

    @property
    def layers(self) -> tuple[str, ...]:
        """The layers whose activations the objective reads, in first-use order."""
        return tuple(dict.fromkeys(term.layer for term in self.terms))

    @property
    def description(self) -> str:
        parts = []
        for term in self.terms:
            where = f"[{term.batch}]" if term.batch is not None else ""
            weight = "" if term.weight == 1 else f"{term.weight:g}*"
            parts.append(f"{weight}{term.name}{where}")
        return " + ".join(parts).replace("+ -", "- ")

    def unit(self, image: int = 0) -> tuple[str, int] | None:
        """(layer, channel) of the first channel or neuron term that applies to image ``image``."""
        for term in self.terms:
            if term.unit is not None and term.batch in (None, image):
                return term.layer, term.unit
        return None

    def __call__(self, activations: Mapping[str, torch.Tensor], n: int) -> torch.Tensor:
        """Scores [n] of a batch of ``n`` images."""
        total: torch.Tensor | None = None
        for term in self.terms:
            values = term.scores(activations)
            if term.batch is not None:
                if term.batch >= n:
                    raise InvalidArgumentError("objective", f"batch indices below the batch size {n}", term.batch)
                mask = torch.zeros(n, dtype=values.dtype, device=values.device)
                mask[term.batch] = 1
                values = values * mask
            values = term.weight * values
            total = values if total is None else total + values
        if total is None:
            raise InvalidArgumentError("objective", "at least one term", "an empty objective")
        return total

    def for_image(self, image: int) -> Objective:
        """The terms that apply to image ``image`` of a batch, for scoring dataset examples
        (terms comparing the images of a batch are left out)."""
        kept = [
            _Term(t.weight, t.layer, t.name, t.scores, None, t.unit)
            for t in self.terms
            if t.batch in (None, image) and not t.per_batch
        ]
        return Objective(kept)

    def _scaled(self, factor: float) -> Objective:
        return Objective(
            [_Term(t.weight * factor, t.layer, t.name, t.scores, t.batch, t.unit, t.per_batch) for t in self.terms]
        )

    def __add__(self, other: object) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return Objective(self.terms + other.terms)

    def __sub__(self, other: object) -> Objective:
        if not isinstance(other, Objective):
            return NotImplemented
        return self + other._scaled(-1.0)

    def __neg__(self) -> Objective:
        return self._scaled(-1.0)

    def __mul__(self, factor: object) -> Objective:
        if not isinstance(factor, numbers.Real) or isinstance(factor, bool):
            return NotImplemented
        return self._scaled(float(factor))

    __rmul__ = __mul__

    def __truediv__(self, factor: object) -> Objective:
        if not isinstance(factor, numbers.Real) or isinstance(factor, bool) or factor == 0:
            return NotImplemented
        return self._scaled(1.0 / float(factor))

    def __repr__(self) -> str:
        return f"Objective({self.description})"


def _check_layer(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise ArgumentTypeError("layer", "a layer name (str), see Model.layers()", name)
    return name


def _check_index(argument: str, value: object) -> int | None:
    return check_int(value, argument, low=0, allow_none=True)


def _channel_index(value: object) -> int:
    index = _check_index("n", value)
    if index is None:
        raise InvalidArgumentError("n", "a channel index", value)
    return index


def _channel_of(layer_name: str, activation: torch.Tensor, n: int) -> torch.Tensor:
    if activation.ndim < 2:
        raise ShapeError(f"activations of {layer_name!r}", "[batch, channels, ...]", tuple(activation.shape))
    if n >= activation.shape[1]:
        raise InvalidArgumentError("n", f"a channel index below {activation.shape[1]} (layer {layer_name!r})", n)
    return activation[:, n]


def channel(layer: str, n: int, *, batch: int | None = None) -> Objective:
    """The mean activation of channel ``n`` of ``layer`` over all positions."""
    layer, n, batch = _check_layer(layer), _channel_index(n), _check_index("batch", batch)

    def scores(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        values = _channel_of(layer, acts[layer], n)
        return values.flatten(1).mean(1) if values.ndim > 1 else values

    return Objective([_Term(1.0, layer, f"channel({layer}, {n})", scores, batch, n)])


def neuron(layer: str, n: int, x: int | None = None, y: int | None = None, *, batch: int | None = None) -> Objective:
    """Channel ``n`` of ``layer`` at one position (column ``x``, row ``y``; the centre if None)."""
    layer, n, batch = _check_layer(layer), _channel_index(n), _check_index("batch", batch)
    x, y = _check_index("x", x), _check_index("y", y)

    def scores(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        values = _channel_of(layer, acts[layer], n)
        if values.ndim == 1:
            return values
        if values.ndim != 3:
            raise ShapeError(f"activations of {layer!r}", "[batch, channels, H, W]", values.shape)
        rows, cols = values.shape[1:]
        row = rows // 2 if y is None else y
        col = cols // 2 if x is None else x
        if row >= rows or col >= cols:
            raise InvalidArgumentError("x, y", f"a position inside the {rows}x{cols} map of {layer!r}", (x, y))
        return values[:, row, col]

    where = "" if x is None and y is None else f", x={x}, y={y}"
    return Objective([_Term(1.0, layer, f"neuron({layer}, {n}{where})", scores, batch, n)])


def layer(layer: str, *, batch: int | None = None) -> Objective:
    """DeepDream: the mean squared activation of every unit of ``layer``."""
    name, batch = _check_layer(layer), _check_index("batch", batch)

    def scores(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return acts[name].flatten(1).pow(2).mean(1)

    return Objective([_Term(1.0, name, f"layer({name})", scores, batch, None)])


def direction(
    layer: str,
    vector: Sequence[float] | np.ndarray | torch.Tensor,
    *,
    cossim_pow: float = 1.0,
    batch: int | None = None,
) -> Objective:
    """A direction in ``layer``'s channel space: at each position the activation's projection on
    ``vector`` times its cosine similarity to the power ``cossim_pow`` (Lucid's atlas objective),
    averaged over positions. A 2-D ``vector`` ``[B, C]`` gives image ``b`` of the batch its own
    direction (row ``b``), in one term."""
    name, batch = _check_layer(layer), _check_index("batch", batch)
    try:
        v = torch.as_tensor(np.asarray(vector, dtype=np.float32))
    except (TypeError, ValueError) as err:
        raise ArgumentTypeError("vector", "a 1-D or 2-D array of numbers", vector) from err
    if v.ndim not in (1, 2) or not torch.isfinite(v).all() or bool((v.norm(dim=-1) == 0).any()):
        raise InvalidArgumentError("vector", "non-zero, finite vector(s) [C] or [B, C]", vector)
    units = (v / v.norm(dim=-1, keepdim=True)).reshape(-1, v.shape[-1])

    def scores(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        a = acts[name]
        if a.ndim < 2 or a.shape[1] != units.shape[1]:
            raise ShapeError(
                "vector",
                f"{a.shape[1] if a.ndim > 1 else '?'} values (the channels of {name!r})",
                tuple(v.shape),
            )
        if len(units) not in (1, a.shape[0]):
            raise ShapeError("vector", f"1 or {a.shape[0]} rows (one per image)", tuple(v.shape))
        shape = (len(units), -1) + (1,) * (a.ndim - 2)
        u = units.to(a.device, a.dtype).reshape(shape)
        dot = (a * u).sum(1)
        if cossim_pow:
            cos = dot / a.norm(dim=1).clamp_min(1e-6)
            dot = dot * cos.clamp_min(0.1) ** cossim_pow
        return dot.flatten(1).mean(1) if dot.ndim > 1 else dot

    return Objective([_Term(1.0, name, f"direction({name})", scores, batch, None)])


def diversity(layer: str) -> Objective:
    """Diversity across a batch (Lucid): minus each image's mean cosine similarity of its Gram
    matrix at ``layer`` to the other images'; zero for a batch of one."""
    name = _check_layer(layer)

    def scores(acts: Mapping[str, torch.Tensor]) -> torch.Tensor:
        a = acts[name]
        b = a.shape[0]
        if b < 2:
            return a.new_zeros(b)
        flat = a.reshape(b, a.shape[1], -1)
        gram = torch.bmm(flat, flat.transpose(1, 2)).reshape(b, -1)
        gram = gram / gram.norm(dim=1, keepdim=True).clamp_min(1e-12)
        similarity = gram @ gram.T
        off_diagonal = similarity.sum(1) - similarity.diagonal()
        return -off_diagonal / (b - 1)

    return Objective([_Term(1.0, name, f"diversity({name})", scores, None, None, per_batch=True)])
