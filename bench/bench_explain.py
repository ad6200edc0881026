"""deepscope.explain against Captum and shap, side by side in one run: time and peak memory.

Peak memory: each (tool, method) runs in a fresh subprocess with glibc's mmap threshold pinned
low (so freed buffers go back to the system): setup and imports, one warm-up call, then one call
with a thread sampling the resident memory every half millisecond; peak = highest sample minus
the resident memory before the call. Time: one subprocess per case (glibc's default allocator
settings, as users run) sets up every tool, warms
each up, then runs them in turn ``--repeats`` times (alternating, so a busy machine slows all
alike) and reports medians. Same model, inputs and torch threads for every tool.

First call: the same fresh subprocess times its first call (before the memory is sampled, on
the call after it), which pays for every one-time cost (lazy imports, layout probes, kernel
selection); ``--fresh-repeats`` such processes, median.

Every registered method has a case (the run ends by naming any that lacks one), at both tools'
defaults: deepscope's ``ds.Model(net)`` without a ``batch_size``, so every method sizes its passes
by its policy (``deepscope.explain._rows``: gradient paths in one pass within a 256 MiB budget,
perturbations one copy of every example per pass), Captum's ``internal_batch_size=None``,
``perturbations_per_eval=1``. Cases marked ``@bn`` run on the model of issue 16, a small CNN with
batch norms (batch 24 of 3x32x32); ``@linear`` Grad-CAM on a linear layer of an MLP (256 rows).

Targets (issues 4 and 15), checked per method at the end of the run (a verdict line each, also
written under the table in results.md): no slower than Captum (aim: deepscope's time at most
0.8x Captum's), peak memory no higher; KernelSHAP no slower than shap's KernelExplainer at equal
samples and background. The machine may be shared: the load average is recorded at the start and
the end, and every time is a median of alternating runs.

Run: python bench/bench_explain.py [--repeats 3] [--fresh-repeats 1] [--threads N] [--only smoothgrad]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from _results import Results

# (case, deepscope job, peer job): each pair is timed together, alternating. Jobs are
# "<tool>:<method>[:<rows per model call>]"; the second row of a method matches the peer's
# memory (same number of inputs per forward pass) where the defaults differ.
CASES = [
    ("integrated_gradients n_steps=50", "ds:ig", "captum:ig"),
    ("smoothgrad 25 samples", "ds:smoothgrad", "captum:smoothgrad"),
    ("occlusion 4x4 stride 2", "ds:occlusion", "captum:occlusion"),
    ("  equal rows per pass (64)", "ds:occlusion:64", "captum:occlusion:64"),
    ("grad_cam", "ds:grad_cam", "captum:grad_cam"),
    ("grad_cam on a linear layer, 256 rows", "ds:grad_cam@linear", "captum:grad_cam@linear"),
    ("kernel_shap 500 samples, 10 k-means", "ds:kernel_shap", "shap:kernel_shap"),
    ("deconvolution", "ds:deconvolution", "captum:deconvolution"),
    ("feature_ablation 4x4 patches", "ds:feature_ablation", "captum:feature_ablation"),
    ("layer_activation", "ds:layer_activation", "captum:layer_activation"),
    ("layer_gradient_x_activation", "ds:layer_gradient_x_activation", "captum:layer_gradient_x_activation"),
    ("layer_integrated_gradients n_steps=50", "ds:layer_integrated_gradients", "captum:layer_integrated_gradients"),
    ("layer_conductance n_steps=50", "ds:layer_conductance", "captum:layer_conductance"),
    ("neuron_gradient", "ds:neuron_gradient", "captum:neuron_gradient"),
    ("neuron_integrated_gradients n_steps=50", "ds:neuron_integrated_gradients", "captum:neuron_integrated_gradients"),
    ("neuron_conductance n_steps=50", "ds:neuron_conductance", "captum:neuron_conductance"),
    ("shapley_sampling 16 patches, 25 orderings", "ds:shapley_sampling", "captum:shapley_sampling"),
]
# --- issue 16 (helper xspeed): every cheap method on the batch-norm CNN, and the registered
# methods without a case above, each at both tools' defaults ---
CASES += [
    ("saliency (batch-norm CNN)", "ds:saliency@bn", "captum:saliency@bn"),
    ("gradient_x_input (batch-norm CNN)", "ds:gradient_x_input@bn", "captum:gradient_x_input@bn"),
    ("grad_cam (batch-norm CNN)", "ds:grad_cam@bn", "captum:grad_cam@bn"),
    ("guided_backprop (batch-norm CNN)", "ds:guided_backprop@bn", "captum:guided_backprop@bn"),
    ("deconvolution (batch-norm CNN)", "ds:deconvolution@bn", "captum:deconvolution@bn"),
    ("guided_grad_cam (batch-norm CNN)", "ds:guided_grad_cam@bn", "captum:guided_grad_cam@bn"),
    ("layer_activation (batch-norm CNN)", "ds:layer_activation@bn", "captum:layer_activation@bn"),
    (
        "layer_gradient_x_activation (batch-norm CNN)",
        "ds:layer_gradient_x_activation@bn",
        "captum:layer_gradient_x_activation@bn",
    ),
    ("neuron_gradient (batch-norm CNN)", "ds:neuron_gradient@bn", "captum:neuron_gradient@bn"),
    ("feature_ablation (batch-norm CNN)", "ds:feature_ablation@bn", "captum:feature_ablation@bn"),
    ("saliency", "ds:saliency", "captum:saliency"),
    ("gradient_x_input", "ds:gradient_x_input", "captum:gradient_x_input"),
    ("guided_backprop", "ds:guided_backprop", "captum:guided_backprop"),
    ("guided_grad_cam", "ds:guided_grad_cam", "captum:guided_grad_cam"),
    # deepscope draws 20 points per example by default, Captum 5: compared at Captum's 5
    ("gradient_shap 10 references, 5 draws", "ds:gradient_shap", "captum:gradient_shap"),
    ("smoothgrad_sq 25 samples", "ds:smoothgrad_sq", "captum:smoothgrad_sq"),
    ("vargrad 25 samples", "ds:vargrad", "captum:vargrad"),
    ("shapley_exact 4 quadrants", "ds:shapley_exact", "captum:shapley_exact"),
    ("lime 16 segments, 50 samples", "ds:lime", "captum:lime"),
]
# methods measured under another name, and those no peer has
COVERED_AS = {"noise_tunnel": "smoothgrad", "integrated_gradients": "ig"}
NO_PEER = {
    "grad_cam_pp": "Captum has no Grad-CAM++",
    "partition_shap": "Captum has none; bench_explain_options.py measures it against shap's PartitionExplainer",
}
# --- end of the xspeed block ---
# --- issue 15, item 4 (helper xmethods): DeepLift, DeepLiftShap, LRP, feature permutation ---
XMETHODS = ("deeplift", "deeplift_shap", "lrp", "feature_permutation")
CASES += [
    ("deeplift", "ds:deeplift", "captum:deeplift"),
    ("deeplift_shap 10 references", "ds:deeplift_shap", "captum:deeplift_shap"),
    ("lrp epsilon", "ds:lrp", "captum:lrp"),
    ("feature_permutation 4x4 patches", "ds:feature_permutation", "captum:feature_permutation"),
]
# --- end of the xmethods block ---
NEURON = (3, 10, 12)  # a unit of layer "2" (the second convolution)
BN_NEURON = (3, 10, 12)  # a unit of the batch-norm CNN's layer "3" (its second convolution)
PEERS = {"captum": "Captum", "shap": "shap KernelExplainer"}
PACKAGES = {"captum": "captum", "shap": "shap"}

BATCH = 32
BN_BATCH = 24
LINEAR_ROWS = 256  # grad_cam on a linear layer: rows of 64 features
# deepscope runs at its defaults: ds.Model(net) without a batch_size, so each method sizes its
# passes itself (deepscope.explain._rows); a job's ":<rows>" gives batch_size=<rows> instead


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakSampler:
    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.0005)

    def __enter__(self) -> PeakSampler:
        self.start = _rss()
        self.peak = self.start
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())


def _image_setup():
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 6),
    ).eval()
    x = torch.rand(BATCH, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = net(x).argmax(1)
    return net, x, target


def _bn_setup():
    """Issue 16's model: a small CNN with batch norms (in eval mode), a batch of 24."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 32, 3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, 10),
    )
    generator = torch.Generator().manual_seed(2)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):  # trained-looking statistics
            module.running_mean.uniform_(-0.5, 0.5, generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    net.eval()
    x = torch.rand(BN_BATCH, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        target = net(x).argmax(1)
    return net, x, target


def _tabular_setup():
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 2)).eval()
    rng = np.random.default_rng(0)
    data = rng.normal(size=(200, 12)).astype(np.float32)
    return net, data, data[:20]


