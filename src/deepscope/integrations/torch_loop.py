"""Logging from a plain PyTorch training loop.

>>> import tempfile, torch
>>> import deepscope as ds
>>> from deepscope.integrations.torch_loop import Tracker
>>> model = torch.nn.Linear(3, 1)
>>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
>>> with ds.Run(tempfile.mkdtemp(), name="loop") as run:
...     tracker = Tracker(run, model, log_every=2, histograms=True)
...     for step in range(4):
...         loss = model(torch.randn(8, 3)).pow(2).mean()
...         optimizer.zero_grad()
...         loss.backward()
...         optimizer.step()
...         _ = tracker.log_step(loss=loss, metrics={"lr": 0.1})
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.integrations._common import (
    check_run,
    flat_hparams,
    log_parameter_histograms,
    scalar,
    scalars,
    set_hparams,
)
from deepscope.validation import check_int

__all__ = ["Tracker"]


class Tracker:
    """Logs a training loop's loss and metrics, and on request weight/gradient histograms.

    Call :meth:`log_step` once per optimisation step, after ``optimizer.step()`` and before the
    next ``zero_grad()`` so the gradients are still there. Every ``log_every`` steps it logs
    ``train/loss`` and ``metrics`` (tags used as given) at that step; with ``histograms=True`` and
    a ``model`` it also logs ``weights/<param>`` and ``gradients/<param>`` histograms every
    ``histogram_every`` steps (default: ``log_every``). A numerics debugger given as ``numerics``
    (or set later on ``tracker.numerics``) is advanced with ``dbg.step()`` on every call.
    """

    def __init__(
        self,
        run: Any,
        model: Any = None,
        *,
        log_every: int = 1,
        histograms: bool = False,
        histogram_every: int | None = None,
        numerics: Any = None,
    ):
        self.run = check_run(run)
        self.model = getattr(model, "module", model) if model is not None else None
        if self.model is not None and not hasattr(self.model, "named_parameters"):
            raise ArgumentTypeError("model", "a torch.nn.Module, a deepscope.Model or None", model)
        self.log_every = _positive("log_every", log_every)
        self.histogram_every = _positive("histogram_every", log_every if histogram_every is None else histogram_every)
        if histograms and self.model is None:
            raise InvalidArgumentError("model", "a model when histograms=True", None, "Pass Tracker(run, model, ...)")
        self.histograms = bool(histograms)
        self.numerics = numerics
        self._next_step = 0
        if self.model is not None:
            parameters = list(self.model.parameters())
            self.run.set_meta("model", {
                "class": type(self.model).__qualname__,
                "parameters": sum(p.numel() for p in parameters),
                "trainable": sum(p.numel() for p in parameters if p.requires_grad),
            })  # fmt: skip

    def log_step(
        self,
        loss: Any = None,
        metrics: Mapping[str, Any] | None = None,
        step: int | None = None,
    ) -> int:
        """Log one step (``step`` defaults to the previous one + 1, from 0); returns the step used."""
        current: int = self._next_step if step is None else check_int(step, "step", low=0)
        if current % self.log_every == 0:
            values = {}
            if loss is not None:
                number = scalar(loss)
                if number is None:
                    raise InvalidArgumentError("loss", "a single number or one-element tensor", loss)
                values["train/loss"] = number
            values.update(scalars(metrics or {}))
            if values:
                self.run.log(values, step=current)
        if self.histograms and current % self.histogram_every == 0:
            log_parameter_histograms(self.run, self.model, current)
        if self.numerics is not None:
            self.numerics.step()
        self._next_step = current + 1
        return current

    def log_hparams(self, params: Any) -> None:
        """Record hyper-parameters (a dict, dataclass or Namespace; nested dicts are flattened)."""
        set_hparams(self.run, flat_hparams(params))


def _positive(name: str, value: Any) -> int:
    return check_int(value, name, low=1)
