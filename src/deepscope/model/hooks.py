"""Layer hooks: what a layer put out (LayerInfo, Capture) and how outputs become one tensor.

>>> import torch
>>> from deepscope.model.hooks import first_tensor
>>> first_tensor((torch.ones(2), torch.zeros(3))).shape
torch.Size([2])
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from deepscope.errors import ShapeError

__all__ = ["LayerInfo", "Capture", "first_tensor", "as_logits", "captures_paused", "this_thread_only"]

_paused = threading.local()


@contextlib.contextmanager
def captures_paused() -> Iterator[None]:
    """Captures record nothing inside the block (on this thread): for the adapter's own probes."""
    before = getattr(_paused, "on", False)
    _paused.on = True
    try:
        yield
    finally:
        _paused.on = before


def this_thread_only(hook: Callable[..., Any]) -> Callable[..., Any]:
    """``hook`` acting only on the passes of the thread that wrapped it.

    Hooks live on a module, so every thread running that module meets them: the dashboard runs
    one live model from several job threads at once. A hook that changes what a module computes
    (guided backprop, DeepLift, LRP, a replaced layer output) or records its outputs must leave the
    other threads' passes alone; on those it does nothing and returns None (output unchanged).

    >>> import torch, threading
    >>> relu = torch.nn.ReLU()
    >>> handle = relu.register_forward_hook(this_thread_only(lambda m, a, out: out * 0))
    >>> float(relu(torch.ones(1)))
    0.0
    >>> seen = []
    >>> worker = threading.Thread(target=lambda: seen.append(float(relu(torch.ones(1)))))
    >>> worker.start(); worker.join(); handle.remove()
    >>> seen
    [1.0]
    """
    owner = threading.get_ident()

    @functools.wraps(hook)
    def on_owner_thread(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != owner:
            return None
        return hook(*args, **kwargs)

    return on_owner_thread


@dataclass(frozen=True)
class LayerInfo:
    """A named layer of a model: its dotted name, class name and output shape on a probe input.

    ``output_shape`` includes the batch dimension of the probe (1); it is None when the layer did
    not run during the probe or put out something other than tensors.

    >>> LayerInfo("features.0", "Conv2d", (1, 8, 32, 32)).type
    'Conv2d'
    """

    name: str
    type: str
    output_shape: tuple[int, ...] | None


def first_tensor(output: Any) -> torch.Tensor | None:
    """The tensor a layer's output stands for: itself, ``.logits``, or the first tensor inside.

    Tuples (an RNN's ``(output, h_n)``) and Hugging Face ``ModelOutput`` objects both put their main
    tensor first, so the first tensor found is the one a user means by "the layer's output".

    >>> first_tensor({"hidden": torch.zeros(1, 4)}).shape
    torch.Size([1, 4])
    """
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, Mapping):
        output = list(output.values())
    if isinstance(output, (tuple, list)):
        for item in output:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


def as_logits(output: Any) -> torch.Tensor | None:
    """A model's outputs as a tensor with the examples along dim 0 and at least two dimensions.

    >>> as_logits(torch.zeros(3)).shape
    torch.Size([3, 1])
    """
    tensor = first_tensor(output)
    if tensor is not None and tensor.ndim == 1:
        tensor = tensor.unsqueeze(1)
    return tensor


class Capture:
    """Layer outputs (and, on request, their gradients) recorded inside ``Model.capture()``.

    ``activations[name]`` is the layer's output concatenated along the batch dimension over every
    forward pass made inside the block, so ``predict()`` in batches yields all examples;
    ``calls[name]`` keeps each pass apart. Activations are copies (later in-place operations do
    not change them) that keep their autograd graph when recorded with gradients enabled, so
    they can be optimized through; call ``clear()`` between steps of such a loop.
    ``gradients[name]`` is d(what was differentiated) / d(layer output) for the passes that were
    differentiated.

    With ``cut=True`` (and gradients enabled) a layer's tensor output is recorded as a new leaf
    of the autograd graph and the model continues from a copy of it: differentiating with
    respect to ``calls[name]`` then stops at the layer, and nothing below it is differentiated.

    >>> cap = Capture(["fc"])
    >>> cap.activations
    {}
    """

    def __init__(self, layer_names: list[str], cut: bool = False):
        self.layer_names: tuple[str, ...] = tuple(layer_names)
        self.cut = cut
        self.calls: dict[str, list[torch.Tensor]] = {name: [] for name in layer_names}
        self.gradient_calls: dict[str, list[torch.Tensor | None]] = {n: [] for n in layer_names}
        # Hooks sit on modules other threads may run too (a dashboard computes several methods
        # of one live model at once): a capture records only the passes of the thread that made it.
        self._thread = threading.get_ident()

    @property
    def activations(self) -> dict[str, torch.Tensor]:
        """Each layer's output over every pass in the block (layers that did not run are absent)."""
        return {name: _join(name, calls) for name, calls in self.calls.items() if calls}

    @property
    def gradients(self) -> dict[str, torch.Tensor]:
        """Each layer's output gradient over the passes that were differentiated."""
        joined = {}
        for name, calls in self.gradient_calls.items():
            present = [grad for grad in calls if grad is not None]
            if present:
                joined[name] = _join(name, present)
        return joined

    def clear(self) -> None:
        """Forget everything recorded so far (the hooks stay in place until the block ends)."""
        for name in self.layer_names:
            self.calls[name].clear()
            self.gradient_calls[name].clear()

    def hook(self, name: str, grads: bool) -> Callable[..., torch.Tensor | None]:
        """A forward hook recording the output of layer ``name`` (with ``cut``: returns what goes on)."""

        def record(module: torch.nn.Module, args: Any, output: Any) -> torch.Tensor | None:
            tensor = first_tensor(output)
            if tensor is None or getattr(_paused, "on", False) or threading.get_ident() != self._thread:
                return None
            if self.cut and isinstance(output, torch.Tensor) and torch.is_grad_enabled():
                leaf = output.detach().requires_grad_(True)
                self.calls[name].append(leaf)
                self.gradient_calls[name].append(None)
                if grads:
                    leaf.register_hook(self._gradient_setter(name, len(self.gradient_calls[name]) - 1))
                # A copy goes on, so in-place operations after the layer leave the record alone.
                return leaf.clone()
            # A copy, so that an in-place op after the layer (ReLU(inplace=True)) cannot change it.
            self.calls[name].append(tensor.clone())
            self.gradient_calls[name].append(None)
            if grads and tensor.requires_grad:
                index = len(self.gradient_calls[name]) - 1
                tensor.register_hook(self._gradient_setter(name, index))
            return None

        return record

    def _gradient_setter(self, name: str, index: int) -> Callable[[torch.Tensor], None]:
        def store(grad: torch.Tensor) -> None:
            calls = self.gradient_calls[name]
            if index < len(calls):  # clear() may have run since this pass
                calls[index] = grad.detach()

        return store

    def __repr__(self) -> str:
        recorded = {name: len(calls) for name, calls in self.calls.items()}
        return f"Capture(passes per layer={recorded})"


def _join(name: str, tensors: list[torch.Tensor]) -> torch.Tensor:
    if len(tensors) == 1:
        return tensors[0]
    shapes = {tuple(t.shape[1:]) for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(
            f"activations[{name!r}]",
            "outputs of the same shape on every pass, to concatenate them",
            f"shapes {sorted(shapes)} after the batch dimension",
            hint=f"read capture.calls[{name!r}] for each pass's output",
        )
    return torch.cat(tensors, dim=0)
