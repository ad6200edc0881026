"""Figures of evaluate results: slices, fairness thresholds, what-if, classifier comparisons, errors.

Pure functions ``result -> plotly Figure``; nothing here computes a metric. Rates are drawn on
[0, 1] with their intervals as error bars, so a slice of 12 examples shows its uncertainty.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from deepscope.errors import InvalidArgumentError
from deepscope.escape import escape, escape_all
from deepscope.viz.notebook import figure_html
from deepscope.viz.theme import (
    DIVERGING,
    PALETTE,
    SEQUENTIAL,
    TEMPLATE_NAME,
    category_colors,
    symmetric_range,
)

__all__ = [
    "figure_html",
    "slices_figure",
    "thresholds_figure",
    "counterfactual_figure",
    "partial_dependence_figure",
    "confusion_matrix_figure",
    "performance_figure",
    "agreement_figure",
    "threshold_curve_figure",
    "threshold_surface_figure",
    "calibration_figure",
    "curves_figure",
    "per_class_figure",
    "groups_figure",
    "rewrite_figure",
]

_RATES = {
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "calibration_error",
    "coverage",
    "error_coverage",
    "local_error_rate",
    "global_error_rate",
    "tpr",
    "fpr",
    "positive_rate",
}
_NICE = {
    "roc_auc": "ROC AUC",
    "f1": "F1",
    "log_loss": "log loss",
    "calibration_error": "calibration error (ECE)",
    "mae": "MAE",
    "mse": "MSE",
    "mean_error": "mean error",
    "tpr": "true-positive rate",
    "fpr": "false-positive rate",
}


def _nice(name: str) -> str:
    return _NICE.get(name, name.replace("_", " "))


def _layout(fig: go.Figure, title: str, **layout: Any) -> go.Figure:
    fig.update_layout(template=TEMPLATE_NAME, title=title, **layout)
    return fig


def _error_bars(frame: Any, metric: str) -> dict[str, Any] | None:
    low, high = f"{metric}_low", f"{metric}_high"
    if low not in frame or high not in frame:
        return None
    values = frame[metric].to_numpy(dtype=float)
    return {
        "type": "data",
        "symmetric": False,
        "array": np.maximum(frame[high].to_numpy(dtype=float) - values, 0.0),
        "arrayminus": np.maximum(values - frame[low].to_numpy(dtype=float), 0.0),
        "thickness": 1.2,
        "width": 3,
    }


def slices_figure(result: Any, metric: str | None = None, **_: Any) -> go.Figure:
    """One dot per slice (with its interval), grouped and coloured by feature."""
    metric = cast(str, metric or result.metrics[0])
    if metric not in result.metrics:
        raise InvalidArgumentError("metric", f"one of {result.metrics}", metric)
    frame = result.frame
    colors = category_colors(frame["feature"])
    fig = go.Figure()
    for feature, part in frame.groupby("feature", sort=False):
        errors = _error_bars(part, metric)
        fig.add_trace(
            go.Scatter(
                x=part[metric],
                y=escape_all(part["slice"]),
                mode="markers",
                name=escape(feature),
                marker={"color": colors[feature], "size": 9},
                error_x=errors,
                customdata=np.column_stack([part["n"]]),
                hovertemplate="%{y}<br>" + _nice(metric) + " %{x:.3f}<br>n = %{customdata[0]}<extra></extra>",
            )
        )
    xaxis: dict[str, Any] = {"title": _nice(metric)}
    if metric in _RATES:
        xaxis["range"] = [0, 1.02]
    elif metric != "mean_error":
        xaxis["rangemode"] = "tozero"
    return _layout(
        fig,
        f"{_nice(metric)} per slice",
        xaxis=xaxis,
        yaxis={"autorange": "reversed", "type": "category"},
        height=max(260, 28 * len(frame) + 120),
        legend={"title": "feature"},
    )


def thresholds_figure(result: Any, **_: Any) -> go.Figure:
    """Each group's ROC curve, its chosen operating point marked, per-group rates beside it."""
    fig = make_subplots(
        rows=1, cols=2, column_widths=[0.55, 0.45], subplot_titles=("ROC per group", "rates at the chosen thresholds")
    )
    groups = result.frame["group"].tolist()
    colors = category_colors(groups)
    for g in groups:
        curve = result.roc[result.roc["group"] == g]
        fig.add_trace(
            go.Scatter(
                x=curve["fpr"],
                y=curve["tpr"],
                mode="lines",
                name=escape(g),
                line={"color": colors[g]},
                legendgroup=str(g),
            ),
            row=1,
            col=1,
        )
        row = result.frame[result.frame["group"] == g].iloc[0]
        fig.add_trace(
            go.Scatter(
                x=[row["fpr"]],
                y=[row["tpr"]],
                mode="markers",
                showlegend=False,
                marker={"color": colors[g], "size": 12, "line": {"color": "white", "width": 1}},
                legendgroup=str(g),
                hovertemplate=f"{escape(g)}: threshold {row['threshold']:.3f}<extra></extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", showlegend=False, line={"color": "#9AA5B1", "dash": "dot"}),
        row=1,
        col=1,
    )
    for i, rate in enumerate(("tpr", "fpr", "positive_rate", "accuracy")):
        fig.add_trace(
            go.Bar(
                x=escape_all(groups),
                y=result.frame[rate],
                name=_nice(rate),
                marker={"color": PALETTE[(i + 4) % len(PALETTE)]},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="false-positive rate", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="true-positive rate", range=[0, 1.02], row=1, col=1)
    fig.update_yaxes(range=[0, 1], row=1, col=2)
    return _layout(
        fig,
        f"Thresholds by {escape(result.group_column)}: {result.strategy.replace('_', ' ')}",
        barmode="group",
        height=420,
    )


def counterfactual_figure(result: Any, **_: Any) -> go.Figure:
    """Standardised change per feature from the example to its counterfactual (diverging)."""
    frame = result.frame
    values = frame["standardised"].to_numpy(dtype=float)
    low, high = symmetric_range(values)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=escape_all(frame["feature"]),
            orientation="h",
            marker={"color": values, "colorscale": DIVERGING, "cmin": low, "cmax": high},
            customdata=np.column_stack([escape_all(frame["example"]), escape_all(frame["counterfactual"])]),
            hovertemplate="%{y}: %{customdata[0]} → %{customdata[1]}<extra></extra>",
        )
    )
    return _layout(
        fig,
        f"Nearest counterfactual: {escape(result.example_prediction)} → {escape(result.counterfactual_prediction)} "
        f"(distance {result.distance:.3g})",
        xaxis={"title": "change (standard deviations; categories: 1 = changed)", "range": [low, high]},
        yaxis={"autorange": "reversed"},
        height=max(260, 26 * len(frame) + 120),
    )


