"""deepscope.Model: the adapter over torch modules, Hugging Face models and plain callables."""

from __future__ import annotations

import doctest
import importlib
import weakref

import numpy as np
import pytest
import torch
from torch import nn

from deepscope.errors import (
    ArgumentTypeError,
    InvalidArgumentError,
    NotFoundError,
    ShapeError,
    TargetError,
    UnsupportedModelError,
)
from deepscope.model import Capture, LayerInfo, Model

WORDS = "the a movie film was is not very good bad great awful plot acting and but"
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS.split(" ")]
TEXTS = ["the movie was good", "not a great film", "bad acting", "the plot is very awful and bad"]


# ---- models ----------------------------------------------------------------------------------


def make_mlp(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))


def make_cnn(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 2),
    )


class Raises(nn.Module):
    """A layer whose forward fails, to check what is left behind."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom")


class Wrapped(nn.Module):
    """A CNN that is not an nn.Sequential, so its input cannot be checked up front."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 3)
        self.head = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x).mean(dim=(2, 3)))


class BagOfEmbeddings(nn.Module):
    """A text model with deepscope's keyword convention (input_ids or inputs_embeds)."""

    def __init__(self, vocab_size: int, dim: int = 6, classes: int = 2) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None) -> torch.Tensor:
        x = self.embedding(input_ids) if inputs_embeds is None else inputs_embeds
        mask = torch.ones(x.shape[:2]) if attention_mask is None else attention_mask
        mask = mask.to(x.dtype).unsqueeze(-1)
        return self.head(torch.tanh((x * mask).sum(1) / mask.sum(1)))


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    transformers = pytest.importorskip("transformers")  # the nlp extra: only these tests need it
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB) + "\n")
    return transformers.BertTokenizer(vocab=str(path))


@pytest.fixture(scope="module")
def bert(tokenizer):
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=8,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=16,
        max_position_embeddings=32,
        num_labels=3,
        id2label={0: "neg", 1: "neu", 2: "pos"},
        label2id={"neg": 0, "neu": 1, "pos": 2},
    )
    module = transformers.BertForSequenceClassification(config).double()
    return Model(module, tokenizer)


def hook_count(module: nn.Module) -> int:
    total = 0
    for sub in module.modules():
        for attr in (
            "_forward_hooks",
            "_forward_pre_hooks",
            "_backward_hooks",
            "_backward_pre_hooks",
        ):
            total += len(getattr(sub, attr))
    return total


def no_dropout_reference(net: nn.Module, x: torch.Tensor) -> np.ndarray:
    was = net.training
    net.eval()
    with torch.no_grad():
        out = net(x).numpy()
    net.train(was)
    return out


# ---- wrapping ----------------------------------------------------------------------------------


def test_model_of_a_model_is_the_same_object():
    model = Model(make_mlp())
    assert Model(model) is model
    assert Model(Model(model)) is model
    assert Model(model, name=model.name) is model


def test_rewrapping_with_different_options_is_refused():
    model = Model(make_mlp(), labels=["a", "b", "c"])
    with pytest.raises(InvalidArgumentError, match="labels"):
        Model(model, labels=["x", "y", "z"])


def test_kinds_and_attributes(bert, tokenizer):
    mlp = Model(make_mlp())
    assert (mlp.kind, mlp.is_text, mlp.name) == ("torch", False, "Sequential")
    assert mlp.device == torch.device("cpu")
    assert bert.kind == "huggingface" and bert.is_text and bert.tokenizer is tokenizer
    assert bert.labels == ["neg", "neu", "pos"]  # from the config
    fn = Model(np.tanh)
    assert (fn.kind, fn.module, fn.name) == ("callable", None, "tanh")


@pytest.mark.parametrize("bad", ["bert-base-uncased", nn.Linear, 42])
def test_unusable_models_are_refused(bad):
    with pytest.raises(UnsupportedModelError, match="model"):
        Model(bad)


# ---- predict -----------------------------------------------------------------------------------


