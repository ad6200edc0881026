"""A Hugging Face ``TrainerCallback`` that logs to a deepscope run.

>>> from deepscope.integrations import DeepscopeCallback  # doctest: +SKIP
>>> trainer = Trainer(model, args, callbacks=[DeepscopeCallback("logs/")])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any, cast

from deepscope.errors import MissingDependencyError
from deepscope.integrations._common import (
    check_run,
    flat_hparams,
    log_parameter_histograms,
    scalars,
    set_hparams,
)
from deepscope.validation import check_int

try:
    from transformers import TrainerCallback
except ImportError as error:  # pragma: no cover - exercised only without transformers
    raise MissingDependencyError("transformers", "nlp", "DeepscopeCallback") from error

__all__ = ["DeepscopeCallback"]


class DeepscopeCallback(TrainerCallback):
    """Logs a ``transformers.Trainer``'s scalars, hyper-parameters and, on request, histograms.

    ``run_or_logdir`` is a deepscope ``Run`` (kept open at the end of training: the caller owns
    it) or a log directory, in which case the callback opens a run named ``name`` when training
    begins and finishes it when training ends (a second ``train()`` opens another run).
    Hyper-parameters are the ``TrainingArguments`` (and the model's config under ``model/``).
    Scalars are the Trainer's logs at ``step=state.global_step``, named as TensorBoard's callback
    names them (``train/loss``, ``eval/loss``, ...). ``histograms=True`` adds ``weights/<param>``
    and ``gradients/<param>`` every ``histogram_every`` optimisation steps (default: the Trainer's
    ``logging_steps``).
    A numerics debugger given as ``numerics`` is advanced at the end of every step.
    """

    def __init__(
        self,
        run_or_logdir: Any,
        *,
        name: str | None = None,
        histograms: bool = False,
        histogram_every: int | None = None,
        numerics: Any = None,
    ):
        if isinstance(run_or_logdir, (str, os.PathLike)):
            self.run = None
            self.logdir = run_or_logdir
        else:
            self.run = check_run(run_or_logdir, "run_or_logdir")
            self.logdir = None
        histogram_every = check_int(histogram_every, "histogram_every", low=1, allow_none=True)
        self.name = name
        self.histograms = bool(histograms)
        self.histogram_every = histogram_every
        self.numerics = numerics
        self._owns_run = self.run is None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not state.is_world_process_zero:
            return
        hparams = flat_hparams(args.to_sanitized_dict())
        config = getattr(model, "config", None)
        if config is not None and hasattr(config, "to_diff_dict"):
            hparams.update(flat_hparams({"model": config.to_diff_dict()}))
        if self.run is None:
            from deepscope.track import Run

            logdir = cast("str | os.PathLike[str]", self.logdir)  # set whenever run is None
            self.run = Run(logdir, name=self.name, hparams=hparams)
        else:
            set_hparams(self.run, hparams)

    def on_optimizer_step(self, args, state, control, model=None, **kwargs):
        # After the update and before zero_grad: weights and gradients of the step being finished.
        if not (self.histograms and state.is_world_process_zero and model is not None):
            return
        step = state.global_step + 1
        every = self.histogram_every or max(int(state.logging_steps or 1), 1)
        if self.run is not None and step % every == 0:
            log_parameter_histograms(self.run, model, step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.numerics is not None:
            self.numerics.step()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or self.run is None or not logs:
            return
        values = scalars(_rename(logs))
        if values:
            self.run.log(values, step=state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        if self.run is None or not state.is_world_process_zero:
            return
        if self._owns_run:
            self.run.finish()
            self.run = None  # a second train() opens a new run
        else:
            self.run.flush()


def _rename(logs: dict[str, Any]) -> dict[str, Any]:
    """``eval_loss`` -> ``eval/loss``, ``test_x`` -> ``test/x``, anything else -> ``train/<key>``."""
    out = {}
    for key, value in logs.items():
        for prefix in ("eval", "test"):
            if key.startswith(prefix + "_"):
                out[f"{prefix}/{key[len(prefix) + 1 :]}"] = value
                break
        else:
            out[key if "/" in key else f"train/{key}"] = value
    return out
