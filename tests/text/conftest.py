"""Models for the text tests: the real MiniLM, tiny GPT-2 / BART / T5 built from configs (random
weights), and the zoo's ``reviews_transformer``, ``reviews_lm`` and ``reviews_gru``; nothing is
downloaded."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from deepscope import zoo
from deepscope.model import Model
from deepscope.zoo.tokenizer import WordTokenizer

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


WORDS = [f"w{i}" for i in range(60)]


def gpt2_model(layers: int = 3, seed: int = 0) -> Model:
    """A randomly initialised GPT-2 (64-token vocabulary, width 32) with a word tokenizer."""
    transformers = pytest.importorskip("transformers")
    tokenizer = WordTokenizer([*WordTokenizer.SPECIAL_TOKENS, *WORDS], model_max_length=32)
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=32,
        n_embd=32,
        n_layer=layers,
        n_head=2,
        bos_token_id=2,
        eos_token_id=3,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    module = transformers.GPT2LMHeadModel(config).eval()
    return Model(module, tokenizer, name="tiny-gpt2")


@pytest.fixture(scope="session")
def tiny_gpt2() -> Model:
    return gpt2_model()


@pytest.fixture(scope="session")
def reviews_lm() -> Model:
    return zoo.get("reviews_lm")


@pytest.fixture(scope="session")
def reviews_gru() -> Model:
    return zoo.get("reviews_gru")


@pytest.fixture(scope="session")
def review_texts() -> list[str]:
    from deepscope.datasets import reviews

    return list(reviews(120, seed=1).texts)


def gpt2_from_reviews_lm(model: Model) -> Any:
    """``reviews_lm``'s weights in a Hugging Face GPT2LMHeadModel (the same function)."""
    transformers = pytest.importorskip("transformers")
    lm = model.module
    hidden = lm.embeddings.embedding_dim
    config = transformers.GPT2Config(
        vocab_size=lm.embeddings.num_embeddings,
        n_positions=lm.position_embeddings.num_embeddings,
        n_embd=hidden,
        n_layer=len(lm.layers),
        n_head=lm.layers[0].attention.heads,
        n_inner=lm.layers[0].mlp[0].out_features,
        activation_function="gelu",
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=False,
        bos_token_id=2,
        eos_token_id=3,
        pad_token_id=0,
    )
    gpt2 = transformers.GPT2LMHeadModel(config).eval()
    state = {
        "transformer.wte.weight": lm.embeddings.weight,
        "transformer.wpe.weight": lm.position_embeddings.weight,
        "transformer.ln_f.weight": lm.norm.weight,
        "transformer.ln_f.bias": lm.norm.bias,
        "lm_head.weight": lm.lm_head.weight,
    }
    for i, block in enumerate(lm.layers):
        attention = block.attention
        prefix = f"transformer.h.{i}."
        state |= {
            prefix + "ln_1.weight": block.norm1.weight,
            prefix + "ln_1.bias": block.norm1.bias,
            prefix + "ln_2.weight": block.norm2.weight,
            prefix + "ln_2.bias": block.norm2.bias,
            # GPT-2's Conv1D computes x @ W + b: the transpose of nn.Linear's weight
            prefix + "attn.c_attn.weight": torch.cat(
                [attention.query.weight.T, attention.key.weight.T, attention.value.weight.T], dim=1
            ),
            prefix + "attn.c_attn.bias": torch.cat([attention.query.bias, attention.key.bias, attention.value.bias]),
            prefix + "attn.c_proj.weight": attention.output.weight.T,
            prefix + "attn.c_proj.bias": attention.output.bias,
            prefix + "mlp.c_fc.weight": block.mlp[0].weight.T,
            prefix + "mlp.c_fc.bias": block.mlp[0].bias,
            prefix + "mlp.c_proj.weight": block.mlp[2].weight.T,
            prefix + "mlp.c_proj.bias": block.mlp[2].bias,
        }
    missing, unexpected = gpt2.load_state_dict({k: v.detach().clone() for k, v in state.items()}, strict=False)
    assert not unexpected and all(".attn.bias" in k or "masked_bias" in k for k in missing)
    return gpt2


@pytest.fixture(scope="session")
def bpe_gpt2() -> Model:
    """A random GPT-2 with a byte-level BPE tokenizer trained here on the reviews (a real Hugging
    Face fast tokenizer: 'Ġ'-marked tokens, no start token)."""
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    from deepscope.datasets import reviews

    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        list(reviews(300, seed=0).texts),
        vocab_size=1000,
        min_frequency=2,
        special_tokens=["<|endoftext|>"],
        show_progress=False,
    )
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>"
    )
    config = transformers.GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=64,
        n_embd=32,
        n_layer=2,
        n_head=2,
        bos_token_id=0,
        eos_token_id=0,
    )
    torch.manual_seed(1)
    return Model(transformers.GPT2LMHeadModel(config).eval(), tokenizer, name="bpe-gpt2")
