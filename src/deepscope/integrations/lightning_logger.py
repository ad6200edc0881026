"""A PyTorch Lightning logger that writes a deepscope run.

>>> from deepscope.integrations import DeepscopeLogger  # doctest: +SKIP
>>> trainer = lightning.Trainer(max_epochs=3, logger=DeepscopeLogger("logs/"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import secrets
import time
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deepscope.errors import ArgumentTypeError, MissingDependencyError
from deepscope.integrations._common import flat_hparams, log_parameter_histograms, scalars
from deepscope.validation import check_int

if TYPE_CHECKING:  # one declaration for the checker; lightning re-exports these without __all__
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment  # pyright: ignore[reportPrivateImportUsage]
    from lightning.pytorch.utilities.rank_zero import rank_zero_only  # pyright: ignore[reportPrivateImportUsage]
else:
    try:
        from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
        from lightning.pytorch.utilities.rank_zero import rank_zero_only
    except ImportError:  # pragma: no cover - the older package name
        try:
            from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment
            from pytorch_lightning.utilities.rank_zero import rank_zero_only
        except ImportError as error:
            raise MissingDependencyError("lightning", "lightning", "DeepscopeLogger") from error

__all__ = ["DeepscopeLogger"]

_STATUS = {"success": "finished", "finished": "finished", "failed": "failed"}


class DeepscopeLogger(Logger):
    """Lightning ``Logger`` writing scalars and hyper-parameters into ``logdir/<name>``.

    The run (``experiment``, a deepscope ``Run``) is opened when Lightning first logs, with the
    module's ``save_hyperparameters()`` as its hparams (nested dicts flattened with ``/``).
    Metrics are logged under the names given to ``self.log`` at Lightning's global step.
    ``finalize`` finishes the run with Lightning's status; a later ``fit``/``test`` on the same
    logger appends to the same run. ``histograms=True`` adds ``weights/<param>`` and
    ``gradients/<param>`` histograms of the module (the one Lightning passes to ``log_graph``) at
    most once per step, every ``histogram_every`` steps, while the module is in training mode.
    Checkpoints go where Lightning puts them for loggers without a folder of their own:
    ``default_root_dir/<name>/checkpoints``.
    """

    def __init__(
        self,
        logdir: str | os.PathLike[str],
        name: str | None = None,
        *,
        histograms: bool = False,
        histogram_every: int = 1,
    ):
        super().__init__()
        if not isinstance(logdir, (str, os.PathLike)):
            raise ArgumentTypeError("logdir", "a folder path", logdir)
        if name is not None and not isinstance(name, str):
            raise ArgumentTypeError("name", "a run name (string) or None", name)
        histogram_every = check_int(histogram_every, "histogram_every", low=1)
        self._logdir = Path(logdir)
        # Lightning asks for the name before anything is logged, so pick it now rather than
        # letting the Run choose it.
        self._name = name if name is not None else _default_name()
        self.histograms = bool(histograms)
        self.histogram_every = histogram_every
        self._hparams: dict[str, Any] = {}
        self._run: Any = None
        self._opened = False
        self._module: Any = None
        self._histogram_step: int | None = None

    # -- what Lightning asks about --------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return ""

    @property
    def root_dir(self) -> str:
        return str(self._logdir)

    @property
    def log_dir(self) -> str:
        """The run's folder (the run is opened if it is not yet)."""
        return str(self.experiment.path)

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The deepscope ``Run`` this logger writes to."""
        return self._ensure_run()

    # -- what Lightning calls -------------------------------------------------------------------

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        hparams = flat_hparams(params)
        if not hparams:
            return
        self._hparams.update(hparams)
        run = self._run
        if run is not None and run.status == "running" and hparams.items() <= run.hparams.items():
            return
        if run is not None and run.status == "running":
            # A run's hparams are fixed while it is open: reopen it to merge the new ones.
            run.finish()
        self._ensure_run()

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        run = self._ensure_run()
        values = scalars(metrics)
        if values:
            run.log(values, step=step)
        # Only while training: validation and test logs would pair the weights with stale gradients.
        if self.histograms and self._module is not None and self._module.training:
            at = run.step if step is None else step
            if at != self._histogram_step and at % self.histogram_every == 0:
                log_parameter_histograms(run, self._module, at)
                self._histogram_step = at

    @rank_zero_only
    def log_graph(self, model: Any, input_array: Any = None) -> None:
        self._module = model

    @rank_zero_only
    def save(self) -> None:
        if self._run is not None and self._run.status == "running":
            self._run.flush()

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if self._run is not None and self._run.status == "running":
            self._run.finish(_STATUS.get(status, "finished"))

    # -- internals ------------------------------------------------------------------------------

    def _ensure_run(self) -> Any:
        if self._run is None or self._run.status != "running":
            from deepscope.track import Run

            self._run = Run(self._logdir, name=self._name, hparams=self._hparams, resume=self._opened)
            self._opened = True
        return self._run

    def __getstate__(self) -> dict[str, Any]:
        # Lightning may pickle the logger (spawned processes); an open run cannot travel.
        state = self.__dict__.copy()
        state["_run"] = None
        state["_module"] = None
        return state


def _default_name() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
