"""LIME (Ribeiro et al. 2016): fit a weighted linear surrogate to the model around one example.

Interpretable features are switched on and off: table columns (off = the baseline value),
words of a text (off = removed) or superpixels of an image (off = the baseline, by default the
superpixel's mean colour). Samples are weighted by an exponential kernel on their cosine
distance to the example, and a ridge regression on the on/off pattern gives the attributions.
Everything random comes from ``seed``, so the same call gives the same result.

>>> import numpy as np, deepscope as ds
>>> w = np.array([3.0, -1.0, 0.5])
>>> a = ds.explain.lime(lambda x: x @ w, np.ones((1, 3)), n_samples=200)
>>> [int(i) for i in np.argsort(-np.abs(a.values[0]))]
[0, 1, 2]
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError, ShapeError, describe
from deepscope.explain._inputs import broadcast_value, predict_texts, selected
from deepscope.explain._task import Task, batches, predict_task
from deepscope.explain._validate import check_positive_int, deprecated_alias, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_method

__all__ = ["lime", "superpixels", "weighted_ridge"]


def superpixels(image: np.ndarray, n_segments: int = 50, compactness: float = 0.25, n_iter: int = 10) -> np.ndarray:
    """Segment labels [H, W] from k-means on (colour, position), started on a regular grid.

    Colours are scaled to the image's range [0, 1]; ``compactness`` weighs one grid step of
    distance against that colour range (larger: squarer segments). Labels are 0..K-1.

    >>> labels = superpixels(np.zeros((3, 8, 8)), n_segments=4)
    >>> sorted(np.unique(labels).tolist())
    [0, 1, 2, 3]
    """
    channels, height, width = image.shape
    low, high = float(image.min()), float(image.max())
    colour = (image.reshape(channels, -1).T - low) / (high - low if high > low else 1.0)
    step = max(1.0, np.sqrt(height * width / max(1, n_segments)))
    ys, xs = np.mgrid[0:height, 0:width]
    position = np.stack([ys.ravel(), xs.ravel()], axis=1) * (compactness / step)
    features = np.concatenate([colour, position], axis=1)
    rows = max(1, round(height / step))
    cols = max(1, round(width / step))
    cy = ((np.arange(rows) + 0.5) * height / rows).astype(int)
    cx = ((np.arange(cols) + 0.5) * width / cols).astype(int)
    seeds = (cy[:, None] * width + cx[None, :]).ravel()
    centres = features[seeds]
    labels = np.zeros(height * width, dtype=np.int64)
    for _ in range(n_iter):
        distances = (features**2).sum(1)[:, None] - 2 * features @ centres.T + (centres**2).sum(1)[None, :]
        new = distances.argmin(axis=1)
        if np.array_equal(new, labels) and _ > 0:
            break
        labels = new
        for k in range(len(centres)):
            members = labels == k
            if members.any():
                centres[k] = features[members].mean(axis=0)
    _, labels = np.unique(labels, return_inverse=True)
    return labels.reshape(height, width)


def weighted_ridge(z: np.ndarray, y: np.ndarray, weights: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """(coefficients, intercept) minimizing sum w (y - b - z.beta)^2 + alpha |beta|^2.

    The intercept is not penalized (as scikit-learn's Ridge with sample weights).
    """
    total = weights.sum()
    z_mean = weights @ z / total
    y_mean = float(weights @ y / total)
    zc, yc = z - z_mean, y - y_mean
    gram = zc.T @ (weights[:, None] * zc) + alpha * np.eye(z.shape[1])
    beta = np.linalg.solve(gram, zc.T @ (weights * yc))
    return beta, y_mean - float(z_mean @ beta)


def _masks(rng: np.random.Generator, n_samples: int, n_features: int, keep_one: bool) -> np.ndarray:
    """Binary patterns [S, F]: the first all on, then a uniform number of features switched off."""
    high = n_features - 1 if keep_one else n_features
    z = np.ones((n_samples, n_features))
    if n_samples > 1 and high >= 1:
        off = rng.integers(1, high + 1, size=n_samples - 1)
        ranks = rng.random((n_samples - 1, n_features)).argsort(axis=1).argsort(axis=1)
        z[1:] = (ranks >= off[:, None]).astype(float)
    return z


def _kernel(z: np.ndarray, kernel_width: float) -> np.ndarray:
    on = z.sum(axis=1)
    distance = np.where(on > 0, 1.0 - np.sqrt(on / z.shape[1]), 1.0)
    return np.sqrt(np.exp(-(distance**2) / kernel_width**2))


@attribution_method("lime")
def lime(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    n_samples: int = 1000,
    kernel_width: float = 0.25,
    alpha: float = 1.0,
    n_segments: int = 50,
    compactness: float = 0.25,
    feature_names: list[str] | None = None,
    background: Any = None,
) -> Attribution:
    """The coefficients of a local weighted ridge surrogate, one per interpretable feature.

    ``baseline``: the value of a switched-off feature: a number, one example's shape, or one per
    example (example i takes row i: Captum's pairing rule) (tables: default 0; images: default
    each superpixel's mean colour). ``background``: reference rows [K, ...] whose mean is the
    switched-off value instead (a background sample; reference rows given as ``baseline`` in
    another number than one per example are a deprecated alias of it). Texts drop the
    switched-off words. Values: tables [N, F]; texts one per word
    [N, W] (``tokens`` holds the words); images the coefficient of each pixel's superpixel
    [N, 1, H, W]. ``base_value`` is the surrogate's intercept. The surrogate is fit to the raw
    model outputs (logits, or what a callable returns).
    """
    n_samples = check_positive_int(n_samples, "n_samples", 2)
    n_segments = check_positive_int(n_segments, "n_segments")
    for name, value in (
        ("kernel_width", kernel_width),
        ("alpha", alpha),
        ("compactness", compactness),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise InvalidArgumentError(name, "a positive number", value)
    rng = np.random.default_rng(resolve_seed(seed))
    options = {"n_samples": n_samples, "kernel_width": kernel_width, "alpha": alpha}
    with predict_task(
        model,
        inputs,
        method="lime",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
    ) as task:
        if task.kind == "text":
            values, intercepts, words = _text(task, rng, n_samples, kernel_width, alpha)
            task.tokens = words
            return task.finish(values, options=options, base_value=intercepts)
        baseline = _off_value(task, baseline, background)
        if task.kind == "image":
            options.update(n_segments=n_segments, compactness=compactness)
            values, intercepts = _image(task, baseline, rng, n_samples, kernel_width, alpha, n_segments, compactness)
            return task.finish(values, options=options, base_value=intercepts)
        values, intercepts = _features(task, baseline, rng, n_samples, kernel_width, alpha)
        return task.finish(values, options=options, base_value=intercepts)


def _fit(z: np.ndarray, y: np.ndarray, kernel_width: float, alpha: float) -> tuple[np.ndarray, float]:
    return weighted_ridge(z, y, _kernel(z, kernel_width), alpha)


def _off_value(task: Task, baseline: Any, background: Any) -> Any:
    """The baseline: as given (a number, one example, one per example), or the mean of the
    ``background`` rows (or of reference rows given as ``baseline``, deprecated)."""
    if background is not None:
        if baseline is not None:
            raise InvalidArgumentError("baseline", "not given with background", describe(baseline), hint="give one")
        rows = _as_rows(background)
        if rows.ndim == task.x.ndim - 1:
            return rows
        if rows.ndim != task.x.ndim or len(rows) == 0:
            shape = ", ".join(map(str, task.x.shape[1:]))
            raise ShapeError("background", f"reference rows shaped [K, {shape}]", describe(background))
        return rows.mean(dim=0)
    if baseline is None or isinstance(baseline, (int, float)):
        return baseline
    rows = _as_rows(baseline)
    if rows.ndim == task.x.ndim and len(rows) not in (1, task.n):
        deprecated_alias(baseline, "baseline", None, "background", None)
        return rows.mean(dim=0)
    return baseline


def _as_rows(value: Any) -> torch.Tensor:
    raw = value.to_numpy(dtype=np.float64) if hasattr(value, "iloc") else value
    return torch.as_tensor(raw.detach().cpu().numpy() if isinstance(raw, torch.Tensor) else np.asarray(raw)).double()


def _reference_row(task: Task, baseline: Any) -> torch.Tensor:
    return broadcast_value(0.0 if baseline is None else baseline, task.x, "baseline")


def _features(
    task: Task,
    baseline: Any,
    rng: np.random.Generator,
    n_samples: int,
    kernel_width: float,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray]:
    x = task.x.reshape(task.n, -1)
    base = _reference_row(task, baseline).reshape(-1, x.shape[1])
    n_features = x.shape[1]
    values = np.zeros((task.n, n_features))
    intercepts = np.zeros(task.n)
    with task.bar(task.n) as bar:
        for i in range(task.n):
            z = _masks(rng, n_samples, n_features, keep_one=False)
            keep = torch.as_tensor(z, dtype=x.dtype, device=x.device)
            fill = base[0 if len(base) == 1 else i]
            rows = keep * x[i] + (1 - keep) * fill
            rows = rows.reshape(n_samples, *task.x.shape[1:])
            index = torch.full((n_samples,), i, dtype=torch.long, device=x.device)
            y = task.scores(rows, index).double().cpu().numpy()
            values[i], intercepts[i] = _fit(z, y, kernel_width, alpha)
            bar.update(1)
    return values.reshape(task.x.shape), intercepts


def _image(
    task: Task,
    baseline: Any,
    rng: np.random.Generator,
    n_samples: int,
    kernel_width: float,
    alpha: float,
    n_segments: int,
    compactness: float,
) -> tuple[np.ndarray, np.ndarray]:
    x = task.x
    fixed = None if baseline is None else broadcast_value(baseline, x, "baseline")
    values = np.zeros((task.n, 1, *x.shape[2:]))
    intercepts = np.zeros(task.n)
    with task.bar(task.n) as bar:
        for i in range(task.n):
            image = x[i]
            segments = superpixels(image.detach().cpu().double().numpy(), n_segments, compactness)
            seg = torch.as_tensor(segments, device=x.device)
            k = int(segments.max()) + 1
            if fixed is None:  # each superpixel's mean colour
                flat = image.reshape(image.shape[0], -1)
                sums = torch.zeros((image.shape[0], k), dtype=x.dtype, device=x.device)
                sums.index_add_(1, seg.reshape(-1), flat)
                counts = torch.bincount(seg.reshape(-1), minlength=k).to(x.dtype)
                fill = (sums / counts)[:, seg]
            else:
                fill = fixed[0 if len(fixed) == 1 else i]
            z = _masks(rng, n_samples, k, keep_one=False)
            y = np.zeros(n_samples)
            for part in batches(n_samples, task.batch_size):
                keep = torch.as_tensor(z[part], dtype=torch.bool, device=x.device)[:, seg]
                rows = torch.where(keep[:, None], image, fill)
                index = torch.full((len(rows),), i, dtype=torch.long, device=x.device)
                y[part] = task.scores(rows, index).double().cpu().numpy()
            coefficients, intercepts[i] = _fit(z, y, kernel_width, alpha)
            values[i, 0] = coefficients[segments]
            bar.update(1)
    return values, intercepts


def _text(
    task: Task, rng: np.random.Generator, n_samples: int, kernel_width: float, alpha: float
) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    words = [text.split() for text in cast(list[str], task.texts)]  # a text task holds its texts
    width = max(1, max(len(w) for w in words))
    values = np.zeros((task.n, width))
    intercepts = np.zeros(task.n)
    with task.bar(task.n) as bar:
        for i, text_words in enumerate(words):
            if not text_words:
                bar.update(1)
                continue
            z = _masks(rng, n_samples, len(text_words), keep_one=True)
            texts = [" ".join(w for w, on in zip(text_words, row, strict=True) if on) for row in z]
            outputs = predict_texts(task.model, texts, task.batch_size)
            target = task.resolved_target[i : i + 1].expand(len(texts)).to(outputs.device)
            y = selected(outputs, target).double().cpu().numpy()
            values[i, : len(text_words)], intercepts[i] = _fit(z, y, kernel_width, alpha)
            bar.update(1)
    return values, intercepts, words