def _job(job: str):
    """(callable doing the work once) for one job, after its setup (imports included)."""
    import warnings

    warnings.filterwarnings("ignore")
    job, _, setup = job.partition("@")
    tool, method, *rows = job.split(":")
    rows = int(rows[0]) if rows else None
    if method == "kernel_shap":
        return _kernel_shap_job(tool)
    if setup == "linear":
        return _linear_grad_cam_job(tool)
    net, x, target = _bn_setup() if setup == "bn" else _image_setup()
    if method in XMETHODS:
        return _xmethods_job(tool, method, net, x, target, rows)
    if method in XSPEED_METHODS or setup == "bn":
        return _xspeed_job(tool, method, setup, net, x, target)
    if tool == "captum":
        return _captum_job(method, rows, net, x, target)
    import deepscope as ds
    import deepscope.explain

    model = ds.Model(net)
    explain = ds.explain
    if method == "ig":
        return lambda: explain.integrated_gradients(model, x, target=target, n_steps=50, batch_size=rows)
    if method == "smoothgrad":
        return lambda: explain.noise_tunnel(
            "saliency", model, x, target=target, n_samples=25, stdev=0.15, batch_size=rows
        )
    if method == "occlusion":
        return lambda: explain.occlusion(model, x, target=target, window=4, stride=2, baseline=0.0, batch_size=rows)
    if method == "grad_cam":
        return lambda: explain.grad_cam(model, x, target=target, layer="5")
    if method == "deconvolution":
        return lambda: explain.deconvolution(model, x, target=target)
    if method in ("feature_ablation", "shapley_sampling"):
        mask = _patches(4 if method == "feature_ablation" else 8)
        if method == "feature_ablation":
            return lambda: explain.feature_ablation(model, x, target=target, feature_mask=mask)
        return lambda: explain.shapley_sampling(model, x, target=target, feature_mask=mask, n_samples=25)
    if method == "layer_activation":
        return lambda: explain.layer_activation(model, x, layer="2")
    if method == "layer_gradient_x_activation":
        return lambda: explain.layer_gradient_x_activation(model, x, target=target, layer="2")
    if method == "layer_integrated_gradients":
        return lambda: explain.layer_integrated_gradients(model, x, target=target, layer="2")
    if method == "layer_conductance":
        return lambda: explain.layer_conductance(model, x, target=target, layer="2")
    if method == "neuron_gradient":
        return lambda: explain.neuron_gradient(model, x, layer="2", neuron=NEURON)
    if method == "neuron_integrated_gradients":
        return lambda: explain.neuron_integrated_gradients(model, x, layer="2", neuron=NEURON)
    if method == "neuron_conductance":
        return lambda: explain.neuron_conductance(model, x, target=target, layer="2", neuron=NEURON)
    raise KeyError(job)


