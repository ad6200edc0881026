"""A tiny hand-built CNN and images for the features tests."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
from torch import nn


def tiny_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(
        OrderedDict(
            conv1=nn.Conv2d(3, 4, 3, padding=1),
            relu1=nn.ReLU(),
            pool1=nn.MaxPool2d(2),
            conv2=nn.Conv2d(4, 6, 3, stride=2, padding=1),
            relu2=nn.ReLU(),
            pool2=nn.AdaptiveAvgPool2d(1),
            flatten=nn.Flatten(),
            fc=nn.Linear(6, 3),
        )
    ).eval()
    with torch.no_grad():  # zero-mean filters, no biases: noise excites them little, a pattern a lot
        for layer in (net.conv1, net.conv2):
            layer.weight -= layer.weight.mean(dim=(1, 2, 3), keepdim=True)
            layer.weight *= 4
            layer.bias.zero_()
    return net


@pytest.fixture
def cnn() -> nn.Module:
    return tiny_cnn()


@pytest.fixture
def images() -> np.ndarray:
    return np.random.default_rng(0).random((64, 3, 16, 16)).astype(np.float32)
