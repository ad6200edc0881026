"""The figure theme (deepscope.viz.theme): colours that hold across pages, sessions and eyes.

It lives beside the app tests because the dashboard is what relies on ``run_color`` being stable.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from deepscope.viz import theme

# Machado, Oliveira & Fernandes (2009), severity 1.0: how colours look with each colour blindness.
_CVD = {
    "normal": np.eye(3),
    "protanopia": np.array(
        [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]]
    ),
    "deuteranopia": np.array(
        [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]]
    ),
    "tritanopia": np.array(
        [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]]
    ),
}


def _linear_rgb(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(linear_rgb: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ np.clip(
        linear_rgb, 0, 1
    )
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("vision", list(_CVD))
def test_palette_colours_stay_apart_under_colour_blindness(vision):
    labs = [_lab(_CVD[vision] @ _linear_rgb(c)) for c in theme.PALETTE]
    closest = min(np.linalg.norm(a - b) for a, b in itertools.combinations(labs, 2))
    assert closest > 12, f"two palette colours nearly merge for {vision} (delta E {closest:.1f})"


def test_run_color_is_stable_across_processes():
    names = ["baseline", "cnn-lr0.01", "<img src=x>", "ünïcode"]
    here = [theme.run_color(n) for n in names]
    code = f"from deepscope.viz.theme import run_color; print([run_color(n) for n in {names!r}])"
    for seed in ("1", "2"):  # Python's own str hash changes with PYTHONHASHSEED; ours must not
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
        ).stdout
        assert out.strip() == repr(here)
    assert all(c in theme.PALETTE for c in here)
    spread = {theme.run_color(f"run-{i}") for i in range(200)}
    assert spread == set(theme.PALETTE)  # every colour gets used


def test_category_colors_are_distinct_for_up_to_nine():
    colours = theme.category_colors(["a", "b", "a", "c"])
    assert list(colours) == ["a", "b", "c"]
    assert len(set(theme.category_colors(range(9)).values())) == 9


def test_symmetric_range_centres_on_zero():
    assert theme.symmetric_range([0.2, -3.0, np.nan, np.inf]) == (-3.0, 3.0)
    assert theme.symmetric_range([]) == (-1.0, 1.0)
    assert theme.symmetric_range(np.zeros((2, 2))) == (-1.0, 1.0)
    stops = theme.DIVERGING
    assert stops[0][0] == 0.0 and stops[-1][0] == 1.0
    assert dict((p, c) for p, c in stops)[0.5].upper() == "#F7F7F7"  # white at zero


def test_template_is_registered_and_uses_the_palette():
    assert theme.TEMPLATE_NAME in pio.templates
    fig = go.Figure(go.Scatter(y=[1, 2]), layout={"template": theme.TEMPLATE_NAME})
    assert list(fig.layout.template.layout.colorway) == list(theme.PALETTE)
