"""What the attention views need to know about a transformer: its kind, its position limit, how
to tokenize one text (or a pair) for it, and how to get its attention probabilities.

Hugging Face models are asked for ``output_attentions`` (with eager attention, so the maps are
real); deepscope's own transformers answer it too. Other modules are read by forward hooks on
their ``attention_probs`` sub-modules (the zoo's convention). Texts are tokenized without the
``Model``'s ``max_length`` (128 by default): the limit is the architecture's own.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import torch

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    UnsupportedModelError,
)
from deepscope.model import Model

log = logging.getLogger(__name__)

KINDS = ("encoder", "decoder", "encoder-decoder")
_CAUSAL_TYPES = ("gpt", "llama", "mistral", "opt", "bloom", "falcon", "qwen", "phi", "gemma")


@dataclass(frozen=True)
class Encoded:
    """One tokenized text (or pair) ready for the model, with what the views show of it."""

    input_ids: torch.Tensor  # [1, T]
    attention_mask: torch.Tensor  # [1, T]
    token_type_ids: torch.Tensor | None
    tokens: list[str]
    segments: np.ndarray  # int8 [T]: 0 sentence A, 1 sentence B
    special: np.ndarray  # bool [T]
    n_tokens: int  # before truncation


def as_text_model(model: Any, argument: str = "model") -> Model:
    """``Model(model)``, checked to be a torch text model (with a tokenizer)."""
    model = Model(model)
    if model.module is None:
        raise UnsupportedModelError(
            argument, "a PyTorch or Hugging Face transformer", f"a plain callable ({model.name})"
        )
    if not model.is_text:
        raise UnsupportedModelError(
            argument,
            "a text model (deepscope.Model with a tokenizer)",
            f"{model.name} without a tokenizer",
            hint="pass one: deepscope.Model(module, tokenizer)",
        )
    return model


def torch_module(model: Model, argument: str = "model") -> torch.nn.Module:
    """The model's torch module (checked by :func:`as_text_model`; a plain callable has none)."""
    if model.module is None:
        raise UnsupportedModelError(
            argument, "a PyTorch or Hugging Face transformer", f"a plain callable ({model.name})"
        )
    return model.module


def check_text(text: Any, argument: str = "text") -> str:
    if not isinstance(text, str):
        raise ArgumentTypeError(argument, "a string", text)
    if not text.strip():
        raise InvalidArgumentError(argument, "a non-empty text", repr(text))
    return text


def model_kind(model: Model) -> str:
    """``encoder``, ``decoder`` or ``encoder-decoder``."""
    module = torch_module(model)
    config = getattr(module, "config", None)
    if config is not None and model.kind == "huggingface":
        if getattr(config, "is_encoder_decoder", False):
            return "encoder-decoder"
        model_type = str(getattr(config, "model_type", "")).lower()
        name = type(module).__name__
        if (
            getattr(config, "is_decoder", False)
            or "CausalLM" in name
            or "LMHead" in name
            or model_type.startswith(_CAUSAL_TYPES)
        ):
            return "decoder"
        return "encoder"
    causal = [m.causal for m in module.modules() if isinstance(getattr(m, "causal", None), bool)]
    return "decoder" if any(causal) else "encoder"


def max_positions(model: Model) -> int | None:
    """How many tokens the model can take at most (None: no fixed limit, e.g. T5)."""
    config = getattr(model.module, "config", None)
    if config is not None:
        for name in ("max_position_embeddings", "n_positions", "max_positions"):
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                # RoBERTa-like models reserve two positions for the padding offset
                offset = 2 if str(getattr(config, "model_type", "")) in ("roberta", "xlm-roberta") else 0
                return value - offset
        return None
    positions = getattr(model.module, "position_embeddings", None)
    if isinstance(positions, torch.nn.Embedding):
        return int(positions.num_embeddings)
    return None


def _special_ids(tokenizer: Any) -> set[int]:
    ids = getattr(tokenizer, "all_special_ids", None) or []
    return {int(i) for i in ids}


