"""The training loop every zoo model shares: AdamW with a one-cycle learning rate, cross-entropy,
one validation pass per epoch.

Everything random (initialisation, dropout, batch order) comes from ``seed`` inside
``torch.random.fork_rng``, so training is reproducible and leaves the caller's RNG untouched.
Training runs on one torch thread (see ``one_thread``).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, cast

import torch
import torch.nn.functional as F
from torch import nn

from deepscope.progress import tqdm
from deepscope.zoo.specs import Inputs, Prepared
from deepscope.zoo.text import CausalLM

__all__ = ["RunLike", "fit", "evaluate", "seeded"]


class RunLike(Protocol):
    """The two methods of ``deepscope.Run`` that training uses."""

    def log(self, values: Mapping[str, float], step: int | None = None) -> None: ...

    def set_meta(self, key: str, value: Any) -> None: ...


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one intra-op thread, then restore the caller's setting.

    These models are so small that extra threads mostly wait on each other (several times
    slower on a busy two-core machine), and one thread makes the trained weights independent of
    the machine's core count.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def seeded(seed: int, build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` with torch's global RNG seeded, then restored."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _rows(inputs: Inputs, targets: torch.Tensor, index: torch.Tensor | slice) -> tuple[Inputs, torch.Tensor]:
    """The rows ``index`` of inputs and targets; padded text is cut to the batch's longest row."""
    targets = targets[index]
    if not isinstance(inputs, dict):
        return inputs[index], targets
    batch = {k: v[index] for k, v in inputs.items()}
    if "attention_mask" in batch and batch["attention_mask"].numel():
        width = int(batch["attention_mask"].sum(dim=1).max())
        batch = {k: v[:, :width] for k, v in batch.items()}
        if targets.dim() == 2:
            targets = targets[:, :width]
    return batch, targets


def _call(module: nn.Module, inputs: Inputs) -> torch.Tensor:
    return module(**inputs) if isinstance(inputs, dict) else module(inputs)


def _loss_and_hits(
    module: nn.Module, inputs: Inputs, targets: torch.Tensor, task: str
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(mean loss, number of correct predictions, number of predictions) for one batch."""
    logits = _call(module, inputs)
    if task == "language_model":
        # predict token t+1 from positions <= t; padding positions are not targets
        mask = cast(dict[str, torch.Tensor], inputs)["attention_mask"][:, 1:].bool()  # language models take a dict
        logits, targets = logits[:, :-1][mask], targets[:, 1:][mask]
    loss = F.cross_entropy(logits, targets)
    hits = (logits.argmax(dim=-1) == targets).sum()
    return loss, hits, targets.numel()


@torch.no_grad()
def evaluate(
    module: nn.Module, inputs: Inputs, targets: torch.Tensor, task: str, batch_size: int = 256
) -> tuple[float, float]:
    """(mean loss per prediction, accuracy) of ``module`` in eval mode over all rows."""
    was_training = module.training
    module.eval()
    total_loss, total_hits, total = 0.0, 0, 0
    try:
        for start in range(0, len(targets), batch_size):
            rows = slice(start, start + batch_size)
            loss, hits, count = _loss_and_hits(module, *_rows(inputs, targets, rows), task)
            total_loss += float(loss) * count
            total_hits += int(hits)
            total += count
    finally:
        module.train(was_training)
    return total_loss / max(total, 1), total_hits / max(total, 1)


def fit(
    module: nn.Module,
    data: Prepared,
    *,
    task: str,
    hparams: Mapping[str, Any],
    seed: int,
    run: RunLike | None = None,
    progress: bool | None = None,
    desc: str = "training",
    on_epoch: Callable[[int, nn.Module], None] | None = None,
) -> dict[str, float]:
    """Train ``module`` in place on ``data``; return the final metrics on the held-out split.

    Metrics: ``loss``, ``accuracy`` (next-token accuracy for a language model), ``train_loss``,
    ``epochs``, ``train_seconds``; a language model adds ``perplexity`` and
    ``uniform_perplexity`` (the vocabulary size, what a uniform guess scores).
    ``on_epoch(epoch, module)`` runs after each epoch's metrics are logged (in eval mode), e.g. to
    log weight histograms or attributions that show how the model changes over training.
    """
    started = time.perf_counter()
    n = len(data.train_targets)
    batch_size = hparams["batch_size"]
    optimizer = torch.optim.AdamW(module.parameters(), lr=hparams["lr"], weight_decay=hparams["weight_decay"])
    steps_per_epoch = -(-n // batch_size)
    # one-cycle schedule: warm up, then anneal, so the last epoch ends settled, not noisy
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=hparams["lr"],
        total_steps=hparams["epochs"] * steps_per_epoch,
        pct_start=0.25,
    )
    generator = torch.Generator().manual_seed(seed)
    train_loss = val_loss = val_accuracy = math.nan
    with torch.random.fork_rng(devices=[]), one_thread():
        torch.manual_seed(seed)
        epochs = tqdm(
            range(1, hparams["epochs"] + 1),
            desc=desc,
            unit="epoch",
            disable=None if progress is None else not progress,
        )
        for epoch in epochs:
            module.train()
            order = torch.randperm(n, generator=generator)
            seen, summed = 0, 0.0
            for start in range(0, n, batch_size):
                rows = order[start : start + batch_size]
                batch, targets = _rows(data.train_inputs, data.train_targets, rows)
                loss, _, count = _loss_and_hits(module, batch, targets, task)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                summed += float(loss.detach()) * count
                seen += count
            train_loss = summed / max(seen, 1)
            val_loss, val_accuracy = evaluate(module, data.val_inputs, data.val_targets, task)
            epochs.set_postfix(loss=f"{train_loss:.3f}", val_accuracy=f"{val_accuracy:.3f}")
            if run is not None:
                run.log(
                    {"train/loss": train_loss, "val/loss": val_loss, "val/accuracy": val_accuracy},
                    step=epoch,
                )
            if on_epoch is not None:
                module.eval()
                on_epoch(epoch, module)
    module.eval()
    metrics = {
        "loss": val_loss,
        "accuracy": val_accuracy,
        "train_loss": train_loss,
        "epochs": float(hparams["epochs"]),
        "train_seconds": time.perf_counter() - started,
    }
    if task == "language_model":
        metrics["perplexity"] = math.exp(val_loss)
        metrics["uniform_perplexity"] = float(cast(CausalLM, module).get_input_embeddings().num_embeddings)
    return metrics
