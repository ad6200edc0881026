"""Zoo fixtures: a private cache folder for the whole session and each model trained once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def zoo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """DEEPSCOPE_CACHE_DIR points at a temporary folder; one thread keeps training polite."""
    root = tmp_path_factory.mktemp("zoo-cache")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DEEPSCOPE_CACHE_DIR", str(root))
        yield root
    torch.set_num_threads(threads)


class FakeRun:
    """Records the two Run methods training may call."""

    def __init__(self) -> None:
        self.logged: list[tuple[dict[str, float], int | None]] = []
        self.meta: dict[str, Any] = {}

    def log(self, values: dict[str, float], step: int | None = None) -> None:
        self.logged.append((dict(values), step))

    def set_meta(self, key: str, value: Any) -> None:
        self.meta[key] = value


@pytest.fixture
def fake_run() -> FakeRun:
    return FakeRun()


_TRAINED: dict[str, Any] = {}


@pytest.fixture(scope="session")
def trained(zoo_cache: Path) -> Any:
    """trained(name) -> (TrainResult, FakeRun) of the default model, trained once per session."""
    from deepscope import zoo

    def get(name: str) -> Any:
        if name not in _TRAINED:
            run = FakeRun()
            _TRAINED[name] = (zoo.train(name, seed=0, run=run, progress=False), run)
        return _TRAINED[name]

    return get