def test_predict_equals_the_module_in_eval_mode():
    net = make_mlp()
    x = torch.randn(10, 4)
    out = Model(net).predict(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    # Dropout is active in train mode: equality shows predict ran in eval mode.
    np.testing.assert_allclose(out, no_dropout_reference(net, x), rtol=1e-6)


def test_predict_casts_numpy_to_the_module_dtype():
    net = make_mlp()
    x = np.random.default_rng(0).normal(size=(5, 4))  # float64
    out = Model(net).predict(x)
    np.testing.assert_allclose(out, no_dropout_reference(net, torch.tensor(x).float()), rtol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 3, 7, 100])
def test_batch_size_does_not_change_results(batch_size):
    net = make_mlp()
    x = torch.randn(17, 4)
    full = Model(net).predict(x, batch_size=17)
    np.testing.assert_allclose(Model(net).predict(x, batch_size=batch_size), full, atol=1e-6)


@pytest.mark.parametrize("training", [True, False])
def test_predict_restores_the_training_flag(training):
    net = make_mlp().train(training)
    net[2].eval()  # a mixed state: must come back exactly as it was
    before = [m.training for m in net.modules()]
    Model(net).predict(torch.randn(3, 4))
    assert [m.training for m in net.modules()] == before


@pytest.mark.parametrize("training", [True, False])
def test_training_flag_restored_when_forward_raises(training):
    net = nn.Sequential(nn.Linear(4, 4), Raises()).train(training)
    with pytest.raises(ShapeError, match="boom"):
        Model(net).predict(torch.randn(2, 4))
    assert all(m.training is training for m in net.modules())
    with pytest.raises(ShapeError):
        Model(net).gradient(torch.randn(2, 4))
    assert all(m.training is training for m in net.modules())


def test_no_gradient_is_kept():
    net = make_mlp()
    model = Model(net)
    model.predict(torch.randn(4, 4))
    model.gradient(torch.randn(4, 4), target=0)
    assert all(p.grad is None for p in net.parameters())
    assert torch.is_grad_enabled()


def test_progress_bar_when_forced(capsys):
    Model(make_mlp(), name="mlp").predict(torch.randn(6, 4), batch_size=2, progress=True)
    assert "mlp predict" in capsys.readouterr().err
    Model(make_mlp(), name="mlp").predict(torch.randn(60, 4), batch_size=2, progress=False)
    Model(make_mlp(), name="mlp").predict(torch.randn(60, 4), batch_size=2)  # not a tty
    assert capsys.readouterr().err == ""


def test_predict_proba_is_the_softmax_of_the_logits():
    from scipy.special import expit, softmax

    net = make_mlp()
    x = torch.randn(6, 4)
    model = Model(net)
    np.testing.assert_allclose(model.predict_proba(x), softmax(model.predict(x), axis=1), rtol=1e-5)
    single = Model(nn.Linear(4, 1))
    p = expit(single.predict(x)[:, 0])
    np.testing.assert_allclose(single.predict_proba(x), np.stack([1 - p, p], axis=1), rtol=1e-5)


def test_predict_proba_passes_probabilities_through():
    probs = np.array([[0.2, 0.8], [0.5, 0.5]])
    fn = Model(lambda x: probs[: len(x)])
    np.testing.assert_array_equal(fn.predict_proba(np.zeros((2, 1))), probs)
    softmaxed = Model(nn.Sequential(nn.Linear(4, 3), nn.Softmax(dim=1)))
    x = torch.randn(5, 4)
    np.testing.assert_array_equal(softmaxed.predict_proba(x), softmaxed.predict(x))


def test_num_outputs(bert):
    assert Model(make_mlp()).num_outputs == 3
    assert bert.num_outputs == 3
    fn = Model(lambda x: np.zeros((len(x), 5)))
    with pytest.raises(UnsupportedModelError):
        _ = fn.num_outputs
    fn.predict(np.zeros((2, 2)))
    assert fn.num_outputs == 5


# ---- gradient ----------------------------------------------------------------------------------


