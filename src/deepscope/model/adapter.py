"""``Model``: the one adapter every deepscope method takes.

It wraps a ``torch.nn.Module``, a Hugging Face model (with its tokenizer) or a plain callable
``f(np.ndarray) -> np.ndarray`` and knows how to batch, run on the right device, name and hook
layers, capture activations and take gradients.

>>> import torch
>>> from deepscope.model import Model
>>> model = Model(torch.nn.Linear(3, 2))
>>> model.predict(torch.zeros(5, 3)).shape
(5, 2)
>>> Model(model) is model
True
"""

from __future__ import annotations

import contextlib
import itertools
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, cast

import numpy as np
import torch
from torch.nn.modules import module as nn_module
from torch.nn.modules.batchnorm import _BatchNorm

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    NotFoundError,
    ShapeError,
    UnsupportedModelError,
    describe,
)
from deepscope.model.fast_ops import fast_eval_norms
from deepscope.model.hooks import Capture, LayerInfo, as_logits, captures_paused, first_tensor
from deepscope.model.inputs import (
    Inputs,
    batch_ranges,
    check_batch_size,
    check_first_layer,
    check_not_empty,
    count,
    first_layer,
    is_frame,
    is_texts,
    take,
    to_array,
    to_tensor,
)
from deepscope.model.probabilities import to_probabilities
from deepscope.model.targets import Target, normalize_target, target_slice, to_indices

__all__ = ["Model"]

# A probe text for layers() on text models: short, and made of words most vocabularies know.
PROBE_TEXT = "the movie was good"
_DTYPE_MESSAGE = re.compile(r"dtype|scalar type|Input type|must have the same type", re.IGNORECASE)
# The layout decision of each module (see Model._takes_channels_last), kept while the module
# lives: a method given a bare module wraps it in a new Model on every call, and the decision
# depends on the module's code, not on its weights.
_CHANNELS_LAST: weakref.WeakKeyDictionary[torch.nn.Module, bool] = weakref.WeakKeyDictionary()


