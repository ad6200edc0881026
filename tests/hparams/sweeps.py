"""Logdirs and tables the hyper-parameter tests share: a small sweep with a diverged run."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from deepscope.track import Run

STEPS = 12
DIVERGED = "run-03"


def sweep_logdir(logdir: Path, *, runs: int = 10, seed: int = 0) -> Path:
    """``runs`` runs: lr (log-spaced), width, optimizer, dropout; train/loss, val/loss and
    val/accuracy per step. ``run-03`` diverges: its losses are NaN from step 9 on."""
    rng = np.random.default_rng(seed)
    for i in range(runs):
        lr = float(10 ** rng.uniform(-4, -1))
        hparams = {
            "lr": lr,
            "width": int(rng.choice([16, 32, 64, 128])),
            "optimizer": str(rng.choice(["sgd", "adam"])),
            "dropout": round(float(rng.uniform(0, 0.5)), 2),
        }
        with Run(logdir, name=f"run-{i:02d}", hparams=hparams) as run:
            for step in range(STEPS):
                train = 2.0 * math.exp(-step * lr * 30) + 0.1 + float(rng.normal(0, 0.01))
                val = train + 0.05 + 0.01 * step * hparams["dropout"]
                accuracy = 0.5 + 0.4 * (1 - math.exp(-step / 4)) * (1 - abs(math.log10(lr) + 2.5) / 4)
                if f"run-{i:02d}" == DIVERGED and step >= 9:
                    train = val = float("nan")
                run.log({"train/loss": train, "val/loss": val, "val/accuracy": accuracy}, step=step)
    return logdir


def results_frame(rows: int = 40, seed: int = 1) -> pd.DataFrame:
    """A HiPlot-style results table: a log-spaced lr, a categorical, ints, a NaN and text ids."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "trial": [f"t{i:03d}" for i in range(rows)],
        "lr": 10 ** rng.uniform(-5, -1, rows),
        "optimizer": rng.choice(["adam", "sgd", "rmsprop"], rows),
        "layers": rng.integers(1, 5, rows),
        "accuracy": rng.uniform(0.5, 0.95, rows),
    })  # fmt: skip
    frame.loc[3, "accuracy"] = np.nan
    return frame


def schedule_logdir(logdir: Path, *, lrs: tuple[float, ...] = (0.3, 0.03, 0.003)) -> Path:
    """Runs whose hyper-parameter ``lr`` is also a scalar tag: the learning-rate schedule (halved
    every step from the hyper-parameter's value), logged beside val/loss and val/accuracy."""
    for i, lr in enumerate(lrs):
        with Run(logdir, name=f"sched-{i}", hparams={"lr": lr, "width": 16 * (i + 1)}) as run:
            for step in range(6):
                run.log(
                    {"lr": lr * 0.5**step, "val/loss": 1.0 / (step + 1) + lr, "val/accuracy": 0.5 + 0.05 * step - lr},
                    step=step,
                )
    return logdir
