"""deepscope.debug.numerics: per-layer health, the first non-finite module, clean hooks."""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import deepscope as ds
from deepscope.debug import NonFiniteError, numerics
from deepscope.errors import ArgumentTypeError, DeepscopeError
from tests.debug.numerics_models import make_model

COLUMNS = ["step", "module", "min", "max", "mean", "std", "nan", "pos_inf", "neg_inf", "zeros"]


def train(model, dbg, steps, k, *, batch=16):
    """SGD on random data; the Divide layer divides by zero from step k on."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(1)
    for step in range(steps):
        model.block[2].denominator = 0.0 if step >= k else 1.0
        x = torch.randn(batch, 4, generator=generator)
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        dbg.step()


def hook_counts(model):
    return [
        (len(m._forward_hooks), len(m._forward_hooks_with_kwargs), len(m._backward_hooks),
         len(m._forward_pre_hooks))
        for m in model.modules()
    ]  # fmt: skip


@pytest.mark.parametrize("k", [0, 3])
@pytest.mark.parametrize("backward", [False, True])
def test_names_the_module_that_divides_by_zero_and_the_step(k, backward):
    model = make_model()
    with numerics(model, backward=backward) as dbg:
        train(model, dbg, steps=6, k=k)
    first = dbg.first_nonfinite
    assert first is not None
    # ReLU gives exact zeros: 0/0 is NaN (reported before +Inf), the rest +Inf.
    assert (first.module, first.step, first.kind, first.direction) == (
        "block.2",
        k,
        "nan",
        "forward",
    )
    assert first.input_finite and first.input is not None and first.input.is_finite
    assert first.input.zeros > 0
    assert first.output.nan == first.input.zeros and first.output.pos_inf > 0
    # Later layers, and the weights poisoned by the optimizer at later steps, do not move it.
    stats = dbg.stats()
    assert stats.loc[stats.step > k, "nan"].sum() > 0
    bad = stats[(stats.nan + stats.pos_inf + stats.neg_inf) > 0]
    assert bad.step.min() == k
    if backward:
        assert set(stats.direction) == {"forward", "backward"}
    else:
        assert set(stats.direction) == {"forward"}


def test_raise_on_nonfinite_names_the_module_and_leaves_no_hooks():
    model = make_model()
    before = hook_counts(model)
    with (
        pytest.raises(NonFiniteError, match=r"'block\.2'.*step 2") as info,
        numerics(model, raise_on_nonfinite=True) as dbg,
    ):
        train(model, dbg, steps=5, k=2)
    assert isinstance(info.value, ArithmeticError) and isinstance(info.value, DeepscopeError)
    assert info.value.nonfinite.module == "block.2"
    assert dbg.first_nonfinite.step == 2
    assert hook_counts(model) == before
    # Training stopped at the offending forward: no later step was recorded.
    assert dbg.stats().step.max() == 2


def test_hooks_removed_on_exit_and_on_error_and_user_hooks_kept():
    model = make_model()
    model.head.register_forward_hook(lambda m, i, o: None)
    before = hook_counts(model)
    with numerics(model, backward=True) as dbg:
        assert hook_counts(model) != before
        model(torch.randn(2, 4)).sum().backward()
    assert hook_counts(model) == before
    with pytest.raises(KeyError), numerics(model, backward=True):
        model(torch.randn(2, 4))
        raise KeyError("boom")
    assert hook_counts(model) == before
    assert repr(dbg).endswith("inactive)")


def test_stats_match_a_manual_computation():
    torch.manual_seed(0)
    lstm = nn.LSTM(3, 5, batch_first=True)
    model = nn.Sequential(OrderedDict(pass_through=nn.Identity(), lstm=lstm))
    captured: dict[str, list[torch.Tensor]] = {"pass_through": [], "lstm": []}

    def capture(name):
        def hook(module, inputs, output):
            flat = [output] if isinstance(output, torch.Tensor) else [output[0], *output[1]]
            captured[name].extend(t.detach().clone() for t in flat)

        return hook

    model.pass_through.register_forward_hook(capture("pass_through"))
    model.lstm.register_forward_hook(capture("lstm"))

    special = torch.randn(2, 4, 3)
    special[0, 0, 0] = math.nan
    special[0, 1, 1] = math.inf
    special[1, 2, 2] = -math.inf
    special[1, 3] = 0.0
    with numerics(model) as dbg:
        model.pass_through(special)  # step 0: only the Identity, with every special value
        dbg.step()
        model(torch.randn(2, 4, 3))  # step 1: called twice, merged per step
        model(torch.randn(3, 2, 3) * 10)
    stats = dbg.stats()
    assert list(stats.columns[: len(COLUMNS)]) == COLUMNS
    assert stats.step.tolist() == [0, 1, 1, 1]
    assert stats.module.tolist() == ["pass_through", "pass_through", "lstm", ""]

    def expected(tensors):
        values = torch.cat([t.reshape(-1).double() for t in tensors])
        finite = values[torch.isfinite(values)]
        return {
            "min": finite.min().item(), "max": finite.max().item(), "mean": finite.mean().item(),
            "std": finite.std(correction=0).item(), "nan": int(values.isnan().sum()),
            "pos_inf": int((values == math.inf).sum()), "neg_inf": int((values == -math.inf).sum()),
            "zeros": int((values == 0).sum()), "numel": values.numel(),
        }  # fmt: skip

    rows = {(r.step, r.module): r for r in stats.itertuples()}
    cases = {
        (0, "pass_through"): captured["pass_through"][:1],
        (1, "pass_through"): captured["pass_through"][1:],
        (1, "lstm"): captured["lstm"],
    }
    for key, tensors in cases.items():
        row = rows[key]
        for column, value in expected(tensors).items():
            assert getattr(row, column) == pytest.approx(value, rel=1e-6, abs=1e-9), (key, column)
    assert (rows[(0, "pass_through")].nan, rows[(0, "pass_through")].zeros) == (1, 3)
    assert dbg.first_nonfinite.module == "pass_through" and not dbg.first_nonfinite.input_finite


def test_all_finite_gives_none_and_one_row_per_module_and_step():
    model = make_model()
    with numerics(model) as dbg:
        for _ in range(3):
            model(torch.randn(4, 4))
            dbg.step()
    assert dbg.first_nonfinite is None
    names = [name for name, _ in model.named_modules()]
    stats = dbg.stats()
    assert len(stats) == 3 * len(names)
    assert set(stats.module) == set(names)
    assert stats[["nan", "pos_inf", "neg_inf"]].to_numpy().sum() == 0


def test_nonfinite_input_data_is_reported_as_such():
    model = make_model()
    x = torch.randn(4, 4)
    x[0, 0] = math.nan
    with numerics(model) as dbg:
        model(x)
    first = dbg.first_nonfinite
    assert first.module == "embed" and not first.input_finite and first.input.nan == 1
    assert "already non-finite" in first.describe()


def test_infinite_kinds():
    model = nn.Sequential(nn.Threshold(0.0, -math.inf))
    with numerics(model) as dbg:
        model(torch.tensor([1.0, -1.0]))
    assert dbg.first_nonfinite.kind == "-inf"
    assert dbg.first_nonfinite.to_dict()["output"]["neg_inf"] == 1


def test_inference_mode_and_half_precision():
    model = make_model()
    with numerics(model) as dbg, torch.inference_mode():
        model(torch.randn(2, 4))
        model(torch.randn(2, 4))
    assert dbg.stats().nan.sum() == 0
    half = nn.Linear(4, 4).to(torch.bfloat16)
    with numerics(half) as dbg:
        half(torch.randn(2, 4, dtype=torch.bfloat16))
    assert dbg.stats().numel.tolist() == [8]


def test_accepts_a_deepscope_model_like_wrapper():
    class Wrapper:
        module = make_model()

    with numerics(Wrapper()) as dbg:
        Wrapper.module(torch.randn(1, 4))
    assert len(dbg.stats()) == len(list(Wrapper.module.modules()))


def test_bad_arguments():
    with pytest.raises(ArgumentTypeError, match="model"):
        numerics("a model")
    with pytest.raises(ArgumentTypeError, match="run"):
        numerics(make_model(), run=object())


def test_public_name():
    assert ds.debug.numerics is numerics


def test_writes_table_and_first_offender_to_a_real_run(tmp_path):
    model = make_model()
    with ds.Run(tmp_path, name="nan-run") as run, numerics(model, run=run) as dbg:
        train(model, dbg, steps=4, k=2)
    logdir = ds.open_logdir(tmp_path)
    table = logdir.table("nan-run", "numerics")
    pd.testing.assert_frame_equal(table.reset_index(drop=True), dbg.stats(), check_dtype=False)
    meta = logdir.runs().set_index("run").loc["nan-run", "meta"]
    first = meta["numerics_first_nonfinite"]
    assert (first["module"], first["step"], first["kind"]) == ("block.2", 2, "nan")
    assert first["input"]["nan"] == 0 and np.isfinite(first["input"]["mean"])


def test_device_path_agrees_with_the_cpu_path():
    # Accelerator tensors take the sync-free masked path; it must give the same row as the CPU one.
    from deepscope.debug.numerics import _health_cpu, _health_masked

    torch.manual_seed(0)
    for x in (torch.randn(1000) * 3 + 1, torch.randn(7, dtype=torch.float64), torch.zeros(5)):
        x[0] = 0.0
        np.testing.assert_allclose(_health_masked(x).numpy(), _health_cpu(x, {}), rtol=1e-5, atol=1e-6)
    x = torch.tensor([1.0, math.nan, math.inf, -math.inf, 0.0, 3.0])
    row = _health_masked(x).numpy()
    np.testing.assert_allclose(row, [6, 3, 0, 3, 4 / 3, 42 / 9, 1, 1, 1, 1], rtol=1e-6)
    all_bad = _health_masked(torch.tensor([math.nan, math.inf])).numpy()
    assert all_bad[1] == 0 and all_bad[6:9].tolist() == [1, 1, 0]
