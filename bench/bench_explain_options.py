"""deepscope.explain's Captum/shap options against the peers, side by side in one process: time.

Cases (each tool at its defaults where the option allows, same model and inputs, alternating
runs, median of ``--repeats``):

- partition_shap vs shap's PartitionExplainer (same background, clustering and max_evals=500)
  on a 12-feature table;
- LIME with superpixel ``feature_mask`` vs Captum's Lime (same mask, 200 samples) on images;
- KernelSHAP with superpixel ``feature_mask`` vs Captum's KernelShap (same mask, 200 samples);
- Grad-CAM on a linear layer vs Captum's LayerGradCam (deepscope's default is 64 rows per
  pass, Captum's all of them: the second row matches Captum's).

Run: python bench/bench_explain_options.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import deepscope as ds
from _results import Results


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    warnings.filterwarnings("ignore")
    import shap
    from captum.attr import KernelShap, LayerGradCam, Lime

    rng = np.random.default_rng(0)
    background = rng.normal(size=(50, 12))
    table = rng.normal(size=(8, 12))
    weights = rng.normal(size=12)

    def tabular_model(z: np.ndarray) -> np.ndarray:
        return np.tanh(z @ weights) + z[:, 0] * z[:, 1]

    masker = shap.maskers.Partition(background, clustering="correlation")
    explainer = shap.PartitionExplainer(tabular_model, masker)

    cnn = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(128, 10)
    ).eval()
    images = torch.rand(8, 3, 32, 32)
    superpixels = (torch.arange(32)[:, None] // 8 * 4 + torch.arange(32)[None, :] // 8).expand(3, 32, 32)
    mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    rows = torch.randn(256, 64)

    cases: list[tuple[str, str, str, Callable[[], object], Callable[[], object]]] = [
        (
            "partition_shap 12 features, 50 background rows",
            "shap PartitionExplainer",
            "shap",
            lambda: ds.explain.partition_shap(
                tabular_model, table, background=background, clustering=masker.clustering, n_background=None
            ),
            lambda: explainer(table, max_evals=500, silent=True),
        ),
        (
            "lime 16 superpixels (feature_mask), 200 samples",
            "Captum Lime",
            "captum",
            lambda: ds.explain.lime(cnn, images, target=0, feature_mask=superpixels, baseline=0.0, n_samples=200),
            lambda: Lime(cnn).attribute(
                images, target=0, feature_mask=superpixels[None].contiguous(), n_samples=200, perturbations_per_eval=200
            ),
        ),
        (
            "kernel_shap 16 superpixels (feature_mask), 200 samples",
            "Captum KernelShap",
            "captum",
            lambda: ds.explain.kernel_shap(cnn, images, target=0, feature_mask=superpixels, n_samples=200),
            lambda: KernelShap(cnn).attribute(
                images, target=0, feature_mask=superpixels[None].contiguous(), n_samples=200, perturbations_per_eval=200
            ),
        ),
        (
            "grad_cam on a linear layer, 256 rows",
            "Captum LayerGradCam",
            "captum",
            lambda: ds.explain.grad_cam(mlp, rows, target=1, layer="2", relu=False),
            lambda: LayerGradCam(mlp, mlp[2]).attribute(rows, target=1),
        ),
        (
            "  equal rows per pass (batch_size=256)",
            "Captum LayerGradCam",
            "captum",
            lambda: ds.explain.grad_cam(mlp, rows, target=1, layer="2", relu=False, batch_size=256),
            lambda: LayerGradCam(mlp, mlp[2]).attribute(rows, target=1),
        ),
    ]
    results = Results("bench_explain_options", f"Captum/shap options, median of {args.repeats} alternating runs")
    print(f"{'case':56s} {'deepscope':>10s} {'peer':>10s} {'ratio':>7s}")
    for name, peer_name, package, ours, theirs in cases:
        ours(), theirs()  # warm up
        ours_times, peer_times = [], []
        for _ in range(args.repeats):
            ours_times.append(timed(ours))
            peer_times.append(timed(theirs))
        mine, peer = statistics.median(ours_times), statistics.median(peer_times)
        results.add(name, ours=mine, peer=peer, peer_name=peer_name, peer_package=package)
        print(f"{name:56s} {mine * 1000:8.1f}ms {peer * 1000:8.1f}ms {peer / mine:6.2f}x")
    results.write()


if __name__ == "__main__":
    main()
