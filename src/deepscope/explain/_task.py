"""The task every attribution method runs in: the model, its inputs and targets, and batches.

Every method runs inside a *task*: the model in eval mode, the inputs as a float tensor in the
space attributions are taken in (images and tables as given, text as its input embeddings), the
target class of each example and the rows per pass (``Task.rows_for``: the caller's
``batch_size``, or the policy of ``_rows``). Gradient methods use ``gradient_task``,
model-agnostic ones (occlusion, LIME, KernelSHAP) ``predict_task``.

>>> from deepscope.explain._task import batches
>>> [(s.start, s.stop) for s in batches(5, 2)]
[(0, 2), (2, 4), (4, 5)]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, UnsupportedModelError, describe
from deepscope.explain._inputs import (
    _text_tokens,
    as_2d_outputs,
    as_model,
    broadcast_value,
    compact_tokens,
    input_kind,
    is_texts,
    predict_texts,
    resolve_targets,
    selected,
    to_numeric_array,
)
from deepscope.explain._multi import PreparedInputs
from deepscope.explain._rows import (
    SAMPLING_MEMORY,
    UNMEASURED_ROWS,
    equal_passes,
    fitting_rows,
    perturbation_floor,
    row_bytes,
    sampling_rows,
)
from deepscope.explain._validate import check_feature_names, check_positive_int, jsonable
from deepscope.progress import progress_bar, tqdm

log = logging.getLogger("deepscope.explain")


# Forward function of a task: (inputs in attribution space, their example rows) -> outputs [B, C].
ForwardFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def batches(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def generator(seed: int) -> torch.Generator:
    """A CPU generator: the same numbers on every device (draws are moved to the model's)."""
    return torch.Generator().manual_seed(seed)


@dataclass
class Task:
    """What an attribution method works on. Built by ``gradient_task`` or ``predict_task``."""

    model: Any
    method: str
    kind: str  # "image" | "tabular" | "text" | "array"
    x: torch.Tensor  # [N, ...] float; text: input embeddings [N, T, D]
    forward: ForwardFn
    target: torch.Tensor | None  # [N] long; None until resolved (see target_rows)
    outputs: torch.Tensor | None  # [N, C] model outputs at x (detached)
    # rows per pass the caller asked for; None: ``policy`` decides (see ``rows_for``)
    batch_size: int | None
    progress: bool | None
    inputs: np.ndarray | None = None  # what Attribution.inputs keeps
    feature_names: list[str] | None = None
    texts: list[str] | None = None
    tokens: list[list[str]] | None = None
    attention_mask: torch.Tensor | None = None
    target_spec: Any = None  # the user's target, normalized, while ``target`` is deferred
    # whether forward(x, rows) depends on rows beyond x (text masks, other inputs, extra arguments):
    # then a reference input is evaluated once per example, not once for all
    rows_matter: bool = False
    policy: str = "gradient"  # "gradient" | "perturbation" | "sampling": see deepscope.explain._rows
    _row_bytes: int | None = None
    _seen: torch.Tensor | None = None
    _targets: torch.Tensor | None = None

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def rows(self) -> torch.Tensor:
        return torch.arange(self.n, device=self.x.device)

    @property
    def resolved_target(self) -> torch.Tensor:
        """``target`` where it is resolved: methods read it after ``resolve_targets`` or
        ``target_rows`` filled it in."""
        return cast(torch.Tensor, self.target)

    @property
    def resolved_outputs(self) -> torch.Tensor:
        """``outputs`` where they are known (set with the targets they resolved)."""
        return cast(torch.Tensor, self.outputs)

    @property
    def score(self) -> torch.Tensor:
        """The model's output for each example's target at its input."""
        return selected(self.resolved_outputs, self.resolved_target)

    def rows_for(self, total: int) -> int:
        """Rows per forward/backward pass for ``total`` rows of work: ``batch_size`` when the
        caller gave one, otherwise the policy's (``deepscope.explain._rows``)."""
        if self.batch_size is not None:
            return self.batch_size
        tabular = self.kind == "tabular"
        if self.policy == "gradient":
            wanted = total
        elif self.policy == "perturbation":
            wanted = min(total, perturbation_floor(self.n, tabular))
        else:
            wanted = min(total, sampling_rows(tabular))
        # sampling passes on CPU: within SAMPLING_MEMORY as well (measured whatever their size)
        cap = SAMPLING_MEMORY if self.policy == "sampling" and self.x.device.type == "cpu" else None
        if wanted <= UNMEASURED_ROWS and cap is None:
            return max(1, wanted)
        fit = fitting_rows(self.row_bytes(), self.x.device, cap)
        if fit >= wanted:
            return wanted
        return equal_passes(total, fit)

    @property
    def call_rows(self) -> int:
        """Model rows per call where the work has no natural size (a sampling method's)."""
        return self.rows_for(2**62)

    def passes(self, total: int) -> Iterator[slice]:
        """Slices of ``range(total)``, one per pass (``rows_for(total)`` rows each)."""
        return batches(total, self.rows_for(total))

    def row_bytes(self) -> int:
        """The memory one row holds in a pass (measured once per task, and per module and row
        shape: see ``deepscope.explain._rows.row_bytes``)."""
        if self._row_bytes is None:
            module = getattr(self.model, "module", None)
            if self.x.numel() == 0:  # texts of a model-agnostic method: no tensor rows here
                self._row_bytes = 1
            else:
                rows = self.rows[:1]
                self._row_bytes = row_bytes(module, self.x, lambda one: self.forward(one, rows))
        return self._row_bytes

    def target_rows(self, rows: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """The targets of ``rows``. While they are deferred, ``outputs`` must be the model's
        outputs at the task's own inputs: they resolve the targets and are kept, which spares
        methods that evaluate the inputs anyway (saliency, Grad-CAM) a separate forward pass.
        """
        if self.target is not None:
            return self.target[rows]
        spec = self.target_spec
        if self._seen is None and _all_rows(rows, self.n):
            # One pass over every example (the usual case): no per-row bookkeeping.
            self.outputs = outputs.detach()
            self.target = resolve_targets(self.model, spec, self.outputs)
            return self.target
        part = spec[rows.cpu().numpy()] if isinstance(spec, np.ndarray) else spec
        found = resolve_targets(self.model, part, outputs.detach())
        if self._seen is None:
            shape = (self.n, outputs.shape[1])
            self.outputs = torch.zeros(shape, dtype=outputs.dtype, device=outputs.device)
            self._targets = torch.zeros(self.n, dtype=torch.long, device=outputs.device)
            self._seen = torch.zeros(self.n, dtype=torch.bool, device=outputs.device)
        seen, targets = self._seen, cast(torch.Tensor, self._targets)  # all three are set together
        self.resolved_outputs[rows] = outputs.detach()
        targets[rows] = found
        seen[rows] = True
        if bool(seen.all()):
            self.target = targets
        return found

    def gradient(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """d output[target] / d x for one batch (each example's output depends on its row only)."""
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            logits = as_2d_outputs(self.forward(x, rows))
            out = selected(logits, self.target_rows(rows, logits)).sum()
            (grad,) = torch.autograd.grad(out, x, allow_unused=True)
        return torch.zeros_like(x) if grad is None else grad

    def gradients(self, x: torch.Tensor, rows: torch.Tensor, bar: tqdm | None = None) -> torch.Tensor:
        """``gradient`` over any number of rows, ``rows_for(len(x))`` at a time."""
        size = self.rows_for(len(x))
        if len(x) <= size:  # one batch: its gradient is the result, no copy
            grad = self.gradient(x, rows)
            if bar is not None:
                bar.update(len(x))
            return grad
        result = torch.empty_like(x)
        for part in batches(len(x), size):
            result[part] = self.gradient(x[part], rows[part])
            if bar is not None:
                bar.update(part.stop - part.start)
        return result

    @staticmethod
    def writable(grad: torch.Tensor) -> bool:
        """Whether a gradient ``gradients`` returned may be changed in place (a dense tensor of its
        own, not an expanded or shared one), sparing a copy of it."""
        dense = grad.is_contiguous() or grad.is_contiguous(memory_format=torch.channels_last)
        return grad._base is None and dense and not grad.requires_grad

    @torch.no_grad()
    def predict(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Model outputs [B, C] for any number of rows, ``rows_for(len(x))`` at a time, no gradients."""
        parts = [as_2d_outputs(self.forward(x[part], rows[part])).detach() for part in self.passes(len(x))]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def scores(self, x: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """The target output of each row at ``x``."""
        return selected(self.predict(x, rows), self.resolved_target[rows])

    def bar(self, total: int, desc: str | None = None) -> tqdm:
        return progress_bar(total, self.progress, desc or self.method)

    def finish(self, values: torch.Tensor | np.ndarray, *, options: dict[str, Any], **fields: Any) -> Any:
        """The Attribution of ``values`` (text: summed over the embedding, one per token)."""
        from deepscope.explain.attribution import Attribution

        if isinstance(values, torch.Tensor):
            values = values.detach()
            if self.kind == "text" and values.ndim == 3:
                values = values.sum(dim=-1)
            if self.kind == "text" and self.attention_mask is not None and values.ndim == 2:
                values = compact_tokens(values, self.attention_mask)
            values = values.cpu().numpy()
        for key in ("delta", "base_value"):
            if isinstance(fields.get(key), torch.Tensor):
                fields[key] = fields[key].detach().cpu().numpy()
        return Attribution(
            values=values,
            method=self.method,
            target=self.resolved_target.cpu().numpy().astype(np.int64),
            inputs=self.inputs,
            kind=self.kind,
            options=jsonable(options),
            score=self.score.detach().cpu().numpy(),
            tokens=self.tokens,
            texts=self.texts,
            feature_names=self.feature_names,
            labels=list(self.model.labels) if getattr(self.model, "labels", None) else None,
            **fields,
        )


def _require_module(model: Any, method: str) -> None:
    if getattr(model, "module", None) is None:
        raise UnsupportedModelError(
            "model",
            "a PyTorch or Hugging Face model (gradients need autograd)",
            f"a {getattr(model, 'kind', type(model).__name__)} model",
            hint=f"{method} takes gradients; use occlusion, lime or kernel_shap for a plain callable",
        )


@contextmanager
def gradient_task(
    model: Any,
    inputs: Any,
    *,
    method: str,
    target: Any,
    batch_size: int | None,
    progress: bool | None,
    feature_names: Sequence[str] | None = None,
    defer_targets: bool = False,
) -> Iterator[Task]:
    """A task for a gradient method, with the model in eval mode for the block.

    ``defer_targets``: for methods whose first pass differentiates the inputs themselves; the
    targets are then resolved from that pass's outputs (see ``Task.target_rows``).
    """
    model = as_model(model)
    _require_module(model, method)
    batch_size = requested_batch_size(model, batch_size)
    with model.eval_mode():
        if isinstance(inputs, PreparedInputs):
            inputs.check_floating()
            x = inputs.x(model)
            names = inputs.feature_names()
            task = _array_task(model, method, x, inputs.forward(model), batch_size, progress, feature_names, names)
            task.rows_matter = inputs.rows_matter
        elif is_texts(inputs) and getattr(model, "is_text", False):
            texts = [inputs] if isinstance(inputs, str) else list(inputs)
            encoded = model.encode(texts)
            ids, mask = encoded["input_ids"], encoded.get("attention_mask")
            if mask is None:
                mask = torch.ones_like(ids)
            with torch.no_grad():
                x = model.input_embeddings()(ids).detach()

            def forward(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
                return model.forward_embeddings(xb, mask[rows])

            tokens = _text_tokens(model, texts, ids, mask)
            stored = compact_tokens(ids, mask).cpu().numpy().astype(np.int64)
            task = Task(
                model,
                method,
                "text",
                x,
                forward,
                torch.empty(0),
                torch.empty(0),
                batch_size,
                progress,
                inputs=stored,
                texts=texts,
                tokens=tokens,
                attention_mask=mask,
            )
        else:
            if is_texts(inputs):
                raise UnsupportedModelError(
                    "model",
                    "a text model (deepscope.Model with a tokenizer) for texts",
                    model.kind,
                    hint="pass the tokenizer: deepscope.Model(module, tokenizer)",
                )
            array, names = to_numeric_array(inputs, floating=True)
            x = model.prepare(array)
            if not isinstance(x, torch.Tensor) or not x.is_floating_point():
                raise ArgumentTypeError("inputs", "floating-point values", describe(x))
            x = x.detach()

            def forward(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
                return model.forward(xb)

            task = _array_task(model, method, x, forward, batch_size, progress, feature_names, names)
        if defer_targets:
            from deepscope.model.targets import normalize_target

            task.target = task.outputs = None
            task.target_spec = normalize_target(target, task.n, getattr(model, "labels", None))
        else:
            task.outputs = task.predict(task.x, task.rows)
            task.target = resolve_targets(model, target, task.outputs)
        yield task


@contextmanager
def predict_task(
    model: Any,
    inputs: Any,
    *,
    method: str,
    target: Any,
    batch_size: int | None,
    progress: bool | None,
    feature_names: Sequence[str] | None = None,
    policy: str = "perturbation",
) -> Iterator[Task]:
    """A task for a method that only evaluates the model (any callable works).

    For text the task holds no tensor inputs: ``task.texts`` and ``predict_texts`` instead.
    ``policy``: how passes are sized unless ``batch_size`` is given ("perturbation": one copy of
    every example per pass; "sampling": a fixed number of model rows per call). Tables ignore
    the model's own batch size (its rows are small: see ``deepscope.explain._rows``).
    """
    model = as_model(model)
    requested = batch_size
    batch_size = requested_batch_size(model, batch_size)
    module = getattr(model, "module", None)
    with model.eval_mode():
        if isinstance(inputs, PreparedInputs):
            x = inputs.x(model)
            names = inputs.feature_names()
            task = _array_task(model, method, x, inputs.forward(model), batch_size, progress, feature_names, names)
            task.rows_matter = inputs.rows_matter
            task.policy = policy
            if task.kind == "tabular" and requested is None:
                task.batch_size = None
            task.outputs = task.predict(task.x, task.rows)
        elif is_texts(inputs):
            texts = [inputs] if isinstance(inputs, str) else list(inputs)
            outputs = predict_texts(model, texts, batch_size or sampling_rows(False))
            task = Task(
                model,
                method,
                "text",
                torch.empty(len(texts), 0),
                _no_forward,
                torch.empty(0),
                outputs,
                batch_size,
                progress,
                texts=texts,
                policy=policy,
            )
        else:
            array, names = to_numeric_array(inputs, floating=False)
            if module is not None:
                x = model.prepare(array).detach()
                if not x.is_floating_point():
                    x = x.float()

                def forward(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
                    return model.forward(xb)

            else:
                x = torch.as_tensor(np.array(array, dtype=np.float64))

                def forward(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
                    out = model.predict(xb.cpu().numpy(), batch_size=len(xb), progress=False)
                    return as_2d_outputs(np.asarray(out, dtype=np.float64))

            task = _array_task(model, method, x, forward, batch_size, progress, feature_names, names)
            task.policy = policy
            if task.kind == "tabular" and requested is None:
                task.batch_size = None
            task.outputs = task.predict(task.x, task.rows)
        task.target = resolve_targets(model, target, task.resolved_outputs)
        yield task


def _array_task(
    model: Any,
    method: str,
    x: torch.Tensor,
    forward: ForwardFn,
    batch_size: int | None,
    progress: bool | None,
    feature_names: Sequence[str] | None,
    names: list[str] | None,
) -> Task:
    """The task of image, tabular or array inputs ``x`` (targets and outputs still to resolve);
    tables get feature names: the given ones, those of the inputs (a DataFrame's), or x0, x1..."""
    kind = input_kind(x)
    if kind == "tabular":
        names = check_feature_names(feature_names, x.shape[1], names) or [f"x{i}" for i in range(x.shape[1])]
    else:
        names = None
    return Task(
        model,
        method,
        kind,
        x,
        forward,
        torch.empty(0),
        torch.empty(0),
        batch_size,
        progress,
        inputs=x.detach().cpu().numpy(),
        feature_names=names,
    )


def requested_batch_size(model: Any, batch_size: Any) -> int | None:
    """The rows per pass the caller asked for: ``batch_size``, else the model's own when it was
    given (``deepscope.Model(..., batch_size=...)``); None lets the policy decide."""
    if batch_size is None:
        return getattr(model, "requested_batch_size", None)
    return check_positive_int(batch_size, "batch_size")


def _no_forward(xb: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    raise UnsupportedModelError("inputs", "tensor inputs for this step", "texts")


def image_baseline(task: Task, baseline: Any, argument: str = "baseline") -> torch.Tensor:
    """The baseline in the task's attribution space: [1 or N, *x.shape[1:]].

    None is zeros (for text: the zero embedding); ``"pad"`` (text) is the padding token's embedding.
    """
    if baseline is None:
        return torch.zeros((1, *task.x.shape[1:]), dtype=task.x.dtype, device=task.x.device)
    if isinstance(baseline, str):
        if baseline == "pad" and task.kind == "text":
            pad = getattr(task.model.tokenizer, "pad_token_id", None) or 0
            ids = torch.full(task.x.shape[:2], int(pad), dtype=torch.long, device=task.x.device)
            with torch.no_grad():
                return task.model.input_embeddings()(ids).detach()
        raise InvalidArgumentError(argument, "None, a number, an array, or 'pad' for text", baseline)
    return broadcast_value(baseline, task.x, argument)


def _all_rows(rows: torch.Tensor, n: int) -> bool:
    """Whether ``rows`` is 0, 1, ..., n - 1 (a task's own examples, in order)."""
    return len(rows) == n and bool(torch.equal(rows, torch.arange(n, device=rows.device)))