def test_gradient_of_a_linear_model_is_its_weight_row():
    torch.manual_seed(0)
    linear = nn.Linear(5, 4)
    weight = linear.weight.detach().numpy()
    x = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    grad = Model(linear).gradient(x, target=2)
    assert grad.shape == x.shape
    np.testing.assert_array_equal(grad, np.tile(weight[2], (6, 1)))


def test_gradient_target_none_is_the_predicted_class():
    torch.manual_seed(0)
    linear = nn.Linear(5, 4)
    model = Model(linear)
    x = torch.randn(20, 5)
    predicted = model.predict(x).argmax(axis=1)
    assert len(set(predicted)) > 1  # otherwise the test could not tell targets apart
    expected = linear.weight.detach().numpy()[predicted]
    np.testing.assert_array_equal(model.gradient(x), expected)
    np.testing.assert_array_equal(model.gradient(x, target=None, batch_size=3), expected)


@pytest.mark.parametrize("as_type", [list, np.array, torch.tensor])
def test_gradient_target_per_example(as_type):
    torch.manual_seed(0)
    linear = nn.Linear(3, 4)
    targets = [3, 0, 2, 2, 1]
    grad = Model(linear).gradient(torch.randn(5, 3), target=as_type(targets), batch_size=2)
    np.testing.assert_array_equal(grad, linear.weight.detach().numpy()[targets])


def test_target_by_label_name():
    torch.manual_seed(0)
    linear = nn.Linear(3, 2)
    model = Model(linear, labels=["cat", "dog"])
    grad = model.gradient(torch.randn(2, 3), target=["dog", "cat"])
    np.testing.assert_array_equal(grad, linear.weight.detach().numpy()[[1, 0]])


def test_resolve_target():
    model = Model(make_mlp())
    outputs = torch.tensor([[0.0, 3.0, 1.0], [2.0, 0.0, 1.0]])
    assert model.resolve_target(None, outputs).tolist() == [1, 0]
    assert model.resolve_target(2, outputs).tolist() == [2, 2]
    assert model.resolve_target([0, 1], outputs).dtype == torch.long


# ---- capture -----------------------------------------------------------------------------------


@pytest.mark.parametrize("grads", [False, True])
def test_capture_removes_every_hook_when_forward_raises(grads):
    net = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), Raises())
    model = Model(net)
    before = hook_count(net)
    names = [layer for layer, _ in net.named_modules() if layer]
    with pytest.raises(ShapeError), model.capture(names, grads=grads):
        assert hook_count(net) == before + len(names)  # the hooks were really there
        model.predict(torch.randn(2, 4))
    assert hook_count(net) == before
    with pytest.raises(RuntimeError, match="boom"), model.capture(["0"], grads=grads):
        net(torch.randn(2, 4))  # the bare module raising inside the block
    assert hook_count(net) == before


def test_capture_equals_a_manual_forward_of_the_sub_module():
    net = make_cnn()
    model = Model(net)
    x = torch.randn(5, 3, 6, 6)
    with model.capture(["0", "2"]) as cap:
        model.predict(x, batch_size=2)
    assert isinstance(cap, Capture)
    with torch.no_grad():
        conv = net[0](x)
        pooled = net[2](torch.relu(conv))
    # The conv output is followed by an in-place ReLU: the capture still holds the conv output.
    assert (cap.activations["0"] < 0).any()
    torch.testing.assert_close(cap.activations["0"], conv)
    torch.testing.assert_close(cap.activations["2"], pooled)
    assert len(cap.calls["0"]) == 3  # one per batch, concatenated in activations


def test_capture_gradients_of_a_layer_output():
    net = make_mlp()
    model = Model(net)
    with model.capture(["1"], grads=True) as cap:
        model.gradient(torch.randn(6, 4), target=1, batch_size=4)
    # Past the ReLU the model is linear (dropout is off in eval): d out[1] / d relu = W2[1].
    expected = net[3].weight.detach()[1].expand(6, 8)
    torch.testing.assert_close(cap.gradients["1"], expected)
    assert cap.activations["1"].shape == (6, 8)


