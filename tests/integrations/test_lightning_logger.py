"""deepscope.integrations.DeepscopeLogger with a real lightning.Trainer on a tiny random model."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import deepscope as ds

lightning = pytest.importorskip("lightning")
from deepscope.integrations import DeepscopeLogger  # noqa: E402


class TinyRegressor(lightning.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 4, optimizer: dict | None = None):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(3, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def data(n=32):
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, generator=generator)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=8)


def trainer(logger, root, **kwargs):
    return lightning.Trainer(
        max_steps=6, logger=logger, default_root_dir=root, accelerator="cpu", devices=1,
        enable_progress_bar=False, enable_model_summary=False, log_every_n_steps=1,
        num_sanity_val_steps=0, **kwargs,
    )  # fmt: skip


def test_logs_scalars_hparams_and_histograms(tmp_path):
    torch.manual_seed(0)
    logdir = tmp_path / "logs"
    logger = DeepscopeLogger(logdir, name="pl-run", histograms=True, histogram_every=2)
    model = TinyRegressor(optimizer={"name": "sgd", "momentum": 0.0})
    fit = trainer(logger, tmp_path / "root", val_check_interval=3)
    fit.fit(model, data(), data(16))
    assert ds.open_logdir(logdir).runs()["status"].tolist() == ["finished"]

    fit.test(model, data(16))  # the same logger again: appends to the same run

    store = ds.open_logdir(logdir)
    assert store.run_names() == ["pl-run"]
    info = store.runs().set_index("run").loc["pl-run"]
    assert info["status"] == "finished"
    assert info["hparams"] == {
        "lr": 0.05,
        "hidden": 4,
        "optimizer/name": "sgd",
        "optimizer/momentum": 0.0,
    }
    tags = set(store.scalar_tags())
    assert {"train_loss", "val_loss", "test_loss", "epoch"} <= tags
    train_steps = store.scalars(["train_loss"]).step.tolist()
    assert train_steps == [0, 1, 2, 3, 4, 5]
    # 4 batches an epoch, validation after the 3rd: once in 6 steps, logged at the step it ran.
    assert store.scalars(["val_loss"]).step.tolist() == [2]
    hist_tags = set(store.histogram_tags())
    assert {"weights/net.0.weight", "gradients/net.0.weight", "weights/net.2.bias"} <= hist_tags
    assert store.histograms("weights/net.0.weight").step.tolist() == [0, 2, 4]
    # Checkpoints stay out of the logdir.
    assert not (logdir / "pl-run" / "checkpoints").exists()


def test_default_name_and_properties(tmp_path):
    logger = DeepscopeLogger(tmp_path)
    assert logger.name and logger.version == "" and logger.save_dir is None
    run = logger.experiment
    assert run.name == logger.name and logger.log_dir == str(run.path)
    logger.log_hyperparams({"a": 1})
    logger.log_metrics({"x": 1.0}, step=3)
    logger.finalize("failed")
    info = ds.open_logdir(tmp_path).runs().iloc[0]
    assert info["status"] == "failed" and info["hparams"] == {"a": 1}


def test_bad_arguments(tmp_path):
    with pytest.raises(ds.errors.ArgumentTypeError, match="logdir"):
        DeepscopeLogger(3)
    with pytest.raises(ds.errors.InvalidArgumentError, match="histogram_every"):
        DeepscopeLogger(tmp_path, histogram_every=0)
