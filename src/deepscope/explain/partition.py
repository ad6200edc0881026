"""SHAP's partition explainer: Owen values over a hierarchical clustering of the features.

The features (table columns, an image's pixels, the groups of a ``feature_mask``) are the
leaves of a binary tree (a scipy linkage matrix, as ``shap.PartitionExplainer`` takes). Each
node's credit f(context + node) - f(context) is split between its two children, each seen both
without and with its sibling, recursively down to the leaves: Owen values, which respect the
clustering (correlated features share credit) and add up to f(x) - f(all masked) exactly. The
nodes are expanded largest effect first (as shap's PartitionExplainer) until ``max_evals``
model evaluations are spent; a node left unexpanded passes its credit to its leaves in
proportion to their count. A masked feature takes the ``background`` rows' values (the value
of a coalition is the mean over the background rows), as shap's tabular maskers do.

>>> import numpy as np, deepscope as ds
>>> w = np.array([1.0, -2.0, 3.0, 0.5])
>>> a = ds.explain.partition_shap(lambda x: x @ w, np.ones((1, 4)))
>>> np.round(a.values, 6).tolist()
[[1.0, -2.0, 3.0, 0.5]]
"""

from __future__ import annotations

import heapq
import itertools
import re
from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import InvalidArgumentError, ShapeError, describe
from deepscope.explain._groups import (
    broadcast_mask,
    feature_groups,
    per_group_values,
    spread,
)
from deepscope.explain._inputs import predict_texts
from deepscope.explain._task import Task, predict_task
from deepscope.explain._validate import check_positive_int, resolve_seed
from deepscope.explain.attribution import Attribution
from deepscope.explain.kernel_shap import _background
from deepscope.explain.registry import attribution_method
from deepscope.validation import check_bool

__all__ = ["partition_shap", "balanced_tree", "grid_tree", "correlation_tree", "word_segments"]


def balanced_tree(n_features: int) -> np.ndarray:
    """A linkage matrix [n - 1, 4] that halves the features in order, recursively.

    >>> balanced_tree(3).tolist()
    [[1.0, 2.0, 1.0, 2.0], [0.0, 3.0, 2.0, 3.0]]
    """
    rows: list[list[float]] = []

    def build(items: list[int]) -> tuple[int, int, float]:
        if len(items) == 1:
            return items[0], 1, 0.0
        half = len(items) // 2
        left, lsize, lheight = build(items[:half])
        right, rsize, rheight = build(items[half:])
        height = max(lheight, rheight) + 1.0
        rows.append([float(left), float(right), height, float(lsize + rsize)])
        return n_features + len(rows) - 1, lsize + rsize, height

    build(list(range(n_features)))
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def grid_tree(height: int, width: int) -> np.ndarray:
    """A linkage matrix over the pixels of a [height, width] grid (pixel h * width + w) that
    halves the longer side of each rectangle, recursively (as shap's image masker splits)."""
    n = height * width
    rows: list[list[float]] = []

    def build(top: int, bottom: int, left: int, right: int) -> tuple[int, int, float]:
        if bottom - top == 1 and right - left == 1:
            return top * width + left, 1, 0.0
        if bottom - top >= right - left:
            middle = (top + bottom) // 2
            a, b = build(top, middle, left, right), build(middle, bottom, left, right)
        else:
            middle = (left + right) // 2
            a, b = build(top, bottom, left, middle), build(top, bottom, middle, right)
        tall = max(a[2], b[2]) + 1.0
        rows.append([float(a[0]), float(b[0]), tall, float(a[1] + b[1])])
        return n + len(rows) - 1, a[1] + b[1], tall

    build(0, height, 0, width)
    return np.array(rows, dtype=np.float64).reshape(-1, 4)


def correlation_tree(data: np.ndarray) -> np.ndarray:
    """Complete-linkage clustering of the columns of ``data`` by correlation distance (shap's
    ``partition_tree``); a balanced tree when the data cannot say (one row, constant columns)."""
    from scipy.cluster.hierarchy import complete
    from scipy.spatial.distance import pdist

    if len(data) < 2 or data.shape[1] < 2 or np.any(data.std(axis=0) == 0):
        return balanced_tree(data.shape[1])
    distances = np.nan_to_num(pdist(data.T, metric="correlation"), nan=1.0)
    return complete(distances)


