"""TensorBoard event files written by torch.utils.tensorboard import with identical values."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from deepscope.errors import LogdirError, MissingDependencyError
from deepscope.track import import_tensorboard, open_logdir

pytest.importorskip("tensorboard")
torch_tensorboard = pytest.importorskip("torch.utils.tensorboard")
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402

STEPS = 30


@pytest.fixture(scope="module")
def tb_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("tb")
    rng = np.random.default_rng(0)
    writer = torch_tensorboard.SummaryWriter(str(root / "train"))
    for step in range(STEPS):
        writer.add_scalar("loss", 1.0 / (step + 1) + 0.1, step)  # legacy simple_value
        writer.add_scalar("accuracy", step * 0.03, step, new_style=True)  # tensor summary
        writer.add_scalar("precise", step / 7, step, new_style=True, double_precision=True)
    writer.add_scalar("weird", float("nan"), 0)
    writer.add_scalar("weird", float("inf"), 1)
    weights = rng.normal(size=2000)
    writer.add_histogram("weights", weights, 5)
    writer.add_histogram("weights_auto", weights, 6, bins="auto")
    image = rng.random((3, 6, 9))
    writer.add_image("sample", image, 7)
    writer.add_hparams({"lr": 0.01, "optimizer": "adam"}, {"hparam/accuracy": 0.87})
    writer.close()
    other = torch_tensorboard.SummaryWriter(str(root / "eval"))
    for step in range(5):
        other.add_scalar("loss", 0.5 - step * 0.01, step * 10)
    other.close()
    return root, weights, image


def _tensorboard_values(folder, tag):
    accumulator = event_accumulator.EventAccumulator(
        str(folder), size_guidance=event_accumulator.STORE_EVERYTHING_SIZE_GUIDANCE
    ).Reload()
    if tag in accumulator.Tags()["scalars"]:
        return [(e.step, e.value) for e in accumulator.Scalars(tag)]
    from tensorboard.util import tensor_util

    return [(e.step, tensor_util.make_ndarray(e.tensor_proto).item()) for e in accumulator.Tensors(tag)]


def test_every_event_folder_becomes_a_run(tb_dir, tmp_path):
    root, _, _ = tb_dir
    names = import_tensorboard(root, tmp_path)
    assert names[:2] == ["eval", "train"] and len(names) == 3
    assert names[2].startswith("train/")  # add_hparams writes into a sub-folder
    logdir = open_logdir(tmp_path)
    assert sorted(logdir.run_names()) == sorted(names)
    assert set(logdir.runs()["status"]) == {"finished"}


def test_scalars_import_with_identical_values(tb_dir, tmp_path):
    root, _, _ = tb_dir
    import_tensorboard(root, tmp_path)
    frame = open_logdir(tmp_path).scalars(runs="train")
    for tag in ("loss", "accuracy", "precise", "weird"):
        ours = frame[frame["tag"] == tag]
        theirs = _tensorboard_values(root / "train", tag)
        assert ours["step"].tolist() == [s for s, _ in theirs]
        np.testing.assert_array_equal(ours["value"].to_numpy(), np.array([v for _, v in theirs]))
    loss = frame[frame["tag"] == "loss"]["value"].to_numpy()
    np.testing.assert_array_equal(loss, np.float32(1.0 / (np.arange(STEPS) + 1) + 0.1).astype(np.float64))
    precise = frame[frame["tag"] == "precise"]["value"].to_numpy()
    np.testing.assert_array_equal(precise, np.arange(STEPS) / 7)  # double precision stays exact
    weird = frame[frame["tag"] == "weird"]["value"].to_numpy()
    assert np.isnan(weird[0]) and weird[1] == np.inf
    evaluation = open_logdir(tmp_path).scalars(runs="eval")
    assert evaluation["step"].tolist() == [0, 10, 20, 30, 40]


def test_histograms_images_and_hparams_import(tb_dir, tmp_path):
    root, weights, image = tb_dir
    names = import_tensorboard(root, tmp_path)
    logdir = open_logdir(tmp_path)

    for tag in ("weights", "weights_auto"):
        [row] = logdir.histograms(tag, runs="train").itertuples()
        assert row.counts.sum() == len(weights) == row.count
        assert len(row.edges) == len(row.counts) + 1 and np.all(np.diff(row.edges) > 0)
        assert row.edges[0] <= weights.min() and row.edges[-1] >= weights.max() - 1e-6
        assert row.min == pytest.approx(weights.min()) and row.max == pytest.approx(weights.max())
    auto = logdir.histograms("weights_auto", runs="train").iloc[0]
    counts, _ = np.histogram(weights, bins="auto")
    np.testing.assert_array_equal(auto["counts"], counts[np.flatnonzero(counts)[0] : np.flatnonzero(counts)[-1] + 1])

    [(step, pixels)] = logdir.images("sample", "train")
    assert step == 7
    # torch scales floats to uint8 by truncation and writes lossless PNG
    expected = (image.transpose(1, 2, 0) * 255).clip(0, 255).astype(np.uint8)
    np.testing.assert_array_equal(pixels, expected)

    hparams = logdir.runs().set_index("run").loc[names[2], "hparams"]
    assert hparams == {"lr": 0.01, "optimizer": "adam"}
    metric = logdir.scalars(runs=names[2])
    assert metric["tag"].tolist() == ["hparam/accuracy"]
    assert metric["value"].tolist() == [float(np.float32(0.87))]


def test_importing_twice_keeps_both_copies_apart(tb_dir, tmp_path):
    root, _, _ = tb_dir
    first = import_tensorboard(root / "eval", tmp_path)
    second = import_tensorboard(root / "eval", tmp_path)
    assert first == ["eval"] and second == ["eval-2"]


def test_a_folder_without_event_files_is_an_error(tmp_path):
    with pytest.raises(LogdirError, match="no TensorBoard event files"):
        import_tensorboard(tmp_path, tmp_path / "out")
    with pytest.raises(LogdirError, match="does not exist"):
        import_tensorboard(tmp_path / "missing", tmp_path / "out")


def test_missing_tensorboard_is_a_missing_dependency(tmp_path, monkeypatch):
    for module in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")]:
        monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setitem(sys.modules, "tensorboard", None)
    with pytest.raises(MissingDependencyError, match="tensorboard"):
        import_tensorboard(tmp_path, tmp_path / "out")