class Model:
    """A model deepscope can run, hook and differentiate, whatever it was made with.

    Args:
        model: a ``torch.nn.Module``, a Hugging Face ``PreTrainedModel``, a callable
            ``f(np.ndarray) -> np.ndarray`` (model-agnostic methods only), or a ``Model``,
            which is returned unchanged.
        tokenizer: turns a list of strings into ``input_ids``/``attention_mask``
            (a Hugging Face tokenizer or deepscope's ``WordTokenizer``); makes the model a text model.
        labels: class names, one per output (taken from a Hugging Face config when not given).
        name: a display name (the class or function name when not given).
        device: where to run; the module is moved there. Defaults to where its parameters are.
        batch_size: default batch size of ``predict`` and ``gradient`` (64 when not given). The
            attribution methods use a given one as their rows per pass; without it they size
            their passes themselves (see ``deepscope.explain.set_memory_budget``).
        max_length: texts are truncated to this many tokens.

    >>> import numpy as np
    >>> Model(lambda x: x.sum(axis=1, keepdims=True)).predict(np.ones((2, 3))).tolist()
    [[3.0], [3.0]]
    """

    kind: str
    module: torch.nn.Module | None
    tokenizer: Any
    labels: list[str] | None
    name: str
    device: torch.device
    batch_size: int
    #: ``batch_size`` as the caller gave it (None: not given, ``batch_size`` is the default 64)
    requested_batch_size: int | None
    max_length: int
    #: True when ``predict`` takes a DataFrame of raw (unencoded) features, as the zoo's tabular
    #: models and callables do; pages use it to decide whether a table's rows can be re-run.
    accepts_frames: bool = False

    def __new__(cls, model: Any = None, *args: Any, **kwargs: Any) -> Model:
        if isinstance(model, Model):
            return model
        return super().__new__(cls)

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        labels: Sequence[str] | None = None,
        name: str | None = None,
        device: str | torch.device | None = None,
        batch_size: int | None = None,
        max_length: int = 128,
    ):
        if model is self:  # Model(a_model): __new__ returned it; keep it as it is
            self._check_rewrap(
                {
                    "tokenizer": tokenizer,
                    "labels": labels,
                    "name": name,
                    "device": device,
                    "batch_size": batch_size,
                    "max_length": max_length,
                }
            )
            return
        self.requested_batch_size = None if batch_size is None else check_batch_size(batch_size)
        self.batch_size = self.requested_batch_size or 64
        self.max_length = check_batch_size(max_length, "max_length")
        self._fn: Callable[[Any], Any] | None = None
        self._num_outputs: int | None = None
        self._channels_last: bool | None = None  # decided on the first image batch
        if isinstance(model, torch.nn.Module):
            self.kind = "huggingface" if _is_huggingface(model) else "torch"
            self.module = model
        elif callable(model) and not isinstance(model, type):
            self.kind = "callable"
            self.module = None
            self._fn = model
            self.accepts_frames = True  # DataFrames reach the callable as they are
        else:
            hint = None
            if isinstance(model, str):
                hint = "deepscope never downloads models: load or build it first, or use deepscope.zoo"
            elif isinstance(model, type):
                hint = "instantiate the class first"
            raise UnsupportedModelError(
                "model",
                "a torch.nn.Module, a Hugging Face model or a callable f(np.ndarray) -> np.ndarray",
                describe(model),
                hint=hint,
            )
        if isinstance(tokenizer, str) or (tokenizer is not None and not callable(tokenizer)):
            raise ArgumentTypeError(
                "tokenizer",
                "a tokenizer object (Hugging Face or deepscope.zoo.WordTokenizer)",
                tokenizer,
                hint="deepscope never downloads: load the tokenizer yourself and pass it",
            )
        self.tokenizer = tokenizer
        self.labels = self._labels(labels)
        self.name = name if name is not None else _default_name(model)
        self.device = self._place(device)

    # ---- description -------------------------------------------------------------------------

    @property
    def is_text(self) -> bool:
        """True when the model has a tokenizer, so it takes lists of strings."""
        return self.tokenizer is not None

    @property
    def num_outputs(self) -> int:
        """How many outputs (classes) the model has: the last dimension of its outputs.

        >>> Model(torch.nn.Linear(3, 4)).num_outputs
        4
        """
        if self._num_outputs is None:
            if self.module is not None:
                with self.eval_mode(), torch.no_grad():
                    self._num_outputs = int(self._run(self._probe_input(None)).shape[-1])
            elif self.labels is not None:
                return len(self.labels)
            else:
                raise UnsupportedModelError(
                    "model",
                    "a module, labels, or a call to predict() first",
                    f"a plain callable ({self.name})",
                    hint="a callable's number of outputs is known once it has been called",
                )
        return self._num_outputs

    def __repr__(self) -> str:
        text = ", text" if self.is_text else ""
        return f"Model({self.name!r}, kind={self.kind!r}, device={str(self.device)!r}{text})"

    # ---- running -----------------------------------------------------------------------------

    def predict(self, inputs: Inputs, *, batch_size: int | None = None, progress: bool | None = None) -> np.ndarray:
        """The model's outputs (logits) for ``inputs``, in batches, as a float numpy array [N, C].

        Runs in eval mode under ``torch.no_grad()`` on the model's device and restores the
        training flags afterwards. A 1-D output becomes one column.

        >>> model = Model(torch.nn.Linear(2, 3))
        >>> model.predict(np.zeros((10, 2)), batch_size=4).shape
        (10, 3)
        """
        data = self._normalize(inputs)
        size = check_batch_size(self.batch_size if batch_size is None else batch_size)
        n = count(data)
        parts = []
        with self.eval_mode(), torch.no_grad():
            for start, stop in batch_ranges(n, size, progress, f"{self.name} predict"):
                parts.append(self._predict_batch(take(data, start, stop)))
        outputs = np.concatenate(parts)
        self._num_outputs = int(outputs.shape[-1])
        return outputs

    def predict_proba(
        self, inputs: Inputs, *, batch_size: int | None = None, progress: bool | None = None
    ) -> np.ndarray:
        """Class probabilities [N, C] of the model's outputs on ``inputs`` (see :meth:`probabilities`).

        >>> round(float(Model(torch.nn.Linear(2, 3)).predict_proba(np.zeros((1, 2))).sum()), 6)
        1.0
        """
        outputs = self.predict(inputs, batch_size=batch_size, progress=progress)
        if outputs.ndim != 2:
            raise UnsupportedModelError("model", "outputs shaped [N, C] to turn into probabilities", describe(outputs))
        return self.probabilities(outputs)

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """This model's outputs [N, C] (or [N]) as class probabilities [N, C >= 2].

        Softmax of logits; rows that already are probabilities pass through. A single column is
        the positive class and becomes ``[1 - p, p]``: a probability when the module ends in
        ``torch.nn.Sigmoid``, else a logit; for a plain callable, a probability when it lies in
        [0, 1] (``deepscope.model.probabilities``, the rule evaluate uses too).
        """
        return to_probabilities(outputs, single_is_probability=self._single_is_probability())

    def forward(self, batch: torch.Tensor | Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Differentiable outputs (logits, [N, C]) of a batch already prepared on the device.

        Text batches are the dicts ``encode()`` returns. The training flag is left as it is: wrap
        calls in ``eval_mode()``.

        >>> model = Model(torch.nn.Linear(2, 3))
        >>> model.forward(model.prepare(np.ones((4, 2)))).requires_grad
        True
        """
        self._require_module("forward")
        return self._run(batch)

    def prepare(self, inputs: Inputs) -> torch.Tensor | dict[str, torch.Tensor]:
        """Inputs as tensors on the model's device: texts are encoded, floats get the model's dtype.

        >>> Model(torch.nn.Linear(2, 3)).prepare(np.ones((4, 2))).dtype
        torch.float32
        """
        self._require_module("prepare")
        return self._to_device(self._normalize(inputs))

    # ---- text --------------------------------------------------------------------------------

    def encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """``input_ids`` and ``attention_mask`` [N, T] of ``texts`` on the model's device.

        All texts are padded to the longest (at most ``max_length`` tokens).
        """
        self._require_tokenizer("encode")
        return self._to_device(self._encode(texts, "texts"))

    def tokens(self, texts: Sequence[str]) -> list[list[str]]:
        """The tokens each text becomes, special tokens included and padding left out.

        Token ``j`` of text ``i`` is position ``j`` of row ``i`` of ``encode(texts)`` (with a
        right-padding tokenizer), so it lines up with ``gradient(texts)[i, j]``.
        """
        self._require_tokenizer("tokens")
        encoded = self._encode(texts, "texts")
        rows = []
        for ids, mask in zip(encoded["input_ids"], encoded["attention_mask"], strict=True):
            kept = ids[mask.bool()].tolist()
            rows.append(list(self.tokenizer.convert_ids_to_tokens(kept)))
        return rows

    def input_embeddings(self) -> torch.nn.Embedding:
        """The token-embedding layer of a text model (``get_input_embeddings()`` where it exists)."""
        module = self._require_module("input_embeddings")
        getter = getattr(module, "get_input_embeddings", None)
        if callable(getter):
            with contextlib.suppress(NotImplementedError, AttributeError):
                layer = getter()
                if isinstance(layer, torch.nn.Embedding):
                    return layer
        for layer in module.modules():
            if isinstance(layer, torch.nn.Embedding):
                return layer
        raise UnsupportedModelError("model", "a text model with a torch.nn.Embedding layer", describe(module))

    def forward_embeddings(self, embeddings: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits computed from token embeddings [N, T, D], so gradients can flow to them.

        Calls ``module(inputs_embeds=..., attention_mask=...)``, as Hugging Face models and
        deepscope's own text models take it.
        """
        self._require_text("forward_embeddings")
        kwargs: dict[str, torch.Tensor] = {"inputs_embeds": embeddings}
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask
        return self._run(kwargs)

    # ---- targets and gradients ---------------------------------------------------------------

    def resolve_target(self, target: Target, outputs: torch.Tensor) -> torch.Tensor:
        """Class indices [N] (LongTensor) for ``outputs`` [N, C]: ``target`` as an int, a label,
        one per example, or None for each row's predicted class.

        >>> model = Model(torch.nn.Linear(2, 3))
        >>> model.resolve_target(None, torch.tensor([[0.0, 2.0, 1.0]])).tolist()
        [1]
        """
        outputs = self._check_classes(outputs)
        return to_indices(normalize_target(target, len(outputs), self.labels), outputs)

    def gradient(
        self,
        inputs: Inputs,
        target: Target = None,
        *,
        batch_size: int | None = None,
        progress: bool | None = None,
    ) -> np.ndarray:
        """d output[target] / d input, one row per example, shaped like the inputs.

        For text models the gradient is taken with respect to the token embeddings and has the
        shape [N, T, D] of ``input_embeddings()(encode(texts)["input_ids"])``.

        >>> model = Model(torch.nn.Linear(2, 3, bias=False))
        >>> bool(np.allclose(model.gradient(np.ones((1, 2)), target=1), model.module.weight[1].detach()))
        True
        """
        if self.module is None:
            raise UnsupportedModelError(
                "model",
                "a torch.nn.Module or Hugging Face model (gradients need autograd)",
                f"a plain callable ({self.name})",
                hint="use a model-agnostic method (occlusion, LIME, SHAP) for callables",
            )
        data = self._normalize(inputs)
        tokens = isinstance(data, Mapping)
        if not tokens and not data.is_floating_point():
            raise ArgumentTypeError(
                "inputs",
                "floating-point values (gradients are taken with respect to the inputs)",
                inputs,
                hint="convert with .astype('float32') (scale uint8 images to [0, 1] first)",
            )
        n = count(data)
        targets = normalize_target(target, n, self.labels)
        size = check_batch_size(self.batch_size if batch_size is None else batch_size)
        parts = []
        with self.eval_mode(), torch.enable_grad():
            for start, stop in batch_ranges(n, size, progress, f"{self.name} gradient"):
                batch = self._to_device(take(data, start, stop))
                if tokens:
                    embedding = self.input_embeddings()(batch["input_ids"])
                    wrt = embedding.detach().requires_grad_(True)
                    outputs = self.forward_embeddings(wrt, batch.get("attention_mask"))
                else:
                    wrt = batch.detach().requires_grad_(True)
                    outputs = self._run(wrt)
                outputs = self._check_classes(outputs)
                index = to_indices(target_slice(targets, start, stop), outputs)
                chosen = outputs.gather(1, index[:, None]).sum()
                if not chosen.requires_grad:
                    raise UnsupportedModelError(
                        "model",
                        "outputs that depend differentiably on the inputs",
                        "outputs with no autograd graph",
                        hint="the module detaches its inputs or runs under torch.no_grad()",
                    )
                # autograd.grad, not backward(): parameters' .grad stay untouched
                (grad,) = torch.autograd.grad(chosen, wrt)
                parts.append(grad.detach().float().cpu().numpy())
        return np.concatenate(parts)

    # ---- layers ------------------------------------------------------------------------------

    def layers(self, example: Inputs | None = None) -> list[LayerInfo]:
        """Every named sub-module with its class name and output shape on one probe pass.

        The probe is ``example`` (its first example) when given; otherwise a short text for text
        models, or zeros shaped for the first layer (Linear, ConvNd, Embedding).

        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> [(layer.name, layer.type, layer.output_shape) for layer in Model(net).layers()]
        [('0', 'Linear', (1, 3)), ('1', 'ReLU', (1, 3))]
        """
        root = self._require_module("layers")
        probe = self._probe_input(example)
        named = [(name, layer) for name, layer in root.named_modules() if name]
        shapes: dict[str, tuple[int, ...]] = {}

        def recorder(name: str) -> Callable[..., None]:
            def record(module: torch.nn.Module, args: Any, output: Any) -> None:
                tensor = first_tensor(output)
                if tensor is not None and name not in shapes:
                    shapes[name] = tuple(tensor.shape)

            return record

        handles = []
        try:
            for name, layer in named:
                handles.append(layer.register_forward_hook(recorder(name)))
            with self.eval_mode(), torch.no_grad():
                try:
                    self._run(probe, argument="inputs" if example is None else "example")
                except (InvalidArgumentError, ArgumentTypeError) as err:
                    if example is not None:
                        raise
                    raise InvalidArgumentError(
                        "example",
                        "an example input (the probe guessed from the first layer did not fit)",
                        None,
                        hint=str(err),
                    ) from err
        finally:
            for handle in handles:
                handle.remove()
        return [LayerInfo(name, type(layer).__name__, shapes.get(name)) for name, layer in named]

    @contextlib.contextmanager
    def capture(self, layer_names: str | Sequence[str], grads: bool = False, *, cut: bool = False) -> Iterator[Capture]:
        """Record the outputs (and with ``grads=True`` their gradients) of the named layers;
        ``cut=True`` makes them leaves where a backward pass stops (see :class:`Capture`).

        The hooks are removed when the block ends, also when it raises.

        >>> model = Model(torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU()))
        >>> with model.capture(["0"]) as cap:
        ...     _ = model.predict(np.ones((5, 2)), batch_size=2)
        >>> cap.activations["0"].shape
        torch.Size([5, 3])
        """
        module = self._require_module("capture")
        names = [layer_names] if isinstance(layer_names, str) else list(dict.fromkeys(layer_names))
        if not names:
            raise InvalidArgumentError("layer_names", "at least one layer name", layer_names)
        modules = dict(module.named_modules())
        for name in names:
            if not isinstance(name, str) or name not in modules:
                raise NotFoundError("layer", str(name), [key for key in modules if key])
        recording = Capture(names, cut=cut)
        handles = []
        try:
            for name in names:
                handles.append(modules[name].register_forward_hook(recording.hook(name, grads)))
            yield recording
        finally:
            for handle in handles:
                handle.remove()

    @contextlib.contextmanager
    def eval_mode(self) -> Iterator[None]:
        """Eval mode inside the block; every sub-module's training flag is restored after it.

        >>> model = Model(torch.nn.Dropout())
        >>> with model.eval_mode():
        ...     model.module.training
        False
        >>> model.module.training
        True
        """
        if self.module is None:
            yield
            return
        # Flags are saved per sub-module: a model may be in train mode with a frozen part.
        flags = [(module, module.training) for module in self.module.modules() if module.training]
        if not flags:  # already in eval mode: nothing to set or restore
            yield
            return
        self.module.eval()
        try:
            yield
        finally:
            for module, training in flags:
                module.training = training

    # ---- internals ---------------------------------------------------------------------------

    def _run(self, batch: Any, argument: str = "inputs") -> torch.Tensor:
        """module(batch) (or module(**batch)) as logits, with forward errors made typed."""
        try:
            with fast_eval_norms(self._torch_module):
                if isinstance(batch, Mapping):
                    output = self._torch_module(**batch)
                elif self._takes_channels_last(batch):
                    output = _call_channels_last(self._torch_module, batch)
                else:
                    output = self._torch_module(batch)
        except RuntimeError as err:
            # Only plain RuntimeError: torch's subclasses (out of memory, ...) are not input errors.
            if type(err) is not RuntimeError:
                raise
            raise self._forward_error(err, batch, argument) from err
        logits = as_logits(output)
        if logits is None:
            raise UnsupportedModelError(
                "model",
                "a module returning a tensor, a tuple of tensors or an object with .logits",
                describe(output),
            )
        return logits

    def _takes_channels_last(self, batch: Any) -> bool:
        """Whether to hand ``batch`` to the module in channels-last layout: image batches for a
        module with 2-d convolutions on the CPU, whose kernels run 1.5-2x faster on it (forward and
        backward, same values up to float rounding). Decided once per module by a one-example
        probe, so a module that reshapes its input with ``.view()`` keeps the standard layout."""
        if not (
            isinstance(batch, torch.Tensor)
            and batch.ndim == 4
            and batch.is_floating_point()
            and batch.device.type == "cpu"  # measured there; GPUs pick their own kernels
        ):
            return False
        if self._channels_last is None:
            self._channels_last = _CHANNELS_LAST.get(self._torch_module)
        if self._channels_last is None:
            self._channels_last = self._probe_channels_last(batch)
            if self._channels_last is not None:
                _CHANNELS_LAST[self._torch_module] = self._channels_last
        return bool(self._channels_last)

    def _probe_channels_last(self, batch: torch.Tensor) -> bool | None:
        """True or False, or None (decide later) when the batch fails in either layout."""
        if not any(isinstance(m, torch.nn.Conv2d) for m in self._torch_module.modules()):
            return False
        if _built_from_torch_layers(self._torch_module):
            return True  # torch's own layers take either layout: no probe (a first call's kernels)
        # Eval mode, no gradients and paused captures: the probe changes no running statistics
        # and records nothing.
        with self.eval_mode(), torch.no_grad(), captures_paused():
            try:
                self._torch_module(batch[:1].contiguous(memory_format=torch.channels_last))
                return True
            except RuntimeError:
                pass
            try:
                self._torch_module(batch[:1])
            except RuntimeError:
                return None  # the batch itself is wrong; the real pass reports it
            return False

    def _forward_error(self, err: RuntimeError, batch: Any, argument: str) -> Exception:
        got = batch["input_ids"] if isinstance(batch, Mapping) and "input_ids" in batch else batch
        hint = f"the forward pass failed with: {err}"
        if _DTYPE_MESSAGE.search(str(err)):
            return ArgumentTypeError(argument, "values of the dtype the model takes", got, hint=hint)
        layer = first_layer(self._torch_module)
        expected = "a batch shaped as the model takes it"
        if layer is not self.module:
            expected += f" (its first layer is {layer!r})"
        return ShapeError(argument, expected, got, hint=hint)

    def _predict_batch(self, batch: Any) -> np.ndarray:
        if self._fn is not None:
            outputs = np.asarray(self._fn(batch))
            rows = count(batch)
            if outputs.ndim == 0 or outputs.shape[0] != rows:
                raise UnsupportedModelError(
                    "model", f"a callable returning one row per input ({rows})", describe(outputs)
                )
            if outputs.dtype.kind not in "f":
                outputs = outputs.astype(np.float64)
            return outputs[:, None] if outputs.ndim == 1 else outputs
        outputs = self._run(self._to_device(batch)).detach()
        if outputs.dtype in (torch.float16, torch.bfloat16) or not outputs.is_floating_point():
            outputs = outputs.float()
        return outputs.cpu().numpy()

    def _normalize(self, inputs: Any, argument: str = "inputs") -> Any:
        """Checked inputs in one canonical form, still on the CPU: a tensor, an encoded dict, or
        (for callables) a numpy array, a DataFrame or a list of strings."""
        check_not_empty(inputs, argument)
        if self._fn is not None:
            if is_texts(inputs) or is_frame(inputs):
                return list(inputs) if is_texts(inputs) else inputs
            return to_array(inputs, argument)
        if is_texts(inputs):
            return self._encode(inputs, argument)
        if isinstance(inputs, Mapping):
            return {key: to_tensor(value, argument) for key, value in inputs.items()}
        tensor = to_tensor(inputs, argument)
        if not tensor.is_floating_point() and (self.is_text or self.kind == "huggingface"):
            return {"input_ids": tensor, "attention_mask": torch.ones_like(tensor)}
        # Only a Sequential's first layer surely sees the inputs first, so only it is checked here;
        # other modules' mistakes surface as the forward's RuntimeError (see _forward_error).
        check_first_layer(first_layer(self._torch_module), tensor, inputs, argument)
        return tensor

    def _encode(self, texts: Any, argument: str) -> dict[str, torch.Tensor]:
        if self.tokenizer is None:
            raise ArgumentTypeError(
                argument,
                "tensors or arrays (this model has no tokenizer)",
                describe(texts),
                hint="pass one: deepscope.Model(model, tokenizer)",
            )
        check_not_empty(texts, argument)
        if not is_texts(texts):
            raise ArgumentTypeError(argument, "a list of strings", describe(texts))
        encoded = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        ids = torch.as_tensor(encoded["input_ids"])
        mask = encoded.get("attention_mask") if hasattr(encoded, "get") else None
        mask = torch.ones_like(ids) if mask is None else torch.as_tensor(mask)
        return {"input_ids": ids, "attention_mask": mask}

    def _to_device(self, batch: Any) -> Any:
        if isinstance(batch, Mapping):
            return {key: value.to(self.device) for key, value in batch.items()}
        if batch.is_floating_point():
            return batch.to(self.device, dtype=self._float_dtype())
        return batch.to(self.device)

    def _float_dtype(self) -> torch.dtype:
        for parameter in self._torch_module.parameters():
            if parameter.is_floating_point():
                return parameter.dtype
        return torch.get_default_dtype()

    def _probe_input(self, example: Any) -> Any:
        if example is not None:
            return self._to_device(take(self._normalize(example, "example"), 0, 1))
        if self.is_text:
            return self.encode([PROBE_TEXT])
        if self.kind == "huggingface":
            ids = torch.ones(1, 8, dtype=torch.long, device=self.device)
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        layer = first_layer(self._torch_module)
        if layer is self.module:  # not a Sequential: guess from the first registered leaf
            leaves = [m for m in self._torch_module.modules() if not list(m.children())]
            layer = leaves[0] if leaves else layer
        shape: tuple[int, ...] | None = None
        if isinstance(layer, torch.nn.Linear):
            shape = (1, layer.in_features)
        elif isinstance(layer, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Conv3d)):
            shape = (1, layer.in_channels) + (32,) * (layer.weight.ndim - 2)
        elif isinstance(layer, torch.nn.Embedding):
            return torch.zeros(1, 16, dtype=torch.long, device=self.device)
        if shape is None:
            raise InvalidArgumentError(
                "example",
                "an example input (the input shape cannot be guessed from the first layer)",
                None,
            )
        return torch.zeros(shape, dtype=self._float_dtype(), device=self.device)

    def _check_classes(self, outputs: torch.Tensor) -> torch.Tensor:
        if outputs.ndim != 2:
            raise UnsupportedModelError("model", "outputs shaped [N, C] to pick a target class from", describe(outputs))
        return outputs

    def _single_is_probability(self) -> bool | None:
        """Whether a single output column is a probability: known for modules, not for callables."""
        if self.module is None:
            return None
        last = list(self.module.modules())[-1]
        return isinstance(last, torch.nn.Sigmoid)

    def _require_module(self, method: str) -> torch.nn.Module:
        if self.module is None:
            raise UnsupportedModelError(
                "model",
                f"a torch.nn.Module or Hugging Face model for {method}()",
                f"a plain callable ({self.name})",
            )
        return self.module

    @property
    def _torch_module(self) -> torch.nn.Module:
        """The wrapped module, on paths only a torch-backed model reaches (callables go through _fn)."""
        return cast(torch.nn.Module, self.module)

    def _require_tokenizer(self, method: str) -> None:
        if self.tokenizer is None:
            raise UnsupportedModelError(
                "model",
                f"a text model (with a tokenizer) for {method}()",
                f"{self.name} without a tokenizer",
                hint="pass one: deepscope.Model(model, tokenizer)",
            )

    def _require_text(self, method: str) -> None:
        self._require_module(method)
        if not (self.is_text or self.kind == "huggingface"):
            raise UnsupportedModelError(
                "model", f"a text model (with a tokenizer) for {method}()", describe(self.module)
            )

    def _labels(self, labels: Sequence[str] | None) -> list[str] | None:
        if labels is not None:
            if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
                raise ArgumentTypeError("labels", "a list of class names (str)", labels)
            return list(labels)
        id2label = getattr(getattr(self.module, "config", None), "id2label", None)
        if isinstance(id2label, Mapping) and id2label:
            return [str(id2label[i]) for i in sorted(id2label)]
        return None

    def _place(self, device: str | torch.device | None) -> torch.device:
        current = _module_device(self.module)
        if device is None:
            return current
        try:
            target = torch.device(device)
        except (RuntimeError, TypeError) as err:
            raise InvalidArgumentError("device", "'cpu', 'cuda' or 'cuda:N'", device) from err
        if target.type == "cuda":
            if not torch.cuda.is_available():
                raise InvalidArgumentError("device", "'cpu' (CUDA is not available on this machine)", device)
            if target.index is None:
                target = torch.device("cuda", torch.cuda.current_device())
        if self.module is not None and target != current:
            self.module.to(target)
        return target

    def _check_rewrap(self, options: dict[str, Any]) -> None:
        """Model(a_model, **options) may only repeat what a_model already has."""
        defaults = {"batch_size": 64, "max_length": 128}
        for argument, value in options.items():
            if value is None or (argument in defaults and value == defaults[argument]):
                continue
            own = getattr(self, argument)
            if argument == "device":
                wanted = torch.device(value)
                same = wanted.type == own.type and wanted.index in (None, own.index)
            elif argument == "tokenizer":
                same = value is own
            else:
                same = (list(value) if argument == "labels" else value) == own
            if not same:
                raise InvalidArgumentError(
                    argument,
                    f"no new value when the model is already a deepscope.Model (it has {own!r})",
                    value,
                    hint="build a new Model from model.module (or the callable) instead",
                )


