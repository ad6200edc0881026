"""The tuned lens (Belrose et al. 2023): one affine translator per layer, trained so that reading
the layer through it matches the model's final next-token distribution (KL divergence).

The translator of layer ``l`` maps a residual state ``h`` to ``h + W_l h + b_l`` (starting at the
identity, i.e. the logit lens); the last layer needs none. The model itself is never changed.

>>> from deepscope import zoo, text
>>> tuned = text.fit_tuned_lens(zoo.get("reviews_lm"), ["the movie was good ."], steps=20)  # doctest: +SKIP
>>> tuned.to_safetensors("lens.safetensors")  # doctest: +SKIP
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from deepscope.errors import InvalidArgumentError
from deepscope.progress import progress_bar
from deepscope.result import Result
from deepscope.text._lm import (
    LMParts,
    as_text_model,
    check_texts,
    encode_prompt,
    kl_to_last,
    lm_parts,
    run_with_hidden,
)
from deepscope.validation import check_int, check_number

__all__ = ["TunedLens", "fit_tuned_lens"]

_METADATA_KEY = "deepscope_tuned_lens"


@dataclass(frozen=True)
class TunedLens(Result):
    """Affine translators for every layer but the last of one causal LM.

    weights ``[L-1, D, D]`` and biases ``[L-1, D]``: translator ``l`` is ``h + h @ W_l.T + b_l``
    (``L`` = blocks + 1 layers, the embedding output first). kl_before / kl_after: the mean KL
    (nats) to the final distribution per translated layer on the fitting text, before (the logit
    lens) and after fitting.
    """

    model_name: str
    weights: np.ndarray
    biases: np.ndarray
    kl_before: np.ndarray
    kl_after: np.ndarray
    steps: int
    seed: int
    n_tokens: int

    default_tag: ClassVar[str] = "text/tuned_lens"
    figure_function: ClassVar[str] = "deepscope.viz.text_lm:tuned_lens_figure"

    @property
    def n_translators(self) -> int:
        return int(self.weights.shape[0])

    @property
    def hidden_size(self) -> int:
        return int(self.weights.shape[-1])

    def check_fits(self, parts: LMParts) -> None:
        """A typed error unless this lens has one translator per block of ``parts``' model."""
        expected = (len(parts.blocks), parts.hidden_size)
        if (self.n_translators, self.hidden_size) != expected:
            raise InvalidArgumentError(
                "lens",
                f"a tuned lens for {expected[0]} blocks of width {expected[1]}",
                f"one for {self.n_translators} blocks of width {self.hidden_size} (fitted to {self.model_name!r})",
            )

    def translate(self, layer: int, hidden: torch.Tensor) -> torch.Tensor:
        """States ``[..., D]`` of ``layer`` mapped by its translator."""
        weight = torch.as_tensor(self.weights[layer], dtype=hidden.dtype, device=hidden.device)
        bias = torch.as_tensor(self.biases[layer], dtype=hidden.dtype, device=hidden.device)
        return hidden + hidden @ weight.T + bias

    def to_frame(self) -> pd.DataFrame:
        """Per translated layer: the mean KL to the final distribution before and after fitting."""
        return pd.DataFrame(
            {
                "layer": np.arange(self.n_translators),
                "kl_logit_lens": self.kl_before,
                "kl_tuned_lens": self.kl_after,
            }
        )

    def to_safetensors(self, path: str | Path) -> Path:
        """Write the translators to a ``.safetensors`` file (read back with ``from_safetensors``)."""
        path = Path(path)
        tensors = {
            "weights": torch.from_numpy(np.ascontiguousarray(self.weights, dtype=np.float32)),
            "biases": torch.from_numpy(np.ascontiguousarray(self.biases, dtype=np.float32)),
            "kl_before": torch.from_numpy(np.ascontiguousarray(self.kl_before, dtype=np.float32)),
            "kl_after": torch.from_numpy(np.ascontiguousarray(self.kl_after, dtype=np.float32)),
        }
        about = {
            "model_name": self.model_name,
            "steps": self.steps,
            "seed": self.seed,
            "n_tokens": self.n_tokens,
        }
        save_file(tensors, str(path), metadata={_METADATA_KEY: json.dumps(about)})
        return path

    @classmethod
    def from_safetensors(cls, path: str | Path) -> TunedLens:
        """The tuned lens written by ``to_safetensors``."""
        path = Path(path)
        if not path.is_file():
            raise InvalidArgumentError("path", "an existing .safetensors file", str(path))
        with safe_open(str(path), framework="np") as handle:
            metadata = handle.metadata() or {}
            if _METADATA_KEY not in metadata:
                raise InvalidArgumentError("path", "a tuned lens written by TunedLens.to_safetensors", str(path))
            about = json.loads(metadata[_METADATA_KEY])
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        return cls(
            model_name=str(about["model_name"]),
            weights=arrays["weights"],
            biases=arrays["biases"],
            kl_before=arrays["kl_before"],
            kl_after=arrays["kl_after"],
            steps=int(about["steps"]),
            seed=int(about["seed"]),
            n_tokens=int(about["n_tokens"]),
        )


