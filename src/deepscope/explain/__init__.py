"""Why does the model decide as it does? Attributions for images, text and tables.

Every method has one call shape, ``method(model, inputs, *, target=None, baseline=None,
batch_size=None, seed=None, progress=None, **options) -> Attribution``, and ``attribute(model,
inputs, method=name)`` calls any of them by name (the shared options are described once, in
``deepscope.explain.registry``; each method registers itself where it is defined). Next to the
maps: a sanity check (do they depend on the model?), faithfulness (deletion / insertion,
infidelity, max-sensitivity) and localization scores against ground-truth masks.

>>> import torch, deepscope as ds
>>> net = torch.nn.Linear(3, 2)
>>> ds.explain.integrated_gradients(net, torch.ones(1, 3), target=1).delta.shape
(1,)
"""

from __future__ import annotations

from deepscope.explain._rows import set_memory_budget
from deepscope.explain.ablation import feature_ablation, shapley_exact, shapley_sampling
from deepscope.explain.attribution import Attribution

# after the methods: the callback uses them through the registry
from deepscope.explain.callback import ExplainCallback, MapScores, score_maps
from deepscope.explain.deeplift import deeplift, deeplift_shap
from deepscope.explain.faithfulness import (
    Faithfulness,
    deletion_insertion,
    infidelity,
    max_sensitivity,
)
from deepscope.explain.grad_cam import grad_cam, grad_cam_pp
from deepscope.explain.gradient_shap import gradient_shap
from deepscope.explain.gradient_x_input import gradient_x_input
from deepscope.explain.guided import deconvolution, guided_backprop, guided_grad_cam
from deepscope.explain.integrated_gradients import integrated_gradients
from deepscope.explain.kernel_shap import kernel_shap
from deepscope.explain.layer import (
    layer_activation,
    layer_conductance,
    layer_gradient_x_activation,
    layer_integrated_gradients,
    neuron_conductance,
    neuron_gradient,
    neuron_integrated_gradients,
)
from deepscope.explain.lime import lime
from deepscope.explain.localization import energy_in_mask, pointing_game
from deepscope.explain.lrp import lrp
from deepscope.explain.noise_tunnel import noise_tunnel
from deepscope.explain.occlusion import occlusion
from deepscope.explain.partition import partition_shap
from deepscope.explain.permutation import feature_permutation
from deepscope.explain.registry import attribute, get_method, methods, register_method
from deepscope.explain.saliency import saliency
from deepscope.explain.sanity import SanityCheck, sanity_check

__all__ = [
    "ExplainCallback",
    "MapScores",
    "score_maps",
    "Attribution",
    "Faithfulness",
    "SanityCheck",
    "attribute",
    "deletion_insertion",
    "deconvolution",
    "deeplift",
    "deeplift_shap",
    "energy_in_mask",
    "feature_ablation",
    "feature_permutation",
    "layer_activation",
    "layer_conductance",
    "neuron_conductance",
    "layer_gradient_x_activation",
    "layer_integrated_gradients",
    "neuron_integrated_gradients",
    "neuron_gradient",
    "shapley_exact",
    "shapley_sampling",
    "get_method",
    "grad_cam",
    "grad_cam_pp",
    "gradient_shap",
    "gradient_x_input",
    "guided_backprop",
    "guided_grad_cam",
    "infidelity",
    "integrated_gradients",
    "kernel_shap",
    "lime",
    "lrp",
    "max_sensitivity",
    "methods",
    "noise_tunnel",
    "occlusion",
    "partition_shap",
    "pointing_game",
    "register_method",
    "saliency",
    "sanity_check",
    "set_memory_budget",
]