def partial_dependence_figure(result: Any, max_ice: int = 200, **_: Any) -> go.Figure:
    """ICE curves as faint lines (at most ``max_ice``) under the partial dependence."""
    values = result.curve["value"].tolist()
    x = values if result.kind == "numeric" else escape_all(values)
    fig = go.Figure()
    step = max(1, len(result.ice) // max_ice)
    for i, curve in enumerate(result.ice[::step]):
        fig.add_trace(
            go.Scatter(
                x=x,
                y=curve,
                mode="lines",
                line={"color": "rgba(51,34,136,0.12)", "width": 1},
                showlegend=i == 0,
                name="ICE (one example)",
                hoverinfo="skip",
                legendgroup="ice",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=result.curve["partial_dependence"],
            mode="lines+markers",
            name="partial dependence",
            line={"color": PALETTE[1], "width": 3},
        )
    )
    return _layout(
        fig,
        f"Partial dependence on {escape(result.feature)}",
        xaxis={"title": escape(result.feature), "type": "linear" if result.kind == "numeric" else "category"},
        yaxis={"title": f"output {result.target}"},
    )


def confusion_matrix_figure(result: Any, **_: Any) -> go.Figure:
    """Heatmap, labels down and predictions across, values written in the cells."""
    labels = escape_all(result.classes)
    matrix = np.asarray(result.matrix, dtype=float)
    text = [[f"{v:.2f}" if result.normalize else f"{int(v)}" for v in row] for row in matrix]
    fig = go.Figure(
        go.Heatmap(
            z=matrix,
            x=labels,
            y=labels,
            colorscale=SEQUENTIAL,
            zmin=0,
            text=text,
            texttemplate="%{text}" if len(labels) <= 20 else None,
            hovertemplate="label %{y}, predicted %{x}: %{z}<extra></extra>",
        )
    )
    title = "Confusion matrix" + (f" (normalised over {result.normalize})" if result.normalize else "")
    return _layout(
        fig,
        title,
        xaxis={"title": "prediction", "type": "category"},
        yaxis={"title": "label", "autorange": "reversed", "type": "category"},
    )


def performance_figure(result: Any, **_: Any) -> go.Figure:
    """Grouped bars: a group per metric, a bar per model, intervals where known."""
    frame = result.frame
    fig = go.Figure()
    colors = category_colors(frame["model"])
    for _, row in frame.iterrows():
        errors_plus, errors_minus = [], []
        for m in result.metrics:
            low, high = row.get(f"{m}_low", np.nan), row.get(f"{m}_high", np.nan)
            errors_plus.append(max(float(high) - float(row[m]), 0.0) if np.isfinite(high) else 0.0)
            errors_minus.append(max(float(row[m]) - float(low), 0.0) if np.isfinite(low) else 0.0)
        fig.add_trace(
            go.Bar(
                x=[_nice(m) for m in result.metrics],
                y=[row[m] for m in result.metrics],
                name=escape(row["model"]),
                marker={"color": colors[row["model"]]},
                error_y={"type": "data", "symmetric": False, "array": errors_plus, "arrayminus": errors_minus},
            )
        )
    return _layout(fig, "Compare performance", barmode="group", yaxis={"rangemode": "tozero"})


def agreement_figure(result: Any, **_: Any) -> go.Figure:
    """Bars of each outcome's count (both right, only one right, both wrong)."""
    frame = result.counts
    fig = go.Figure(
        go.Bar(
            x=escape_all(frame["outcome"]),
            y=frame["n"],
            marker={"color": list(PALETTE[: len(frame)])},
            customdata=frame["share"],
            hovertemplate="%{x}: %{y} (%{customdata:.1%})<extra></extra>",
        )
    )
    return _layout(
        fig,
        f"Compare predictions: {escape(result.names[0])} vs {escape(result.names[1])}",
        yaxis={"title": "examples", "rangemode": "tozero"},
    )


def threshold_curve_figure(result: Any, **_: Any) -> go.Figure:
    """Accuracy and coverage against the threshold, or accuracy against coverage."""
    frame = result.frame
    colors = category_colors(frame["model"])
    fig = go.Figure()
    for model, part in frame.groupby("model", sort=False):
        if result.view == "data_vs_accuracy":
            fig.add_trace(
                go.Scatter(
                    x=part["coverage"],
                    y=part["accuracy"],
                    mode="lines+markers",
                    name=escape(model),
                    line={"color": colors[model]},
                    customdata=part["threshold"],
                    hovertemplate="threshold %{customdata:.2f}<br>coverage %{x:.3f}"
                    "<br>accuracy %{y:.3f}<extra></extra>",
                )
            )
        else:
            fig.add_trace(
                go.Scatter(
                    x=part["threshold"],
                    y=part["accuracy"],
                    mode="lines+markers",
                    name=f"{escape(model)} accuracy",
                    line={"color": colors[model]},
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=part["threshold"],
                    y=part["coverage"],
                    mode="lines",
                    name=f"{escape(model)} coverage",
                    line={"color": colors[model], "dash": "dash"},
                )
            )
    if result.view == "data_vs_accuracy":
        return _layout(
            fig,
            "Data vs accuracy",
            xaxis={"title": "coverage (share of data kept)", "range": [0, 1.02]},
            yaxis={"title": "accuracy", "range": [0, 1.02]},
        )
    return _layout(
        fig,
        "Confidence thresholding",
        xaxis={"title": "confidence threshold", "range": [0, 1]},
        yaxis={"title": "accuracy / coverage", "range": [0, 1.02]},
    )


def threshold_surface_figure(result: Any, kind: str = "2d", **_: Any) -> go.Figure:
    """Two thresholds: heatmaps of accuracy and coverage (2d) or the accuracy surface (3d)."""
    t = result.thresholds
    first, second = result.names
    if kind == "3d":
        fig = go.Figure(
            go.Surface(
                x=t,
                y=t,
                z=result.accuracy,
                surfacecolor=result.coverage,
                colorscale=SEQUENTIAL,
                cmin=0,
                cmax=1,
                colorbar={"title": "coverage"},
            )
        )
        fig.update_layout(
            scene={
                "xaxis_title": f"{escape(second)} threshold",
                "yaxis_title": f"{escape(first)} threshold",
                "zaxis_title": "accuracy",
                "zaxis": {"range": [0, 1]},
            }
        )
        return _layout(fig, "Two thresholds: accuracy (colour: coverage)", height=520)
    if kind != "2d":
        raise InvalidArgumentError("kind", "'2d' or '3d'", kind)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "coverage"), horizontal_spacing=0.14)
    fig.add_trace(
        go.Heatmap(
            z=result.accuracy, x=t, y=t, colorscale=SEQUENTIAL, zmin=0, zmax=1, colorbar={"x": 0.43, "len": 0.9}
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Heatmap(z=result.coverage, x=t, y=t, colorscale=SEQUENTIAL, zmin=0, zmax=1, colorbar={"x": 1.0, "len": 0.9}),
        row=1,
        col=2,
    )
    for col in (1, 2):
        fig.update_xaxes(title_text=f"{escape(second)} threshold", row=1, col=col)
        fig.update_yaxes(title_text=f"{escape(first)} threshold", row=1, col=col)
    return _layout(fig, "Two thresholds", height=420)


def calibration_figure(result: Any, **_: Any) -> go.Figure:
    """Reliability diagram per model and class against the diagonal; Brier score in the legend."""
    fig = go.Figure(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line={"color": "#9AA5B1", "dash": "dot"}
        )
    )
    keys = list(dict.fromkeys(zip(result.curves["model"], result.curves["class"].astype(str), strict=True)))
    colors = category_colors(keys)
    brier = {(m, str(c)): b for m, c, b in result.brier[["model", "class", "brier"]].itertuples(index=False)}
    for model, cls in keys:
        part = result.curves[(result.curves["model"] == model) & (result.curves["class"].astype(str) == cls)]
        fig.add_trace(
            go.Scatter(
                x=part["mean_predicted"],
                y=part["fraction_positive"],
                mode="lines+markers",
                name=f"{escape(model)} · {escape(cls)} (Brier {brier[(model, cls)]:.3f})",
                line={"color": colors[(model, cls)]},
                customdata=part["count"],
                hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<br>n = %{customdata}<extra></extra>",
            )
        )
    return _layout(
        fig,
        "Calibration (reliability diagram)",
        xaxis={"title": "mean predicted probability", "range": [0, 1]},
        yaxis={"title": "fraction of positives", "range": [0, 1.02]},
    )


