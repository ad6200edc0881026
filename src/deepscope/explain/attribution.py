"""The Attribution result: how much each input feature, pixel or token counted for a prediction.

>>> import numpy as np
>>> from deepscope.explain import Attribution
>>> a = Attribution(values=np.array([[0.5, -0.25]]), method="saliency", target=np.array([1]),
...                 inputs=np.array([[1.0, 2.0]]), kind="tabular", feature_names=["a", "b"])
>>> a.to_frame().round(2).to_dict("records")
[{'a': 0.5, 'b': -0.25}]
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from deepscope.errors import InvalidArgumentError
from deepscope.result import Result

__all__ = ["Attribution"]


@dataclass(frozen=True, eq=False)
class Attribution(Result):
    """Attributions for a batch of examples, with what is needed to read them.

    - ``values``: same shape as the inputs ([N, C, H, W], [N, F]); Grad-CAM and LIME on images
      give one channel [N, 1, H, W]; text gives one value per token [N, T] (padding dropped, the
      row's tokens first, zeros after).
    - ``target``: the class index explained for each example; ``score`` the model's output for it.
    - ``delta``: integrated gradients' convergence delta per example, sum(values) - (f(x) -
      f(baseline)); other methods with a completeness property set it too. A noise tunnel over
      such a method gives one per noisy input [N, n_samples] (Captum's NoiseTunnel delta).
    - ``base_value``: the reference output the values add up from (KernelSHAP: E[f(background)];
      LIME: the surrogate's intercept), for waterfall charts.
    - ``kind``: ``image``, ``text``, ``tabular`` or ``array``.
    - ``input_shapes``: for a tuple of inputs, each input's example shape; ``values`` and
      ``inputs`` then hold every input's numbers flat, side by side ([N, F1 + F2 + ...]), and
      ``per_input()`` gives one attribution array per input, [N, *shape].
    """

    values: np.ndarray
    method: str
    target: np.ndarray
    inputs: np.ndarray | None = None
    kind: str = "array"
    options: dict[str, Any] = field(default_factory=dict)
    delta: np.ndarray | None = None
    score: np.ndarray | None = None
    base_value: np.ndarray | None = None
    tokens: list[list[str]] | None = None
    texts: list[str] | None = None
    feature_names: list[str] | None = None
    labels: list[str] | None = None
    input_shapes: list[list[int]] | None = None

    default_tag = "explain"
    #: image overlays, token highlights, or bar / waterfall / beeswarm; ``mode`` is ``"signed"``
    #: (diverging, centred on zero, the default), ``"positive"`` or ``"absolute"``
    figure_function = "deepscope.viz.attribution:attribution_figure"

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        extra = f", delta max {np.abs(self.delta).max():.2e}" if self.delta is not None else ""
        return (
            f"Attribution(method={self.method!r}, kind={self.kind!r}, "
            f"values shape {tuple(self.values.shape)}, {len(self)} examples{extra})"
        )

    def select(self, index: int | slice | list[int] | np.ndarray) -> Attribution:
        """The attributions of some examples, as an Attribution of their own."""
        rows = np.arange(len(self))[index]
        rows = np.atleast_1d(rows)

        def pick(value: Any) -> Any:
            if isinstance(value, np.ndarray) and value.ndim >= 1 and len(value) == len(self):
                return value[rows]
            if isinstance(value, list) and len(value) == len(self):
                return [value[i] for i in rows]
            return value

        return replace(
            self,
            values=self.values[rows],
            target=self.target[rows],
            inputs=pick(self.inputs),
            delta=pick(self.delta),
            score=pick(self.score),
            base_value=pick(self.base_value),
            tokens=pick(self.tokens),
            texts=pick(self.texts),
        )

    def per_input(self, field: str = "values") -> tuple[np.ndarray, ...]:
        """One array per input, [N, *shape] (``field``: ``"values"`` or ``"inputs"``); a single
        input gives a tuple of one.

        >>> a = Attribution(values=np.arange(10.0).reshape(2, 5), method="saliency",
        ...                 target=np.array([0, 0]), input_shapes=[[3], [1, 2]])
        >>> [v.shape for v in a.per_input()]
        [(2, 3), (2, 1, 2)]
        """
        if field not in ("values", "inputs"):
            raise InvalidArgumentError("field", "'values' or 'inputs'", field)
        array = self.values if field == "values" else self.inputs
        if array is None:
            raise InvalidArgumentError("field", "a field this attribution holds", field)
        if self.input_shapes is None:
            return (array,)
        n = len(array)
        flat = array.reshape(n, -1)
        sizes = [int(np.prod(s)) for s in self.input_shapes]
        if flat.shape[1] != sum(sizes):
            raise InvalidArgumentError(
                "input_shapes",
                f"shapes of {flat.shape[1]} numbers per example in all (as {field} holds)",
                self.input_shapes,
                hint="this method's values are not in input space (a layer's), so they are not split",
            )
        bounds = np.cumsum([0, *sizes])
        return tuple(
            flat[:, a:b].reshape(n, *shape)
            for a, b, shape in zip(bounds[:-1], bounds[1:], self.input_shapes, strict=True)
        )

    def map(self) -> np.ndarray:
        """One value per pixel [N, H, W] (images: summed over channels) or per feature/token."""
        if self.kind == "image":
            return self.values.sum(axis=1)
        return self.values

    def target_names(self) -> list[str]:
        """The explained class of each example, by label when the model has labels."""
        return [self.labels[t] if self.labels and 0 <= t < len(self.labels) else str(int(t)) for t in self.target]

    def to_frame(self) -> pd.DataFrame:
        """Tables: one row per example, one column per feature. Text: one row per token."""
        if self.kind == "tabular":
            names = self.feature_names or [f"x{i}" for i in range(self.values.shape[1])]
            return pd.DataFrame(self.values, columns=names)
        if self.kind == "text" and self.tokens is not None:
            rows = [
                {"example": i, "position": j, "token": token, "value": float(self.values[i, j])}
                for i, tokens in enumerate(self.tokens)
                for j, token in enumerate(tokens)
            ]
            return pd.DataFrame(rows, columns=["example", "position", "token", "value"])
        raise InvalidArgumentError(
            "to_frame",
            "a tabular or text attribution",
            f"a {self.kind} attribution",
            hint="read .values for image attributions",
        )

    def tag_or_default(self, tag: str | None) -> str:
        """``tag``, or ``explain/<method>`` when it is None (what :meth:`save` uses)."""
        return tag or f"explain/{self.method}"

    def figure(self, mode: str = "signed", **options: Any) -> Any:
        """The figure (``mode`` may come first: ``figure("absolute")``); options as the class says."""
        return super().figure(mode=mode, **options)
