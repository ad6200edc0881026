"""deepscope.integrations.torch_loop.Tracker against a real run store and a real training loop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import deepscope as ds
from deepscope.debug import numerics
from deepscope.errors import ArgumentTypeError, InvalidArgumentError
from deepscope.integrations import Tracker


def loop(tracker, model, steps, *, start=None):
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for i in range(steps):
        x = torch.randn(16, 3)
        loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step = None if start is None else start + i
        tracker.log_step(loss=loss, metrics={"train/lr": 0.05, "note": "skipped"}, step=step)
        losses.append(loss.item())
    return losses


def test_logs_scalars_histograms_hparams_and_steps_the_debugger(tmp_path):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    with ds.Run(tmp_path, name="loop") as run, numerics(model) as dbg:
        tracker = Tracker(run, model, log_every=2, histograms=True, histogram_every=4, numerics=dbg)
        tracker.log_hparams({"optimizer": {"name": "sgd", "lr": 0.05}, "layers": [3, 4, 1]})
        losses = loop(tracker, model, steps=9)
    assert dbg.current_step == 9
    assert sorted(dbg.stats().step.unique()) == list(range(9))

    logdir = ds.open_logdir(tmp_path)
    assert set(logdir.scalar_tags()) == {"train/loss", "train/lr"}
    loss = logdir.scalars(["train/loss"])
    assert loss.step.tolist() == [0, 2, 4, 6, 8]
    assert loss.value.tolist() == pytest.approx(losses[::2], rel=1e-6)
    names = [name for name, _ in model.named_parameters()]
    expected = {f"weights/{n}" for n in names} | {f"gradients/{n}" for n in names}
    assert set(logdir.histogram_tags()) == expected
    hist = logdir.histograms("weights/0.weight")
    assert hist.step.tolist() == [0, 4, 8] and hist["count"].tolist() == [12, 12, 12]
    info = logdir.runs().set_index("run").loc["loop"]
    hparams = {**info["hparams"], **info["meta"].get("hparams", {})}
    assert hparams["optimizer/lr"] == 0.05 and hparams["optimizer/name"] == "sgd"
    assert info["meta"]["model"]["parameters"] == sum(p.numel() for p in model.parameters())


def test_explicit_steps(tmp_path):
    model = nn.Linear(3, 1)
    with ds.Run(tmp_path, name="explicit") as run:
        tracker = Tracker(run)
        loop(tracker, model, steps=3, start=100)
        assert tracker.log_step(loss=0.5) == 103
    steps = ds.open_logdir(tmp_path).scalars(["train/loss"]).step.tolist()
    assert steps == [100, 101, 102, 103]


def test_bad_arguments(tmp_path):
    with ds.Run(tmp_path, name="bad") as run:
        with pytest.raises(ArgumentTypeError, match="run"):
            Tracker("not a run")
        with pytest.raises(InvalidArgumentError, match="log_every"):
            Tracker(run, log_every=0)
        with pytest.raises(InvalidArgumentError, match="model"):
            Tracker(run, histograms=True)
        with pytest.raises(InvalidArgumentError, match="loss"):
            Tracker(run).log_step(loss=torch.ones(3))