def curves_figure(result: Any, kind: str = "roc", **_: Any) -> go.Figure:
    """ROC (``kind="roc"``) or precision-recall (``"pr"``) curves, area in the legend."""
    if kind not in ("roc", "pr"):
        raise InvalidArgumentError("kind", "'roc' or 'pr'", kind)
    data = result.roc if kind == "roc" else result.pr
    x, y, area = ("fpr", "tpr", "roc_auc") if kind == "roc" else ("recall", "precision", "average_precision")
    keys = list(dict.fromkeys(zip(data["model"], data["class"].astype(str), strict=True)))
    colors = category_colors(keys)
    areas = {(m, str(c)): a for m, c, a in result.summary[["model", "class", area]].itertuples(index=False)}
    fig = go.Figure()
    if kind == "roc":
        fig.add_trace(
            go.Scatter(x=[0, 1], y=[0, 1], mode="lines", showlegend=False, line={"color": "#9AA5B1", "dash": "dot"})
        )
    for model, cls in keys:
        part = data[(data["model"] == model) & (data["class"].astype(str) == cls)]
        fig.add_trace(
            go.Scatter(
                x=part[x],
                y=part[y],
                mode="lines",
                line={"color": colors[(model, cls)]},
                name=f"{escape(model)} · {escape(cls)} ({'AUC' if kind == 'roc' else 'AP'} {areas[(model, cls)]:.3f})",
                line_shape="hv" if kind == "pr" else "linear",
            )
        )
    return _layout(
        fig,
        "ROC curves" if kind == "roc" else "Precision-recall curves",
        xaxis={"title": _nice(x), "range": [0, 1]},
        yaxis={"title": _nice(y), "range": [0, 1.02]},
    )


