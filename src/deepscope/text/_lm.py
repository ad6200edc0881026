"""Where a causal language model keeps its parts: residual blocks, final norm, unembedding.

Works for deepscope's own ``zoo.CausalLM`` and for Hugging Face causal LMs (GPT-2, GPT-NeoX,
Llama-like models...): the blocks are the model's longest ``nn.ModuleList`` of identical layers,
the final norm is the normalisation layer named like ``ln_f`` / ``norm`` outside the blocks, and
the unembedding is ``get_output_embeddings()``.

>>> import torch
>>> from deepscope.zoo import CausalLM
>>> parts = lm_parts(CausalLM(vocab_size=20, hidden=16, layers=3, heads=2))
>>> len(parts.blocks), parts.vocab_size
(3, 20)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, UnsupportedModelError
from deepscope.model import Model
from deepscope.model.hooks import first_tensor, this_thread_only
from deepscope.progress import progress_bar

__all__ = [
    "LMParts",
    "lm_parts",
    "as_text_model",
    "encode_prompt",
    "token_strings",
    "run_with_hidden",
    "mlp_activations",
    "recurrent_modules",
    "check_texts",
    "kl_to_last",
    "vocab_token_id",
    "model_logits",
    "is_causal_lm",
]

_FINAL_NORM_NAMES = ("ln_f", "norm", "final_layer_norm", "final_norm", "norm_f", "ln_final")
_LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
_ACTIVATIONS = (nn.GELU, nn.ReLU, nn.SiLU, nn.Tanh, nn.Mish, nn.ELU, nn.LeakyReLU, nn.Sigmoid)


@dataclass(frozen=True)
class LMParts:
    """The parts of a causal LM the lenses need (modules of ``model.module``)."""

    model: Model
    blocks: tuple[nn.Module, ...]
    final_norm: nn.Module | None
    unembed: nn.Module
    vocab_size: int
    hidden_size: int

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits of residual-stream states ``[..., D]``: unembed(final_norm(h))."""
        if self.final_norm is not None:
            hidden = self.final_norm(hidden)
        return self.unembed(hidden)


def torch_module(model: Model) -> nn.Module:
    """The torch module of a text model ``as_text_model`` accepted."""
    if model.module is None:
        raise UnsupportedModelError("model", "a PyTorch text model", f"a {model.kind} model")
    return model.module


def as_text_model(model: Any, method: str) -> Model:
    """``Model(model)`` with a module and a tokenizer, or a typed error naming ``model``."""
    model = Model(model)
    if model.module is None:
        raise UnsupportedModelError("model", f"a PyTorch text model for {method}", f"a {model.kind} model")
    if model.tokenizer is None:
        raise UnsupportedModelError(
            "model",
            f"a text model with a tokenizer for {method}",
            "a model without one",
            hint="pass the tokenizer: deepscope.Model(module, tokenizer)",
        )
    return model


def _layer_count(module: nn.Module) -> int | None:
    config = getattr(module, "config", None)
    for key in _LAYER_COUNT_KEYS:
        value = getattr(config, key, None)
        if isinstance(value, int):
            return value
    return None


def _blocks(module: nn.Module) -> tuple[str, nn.ModuleList] | None:
    expected = _layer_count(module)
    best: tuple[str, nn.ModuleList] | None = None
    for name, child in module.named_modules():
        if not isinstance(child, nn.ModuleList) or len(child) == 0:
            continue
        if len({type(layer) for layer in child}) != 1:
            continue
        if expected is not None and len(child) != expected:
            continue
        if best is None or len(child) > len(best[1]):
            best = (name, child)
    return best


def _final_norm(module: nn.Module, blocks_name: str) -> nn.Module | None:
    prefix = blocks_name + "."
    for wanted in _FINAL_NORM_NAMES:
        for name, child in module.named_modules():
            if name.startswith(prefix) or name.rsplit(".", 1)[-1] != wanted:
                continue
            if not any(True for _ in child.children()):
                return child
    return None


