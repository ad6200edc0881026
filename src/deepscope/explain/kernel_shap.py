"""KernelSHAP (Lundberg and Lee 2017): Shapley values of any model from weighted coalitions.

A coalition keeps some features of the example and takes the rest from background rows; the
model's mean output over the background (weighted by how many rows each summary row stands for)
is the coalition's value. The Shapley kernel weights coalitions, small and large ones first and
exactly (as shap's KernelExplainer enumerates them while the sample budget allows), the rest
sampled in complementary pairs. A weighted least squares with the efficiency constraint solved
in, not approximated, gives values that add up to f(x) - E[f(background)] exactly.

>>> import numpy as np, deepscope as ds
>>> w = np.array([1.0, -2.0, 3.0])
>>> a = ds.explain.kernel_shap(lambda x: x @ w, np.ones((1, 3)), background=np.zeros((1, 3)))
>>> np.round(a.values, 6).tolist()
[[1.0, -2.0, 3.0]]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from math import comb
from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError, ShapeError, UnsupportedModelError, describe
from deepscope.explain._groups import feature_groups, per_group_values, spread
from deepscope.explain._inputs import selected
from deepscope.explain._rows import equal_passes
from deepscope.explain._task import Task, batches, predict_task
from deepscope.explain._validate import check_positive_int, deprecated_alias, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.registry import attribution_method
from deepscope.validation import check_bool

__all__ = ["kernel_shap", "summarize_background", "coalitions"]

# model rows per call for tables at the default policy (see ``_call_rows``)
TABULAR_SHAP_ROWS = 4096


def kmeans(data: np.ndarray, k: int, seed: int = 0, n_init: int = 3, max_iter: int = 100) -> np.ndarray:
    """Cluster labels of each row: Lloyd's algorithm from k-means++ starts, best of ``n_init``.

    Small and dependency-free (scikit-learn's KMeans spends more time starting threads than
    clustering a background sample).
    """
    rng = np.random.default_rng(seed)
    norms = (data**2).sum(axis=1)
    best, best_inertia = None, np.inf
    for _ in range(n_init):
        centres = [data[rng.integers(len(data))]]
        closest = ((data - centres[0]) ** 2).sum(axis=1)
        for _ in range(1, k):
            total = closest.sum()
            pick = rng.choice(len(data), p=closest / total) if total > 0 else rng.integers(len(data))
            centres.append(data[pick])
            closest = np.minimum(closest, ((data - data[pick]) ** 2).sum(axis=1))
        centre = np.array(centres)
        labels = np.full(len(data), -1)
        for _ in range(max_iter):
            distances = norms[:, None] - 2 * data @ centre.T + (centre**2).sum(axis=1)[None]
            new = distances.argmin(axis=1)
            if np.array_equal(new, labels):
                break
            labels = new
            for c in range(k):
                members = labels == c
                if members.any():
                    centre[c] = data[members].mean(axis=0)
        inertia = float(np.take_along_axis(distances, labels[:, None], axis=1).sum())
        if inertia < best_inertia:
            best, best_inertia = labels, inertia
    return cast(np.ndarray, best)  # set by the first of the n_init starts


def summarize_background(data: np.ndarray, k: int | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows [k, F], weights [k]): k-means centres weighted by cluster size (as ``shap.kmeans``).

    Data with at most ``k`` rows (or ``k=None``) is returned as is, with equal weights. The
    weighted mean of the centres equals the data's mean, so E[f(background)] of a linear f is
    unchanged.

    >>> rows, weights = summarize_background(np.arange(8.0).reshape(4, 2), 2)
    >>> (weights @ rows).tolist()
    [3.0, 4.0]
    """
    if k is None or len(data) <= k:
        return data, np.full(len(data), 1.0 / len(data))
    labels = kmeans(data, k, seed)
    used = np.unique(labels)
    centres = np.stack([data[labels == c].mean(axis=0) for c in used])
    counts = np.array([(labels == c).sum() for c in used], dtype=float)
    return centres, counts / counts.sum()


