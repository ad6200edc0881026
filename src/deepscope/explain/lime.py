"""LIME (Ribeiro et al. 2016): fit a weighted linear surrogate to the model around one example.

Interpretable features are switched on and off: table columns (off = the baseline value),
words of a text (off = removed), superpixels of an image (scikit-image's ``slic``, ``quickshift``
or ``felzenszwalb``; off = the baseline, by default the superpixel's mean colour) or the groups
of a ``feature_mask``. Samples are weighted by an exponential kernel on their cosine
distance to the example, and a ridge regression on the on/off pattern gives the attributions.
Everything random comes from ``seed``, so the same call gives the same result.

>>> import numpy as np, deepscope as ds
>>> w = np.array([3.0, -1.0, 0.5])
>>> a = ds.explain.lime(lambda x: x @ w, np.ones((1, 3)), n_samples=200)
>>> [int(i) for i in np.argsort(-np.abs(a.values[0]))]
[0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, MissingDependencyError, ShapeError, describe
from deepscope.explain._groups import (
    broadcast_mask,
    feature_groups,
    per_group_values,
    spread,
)
from deepscope.explain._inputs import broadcast_value, predict_texts, selected
from deepscope.explain._task import Task, predict_task
from deepscope.explain._validate import check_choice, check_positive_int, deprecated_alias, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_method
from deepscope.validation import check_bool, check_number

__all__ = ["lime", "superpixels", "weighted_ridge", "SEGMENTATIONS"]


SEGMENTATIONS = ("slic", "quickshift", "felzenszwalb")


def _segmentation_defaults(method: str, channels: int, n_segments: int, compactness: float | None) -> dict[str, Any]:
    """scikit-image's options as lime and shap users know them, for an image scaled to [0, 1]
    (RGB images are segmented in Lab colour space)."""
    rgb = channels == 3
    if method == "slic":
        return {
            "n_segments": n_segments,
            "compactness": compactness if compactness is not None else (10.0 if rgb else 0.1),
            "sigma": 1.0,
            "convert2lab": rgb,
            "start_label": 0,
        }
    if method == "quickshift":  # lime's ImageExplainer defaults
        return {"kernel_size": 4, "max_dist": 200, "ratio": 0.2, "convert2lab": rgb}
    return {"scale": 1, "sigma": 0.8, "min_size": 20}


def superpixels(
    image: np.ndarray,
    n_segments: int = 50,
    compactness: float | None = None,
    *,
    segmentation: str = "slic",
    segmentation_options: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Segment labels [H, W] (0..K-1) of an image [C, H, W] by scikit-image's ``segmentation``.

    The image is scaled to [0, 1] first. ``n_segments`` and ``compactness`` are slic's (default
    compactness: 10 in Lab for RGB, 0.1 otherwise; ``sigma=1`` smoothing, as lime users call
    it); ``segmentation_options`` go to the
    scikit-image function as given (they override the defaults).

    >>> image = np.zeros((3, 16, 16))
    >>> image[:, :, 8:] = 1.0  # two flat halves: no segment crosses the edge
    >>> labels = superpixels(image, n_segments=4)
    >>> set(labels[:, :8].ravel()) & set(labels[:, 8:].ravel())
    set()
    """
    check_choice(segmentation, "segmentation", SEGMENTATIONS)
    try:
        from skimage import segmentation as segment
    except ImportError as error:
        raise MissingDependencyError("scikit-image", "image", "LIME's image superpixels") from error
    channels = image.shape[0]
    low, high = float(image.min()), float(image.max())
    scaled = (np.moveaxis(np.asarray(image, dtype=np.float64), 0, -1) - low) / (high - low if high > low else 1.0)
    options = {
        **_segmentation_defaults(segmentation, channels, n_segments, compactness),
        **(segmentation_options or {}),
    }
    if segmentation == "quickshift" and channels != 3:
        options["convert2lab"] = False
        if channels == 1:  # quickshift wants colour channels
            scaled = np.repeat(scaled, 3, axis=-1)
    labels = getattr(segment, segmentation)(scaled, channel_axis=-1, **options)
    _, labels = np.unique(labels, return_inverse=True)
    return labels.reshape(image.shape[1:]).astype(np.int64)


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
    kernel_width: float | None = None,
    alpha: float = 0.01,
    n_segments: int = 50,
    compactness: float | None = None,
    segmentation: str = "slic",
    segmentation_options: Mapping[str, Any] | None = None,
    feature_mask: Any = None,
    return_input_shape: bool = True,
    perturbations_per_eval: int | None = None,
    background: Any = None,
    feature_names: list[str] | None = None,
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
    model outputs (logits, or what a callable returns). ``alpha``: the ridge penalty, light by
    default so a linear model's local coefficients come out exact (lime's is 1.0).
    ``kernel_width``: of the exponential kernel on the cosine distance; default 0.25 for images
    and texts (lime's) and 1.0 for tables and arrays (Captum's: with few features, a narrow
    kernel leaves the intercept to nearly weightless samples and biases the coefficients).

    Superpixels: scikit-image's ``segmentation`` (``"slic"``, ``"quickshift"`` or
    ``"felzenszwalb"``) with ``n_segments`` and ``compactness`` (slic) and
    ``segmentation_options`` passed on. ``feature_mask``: group labels instead (tables, arrays
    or images; one example's shape, ``[1, ...]``, one per example, or anything that broadcasts
    to the inputs, such as [H, W] superpixels): values then have the input's shape, or one per
    group [N, G] with ``return_input_shape=False``. ``perturbations_per_eval``: perturbed copies
    per model call (overrides ``batch_size`` for them).
    """
    n_samples = check_positive_int(n_samples, "n_samples", 2)
    n_segments = check_positive_int(n_segments, "n_segments")
    check_choice(segmentation, "segmentation", SEGMENTATIONS)
    return_input_shape = check_bool(return_input_shape, "return_input_shape")
    if perturbations_per_eval is not None:
        perturbations_per_eval = check_positive_int(perturbations_per_eval, "perturbations_per_eval")
    positive: list[tuple[str, Any]] = [("alpha", alpha)]
    if kernel_width is not None:
        positive.append(("kernel_width", kernel_width))
    if compactness is not None:
        positive.append(("compactness", compactness))
    for name, value in positive:
        check_number(value, name, low=0, closed="neither")
    if segmentation_options is not None and not isinstance(segmentation_options, Mapping):
        raise ArgumentTypeError("segmentation_options", "a dict of scikit-image options, or None", segmentation_options)
    rng = np.random.default_rng(resolve_seed(seed))
    with predict_task(
        model,
        inputs,
        method="lime",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
        policy="sampling",
    ) as task:
        if kernel_width is None:
            kernel_width = 0.25 if task.kind in ("image", "text") else 1.0
        options: dict[str, Any] = {"n_samples": n_samples, "kernel_width": kernel_width, "alpha": alpha}
        if perturbations_per_eval is not None:
            task.batch_size = perturbations_per_eval
            options["perturbations_per_eval"] = perturbations_per_eval
        if task.kind == "text":
            if feature_mask is not None:
                raise InvalidArgumentError("feature_mask", "None for texts (the words are the features)", "a mask")
            values, intercepts, words = _text(task, rng, n_samples, kernel_width, alpha)
            task.tokens = words
            return task.finish(values, options=options, base_value=intercepts)
        if feature_mask is None and not return_input_shape:
            raise InvalidArgumentError(
                "return_input_shape", "True unless feature_mask is given (values per group)", return_input_shape
            )
        baseline = _off_value(task, baseline, background)
        if feature_mask is not None:
            options.update(feature_mask=True, return_input_shape=return_input_shape)
            groups, n_groups = feature_groups(task, broadcast_mask(task, feature_mask))
            per_example = [groups[i if len(groups) > 1 else 0].reshape(-1) for i in range(task.n)]
            coefficients, intercepts = _grouped(
                task, baseline, rng, n_samples, kernel_width, alpha, per_example, n_groups
            )
            if not return_input_shape:
                per_group_values(task, feature_mask)
                return task.finish(coefficients, options=options, base_value=intercepts)
            values = spread(groups, torch.as_tensor(coefficients), tuple(task.x.shape[1:]))
            return task.finish(values.numpy(), options=options, base_value=intercepts)
        if task.kind == "image":
            options.update(n_segments=n_segments, compactness=compactness, segmentation=segmentation)
            segments = [
                superpixels(
                    image.detach().cpu().double().numpy(),
                    n_segments,
                    compactness,
                    segmentation=segmentation,
                    segmentation_options=segmentation_options,
                )
                for image in task.x
            ]
            channels = task.x.shape[1]
            per_example = [
                torch.as_tensor(seg, device=task.x.device).expand(channels, *seg.shape).reshape(-1) for seg in segments
            ]
            n_groups = max(int(seg.max()) + 1 for seg in segments)
            coefficients, intercepts = _grouped(
                task, baseline, rng, n_samples, kernel_width, alpha, per_example, n_groups
            )
            values = np.stack([coefficients[i][seg] for i, seg in enumerate(segments)])[:, None]
            return task.finish(values, options=options, base_value=intercepts)
        identity = torch.arange(task.x[0].numel(), device=task.x.device)
        coefficients, intercepts = _grouped(
            task, baseline, rng, n_samples, kernel_width, alpha, [identity] * task.n, len(identity)
        )
        return task.finish(coefficients.reshape(task.x.shape), options=options, base_value=intercepts)


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


def _mean_fill(image: torch.Tensor, groups: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Each number replaced by the mean of its group in its channel (a superpixel's mean colour)."""
    channels = image.shape[0]
    flat = image.reshape(channels, -1)
    key = groups.reshape(channels, -1) * channels + torch.arange(channels, device=image.device)[:, None]
    size = n_groups * channels
    sums = torch.zeros(size, dtype=image.dtype, device=image.device).index_add_(0, key.reshape(-1), flat.reshape(-1))
    counts = torch.bincount(key.reshape(-1), minlength=size).to(image.dtype).clamp(min=1)
    return (sums / counts)[key].reshape(image.shape)


