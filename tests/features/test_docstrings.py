"""The docstring examples of the features modules run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "deepscope.features",
        "deepscope.features.objectives",
        "deepscope.features.param",
        "deepscope.features.transforms",
        "deepscope.features.layers",
        "deepscope.viz.features",
        "deepscope.viz.layers",
        "deepscope.viz.atlas",
    ],
)
def test_docstring_examples_run(name):
    results = doctest.testmod(importlib.import_module(name))
    assert results.attempted > 0 and results.failed == 0
