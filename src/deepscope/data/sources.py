"""Readers that turn what a user hands to ``profile`` into a stream of Arrow record batches.

Files are read batch by batch (Parquet row groups, CSV blocks), never whole. In-memory data
(pandas, Arrow, numpy images, lists of texts) is converted once and sliced. Images and texts
become tables of derived features: image size and brightness, text length and token count.

>>> import pandas as pd
>>> stream = open_source(pd.DataFrame({"a": [1, 2, 3]}), batch_size=2)
>>> [len(b) for b in stream.batches]
[2, 1]
"""

from __future__ import annotations

import functools
import glob
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa

from deepscope.errors import ArgumentTypeError, InvalidArgumentError, ShapeError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Stream",
    "open_source",
    "is_dask",
    "table_from_pandas",
    "images_table",
    "texts_table",
    "resolve_paths",
    "DEFAULT_BATCH_SIZE",
]

DEFAULT_BATCH_SIZE = 262_144
_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".tsv", ".csv.gz", ".tsv.gz", ".csv.bz2", ".txt")
_EXPECTED = (
    "a pandas DataFrame, an Arrow table, a Parquet or CSV path or glob, a Dask DataFrame, "
    "an array of images or a list of texts"
)


@dataclass
class Stream:
    """Record batches to profile, with what is known up front about them."""

    name: str
    batches: Iterator[pa.RecordBatch]
    total_rows: int | None = None
    notes: dict[str, list[str]] = field(default_factory=dict)
    table: pa.Table | None = None  # the whole data when it is already in memory (raw samples)
    # String columns read dictionary-encoded for speed; they are still plain strings to the user.
    plain_strings: set[str] = field(default_factory=set)


def is_dask(source: Any) -> bool:
    """True for a Dask DataFrame or Series, checked without importing dask."""
    module = type(source).__module__ or ""
    return module.startswith("dask") and hasattr(source, "to_delayed")


def _is_path_source(source: Any) -> bool:
    """True for a path, or a non-empty list or tuple of paths."""
    return isinstance(source, (str, os.PathLike)) or bool(
        isinstance(source, (list, tuple))
        and source
        and all(isinstance(s, (str, os.PathLike)) for s in source)
        and _looks_like_paths(source)
    )


def open_source(source: Any, *, batch_size: int = DEFAULT_BATCH_SIZE, name: str | None = None) -> Stream:
    """A ``Stream`` of record batches for any source ``profile`` accepts (not Dask)."""
    if _is_path_source(source):
        return _file_stream(source, batch_size, name)
    # pandas loads only for pandas input (a quarter second): a source cannot be a pandas object
    # unless pandas was imported already.
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(source, pd.Series):
        source = source.to_frame(name=str(source.name) if source.name is not None else "value")
    if pd is not None and isinstance(source, pd.DataFrame):
        table, notes = table_from_pandas(source)
        return _table_stream(table, batch_size, name or "dataframe", notes)
    if isinstance(source, pa.RecordBatch):
        source = pa.Table.from_batches([source])
    if isinstance(source, pa.Table):
        _check_unique_names(source.column_names)
        return _table_stream(source, batch_size, name or "table", {})
    if isinstance(source, pa.RecordBatchReader):
        _check_unique_names(source.schema.names)
        return Stream(name or "batches", _rebatch(source, batch_size))
    if type(source).__module__.startswith("pyarrow") and hasattr(source, "to_batches"):
        _check_unique_names(source.schema.names)  # a pyarrow.dataset.Dataset
        return Stream(
            name or "dataset", _wrap_errors(source.to_batches(batch_size=batch_size), "dataset"), total_rows=None
        )
    if isinstance(source, dict):
        table, notes = table_from_pandas(_pandas().DataFrame(source))
        return _table_stream(table, batch_size, name or "dict", notes)
    images = getattr(source, "images", None)
    if images is not None and hasattr(source, "labels"):  # deepscope's ImageDataset
        table = images_table(images)
        labels = _label_column(source)
        if labels is not None and len(labels) == table.num_rows:
            table = table.append_column("label", labels)
        return _table_stream(table, batch_size, name or "images", {})
    texts = getattr(source, "texts", None)
    if texts is not None and hasattr(source, "labels"):  # deepscope's TextDataset
        table = texts_table(texts)
        labels = _label_column(source)
        if labels is not None and len(labels) == table.num_rows:
            table = table.append_column("label", labels)
        return _table_stream(table, batch_size, name or "texts", {})
    if hasattr(source, "train") and hasattr(source, "serving"):
        raise ArgumentTypeError(
            "source", _EXPECTED, source, hint="pass dataset.train or dataset.serving, one at a time"
        )
    array = _as_array(source)
    if array is not None:
        if array.ndim in (3, 4):
            return _table_stream(images_table(array), batch_size, name or "images", {})
        if array.ndim == 2:
            frame = _pandas().DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
            table, notes = table_from_pandas(frame)
            return _table_stream(table, batch_size, name or "array", notes)
        if array.ndim == 1:
            table, notes = table_from_pandas(_pandas().DataFrame({"value": array}))
            return _table_stream(table, batch_size, name or "array", notes)
        raise InvalidArgumentError("source", "a 1-D or 2-D array of values or a 3-D/4-D array of images", array)
    if isinstance(source, (list, tuple)) and source:
        first = next((s for s in source if s is not None), None)
        if isinstance(first, str):
            return _table_stream(texts_table(source), batch_size, name or "texts", {})
        if _as_array(first) is not None:
            return _table_stream(images_table(source), batch_size, name or "images", {})
    raise ArgumentTypeError("source", _EXPECTED, source)


