"""Import TensorBoard event files (as written by ``torch.utils.tensorboard`` or TensorFlow) into a logdir.

Every folder holding event files becomes one deepscope run, named by its path relative to the
imported folder. Scalars (legacy ``simple_value`` and tensor summaries), histograms, images (PNG,
decoded with Pillow) and hyper-parameters (the hparams plugin) are converted, and the embedding
projector's data (``projector_config.pbtxt`` with its tensor and metadata TSVs and sprite images,
as ``SummaryWriter.add_embedding`` writes them) become the run's embeddings.
"""

from __future__ import annotations

import io
import logging
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deepscope.errors import ArgumentTypeError, LogdirError, MissingDependencyError
from deepscope.track import _paths, _sprite
from deepscope.track._values import image as checked_image
from deepscope.track.run import Run

logger = logging.getLogger(__name__)

_HUGE = 1e300  # TensorFlow's outer bucket limits are +-DBL_MAX
_PROJECTOR_CONFIG = "projector_config.pbtxt"


def import_tensorboard(tb_dir: str | os.PathLike[str], logdir: str | os.PathLike[str]) -> list[str]:
    """Convert every TensorBoard run under ``tb_dir`` into a run of ``logdir``; return the run names.

    A name already taken in ``logdir`` gets a suffix (``train-2``) rather than mixing two runs.
    A file that is not a TensorBoard event file is skipped and a folder with no readable file
    makes no run; a truncated or damaged file is imported up to the damage. Each is logged as a
    warning saying what was skipped and why; when nothing could be read it is a
    :class:`~deepscope.errors.LogdirError`.

    >>> names = import_tensorboard("runs/", "logs/")  # doctest: +SKIP
    """
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError as exc:
        raise MissingDependencyError("tensorboard", "tensorboard", "TensorBoard import") from exc
    if not isinstance(tb_dir, (str, os.PathLike)):
        raise ArgumentTypeError("tb_dir", "a folder path", tb_dir)
    source = Path(tb_dir)
    if not source.is_dir():
        raise LogdirError(f"TensorBoard folder {source} does not exist")
    folders = sorted(
        {p.parent for p in source.rglob("*tfevents*") if p.is_file()}
        | {p.parent for p in source.rglob(_PROJECTOR_CONFIG) if p.is_file()}
    )
    if not folders:
        raise LogdirError(f"no TensorBoard event files (events.out.tfevents.*) under {source}")

    names = []
    skipped: list[str] = []
    for folder in folders:
        scans = [_scan(path) for path in sorted(folder.glob("*tfevents*")) if path.is_file()]
        for scan in scans:
            if scan.problem:
                what = "skipped" if not scan.records else f"imported its first {scan.records} records"
                logger.warning("%s: %s; %s", scan.path, scan.problem, what)
        if not any(scan.records for scan in scans):
            skipped.append(f"{folder}: {scans[0].problem if scans else 'no event files'}")
            continue
        accumulator = event_accumulator.EventAccumulator(
            str(folder),
            size_guidance=event_accumulator.STORE_EVERYTHING_SIZE_GUIDANCE,
            purge_orphaned_data=False,
        )
        accumulator.Reload()
        relative = folder.relative_to(source).as_posix()
        own_name = source.resolve().name or "tensorboard"
        name = _free_name(Path(logdir), own_name if relative == "." else relative)
        run = Run(logdir, name, hparams=_hparams(accumulator), meta={"imported_from": str(folder)})
        try:
            wall_times = _copy_events(accumulator, run)
            _copy_projector(folder, run)
        except BaseException:
            run.finish("failed")
            raise
        if wall_times:
            run._set_times(start_time=min(wall_times))
        run._close("finished", end_time=max(wall_times) if wall_times else None)
        names.append(name)
        logger.info("imported %s as run %r", folder, name)
    if not names:
        raise LogdirError(f"nothing imported from {source}: no readable TensorBoard event file ({'; '.join(skipped)})")
    return names


_HEADER = struct.Struct("<QI")  # record length, masked CRC-32C of the length
_MAX_RECORD = 1 << 31


@dataclass(frozen=True)
class _Scan:
    path: Path
    records: int
    problem: str = ""