def _ids_of(tokenizer: Any, text: str, text_b: str | None) -> tuple[list[int], list[int] | None]:
    """(input ids, segment ids or None) of a text or pair, special tokens included, untruncated."""
    if text_b is None:
        encoded = tokenizer(text, truncation=False)
        return list(encoded["input_ids"]), None
    encoded = None
    if _takes_pairs(tokenizer):
        encoded = tokenizer(text, text_pair=text_b, truncation=False)
    if encoded is not None and "input_ids" in encoded:
        ids = list(encoded["input_ids"])
        types = encoded.get("token_type_ids")
        if types is not None and any(types):
            return ids, [int(t) for t in types]
        sequence_ids = getattr(encoded, "sequence_ids", None)
        if callable(sequence_ids):
            marks = sequence_ids()
            segments, current = [], 0
            for mark in cast(Sequence[int | None], marks):
                current = mark if mark is not None else current
                segments.append(int(current))
            return ids, segments
        return ids, _segments_after_first_separator(tokenizer, ids)
    # tokenizers without pairs (deepscope's WordTokenizer): A's tokens, then B's without [CLS]
    first = list(tokenizer(text)["input_ids"])
    cls = getattr(tokenizer, "cls_token_id", None)
    second = [i for i in tokenizer(text_b)["input_ids"] if i != cls]
    return first + second, [0] * len(first) + [1] * len(second)


def _takes_pairs(tokenizer: Any) -> bool:
    """Whether the tokenizer encodes sentence pairs itself (Hugging Face's ``text_pair``)."""
    try:
        return "text_pair" in inspect.signature(tokenizer.__call__).parameters
    except (TypeError, ValueError):
        return False


def _segments_after_first_separator(tokenizer: Any, ids: list[int]) -> list[int]:
    sep = getattr(tokenizer, "sep_token_id", None)
    if sep is None:
        sep = getattr(tokenizer, "eos_token_id", None)
    segments, current = [], 0
    for i in ids:
        segments.append(current)
        if i == sep:
            current = 1
    return segments


def tokenize(
    model: Model,
    text: str,
    text_b: str | None = None,
    *,
    truncate: bool = True,
    argument: str = "text",
    limit: int | None = None,
) -> Encoded:
    """Tokenize ``text`` (and ``text_b``) for ``model``, cut to its position limit.

    Longer inputs are truncated with a warning naming the limit, or refused with
    ``truncate=False``.
    """
    check_text(text, argument)
    if text_b is not None:
        check_text(text_b, "text_b")
    tokenizer = model.tokenizer
    ids, segments = _ids_of(tokenizer, text, text_b)
    if not ids:
        raise InvalidArgumentError(argument, "a text with at least one token", repr(text))
    limit = max_positions(model) if limit is None else limit
    n_tokens = len(ids)
    if limit is not None and n_tokens > limit:
        if not truncate:
            raise InvalidArgumentError(
                argument,
                f"at most {limit} tokens (the model's maximum positions)",
                f"{n_tokens} tokens",
                hint="pass truncate=True to keep the first tokens",
            )
        warnings.warn(
            f"{argument} has {n_tokens} tokens; the model takes at most {limit} "
            f"(its maximum positions), so it was truncated to the first {limit}",
            UserWarning,
            stacklevel=3,
        )
        specials = _special_ids(tokenizer)
        tail = ids[-1] if ids[-1] in specials else None
        ids = ids[: limit - 1] + [tail] if tail is not None else ids[:limit]
        if segments is not None:
            segments = segments[: limit - 1] + [segments[-1]] if tail is not None else segments[:limit]
    specials = _special_ids(tokenizer)
    tokens = [str(t) for t in tokenizer.convert_ids_to_tokens(ids)]
    input_ids = torch.tensor([ids], dtype=torch.long)
    types = None
    if segments is not None and model.kind == "huggingface":
        config = getattr(model.module, "config", None)
        if (getattr(config, "type_vocab_size", 0) or 0) > 1:
            types = torch.tensor([segments], dtype=torch.long)
    return Encoded(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        token_type_ids=types,
        tokens=tokens,
        segments=np.asarray(segments if segments is not None else [0] * len(ids), dtype=np.int8),
        special=np.asarray([i in specials for i in ids], dtype=bool),
        n_tokens=n_tokens,
    )


