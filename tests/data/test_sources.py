"""Every kind of source profiles to the same statistics; files stream in batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from deepscope.data import profile
from deepscope.data.sources import open_source


def _core(p, feature):
    f = p[feature]
    return (
        f.type,
        f.count,
        f.missing,
        f.min,
        f.max,
        None if np.isnan(f.mean) else round(f.mean, 9),
        f.unique,
        f.top_values,
    )


def test_parquet_csv_arrow_and_pandas_agree(tmp_path, mixed_frame):
    frame = mixed_frame[["f", "s"]]
    frame.to_csv(tmp_path / "data.csv", index=False)
    frame.to_parquet(tmp_path / "data.parquet")
    sources = [frame, pa.Table.from_pandas(frame), tmp_path / "data.parquet", str(tmp_path / "data.csv")]
    profiles = [profile(s, batch_size=1500) for s in sources]
    for p in profiles[1:]:
        assert p.rows == profiles[0].rows
        for feature in ("f", "s"):
            assert _core(p, feature) == _core(profiles[0], feature)


def test_files_are_read_in_batches_not_whole(mixed_parquet):
    stream = open_source(mixed_parquet, batch_size=1000)
    sizes = [len(batch) for batch in stream.batches]
    assert max(sizes) <= 1000 and sum(sizes) == 20_000
    assert stream.total_rows == 20_000


def test_glob_folder_and_list_of_files_with_a_missing_column(tmp_path):
    pq.write_table(pa.table({"x": [1.0, 2.0], "y": ["a", "b"]}), tmp_path / "part-0.parquet")
    pq.write_table(pa.table({"x": [3.0]}), tmp_path / "part-1.parquet")
    for source in (str(tmp_path / "*.parquet"), tmp_path, [tmp_path / "part-0.parquet", tmp_path / "part-1.parquet"]):
        p = profile(source)
        assert p.rows == 3
        assert (p["y"].count, p["y"].missing) == (2, 1)
        assert p["x"].mean == 2.0


def test_pyarrow_dataset_and_record_batch_reader(mixed_parquet):
    import pyarrow.dataset as pads

    dataset = pads.dataset(mixed_parquet)
    assert profile(dataset).rows == 20_000
    reader = pa.RecordBatchReader.from_batches(dataset.schema, dataset.to_batches())
    assert profile(reader)["i"].count == profile(mixed_parquet)["i"].count


def test_image_arrays_become_size_and_brightness_features():
    rng = np.random.default_rng(0)
    images = rng.random((50, 3, 8, 6)).astype(np.float32)
    p = profile(images)
    assert set(p.features) == {"height", "width", "channels", "brightness", "contrast"}
    assert (p["height"].min, p["width"].max, p["channels"].mean) == (8, 6, 3.0)
    assert p["brightness"].mean == pytest.approx(images.mean(axis=(1, 2, 3)).mean())
    # Channels last and uint8 images are recognised too; brightness is scaled to [0, 1].
    as_uint8 = (np.moveaxis(images, 1, -1) * 255).round().astype(np.uint8)
    q = profile(as_uint8)
    assert (q["height"].max, q["width"].max, q["channels"].max) == (8, 6, 3)
    assert q["brightness"].mean == pytest.approx(p["brightness"].mean, abs=0.01)
    sizes = profile([rng.random((4, 4)), rng.random((3, 10, 12))])
    assert (sizes["height"].max, sizes["width"].max, sizes["channels"].max) == (10, 12, 3)


def test_image_dataset_adds_class_labels():
    from deepscope.datasets.containers import ImageDataset

    data = ImageDataset(np.zeros((4, 1, 2, 2), np.float32), np.array([0, 1, 1, 1]), None, ["cat", "dog"])
    p = profile(data)
    assert p["label"].type == "categorical"
    assert p["label"].top_values == (("dog", 3), ("cat", 1))


def test_texts_become_length_and_token_count():
    texts = ["a short one", "two words", "", "  spaced   out  text ", None]
    p = profile(texts)
    assert p["length"].max == len("  spaced   out  text ")
    assert (p["tokens"].min, p["tokens"].max) == (0, 3)
    assert p["text"].missing == 1 and p["text"].unique == 4


def test_list_features_have_values_per_example():
    table = pa.table(
        {
            "tags": pa.array([["a", "b"], ["a"], [], None, ["c", "a", "a"]]),
            "scores": pa.array([[1.0, 2.0], [3.0], None, [0.0], [4.0, 5.0, 6.0]]),
        }
    )
    p = profile(table)
    tags, scores = p["tags"], p["scores"]
    assert tags.type == "list<string>" and scores.type == "list<float>"
    assert tags.values_per_example == {"min": 0, "mean": 1.5, "max": 3}
    assert tags.top_values[0] == ("a", 4)
    assert (scores.count, scores.missing) == (4, 1)
    assert scores.mean == pytest.approx(3.0) and scores.zeros == 1


def test_temporal_and_categorical_columns():
    frame = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-01-01", "2024-01-03", None]),
            "kind": pd.Categorical(["x", "y", "x"]),
        }
    )
    p = profile(frame)
    assert p["when"].type == "datetime"
    assert p["when"].max - p["when"].min == 2 * 86400
    assert p["kind"].type == "categorical" and p["kind"].top_values == (("x", 2), ("y", 1))


def test_numpy_matrix_and_series():
    p = profile(np.arange(12.0).reshape(6, 2))
    assert p.features == ["x0", "x1"]
    s = profile(pd.Series([1, 2, 3], name="n"))
    assert s.features == ["n"] and s["n"].mean == 2.0


def test_row_groups_decoded_side_by_side_keep_their_order(tmp_path, monkeypatch):
    import threading

    import pyarrow.parquet as pq

    from deepscope.data import sources

    rng = np.random.default_rng(0)
    n = 50_000
    table = pa.table(
        {
            "x": rng.normal(size=n),
            "flag": pa.array(rng.random(n) < 0.3),
            "nothing": pa.nulls(n, pa.float64()),  # no value anywhere: not decoded
            "label": pa.array(rng.choice(["a", "b", "c"], n)),
        }
    )
    path = tmp_path / "groups.parquet"
    pq.write_table(table, path, row_group_size=7_000)  # 8 row groups, the last one short
    seen: set[str] = set()
    decoder = sources._group_decoder

    def recording(reader, batch_size, empty):
        decode = decoder(reader, batch_size, empty)

        def run(group):
            seen.add(threading.current_thread().name)
            return decode(group)

        return run

    monkeypatch.setattr(sources, "_group_decoder", recording)

    def read() -> pa.Table:
        read = pa.Table.from_batches(list(sources.open_source(str(path), batch_size=3_000).batches))
        assert pa.types.is_dictionary(read.schema.field("label").type)  # few strings: read as codes
        return read.set_column(3, "label", read.column("label").cast(pa.string()))

    side_by_side = read()
    assert any(name.startswith("deepscope-decode") for name in seen)
    assert side_by_side.equals(table)  # every row, in order, the null column in place
    monkeypatch.setattr(sources, "PARALLEL_GROUP_BYTES", 0)  # row groups too large: one at a time
    seen.clear()
    one_at_a_time = read()
    assert not any(name.startswith("deepscope-decode") for name in seen)
    assert one_at_a_time.equals(table)