def test_capture_gradients_through_an_inplace_relu():
    net = make_cnn()
    model = Model(net)
    x = torch.randn(2, 3, 5, 5)
    with model.capture(["0"], grads=True) as cap:
        model.gradient(x, target=0)
    conv = net[0](x).detach().requires_grad_(True)
    out = net[4](net[3](net[2](torch.relu(conv))))
    (expected,) = torch.autograd.grad(out[:, 0].sum(), conv)
    torch.testing.assert_close(cap.gradients["0"], expected)


def test_capture_unknown_layer_lists_the_available_ones():
    model = Model(make_mlp())
    with pytest.raises(NotFoundError) as info, model.capture(["0", "nope"]):
        pass
    assert isinstance(info.value, KeyError)
    assert "'nope'" in str(info.value) and "'3'" in str(info.value)
    assert hook_count(model.module) == 0


# ---- layers ------------------------------------------------------------------------------------


def test_layers_lists_names_types_and_output_shapes():
    net = make_cnn()
    layers = Model(net).layers()
    assert layers[0] == LayerInfo("0", "Conv2d", (1, 4, 32, 32))  # guessed probe
    assert [(layer.name, layer.type) for layer in layers] == [
        ("0", "Conv2d"),
        ("1", "ReLU"),
        ("2", "AdaptiveAvgPool2d"),
        ("3", "Flatten"),
        ("4", "Linear"),
    ]
    assert layers[-1].output_shape == (1, 2)
    shaped = Model(net).layers(example=np.zeros((7, 3, 8, 8), dtype=np.float32))
    assert shaped[0].output_shape == (1, 4, 8, 8)
    assert hook_count(net) == 0


def test_layers_without_a_guess_asks_for_an_example():
    class Custom(nn.Module):
        def forward(self, x):
            return x * 2

    with pytest.raises(InvalidArgumentError, match="example"):
        Model(Custom()).layers()
    assert Model(Custom()).layers(torch.zeros(1, 2)) == []


# ---- Hugging Face ------------------------------------------------------------------------------


def test_huggingface_predict_on_texts(bert, tokenizer):
    encoded = tokenizer(TEXTS, padding=True, return_tensors="pt")
    bert.module.eval()
    with torch.no_grad():
        expected = bert.module(**encoded).logits.numpy()
    np.testing.assert_allclose(bert.predict(TEXTS, batch_size=3), expected, rtol=1e-10)
    assert bert.predict(TEXTS).dtype == np.float64


def test_huggingface_tokens_and_encode(bert):
    assert bert.tokens(["the movie was good", "bad"]) == [
        ["[CLS]", "the", "movie", "was", "good", "[SEP]"],
        ["[CLS]", "bad", "[SEP]"],
    ]
    encoded = bert.encode(["the movie was good", "bad"])
    assert encoded["input_ids"].shape == (2, 6)
    assert encoded["attention_mask"].sum(1).tolist() == [6, 3]


def test_forward_embeddings_equals_forward(bert):
    encoded = bert.encode(TEXTS)
    with bert.eval_mode(), torch.no_grad():
        from_ids = bert.forward(encoded)
        embeddings = bert.input_embeddings()(encoded["input_ids"])
        from_embeddings = bert.forward_embeddings(embeddings, encoded["attention_mask"])
    torch.testing.assert_close(from_embeddings, from_ids)