def _looks_like_paths(items: Iterable[Any]) -> bool:
    """A list is paths when every item names an existing file or folder, or a glob that matches
    some; any other list of strings is texts ("What?" is a sentence, not a glob)."""

    def is_path(item: Any) -> bool:
        if isinstance(item, os.PathLike):
            return True
        text = str(item)
        if len(text) > 4096 or "\n" in text:
            return False
        return os.path.exists(text) or (glob.has_magic(text) and bool(glob.glob(text, recursive=True)))

    return all(is_path(item) for item in items)


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, without importing torch
        return value.detach().cpu().numpy()
    return None


def _label_column(dataset: Any) -> pa.Array | None:
    labels = np.asarray(getattr(dataset, "labels", None))
    if labels.ndim != 1:
        return None
    names = getattr(dataset, "class_names", None)
    if (
        names is not None
        and labels.dtype.kind in "iu"
        and len(labels)
        and labels.min() >= 0
        and labels.max() < len(names)
    ):
        # Dictionary-encode so the class names become a categorical feature without a per-row loop.
        return pa.DictionaryArray.from_arrays(pa.array(labels.astype(np.int32)), pa.array([str(n) for n in names]))
    return pa.array(labels)


def _check_unique_names(names: list[str]) -> None:
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n in seen or seen.add(n)})
    if duplicates:
        raise InvalidArgumentError("source", "unique column names", f"duplicated columns {duplicates}")


def _table_stream(table: pa.Table, batch_size: int, name: str, notes: dict[str, list[str]]) -> Stream:
    batches = iter(table.to_batches(max_chunksize=batch_size))
    return Stream(name, batches, total_rows=table.num_rows, notes=notes, table=table)


def _rebatch(reader: Iterable[pa.RecordBatch], batch_size: int) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if len(batch) <= batch_size:
            yield batch
        else:
            for start in range(0, len(batch), batch_size):
                yield batch.slice(start, batch_size)


def _pandas() -> Any:
    import pandas as pd

    return pd


