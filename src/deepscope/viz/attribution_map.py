"""One example of an ``Attribution``: its map for one method, token colours for text, and
gallery thumbnails (what the Explain page shows per example).

Pure functions of results (``Attribution``) and arrays; nothing here computes a map. A signed
map is drawn on the diverging scale centred on zero with a symmetric range (white: no effect);
``positive`` and ``absolute`` on the sequential scale from zero (see ``viz.attribution.scale``).
Where the example has a ground-truth mask, its outline is drawn over the map, with a cross at
the map's highest pixel: the pointing game scores whether the cross falls inside the outline.

>>> import numpy as np
>>> from deepscope.explain import Attribution
>>> a = Attribution(values=np.random.default_rng(0).normal(size=(1, 3, 8, 8)), method="saliency",
...                 target=np.array([0]), inputs=np.zeros((1, 3, 8, 8)), kind="image")
>>> [t.type for t in map_figure(a, 0, mode="signed", style="blended").data]
['image', 'heatmap']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from deepscope.errors import InvalidArgumentError
from deepscope.viz.attribution import MODES, scale
from deepscope.viz.images import image_src
from deepscope.viz.theme import TEMPLATE_NAME

__all__ = [
    "METHOD_LABELS",
    "STYLES",
    "TokenColours",
    "grey",
    "map_figure",
    "method_label",
    "picture",
    "thumbnail_src",
    "token_colours",
]

STYLES = ("blended", "heatmap")
METHOD_LABELS = {
    "saliency": "Saliency",
    "gradient_x_input": "Gradient × input",
    "integrated_gradients": "Integrated gradients",
    "smoothgrad": "SmoothGrad",
    "smoothgrad_sq": "SmoothGrad²",
    "vargrad": "VarGrad",
    "noise_tunnel": "Noise tunnel",
    "grad_cam": "Grad-CAM",
    "grad_cam_pp": "Grad-CAM++",
    "guided_backprop": "Guided backprop",
    "guided_grad_cam": "Guided Grad-CAM",
    "occlusion": "Occlusion",
    "lime": "LIME",
    "kernel_shap": "KernelSHAP",
    "gradient_shap": "GradientSHAP",
    "deconvolution": "Deconvolution",
    "feature_ablation": "Feature ablation",
    "feature_permutation": "Feature permutation",
    "shapley_sampling": "Shapley sampling",
    "shapley_exact": "Shapley values (exact)",
    "deeplift": "DeepLIFT",
    "deeplift_shap": "DeepLIFT SHAP",
    "lrp": "LRP",
    "layer_activation": "Layer activation",
    "layer_gradient_x_activation": "Layer gradient × activation",
    "layer_integrated_gradients": "Layer integrated gradients",
    "layer_conductance": "Layer conductance",
    "neuron_gradient": "Neuron gradient",
    "neuron_integrated_gradients": "Neuron integrated gradients",
    "neuron_conductance": "Neuron conductance",
}
_OUTLINE = "#1F2933"
_OPACITY = 0.65


def method_label(method: str) -> str:
    """A method's display name (``grad_cam`` -> ``Grad-CAM``); unknown names as they are."""
    base = method.split("(")[0]
    if base in METHOD_LABELS:
        return METHOD_LABELS[base]
    words = method.replace("_x_", " × ").replace("_", " ")
    return words[:1].upper() + words[1:]


def picture(image: np.ndarray) -> np.ndarray:
    """One image [C, H, W] (C = 1 or 3, values in [0, 1]) as RGB uint8 [H, W, 3].

    Values outside [0, 1] (normalized inputs) are min-max scaled instead of clipped.
    """
    image = np.asarray(image, dtype=np.float64)
    image = image.transpose(1, 2, 0) if image.shape[0] == 3 else image.mean(axis=0)[..., None]
    low, high = np.nanmin(image), np.nanmax(image)
    if low < 0 or high > 1:
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    rgb = np.repeat(image, 3, axis=2) if image.shape[2] == 1 else image
    return (np.clip(rgb, 0, 1) * 255).round().astype(np.uint8)


def grey(rgb: np.ndarray, floor: float = 0.3) -> np.ndarray:
    """An RGB uint8 picture in light shades of grey (luma from ``floor`` to white), still RGB:
    under a map, black would muddy its colours."""
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    luma = 255 * floor + (1 - floor) * luma
    return np.repeat(luma.round().astype(np.uint8)[..., None], 3, axis=2)


def thumbnail_src(image: np.ndarray) -> str:
    """A lossless PNG data URL of an image [C, H, W], for the example gallery."""
    return image_src(picture(image))


@dataclass(frozen=True)
class TokenColours:
    """Tokens of one example with their values and colours, and the scale they were coloured on."""

    tokens: list[str]
    values: list[float]
    backgrounds: list[str]
    foregrounds: list[str]  # dark or white text, whichever reads on the background
    low: float
    high: float
    gradient: str  # a CSS linear-gradient of the scale, low to high