def test_huggingface_gradient_wrt_embeddings_matches_finite_differences(bert):
    encoded = bert.encode(TEXTS)
    grad = bert.gradient(TEXTS, target=2)
    dim = bert.module.config.hidden_size
    assert grad.shape == (len(TEXTS), encoded["input_ids"].shape[1], dim)
    direction = torch.randn(grad.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    step = 1e-6
    with bert.eval_mode(), torch.no_grad():
        embeddings = bert.input_embeddings()(encoded["input_ids"])
        mask = encoded["attention_mask"]
        up = bert.forward_embeddings(embeddings + step * direction, mask)[:, 2]
        down = bert.forward_embeddings(embeddings - step * direction, mask)[:, 2]
    numeric = ((up - down) / (2 * step)).numpy()
    analytic = (grad * direction.numpy()).sum(axis=(1, 2))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_huggingface_layers_and_capture(bert):
    layers = {layer.name: layer for layer in bert.layers()}
    assert layers["bert.encoder.layer.0"].type == "BertLayer"
    assert layers["classifier"].output_shape == (1, 3)
    probe_length = len(bert.tokens(["the movie was good"])[0])
    assert layers["bert.embeddings"].output_shape == (1, probe_length, 8)
    with bert.capture(["bert.pooler", "classifier"]) as cap:
        logits = bert.predict(TEXTS, batch_size=3)
    with torch.no_grad():
        head = bert.module.classifier(cap.activations["bert.pooler"])
    torch.testing.assert_close(head, cap.activations["classifier"])
    np.testing.assert_allclose(cap.activations["classifier"].numpy(), logits)
    assert hook_count(bert.module) == 0


def test_huggingface_without_tokenizer_refuses_strings(bert):
    bare = Model(bert.module)
    with pytest.raises(ArgumentTypeError, match="inputs.*tokenizer"):
        bare.predict(TEXTS)
    ids = bert.encode(TEXTS[:1])["input_ids"]
    np.testing.assert_allclose(bare.predict(ids), bert.predict(TEXTS[:1]))


def test_own_text_model_keyword_convention(tokenizer):
    torch.manual_seed(0)
    net = BagOfEmbeddings(len(VOCAB))
    model = Model(net, tokenizer)
    assert model.kind == "torch" and model.is_text
    encoded = model.encode(TEXTS)
    with torch.no_grad():
        expected = net(**encoded).numpy()
    np.testing.assert_allclose(model.predict(TEXTS, batch_size=2), expected, rtol=1e-6)
    grad = model.gradient(TEXTS, target=1)
    assert grad.shape == (*encoded["input_ids"].shape, 6)
    # Padding is averaged out by the mask, so it gets no gradient.
    assert np.all(grad[encoded["attention_mask"].numpy() == 0] == 0)
    assert model.input_embeddings() is net.embedding


# ---- plain callables ---------------------------------------------------------------------------


def test_callable_predict_gets_numpy_batches():
    weight = np.array([[1.0, -1.0], [0.5, 2.0], [0.0, 1.0]])
    seen = []

    def f(x):
        seen.append(type(x))
        return x @ weight

    x = np.random.default_rng(0).normal(size=(9, 3))
    out = Model(f).predict(torch.tensor(x), batch_size=4)
    np.testing.assert_allclose(out, x @ weight)
    assert seen == [np.ndarray] * 3


def test_callable_gradient_is_unsupported():
    model = Model(lambda x: x)
    with pytest.raises(UnsupportedModelError) as info:
        model.gradient(np.ones((2, 2)))
    assert info.value.argument == "model" and "model" in str(info.value)
    with pytest.raises(UnsupportedModelError), model.capture(["0"]):
        pass
    with pytest.raises(UnsupportedModelError):
        model.layers()


def test_callable_returning_wrong_rows_is_reported():
    with pytest.raises(UnsupportedModelError, match="one row per input"):
        Model(lambda x: np.zeros(1)).predict(np.zeros((3, 2)))


# ---- typed errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [3, -1, [0, 5], np.array([0, 3])])
def test_target_out_of_range(target):
    model = Model(make_mlp())
    with pytest.raises(TargetError) as info:
        model.gradient(torch.randn(2, 4), target=target)
    assert str(info.value).startswith("target:") and "[0, 3)" in str(info.value)


def test_target_with_wrong_length_or_type():
    model = Model(make_mlp())
    with pytest.raises(TargetError, match="one class index per example"):
        model.gradient(torch.randn(3, 4), target=[0, 1])
    with pytest.raises(TargetError, match="target"):
        model.gradient(torch.randn(2, 4), target=[0.5, 1.0])
    with pytest.raises(TargetError, match="no labels"):
        model.gradient(torch.randn(2, 4), target="cat")


def test_wrong_channel_count_is_said_up_front():
    model = Model(make_cnn())
    x = np.zeros((2, 1, 8, 8), dtype=np.float32)
    for call in (model.predict, model.gradient):
        with pytest.raises(ShapeError) as info:
            call(x)
        message = str(info.value)
        assert message.startswith("inputs:")
        assert "[N, 3, H, W]" in message and "Conv2d(3, 4" in message and "(2, 1, 8, 8)" in message


def test_wrong_feature_count_for_a_linear_first_layer():
    with pytest.raises(ShapeError, match=r"inputs: expected a batch shaped \[N, 4\]"):
        Model(make_mlp()).predict(np.zeros((2, 5), dtype=np.float32))


def test_shape_error_from_the_forward_names_inputs_and_keeps_the_message():
    with pytest.raises(ShapeError) as info:
        Model(Wrapped()).predict(torch.zeros(2, 1, 8, 8))
    assert str(info.value).startswith("inputs:")
    assert "channels" in str(info.value)  # torch's own explanation, kept as the hint
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize("net", [make_cnn(), Wrapped()])
def test_integer_images_to_gradient(net):
    images = np.zeros((2, 3, 8, 8), dtype=np.uint8)
    with pytest.raises(ArgumentTypeError) as info:
        Model(net).gradient(images)
    assert str(info.value).startswith("inputs:") and "floating-point" in str(info.value)
    assert "uint8" in str(info.value)


def test_strings_without_a_tokenizer():
    with pytest.raises(ArgumentTypeError) as info:
        Model(make_mlp()).predict(["a text"])
    assert info.value.argument == "inputs" and "tokenizer" in str(info.value)
    with pytest.raises(ArgumentTypeError, match="inputs"):
        Model(make_mlp()).predict("a single text")


@pytest.mark.parametrize("empty", [np.zeros((0, 4)), torch.empty(0, 4), []])
def test_empty_inputs(empty):
    for call in (Model(make_mlp()).predict, Model(make_mlp()).gradient, Model(np.tanh).predict):
        with pytest.raises(InvalidArgumentError, match="inputs: expected at least one example"):
            call(empty)


def test_bad_batch_size_and_progress():
    model = Model(make_mlp())
    with pytest.raises(InvalidArgumentError, match="batch_size"):
        model.predict(torch.zeros(2, 4), batch_size=0)
    with pytest.raises(ArgumentTypeError, match="progress"):
        model.predict(torch.zeros(2, 4), progress="yes")


def test_cuda_not_available_is_reported():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(InvalidArgumentError, match="device"):
        Model(make_mlp(), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_predict_and_gradient_match_cpu():
    x = torch.randn(9, 4)
    cpu = Model(make_mlp())
    gpu = Model(make_mlp(), device="cuda")
    assert next(gpu.module.parameters()).is_cuda
    np.testing.assert_allclose(gpu.predict(x, batch_size=4), cpu.predict(x), atol=1e-5)
    np.testing.assert_allclose(gpu.gradient(x, target=1), cpu.gradient(x, target=1), atol=1e-5)


# ---- docs --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "deepscope.model",
        "deepscope.model.adapter",
        "deepscope.model.hooks",
        "deepscope.model.inputs",
        "deepscope.model.targets",
    ],
)
def test_docstring_examples_run(name):
    results = doctest.testmod(importlib.import_module(name))
    assert results.attempted > 0 and results.failed == 0