def decoder_inputs(model: Model, target: str | None, *, truncate: bool = True) -> Encoded:
    """The decoder's input: its start token, then the tokens of ``target`` (when given)."""
    config = getattr(torch_module(model), "config", None)
    start = getattr(config, "decoder_start_token_id", None)
    if start is None:
        start = getattr(config, "pad_token_id", None) or 0
    ids, n_tokens = [int(start)], 1
    if target is not None:
        encoded = tokenize(model, target, truncate=truncate, argument="target")
        ids += encoded.input_ids[0].tolist()
        n_tokens += encoded.n_tokens
    specials = _special_ids(model.tokenizer) | {int(start)}
    input_ids = torch.tensor([ids], dtype=torch.long)
    return Encoded(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        token_type_ids=None,
        tokens=[str(t) for t in model.tokenizer.convert_ids_to_tokens(ids)],
        segments=np.zeros(len(ids), dtype=np.int8),
        special=np.asarray([i in specials for i in ids], dtype=bool),
        n_tokens=n_tokens,
    )


def _use_eager_attention(module: torch.nn.Module) -> None:
    """Hugging Face's fused (sdpa, flash) attention returns no maps; switch to eager once."""
    config = getattr(module, "config", None)
    current = getattr(config, "_attn_implementation", None)
    if current in (None, "eager"):
        return
    setter = getattr(module, "set_attn_implementation", None)
    if callable(setter):
        setter("eager")
        log.info("switched %s to eager attention to read its attention maps", type(module).__name__)


def _takes_output_attentions(module: torch.nn.Module) -> bool:
    try:
        parameters = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return False
    return "output_attentions" in parameters


def _stack(maps: Sequence[torch.Tensor] | None, argument: str) -> np.ndarray:
    """[layers, heads, Q, K] float32 of one example's attention maps."""
    if not maps or any(m is None for m in maps):
        raise UnsupportedModelError(argument, "a model that returns attention maps", "a model that returned none")
    return torch.stack([m[0] for m in maps]).detach().float().cpu().numpy()


def attention_maps(model: Model, encoded: Encoded, decoder: Encoded | None = None) -> dict[str, np.ndarray]:
    """The model's attention maps for one example: ``{"self": ...}`` for encoders and decoders,
    ``{"encoder", "decoder", "cross"}`` for encoder-decoders; each ``[layers, heads, Q, K]``."""
    module = torch_module(model)
    inputs: dict[str, torch.Tensor] = {
        "input_ids": encoded.input_ids.to(model.device),
        "attention_mask": encoded.attention_mask.to(model.device),
    }
    if encoded.token_type_ids is not None:
        inputs["token_type_ids"] = encoded.token_type_ids.to(model.device)
    if decoder is not None:
        inputs["decoder_input_ids"] = decoder.input_ids.to(model.device)
        inputs["decoder_attention_mask"] = decoder.attention_mask.to(model.device)
    with model.eval_mode(), torch.no_grad():
        if model.kind == "huggingface":
            _use_eager_attention(module)
            out = module(**inputs, output_attentions=True, return_dict=True)
            if decoder is not None:
                return {
                    "encoder": _stack(out.encoder_attentions, "model"),
                    "decoder": _stack(out.decoder_attentions, "model"),
                    "cross": _stack(out.cross_attentions, "model"),
                }
            return {"self": _stack(out.attentions, "model")}
        if _takes_output_attentions(module):
            out = module(**inputs, output_attentions=True, return_dict=True)
            maps = getattr(out, "attentions", None)
            if maps:
                return {"self": _stack(maps, "model")}
        return {"self": _hooked_maps(model, inputs)}


def _hooked_maps(model: Model, inputs: dict[str, torch.Tensor]) -> np.ndarray:
    """Attention maps read by hooks on the modules named ``attention_probs``."""
    module = torch_module(model)
    names = [name for name, _ in module.named_modules() if name.rsplit(".", 1)[-1] == "attention_probs"]
    if not names:
        raise UnsupportedModelError(
            "model",
            "a transformer (Hugging Face output_attentions, or sub-modules named attention_probs)",
            type(model.module).__name__,
            hint="this model has no attention layers deepscope can read",
        )
    with model.capture(names) as captured:
        module(**inputs)
    return _stack([captured.activations[name] for name in names], "model")