def table_from_pandas(frame: pd.DataFrame) -> tuple[pa.Table, dict[str, list[str]]]:
    """Convert a DataFrame column by column; an object column of mixed types becomes text.

    Returns the table and notes per column saying what was done to columns that needed it.
    NaN in float columns becomes null, as pandas counts it missing.
    """
    names = [str(c) for c in frame.columns]
    _check_unique_names(names)
    arrays, notes = [], {}
    for name, (_, column) in zip(names, frame.items(), strict=True):
        try:
            arrays.append(pa.array(column, from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
            kind = _pandas().api.types.infer_dtype(column, skipna=True)
            # pandas converts each value with str() in C; nulls stay missing.
            text = column.astype("string")
            arrays.append(pa.array(text, from_pandas=True, type=pa.large_string()))
            notes[name] = [f"object column of mixed types ({kind}): profiled as text"]
    return pa.Table.from_arrays(arrays, names=names), notes


_PIXELS_PER_CHUNK = 1 << 24  # 128 MiB of float64 pixels at a time


def images_table(images: Any) -> pa.Table:
    """Derived features per image: height, width, channels, brightness and contrast.

    ``images`` is an array [N, H, W], [N, C, H, W] or [N, H, W, C] (channels 1, 3 or 4), or a
    list of such images of different sizes. Brightness and contrast are the mean and standard
    deviation of pixel values, scaled to [0, 1] for integer images.
    """
    array = _as_array(images)
    if array is not None:
        if array.ndim not in (3, 4):
            raise ShapeError("images", "an array [N, H, W], [N, C, H, W] or [N, H, W, C]", array)
        if array.ndim == 3:
            array = array[:, None]
        elif array.shape[1] not in (1, 3, 4) and array.shape[-1] in (1, 3, 4):
            array = np.moveaxis(array, -1, 1)
        n, c, h, w = array.shape
        scale = _pixel_scale(array.dtype)
        brightness = np.empty(n)
        contrast = np.empty(n)
        step = max(1, _PIXELS_PER_CHUNK // max(1, c * h * w))
        for start in range(0, n, step):
            chunk = array[start : start + step].reshape(min(step, n - start), -1).astype(np.float64)
            brightness[start : start + len(chunk)] = chunk.mean(axis=1) * scale
            contrast[start : start + len(chunk)] = chunk.std(axis=1) * scale
        return pa.table(
            {
                "height": np.full(n, h, dtype=np.int64),
                "width": np.full(n, w, dtype=np.int64),
                "channels": np.full(n, c, dtype=np.int64),
                "brightness": brightness,
                "contrast": contrast,
            }
        )
    if isinstance(images, (list, tuple)):
        rows = {"height": [], "width": [], "channels": [], "brightness": [], "contrast": []}
        for index, image in enumerate(images):  # one step per image, vectorised within it
            img = _as_array(image)
            if img is None or img.ndim not in (2, 3):
                raise InvalidArgumentError(f"source[{index}]", "an image array [H, W] or [C, H, W] or [H, W, C]", image)
            if img.ndim == 2:
                img = img[None]
            elif img.shape[0] not in (1, 3, 4) and img.shape[-1] in (1, 3, 4):
                img = np.moveaxis(img, -1, 0)
            scale = _pixel_scale(img.dtype)
            values = img.astype(np.float64)
            rows["channels"].append(img.shape[0])
            rows["height"].append(img.shape[1])
            rows["width"].append(img.shape[2])
            rows["brightness"].append(float(values.mean()) * scale)
            rows["contrast"].append(float(values.std()) * scale)
        return pa.table(rows)
    raise ArgumentTypeError("images", "an array of images or a list of image arrays", images)


def _pixel_scale(dtype: np.dtype) -> float:
    if dtype == np.uint8:
        return 1.0 / 255.0
    if dtype == np.uint16:
        return 1.0 / 65535.0
    return 1.0


def texts_table(texts: Any) -> pa.Table:
    """The texts with derived ``length`` (characters) and ``tokens`` (whitespace-separated words)."""
    try:
        array = pa.array(texts if _is_series(texts) else list(texts), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as error:
        raise ArgumentTypeError("source", "a list of strings", texts, hint=str(error)) from None
    import pyarrow.compute as pc  # loads in a tenth of a second: only texts need it here

    # pyarrow.compute makes these functions at import, so its stubs lack them.
    lengths = pc.utf8_length(array)  # pyright: ignore[reportAttributeAccessIssue]
    tokens = pc.count_substring_regex(array, r"\S+")  # pyright: ignore[reportAttributeAccessIssue]
    return pa.table({"text": array, "length": lengths.cast(pa.int64()), "tokens": tokens.cast(pa.int64())})


def _is_series(value: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.Series)


def resolve_paths(source: str | os.PathLike | list | tuple) -> list[Path]:
    """Expand globs and folders into the list of files to read, in a stable order."""
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    paths: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if glob.has_magic(text):
            matched = sorted(glob.glob(text, recursive=True))
            if not matched:
                raise InvalidArgumentError("source", "a glob that matches Parquet or CSV files", text)
            paths.extend(Path(m) for m in matched if Path(m).is_file())
        elif os.path.isdir(text):
            found = sorted(p for p in Path(text).rglob("*") if p.is_file() and _format_of(p) is not None)
            if not found:
                raise InvalidArgumentError("source", "a folder holding Parquet or CSV files", text)
            paths.extend(found)
        elif os.path.isfile(text):
            paths.append(Path(text))
        else:
            raise InvalidArgumentError(
                "source", "an existing Parquet or CSV file, folder or glob", text, hint="check the path"
            )
    return paths


def _format_of(path: Path) -> str | None:
    name = path.name.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    if name.endswith(_CSV):
        return "csv"
    return None


def _file_stream(source: Any, batch_size: int, name: str | None) -> Stream:
    paths = resolve_paths(source)
    formats = []
    for path in paths:
        fmt = _format_of(path)
        if fmt is None:
            raise InvalidArgumentError("source", "files ending in .parquet or .csv (or .tsv)", str(path))
        if not os.access(path, os.R_OK):
            raise InvalidArgumentError("source", "a readable file", str(path), hint="check its permissions")
        formats.append(fmt)
    total = None
    strings: set[str] = set()
    if all(f == "parquet" for f in formats):
        files = [_parquet_file(p) for p in paths]
        total = sum(f.metadata.num_rows for f in files)
        for f in files:
            strings |= {field.name for field in f.schema_arrow if _is_plain_string(field.type)}
    label = name or (paths[0].stem if len(paths) == 1 else os.path.commonpath([str(p) for p in paths]) or "files")
    return Stream(label, _read_files(paths, formats, batch_size), total_rows=total, plain_strings=strings)


def _is_plain_string(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _parquet_file(path: Path, read_dictionary: list[str] | None = None, metadata: Any = None):
    """An open Parquet reader (``metadata``: the file's, when it was read already).

    Arrow's own reader, not ``pyarrow.parquet.ParquetFile``: importing ``pyarrow.parquet`` loads
    Arrow's filesystems (S3, TLS), a fifth of a first profile's imports, that a local file never
    needs.
    """
    from pyarrow._parquet import ParquetReader  # pyright: ignore[reportMissingModuleSource]

    try:
        reader = ParquetReader()
        reader.open(str(path), read_dictionary=read_dictionary, metadata=metadata, arrow_extensions_enabled=True)
        return reader
    except (pa.ArrowException, OSError) as error:
        raise InvalidArgumentError("source", "a readable Parquet file", str(path), hint=str(error)) from None


def _read_files(paths: list[Path], formats: list[str], batch_size: int) -> Iterator[pa.RecordBatch]:
    for path, fmt in zip(paths, formats, strict=True):
        if fmt == "parquet":
            plain = _parquet_file(path)
            _check_unique_names(plain.schema_arrow.names)
            encoded = _dictionary_strings(plain)
            reader = _parquet_file(path, encoded, plain.metadata) if encoded else plain
            second = functools.partial(_parquet_file, path, encoded or None, plain.metadata)
            batches = _parquet_batches(reader, batch_size, second)
        else:
            batches = _csv_batches(path, batch_size)
        yield from _wrap_errors(batches, str(path))


def _dictionary_strings(reader: Any) -> list[str]:
    """String columns that Parquet stores dictionary-encoded throughout: read as dictionaries,
    they decode faster and their values are counted on integer codes. A column whose dictionary
    outgrew the writer's limit fell back to plain pages; building an Arrow dictionary for it
    would hash every value, so it is read as plain strings."""
    strings = {f.name for f in reader.schema_arrow if _is_plain_string(f.type)}
    if not strings:
        return []
    metadata = reader.metadata
    encoded = set(strings)
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in range(row_group.num_columns):
            chunk = row_group.column(index)
            name = chunk.path_in_schema
            if name not in encoded:
                continue
            if not chunk.has_dictionary_page:
                encoded.discard(name)
                continue
            dictionary = chunk.data_page_offset - chunk.dictionary_page_offset
            # Codes take at most a few bytes a row; plain fallback pages take the strings' bytes.
            if chunk.total_uncompressed_size - dictionary > _CODE_BYTES_PER_ROW * max(row_group.num_rows, 1):
                encoded.discard(name)
    return [f.name for f in reader.schema_arrow if f.name in encoded]


_CODE_BYTES_PER_ROW = 8


def _parquet_batches(reader: Any, batch_size: int, second: Callable[[], Any] | None = None) -> Iterator[pa.RecordBatch]:
    """The file's record batches in order, row group by row group.

    ``second``: opens another reader of the same file; then, when row groups are small enough
    (``PARALLEL_GROUP_BYTES``), two are decoded side by side, each by its own reader: decoding a
    column chunk is single-threaded in Arrow, so a file of one or two columns otherwise decodes
    on one core. At most two row groups are held at a time (the one handed on and the next), so
    memory stays bounded by the row groups' size, not the file's.
    """
    empty = _null_columns(reader)
    decode = _group_decoder(reader, batch_size, empty)
    groups = reader.num_row_groups
    metadata = reader.metadata
    parallel = (
        second is not None
        and groups > 1
        and max(metadata.row_group(g).total_byte_size for g in range(groups)) <= PARALLEL_GROUP_BYTES
    )
    if not parallel:
        for group in range(groups):
            yield from decode(group)
        return
    from concurrent.futures import ThreadPoolExecutor

    decoders = [decode, _group_decoder(cast(Callable[[], Any], second)(), batch_size, empty)]

    def decoded(group: int) -> list[pa.RecordBatch]:
        return list(decoders[group % 2](group))  # a reader is never used by two threads at once

    with ThreadPoolExecutor(2, thread_name_prefix="deepscope-decode") as pool:
        pending = [pool.submit(decoded, g) for g in range(min(2, groups))]
        for group in range(groups):
            batches = pending.pop(0).result()
            yield from batches
            del batches
            if group + 2 < groups:  # once this group is handed on: two row groups held at most
                pending.append(pool.submit(decoded, group + 2))


PARALLEL_GROUP_BYTES = 64 << 20  # row groups decoded two at a time up to this (uncompressed) size


def _group_decoder(reader: Any, batch_size: int, empty: set[int]) -> Callable[[int], Iterator[pa.RecordBatch]]:
    """A function giving the record batches of one row group of ``reader``, the columns ``empty``
    (see ``_null_columns``) not decoded. A fresh batch iterator per row group: one iterator over
    the whole file keeps memory it no longer needs (peak RSS grew with the file's size), one per
    group stays flat."""
    if not empty:
        return lambda group: iter(reader.iter_batches(batch_size, row_groups=[group], use_threads=True))
    # Columns with no value in the whole file (their statistics say so) are not decoded: each
    # batch holds a shared array of nulls of their type in their place.
    schema = reader.schema_arrow
    read = [i for i in range(len(schema)) if i not in empty]
    placeholders: dict[tuple[str, int], pa.Array] = {}

    def nulls(index: int, rows: int) -> pa.Array:
        kind = schema.field(index).type
        key = (str(kind), rows)
        if key not in placeholders:
            placeholders[key] = pa.nulls(rows, kind)
        return placeholders[key]

    def decode(group: int) -> Iterator[pa.RecordBatch]:
        if read:
            parts = reader.iter_batches(batch_size, row_groups=[group], column_indices=read, use_threads=True)
            sizes = ((part.num_rows, part.columns) for part in parts)
        else:
            total = reader.metadata.row_group(group).num_rows
            sizes = ((min(batch_size, total - start), []) for start in range(0, total, batch_size))
        for rows, columns in sizes:
            decoded = iter(columns)
            arrays = [nulls(i, rows) if i in empty else next(decoded) for i in range(len(schema))]
            yield pa.RecordBatch.from_arrays(arrays, schema=schema)

    return decode


def _null_columns(reader: Any) -> set[int]:
    """The top-level columns whose statistics say every row group holds only nulls (nested
    columns, and any column a row group has no null count for, are read)."""
    metadata = reader.metadata
    schema = reader.schema_arrow
    if metadata.num_row_groups == 0 or metadata.num_columns != len(schema):
        return set()  # no row groups, or nested columns: Parquet's columns are not the fields
    empty = {i for i, f in enumerate(schema) if not pa.types.is_nested(f.type)}
    for group in range(metadata.num_row_groups):
        row_group = metadata.row_group(group)
        for index in list(empty):
            chunk = row_group.column(index)
            stats = chunk.statistics if chunk.is_stats_set else None
            if stats is None or not stats.has_null_count or stats.null_count != row_group.num_rows:
                empty.discard(index)
        if not empty:
            break
    return empty


def _csv_batches(path: Path, batch_size: int) -> Iterator[pa.RecordBatch]:
    import pyarrow.csv as pcsv

    delimiter = "\t" if ".tsv" in path.name.lower() else ","
    try:
        reader = pcsv.open_csv(
            path,
            read_options=pcsv.ReadOptions(block_size=32 << 20),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            # Empty fields are missing values, as pandas reads them.
            convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
        )
    except (pa.ArrowException, OSError, UnicodeDecodeError) as error:
        raise InvalidArgumentError("source", "a readable CSV file", str(path), hint=str(error)) from None
    _check_unique_names(reader.schema.names)
    yield from _rebatch(reader, batch_size)


def _wrap_errors(batches: Iterable[pa.RecordBatch], where: str) -> Iterator[pa.RecordBatch]:
    iterator = iter(batches)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except (pa.ArrowException, OSError, UnicodeDecodeError) as error:
            raise InvalidArgumentError(
                "source", "data that can be read to the end", where, hint=f"reading failed: {error}"
            ) from None
        yield batch