def per_class_figure(result: Any, **_: Any) -> go.Figure:
    """Per-class metrics: bars of precision/recall/F1, or F1 bars with the class frequency line."""
    frame = result.frame
    models = list(dict.fromkeys(frame["model"]))
    if result.view == "frequency_vs_f1":
        fig = make_subplots(specs=[[{"secondary_y": True}]])
        colors = category_colors(models)
        for model in models:
            part = frame[frame["model"] == model]
            fig.add_trace(
                go.Bar(
                    x=escape_all(part["class"]),
                    y=part["f1"],
                    name=f"{escape(model)} F1",
                    marker={"color": colors[model]},
                ),
                secondary_y=False,
            )
        first = frame[frame["model"] == models[0]]
        fig.add_trace(
            go.Scatter(
                x=escape_all(first["class"]),
                y=first["frequency"],
                mode="lines+markers",
                name="frequency",
                line={"color": "#1F2933"},
            ),
            secondary_y=True,
        )
        fig.update_yaxes(title_text="F1", range=[0, 1.02], secondary_y=False)
        fig.update_yaxes(title_text="share of examples", rangemode="tozero", secondary_y=True)
        fig.update_xaxes(title_text="class (most frequent first)", type="category")
        return _layout(fig, "Frequency vs F1", barmode="group")
    fig = make_subplots(rows=len(models), cols=1, shared_xaxes=True, subplot_titles=escape_all(models))
    for row, model in enumerate(models, start=1):
        part = frame[frame["model"] == model]
        for i, metric in enumerate(("precision", "recall", "f1")):
            fig.add_trace(
                go.Bar(
                    x=escape_all(part["class"]),
                    y=part[metric],
                    name=_nice(metric),
                    marker={"color": PALETTE[i]},
                    showlegend=row == 1,
                    legendgroup=metric,
                ),
                row=row,
                col=1,
            )
        fig.update_yaxes(range=[0, 1.02], row=row, col=1)
    fig.update_xaxes(type="category")
    return _layout(fig, "Per-class metrics", barmode="group", height=max(320, 260 * len(models)))


