"""Deletion and insertion curves for token attributions (text), as ``deepscope.explain`` scores
image and table maps, so rollout and gradient maps of a text get the same faithfulness scores.

Tokens are ranked by decreasing score; deletion replaces the top ones with a blank token
(``[MASK]``, else padding, else unknown) and watches the target's probability fall; insertion
starts from all blanks and puts the top tokens back. Special tokens ([CLS], [SEP]) stay.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, UnsupportedModelError
from deepscope.explain.attribution import Attribution
from deepscope.explain.faithfulness import Faithfulness
from deepscope.text._transformers import as_text_model

__all__ = ["token_deletion_insertion"]


def _blank_id(tokenizer: Any) -> int:
    for name in ("mask_token_id", "pad_token_id", "unk_token_id"):
        value = getattr(tokenizer, name, None)
        if isinstance(value, int):
            return value
    raise UnsupportedModelError("model", "a tokenizer with a mask, padding or unknown token", type(tokenizer).__name__)


def token_deletion_insertion(model: Any, attribution: Attribution, *, output: str = "probability") -> Faithfulness:
    """Deletion / insertion curves of a one-text token attribution, one step per token.

    ``attribution``: kind ``text`` with its token ids in ``inputs`` (every ``deepscope.explain``
    text method and ``attention_rollout`` give them). Areas: deletion lower is better,
    insertion higher is better.
    """
    model = as_text_model(model)
    if not isinstance(attribution, Attribution):
        raise ArgumentTypeError("attribution", "an Attribution", attribution)
    if attribution.kind != "text" or attribution.inputs is None:
        raise InvalidArgumentError("attribution", "a text attribution with its token ids", f"a {attribution.kind} one")
    if output not in ("probability", "raw"):
        raise InvalidArgumentError("output", "'probability' or 'raw'", output)
    curves: dict[str, list[np.ndarray]] = {"deletion": [], "insertion": []}
    specials = {int(i) for i in (getattr(model.tokenizer, "all_special_ids", None) or [])}
    blank = _blank_id(model.tokenizer)
    n_units = 0
    for row in range(len(attribution)):
        ids = np.asarray(attribution.inputs[row], dtype=np.int64)
        length = len(attribution.tokens[row]) if attribution.tokens else len(ids)
        ids = ids[:length]
        scores = np.asarray(attribution.values[row][:length], dtype=np.float64)
        movable = np.asarray([i not in specials for i in ids.tolist()])
        order = [i for i in np.argsort(-scores, kind="stable") if movable[i]]
        n_units = len(order)
        variants = {"deletion": [], "insertion": []}
        for count in range(n_units + 1):
            top = np.zeros(length, dtype=bool)
            top[order[:count]] = True
            variants["deletion"].append(np.where(top, blank, ids))
            variants["insertion"].append(np.where(top | ~movable, ids, blank))
        target = int(attribution.target[row])
        for curve, rows in variants.items():
            batch = torch.as_tensor(np.stack(rows), device=model.device)
            with model.eval_mode(), torch.no_grad():
                out = model.forward({"input_ids": batch, "attention_mask": torch.ones_like(batch)})
            if out.ndim != 2:
                raise UnsupportedModelError(
                    "model",
                    "a classifier (outputs [N, classes]) to score faithfulness",
                    str(tuple(out.shape)),
                )
            if output == "probability":
                out = out.softmax(dim=1)
            curves[curve].append(out[:, target].double().cpu().numpy())
    if len(attribution) > 1 and len({len(c) for c in curves["deletion"]}) > 1:
        raise InvalidArgumentError(
            "attribution",
            "one text (or texts with equally many tokens)",
            f"{len(attribution)} texts",
        )
    fractions = np.linspace(0.0, 1.0, n_units + 1)
    deletion = np.stack(curves["deletion"])
    insertion = np.stack(curves["insertion"])
    # numpy < 2 (still supported) has only trapz, which numpy 2's stubs no longer declare
    trapezoid = getattr(np, "trapezoid", None) or np.trapz  # pyright: ignore[reportAttributeAccessIssue]
    return Faithfulness(
        method=attribution.method,
        fractions=fractions,
        deletion=deletion,
        insertion=insertion,
        deletion_area=trapezoid(deletion, fractions, axis=1),
        insertion_area=trapezoid(insertion, fractions, axis=1),
        output=output,
    )
