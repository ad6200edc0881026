"""Tabular models: an encoder (standardise numbers, one-hot categories) and an MLP that carries it.

>>> import pandas as pd
>>> frame = pd.DataFrame({"x": [1.0, 3.0], "colour": ["red", "blue"]})
>>> enc = TabularEncoder(["x"], ["colour"]).fit(frame)
>>> enc.feature_names
['x', 'colour=blue', 'colour=red']
>>> enc.transform(frame).tolist()
[[-1.0, 0.0, 1.0], [1.0, 1.0, 0.0]]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from deepscope.errors import ArgumentTypeError, InvalidArgumentError

__all__ = ["TabularEncoder", "TabularMLP"]


class TabularEncoder:
    """Turns a DataFrame of raw features into a float32 matrix a network can take.

    Numeric columns are standardised with the training mean and standard deviation (a missing
    value becomes the mean, i.e. 0). Categorical columns become one indicator per category seen
    in training, sorted; a missing or unseen category gives all zeros.
    """

    def __init__(
        self,
        numeric: Sequence[str],
        categorical: Sequence[str],
        *,
        means: Sequence[float] | None = None,
        scales: Sequence[float] | None = None,
        levels: dict[str, list[str]] | None = None,
    ):
        self.numeric = list(numeric)
        self.categorical = list(categorical)
        self.means = None if means is None else np.asarray(means, dtype=np.float64)
        self.scales = None if scales is None else np.asarray(scales, dtype=np.float64)
        self.levels = None if levels is None else {k: list(v) for k, v in levels.items()}

    @property
    def columns(self) -> list[str]:
        """The raw columns the encoder reads."""
        return self.numeric + self.categorical

    @property
    def fitted(self) -> bool:
        return self.means is not None

    def fit(self, frame: pd.DataFrame) -> TabularEncoder:
        """Learn means, scales and category levels from ``frame``; returns self."""
        self._check_frame(frame)
        values = frame[self.numeric].to_numpy(dtype=np.float64)
        self.means = np.nanmean(values, axis=0) if len(self.numeric) else np.zeros(0)
        scales = np.nanstd(values, axis=0) if len(self.numeric) else np.zeros(0)
        self.scales = np.where(scales > 0, scales, 1.0)
        self.levels = {c: sorted(str(v) for v in frame[c].dropna().unique()) for c in self.categorical}
        return self

    @property
    def feature_names(self) -> list[str]:
        """Names of the encoded columns: numeric names, then ``column=category``."""
        _, _, levels = self._fitted_state()
        return self.numeric + [f"{c}={level}" for c in self.categorical for level in levels[c]]

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 ``[N, n_features]``; columns not in ``columns`` are ignored."""
        means, scales, fitted_levels = self._fitted_state()
        self._check_frame(frame)
        numeric = frame[self.numeric].to_numpy(dtype=np.float64)
        numeric = (numeric - means) / scales
        numeric = np.where(np.isnan(numeric), 0.0, numeric)
        blocks = [numeric]
        for column in self.categorical:
            values = frame[column].astype(object).where(frame[column].notna(), None).to_numpy()
            levels = np.asarray(fitted_levels[column], dtype=object)
            blocks.append((values[:, None] == levels[None, :]).astype(np.float64))
        return np.concatenate(blocks, axis=1).astype(np.float32)

    def _check_frame(self, frame: Any) -> None:
        if not isinstance(frame, pd.DataFrame):
            raise ArgumentTypeError("frame", "a pandas DataFrame of raw features", frame)
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise InvalidArgumentError("frame", f"the columns {self.columns}", f"a frame without {missing}")

    def _require_fitted(self) -> None:
        self._fitted_state()

    def _fitted_state(self) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
        """(means, scales, levels) of a fitted encoder; an unfitted one raises."""
        if self.means is None or self.scales is None or self.levels is None:
            raise InvalidArgumentError("encoder", "a fitted encoder (call fit(frame) first)", "an unfitted one")
        return self.means, self.scales, self.levels

    def to_dict(self) -> dict[str, Any]:
        means, scales, levels = self._fitted_state()
        return {
            "type": "TabularEncoder",
            "numeric": self.numeric,
            "categorical": self.categorical,
            "means": means.tolist(),
            "scales": scales.tolist(),
            "levels": levels,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularEncoder:
        if not isinstance(data, dict) or data.get("type") != "TabularEncoder":
            raise InvalidArgumentError("data", "a TabularEncoder dictionary (from to_dict)", data)
        return cls(
            data["numeric"],
            data["categorical"],
            means=data["means"],
            scales=data["scales"],
            levels=data["levels"],
        )

    def save(self, path: str | Path) -> None:
        """Write the fitted encoder as JSON to ``path``."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> TabularEncoder:
        """Read an encoder written by ``save``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __repr__(self) -> str:
        state = f"{self.n_features} features" if self.fitted else "not fitted"
        return f"TabularEncoder(numeric={self.numeric}, categorical={self.categorical}, {state})"


class TabularMLP(nn.Module):
    """fc1 -> relu1 -> dropout1 -> fc2 -> relu2 -> dropout2 -> out, over encoded features.

    ``forward`` takes the encoded float tensor ``[N, n_features]``; it also accepts a DataFrame
    of raw features, which ``encoder`` turns into that tensor first.
    """

    def __init__(self, encoder: TabularEncoder, n_classes: int = 2, hidden: int = 32, dropout: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.fc1 = nn.Linear(encoder.n_features, hidden)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden, hidden)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, n_classes)

    def encode(self, frame: pd.DataFrame) -> torch.Tensor:
        """The encoded features of a raw frame, on the module's device."""
        return torch.as_tensor(self.encoder.transform(frame), device=self.out.weight.device)

    def forward(self, x: torch.Tensor | pd.DataFrame) -> torch.Tensor:
        if isinstance(x, pd.DataFrame):
            x = self.encode(x)
        x = self.dropout1(self.relu1(self.fc1(x)))
        x = self.dropout2(self.relu2(self.fc2(x)))
        return self.out(x)