def _scan(path: Path) -> _Scan:
    """How many whole records an event file holds, and what is wrong after them (if anything).

    Checks the TFRecord framing (each length and its checksum) without decoding the events, so a
    file of random bytes or one cut short is told apart from a complete one.
    """
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    records = 0
    try:
        with open(path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            while True:
                header = file.read(_HEADER.size)
                if not header:
                    return _Scan(path, records)
                if len(header) < _HEADER.size:
                    return _Scan(path, records, "the file is truncated (a record header is cut short)")
                length, checksum = _HEADER.unpack(header)
                if masked_crc32c(header[:8]) != checksum or length > _MAX_RECORD:
                    problem = (
                        "not a TensorBoard event file"
                        if records == 0
                        else f"damaged after record {records} (a record header fails its checksum)"
                    )
                    return _Scan(path, records, problem)
                if file.tell() + length + 4 > size:
                    return _Scan(path, records, f"the file is truncated after record {records}")
                file.seek(length + 4, os.SEEK_CUR)
                records += 1
    except OSError as exc:
        return _Scan(path, records, f"cannot be read ({exc.strerror or exc})")


def _free_name(logdir: Path, name: str) -> str:
    candidate, number = name, 1
    while (logdir / _paths.run_folder(candidate)).exists():
        number += 1
        candidate = f"{name}-{number}"
    return candidate


def _copy_events(accumulator: Any, run: Run) -> list[float]:
    """Copy every supported event into ``run``; return wall times seen (for the run's start and end)."""
    from tensorboard.util import tensor_util

    tags = accumulator.Tags()
    seen: list[float] = []
    for tag in tags.get("scalars", []):
        events = accumulator.Scalars(tag)
        _add_scalars(run, tag, [(e.step, e.wall_time, e.value) for e in events], seen)
    for tag in tags.get("histograms", []):
        for event in accumulator.Histograms(tag):
            run._add_histogram(tag, event.step, event.wall_time, _from_histogram_proto(event.histogram_value))
            seen.append(event.wall_time)
    for tag in tags.get("images", []):
        for event in accumulator.Images(tag):
            _add_encoded_image(run, tag, event.step, event.wall_time, event.encoded_image_string)
            seen.append(event.wall_time)
    for tag in tags.get("tensors", []):
        plugin = accumulator.SummaryMetadata(tag).plugin_data.plugin_name
        events = accumulator.Tensors(tag)
        if plugin == "scalars":
            points = [(e.step, e.wall_time, tensor_util.make_ndarray(e.tensor_proto).item()) for e in events]
            _add_scalars(run, tag, points, seen)
        elif plugin == "histograms":
            for event in events:
                run._add_histogram(
                    tag,
                    event.step,
                    event.wall_time,
                    _from_histogram_tensor(tensor_util.make_ndarray(event.tensor_proto)),
                )
                seen.append(event.wall_time)
        elif plugin == "images":
            for event in events:
                for encoded in tensor_util.make_ndarray(event.tensor_proto).reshape(-1)[2:]:
                    _add_encoded_image(run, tag, event.step, event.wall_time, encoded)
                seen.append(event.wall_time)
        else:
            logger.info("skipping TensorBoard tag %r of plugin %r: not converted", tag, plugin)
    return seen


def _add_scalars(run: Run, tag: str, points: Sequence[tuple[int, float, float]], seen: list[float]) -> None:
    if not points:
        return
    steps, walls, values = zip(*points, strict=True)
    run._add_scalar_chunk(tag, np.asarray(steps), np.asarray(walls), np.asarray(values, dtype=np.float64))
    seen.extend((min(walls), max(walls)))


def _from_histogram_proto(hist: Any) -> dict[str, Any]:
    """TensorBoard buckets are right limits, bucket i spanning (limit[i-1], limit[i]]."""
    limits = np.asarray(hist.bucket_limit, dtype=np.float64)
    counts = np.asarray(hist.bucket, dtype=np.float64)
    if len(limits) and counts[0] == 0:
        # torch's layout: the first bucket is empty and only marks the left edge
        edges, counts = limits, counts[1:]
    else:
        edges = np.concatenate([[min(hist.min, limits[0]) if len(limits) else hist.min], limits])
    edges = np.array(edges, dtype=np.float64)
    if len(edges) and abs(edges[0]) >= _HUGE:
        edges[0] = hist.min
    if len(edges) and abs(edges[-1]) >= _HUGE:
        edges[-1] = hist.max
    return {
        "edges": edges,
        "counts": counts,
        "count": int(round(hist.num)),
        "min": hist.min,
        "max": hist.max,
        "sum": hist.sum,
        "sum_squares": hist.sum_squares,
        "nan_count": 0,
        "inf_count": 0,
    }


def _from_histogram_tensor(buckets: np.ndarray) -> dict[str, Any]:
    """Tensor histograms (TensorFlow 2) are rows of (left edge, right edge, count)."""
    buckets = np.asarray(buckets, dtype=np.float64).reshape(-1, 3)
    edges = np.append(buckets[:, 0], buckets[-1, 1]) if len(buckets) else np.zeros(0)
    counts = buckets[:, 2]
    centres = (buckets[:, 0] + buckets[:, 1]) / 2
    return {
        "edges": edges,
        "counts": counts,
        "count": int(counts.sum()),
        "min": float(edges[0]) if len(edges) else np.nan,
        "max": float(edges[-1]) if len(edges) else np.nan,
        "sum": float(centres @ counts),
        "sum_squares": float((centres**2) @ counts),
        "nan_count": 0,
        "inf_count": 0,
    }


_WARNED_NO_PIL = False


def _add_encoded_image(run: Run, tag: str, step: int, wall_time: float, encoded: bytes) -> None:
    global _WARNED_NO_PIL
    try:
        from PIL import Image
    except ImportError:
        if not _WARNED_NO_PIL:
            logger.warning("Pillow is not installed: TensorBoard images are skipped")
            _WARNED_NO_PIL = True
        return
    try:
        with Image.open(io.BytesIO(encoded)) as picture:
            if picture.mode not in ("L", "RGB", "RGBA"):
                picture = picture.convert("RGBA" if "A" in picture.mode else "RGB")
            pixels = np.asarray(picture)
    except OSError as exc:
        logger.warning("skipping an undecodable image of tag %r at step %d: %s", tag, step, exc)
        return
    run._add_image(tag, step, wall_time, checked_image(pixels))


def _hparams(accumulator: Any) -> dict[str, Any]:
    try:
        contents = accumulator.PluginTagToContent("hparams")
    except KeyError:
        return {}
    from tensorboard.plugins.hparams import plugin_data_pb2

    hparams: dict[str, Any] = {}
    for content in contents.values():
        # protobuf makes message classes at import, so the generated module's stubs lack them.
        data = plugin_data_pb2.HParamsPluginData.FromString(content)  # pyright: ignore[reportAttributeAccessIssue]
        if data.WhichOneof("data") != "session_start_info":
            continue
        for key, value in data.session_start_info.hparams.items():
            kind = value.WhichOneof("kind")
            if kind in ("number_value", "string_value", "bool_value"):
                hparams[key] = getattr(value, kind)
    return hparams


def _copy_projector(folder: Path, run: Run) -> None:
    """Log each embedding listed in ``folder/projector_config.pbtxt`` (TSV tensors only)."""
    config_file = folder / _PROJECTOR_CONFIG
    if not config_file.is_file():
        return
    from google.protobuf import text_format
    from tensorboard.plugins.projector import projector_config_pb2

    # protobuf makes message classes at import, so the generated module's stubs lack them.
    config = projector_config_pb2.ProjectorConfig()  # pyright: ignore[reportAttributeAccessIssue]
    try:
        text_format.Parse(config_file.read_text(encoding="utf-8"), config)
    except (OSError, text_format.ParseError) as exc:
        logger.warning("skipping the projector data of %s: %s", folder, exc)
        return
    for embedding in config.embeddings:
        name = embedding.tensor_name or "embedding"
        if not embedding.tensor_path:
            logger.warning("skipping embedding %r of %s: only TSV tensors are imported", name, folder)
            continue
        tag, step = _projector_tag(name)
        try:
            vectors = np.loadtxt(
                _paths.inside(folder, embedding.tensor_path),
                dtype=np.float32,
                delimiter="\t",
                ndmin=2,
            )
            metadata = None
            if embedding.metadata_path:
                metadata = _projector_metadata(_paths.inside(folder, embedding.metadata_path))
            images = None
            if embedding.sprite.image_path and len(embedding.sprite.single_image_dim) == 2:
                width, height = embedding.sprite.single_image_dim
                sheet = _sprite.read_sprite(_paths.inside(folder, embedding.sprite.image_path))
                images = _sprite.split(sheet, len(vectors), height, width)
            run.log_embedding(tag, vectors, metadata, step, images=images)
        except (OSError, ValueError, LogdirError) as exc:
            logger.warning("skipping embedding %r of %s: %s", name, folder, exc)
            continue
        logger.info("imported embedding %r of %s", name, folder)


def _projector_tag(name: str) -> tuple[str, int]:
    """``"emb:00002"`` (as torch names them) is tag "emb" at step 2; other names are step 0."""
    tag, _, step = name.rpartition(":")
    if tag and step.isdigit():
        return tag, int(step)
    return name, 0


def _projector_metadata(path: Path) -> Any:
    """The projector's metadata TSV: one column without a header, or a header row and columns."""
    import pandas as pd

    lines = path.read_text(encoding="utf-8").splitlines()
    rows = [line.split("\t") for line in lines]
    if rows and len(rows[0]) > 1:
        frame = pd.DataFrame(rows[1:], columns=rows[0])
    else:
        frame = pd.DataFrame({"label": [row[0] if row else "" for row in rows]})
    for column in frame.columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if numbers.notna().all():
            frame[column] = numbers
    return frame