def token_colours(attribution: Any, row: int, *, mode: str = "signed") -> TokenColours:
    """The tokens of text example ``row`` coloured by their value, for highlighting in HTML.

    >>> import numpy as np
    >>> from deepscope.explain import Attribution
    >>> a = Attribution(values=np.array([[1.0, -1.0, 0.0]]), method="saliency", kind="text",
    ...                 target=np.array([0]), tokens=[["good", "not", "."]])
    >>> token_colours(a, 0).backgrounds
    ['rgb(178, 24, 43)', 'rgb(33, 102, 172)', 'rgb(247, 247, 247)']
    """
    tokens = list(attribution.tokens[row]) if attribution.tokens else []
    raw = np.asarray(attribution.values[row][: len(tokens)], dtype=float)
    shown, colours = scale(raw, mode)
    low, high = float(colours["zmin"]), float(colours["zmax"])
    span = high - low if high > low else 1.0
    where = np.clip((np.nan_to_num(shown) - low) / span, 0, 1)
    backgrounds = [str(c) for c in sample_colorscale(colours["colorscale"], where.tolist())] if len(where) else []
    stops = np.linspace(0, 1, 9).tolist()
    gradient = ", ".join(str(c) for c in sample_colorscale(colours["colorscale"], stops))
    return TokenColours(
        tokens=tokens,
        values=raw.tolist(),
        backgrounds=backgrounds,
        foregrounds=[_readable(c) for c in backgrounds],
        low=low,
        high=high,
        gradient=f"linear-gradient(to right, {gradient})",
    )


def _readable(rgb: str) -> str:
    r, g, b = (int(v) for v in rgb[rgb.index("(") + 1 : -1].split(","))
    return "#1F2933" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#FFFFFF"


def map_figure(
    attribution: Any,
    row: int,
    *,
    mode: str = "signed",
    style: str = "blended",
    mask: np.ndarray | None = None,
    height: int = 300,
) -> go.Figure:
    """The map of image example ``row``: over the image (``blended``) or alone (``heatmap``).
    ``mask`` [H, W]: the object's outline and a cross at the map's peak.
    """
    if mode not in MODES:
        raise InvalidArgumentError("mode", f"one of {', '.join(map(repr, MODES))}", mode)
    if style not in STYLES:
        raise InvalidArgumentError("style", f"one of {', '.join(map(repr, STYLES))}", style)
    if attribution.kind != "image":
        raise InvalidArgumentError("attribution", "an image attribution (text: token_colours)", attribution.kind)
    values = np.asarray(attribution.map()[row], dtype=float)
    z, colours = scale(values, mode)
    fig = go.Figure()
    has_image = attribution.inputs is not None and attribution.inputs.ndim == 4
    blended = style == "blended" and has_image
    if blended and attribution.inputs is not None:
        # grey, so that every colour on the panel is the map's
        fig.add_trace(go.Image(z=grey(picture(attribution.inputs[row])), hoverinfo="skip"))
    ticks = _ticks(colours, mode)
    fig.add_trace(
        go.Heatmap(
            z=z,
            **colours,
            opacity=_OPACITY if blended else 1.0,
            colorbar={"thickness": 10, "len": 0.9, "tickvals": ticks, "ticktext": _labels(ticks), "outlinewidth": 0},
            hovertemplate="x %{x}, y %{y}: %{z:.3g}<extra></extra>",
            name=mode,
        )
    )
    if mask is not None:
        _outline(fig, np.asarray(mask, dtype=bool), values)
    fig.update_xaxes(visible=False, range=[-0.5, values.shape[1] - 0.5], constrain="domain")
    fig.update_yaxes(visible=False, range=[values.shape[0] - 0.5, -0.5], scaleanchor="x", constrain="domain")
    fig.update_layout(
        template=TEMPLATE_NAME,
        height=height,
        margin={"l": 4, "r": 4, "t": 4, "b": 4},
        showlegend=False,
        plot_bgcolor="white",
    )
    return fig


def _ticks(colours: dict[str, Any], mode: str) -> list[float]:
    low, high = float(colours["zmin"]), float(colours["zmax"])
    return [low, 0.0, high] if mode == "signed" else [0.0, high]


def _labels(ticks: list[float]) -> list[str]:
    return [f"{t:.2g}" if t else "0" for t in ticks]


def _outline(fig: go.Figure, mask: np.ndarray, values: np.ndarray) -> None:
    """The mask's outline and a cross at the map's highest pixel (what the pointing game reads)."""
    if mask.any():
        fig.add_trace(
            go.Contour(
                z=mask.astype(float),
                contours={"start": 0.5, "end": 0.5, "size": 1, "coloring": "none"},
                line={"color": _OUTLINE, "width": 1.5, "dash": "dot"},
                showscale=False,
                hoverinfo="skip",
                name="object mask",
            )
        )
    y, x = np.unravel_index(int(np.argmax(values)), values.shape)
    fig.add_trace(
        go.Scatter(
            x=[x],
            y=[y],
            mode="markers",
            name="peak",
            marker={"symbol": "x-thin", "size": 11, "line": {"width": 2.5, "color": _OUTLINE}},
            hovertemplate="highest value (pointing game): x %{x}, y %{y}<extra></extra>",
        )
    )