def coalitions(n_features: int, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(masks [S, F] of 0/1, kernel weights [S]) with the Shapley kernel's mass per coalition size.

    Sizes s and F - s are enumerated completely, smallest first, while the budget covers them;
    the remaining sizes are sampled (each draw with its complement) and share what weight is
    left. Repeated draws are merged, adding their weights. Mirrors shap's KernelExplainer.
    """
    m = n_features
    if m <= 30:
        n_samples = min(n_samples, 2**m - 2)
    if m == 1:
        return np.ones((1, 1)), np.ones(1)
    n_sizes = (m - 1 + 1) // 2  # ceil((m - 1) / 2)
    n_paired = (m - 1) // 2
    size_weight = np.array([(m - 1) / (s * (m - s)) for s in range(1, n_sizes + 1)])
    size_weight[:n_paired] *= 2
    size_weight /= size_weight.sum()
    masks: list[np.ndarray] = []
    weights: list[float] = []
    left = n_samples
    remaining = size_weight.copy()
    n_full = 0
    for s in range(1, n_sizes + 1):
        n_subsets = comb(m, s) * (2 if s <= n_paired else 1)
        if left * remaining[s - 1] / n_subsets < 1.0 - 1e-8:
            break
        n_full += 1
        left -= n_subsets
        if remaining[s - 1] < 1.0:
            remaining = remaining / (1.0 - remaining[s - 1])
        w = size_weight[s - 1] / comb(m, s)
        if s <= n_paired:
            w /= 2.0
        for chosen in itertools.combinations(range(m), s):
            mask = np.zeros(m)
            mask[list(chosen)] = 1.0
            masks.append(mask)
            weights.append(w)
            if s <= n_paired:
                masks.append(1.0 - mask)
                weights.append(w)
    if n_full < n_sizes and left > 0:
        rest = size_weight.copy()
        rest[:n_paired] /= 2
        rest = rest[n_full:]
        rest /= rest.sum()
        seen: dict[bytes, int] = {}
        sampled: list[np.ndarray] = []
        sampled_weights: list[float] = []
        draws = rng.choice(len(rest), 4 * left, p=rest)
        position = 0
        while left > 0 and position < len(draws):
            s = draws[position] + n_full + 1
            position += 1
            mask = np.zeros(m)
            mask[rng.permutation(m)[:s]] = 1.0
            for candidate in (mask, 1.0 - mask) if s <= n_paired else (mask,):
                key = candidate.tobytes()
                if key in seen:
                    sampled_weights[seen[key]] += 1.0
                else:
                    seen[key] = len(sampled)
                    sampled.append(candidate)
                    sampled_weights.append(1.0)
                    left -= 1
        if sampled:
            sampled_w = np.array(sampled_weights)
            sampled_w *= size_weight[n_full:].sum() / sampled_w.sum()
            masks.extend(sampled)
            weights.extend(sampled_w.tolist())
    if not masks:
        raise InvalidArgumentError("n_samples", "enough samples for at least one coalition", n_samples)
    return np.array(masks), np.array(weights)


def _background(task: Task, background: Any, k: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows [K, D] flattened, weights [K]) of the background: rows of the example's shape."""
    example = tuple(task.x.shape[1:])
    n_numbers = int(np.prod(example))
    if background is None:
        data = np.zeros((1, n_numbers))
    elif isinstance(background, (int, float)) and not isinstance(background, bool):
        data = np.full((1, n_numbers), float(background))
    else:
        raw: Any = background
        if hasattr(raw, "iloc"):  # a DataFrame or Series
            raw = raw.to_numpy(dtype=np.float64)
        if isinstance(raw, torch.Tensor):
            raw = raw.detach().cpu().numpy()
        data = np.asarray(raw, dtype=np.float64)
        if data.shape == example:
            data = data[None]
        if data.ndim != len(example) + 1 or data.shape[1:] != example or len(data) == 0:
            shape = ", ".join(map(str, example))
            raise ShapeError(
                "background",
                f"rows of the example's shape, shaped [K, {shape}]",
                describe(background),
            )
        data = data.reshape(len(data), n_numbers)
    return summarize_background(data, k, seed)


@attribution_method("kernel_shap", aliases=("shap",))
def kernel_shap(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    seed: int | None = None,
    progress: bool | None = None,
    background: Any = None,
    n_samples: int | None = None,
    n_background: int | None = 10,
    feature_mask: Any = None,
    return_input_shape: bool = True,
    perturbations_per_eval: int | None = None,
    feature_names: list[str] | None = None,
) -> Attribution:
    """Shapley values of each feature of tabular inputs [N, F] (arrays or DataFrames).

    ``background``: reference rows [K, F], a background sample the coalitions are filled from;
    default one row of zeros. ``baseline`` (Captum's ``baselines``): a number or one row (a
    background of that row), or one row per example [N, F]: example i is then explained against
    its own baseline row i alone (Captum's pairing rule; ``base_value`` is f(baseline_i)). Other
    row counts as ``baseline`` are a deprecated alias of ``background``. More than
    ``n_background`` background rows are summarized by k-means (None: never). ``n_samples``:
    coalitions per example, default 2 F + 2048 (shap's "auto"); with 2^F - 2 or more every
    coalition is used and the values are exact. Features equal to every background row get 0.
    ``base_value`` is E[f(background)] and ``delta`` the (zero up to rounding) efficiency gap.
    When other inputs or forward arguments come from the example's row, E[f(background)] is
    taken per example, with its own other inputs.

    ``feature_mask``: group labels (one example's shape, ``[1, ...]`` or one mask per example):
    the features are the groups (F is their count), and inputs of any shape (images:
    superpixels) may be explained, with background rows of the example's shape.
    ``return_input_shape=False`` gives one value per group [N, G]. ``perturbations_per_eval``:
    coalitions per model call (each evaluated on every background row; overrides
    ``batch_size``, which counts model rows, for them).
    """
    seed = resolve_seed(seed)
    return_input_shape = check_bool(return_input_shape, "return_input_shape")
    if n_background is not None:
        n_background = check_positive_int(n_background, "n_background")
    if perturbations_per_eval is not None:
        perturbations_per_eval = check_positive_int(perturbations_per_eval, "perturbations_per_eval")
    if feature_mask is None and not return_input_shape:
        raise InvalidArgumentError(
            "return_input_shape", "True unless feature_mask is given (values per group)", return_input_shape
        )
    rng = np.random.default_rng(seed)
    with predict_task(
        model,
        inputs,
        method="kernel_shap",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
        policy="sampling",
    ) as task:
        if task.kind == "text" or (task.kind != "tabular" and feature_mask is None):
            raise UnsupportedModelError(
                "inputs",
                "tabular inputs [N, F] (an array or a DataFrame), or any arrays with a feature_mask",
                f"{task.kind} inputs",
                hint="use lime for text; give feature_mask (e.g. superpixels) for images",
            )
        groups, n_groups = feature_groups(task, feature_mask)
        shape = tuple(task.x.shape[1:])
        groups = groups.reshape(len(groups), -1)
        budget = 2 * n_groups + 2048 if n_samples is None else check_positive_int(n_samples, "n_samples")
        x = task.x.reshape(task.n, -1)
        fx = task.score.double()
        options: dict[str, Any] = {"n_samples": budget}
        if feature_mask is not None:
            options.update(feature_mask=True, return_input_shape=return_input_shape)
        if perturbations_per_eval is not None:
            options["perturbations_per_eval"] = perturbations_per_eval
        background, paired = _pairing(task, baseline, background)
        if paired is not None:
            if perturbations_per_eval is not None:
                task.batch_size = perturbations_per_eval
            values, expected = _paired(task, x, groups, n_groups, paired, budget, rng)
            options["paired"] = True
        else:
            rows, row_weights = _background(task, background, n_background, seed)
            options["n_background"] = len(rows)
            bg = torch.as_tensor(rows, dtype=x.dtype, device=x.device)
            bg_w = torch.as_tensor(row_weights, dtype=torch.float64, device=x.device)
            expected = _expected(task, bg.reshape(len(bg), *shape), bg_w)
            if perturbations_per_eval is not None:
                task.batch_size = perturbations_per_eval * len(bg)
            values = _background_values(task, x, groups, bg, bg_w, n_groups, fx, expected, budget, rng)
        efficiency = values.sum(axis=1) - (fx - expected).cpu().numpy()
        per_group = torch.as_tensor(values)
        if not return_input_shape:
            per_group_values(task, feature_mask)
            result = per_group
        else:
            result = spread(groups.reshape(len(groups), *shape).cpu(), per_group, shape)
        return task.finish(result.numpy(), options=options, base_value=expected.cpu().numpy(), delta=efficiency)


def _call_rows(task: Task) -> int:
    """Model rows per call: the policy's (``deepscope.explain._rows``), for tables at most
    ``TABULAR_SHAP_ROWS``. A table's rows are small, but the model's activations for them are
    not: shap's KernelExplainer evaluates one example's samples at a time (about 5,000 rows at
    500 samples and 10 background rows), and more rows per call bought no time on CPU but held
    several times its memory."""
    rows = task.call_rows
    if task.batch_size is None and task.kind == "tabular":
        rows = min(rows, TABULAR_SHAP_ROWS)
    return rows


def _expected(task: Task, bg: torch.Tensor, bg_w: torch.Tensor) -> torch.Tensor:
    """E[f(background)] for each example's target: the background rows [K, ...] evaluated once
    for every class, or once per example where its other inputs and forward arguments matter."""
    if task.rows_matter:  # each example's own other inputs and forward arguments
        which = task.rows.repeat_interleave(len(bg))
        repeated = bg.repeat(task.n, *([1] * (bg.ndim - 1)))
        out = selected(task.predict(repeated, which), task.resolved_target[which]).double()
        return (out.view(task.n, len(bg)) * bg_w[None]).sum(1)
    bg_rows = torch.zeros(len(bg), dtype=torch.long, device=bg.device)
    null = (task.predict(bg, bg_rows).double() * bg_w[:, None]).sum(0)
    return null[task.resolved_target]


def _background_values(
    task: Task,
    x: torch.Tensor,
    groups: torch.Tensor,
    bg: torch.Tensor,
    bg_w: torch.Tensor,
    n_groups: int,
    fx: torch.Tensor,
    expected: torch.Tensor,
    budget: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Values [N, G] with every example's coalitions filled from the same background rows."""
    values = np.zeros((task.n, n_groups))
    limit = _call_rows(task)
    pending: list[_Pending] = []
    waiting = 0  # hybrid rows of the pending examples
    with task.bar(task.n) as bar:
        for i in range(task.n):
            own = groups[i if len(groups) > 1 else 0]
            item = _prepare(x[i], own, n_groups, bg, float(fx[i]), float(expected[i]), budget, rng, i)
            if item.masks is None:
                values[i] = item.phi
                bar.update(1)
                continue
            pending.append(item)
            waiting += len(item.masks) * len(bg)
            # evaluate several examples' coalitions together: fewer, larger model calls
            if waiting >= limit:
                _evaluate(task, pending, x, groups, bg, bg_w, values, bar, limit)
                pending, waiting = [], 0
        _evaluate(task, pending, x, groups, bg, bg_w, values, bar, limit)
    return values


def _pairing(task: Task, baseline: Any, background: Any) -> tuple[Any, torch.Tensor | None]:
    """(background, per-example baselines [N, D] flattened): ``baseline`` with one row per
    example is paired with the examples (Captum's rule); a number or one row is a background of
    one row; other row counts are the deprecated alias of ``background``."""
    if baseline is None:
        return background, None
    if background is not None:
        raise InvalidArgumentError("baseline", "not given with background", describe(baseline), hint="give one of them")
    if isinstance(baseline, (int, float, np.integer, np.floating)) and not isinstance(baseline, bool):
        return baseline, None
    raw: Any = baseline
    raw = raw.to_numpy(dtype=np.float64) if hasattr(raw, "iloc") else raw
    tensor = torch.as_tensor(raw.detach().cpu().numpy() if isinstance(raw, torch.Tensor) else np.asarray(raw))
    example = tuple(task.x.shape[1:])
    if tuple(tensor.shape) == example:
        return tensor.numpy(), None
    if tuple(tensor.shape) == (task.n, *example) and task.n > 1:
        return None, tensor.reshape(task.n, -1).to(device=task.x.device, dtype=task.x.dtype)
    return deprecated_alias(baseline, "baseline", None, "background", None), None


def _paired(
    task: Task,
    x: torch.Tensor,
    groups: torch.Tensor,
    n_groups: int,
    baselines: torch.Tensor,
    budget: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, torch.Tensor]:
    """(values [N, G], f(baseline_i)) with example i's coalitions filled from its own baseline
    row alone."""
    shape = tuple(task.x.shape[1:])
    expected = task.scores(baselines.reshape(task.n, *shape), task.rows).double()
    fx = task.score.double()
    values = np.zeros((task.n, n_groups))
    weight = torch.ones(1, dtype=torch.float64, device=x.device)
    with task.bar(task.n) as bar:
        for i in range(task.n):
            bg = baselines[i : i + 1]
            own = groups[i if len(groups) > 1 else 0]
            item = _prepare(x[i], own, n_groups, bg, float(fx[i]), float(expected[i]), budget, rng, i)
            if item.masks is None:
                values[i] = item.phi
                bar.update(1)
                continue
            _evaluate(task, [item], x, groups, bg, weight, values, bar, _call_rows(task))
    return values, expected


@dataclass
class _Pending:
    """One example on its way: its coalitions over the groups that vary, or its values."""

    index: int
    phi: np.ndarray
    fx: float
    fnull: float
    varying: np.ndarray | None = None
    masks: np.ndarray | None = None
    weights: np.ndarray | None = None

    def coalitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(varying, masks, weights) of an example that has coalitions to evaluate (only those
        are pending: ``_prepare`` set all three)."""
        return cast(np.ndarray, self.varying), cast(np.ndarray, self.masks), cast(np.ndarray, self.weights)


def _prepare(
    x: torch.Tensor,
    groups: torch.Tensor,
    n_groups: int,
    bg: torch.Tensor,
    fx: float,
    fnull: float,
    budget: int,
    rng: np.random.Generator,
    index: int,
) -> _Pending:
    """``x`` [D] flattened and ``groups`` [D] its group labels 0..G-1."""
    differs = (bg != x).any(dim=0)
    varying = np.unique(groups[differs].cpu().numpy())
    item = _Pending(index, np.zeros(n_groups), fx, fnull)
    if len(varying) == 1:  # efficiency alone decides
        item.phi[varying[0]] = fx - fnull
    if len(varying) >= 2:
        item.varying = varying
        item.masks, item.weights = coalitions(len(varying), budget, rng)
    return item


def _evaluate(
    task: Task,
    pending: list[_Pending],
    x: torch.Tensor,
    groups: torch.Tensor,
    bg: torch.Tensor,
    bg_w: torch.Tensor,
    values: np.ndarray,
    bar: Any,
    limit: int,
) -> None:
    """E over the background of f(x on the coalition, background elsewhere) for every mask of
    the pending examples, then each example's constrained weighted least squares."""
    if not pending:
        return
    n_groups = values.shape[1]
    keep = np.zeros((sum(len(p.coalitions()[1]) for p in pending), n_groups), dtype=bool)
    owner = np.zeros(len(keep), dtype=np.int64)
    start = 0
    for p in pending:
        varying, masks, _ = p.coalitions()
        stop = start + len(masks)
        keep[start:stop, varying] = masks.astype(bool)
        owner[start:stop] = p.index
        start = stop
    owner_t = torch.as_tensor(owner, device=x.device)
    keep_groups = torch.as_tensor(keep, device=x.device)
    k = len(bg)
    shape = tuple(task.x.shape[1:])
    out = torch.empty(len(keep) * k, dtype=torch.float64, device=x.device)
    per_call = equal_passes(len(keep), limit // k)  # coalitions per model call, evened out
    for part in batches(len(keep), per_call):
        own = owner_t[part]
        where = groups[own] if len(groups) > 1 else groups.expand(len(own), -1)
        keep_t = torch.gather(keep_groups[part], 1, where)  # [P, D]: numbers the coalition keeps
        hybrid = torch.where(keep_t[:, None, :], x[own][:, None, :], bg[None]).reshape(-1, *shape)
        rows = own.repeat_interleave(k)
        predicted = selected(task.predict(hybrid, rows), task.resolved_target[rows]).double()
        out[part.start * k : part.stop * k] = predicted
    coalition_values = (out.reshape(-1, k) * bg_w[None]).sum(dim=1).cpu().numpy()
    start = 0
    for p in pending:
        stop = start + len(p.coalitions()[1])
        values[p.index] = _solve(p, coalition_values[start:stop])
        start = stop
        bar.update(1)


def _solve(p: _Pending, ey: np.ndarray) -> np.ndarray:
    """Weighted least squares with efficiency solved in: phi_last = (fx - fnull) - sum(others),
    so the regression is on z_j - z_last."""
    varying, masks, weights = p.coalitions()
    gap = p.fx - p.fnull
    last = masks[:, -1]
    y = ey - p.fnull - last * gap
    design = masks[:, :-1] - last[:, None]
    weighted = design * weights[:, None]
    solution = np.linalg.lstsq(design.T @ weighted, weighted.T @ y, rcond=None)[0]
    phi = p.phi.copy()
    phi[varying[:-1]] = solution
    phi[varying[-1]] = gap - solution.sum()
    return phi
