"""Attributions of a fixed probe set logged while a model trains, and the scores to trust them by.

``ExplainCallback`` is called after each epoch (``zoo.train(..., on_epoch=callback)`` or
``callback(epoch, model)`` in a plain loop). Every ``every`` epochs it logs, into the run, one
``Attribution`` per method for the probes and the model's outputs on them; the probe set itself
(inputs, labels, masks, class names) is logged once. ``callback.log_scores(model)`` adds, per
method, the truthfulness scores of the last logged maps (``MapScores``: sanity check,
deletion / insertion, infidelity, max-sensitivity and, with masks, pointing game and energy in
mask). The Explain page reads all of it back and scrubs through the steps.

Tags (a result is replaced when its tag is logged again, so each step has its own):

- ``explain/probes``: the ``ProbeSet``;
- ``explain/<method>/step0003``: the ``Attribution`` of ``method`` at step 3;
- ``explain/outputs/step0003``: ``ProbeOutputs``, the model's outputs on the probes at step 3;
- ``explain/scores/<method>/step0003``: ``MapScores`` of those maps.

>>> import torch, tempfile, deepscope as ds
>>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
>>> with ds.Run(tempfile.mkdtemp()) as run:
...     callback = ExplainCallback(run, torch.rand(4, 1, 6, 6), integrated_gradients={"n_steps": 8})
...     maps = callback(1, net)
>>> sorted(maps), callback.steps
(['grad_cam', 'integrated_gradients'], [1])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import torch

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    NotFoundError,
    ShapeError,
    UnsupportedModelError,
    describe,
)
from deepscope.explain._inputs import is_texts
from deepscope.explain._validate import check_method_options, check_positive_int
from deepscope.explain.attribution import Attribution
from deepscope.explain.faithfulness import (
    Faithfulness,
    deletion_insertion,
    infidelity,
    max_sensitivity,
)
from deepscope.explain.layer import layer_map
from deepscope.explain.localization import energy_in_mask, pointing_game
from deepscope.explain.registry import accepted_options, get_method, targeted
from deepscope.explain.registry import methods as method_names
from deepscope.explain.sanity import SanityCheck, sanity_check
from deepscope.model.probabilities import to_probabilities
from deepscope.result import Result

__all__ = [
    "ExplainCallback",
    "ProbeSet",
    "ProbeOutputs",
    "MapScores",
    "score_maps",
    "PROBES_TAG",
    "map_tag",
    "outputs_tag",
    "scores_tag",
    "parse_step_tag",
]

DEFAULT_METHODS = ("integrated_gradients", "grad_cam")
PROBES_TAG = "explain/probes"
# Options the callback passes to every method rather than to one.
SHARED_OPTIONS = ("batch_size", "seed", "baseline", "progress")
_STEP_TAG = re.compile(r"^explain/(?:(?P<family>outputs|scores)/)?(?P<method>[^/]*?)/?step(?P<step>\d+)$")


def map_tag(method: str, step: int) -> str:
    """``explain/<method>/step0003``: where the maps of ``method`` at ``step`` are logged."""
    return f"explain/{method}/step{int(step):04d}"


def outputs_tag(step: int) -> str:
    return f"explain/outputs/step{int(step):04d}"


def scores_tag(method: str, step: int) -> str:
    return f"explain/scores/{method}/step{int(step):04d}"


def parse_step_tag(tag: str) -> tuple[str, str | None, int] | None:
    """(``"maps"`` | ``"outputs"`` | ``"scores"``, method or None, step) of a step tag, else None.

    >>> parse_step_tag("explain/grad_cam/step0012"), parse_step_tag("explain/outputs/step0002")
    (('maps', 'grad_cam', 12), ('outputs', None, 2))
    """
    found = _STEP_TAG.match(tag)
    if found is None:
        return None
    family, method, step = found["family"] or "maps", found["method"] or None, int(found["step"])
    if (family == "outputs") != (method is None):
        return None
    return family, method, step


@dataclass(frozen=True, eq=False)
class ProbeSet(Result):
    """The examples a callback explains at every step: inputs (images, tables) or texts, with
    their labels, ground-truth masks [N, H, W] (for localization scores) and class names."""

    kind: str
    inputs: np.ndarray | None
    texts: list[str] | None
    labels: np.ndarray | None
    masks: np.ndarray | None
    class_names: list[str] | None
    methods: list[str]
    every: int

    default_tag = PROBES_TAG

    def __len__(self) -> int:
        return len(self.texts) if self.texts is not None else int(self._array.shape[0])

    @property
    def examples(self) -> np.ndarray | list[str]:
        """What the model takes: the inputs, or the texts."""
        return self.texts if self.texts is not None else self._array

    @property
    def _array(self) -> np.ndarray:
        """The inputs of an array probe set (exactly one of ``inputs`` and ``texts`` is set)."""
        return cast(np.ndarray, self.inputs)

    def class_name(self, index: int) -> str:
        names = self.class_names
        return names[index] if names and 0 <= index < len(names) else str(int(index))

    def to_frame(self) -> pd.DataFrame:
        """One row per probe example: its text (text probes) and label, by name."""
        frame = pd.DataFrame({"example": np.arange(len(self))})
        if self.texts is not None:
            frame["text"] = self.texts
        if self.labels is not None:
            frame["label"] = [self.class_name(int(label)) for label in self.labels]
        return frame


@dataclass(frozen=True, eq=False)
class ProbeOutputs(Result):
    """The model's outputs (logits) [N, C] on the probe set at one step."""

    step: int
    outputs: np.ndarray

    def tag_or_default(self, tag: str | None) -> str:
        return tag or outputs_tag(self.step)

    @property
    def predictions(self) -> np.ndarray:
        return self.probabilities.argmax(axis=1)

    @property
    def probabilities(self) -> np.ndarray:
        """Softmax of the logits (a single logit: ``[1 - p, p]``), by the one shared rule."""
        return to_probabilities(self.outputs, single_is_probability=False)

    def to_frame(self) -> pd.DataFrame:
        """One row per probe example: the predicted class and its probability."""
        return pd.DataFrame(
            {
                "example": np.arange(len(self.outputs)),
                "prediction": self.predictions,
                "probability": self.probabilities.max(axis=1),
            }
        )