def groups_figure(result: Any, **_: Any) -> go.Figure:
    """Local error rate per group (with interval) against coverage; size shows error coverage."""
    frame = result.frame
    overall = result.n_errors / result.n if result.n else np.nan
    fig = go.Figure(
        go.Scatter(
            x=frame["coverage"],
            y=frame["local_error_rate"],
            mode="markers+text",
            text=escape_all(frame["name"]),
            textposition="top center",
            marker={
                "size": 12 + 30 * frame["error_coverage"].fillna(0).to_numpy(),
                "color": PALETTE[1],
                "opacity": 0.8,
            },
            error_y=_error_bars(frame, "local_error_rate"),
            customdata=np.column_stack([frame["n"], frame["errors"], frame["error_coverage"]]),
            hovertemplate="%{text}<br>coverage %{x:.1%}<br>local error rate %{y:.1%}<br>n = %{customdata[0]}, "
            "errors = %{customdata[1]}<br>error coverage %{customdata[2]:.1%}<extra></extra>",
        )
    )
    if np.isfinite(overall):
        fig.add_hline(
            y=overall, line={"color": "#9AA5B1", "dash": "dot"}, annotation_text=f"overall error rate {overall:.1%}"
        )
    return _layout(
        fig,
        "Error groups",
        xaxis={"title": "coverage", "range": [0, 1.02]},
        yaxis={"title": "local error rate", "range": [0, 1.02]},
    )


def rewrite_figure(result: Any, **_: Any) -> go.Figure:
    """How the group's examples fared under the rule: unchanged, no flip, flips that fixed/broke."""
    examples = result.examples
    fixed = int(examples["fixed"].sum()) if len(examples) else 0
    broken = int(examples["broken"].sum()) if len(examples) else 0
    other = result.n_flipped - fixed - broken
    names = ["rule did not apply", "changed, same prediction", "flipped: fixed", "flipped: broke", "flipped: other"]
    counts = [result.n_group - result.n_changed, result.n_changed - result.n_flipped, fixed, broken, other]
    fig = go.Figure(
        go.Bar(x=names, y=counts, marker={"color": ["#9AA5B1", PALETTE[3], PALETTE[2], PALETTE[1], PALETTE[6]]})
    )
    rate = f"{result.flip_rate:.1%}" if np.isfinite(result.flip_rate) else "n/a"
    return _layout(
        fig, f"Rewrite {escape(result.rule)}: flip rate {rate}", yaxis={"title": "examples", "rangemode": "tozero"}
    )
