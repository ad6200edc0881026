"""A lowercase word-level tokenizer with Hugging Face's calling convention.

>>> tok = WordTokenizer.from_texts(["The film was not bad.", "Great film!"])
>>> batch = tok(["the film was great", "a new word"], padding=True)
>>> batch["input_ids"][1], tok.convert_ids_to_tokens(batch["input_ids"][0])
([1, 1, 1, 0], ['the', 'film', 'was', 'great'])
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from deepscope.errors import ArgumentTypeError, InvalidArgumentError

__all__ = ["WordTokenizer"]

_WORD = re.compile(r"\[(?:PAD|UNK|CLS|SEP)\]|[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]")


class WordTokenizer:
    """Splits lowercase text into words and punctuation ("wasn't" stays one word).

    The first four ids are always ``[PAD]`` = 0, ``[UNK]`` = 1, ``[CLS]`` = 2 and ``[SEP]`` = 3;
    ``add_cls`` / ``add_sep`` say whether ``[CLS]`` starts and ``[SEP]`` ends every encoded text.
    Called like a Hugging Face tokenizer:
    ``tok(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")``
    returns a dict with ``input_ids`` and ``attention_mask`` (padding on the right).
    """

    pad_token, unk_token, cls_token, sep_token = "[PAD]", "[UNK]", "[CLS]", "[SEP]"
    SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")
    padding_side = "right"

    def __init__(
        self,
        vocab: Sequence[str],
        *,
        add_cls: bool = False,
        add_sep: bool = False,
        model_max_length: int = 128,
    ):
        tokens = list(vocab)
        if tuple(tokens[:4]) != self.SPECIAL_TOKENS:
            raise InvalidArgumentError("vocab", f"a token list starting with {list(self.SPECIAL_TOKENS)}", tokens[:4])
        if len(set(tokens)) != len(tokens):
            raise InvalidArgumentError("vocab", "distinct tokens", f"{len(tokens) - len(set(tokens))} duplicates")
        self._tokens = tokens
        self.vocab: dict[str, int] = {t: i for i, t in enumerate(tokens)}
        self.add_cls = bool(add_cls)
        self.add_sep = bool(add_sep)
        self.model_max_length = int(model_max_length)

    @classmethod
    def from_texts(
        cls,
        texts: Iterable[str],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        add_cls: bool = False,
        add_sep: bool = False,
        model_max_length: int = 128,
    ) -> WordTokenizer:
        """Build the vocabulary from ``texts``: words seen ``min_count`` times, most frequent first.

        Ties are broken alphabetically, so the same texts always give the same ids.
        """
        counts = Counter(word for text in texts for word in cls.split(text))
        for special in cls.SPECIAL_TOKENS:
            counts.pop(special.lower(), None)
        words = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: max(0, max_size - len(cls.SPECIAL_TOKENS))]
        return cls(
            list(cls.SPECIAL_TOKENS) + words,
            add_cls=add_cls,
            add_sep=add_sep,
            model_max_length=model_max_length,
        )

    # ids of the special tokens, as Hugging Face names them
    pad_token_id = 0
    unk_token_id = 1
    cls_token_id = 2
    sep_token_id = 3

    @property
    def bos_token_id(self) -> int | None:
        return self.cls_token_id if self.add_cls else None

    @property
    def eos_token_id(self) -> int | None:
        return self.sep_token_id if self.add_sep else None

    @property
    def vocab_size(self) -> int:
        return len(self._tokens)

    def __len__(self) -> int:
        return len(self._tokens)

    @property
    def all_special_tokens(self) -> list[str]:
        return list(self.SPECIAL_TOKENS)

    @property
    def all_special_ids(self) -> list[int]:
        return [0, 1, 2, 3]

    def get_vocab(self) -> dict[str, int]:
        return dict(self.vocab)

    @staticmethod
    def split(text: str) -> list[str]:
        """The words of ``text``, lowercased (special tokens written in the text are kept whole)."""
        if not isinstance(text, str):
            raise ArgumentTypeError("text", "a string", text)
        upper = {s.lower(): s for s in WordTokenizer.SPECIAL_TOKENS}
        words: list[str] = _WORD.findall(text.lower())
        return [upper.get(w, w) for w in words]

    def tokenize(self, text: str) -> list[str]:
        """The words ``text`` splits into (before mapping to ids; no special tokens added)."""
        return self.split(text)

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        if isinstance(tokens, str):
            return self.vocab.get(tokens, self.unk_token_id)
        return [self.vocab.get(t, self.unk_token_id) for t in tokens]

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> str | list[str]:
        """Token strings of ``ids`` (an int gives one string; a list, array or tensor gives a list)."""
        if hasattr(ids, "tolist"):
            ids = ids.tolist()
        if isinstance(ids, int):
            return self._token(ids)
        tokens = [self._token(int(i)) for i in ids]
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.SPECIAL_TOKENS]
        return tokens

    def _token(self, index: int) -> str:
        if not 0 <= index < len(self._tokens):
            raise InvalidArgumentError("ids", f"token ids in [0, {len(self._tokens)})", index)
        return self._tokens[index]

    def encode(self, text: str, add_special_tokens: bool = True, max_length: int | None = None) -> list[int]:
        """Ids of one text, with ``[CLS]``/``[SEP]`` when configured, cut to ``max_length``."""
        ids = [self.vocab.get(w, self.unk_token_id) for w in self.split(text)]
        head = [self.cls_token_id] if add_special_tokens and self.add_cls else []
        tail = [self.sep_token_id] if add_special_tokens and self.add_sep else []
        if max_length is not None:
            ids = ids[: max(0, max_length - len(head) - len(tail))]
        return head + ids + tail

    def decode(self, ids: Any, skip_special_tokens: bool = True) -> str:
        return " ".join(self.convert_ids_to_tokens(ids, skip_special_tokens=skip_special_tokens))

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = True) -> list[str]:
        return [self.decode(ids, skip_special_tokens=skip_special_tokens) for ids in sequences]

    def __call__(
        self,
        text: str | Sequence[str],
        padding: bool | str = False,
        truncation: bool | str = False,
        max_length: int | None = None,
        return_tensors: str | None = None,
        add_special_tokens: bool = True,
        return_attention_mask: bool = True,
        **unused: Any,
    ) -> dict[str, Any]:
        """Encode one text or a batch: a dict with ``input_ids`` and ``attention_mask``.

        ``padding``: False (no padding), True or "longest" (to the longest text), "max_length"
        (to ``max_length``). ``truncation``: cut to ``max_length`` (default ``model_max_length``).
        ``return_tensors``: None (lists), "pt" (torch tensors) or "np" (numpy arrays).
        """
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise ArgumentTypeError("text", "a string or a list of strings", text)
        if padding not in (False, True, "longest", "max_length", "do_not_pad"):
            raise InvalidArgumentError("padding", "False, True, 'longest' or 'max_length'", padding)
        if return_tensors not in (None, "pt", "np"):
            raise InvalidArgumentError("return_tensors", "None, 'pt' or 'np'", return_tensors)
        limit = max_length if max_length is not None else self.model_max_length
        cut = limit if truncation not in (False, "do_not_truncate") else None
        ids = [self.encode(t, add_special_tokens=add_special_tokens, max_length=cut) for t in texts]
        if padding in (True, "longest"):
            width = max((len(x) for x in ids), default=0)
        elif padding == "max_length":
            width = limit
        else:
            width = None
        masks = [[1] * len(x) for x in ids]
        if width is not None:
            masks = [m + [0] * (width - len(m)) for m in masks]
            ids = [x + [self.pad_token_id] * (width - len(x)) for x in ids]
        if return_tensors is not None and len({len(x) for x in ids}) > 1:
            raise InvalidArgumentError(
                "padding",
                "padding=True when returning tensors of texts of different lengths",
                padding,
            )
        out: dict[str, Any] = {"input_ids": ids}
        if return_attention_mask:
            out["attention_mask"] = masks
        if return_tensors == "pt":
            import torch

            out = {k: torch.tensor(v, dtype=torch.long).reshape(len(v), -1) for k, v in out.items()}
        elif return_tensors == "np":
            import numpy as np

            out = {k: np.asarray(v, dtype=np.int64).reshape(len(v), -1) for k, v in out.items()}
        elif single:
            out = {k: v[0] for k, v in out.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "WordTokenizer",
            "vocab": list(self._tokens),
            "add_cls": self.add_cls,
            "add_sep": self.add_sep,
            "model_max_length": self.model_max_length,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WordTokenizer:
        if not isinstance(data, dict) or data.get("type") != "WordTokenizer":
            raise InvalidArgumentError("data", "a WordTokenizer dictionary (from to_dict)", data)
        return cls(
            data["vocab"],
            add_cls=data.get("add_cls", False),
            add_sep=data.get("add_sep", False),
            model_max_length=data.get("model_max_length", 128),
        )

    def save(self, path: str | Path) -> Path:
        """Write the tokenizer as JSON to ``path``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> WordTokenizer:
        """Read a tokenizer written by ``save``."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WordTokenizer) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"WordTokenizer(vocab_size={len(self)}, add_cls={self.add_cls}, add_sep={self.add_sep})"
