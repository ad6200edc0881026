"""The zoo's modules: HF-like text calls, masks that hide padding, causality, named layers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from deepscope.errors import InvalidArgumentError
from deepscope.zoo import (
    CausalLM,
    GRUClassifier,
    SmallCNN,
    TabularEncoder,
    TabularMLP,
    TransformerClassifier,
)

IDS = torch.tensor([[5, 6, 7, 8, 0, 0], [9, 5, 6, 7, 8, 4]])
MASK = (IDS != 0).long()


def _text_models() -> list[torch.nn.Module]:
    torch.manual_seed(0)
    return [
        GRUClassifier(20, 2, hidden=8).eval(),
        TransformerClassifier(20, 2, hidden=8, layers=2, heads=2).eval(),
        CausalLM(20, hidden=8, layers=2, heads=2).eval(),
    ]


@pytest.mark.parametrize("model", _text_models(), ids=lambda m: type(m).__name__)
def test_inputs_embeds_give_the_same_logits_as_input_ids(model: torch.nn.Module) -> None:
    embeds = model.get_input_embeddings()(IDS)
    by_ids = model(input_ids=IDS, attention_mask=MASK)
    by_embeds = model(inputs_embeds=embeds, attention_mask=MASK)
    assert torch.allclose(by_ids, by_embeds)


@pytest.mark.parametrize("model", _text_models()[:2], ids=lambda m: type(m).__name__)
def test_padding_does_not_change_a_classifiers_logits(model: torch.nn.Module) -> None:
    short = model(input_ids=IDS[:1, :4])
    padded = model(input_ids=IDS[:1], attention_mask=MASK[:1])
    assert torch.allclose(short, padded, atol=1e-6)
    assert short.shape == (1, 2)


def test_gradients_reach_the_embeddings() -> None:
    model = _text_models()[1]
    embeds = model.get_input_embeddings()(IDS).detach().requires_grad_(True)
    model(inputs_embeds=embeds, attention_mask=MASK)[:, 1].sum().backward()
    assert embeds.grad is not None and embeds.grad[0, :4].abs().sum() > 0
    assert embeds.grad[0, 4:].abs().sum() == 0  # padding is masked out


def test_language_model_is_causal() -> None:
    model = _text_models()[2]
    logits = model(input_ids=IDS)
    assert logits.shape == (2, 6, 20)
    changed = IDS.clone()
    changed[:, 4] = 3
    again = model(input_ids=changed)
    assert torch.allclose(logits[:, :4], again[:, :4], atol=1e-6)
    assert not torch.allclose(logits[:, 4:], again[:, 4:])
    assert model.get_output_embeddings().out_features == 20


def test_attention_probabilities_can_be_hooked_and_returned() -> None:
    model = _text_models()[1]
    seen = {}
    layer = model.layers[0].attention.attention_probs
    handle = layer.register_forward_hook(lambda m, a, out: seen.update(probs=out))
    try:
        output = model(input_ids=IDS, attention_mask=MASK, output_attentions=True, output_hidden_states=True)
    finally:
        handle.remove()
    assert seen["probs"].shape == (2, 2, 6, 6)
    assert torch.allclose(seen["probs"].sum(-1), torch.ones(2, 2, 6))
    assert torch.equal(output.attentions[0], seen["probs"])
    assert seen["probs"][0, :, :4, 4:].abs().max() == 0  # real tokens never attend to padding
    assert len(output.hidden_states) == 3 and output.logits.shape == (2, 2)


def test_exactly_one_kind_of_input() -> None:
    model = _text_models()[0]
    with pytest.raises(InvalidArgumentError):
        model()
    with pytest.raises(InvalidArgumentError):
        model(input_ids=IDS, inputs_embeds=model.get_input_embeddings()(IDS))


def test_cnn_layers_are_named_and_keep_a_spatial_map() -> None:
    net = SmallCNN(3, 6, width=4, image_size=32, stride=2, head="max", normalize=True)
    names = [name for name, _ in net.named_children()]
    assert names[:5] == ["conv1", "relu1", "conv2", "relu2", "pool2"]
    seen = {}
    net.conv3.register_forward_hook(lambda m, a, out: seen.update(out=out))
    assert net(torch.rand(2, 3, 32, 32)).shape == (2, 6)
    assert seen["out"].shape == (2, 8, 8, 8)
    flat = SmallCNN(1, 10, width=4, image_size=8, stride=1, head="flatten")
    assert flat(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    assert flat(torch.rand(3, 1, 32, 32)).shape == (3, 10)  # any size runs (a layer probe does)
    # normalising makes the output blind to each image's colour offset and scale
    x = torch.rand(2, 3, 32, 32)
    assert torch.allclose(net(x), net(0.5 * x + 0.2), atol=1e-4)


def test_tabular_encoder_standardises_one_hots_and_tolerates_missing() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [10.0, 10.0, 10.0], "c": ["b", "a", "b"]})
    encoder = TabularEncoder(["x", "y"], ["c"]).fit(frame)
    assert encoder.feature_names == ["x", "y", "c=a", "c=b"]
    encoded = encoder.transform(frame)
    assert encoded.dtype == np.float32
    assert np.allclose(encoded[:, 0].mean(), 0) and np.allclose(encoded[:, 0].std(), 1)
    assert np.allclose(encoded[:, 1], 0)  # a constant column does not divide by zero
    assert encoded[:, 2:].tolist() == [[0, 1], [1, 0], [0, 1]]
    odd = pd.DataFrame({"x": [np.nan], "y": [10.0], "c": [None], "extra": [1]})
    assert encoder.transform(odd).tolist() == [[0, 0, 0, 0]]
    unseen = pd.DataFrame({"x": [2.0], "y": [10.0], "c": ["z"]})
    assert encoder.transform(unseen)[0, 2:].tolist() == [0, 0]
    again = TabularEncoder.from_dict(encoder.to_dict())
    assert np.array_equal(again.transform(frame), encoded)
    with pytest.raises(InvalidArgumentError) as caught:
        encoder.transform(frame.drop(columns="c"))
    assert caught.value.argument == "frame"


def test_tabular_mlp_takes_a_frame_or_encoded_floats() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["b", "a", "b"]})
    encoder = TabularEncoder(["x"], ["c"]).fit(frame)
    mlp = TabularMLP(encoder, hidden=4).eval()
    assert torch.equal(mlp(frame), mlp(torch.from_numpy(encoder.transform(frame))))
