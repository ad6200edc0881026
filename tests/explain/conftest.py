"""Tiny models and inputs shared by the explain tests (all small enough for two shared cores)."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn


def own_options(function: Callable) -> dict[str, str]:
    """A method option named like each keyword argument of a score (but target), to check that
    each reaches the method instead of the score."""
    names = [
        p.name
        for p in inspect.signature(function).parameters.values()
        if p.kind is p.KEYWORD_ONLY and p.name not in ("target", "method_options")
    ]
    return {name: f"the method's {name}" for name in names}


class SmallCNN(nn.Module):
    """Two convolutions, then global pooling and a linear head (no in-place ReLUs, for Captum)."""

    def __init__(self, channels: int = 3, classes: int = 3, width: int = 6):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, width, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(width, width, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4 * width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.flat(self.pool(self.relu2(self.conv2(self.relu1(self.conv1(x)))))))


class TinyText(nn.Module):
    """Embedding -> tanh(linear) -> masked mean -> linear; takes input_ids or inputs_embeds."""

    def __init__(self, vocab: int, dim: int = 8, classes: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.hidden = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, classes)

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embed

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        e = self.embed(input_ids) if inputs_embeds is None else inputs_embeds
        h = torch.tanh(self.hidden(e))
        if attention_mask is None:
            attention_mask = torch.ones(e.shape[:2], device=e.device)
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        return self.out((h * m).sum(1) / m.sum(1).clamp(min=1))


@pytest.fixture
def cnn() -> SmallCNN:
    torch.manual_seed(0)
    return SmallCNN().eval()


@pytest.fixture
def images() -> torch.Tensor:
    return torch.rand(5, 3, 10, 10, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 3)).eval()


@pytest.fixture
def table() -> torch.Tensor:
    return torch.randn(8, 6, generator=torch.Generator().manual_seed(2))


@pytest.fixture
def linear() -> tuple[nn.Linear, np.ndarray]:
    """f(x) = w . x (no bias) with its weights."""
    net = nn.Linear(5, 1, bias=False)
    w = np.array([[2.0, -1.0, 0.5, 3.0, -0.25]], dtype=np.float32)
    with torch.no_grad():
        net.weight.copy_(torch.from_numpy(w))
    return net, w[0]


@pytest.fixture
def text_model():
    from deepscope.model import Model
    from deepscope.zoo.tokenizer import WordTokenizer

    texts = ["the movie was good", "the film was bad", "not good at all", "a great film"]
    tokenizer = WordTokenizer.from_texts(texts)
    torch.manual_seed(0)
    module = TinyText(len(tokenizer.vocab)).eval()
    return Model(module, tokenizer, labels=["negative", "positive"]), texts


def bars(n: int, size: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy images [n, 1, size, size] of a horizontal (class 0) or vertical (class 1) bar."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 0.15, (n, 1, size, size)).astype(np.float32)
    y = rng.integers(0, 2, n)
    for i in range(n):
        at, start = rng.integers(1, size - 1), rng.integers(0, size // 2)
        if y[i] == 0:
            x[i, 0, at, start : start + size // 2] += 1.0
        else:
            x[i, 0, start : start + size // 2, at] += 1.0
    return torch.from_numpy(x), torch.from_numpy(y)


@pytest.fixture(scope="session")
def trained_cnn() -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """A small CNN trained (in about a second) to tell horizontal from vertical bars."""
    torch.manual_seed(0)
    net = SmallCNN(channels=1, classes=2, width=8)
    x, y = bars(512, seed=0)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(3):
        for start in range(0, len(x), 64):
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(net(x[start : start + 64]), y[start : start + 64])
            loss.backward()
            optimizer.step()
    net.eval()
    test_x, test_y = bars(64, seed=1)
    return net, test_x, test_y