def _check_clustering(clustering: Any, n_features: int) -> np.ndarray:
    try:
        tree = np.asarray(clustering, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ShapeError("clustering", "a linkage matrix [G - 1, 4]", describe(clustering)) from err
    if tree.ndim != 2 or tree.shape[0] != n_features - 1 or tree.shape[1] < 2:
        raise ShapeError(
            "clustering",
            f"a linkage matrix [{n_features - 1}, 4] over the {n_features} features (scipy / shap format)",
            describe(clustering),
        )
    children = tree[:, :2].astype(np.int64)
    if np.any(children < 0) or np.any(children >= n_features + np.arange(len(tree))[:, None]):
        raise InvalidArgumentError("clustering", "each node's children made before it (scipy's linkage)", "a tree")
    if len(np.unique(children)) != children.size:
        raise InvalidArgumentError("clustering", "a tree: every node the child of one parent", "repeated children")
    if tree.shape[1] < 4:
        sizes = np.ones(n_features + len(tree))
        for i, (left, right) in enumerate(children):
            sizes[n_features + i] = sizes[left] + sizes[right]
        tree = np.column_stack([tree[:, :2], np.ones(len(tree)), sizes[n_features:]])
    return tree


@attribution_method("partition_shap")
def partition_shap(
    model: Any,
    inputs: Any,
    *,
    target: Any = None,
    baseline: Any = None,
    batch_size: int | None = None,
    progress: bool | None = None,
    background: Any = None,
    clustering: Any = None,
    max_evals: int = 500,
    feature_mask: Any = None,
    return_input_shape: bool = True,
    n_background: int | None = 100,
    seed: int | None = None,
    mask_token: str = "...",
    collapse_mask_token: bool = True,
    feature_names: list[str] | None = None,
) -> Attribution:
    """Owen values of each feature over ``clustering`` (SHAP's PartitionExplainer).

    ``background``: rows of the example's shape whose values masked features take (default one
    row of zeros; ``baseline`` is accepted as its other name); more than ``n_background`` rows
    are summarized by k-means. ``clustering``: a linkage matrix over the features [G - 1, 4]
    (e.g. a shap masker's ``clustering``); default: tables by the background's correlations
    (a balanced tree over the columns when there are too few rows), images a spatial tree over
    the pixels (or, with ``feature_mask``, a balanced tree over its groups in label order),
    other arrays a balanced tree. ``max_evals``: model evaluations per example, shap's default
    500 (the exact Owen values need about 2 G log G on a balanced tree). ``feature_mask`` and
    ``return_input_shape`` as in ``kernel_shap``. ``base_value`` is f(everything masked) and
    ``delta`` the efficiency gap (zero up to rounding).

    Texts: the features are the words as shap's Text masker splits them (at ``\\W+``, each
    word with the separator after it); a masked word becomes ``mask_token`` (consecutive ones
    collapsed into one with ``collapse_mask_token``), as ``shap.maskers.Text()`` does.
    ``clustering`` may then be a function of the text (a shap Text masker's ``clustering``);
    default a balanced tree over the words in order. Values are one per word [N, W] (``tokens``
    holds the words).
    """
    if baseline is not None and background is not None:
        raise InvalidArgumentError("baseline", "not given with background (its other name)", baseline)
    background = background if background is not None else baseline
    max_evals = check_positive_int(max_evals, "max_evals", 3)
    return_input_shape = check_bool(return_input_shape, "return_input_shape")
    if n_background is not None:
        n_background = check_positive_int(n_background, "n_background")
    if feature_mask is None and not return_input_shape:
        raise InvalidArgumentError(
            "return_input_shape", "True unless feature_mask is given (values per group)", return_input_shape
        )
    with predict_task(
        model,
        inputs,
        method="partition_shap",
        target=target,
        batch_size=batch_size,
        progress=progress,
        feature_names=feature_names,
        policy="sampling",
    ) as task:
        if task.kind == "text":
            if feature_mask is not None or background is not None:
                raise InvalidArgumentError(
                    "feature_mask" if feature_mask is not None else "background",
                    "None for texts (words are the features; a masked word becomes mask_token)",
                    "a value",
                )
            return _texts(task, clustering, max_evals, mask_token, collapse_mask_token, options_of(max_evals))
        shape = tuple(task.x.shape[1:])
        mask = broadcast_mask(task, feature_mask)
        if mask is None and task.kind == "image":
            pixels = torch.arange(shape[1] * shape[2], device=task.x.device).reshape(shape[1:])
            mask = pixels.expand(shape)
        groups, n_groups = feature_groups(task, mask)
        groups = groups.reshape(len(groups), -1)
        rows, row_weights = _background(task, background, n_background, resolve_seed(seed))
        if clustering is None:
            if task.kind == "tabular" and feature_mask is None:
                tree = correlation_tree(rows)
            elif task.kind == "image" and feature_mask is None:
                tree = grid_tree(shape[1], shape[2])
            else:
                tree = balanced_tree(n_groups)
        else:
            tree = _check_clustering(clustering, n_groups)
        x = task.x.reshape(task.n, -1)
        bg = torch.as_tensor(rows, dtype=x.dtype, device=x.device)
        bg_w = torch.as_tensor(row_weights, dtype=torch.float64, device=x.device)
        values = np.zeros((task.n, n_groups))
        base = np.zeros(task.n)
        with task.bar(task.n) as bar:
            for i in range(task.n):
                own = groups[i if len(groups) > 1 else 0]
                evaluate = _coalition_values(task, i, x[i], own, bg, bg_w, n_groups)
                values[i], base[i] = _owen(evaluate, tree, n_groups, max_evals, task.call_rows // max(1, len(bg)))
                bar.update(1)
        delta = values.sum(axis=1) - (task.score.double().cpu().numpy() - base)
        options: dict[str, Any] = {"max_evals": max_evals, "n_background": len(rows)}
        if feature_mask is not None:
            options.update(feature_mask=True, return_input_shape=return_input_shape)
        per_group = torch.as_tensor(values)
        if not return_input_shape:
            per_group_values(task, feature_mask)
            result = per_group
        else:
            result = spread(groups.reshape(len(groups), *shape).cpu(), per_group, shape)
        return task.finish(result.numpy(), options=options, base_value=base, delta=delta)


def _coalition_values(
    task: Task,
    i: int,
    x: torch.Tensor,
    groups: torch.Tensor,
    bg: torch.Tensor,
    bg_w: torch.Tensor,
    n_groups: int,
) -> Any:
    """f(coalition) for masks [B, G] of example ``i``: the weighted mean over background rows of
    the target output with the kept groups from ``x`` and the rest from the row."""
    shape = tuple(task.x.shape[1:])
    k = len(bg)

    def evaluate(masks: np.ndarray) -> np.ndarray:
        keep = torch.as_tensor(masks, device=x.device)[:, groups]  # [B, D]
        hybrid = torch.where(keep[:, None, :], x[None, None, :], bg[None]).reshape(-1, *shape)
        rows = torch.full((len(hybrid),), i, dtype=torch.long, device=x.device)
        out = task.scores(hybrid, rows).double().reshape(len(masks), k)
        return (out * bg_w[None]).sum(dim=1).cpu().numpy()

    return evaluate


def _owen(evaluate: Any, tree: np.ndarray, m: int, max_evals: int, per_call: int) -> tuple[np.ndarray, float]:
    """(Owen values [m], f(nothing)) by shap's PartitionExplainer recursion (``owen``), with a
    deterministic order among equal priorities."""
    off = np.zeros(m, dtype=bool)
    f00, f11 = evaluate(np.stack([off, ~off]))
    n_nodes = 2 * m - 1
    leaves = np.zeros((n_nodes, m), dtype=bool)  # the features under each node
    leaves[np.arange(m), np.arange(m)] = True
    for j, (left, right) in enumerate(tree[:, :2].astype(np.int64)):
        leaves[m + j] = leaves[left] | leaves[right]
    credit = np.zeros(n_nodes)
    counter = itertools.count()
    queue: list[tuple[float, int, tuple[np.ndarray, float, float, int, float]]] = []
    heapq.heappush(queue, (0.0, next(counter), (off, f00, f11, n_nodes - 1, 1.0)))
    spent, budget = 0, max_evals - 2
    per_call = max(1, per_call // 2)
    while queue:
        if spent >= budget:
            for _, _, (_, low, high, node, weight) in queue:
                credit[node] += (high - low) * weight
            break
        work = []
        while queue and len(work) < per_call and spent + 2 * (len(work) + 1) <= budget:
            context, low, high, node, weight = heapq.heappop(queue)[2]
            if node < m:
                credit[node] += (high - low) * weight
                continue
            left, right = (int(c) for c in tree[node - m, :2])
            work.append((context, low, high, left, right, weight))
        if not work:
            if queue and spent + 2 > budget:
                spent = budget  # the next node does not fit: leave the rest on their nodes
            continue
        masks = np.empty((2 * len(work), m), dtype=bool)
        for j, (context, _, _, left, right, _) in enumerate(work):
            masks[2 * j] = context | leaves[left]
            masks[2 * j + 1] = context | leaves[right]
        out = evaluate(masks)
        spent += len(masks)
        for j, (context, low, high, left, right, weight) in enumerate(work):
            f10, f01 = out[2 * j], out[2 * j + 1]
            half = weight / 2
            for item in (
                (context, low, f10, left, half),
                (context, low, f01, right, half),
                (masks[2 * j + 1], f01, high, left, half),
                (masks[2 * j], f10, high, right, half),
            ):
                heapq.heappush(queue, (-abs(item[2] - item[1]) * half, next(counter), item))
    return _lower_credit(credit, tree, m), float(f00)


def _lower_credit(credit: np.ndarray, tree: np.ndarray, m: int) -> np.ndarray:
    """Each node's credit passed down to its leaves in proportion to their count (shap's
    ``lower_credit``)."""
    total = credit.copy()
    sizes = np.ones(2 * m - 1)
    sizes[m:] = tree[:, 3] if tree.shape[0] else sizes[m:]
    for node in range(2 * m - 2, m - 1, -1):  # parents after their children: walk down
        left, right = (int(c) for c in tree[node - m, :2])
        total[left] += total[node] * sizes[left] / sizes[node]
        total[right] += total[node] * sizes[right] / sizes[node]
    return total[:m]


def options_of(max_evals: int) -> dict[str, Any]:
    return {"max_evals": max_evals}


def word_segments(text: str) -> list[str]:
    """The words of ``text`` with the separator after each, as shap's Text masker's default
    tokenizer splits it (``\\W+``).

    >>> word_segments("not good, at all")
    ['not ', 'good, ', 'at ', 'all']
    """
    spans, position = [], 0
    for match in re.finditer(r"\W+", text):
        start, end = match.span(0)
        spans.append((position, start))
        position = end
    if position != len(text):
        spans.append((position, len(text)))
    parts = [text[spans[i][0] : max(spans[i][1], spans[i + 1][0])] for i in range(len(spans) - 1)]
    if spans:
        parts.append(text[spans[-1][0] : spans[-1][1]])
    return parts


def masked_text(segments: list[str], keep: np.ndarray, mask_token: str, collapse: bool) -> str:
    """The text with the words not kept replaced by ``mask_token`` (shap's Text masker)."""
    parts, previous_masked = [], False
    for segment, on in zip(segments, keep, strict=True):
        if on:
            parts.append(segment)
            previous_masked = False
        elif not collapse or not previous_masked:
            parts.append(" " + mask_token)
            previous_masked = True
    return re.sub(r"[\s]+", " ", "".join(parts)).strip()


def _texts(
    task: Task,
    clustering: Any,
    max_evals: int,
    mask_token: str,
    collapse: bool,
    options: dict[str, Any],
) -> Attribution:
    texts = cast(list[str], task.texts)  # a text task holds its texts
    words = [word_segments(text) for text in texts]
    width = max(1, max(len(w) for w in words))
    values = np.zeros((task.n, width))
    base = np.zeros(task.n)
    with task.bar(task.n) as bar:
        for i, (text, segments) in enumerate(zip(texts, words, strict=True)):
            m = len(segments)
            target = int(task.resolved_target[i])

            def evaluate(masks: np.ndarray, segments: list[str] = segments, target: int = target) -> np.ndarray:
                batch = [masked_text(segments, keep, mask_token, collapse) for keep in masks]
                return predict_texts(task.model, batch, task.call_rows)[:, target].double().cpu().numpy()

            if m == 0:
                bar.update(1)
                continue
            if m == 1:
                f00, f11 = evaluate(np.array([[False], [True]]))
                values[i, 0], base[i] = f11 - f00, f00
                bar.update(1)
                continue
            given = clustering(text) if callable(clustering) else clustering
            tree = balanced_tree(m) if given is None else _check_clustering(given, m)
            values[i, :m], base[i] = _owen(evaluate, tree, m, max_evals, task.call_rows)
            bar.update(1)
    task.tokens = [[w.strip() for w in segments] for segments in words]
    delta = values.sum(axis=1) - (task.score.double().cpu().numpy() - base)
    return task.finish(values, options=options, base_value=base, delta=delta)