def lm_parts(model: Any) -> LMParts:
    """The blocks, final norm and unembedding of a causal LM, or ``UnsupportedModelError``."""
    model = Model(model)
    module = model.module
    if module is None:
        raise UnsupportedModelError("model", "a PyTorch causal language model", model.kind)
    getter = getattr(module, "get_output_embeddings", None)
    unembed = None
    if callable(getter):
        with contextlib.suppress(NotImplementedError, AttributeError):
            unembed = getter()
    found = _blocks(module)
    if not isinstance(unembed, nn.Linear) or found is None:
        raise UnsupportedModelError(
            "model",
            "a causal language model (residual blocks in an nn.ModuleList and an output "
            "embedding from get_output_embeddings())",
            type(module).__name__,
            hint="a classifier has no vocabulary logits to read layers through",
        )
    name, blocks = found
    return LMParts(
        model=model,
        blocks=tuple(blocks),
        final_norm=_final_norm(module, name),
        unembed=unembed,
        vocab_size=int(unembed.out_features),
        hidden_size=int(unembed.in_features),
    )


def check_texts(texts: Any, argument: str = "texts") -> list[str]:
    """A non-empty list of strings (one string becomes a list of one)."""
    if isinstance(texts, str):
        texts = [texts]
    if not isinstance(texts, Sequence) or not texts or not all(isinstance(t, str) for t in texts):
        raise ArgumentTypeError(argument, "a string or a non-empty list of strings", texts)
    return list(texts)


def encode_prompt(model: Model, text: Any, argument: str = "text") -> torch.Tensor:
    """Token ids ``[T]`` of ``text`` as the model reads a prompt: a start token when the
    tokenizer adds one, no end token (so the last position predicts what comes next)."""
    if not isinstance(text, str):
        raise ArgumentTypeError(argument, "a string", text)
    ids = list(model.tokenizer(text)["input_ids"])
    if ids and hasattr(ids[0], "__len__"):
        ids = list(ids[0])
    eos = getattr(model.tokenizer, "eos_token_id", None)
    bos = getattr(model.tokenizer, "bos_token_id", None)
    if eos is not None and len(ids) > 1 and ids[-1] == eos and eos != bos:
        ids = ids[:-1]
    if not ids:
        raise InvalidArgumentError(argument, "a text with at least one token", text)
    return torch.tensor(ids, dtype=torch.long, device=model.device)


def token_strings(model: Model, ids: Sequence[int] | np.ndarray | torch.Tensor) -> list[str]:
    """The token of each id, as a string (byte-level BPE markers such as 'Ġ' shown as spaces)."""
    if isinstance(ids, torch.Tensor):
        ids = ids.tolist()
    tokens = model.tokenizer.convert_ids_to_tokens([int(i) for i in ids])
    return [str(t).replace("\u0120", " ").replace("\u010a", "\n") for t in tokens]


def vocab_token_id(model: Model, token: Any, argument: str) -> int:
    """The one id ``token`` (a string) encodes to, or a typed error when the tokenizer splits it."""
    if not isinstance(token, str):
        raise ArgumentTypeError(argument, "a token string", token)
    tokenizer = model.tokenizer
    ids = tokenizer(token, add_special_tokens=False)["input_ids"]
    if ids and hasattr(ids[0], "__len__"):
        ids = list(ids[0])
    if len(ids) != 1:
        pieces = token_strings(model, ids) if ids else []
        raise InvalidArgumentError(
            argument,
            "a string the tokenizer keeps as one token",
            f"{token!r}, which it splits into {pieces}",
        )
    return int(ids[0])


def model_logits(model: Model, ids: torch.Tensor) -> torch.Tensor:
    """The model's own next-token logits ``[N, T, V]`` for ids ``[N, T]``."""
    mask = torch.ones_like(ids)
    output = first_tensor(torch_module(model)(input_ids=ids, attention_mask=mask))
    if output is None or output.ndim != 3:
        raise UnsupportedModelError(
            "model",
            "a causal language model returning logits [N, T, vocabulary]",
            "outputs of shape " + (str(list(output.shape)) if output is not None else "None"),
        )
    return output


# Hooks see every forward pass of their module, from any thread: two threads reading one model
# (the dashboard draws a lens while a tuned lens is fitted in the background) would each capture
# the other's pass. Hooks record only their own thread's pass, and one lock keeps hooked passes apart.
_HOOKED_PASS = threading.RLock()


@contextlib.contextmanager
def _hooks(modules: Sequence[nn.Module], store: list[Any], pre_first: bool) -> Iterator[None]:
    with _HOOKED_PASS:
        yield from _hooked(modules, store, pre_first)


