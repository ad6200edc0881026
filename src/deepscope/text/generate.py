"""Generation with per-token attributions (Ecco's "primary attributions").

``generate(model, prompt)`` decodes greedily (``temperature=0``, the same tokens as Hugging Face
``generate(do_sample=False)``) or samples with a seed, and for every generated token attributes
its logit to each earlier token (prompt and previously generated) with a gradient method of
``deepscope.explain``, taken at the token embeddings. With integrated gradients each row sums to
the logit minus its value at the zero-embedding baseline, up to the reported convergence delta.

>>> from deepscope import zoo, text
>>> gen = text.generate(zoo.get("reviews_lm"), "the movie was", max_new_tokens=3)  # doctest: +SKIP
>>> gen.attributions.shape  # doctest: +SKIP
(3, 7)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn

from deepscope import explain
from deepscope.errors import InvalidArgumentError
from deepscope.model import Model
from deepscope.progress import progress_bar
from deepscope.result import Result
from deepscope.text._lm import as_text_model, encode_prompt, lm_parts, model_logits, token_strings
from deepscope.validation import check_int, check_number

__all__ = ["Generation", "generate", "ATTRIBUTION_METHODS"]

#: gradient methods of ``deepscope.explain`` a generation can be attributed with
ATTRIBUTION_METHODS = ("integrated_gradients", "gradient_x_input", "saliency")


@dataclass(frozen=True)
class Generation(Result):
    """A prompt, the tokens generated after it, and what each generated token depended on.

    tokens / token_ids: the whole sequence ``[T]`` (prompt first, ``n_prompt`` tokens).
    attributions ``[G, T]``: row ``g`` scores every token before generated token ``g`` (the
    prompt and the ``g`` tokens generated before it) for that token's logit; later positions are
    NaN. deltas ``[G]``: integrated gradients' convergence delta per row (NaN for other methods).
    logits / probabilities ``[G]``: each generated token's logit and probability when chosen.
    """

    model_name: str
    prompt: str
    tokens: list[str]
    token_ids: np.ndarray
    n_prompt: int
    attributions: np.ndarray
    deltas: np.ndarray
    logits: np.ndarray
    probabilities: np.ndarray
    method: str | None
    temperature: float
    seed: int
    options: dict[str, Any]

    default_tag: ClassVar[str] = "text/generation"
    figure_function: ClassVar[str] = "deepscope.viz.text_lm:generation_figure"

    @property
    def n_generated(self) -> int:
        return len(self.tokens) - self.n_prompt

    @property
    def generated_tokens(self) -> list[str]:
        return self.tokens[self.n_prompt :]

    def to_frame(self) -> pd.DataFrame:
        """One row per (generated token, earlier token): the attribution between them."""
        rows = []
        for step in range(self.attributions.shape[0]):
            position = self.n_prompt + step
            for source in range(position):
                rows.append(
                    {
                        "step": step,
                        "position": position,
                        "token": self.tokens[position],
                        "source_position": source,
                        "source_token": self.tokens[source],
                        "attribution": float(self.attributions[step, source]),
                    }
                )
        columns = ["step", "position", "token", "source_position", "source_token", "attribution"]
        return pd.DataFrame(rows, columns=columns)


class _LastTokenLogits(nn.Module):
    """Token embeddings ``[N, T, D]`` -> the LM's next-token logits at the last position
    ``[N, V]``: the classifier-shaped view the attribution methods take."""

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        output = self.lm(inputs_embeds=embeds, attention_mask=mask)
        logits = output if isinstance(output, torch.Tensor) else output.logits
        return logits[:, -1]


def _eos_id(model: Model) -> int | None:
    eos = getattr(model.tokenizer, "eos_token_id", None)
    if eos is None:
        eos = getattr(getattr(model.module, "config", None), "eos_token_id", None)
    return int(eos) if isinstance(eos, (int, np.integer)) else None


def _attribute(
    scorer: Model, embeds: torch.Tensor, token: int, method: str, options: dict[str, Any]
) -> tuple[np.ndarray, float]:
    """Scores per position of ``embeds [1, T, D]`` for ``token``'s logit, and IG's delta."""
    found = explain.attribute(scorer, embeds, method=method, target=token, progress=False, **options)
    values = np.asarray(found.values[0], dtype=np.float64)  # [T, D]
    per_token = np.linalg.norm(values, axis=-1) if method == "saliency" else values.sum(axis=-1)
    delta = float(found.delta[0]) if found.delta is not None else float("nan")
    return per_token, delta


def generate(
    model: Any,
    prompt: str,
    *,
    max_new_tokens: int = 20,
    attribution: str | None = "integrated_gradients",
    temperature: float = 0.0,
    seed: int = 0,
    n_steps: int = 32,
    progress: bool | None = None,
) -> Generation:
    """Continue ``prompt`` by up to ``max_new_tokens`` tokens (stopping after an end token),
    attributing each generated token to every token before it.

    ``temperature``: 0 picks the most likely token (greedy); above 0 samples from the softmax of
    logits / temperature with a generator seeded by ``seed``. ``attribution``: one of
    ``ATTRIBUTION_METHODS`` (saliency: the gradient's norm per token; the others: summed over the
    embedding), or None for no attributions. ``n_steps``: integration steps of integrated gradients.
    """
    model = as_text_model(model, "generate")
    lm_parts(model)  # a typed error unless it is a causal LM
    if attribution is not None and attribution not in ATTRIBUTION_METHODS:
        raise InvalidArgumentError("attribution", "one of " + ", ".join(ATTRIBUTION_METHODS) + " or None", attribution)
    max_new_tokens = check_int(max_new_tokens, "max_new_tokens", low=1)
    temperature = check_number(temperature, "temperature", low=0, finite=True, hint="0: greedy")
    seed = check_int(seed, "seed", low=0)
    n_steps = check_int(n_steps, "n_steps", low=2)
    options = {"n_steps": n_steps} if attribution == "integrated_gradients" else {}
    ids = encode_prompt(model, prompt, "prompt")
    n_prompt = len(ids)
    eos = _eos_id(model)
    generator = torch.Generator().manual_seed(seed)
    embedding = model.input_embeddings()
    scorer = Model(_LastTokenLogits(model.module), name=model.name, batch_size=model.batch_size)
    rows, deltas, chosen_logits, chosen_probs = [], [], [], []
    limit = getattr(model.tokenizer, "model_max_length", None)
    with model.eval_mode():
        bar = progress_bar(max_new_tokens, progress, "generate")
        for _ in range(max_new_tokens):
            bar.update(1)
            if isinstance(limit, int) and len(ids) >= limit:
                break
            with torch.no_grad():
                logits = model_logits(model, ids[None])[0, -1].float()
            if temperature == 0:
                token = int(logits.argmax())
            else:
                probs = (logits / temperature).softmax(dim=-1).cpu()
                token = int(torch.multinomial(probs, 1, generator=generator))
            chosen_logits.append(float(logits[token]))
            chosen_probs.append(float(logits.softmax(dim=-1)[token]))
            if attribution is not None:
                with torch.no_grad():
                    embeds = embedding(ids[None]).detach()
                scores, delta = _attribute(scorer, embeds, token, attribution, options)
                rows.append(scores)
                deltas.append(delta)
            ids = torch.cat([ids, torch.tensor([token], dtype=ids.dtype, device=ids.device)])
            if eos is not None and token == eos:
                break
        bar.close()
    n_generated = len(ids) - n_prompt
    matrix = np.full((n_generated, len(ids)), np.nan)
    for step, scores in enumerate(rows):
        matrix[step, : len(scores)] = scores
    return Generation(
        model_name=model.name,
        prompt=prompt,
        tokens=token_strings(model, ids),
        token_ids=ids.cpu().numpy().astype(np.int64),
        n_prompt=n_prompt,
        attributions=matrix,
        deltas=np.asarray(deltas if deltas else [np.nan] * n_generated, dtype=np.float64),
        logits=np.asarray(chosen_logits, dtype=np.float64),
        probabilities=np.asarray(chosen_probs, dtype=np.float64),
        method=attribution,
        temperature=temperature,
        seed=seed,
        options=options,
    )