def _call_channels_last(module: torch.nn.Module, batch: torch.Tensor) -> Any:
    """``module(batch)`` with the batch in channels-last layout. A plain ``nn.Sequential`` without
    hooks of its own runs its layers here, as its ``forward`` does: ``module(copy)`` would keep the
    layout copy of the batch alive until the whole forward returns, here it is freed once the
    first layer is done with it (no copy held at the peak of a pass without gradients)."""
    if type(module) is not torch.nn.Sequential or _has_own_hooks(module):
        return module(batch.contiguous(memory_format=torch.channels_last))
    layers = iter(module)
    first = next(layers, None)
    if first is None:
        return module(batch.contiguous(memory_format=torch.channels_last))
    follower = module[1] if len(module) > 1 else None
    if batch.requires_grad and type(first) is torch.nn.Conv2d and not isinstance(follower, _BatchNorm):
        # the convolution keeps its input for the backward pass: a layout copy of it would live
        # until then, while its output converted instead is freed on the way (a batch norm after
        # it may be folded into it, which needs the convolution's own output: see fast_ops)
        out = first(batch).contiguous(memory_format=torch.channels_last)
    else:
        out = first(batch.contiguous(memory_format=torch.channels_last))
    for layer in layers:
        out = layer(out)
    return out


def _has_own_hooks(module: torch.nn.Module) -> bool:
    """Whether calling ``module`` runs hooks (its own or torch's global ones) around its forward."""
    own = (
        module._forward_hooks,
        module._forward_pre_hooks,
        module._backward_hooks,
        module._backward_pre_hooks,
    )
    global_hooks = (
        nn_module._global_forward_hooks,
        nn_module._global_forward_pre_hooks,
        nn_module._global_backward_hooks,
        nn_module._global_backward_pre_hooks,
    )
    return any(len(hooks) for hooks in (*own, *global_hooks))


def _built_from_torch_layers(module: torch.nn.Module) -> bool:
    """Whether ``module`` is a tree of plain ``nn.Sequential`` containers over ``torch.nn``'s own
    layers, which work in any memory layout (no user code that could ``.view()`` a batch)."""
    for sub in module.modules():
        if isinstance(sub, torch.nn.Sequential):
            if type(sub).forward is not torch.nn.Sequential.forward:
                return False
        elif not type(sub).__module__.startswith("torch.nn.modules."):
            return False
    return True


def _is_huggingface(module: torch.nn.Module) -> bool:
    """True for transformers' PreTrainedModel subclasses (checked without importing transformers)."""
    return any(cls.__module__.split(".")[0] == "transformers" for cls in type(module).__mro__)


def _module_device(module: torch.nn.Module | None) -> torch.device:
    if module is not None:
        for tensor in itertools.chain(module.parameters(), module.buffers()):
            return tensor.device
    return torch.device("cpu")


def _default_name(model: Any) -> str:
    if isinstance(model, torch.nn.Module):
        return type(model).__name__
    return getattr(model, "__name__", type(model).__name__)