def collect_states(parts: LMParts, texts: list[str]) -> tuple[list[torch.Tensor], torch.Tensor]:
    """Every layer's states over all tokens of ``texts`` (``L`` tensors ``[tokens, D]``) and the
    final log-probabilities ``[tokens, V]``."""
    model = parts.model
    layers: list[list[torch.Tensor]] = [[] for _ in range(len(parts.blocks) + 1)]
    finals = []
    with model.eval_mode(), torch.no_grad():
        for index, text in enumerate(texts):
            ids = encode_prompt(model, text, f"texts[{index}]")
            hidden, logits = run_with_hidden(parts, ids[None])
            for layer, states in enumerate(hidden):
                layers[layer].append(states[0].float())
            finals.append(logits[0].float().log_softmax(dim=-1))
    return [torch.cat(states) for states in layers], torch.cat(finals)


def fit_tuned_lens(
    model: Any,
    texts: list[str],
    *,
    steps: int = 250,
    lr: float = 1e-2,
    batch_tokens: int = 512,
    seed: int = 0,
    progress: bool | None = True,
) -> TunedLens:
    """Fit one affine translator per layer (all but the last) of a causal LM on ``texts``.

    Each step samples ``batch_tokens`` token positions (seeded) and lowers, for every layer, the
    KL divergence from the model's final distribution to the layer's translated one (Adam,
    ``lr``). The model's weights are left untouched.
    """
    model = as_text_model(model, "fit_tuned_lens")
    parts = lm_parts(model)
    texts = check_texts(texts)
    steps = check_int(steps, "steps", low=1)
    batch_tokens = check_int(batch_tokens, "batch_tokens", low=1)
    seed = check_int(seed, "seed", low=0)
    lr = check_number(lr, "lr", low=0, closed="neither")
    states, final = collect_states(parts, texts)
    n_tokens, width = states[0].shape
    n_translators = len(parts.blocks)
    norm = copy.deepcopy(parts.final_norm)
    unembed = copy.deepcopy(parts.unembed)
    for frozen in (norm, unembed):
        if frozen is not None:
            frozen.float().requires_grad_(False)

    def read(hidden: torch.Tensor) -> torch.Tensor:
        return unembed(norm(hidden) if norm is not None else hidden).log_softmax(dim=-1)

    def layer_kl(weight: torch.Tensor, bias: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Mean KL per translated layer on ``rows``: ``[n_translators]``."""
        target = final[rows]
        kls = []
        for layer in range(n_translators):
            h = states[layer][rows]
            log_q = read(h + h @ weight[layer].T + bias[layer])
            kls.append(kl_to_last(torch.stack([log_q, target])).mean(dim=-1)[0])
        return torch.stack(kls)

    device = states[0].device
    weight = torch.zeros(n_translators, width, width, device=device, requires_grad=True)
    bias = torch.zeros(n_translators, width, device=device, requires_grad=True)
    everything = torch.arange(n_tokens, device=device)
    with torch.no_grad():
        before = layer_kl(weight, bias, everything)
    optimizer = torch.optim.Adam([weight, bias], lr=float(lr))
    generator = torch.Generator().manual_seed(seed)
    bar = progress_bar(steps, progress, "tuned lens")
    for _ in range(steps):
        bar.update(1)
        rows = torch.randint(n_tokens, (min(batch_tokens, n_tokens),), generator=generator)
        loss = layer_kl(weight, bias, rows.to(device)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    bar.close()
    with torch.no_grad():
        after = layer_kl(weight, bias, everything)
    return TunedLens(
        model_name=model.name,
        weights=weight.detach().cpu().numpy().astype(np.float32),
        biases=bias.detach().cpu().numpy().astype(np.float32),
        kl_before=before.cpu().numpy().astype(np.float32),
        kl_after=after.cpu().numpy().astype(np.float32),
        steps=steps,
        seed=seed,
        n_tokens=int(n_tokens),
    )