def _hooked(modules: Sequence[nn.Module], store: list[Any], pre_first: bool) -> Iterator[None]:
    handles = []
    if pre_first:

        def pre(module: nn.Module, args: Any, kwargs: Any) -> None:
            store.append(args[0] if args else first_tensor(kwargs))

        handles.append(modules[0].register_forward_pre_hook(this_thread_only(pre), with_kwargs=True))

    def post(module: nn.Module, args: Any, output: Any) -> None:
        store.append(first_tensor(output))

    handles.extend(m.register_forward_hook(this_thread_only(post)) for m in modules)
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def run_with_hidden(parts: LMParts, ids: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The residual stream after the embeddings and after each block (``L + 1`` tensors
    ``[N, T, D]``), and the model's own logits ``[N, T, V]``, from one forward pass."""
    store: list[torch.Tensor] = []
    with _hooks(parts.blocks, store, pre_first=True):
        logits = model_logits(parts.model, ids)
    if len(store) != len(parts.blocks) + 1 or any(s is None or s.ndim != 3 for s in store):
        raise UnsupportedModelError(
            "model", "residual blocks that each run once per forward pass", type(parts.model.module)
        )
    return store, logits


def mlp_activations(parts: LMParts) -> list[nn.Module]:
    """In each block, the MLP's non-linearity (its output is the MLP's hidden units)."""
    found = []
    for index, block in enumerate(parts.blocks):
        candidates = [
            (name, m)
            for name, m in block.named_modules()
            if name and (isinstance(m, _ACTIVATIONS) or "Activation" in type(m).__name__)
        ]
        in_mlp = [m for name, m in candidates if any(key in name for key in ("mlp", "ffn", "feed_forward", "fc"))]
        chosen = in_mlp or [m for _, m in candidates]
        if not chosen:
            raise UnsupportedModelError(
                "model",
                "transformer blocks whose MLP has an activation module (nn.GELU, ...)",
                f"block {index} without one",
            )
        found.append(chosen[0])
    return found


def recurrent_modules(model: Model) -> list[tuple[str, nn.Module]]:
    """The model's recurrent layers (``nn.GRU``, ``nn.LSTM``, ``nn.RNN``) by name."""
    if model.module is None:
        return []
    return [(n, m) for n, m in model.module.named_modules() if isinstance(m, nn.RNNBase)]


def kl_to_last(log_probs: torch.Tensor) -> torch.Tensor:
    """KL(last row || each row) in nats over the vocabulary axis of log-probabilities ``[L, ..., V]``."""
    final = log_probs[-1]
    return (final.exp() * (final - log_probs)).sum(dim=-1).clamp(min=0.0)


def is_causal_lm(model: Any) -> bool:
    """Whether ``model`` looks like a causal LM deepscope can lens (cheap, no forward pass)."""
    try:
        lm_parts(model)
    except (UnsupportedModelError, TypeError, ValueError):
        return False
    return True


def token_states(
    model: Model,
    texts: list[str],
    modules: Sequence[nn.Module],
    *,
    batch_size: int | None = None,
    progress: bool | None = None,
    desc: str = "activations",
) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    """Run ``texts`` through ``model`` and keep each module's output ``[T, units]`` per text.

    Returns the token ids of each text (padding dropped) and, per text, one array per module.
    """
    size = batch_size or model.batch_size
    ids_out: list[np.ndarray] = []
    states_out: list[list[np.ndarray]] = []
    store: list[Any] = []

    def record(module: nn.Module, args: Any, output: Any) -> None:
        store.append(first_tensor(output))

    handles = [m.register_forward_hook(this_thread_only(record)) for m in modules]
    try:
        with model.eval_mode(), torch.no_grad():
            bar = progress_bar(len(texts), progress, desc)
            for start in range(0, len(texts), size):
                batch = model.encode(texts[start : start + size])
                store.clear()
                torch_module(model)(**batch)
                if len(store) != len(modules) or any(
                    s is None or s.ndim != 3 or s.shape[:2] != batch["input_ids"].shape for s in store
                ):
                    raise UnsupportedModelError(
                        "layer",
                        "a layer that runs once per forward pass with outputs [N, T, units]",
                        [None if s is None else list(s.shape) for s in store],
                    )
                mask = batch["attention_mask"].bool()
                for row in range(len(mask)):
                    keep = mask[row]
                    ids_out.append(batch["input_ids"][row][keep].cpu().numpy().astype(np.int64))
                    states_out.append([s[row][keep].float().cpu().numpy() for s in store])
                bar.update(len(mask))
            bar.close()
    finally:
        for handle in handles:
            handle.remove()
    return ids_out, states_out
