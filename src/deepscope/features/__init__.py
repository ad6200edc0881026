"""Feature visualization, a layer explorer for any CNN, and activation atlases.

- ``visualize(model, objective, ...) -> FeatureVisualization`` (objectives in
  ``deepscope.features.objectives``; parametrizations in ``param``; transforms in ``transforms``);
- ``layer_maps(model, input) -> LayerMaps`` and ``unit_arithmetic(...) -> UnitArithmetic``;
- ``atlas(model, dataset, layer, ...) -> Atlas``.

>>> from deepscope.features import objectives
>>> objectives.channel("conv1", 0).description
'channel(conv1, 0)'
"""

from __future__ import annotations

from deepscope.features import objectives, param, transforms
from deepscope.features.atlas import Atlas, atlas
from deepscope.features.layers import LayerMaps, UnitArithmetic, layer_maps, unit_arithmetic
from deepscope.features.visualize import FeatureVisualization, TopExamples, top_examples, visualize

__all__ = [
    "objectives",
    "param",
    "transforms",
    "visualize",
    "top_examples",
    "FeatureVisualization",
    "TopExamples",
    "layer_maps",
    "unit_arithmetic",
    "LayerMaps",
    "UnitArithmetic",
    "atlas",
    "Atlas",
]
