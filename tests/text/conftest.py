"""Models for the attention tests: the real MiniLM, tiny GPT-2 / BART / T5 built from configs
(random weights, MiniLM's tokenizer), and the zoo's transformers."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from deepscope import zoo
from deepscope.model import Model

transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="session")
def minilm() -> Model:
    return zoo.minilm()


@pytest.fixture(scope="session")
def bert_tokenizer(minilm: Model) -> Any:
    return minilm.tokenizer


def _built(module: torch.nn.Module, tokenizer: Any, name: str) -> Model:
    torch.manual_seed(0)
    module.eval()
    return Model(module, tokenizer=tokenizer, name=name)


@pytest.fixture(scope="session")
def gpt2(bert_tokenizer: Any) -> Model:
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=bert_tokenizer.vocab_size,
        n_positions=64,
        n_embd=16,
        n_layer=2,
        n_head=2,
        attn_implementation="eager",
    )
    return _built(transformers.GPT2LMHeadModel(config), bert_tokenizer, "gpt2-tiny")


@pytest.fixture(scope="session")
def bart(bert_tokenizer: Any) -> Model:
    torch.manual_seed(0)
    config = transformers.BartConfig(
        vocab_size=bert_tokenizer.vocab_size,
        d_model=16,
        encoder_layers=2,
        decoder_layers=3,
        encoder_attention_heads=2,
        decoder_attention_heads=4,
        encoder_ffn_dim=32,
        decoder_ffn_dim=32,
        max_position_embeddings=64,
        attn_implementation="eager",
    )
    return _built(transformers.BartModel(config), bert_tokenizer, "bart-tiny")


@pytest.fixture(scope="session")
def t5(bert_tokenizer: Any) -> Model:
    torch.manual_seed(0)
    config = transformers.T5Config(
        vocab_size=bert_tokenizer.vocab_size,
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        decoder_start_token_id=0,
        attn_implementation="eager",
    )
    return _built(transformers.T5Model(config), bert_tokenizer, "t5-tiny")


@pytest.fixture(scope="session")
def reviews_transformer() -> Model:
    return zoo.get("reviews_transformer")


@pytest.fixture(scope="session")
def reviews_lm() -> Model:
    return zoo.get("reviews_lm")
