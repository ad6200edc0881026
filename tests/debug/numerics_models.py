"""The model the numerics tests debug: a normalisation that divides by zero from a chosen step on."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class Divide(nn.Module):
    """x / denominator: a normalisation whose denominator collapses to zero from some step on."""

    def __init__(self):
        super().__init__()
        self.denominator = 1.0

    def forward(self, x):
        return x / self.denominator


def make_model() -> nn.Module:
    """embed -> act -> block (Linear, ReLU, Divide at ``block.2``) -> head, seeded."""
    torch.manual_seed(0)
    return nn.Sequential(OrderedDict(
        embed=nn.Linear(4, 8),
        act=nn.Tanh(),
        block=nn.Sequential(nn.Linear(8, 8), nn.ReLU(), Divide()),
        head=nn.Linear(8, 2),
    ))  # fmt: skip
