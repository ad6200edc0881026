"""Benchmark: feature visualization and activation atlases of the zoo's ``shapes_cnn``.

- a channel visualization at 64 x 64 in 256 steps (target: under 10 s on 2 cores), side by side
  with Lucent's ``render_vis`` settings: ``torch-lucent`` cannot be installed here (it requires
  torchvision, which does not install beside this torch build), so the peer is a plain-torch
  re-statement of Lucent's default pipeline (its ``fft_image`` with decorrelated colours and
  sigmoid, its ``standard_transforms``, Adam at lr 0.05, ``loss.backward()`` through the model's
  parameters as Lucent does; without Lucent's ImageNet input normalisation, which this model
  does not use);
- an atlas of ``relu3`` with a 20 x 20 grid (target: under 60 s), with UMAP and with PCA.

Run: ``python bench/bench_features.py [--quick]``; prints times and ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import deepscope as ds
from _results import Results
from deepscope.features import objectives as obj

LAYER, CHANNEL = "relu3", 2


# -- Lucent's render_vis defaults, re-stated in plain torch --------------------------------------

_COLOR_SVD_SQRT = np.asarray([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], dtype=np.float32)
_COLOR = torch.tensor(_COLOR_SVD_SQRT / np.max(np.linalg.norm(_COLOR_SVD_SQRT, axis=0)))


def lucent_fft_image(shape: tuple[int, int, int, int], sd: float = 0.01, decay_power: float = 1):
    batch, channels, h, w = shape
    freqs = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.rfftfreq(w)[None] ** 2)
    spectrum = (torch.randn(batch, channels, h, w // 2 + 1, 2) * sd).requires_grad_(True)
    scale = torch.tensor(1.0 / np.maximum(freqs, 1.0 / max(w, h)) ** decay_power)[None, None, ..., None]
    scale = scale.float()

    def inner():
        scaled = torch.view_as_complex(scale * spectrum)
        image = torch.fft.irfft2(scaled, s=(h, w), norm="ortho")
        return image[:batch, :channels, :h, :w] / 4.0

    return [spectrum], inner


def lucent_to_valid_rgb(image_f):
    def inner():
        t = image_f().permute(0, 2, 3, 1)
        t = torch.matmul(t, _COLOR.T).permute(0, 3, 1, 2)
        return torch.sigmoid(t)

    return inner


def lucent_standard_transforms(generator: torch.Generator):
    def pick(options):
        return options[int(torch.randint(len(options), (1,), generator=generator))]

    def pad(x):
        return F.pad(x, (12, 12, 12, 12), mode="constant", value=0.5)

    def jitter(d):
        def inner(x):
            dx, dy = (int(v) for v in torch.randint(d, (2,), generator=generator))
            return x[:, :, dx : x.shape[2] - d + dx + 1, dy : x.shape[3] - d + dy + 1]

        return inner

    def scale(x):
        s = pick([1 + (i - 5) / 50.0 for i in range(11)])
        return F.interpolate(x, scale_factor=s, mode="bilinear", align_corners=True)

    def rotate(x):  # kornia.rotate: bilinear, zeros outside
        angle = np.radians(pick(list(range(-10, 11)) + 5 * [0]))
        c, s = np.cos(angle), np.sin(angle)
        theta = torch.tensor([[c, -s, 0.0], [s, c, 0.0]], dtype=x.dtype)[None].expand(len(x), 2, 3)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False)

    steps = [pad, jitter(8), scale, rotate, jitter(4)]

    def inner(x):
        for step in steps:
            x = step(x)
        return x

    return inner


def lucent_render_vis(module: torch.nn.Module, size: int, steps: int, seed: int = 0) -> float:
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    params, image_f = lucent_fft_image((1, 3, size, size))
    image_f = lucent_to_valid_rgb(image_f)
    transform = lucent_standard_transforms(generator)
    optimizer = torch.optim.Adam(params, lr=5e-2)
    seen = {}
    layer = dict(module.named_modules())[LAYER]
    handle = layer.register_forward_hook(lambda m, a, out: seen.__setitem__("out", out))
    module.eval()
    try:
        for _ in range(steps):
            optimizer.zero_grad()
            module(transform(image_f()))
            loss = -seen["out"][:, CHANNEL].mean()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            module(image_f())
            return float(seen["out"][:, CHANNEL].mean())
    finally:
        handle.remove()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps and a smaller atlas")
    args = parser.parse_args()
    steps = 64 if args.quick else 256
    torch.set_num_threads(2)
    model = ds.zoo.get("shapes_cnn")
    _, test = ds.zoo.splits("shapes_cnn")

    start = time.perf_counter()
    ours = ds.features.visualize(model, obj.channel(LAYER, CHANNEL), size=64, steps=steps, progress=False)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    peer_value = lucent_render_vis(model.module, 64, steps)
    peer_s = time.perf_counter() - start
    print(f"channel visualization {LAYER}:{CHANNEL} 64x64, {steps} steps")
    print(f"  deepscope  {ours_s:7.2f} s   objective {ours.scores[0]:.3f}")
    print(f"  lucent-def {peer_s:7.2f} s   objective {peer_value:.3f}  (plain-torch re-statement)")
    print(f"  time ratio deepscope / lucent = {ours_s / peer_s:.2f}")
    results = Results("bench_features", f"shapes_cnn channel {LAYER}:{CHANNEL}, 64x64 image, {steps} steps, 2 threads")
    results.add(
        "channel visualization (Lucent's render_vis restated in plain torch)",
        ours=ours_s,
        peer=peer_s,
        peer_name="lucent restatement",
        peer_package=None,
    )

    grid = 10 if args.quick else 20
    for method in ("pca", "umap"):
        start = time.perf_counter()
        atlas = ds.features.atlas(
            model,
            test,
            LAYER,
            grid=grid,
            method=method,
            n=4000,
            steps=64 if args.quick else 128,
            progress=False,
        )
        took = time.perf_counter() - start
        print(
            f"atlas {LAYER} {grid}x{grid} ({method}): {took:7.2f} s, {len(atlas.counts)} cells, "
            f"{int(atlas.counts.sum())} of {len(atlas.points)} points in kept cells "
            "(Lucent has no atlas: no peer)"
        )
        results.note(f"activation atlas {grid}x{grid} ({method}): {took:.2f} s (Lucent has no atlas: no peer)")
    results.write()


if __name__ == "__main__":
    main()
