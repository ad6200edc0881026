"""How many rows go through the model in one pass when the caller does not say.

The one policy every attribution method follows unless ``batch_size`` (or Captum's
``internal_batch_size``, ``perturbations_per_eval``, ``nt_samples_batch_size``), or the
``deepscope.Model``'s own ``batch_size``, is given:

- **Gradient paths** (integrated gradients, the noise tunnel, gradient SHAP, DeepLift(SHAP),
  conductance, layer and neuron methods, saliency...): all the work in one pass, as Captum's
  defaults run it, unless one pass would hold more than the memory budget; then as few equal
  passes as fit in it. What a row holds is measured by a one-row forward pass that counts the
  tensors autograd keeps for the backward pass (parameters aside), once per module and row shape.
  Work of at most ``UNMEASURED_ROWS`` rows goes in one pass without that measurement.
- **Perturbations** (occlusion, feature ablation and permutation, Shapley sampling): one
  perturbed copy of every example per pass (Captum's ``perturbations_per_eval=1``), but at least
  ``MIN_PERTURBATION_ROWS`` rows (tables: ``TABULAR_BATCH_SIZE``), within the budget.
- **Sampling** (KernelSHAP, LIME, partition SHAP: thousands of samples of one example):
  ``DEFAULT_BATCH_SIZE`` model rows per call (tables: ``TABULAR_BATCH_SIZE``; KernelSHAP's at
  most ``kernel_shap.TABULAR_SHAP_ROWS``, shap's memory), within the budget; on CPU within
  ``SAMPLING_MEMORY`` too (16 MiB: a small CNN's forward pass past about 16 rows gains little
  speed on CPU, while Captum's LIME holds one row per call), in as few equal passes as fit.

The budget (default ``DEFAULT_MEMORY_BUDGET``, 256 MiB: passes of a few hundred rows of a small
CNN, past which bigger passes stopped getting faster on CPU in ``bench/bench_explain.py``, while
Captum's all-at-once passes of integrated gradients there hold 700 MiB; on CUDA a quarter of the
free device memory when that is more) is set with :func:`set_memory_budget` or the environment variable
``DEEPSCOPE_EXPLAIN_MEMORY_MB``.

>>> old = set_memory_budget(2**20)
>>> memory_budget(torch.device("cpu"))
1048576
>>> _ = set_memory_budget(old)
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

import torch

from deepscope.errors import InvalidArgumentError
from deepscope.explain._validate import DEFAULT_BATCH_SIZE, TABULAR_BATCH_SIZE
from deepscope.validation import check_int

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "MEMORY_BUDGET_ENV",
    "MIN_PERTURBATION_ROWS",
    "SAMPLING_MEMORY",
    "UNMEASURED_ROWS",
    "equal_passes",
    "fitting_rows",
    "memory_budget",
    "row_bytes",
    "set_memory_budget",
]

DEFAULT_MEMORY_BUDGET = 256 * 2**20
MEMORY_BUDGET_ENV = "DEEPSCOPE_EXPLAIN_MEMORY_MB"
# deepscope's rows per pass before the policy: this much work never needs a measurement
UNMEASURED_ROWS = DEFAULT_BATCH_SIZE
MIN_PERTURBATION_ROWS = 16
# what one pass of a sampling method may hold on CPU (see the module's docstring)
SAMPLING_MEMORY = 16 * 2**20
# a pass also holds the input rows, their gradient and the method's own copies of them
_INPUT_COPIES = 4

_budget: int | None = None
# What a row holds, by module and row shape (see ``row_bytes``): measured on a module's first
# call for rows of a shape, kept while the module lives, so warm calls measure nothing.
_MEASURED: weakref.WeakKeyDictionary[torch.nn.Module, dict[tuple[object, ...], int]] = weakref.WeakKeyDictionary()


def set_memory_budget(nbytes: int | None) -> int | None:
    """Set the memory one pass of an attribution method may hold (bytes; None: the default).
    Returns the previous setting.

    >>> previous = set_memory_budget(512 * 2**20)
    >>> set_memory_budget(previous)
    536870912
    """
    global _budget
    nbytes = check_int(nbytes, "nbytes", low=1, allow_none=True, hint="a number of bytes")
    previous, _budget = _budget, nbytes
    return previous


def memory_budget(device: torch.device) -> int:
    """The bytes one pass may hold on ``device``: the set budget, the environment's, or the default."""
    if _budget is not None:
        return _budget
    given = os.environ.get(MEMORY_BUDGET_ENV)
    if given:
        try:
            megabytes = float(given)
        except ValueError:
            megabytes = 0.0
        if megabytes <= 0:
            raise InvalidArgumentError(MEMORY_BUDGET_ENV, "a positive number of MiB", given)
        return int(megabytes * 2**20)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return max(DEFAULT_MEMORY_BUDGET, free // 4)
    return DEFAULT_MEMORY_BUDGET


def row_bytes(
    module: torch.nn.Module | None,
    x: torch.Tensor,
    forward: Callable[[torch.Tensor], object],
) -> int:
    """The memory one row ``x[:1]`` holds in a forward and backward pass: the tensors autograd
    saves for the backward pass (parameters and buffers aside), the gradient of the largest of
    them (the backward pass's working memory) and a few copies of the row. Measured by a one-row
    ``forward`` the first time a module sees rows of this shape, dtype and device; kept while the
    module lives (``_MEASURED``)."""
    own = x[:1].nbytes * _INPUT_COPIES
    if module is None:
        return own
    key = (tuple(x.shape[1:]), x.dtype, x.device)
    known = _MEASURED.setdefault(module, {})
    if key not in known:
        bound = _mlp_row_bound(module, x)
        known[key] = own + (_saved_bytes(x, forward) if bound is None else bound)
    return known[key]


# torch's layers that keep a row's width (elementwise, or normalizing over the features)
_SAME_WIDTH = (
    torch.nn.ReLU,
    torch.nn.LeakyReLU,
    torch.nn.ELU,
    torch.nn.GELU,
    torch.nn.SiLU,
    torch.nn.Tanh,
    torch.nn.Sigmoid,
    torch.nn.Softplus,
    torch.nn.Softmax,
    torch.nn.LogSoftmax,
    torch.nn.Dropout,
    torch.nn.Identity,
    torch.nn.LayerNorm,
    torch.nn.BatchNorm1d,
)


def _mlp_row_bound(module: torch.nn.Module, x: torch.Tensor) -> int | None:
    """For a plain ``nn.Sequential`` of torch's linear and same-width layers on rows [N, F]
    (an MLP), an upper bound of what ``_saved_bytes`` measures, known without running the model:
    each layer saves at most its input and output, and the largest gradient is one layer wide.
    None for any other model (the one-row probe measures it). The probe's forward pass is a
    first call's cost: the first pass of a new row shape sets up its kernels."""
    if type(module) is not torch.nn.Sequential or x.ndim != 2:
        return None
    width = widest = int(x.shape[1])
    total = width
    for layer in module:
        if type(layer) is torch.nn.Linear:
            if layer.in_features != width:
                return None
            width = layer.out_features
        elif type(layer) not in _SAME_WIDTH:
            return None
        total += 2 * width
        widest = max(widest, width)
    return (total + widest) * x.element_size()


def _saved_bytes(x: torch.Tensor, forward: Callable[[torch.Tensor], object]) -> int:
    """The bytes autograd saves for one row's backward pass, plus its largest tensor's gradient."""
    one = x[:1].detach().clone()  # not a view: its storage is one row, not the whole batch
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        # parameters, buffers and constants are floating leaves (a view's base is): they do not
        # grow with the rows; what the row flows through has a grad_fn (the row requires grad),
        # and integer tensors are made from it too (a max-pool's indices)
        base = t if t._base is None else t._base
        if base.grad_fn is not None or base is one or not base.is_floating_point():
            storage = t.untyped_storage()
            saved[storage.data_ptr()] = storage.nbytes()
        return t

    one.requires_grad_(one.is_floating_point())
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, _unpack):
        out = forward(one)
    del out
    return sum(saved.values()) + max(saved.values(), default=0)


