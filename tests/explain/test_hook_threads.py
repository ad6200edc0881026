"""Methods that hook a model change only their own thread's passes: the dashboard runs one live
model from several job threads, and a guided-backprop or LRP job must not change the gradients or
outputs another job computes on the same model at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
import torch
from torch import nn

from deepscope.explain.deeplift import deeplift_modules
from deepscope.explain.guided import deconv_relus, guided_relus
from deepscope.explain.layer import _replaced_output
from deepscope.explain.lrp import _relevance_hooks, lrp_rules


def _net() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()


def _output_and_gradient(net: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.clone().requires_grad_(True)
    out = net(x)
    (grad,) = torch.autograd.grad(out[:, 1].sum(), x, allow_unused=True)
    return out.detach(), torch.zeros_like(x) if grad is None else grad


def _in_other_thread(work: Callable[[], Any]) -> Any:
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(work()))
    worker.start()
    worker.join()
    return result[0]


HOOKS: dict[str, Callable[[nn.Module], AbstractContextManager[Any]]] = {
    "guided backprop": guided_relus,
    "deconvolution": deconv_relus,
    "deeplift": deeplift_modules,
    "lrp": lambda net: _relevance_hooks(net, lrp_rules(net)),
    "replaced layer output": lambda net: _replaced_output(net[1], [torch.zeros(4, 8)]),
}


@pytest.mark.parametrize("name", list(HOOKS))
def test_hooks_change_only_the_thread_that_installed_them(name):
    net = _net()
    x = torch.randn(4, 6)
    plain_out, plain_grad = _output_and_gradient(net, x)
    with HOOKS[name](net):
        hooked_out, hooked_grad = _output_and_gradient(net, x)
        other_out, other_grad = _in_other_thread(lambda: _output_and_gradient(net, x))
    # the hooks do act on their own thread (else this test could not fail) ...
    changed = not torch.allclose(hooked_out, plain_out) or not torch.allclose(hooked_grad, plain_grad)
    assert changed, f"{name} changed nothing on its own thread"
    # ... and another thread running the same model at the same time sees the plain model
    torch.testing.assert_close(other_out, plain_out)
    torch.testing.assert_close(other_grad, plain_grad)