def _patches(size: int):
    """Feature groups: size x size patches over all channels of a 3 x 32 x 32 image."""
    import torch

    cells = torch.arange(32) // size
    grid = cells[:, None] * (32 // size) + cells[None, :]
    return grid.expand(3, 32, 32).unsqueeze(0).contiguous()  # Captum views the mask


def _captum_job(method: str, rows: int | None, net, x, target):
    from captum.attr import (
        IntegratedGradients,
        LayerAttribution,
        LayerGradCam,
        NoiseTunnel,
        Occlusion,
        Saliency,
    )

    if method == "ig":  # internal_batch_size counts scaled inputs per pass
        return lambda: IntegratedGradients(net).attribute(x, target=target, n_steps=50, internal_batch_size=rows)
    if method == "smoothgrad":  # nt_samples_batch_size counts noise samples per example
        per_pass = None if rows is None else max(1, rows // BATCH)
        return lambda: NoiseTunnel(Saliency(net)).attribute(
            x,
            nt_type="smoothgrad",
            nt_samples=25,
            stdevs=0.15,
            target=target,
            abs=False,
            nt_samples_batch_size=per_pass,
        )
    if method == "occlusion":  # perturbations_per_eval counts windows per example
        per_eval = 1 if rows is None else max(1, rows // BATCH)
        return lambda: Occlusion(net).attribute(
            x,
            sliding_window_shapes=(3, 4, 4),
            strides=(3, 2, 2),
            baselines=0.0,
            target=target,
            perturbations_per_eval=per_eval,
        )
    if method == "grad_cam":
        layer = net[5]

        def cam():
            attr = LayerGradCam(net, layer).attribute(x, target=target, relu_attributions=True)
            return LayerAttribution.interpolate(attr, (32, 32), interpolate_mode="bilinear")

        return cam
    return _captum_new_job(method, net, x, target)


def _captum_new_job(method: str, net, x, target):
    """Captum's side of the methods added in issue 15, at Captum's defaults."""
    from captum import attr

    layer = net[2]
    if method == "deconvolution":
        return lambda: attr.Deconvolution(net).attribute(x, target=target)
    if method == "feature_ablation":
        mask = _patches(4)
        return lambda: attr.FeatureAblation(net).attribute(x, target=target, feature_mask=mask)
    if method == "shapley_sampling":
        mask = _patches(8)
        return lambda: attr.ShapleyValueSampling(net).attribute(x, target=target, feature_mask=mask, n_samples=25)
    if method == "layer_activation":
        return lambda: attr.LayerActivation(net, layer).attribute(x)
    if method == "layer_gradient_x_activation":
        return lambda: attr.LayerGradientXActivation(net, layer).attribute(x, target=target)
    if method == "layer_integrated_gradients":
        return lambda: attr.LayerIntegratedGradients(net, layer).attribute(x, target=target)
    if method == "layer_conductance":
        return lambda: attr.LayerConductance(net, layer).attribute(x, target=target)
    if method == "neuron_gradient":
        return lambda: attr.NeuronGradient(net, layer).attribute(x, neuron_selector=NEURON)
    if method == "neuron_integrated_gradients":
        return lambda: attr.NeuronIntegratedGradients(net, layer).attribute(x, neuron_selector=NEURON)
    if method == "neuron_conductance":
        return lambda: attr.NeuronConductance(net, layer).attribute(x, neuron_selector=NEURON, target=target)
    raise KeyError(method)


def _xmethods_job(tool: str, method: str, net, x, target, rows: int | None = None):
    """Both tools' side of the methods of issue 15, item 4, each at its defaults (deepscope's
    ``batch_size`` ``rows`` where given)."""
    import torch

    references = torch.rand(10, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    mask = _patches(4)
    if tool == "ds":
        import deepscope as ds
        import deepscope.explain

        model = ds.Model(net)
        explain = ds.explain
        if method == "deeplift":
            return lambda: explain.deeplift(model, x, target=target)
        if method == "deeplift_shap":
            return lambda: explain.deeplift_shap(model, x, target=target, baseline=references, batch_size=rows)
        if method == "lrp":
            return lambda: explain.lrp(model, x, target=target)
        return lambda: explain.feature_permutation(model, x, target=target, feature_mask=mask, batch_size=rows)
    from captum import attr
    from captum.attr._utils.lrp_rules import EpsilonRule

    if method == "deeplift":
        return lambda: attr.DeepLift(net).attribute(x, target=target)
    if method == "deeplift_shap":
        return lambda: attr.DeepLiftShap(net).attribute(x, baselines=references, target=target)
    if method == "lrp":

        def lrp():  # Captum has no rule for nn.Flatten; the epsilon rule passes relevance through it
            net[8].rule = EpsilonRule()
            return attr.LRP(net).attribute(x, target=target)

        return lrp
    return lambda: attr.FeaturePermutation(net).attribute(x, target=target, feature_mask=mask)


XSPEED_METHODS = (
    "saliency",
    "gradient_x_input",
    "guided_backprop",
    "guided_grad_cam",
    "gradient_shap",
    "smoothgrad_sq",
    "vargrad",
    "shapley_exact",
    "lime",
)


def _xspeed_job(tool: str, method: str, setup: str, net, x, target):
    """Both tools' side of the xspeed cases, each at its defaults (Captum's Saliency takes the
    gradient's magnitude by default, deepscope's keeps its sign: ``abs=True`` makes them one map)."""
    import torch

    size = x.shape[-1]
    last_conv = [i for i, m in enumerate(net) if isinstance(m, torch.nn.Conv2d)][-1]
    second_conv = [i for i, m in enumerate(net) if isinstance(m, torch.nn.Conv2d)][1]
    neuron = BN_NEURON if setup == "bn" else NEURON
    references = torch.rand(10, *x.shape[1:], generator=torch.Generator().manual_seed(2))
    quadrants = (torch.arange(size)[:, None] // (size // 2)) * 2 + torch.arange(size)[None, :] // (size // 2)
    quadrants = quadrants.expand(3, size, size).unsqueeze(0).contiguous()
    if tool == "ds":
        import deepscope as ds
        import deepscope.explain

        model = ds.Model(net)
        e = ds.explain
        jobs = {
            "saliency": lambda: e.saliency(model, x, target=target, abs=True),
            "gradient_x_input": lambda: e.gradient_x_input(model, x, target=target),
            "guided_backprop": lambda: e.guided_backprop(model, x, target=target),
            "deconvolution": lambda: e.deconvolution(model, x, target=target),
            "guided_grad_cam": lambda: e.guided_grad_cam(model, x, target=target, layer=str(last_conv)),
            "grad_cam": lambda: e.grad_cam(model, x, target=target, layer=str(last_conv)),
            "gradient_shap": lambda: e.gradient_shap(model, x, target=target, baseline=references, n_samples=5),
            "smoothgrad_sq": lambda: e.noise_tunnel(
                "saliency", model, x, target=target, kind="smoothgrad_sq", n_samples=25, stdev=0.15
            ),
            "vargrad": lambda: e.noise_tunnel(
                "saliency", model, x, target=target, kind="vargrad", n_samples=25, stdev=0.15
            ),
            "shapley_exact": lambda: e.shapley_exact(model, x, target=target, feature_mask=quadrants),
            "lime": lambda: e.lime(model, x, target=target, n_segments=16, n_samples=50),
            "layer_activation": lambda: e.layer_activation(model, x, layer=str(second_conv)),
            "layer_gradient_x_activation": lambda: e.layer_gradient_x_activation(
                model, x, target=target, layer=str(second_conv)
            ),
            "neuron_gradient": lambda: e.neuron_gradient(model, x, layer=str(second_conv), neuron=neuron),
            "feature_ablation": lambda: e.feature_ablation(model, x, target=target, feature_mask=_patches(4)),
        }
        return jobs[method]
    from captum import attr

    conv, layer = net[last_conv], net[second_conv]

    def cam():
        maps = attr.LayerGradCam(net, conv).attribute(x, target=target, relu_attributions=True)
        return attr.LayerAttribution.interpolate(maps, (size, size), interpolate_mode="bilinear")

    jobs = {
        "saliency": lambda: attr.Saliency(net).attribute(x, target=target),
        "gradient_x_input": lambda: attr.InputXGradient(net).attribute(x, target=target),
        "guided_backprop": lambda: attr.GuidedBackprop(net).attribute(x, target=target),
        "deconvolution": lambda: attr.Deconvolution(net).attribute(x, target=target),
        "guided_grad_cam": lambda: attr.GuidedGradCam(net, conv).attribute(x, target=target),
        "grad_cam": cam,
        "gradient_shap": lambda: attr.GradientShap(net).attribute(x, baselines=references, target=target),
        "smoothgrad_sq": lambda: attr.NoiseTunnel(attr.Saliency(net)).attribute(
            x, nt_type="smoothgrad_sq", nt_samples=25, stdevs=0.15, target=target, abs=False
        ),
        "vargrad": lambda: attr.NoiseTunnel(attr.Saliency(net)).attribute(
            x, nt_type="vargrad", nt_samples=25, stdevs=0.15, target=target, abs=False
        ),
        "shapley_exact": lambda: attr.ShapleyValues(net).attribute(x, target=target, feature_mask=quadrants),
        "lime": lambda: attr.Lime(net).attribute(x, target=target, feature_mask=_patches(8), n_samples=50),
        "layer_activation": lambda: attr.LayerActivation(net, layer).attribute(x),
        "layer_gradient_x_activation": lambda: attr.LayerGradientXActivation(net, layer).attribute(x, target=target),
        "neuron_gradient": lambda: attr.NeuronGradient(net, layer).attribute(x, neuron_selector=neuron),
        "feature_ablation": lambda: attr.FeatureAblation(net).attribute(x, target=target, feature_mask=_patches(4)),
    }
    return jobs[method]


def _linear_grad_cam_job(tool: str):
    """Grad-CAM on a linear layer of an MLP (issue 15: any layer), 256 rows at once."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)).eval()
    rows = torch.randn(LINEAR_ROWS, 64, generator=torch.Generator().manual_seed(1))
    if tool == "ds":
        import deepscope as ds
        import deepscope.explain

        model = ds.Model(mlp)
        return lambda: ds.explain.grad_cam(model, rows, target=1, layer="2", relu=False)
    from captum.attr import LayerGradCam

    return lambda: LayerGradCam(mlp, mlp[2]).attribute(rows, target=1)


def _kernel_shap_job(tool: str):
    net, data, x = _tabular_setup()
    import torch

    def f(array):
        with torch.no_grad():
            return net(torch.as_tensor(array, dtype=torch.float32)).numpy()

    if tool == "ds":
        import deepscope as ds
        import deepscope.explain

        return lambda: ds.explain.kernel_shap(f, x, target=1, background=data, n_background=10, n_samples=500, seed=0)
    import shap

    def run():  # the k-means summary is part of the work on both sides
        explainer = shap.KernelExplainer(f, shap.kmeans(data, 10), silent=True)
        return explainer.shap_values(x, nsamples=500, silent=True)

    return run


def _child_memory(name: str) -> None:
    """In a fresh process, after setup: the first call's wall-clock and CPU seconds (it pays every
    one-time cost), then the peak memory of the next call."""
    work = _job(name)
    start, start_cpu = time.perf_counter(), time.process_time()
    work()
    first = [time.perf_counter() - start, time.process_time() - start_cpu]
    with PeakSampler() as sampler:
        work()
    print(json.dumps({"peak": sampler.peak - sampler.start, "first": first}))


def _uncovered() -> list[str]:
    """Registered methods without a case (nor a note saying why not)."""
    from deepscope.explain import methods

    measured = {job.split("@")[0].split(":")[1] for _, ours, _ in CASES for job in [ours]}
    measured |= {name for name, alias in COVERED_AS.items() if alias in measured} | set(NO_PEER)
    return [name for name in methods() if name not in measured]


def _child_time(names: list[str], repeats: int) -> None:
    works = {name: _job(name) for name in names}
    slowest = 0.0
    for work in works.values():
        start = time.perf_counter()
        work()
        slowest = max(slowest, time.perf_counter() - start)
    # cheap methods get more runs (about CHEAP_SECONDS of each tool), so a busy moment moves the median less
    repeats = max(repeats, min(MAX_REPEATS, int(CHEAP_SECONDS / max(slowest, 1e-3))))
    wall: dict[str, list[float]] = {name: [] for name in names}
    cpu: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeats):
        for name, work in works.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            work()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    medians = {name: [statistics.median(wall[name]), statistics.median(cpu[name])] for name in names}
    print(json.dumps(medians))


def _run_child(args: list[str], threads: int | None) -> dict[str, float]:
    env = dict(os.environ)
    if "--memory-child" in args:
        # Only for the memory runs: with mmap's threshold pinned low, freed buffers go straight
        # back to the system, so the resident peak is the peak of live memory. Timing runs keep
        # glibc's defaults, as users have them: the pinned threshold makes every large buffer a
        # fresh mmap with its page faults, which taxes work done in many chunks far more than one
        # big allocation.
        env.update(MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="65536")
    if threads:
        args = [*args, "--threads", str(threads)]
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"{args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--fresh-repeats", type=int, default=1, help="fresh processes timing a first call and measuring peak memory"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--start-at", help="begin at the first case whose name contains this (a section of its own)")
    parser.add_argument(
        "--from-the-end",
        action="store_true",
        help="run the cases last to first, into a section of their own (a second run alongside a first one)",
    )
    parser.add_argument(
        "--write", action="store_true", help="with --only: record the cases run in a section of their own"
    )
    parser.add_argument("--memory-child")
    parser.add_argument("--time-child", nargs="+")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_child:
        _child_memory(args.memory_child)
        return 0
    if args.time_child:
        _child_time(args.time_child, args.repeats)
        return 0
    load_start = os.getloadavg()
    where = (
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU; image batch {BATCH} of 3x32x32; "
        f"both tools at their defaults (deepscope: ds.Model(net), no batch_size) unless a case says; "
        f"wall-clock and CPU time: medians of at least {args.repeats} alternating warm runs (cheap cases: "
        f"about {CHEAP_SECONDS:.0f} s of each tool); first call and peak memory (of the next call): median of "
        f"{args.fresh_repeats} fresh processes"
    )
    print(f"{where}; load average {load_start[0]:.1f} on {os.cpu_count()} cores at the start")
    header = (
        f"{'case':46s} {'tool':22s} {'wall s':>7s} {'cpu s':>7s} {'first s':>7s} {'peak MiB':>9s}   "
        f"{'wall ratio':>10s} {'cpu ratio':>9s} {'1st ratio':>9s} {'mem ratio':>9s}"
    )
    print(header)
    print("-" * len(header))
    peaks: dict[str, float] = {}
    firsts: dict[str, float] = {}
    section = "bench_explain" if not args.only else f"bench_explain (only: {args.only})"
    if args.start_at:
        section += f" (from {args.start_at})"
    record = Results(section + (" (from the last case)" if args.from_the_end else ""), where)
    parent = ""
    verdicts: list[tuple[str, bool, bool, bool]] = []
    cases = _in_order(CASES, args.from_the_end)
    if args.start_at:
        cases = cases[next(i for i, (case, _, _) in enumerate(cases) if args.start_at in case) :]
    for case, ours, theirs in cases:
        if args.only and args.only not in f"{case} {ours}":
            continue
        times = _run_child(["--time-child", ours, theirs, "--repeats", str(args.repeats)], args.threads)
        for name in (ours, theirs):
            if name not in peaks:
                runs = [_run_child(["--memory-child", name], args.threads) for _ in range(args.fresh_repeats)]
                peaks[name] = statistics.median(run["peak"] for run in runs)
                firsts[name] = statistics.median(run["first"][0] for run in runs)
        for name in (ours, theirs):
            tool = "deepscope" if name == ours else PEERS[name.split(":")[0]]
            rows = name.split("@")[0].split(":")[2] if name.split("@")[0].count(":") == 2 else "default"
            label = f"{tool} ({rows})" if name.split(":")[1] != "kernel_shap" else tool
            line = (
                f"{case if name == ours else '':46s} {label:22s} {times[name][0]:7.3f} "
                f"{times[name][1]:7.3f} {firsts[name]:7.3f} {peaks[name] / 2**20:9.1f}"
            )
            if name == theirs:
                line += (
                    f"   {times[ours][0] / times[theirs][0]:9.2f}x {times[ours][1] / times[theirs][1]:8.2f}x "
                    f"{firsts[ours] / firsts[theirs]:8.2f}x {peaks[ours] / max(peaks[theirs], 1):8.2f}x"
                )
            print(line, flush=True)
        parent = parent if case.startswith(" ") else case
        label = case.strip() if not case.startswith(" ") else f"{parent}, {case.strip()}"
        if not case.startswith(" "):  # the targets are for both tools' defaults
            verdicts.append(
                (
                    label,
                    times[ours][0] <= times[theirs][0],
                    times[ours][0] <= AIM * times[theirs][0],
                    peaks[ours] <= peaks[theirs] + MEMORY_NOISE,
                )
            )
        peer_tool, peer_package = PEERS[theirs.split(":")[0]], PACKAGES[theirs.split(":")[0]]
        for quantity, ours_value, peer_value, unit in (
            ("time", times[ours][0], times[theirs][0], "s"),
            ("CPU time", times[ours][1], times[theirs][1], "s"),
            ("first-call time", firsts[ours], firsts[theirs], "s"),
            ("peak memory", peaks[ours] / 2**20, peaks[theirs] / 2**20, "MiB"),
        ):
            record.add(
                label,
                ours=ours_value,
                peer=peer_value,
                peer_name=peer_tool,
                peer_package=peer_package,
                quantity=quantity,
                unit=unit,
            )
        if not args.only or args.write:  # each case as it comes: a run cut short keeps what it measured
            _write(record, verdicts, load_start[0], partial=True)
    print("ratios above are deepscope / peer: below 1 means deepscope is faster or lighter")
    print(
        f"targets at both tools' defaults: time at most the peer's (aim {AIM}x of it), peak memory no higher "
        f"(closer than {MEMORY_NOISE / 2**20:.0f} MiB counts as equal)"
    )
    for verdict in verdicts:
        print(_verdict(*verdict))
    missing = _uncovered()
    if missing:
        print("registered methods without a case: " + ", ".join(missing))
    for name, why in NO_PEER.items():
        print(f"{name}: not measured ({why})")
    if not args.only or args.write:
        _write(record, verdicts, load_start[0], partial=False)
    print(_summary(verdicts, load_start[0], partial=False))
    return 0


def _write(record: Results, verdicts: list[tuple[str, bool, bool, bool]], load: float, *, partial: bool) -> None:
    """The section in results.md: the rows, a verdict per method, and how loaded the machine was."""
    record.notes = [*(_verdict(*verdict) for verdict in verdicts), _summary(verdicts, load, partial=partial)]
    with contextlib.redirect_stdout(io.StringIO()):  # "results written" once, not per case
        record.write()


def _in_order(cases: list[tuple[str, str, str]], from_the_end: bool) -> list[tuple[str, str, str]]:
    """The cases in their order, or last to first with each case's sub-cases (indented) after it."""
    if not from_the_end:
        return cases
    groups: list[list[tuple[str, str, str]]] = []
    for case in cases:
        if case[0].startswith(" ") and groups:
            groups[-1].append(case)
        else:
            groups.append([case])
    return [case for group in reversed(groups) for case in group]


def _summary(verdicts: list[tuple[str, bool, bool, bool]], load: float, *, partial: bool) -> str:
    met = sum(time_ok and memory_ok for _, time_ok, _, memory_ok in verdicts)
    return (
        f"{met} of {len(verdicts)} methods met both targets ({sum(a for _, _, a, _ in verdicts)} within the "
        f"{AIM}x aim); load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end, on "
        f"{os.cpu_count()} cores shared with other work" + ("; the run is still going (partial)" if partial else "")
    )


AIM = 0.8  # deepscope's time at most this share of the peer's (issue 15)
# peak memories closer than this count as equal: the resident-memory sampler's noise (allocator
# arenas, page granularity) is of this order for the smallest cases
MEMORY_NOISE = 2**20
CHEAP_SECONDS = 2.0
MAX_REPEATS = 41


def _verdict(label: str, time_ok: bool, aim_ok: bool, memory_ok: bool) -> str:
    """One line per method: met or missed, and what missed."""
    if time_ok and memory_ok:
        return f"{label}: met (time {'within' if aim_ok else 'not within'} the {AIM}x aim)"
    missed = [what for what, ok in (("time: slower than the peer", time_ok), ("memory: higher", memory_ok)) if not ok]
    return f"{label}: MISSED ({'; '.join(missed)})"


if __name__ == "__main__":
    sys.exit(main())
