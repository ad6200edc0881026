"""The run store: write runs with :class:`Run`, read a folder of runs with :func:`open_logdir`.

A logdir holds one folder per run. Each run folder has a SQLite index in WAL mode (run info,
hparams, meta, scalars as columnar chunks, histograms) and files beside it for large things
(images and embeddings as ``.npy``, tables and result frames as Parquet); nothing is pickled.
Writers and readers work at the same time, across threads and processes.

>>> import tempfile, deepscope as ds
>>> folder = tempfile.mkdtemp()
>>> with ds.Run(folder, name="baseline", hparams={"lr": 0.01}) as run:
...     for epoch in range(3):
...         run.log({"val/accuracy": 0.5 + 0.1 * epoch})
>>> logdir = ds.open_logdir(folder)
>>> logdir.last_scalars()[["run", "tag", "step"]].to_dict("records")
[{'run': 'baseline', 'tag': 'val/accuracy', 'step': 2}]
"""

from typing import TYPE_CHECKING, Any

from deepscope.track.downsample import downsample
from deepscope.track.logdir import EmbeddingRecord, ImageRecord, Logdir, open_logdir
from deepscope.track.run import Run
from deepscope.track.tensorboard import import_tensorboard

if TYPE_CHECKING:
    from deepscope.track.smoothing import smooth


def __getattr__(name: str) -> Any:
    # Smoothing's filter comes from scipy.signal, 0.6 s to import: a script that only logs runs
    # never pays it.
    if name == "smooth":
        from deepscope.track.smoothing import smooth

        return smooth
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Run",
    "smooth",
    "downsample",
    "open_logdir",
    "Logdir",
    "import_tensorboard",
    "ImageRecord",
    "EmbeddingRecord",
]