def _grouped(
    task: Task,
    baseline: Any,
    rng: np.random.Generator,
    n_samples: int,
    kernel_width: float,
    alpha: float,
    groups: list[torch.Tensor],
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients [N, G], intercepts [N]): each example's groups (``groups[i]``: the group of
    each of its numbers, flattened) switched on and off. Images without a ``baseline`` fill a
    switched-off group with its mean colour; otherwise the baseline's values."""
    x = task.x
    shape = tuple(x.shape[1:])
    mean_colour = task.kind == "image" and baseline is None
    base = None if mean_colour else _reference_row(task, baseline).reshape(-1, x[0].numel())
    values = np.zeros((task.n, n_groups))
    intercepts = np.zeros(task.n)
    with task.bar(task.n) as bar:
        for i in range(task.n):
            own = groups[i].to(x.device)
            flat = x[i].reshape(-1)
            if base is None:
                fill = _mean_fill(x[i], own.reshape(shape), n_groups).reshape(-1)
            else:
                fill = base[0 if len(base) == 1 else i]
            present = torch.unique(own)
            z = _masks(rng, n_samples, len(present), keep_one=False)
            keep_groups = torch.zeros((n_samples, n_groups), dtype=torch.bool, device=x.device)
            keep_groups[:, present] = torch.as_tensor(z, dtype=torch.bool, device=x.device)
            y = np.zeros(n_samples)
            for part in task.passes(n_samples):
                keep = keep_groups[part][:, own]
                rows = torch.where(keep, flat, fill).reshape(-1, *shape)
                index = torch.full((len(rows),), i, dtype=torch.long, device=x.device)
                y[part] = task.scores(rows, index).double().cpu().numpy()
            coefficients, intercepts[i] = _fit(z, y, kernel_width, alpha)
            values[i, present.cpu().numpy()] = coefficients
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
            outputs = predict_texts(task.model, texts, task.call_rows)
            target = task.resolved_target[i : i + 1].expand(len(texts)).to(outputs.device)
            y = selected(outputs, target).double().cpu().numpy()
            values[i, : len(text_words)], intercepts[i] = _fit(z, y, kernel_width, alpha)
            bar.update(1)
    return values, intercepts, words
