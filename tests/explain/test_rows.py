"""Rows per pass at the defaults: Captum's passes within a memory budget, explicit sizes as given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepscope as ds
from deepscope.errors import InvalidArgumentError
from deepscope.explain._rows import _MEASURED, MEMORY_BUDGET_ENV, memory_budget, row_bytes, set_memory_budget


@pytest.fixture
def net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 3)
    ).eval()


@pytest.fixture
def x() -> torch.Tensor:
    return torch.rand(5, 3, 6, 6, generator=torch.Generator().manual_seed(1))


@pytest.fixture
def budget():
    previous = set_memory_budget(None)
    yield set_memory_budget
    set_memory_budget(previous)


def passes_of(net: torch.nn.Module, work) -> list[int]:
    seen: list[int] = []
    handle = net.register_forward_pre_hook(lambda m, args: seen.append(len(args[0])))
    try:
        work()
    finally:
        handle.remove()
    return seen


def test_integrated_gradients_runs_all_its_steps_in_one_pass_within_the_budget(net, x, budget):
    seen = passes_of(net, lambda: ds.explain.integrated_gradients(net, x, target=0, n_steps=40))
    # the targets, one row measuring the memory of a row, every (example, step) pair at once, f(baseline)
    assert seen == [5, 1, 200, 5]
    assert _MEASURED[net]  # kept for the module's next calls: they measure nothing
    assert passes_of(net, lambda: ds.explain.integrated_gradients(net, x, target=0, n_steps=40)) == [5, 200, 5]


def test_a_small_budget_splits_the_work_into_equal_passes_with_the_same_result(net, x, budget):
    whole = ds.explain.integrated_gradients(net, x, target=0, n_steps=40)
    one_row = row_bytes(net, x, net)
    budget(one_row * 60)  # 60 rows fit: 200 pairs go in 4 passes of 50
    seen = passes_of(net, lambda: ds.explain.integrated_gradients(net, x, target=0, n_steps=40))
    assert seen[1:-1] == [50, 50, 50, 50]
    split = ds.explain.integrated_gradients(net, x, target=0, n_steps=40)
    np.testing.assert_allclose(split.values, whole.values, atol=1e-6)
    smooth = passes_of(net, lambda: ds.explain.noise_tunnel("saliency", net, x, target=0, n_samples=20))
    assert max(smooth) <= 60 and sum(n for n in smooth if n > 5) == 100


def test_the_measurement_counts_activations_not_parameters(net, x):
    small = row_bytes(net, x, net)
    wide = torch.nn.Sequential(*net[:2], torch.nn.Conv2d(4, 64, 1), torch.nn.Flatten(), torch.nn.Linear(64 * 36, 3))
    # 64 more channels of 6 x 6 floats are saved (by the flatten's linear layer) per row
    assert row_bytes(wide, x, wide) >= small + 64 * 36 * 4
    huge_weights = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(108, 100_000))
    assert row_bytes(huge_weights, x, huge_weights) < 100_000 * 4 * 3  # not the 43 MB of weights


def test_perturbation_methods_evaluate_one_copy_of_every_example_per_pass(net, x):
    mask = torch.arange(36).reshape(1, 1, 6, 6).expand(1, 3, 6, 6) // 9
    seen = passes_of(net, lambda: ds.explain.feature_ablation(net, torch.cat([x] * 4), target=0, feature_mask=mask))
    assert seen == [20] * 5  # the targets, then the 4 groups: 20 rows each, as Captum's default
    occluded = passes_of(net, lambda: ds.explain.occlusion(net, x, target=0, window=3, stride=3))
    assert occluded[1:] == [16, 4]  # 5 examples x 4 windows, at least 16 rows a pass


def test_explicit_sizes_are_kept(net, x, budget):
    budget(1)  # a budget nothing fits: only the explicit sizes decide
    seen = passes_of(net, lambda: ds.explain.integrated_gradients(net, x, target=0, n_steps=4, batch_size=7))
    assert max(seen) == 7
    seen = passes_of(net, lambda: ds.explain.integrated_gradients(ds.Model(net, batch_size=3), x, target=0, n_steps=4))
    assert max(seen) == 3
    seen = passes_of(
        net, lambda: ds.explain.integrated_gradients(net, x, target=0, n_steps=4, batch_size=2, internal_batch_size=9)
    )
    assert 9 in seen and max(seen) == 9
    seen = passes_of(net, lambda: ds.explain.noise_tunnel("saliency", net, x, target=0, nt_samples_batch_size=2))
    assert max(seen) == 10


def test_budget_settings_are_checked(budget, monkeypatch):
    with pytest.raises(InvalidArgumentError, match="nbytes"):
        budget(0)
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "64")
    assert memory_budget(torch.device("cpu")) == 64 * 2**20
    monkeypatch.setenv(MEMORY_BUDGET_ENV, "lots")
    with pytest.raises(InvalidArgumentError, match=MEMORY_BUDGET_ENV):
        memory_budget(torch.device("cpu"))


def test_an_mlp_is_sized_by_a_bound_without_a_probe_pass():
    from deepscope.explain._rows import _saved_bytes

    def mlp() -> torch.nn.Sequential:
        torch.manual_seed(0)
        layers = [torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.LayerNorm(128), torch.nn.Linear(128, 10)]
        return torch.nn.Sequential(*layers, torch.nn.Tanh())

    rows, net = torch.rand(300, 64), mlp()
    calls: list[int] = []
    net.register_forward_hook(lambda module, args, out: calls.append(len(out)))
    bound = row_bytes(net, rows, net)
    assert calls == []  # no one-row pass
    assert bound >= rows[:1].nbytes + _saved_bytes(rows, net)  # at least what the probe measures
    assert bound < 64 * (64 + 128 + 10) * 4  # and of the same order
    fresh = mlp()
    fresh.register_forward_hook(lambda module, args, out: calls.append(len(out)))
    calls.clear()
    ds.explain.saliency(fresh, rows, target=1)
    assert 1 not in calls and max(calls) == 300  # every row in one pass, no one-row probe before it
    custom = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Conv1d(1, 1, 1))  # not an MLP: probed
    probed: list[int] = []
    custom.register_forward_hook(lambda module, args, out: probed.append(len(out)))
    assert row_bytes(custom, rows[:, None], custom) > 0 and probed == [1]


def test_lime_on_cpu_splits_its_samples_into_equal_passes_within_the_sampling_memory(net, x, budget, monkeypatch):
    from deepscope.explain import _task

    whole = ds.explain.lime(net, x[:1], target=0, n_samples=50, n_segments=4, seed=0)
    assert passes_of(net, lambda: ds.explain.lime(net, x[:1], target=0, n_samples=50, n_segments=4, seed=0))[-1] == 50
    one_row = row_bytes(net, x, net)
    monkeypatch.setattr(_task, "SAMPLING_MEMORY", one_row * 20)  # 20 rows fit: 50 samples in 3 passes of 17
    seen = passes_of(net, lambda: ds.explain.lime(net, x[:1], target=0, n_samples=50, n_segments=4, seed=0))
    assert seen[-3:] == [17, 17, 16]
    split = ds.explain.lime(net, x[:1], target=0, n_samples=50, n_segments=4, seed=0)
    np.testing.assert_allclose(split.values, whole.values, atol=1e-5)
