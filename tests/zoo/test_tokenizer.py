"""WordTokenizer: deterministic vocabulary, Hugging Face calling convention, JSON round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepscope.errors import InvalidArgumentError
from deepscope.zoo import WordTokenizer

TEXTS = ["The film wasn't bad.", "The plot was great!", "I can't say the film was dull."]


@pytest.fixture
def tok() -> WordTokenizer:
    return WordTokenizer.from_texts(TEXTS)


def test_vocabulary_is_special_tokens_then_words_by_frequency(tok: WordTokenizer) -> None:
    assert tok.convert_ids_to_tokens([0, 1, 2, 3]) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
    assert tok.pad_token_id == 0 and tok.unk_token_id == 1
    assert tok.convert_ids_to_tokens(4) == "the"  # the most frequent word (3 times)
    assert WordTokenizer.from_texts(list(reversed(TEXTS))).vocab == tok.vocab
    assert len(tok) == tok.vocab_size == len(tok.vocab)


def test_lowercase_words_keep_contractions_whole(tok: WordTokenizer) -> None:
    assert tok.tokenize("I CAN'T say it wasn't great.") == [
        "i",
        "can't",
        "say",
        "it",
        "wasn't",
        "great",
        ".",
    ]


def test_call_pads_to_the_longest_and_masks_padding(tok: WordTokenizer) -> None:
    batch = tok(["the film", "the plot was great"], padding=True, return_tensors="pt")
    assert batch["input_ids"].dtype == torch.long and batch["input_ids"].shape == (2, 4)
    assert batch["attention_mask"].tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert batch["input_ids"][0, 2:].tolist() == [0, 0]
    assert tok.convert_ids_to_tokens(batch["input_ids"][1]) == ["the", "plot", "was", "great"]


def test_unknown_words_become_unk(tok: WordTokenizer) -> None:
    assert tok("zebra film")["input_ids"] == [tok.unk_token_id, tok.vocab["film"]]


def test_truncation_padding_to_max_length_and_numpy(tok: WordTokenizer) -> None:
    batch = tok(["the film was great and the plot"], truncation=True, max_length=3, return_tensors="np")
    assert batch["input_ids"].shape == (1, 3) and isinstance(batch["input_ids"], np.ndarray)
    padded = tok(["film"], padding="max_length", max_length=5)
    assert padded["input_ids"][0] == [tok.vocab["film"], 0, 0, 0, 0]


def test_cls_and_sep_are_added_when_configured() -> None:
    tok = WordTokenizer.from_texts(TEXTS, add_cls=True, add_sep=True)
    ids = tok("the film")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id and len(ids) == 4
    # truncation keeps both special tokens
    assert tok("the film was great", truncation=True, max_length=3)["input_ids"] == [
        2,
        tok.vocab["the"],
        3,
    ]
    assert tok.decode(ids) == "the film"


def test_json_round_trip(tok: WordTokenizer, tmp_path) -> None:
    path = tok.save(tmp_path / "tokenizer.json")
    again = WordTokenizer.load(path)
    assert again == tok
    assert again(TEXTS, padding=True)["input_ids"] == tok(TEXTS, padding=True)["input_ids"]


def test_ragged_tensors_need_padding(tok: WordTokenizer) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        tok(["the film", "the plot was great"], return_tensors="pt")
    assert caught.value.argument == "padding"


def test_vocab_must_start_with_special_tokens() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        WordTokenizer(["hello", "world"])
    assert caught.value.argument == "vocab"