def test_accepts_frames_marks_models_that_take_raw_dataframes():
    import pandas as pd

    frame = pd.DataFrame({"a": [1.0, 2.0]})
    seen = []
    wrapped = Model(lambda x: (seen.append(type(x)), np.zeros((len(x), 2)))[1])
    wrapped.predict(frame)
    assert wrapped.accepts_frames and seen == [pd.DataFrame]
    assert not Model(torch.nn.Linear(1, 2)).accepts_frames


# ---- layout ------------------------------------------------------------------------------------


class _ViewingCNN(nn.Module):
    """A CNN that flattens with .view(), which needs the standard memory layout."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.conv(x)).relu()
        return self.fc(h.view(h.shape[0], -1))


def _layouts_seen(module: nn.Module) -> list[bool]:
    seen: list[bool] = []
    module.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].is_contiguous(memory_format=torch.channels_last))
    )
    return seen


def test_conv_model_gets_channels_last_batches_with_the_same_outputs_and_gradients():
    net = make_cnn().eval()
    x = torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    model = Model(net)
    seen = _layouts_seen(net[0])
    outputs = model.predict(x.numpy())
    assert seen and all(seen)  # the probe and the pass both ran channels-last
    np.testing.assert_allclose(outputs, net(x).detach().numpy(), atol=1e-5)
    grad = model.gradient(x.numpy(), target=1)
    xs = x.clone().requires_grad_(True)
    (expected,) = torch.autograd.grad(net(xs)[:, 1].sum(), xs)
    np.testing.assert_allclose(grad, expected.numpy(), atol=1e-5)


def test_model_that_views_its_input_keeps_the_standard_layout_and_is_not_disturbed_by_the_probe():
    net = _ViewingCNN().train()
    twin = _ViewingCNN().train()
    x = torch.rand(5, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    model = Model(net)
    seen = _layouts_seen(net.fc)
    with model.capture(["conv"]) as cap:
        out = model.forward(x)
    np.testing.assert_allclose(out.detach().numpy(), twin(x).detach().numpy(), atol=1e-5)
    # Channels-last failed at .view() before fc; the standard probe and the real pass reached it.
    assert seen == [False, False]
    assert cap.activations["conv"].shape[0] == 5  # the probe recorded nothing
    # Running statistics moved once, as for a direct call: the probe ran in eval mode.
    torch.testing.assert_close(net.norm.running_mean, twin.norm.running_mean)
    assert int(net.norm.num_batches_tracked) == 1
    assert model._channels_last is False


def test_a_bad_batch_leaves_the_layout_undecided_and_is_reported():
    model = Model(make_cnn().eval())
    with pytest.raises(ShapeError):
        model.predict(np.zeros((2, 5, 8, 8), dtype=np.float32))
    assert model._channels_last is None
    model.predict(np.zeros((2, 3, 8, 8), dtype=np.float32))
    assert model._channels_last is True


def test_a_capture_records_only_its_own_threads_passes():
    """A dashboard runs several methods of one live model at once: another thread's forward pass
    through the hooked layer must not land in this capture (it made a neuron map all zeros)."""
    import threading

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    model = Model(net)
    other_done = threading.Event()
    with model.capture(["0"]) as cap:
        worker = threading.Thread(target=lambda: (net(torch.ones(5, 3)), other_done.set()))
        worker.start()
        worker.join()
        assert other_done.is_set() and cap.activations == {}
        net(torch.zeros(2, 3))
    assert cap.activations["0"].shape == (2, 4)


def test_a_plain_sequential_frees_the_layout_copy_of_its_batch_after_the_first_layer():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(), nn.LazyLinear(2)).eval()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    expected = net(x)
    copies: list[weakref.ref[torch.Tensor]] = []
    alive: list[bool] = []
    net[0].register_forward_pre_hook(lambda m, args: copies.append(weakref.ref(args[0])))
    net[2].register_forward_pre_hook(lambda m, args: alive.append(copies[-1]() is not None))
    model = Model(net)
    np.testing.assert_allclose(model.predict(x), expected.detach().numpy(), atol=1e-5)
    assert model._channels_last is True and alive[-1] is False  # gone before the second convolution
    net.register_forward_hook(lambda m, args, out: None)  # a hook of its own: called as a whole
    np.testing.assert_allclose(model.predict(x), expected.detach().numpy(), atol=1e-5)
    assert alive[-1] is True


def test_a_differentiated_batch_reaches_the_first_convolution_as_it_is_and_the_rest_in_channels_last():
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.Flatten(), nn.LazyLinear(2)).eval()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    (expected,) = torch.autograd.grad(net(x)[:, 1].sum(), x)
    first, second = _layouts_seen(net[0]), _layouts_seen(net[2])
    got = Model(net).gradient(x.detach(), target=1)
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-5)
    # the first convolution keeps its input for the backward pass: no layout copy of the batch
    assert set(first) == {False} and set(second) == {True}