def _unpack(t: torch.Tensor) -> torch.Tensor:
    return t


def fitting_rows(per_row: int, device: torch.device, budget: int | None = None) -> int:
    """How many rows of ``per_row`` bytes fit in the budget (at least one); ``budget``, when
    given, caps it (a policy's own, smaller one)."""
    total = memory_budget(device) if budget is None else min(budget, memory_budget(device))
    return max(1, total // max(1, per_row))


def equal_passes(total: int, most: int) -> int:
    """Rows per pass for ``total`` rows in as few passes of at most ``most`` rows as fit, of
    equal size (the last may be smaller).

    >>> equal_passes(100, 64), equal_passes(100, 100), equal_passes(5, 1)
    (50, 100, 1)
    """
    return -(-total // -(-total // max(1, most)))


def perturbation_floor(n: int, tabular: bool) -> int:
    """Rows per pass of a perturbation method before the budget: one copy of each of ``n``
    examples, at least ``MIN_PERTURBATION_ROWS`` (tables: ``TABULAR_BATCH_SIZE``)."""
    return max(n, TABULAR_BATCH_SIZE if tabular else MIN_PERTURBATION_ROWS)


def sampling_rows(tabular: bool) -> int:
    """Model rows per call of a sampling method (KernelSHAP, LIME) before the budget."""
    return TABULAR_BATCH_SIZE if tabular else DEFAULT_BATCH_SIZE