@dataclass(frozen=True, eq=False)
class MapScores(Result):
    """How far to trust one method's maps of a set of examples, each score per example.

    - ``sanity``: the cascading randomization test (``sanity_check``): a low rank correlation
      once every layer is random means the maps depend on the model (good).
    - ``faithfulness``: deletion (lower area is better) and insertion (higher is better) curves.
    - ``infidelity`` (lower is better) and ``max_sensitivity`` (lower is steadier).
    - ``pointing_game`` (the map's peak in the object's mask) and ``energy_in_mask`` (share of the
      positive mass inside it), where masks were given.
    Scores that do not apply (faithfulness of text maps, localization without masks) are None.
    """

    method: str
    step: int | None
    sanity: SanityCheck | None = None
    faithfulness: Faithfulness | None = None
    infidelity: np.ndarray | None = None
    max_sensitivity: np.ndarray | None = None
    pointing_game: np.ndarray | None = None
    energy_in_mask: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per example, one column per score that was computed."""
        columns: dict[str, Any] = {}
        if self.sanity is not None:
            columns["sanity_spearman"] = self.sanity.per_example[-1]
            columns["sanity_passed"] = self.sanity.per_example[-1] < self.sanity.threshold
        if self.faithfulness is not None:
            columns["deletion_area"] = self.faithfulness.deletion_area
            columns["insertion_area"] = self.faithfulness.insertion_area
        for name in ("infidelity", "max_sensitivity", "pointing_game", "energy_in_mask"):
            value = getattr(self, name)
            if value is not None:
                columns[name] = value
        return pd.DataFrame(columns)

    def example(self, index: int) -> dict[str, Any]:
        """The scores of one example, as plain Python values."""
        row = self.to_frame().iloc[int(index)].to_dict()
        return {str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}

    def tag_or_default(self, tag: str | None) -> str:
        if tag:
            return tag
        if self.step is not None:
            return scores_tag(self.method, self.step)
        return f"explain/scores/{self.method}"


def score_maps(
    model: Any,
    attribution: Attribution,
    *,
    method: str | None = None,
    masks: Any = None,
    sanity: bool = True,
    faithfulness: bool = True,
    sensitivity: bool = True,
    step: int | None = None,
    perturbations: int = 10,
    seed: int | None = None,
    method_options: Mapping[str, Any] | None = None,
) -> MapScores:
    """The truthfulness scores of ``attribution`` (maps ``model`` made), per example.

    ``method`` is the registered name the maps were made with (default ``attribution.method``;
    give it for shortcuts such as ``"smoothgrad"``) and ``method_options`` its options, a dict
    kept apart from this function's own arguments (its ``seed`` seeds the scores, an option
    ``seed`` the method): the sanity check and max-sensitivity recompute the maps with them.
    ``perturbations``: random perturbations per example for infidelity and max-sensitivity.
    Scores that do not apply to the maps' kind are left out (None).

    >>> import torch, deepscope as ds
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> maps = ds.explain.saliency(net, torch.rand(3, 4))
    >>> score_maps(net, maps, perturbations=2).to_frame().shape
    (3, 6)
    """
    if not isinstance(attribution, Attribution):
        raise ArgumentTypeError("attribution", "an Attribution", attribution)
    if attribution.inputs is None:
        raise InvalidArgumentError("attribution", "an attribution that kept its inputs", "inputs=None")
    name = method or attribution.method
    if attribution.kind == "array" and "layer" in attribution.options:
        # a layer's maps: scored over the images they are upsampled onto, as Grad-CAM's are
        upsampled = attribution.inputs.ndim == 4 and attribution.values.ndim == 4
        attribution = layer_map(attribution) if upsampled else attribution
        faithfulness = faithfulness and upsampled
    target = attribution.target
    inputs = attribution.texts if attribution.kind == "text" else attribution.inputs
    options = check_method_options(method_options)
    checked = None
    if sanity:
        checked = sanity_check(name, model, inputs, target=target, seed=seed, method_options=options)
    curves = spread = noise = hits = energy = None
    if attribution.kind != "text":
        if faithfulness:
            curves = deletion_insertion(model, attribution)
            noise = infidelity(model, attribution, n_samples=perturbations, seed=seed)
        if sensitivity:
            spread = max_sensitivity(
                name,
                model,
                inputs,
                target=target,
                n_samples=perturbations,
                seed=seed,
                method_options=options,
            )
        if masks is not None and attribution.kind == "image":
            hits = pointing_game(attribution, masks)
            energy = energy_in_mask(attribution, masks)
    return MapScores(
        method=name,
        step=step,
        sanity=checked,
        faithfulness=curves,
        infidelity=noise,
        max_sensitivity=spread,
        pointing_game=hits,
        energy_in_mask=energy,
    )


class ExplainCallback:
    """Log attributions of ``probe_inputs`` every ``every`` epochs into ``run``.

    Args:
        run: a ``deepscope.Run`` (anything with ``log_result``).
        probe_inputs: a fixed set of examples: an array or tensor [N, ...] or a list of texts.
        methods: attribution method names (``deepscope.explain.methods()``).
        every: log at epochs that are multiples of it (epoch 0, before training, included).
        target: the class to explain (an int, one per probe, or None). None explains each probe's
            label when ``labels`` are given, so a map is of the same class at every step; without
            labels, the model's prediction at that step.
        labels: the probes' true classes [N], for the page's gallery and the default target.
        masks: ground-truth object masks [N, H, W] for image probes (pointing game, energy).
        class_names: names of the model's outputs.
        tokenizer: for text probes, when the callback is given a bare ``nn.Module``.
        method_options: options by method name (``integrated_gradients={"n_steps": 32}``), or
            ``batch_size`` / ``seed`` / ``baseline`` for every method.

    Call it as ``callback(epoch, model)`` (the ``on_epoch`` signature of ``zoo.train``) with a
    module or a ``deepscope.Model``; it returns the Attributions it logged (None when skipped).

    >>> callback = ExplainCallback(run, images[:12], labels=labels[:12])  # doctest: +SKIP
    >>> zoo.train("shapes_cnn", run=run, on_epoch=callback)  # doctest: +SKIP
    >>> callback.log_scores(model)  # doctest: +SKIP
    """

    def __init__(
        self,
        run: Any,
        probe_inputs: Any,
        *,
        methods: Sequence[str] = DEFAULT_METHODS,
        every: int = 1,
        target: Any = None,
        labels: Any = None,
        masks: Any = None,
        class_names: Sequence[str] | None = None,
        tokenizer: Any = None,
        **method_options: Any,
    ):
        if not callable(getattr(run, "log_result", None)):
            raise ArgumentTypeError("run", "a deepscope.Run (with log_result)", run)
        self.run = run
        self.methods = _check_methods(methods)
        self.every = check_positive_int(every, "every")
        self.texts, self.inputs = _probe_examples(probe_inputs)
        n = len(self.texts) if self.texts is not None else len(cast(np.ndarray, self.inputs))
        self.labels = _per_probe(labels, n, "labels")
        self.masks = _masks(masks, self.inputs)
        self.target = target
        self.class_names = [str(c) for c in class_names] if class_names is not None else None
        self.tokenizer = tokenizer
        self.shared, self.options = _split_options(method_options, self.methods)
        self.steps: list[int] = []
        self._probes_logged = False
        self._last: dict[str, Attribution] = {}

    @property
    def probe_set(self) -> ProbeSet:
        kind = "text" if self.texts is not None else _kind(cast(np.ndarray, self.inputs))
        return ProbeSet(
            kind=kind,
            inputs=self.inputs,
            texts=self.texts,
            labels=self.labels,
            masks=self.masks,
            class_names=self.class_names,
            methods=list(self.methods),
            every=self.every,
        )

    def __call__(self, epoch: int, model: Any) -> dict[str, Attribution] | None:
        step = check_positive_int(epoch, "epoch", minimum=0)
        if step % self.every:
            return None
        model = self._model(model)
        if not self._probes_logged:
            self.run.log_result(PROBES_TAG, self.probe_set)
            self._probes_logged = True
        examples = self.texts if self.texts is not None else self.inputs
        outputs = np.asarray(model.predict(examples, progress=False), dtype=np.float32)
        if outputs.ndim == 1:
            outputs = outputs[:, None]
        self.run.log_result(outputs_tag(step), ProbeOutputs(step=step, outputs=outputs))
        target = self._target(outputs)
        maps = {}
        for method in self.methods:
            attribution = get_method(method)(model, examples, **targeted(method, target), **self.method_options(method))
            self.run.log_result(map_tag(method, step), attribution)
            maps[method] = attribution
        if step not in self.steps:
            self.steps.append(step)
        self._last = maps
        return maps

    def method_options(self, method: str) -> dict[str, Any]:
        """What ``method`` is called with: the shared options it takes, then its own."""
        accepted = accepted_options(method)
        shared = {"progress": False, **self.shared}
        if accepted is not None:
            shared = {k: v for k, v in shared.items() if k in accepted}
        return {**shared, **self.options.get(method, {})}

    def log_scores(
        self,
        model: Any,
        *,
        sanity: bool = True,
        faithfulness: bool = True,
        sensitivity: bool = True,
        perturbations: int = 10,
    ) -> dict[str, MapScores]:
        """Score the maps of the last logged step (``score_maps``) and log one ``MapScores`` per
        method at that step. ``model`` must be the model as it was at that step."""
        maps = self._last
        if not maps:
            raise InvalidArgumentError(
                "callback",
                "a callback that logged maps",
                "no step logged yet",
                hint="call the callback (callback(epoch, model)) before log_scores",
            )
        model = self._model(model)
        step = self.steps[-1]
        scores = {}
        for method, attribution in maps.items():
            options = {k: v for k, v in self.method_options(method).items() if k != "progress"}
            found = score_maps(
                model,
                attribution,
                method=method,
                masks=self.masks,
                sanity=sanity,
                faithfulness=faithfulness,
                sensitivity=sensitivity,
                step=step,
                perturbations=perturbations,
                seed=options.get("seed"),  # the callback's seed seeds the scores as well
                method_options=options,
            )
            found.save(self.run)
            scores[method] = found
        return scores

    def _model(self, model: Any) -> Any:
        from deepscope.model import Model

        if isinstance(model, Model):
            return model
        if not isinstance(model, torch.nn.Module):
            raise ArgumentTypeError("model", "a torch.nn.Module or a deepscope.Model", model)
        if self.texts is not None and self.tokenizer is None:
            raise UnsupportedModelError(
                "model",
                "a deepscope.Model with a tokenizer for text probes",
                type(model).__name__,
                hint="pass tokenizer= to ExplainCallback, or call it with deepscope.Model(module, tokenizer)",
            )
        return Model(model, self.tokenizer, labels=self.class_names)

    def _target(self, outputs: np.ndarray) -> Any:
        if self.target is not None:
            return self.target
        if self.labels is not None:
            return self.labels
        return outputs.argmax(axis=1)


def _check_methods(methods: Any) -> tuple[str, ...]:
    if isinstance(methods, str):
        methods = (methods,)
    if not isinstance(methods, Sequence) or not methods:
        raise InvalidArgumentError("methods", "a non-empty list of method names", methods)
    for name in methods:
        if not isinstance(name, str):
            raise ArgumentTypeError("methods", "method names (strings)", name)
        if "/" in name:  # it would break the tag scheme
            raise NotFoundError("attribution method", name, method_names())
        get_method(name)  # NotFoundError with the known names
    return tuple(dict.fromkeys(methods))


def _split_options(
    options: Mapping[str, Any], methods: Sequence[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    shared, per_method = {}, {}
    for key, value in options.items():
        if key in SHARED_OPTIONS:
            shared[key] = value
        elif key in methods:
            if not isinstance(value, Mapping):
                raise ArgumentTypeError(key, f"a dict of options for {key}", value)
            per_method[key] = dict(value)
        else:
            raise InvalidArgumentError(
                key,
                "a method of `methods` (with a dict of its options) or one of " + ", ".join(SHARED_OPTIONS),
                key,
                hint=f"e.g. {methods[0]}={{...}}",
            )
    return shared, per_method


def _probe_examples(probes: Any) -> tuple[list[str] | None, np.ndarray | None]:
    if is_texts(probes):
        return ([probes] if isinstance(probes, str) else [str(t) for t in probes]), None
    if isinstance(probes, torch.Tensor):
        probes = probes.detach().cpu().numpy()
    if not isinstance(probes, np.ndarray) or probes.dtype.kind not in "fiub":
        raise ArgumentTypeError("probe_inputs", "an array or tensor [N, ...] or a list of texts", probes)
    if probes.ndim < 2 or len(probes) == 0:
        raise ShapeError("probe_inputs", "a non-empty batch [N, ...]", describe(probes))
    return None, probes.astype(np.float32) if probes.dtype.kind != "f" else probes


def _per_probe(values: Any, n: int, argument: str) -> np.ndarray | None:
    if values is None:
        return None
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.shape != (n,) or array.dtype.kind not in "iu":
        raise ShapeError(argument, f"{n} integer class indices, one per probe", describe(array))
    return array.astype(np.int64)


def _masks(masks: Any, inputs: np.ndarray | None) -> np.ndarray | None:
    if masks is None:
        return None
    if isinstance(masks, torch.Tensor):
        masks = masks.detach().cpu().numpy()
    masks = np.asarray(masks)
    if masks.ndim == 4 and masks.shape[1] == 1:
        masks = masks[:, 0]
    if inputs is None or inputs.ndim != 4:
        raise InvalidArgumentError("masks", "masks only for image probes [N, C, H, W]", describe(masks))
    expected = (inputs.shape[0], *inputs.shape[2:])
    if masks.shape != expected:
        raise ShapeError("masks", f"one mask per probe shaped {list(expected)}", describe(masks))
    return masks.astype(bool)


def _kind(inputs: np.ndarray) -> str:
    if inputs.ndim == 4:
        return "image"
    return "tabular" if inputs.ndim == 2 else "array"
