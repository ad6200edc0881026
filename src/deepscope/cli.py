"""The ``deepscope`` command: serve a logdir, build the demo, profile data, import TensorBoard logs.

Output is short and ends with the next command to type. Errors deepscope raises on purpose print
as one line, ``deepscope: error: ...``, with exit status 2.

>>> from deepscope.cli import main
>>> main(["--version"])  # doctest: +SKIP
deepscope 0.1.0
0
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, cast, overload

from deepscope.errors import DeepscopeError, LogdirError

__all__ = ["main", "build_parser"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 6060
DEFAULT_DEMO_LOGDIR = "demo-logdir"
DEFAULT_IMPORT_LOGDIR = "deepscope-logs"
DEFAULT_REPORT = "report.html"
# Models a logdir's runs name are loaded only from weights inside the logdir or the zoo cache,
# of a bounded file size and with bounded sizes in their hyper-parameters: a logdir someone else
# wrote must not make `deepscope serve` read arbitrary files or allocate without limit.
MAX_WEIGHTS_BYTES = 2 << 30
MAX_MODEL_HPARAM = 65_536


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line ``deepscope: error: ...`` (exit status 2) like every other."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"deepscope: error: {_printable(_one_line(message))} (see: {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from deepscope import __version__

    parser = _Parser(
        prog="deepscope",
        description="Make sense of deep-learning models by looking at them.",
        epilog="Start with: deepscope demo",
    )
    parser.add_argument("--version", action="version", version=f"deepscope {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="open the dashboard for a logdir",
        description="Serve the dashboard for a logdir, or the hyper-parameter explorer for a "
        "results table (127.0.0.1 only, unless a token is set).",
    )
    serve.add_argument(
        "logdir",
        metavar="LOGDIR",
        help="a log directory of runs, or a results table (.csv, .tsv, .parquet) "
        "to open in the hyper-parameter explorer",
    )
    _add_server_options(serve)

    demo = commands.add_parser(
        "demo",
        help="train the example models into a logdir and open the dashboard",
        description="Train the example models (a few minutes on CPU, cached) while logging runs, "
        "then serve the dashboard with those models live.",
    )
    demo.add_argument(
        "--logdir", default=DEFAULT_DEMO_LOGDIR, help=f"where to write the runs (default: {DEFAULT_DEMO_LOGDIR})"
    )
    demo.add_argument("--no-serve", action="store_true", help="build the logdir and stop")
    _add_server_options(demo)

    profile = commands.add_parser(
        "profile",
        help="profile a dataset, check drift and schema, write an HTML report",
        description="Profile TRAIN (and SERVING), check SERVING's drift from TRAIN and both against a "
        "schema, and write a self-contained HTML report. Exits 1 when drift or anomalies exceed "
        "their thresholds, so a data pipeline can stop on it; 2 on bad input.",
    )
    profile.add_argument("train", metavar="TRAIN", help="the reference data: a Parquet or CSV file, a folder or a glob")
    profile.add_argument(
        "--against", metavar="SERVING", help="data to compare with TRAIN (drift) and validate (schema)"
    )
    profile.add_argument(
        "--schema", metavar="SCHEMA.json", help="validate against this schema (default: one inferred from TRAIN)"
    )
    profile.add_argument(
        "--save-schema", metavar="OUT.json", help="write the schema used, to edit and pass as --schema next time"
    )
    profile.add_argument(
        "--threshold",
        metavar="METRIC=VALUE",
        action="append",
        type=_threshold,
        default=[],
        help="override a drift threshold, e.g. psi=0.1 or ks_pvalue=0.01 ('none' reports "
        "the metric without judging it); repeatable",
    )
    profile.add_argument(
        "-o", "--output", default=DEFAULT_REPORT, help=f"the HTML report to write (default: {DEFAULT_REPORT})"
    )

    tensorboard = commands.add_parser(
        "import-tensorboard",
        help="convert TensorBoard event files into a deepscope logdir",
    )
    tensorboard.add_argument("source", metavar="DIR", help="a TensorBoard log directory")
    tensorboard.add_argument(
        "--logdir",
        default=DEFAULT_IMPORT_LOGDIR,
        help=f"the deepscope logdir to write (default: {DEFAULT_IMPORT_LOGDIR})",
    )
    return parser


def _threshold(text: str) -> tuple[str, float | None]:
    from deepscope.data import DEFAULT_THRESHOLDS

    metric, sep, value = text.partition("=")
    metric = metric.strip()
    if not sep or metric not in DEFAULT_THRESHOLDS:
        raise argparse.ArgumentTypeError(
            f"expected METRIC=VALUE with METRIC one of {', '.join(DEFAULT_THRESHOLDS)}, got {text!r}"
        )
    if value.strip().lower() == "none":
        return metric, None
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"the threshold for {metric} must be a number or none, got {value!r}"
        ) from None
    if not number >= 0:
        raise argparse.ArgumentTypeError(f"the threshold for {metric} must be 0 or more, got {value!r}")
    return metric, number


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number (0-65535), got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number (0-65535), got {port}")
    return port


def _add_server_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument(
        "--port", type=_port, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--token",
        default=None,
        help="require this token on every request (default: $DEEPSCOPE_TOKEN); "
        "needed for any --host other than 127.0.0.1/localhost. Other users can "
        "see it in `ps`: prefer $DEEPSCOPE_TOKEN or --token-file",
    )
    parser.add_argument("--token-file", metavar="FILE", default=None, help="read the token from the first line of FILE")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    logging.basicConfig(level=logging.WARNING, format="deepscope: %(message)s")
    handlers = {"serve": _serve, "demo": _demo, "profile": _profile, "import-tensorboard": _import_tensorboard}
    try:
        return handlers[args.command](args)
    except DeepscopeError as err:
        print(f"deepscope: error: {_printable(_one_line(err))}", file=sys.stderr)
        return 2
    except UnicodeError as err:  # a file name that is not valid text on this system
        name = err.object if isinstance(err, UnicodeEncodeError) else ""
        print(
            f"deepscope: error: the file name {_printable(name)} is not valid UTF-8, which this "
            "command needs; rename it",
            file=sys.stderr,
        )
        return 2
    except OSError as err:  # a folder given for a file, no permission, a full disk
        where = f": {_printable(str(err.filename))}" if err.filename else ""
        print(f"deepscope: error: {err.strerror or _printable(str(err))}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepscope: stopped", file=sys.stderr)
        return 130


def _one_line(err: BaseException | str) -> str:
    return " ".join(str(err).split())


def _printable(text: str) -> str:
    """``text`` with undecodable file-name bytes shown as escapes, so printing it cannot fail."""
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes of an undecodable file name
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _serve(args: argparse.Namespace) -> int:
    from deepscope.hparams.table import TABLE_SUFFIXES

    logdir = Path(args.logdir).expanduser()
    if logdir.suffix.lower() in TABLE_SUFFIXES and not logdir.is_dir():
        if not logdir.is_file():
            raise LogdirError(f"no results table at {logdir}; check the path")
        return _run_server(None, models={}, args=args, table=logdir)
    if not logdir.exists():
        raise LogdirError(
            f"no logdir at {logdir}. Log runs into it with ds.Run({str(logdir)!r}) in Python, "
            f"or build an example one: deepscope demo --logdir {logdir}"
        )
    if not logdir.is_dir():
        raise LogdirError(f"{logdir} is a file; a logdir is a directory of runs")
    return _run_server(logdir, models=models_from_logdir(logdir), args=args)


def _demo(args: argparse.Namespace) -> int:
    from deepscope.demo import build_demo, demo_datasets

    print(f"Building the demo logdir in {args.logdir} (models are cached after the first run)...")
    logdir, models = build_demo(args.logdir, progress=True)
    if args.no_serve:
        print(f"Demo logdir ready: {logdir}")
        print(f"Next: deepscope serve {logdir}")
        return 0
    return _run_server(Path(logdir), models=models, datasets=demo_datasets(), args=args)


def _profile(args: argparse.Namespace) -> int:
    import io

    from deepscope.cli_profile import cli_profile

    @overload
    def path(value: str) -> str: ...
    @overload
    def path(value: None) -> None: ...
    def path(value: str | None) -> str | None:
        return None if value is None else os.path.expanduser(value)

    for option, value in (("--output", args.output), ("--save-schema", args.save_schema)):
        if value is not None:
            _check_output_file(option, Path(path(value)))
    errors = io.StringIO()
    code = cli_profile(
        path(args.train),
        path(args.against),
        path(args.schema),
        path(args.output),
        thresholds=dict(args.threshold) or None,
        save_schema=path(args.save_schema),
        stderr=errors,
    )
    if errors.getvalue():
        message = _one_line(errors.getvalue()).removeprefix("error: ")
        print(f"deepscope: error: {message}", file=sys.stderr)
    return code


def _check_output_file(option: str, target: Path) -> None:
    if target.is_dir() or str(target).endswith(("/", os.sep)):
        raise LogdirError(f"{option} {target} is a folder; give a file name, e.g. {target / 'out'}")
    if not target.parent.is_dir():
        raise LogdirError(f"{option} {target}: the folder {target.parent} does not exist; create it first")


def _import_tensorboard(args: argparse.Namespace) -> int:
    from deepscope.track import import_tensorboard

    source = Path(args.source).expanduser()
    if not source.exists():
        raise LogdirError(f"no TensorBoard logs at {source}")
    names = import_tensorboard(source, args.logdir) or []
    runs = f": {len(names)} run{'s' if len(names) != 1 else ''}" if names else ""
    print(_printable(f"Imported {source} into {args.logdir}{runs}"))
    print(f"Next: deepscope serve {args.logdir}")
    return 0


def _run_server(
    logdir: Path | None,
    *,
    models: dict[str, Any],
    args: argparse.Namespace,
    table: Path | None = None,
    datasets: dict[str, Any] | None = None,
) -> int:
    from deepscope.app import serve
    from deepscope.app.server import (
        TOKEN_ENV,
        ServerHandle,
        browser_addresses,
        check_host_and_token,
    )

    token = args.token or _token_from_file(getattr(args, "token_file", None)) or os.environ.get(TOKEN_ENV) or None
    check_host_and_token(args.host, token)
    try:
        # block=False always returns a handle
        handle = cast(
            ServerHandle,
            serve(
                logdir,
                models=models,
                datasets=datasets,
                host=args.host,
                port=args.port,
                token=token,
                block=False,
                table=table,
            ),
        )
    except OSError as err:
        print(
            f"deepscope: error: cannot listen on {args.host}:{args.port} ({err.strerror or err}); "
            "pick another port with --port",
            file=sys.stderr,
        )
        return 2
    live = f" with {len(models)} live model{'s' if len(models) != 1 else ''}" if models else ""
    what = f"the hyper-parameter explorer on {table}" if logdir is None else f"{logdir}{live}"
    query = handle.url[handle.url.find("?") :] if "?" in handle.url else ""
    addresses = [address + query for address in browser_addresses(args.host, handle.port)]
    print(f"Serving {what} at {addresses[0]}")
    for address in addresses[1:]:
        print(f"  also at {address}")
    print(
        f"Open {'that address' if len(addresses) == 1 else 'one of those addresses'} in a browser; "
        "press Ctrl-C to stop."
    )
    try:
        handle.wait()
    except KeyboardInterrupt:
        print("\ndeepscope: stopped")
    finally:
        handle.stop()
    return 0


def _token_from_file(path: str | None) -> str | None:
    if path is None:
        return None
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as file:
            token = file.readline().strip()
    except OSError as err:
        raise LogdirError(f"cannot read --token-file {path}: {err.strerror or err}") from None
    if not token:
        raise LogdirError(f"--token-file {path} is empty; write the token on its first line")
    return token


def models_from_logdir(logdir: Path) -> dict[str, Any]:
    """Zoo models the runs of ``logdir`` were trained as (run meta ``zoo_model``), loaded lazily.

    Keyed by run name; a run whose meta does not name a zoo model and its weights is left out,
    and so is one whose weights lie outside the logdir and the zoo cache, are larger than
    ``MAX_WEIGHTS_BYTES``, or whose hyper-parameters ask for sizes beyond ``MAX_MODEL_HPARAM``.
    """
    from deepscope.app.plugin import LazyModels
    from deepscope.track import open_logdir

    try:
        runs = open_logdir(logdir).runs()
    except (DeepscopeError, OSError):
        log.warning("could not read the runs of %s to find their models", logdir, exc_info=True)
        return {}
    models: dict[str, Any] = {}
    for run, meta in zip(runs["run"], runs["meta"], strict=True):
        spec = meta.get("zoo_model") if isinstance(meta, dict) else None
        if not isinstance(spec, dict) or "name" not in spec:
            continue
        weights = spec.get("weights_path") or spec.get("weights")
        if not isinstance(weights, str) or not weights:
            continue
        problem = _weights_problem(logdir, Path(weights), spec.get("hparams"))
        if problem:
            log.warning("not loading the model of run %r: %s", run, problem)
            continue
        path = Path(weights) if Path(weights).is_absolute() else logdir / weights
        models[str(run)] = LazyModels.loader(_zoo_loader(spec["name"], str(path), spec.get("hparams")))
    return models


def _weights_problem(logdir: Path, weights: Path, hparams: Any) -> str:
    """Why the weights a run names must not be loaded ("" when they may)."""
    from deepscope.zoo import cache_dir

    try:
        path = (weights if weights.is_absolute() else logdir / weights).resolve()
        roots = [logdir.resolve(), cache_dir().parent.resolve()]
        if not any(path.is_relative_to(root) for root in roots):
            return f"its weights {weights} are outside the logdir and the model cache"
        if not path.is_file():
            return f"its weights {weights} are not a file"
        if path.stat().st_size > MAX_WEIGHTS_BYTES:
            return f"its weights {weights} are larger than {MAX_WEIGHTS_BYTES >> 30} GiB"
    except (OSError, ValueError) as err:
        return f"its weights {weights} cannot be read ({err})"
    if hparams is not None and not isinstance(hparams, dict):
        return "its hparams are not a mapping"
    for key, value in (hparams or {}).items():
        numbers = value if isinstance(value, list) else [value]
        if any(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) > MAX_MODEL_HPARAM for v in numbers):
            return f"its hyper-parameter {key}={value!r} is beyond {MAX_MODEL_HPARAM}"
    return ""


def _zoo_loader(name: str, weights: str, hparams: dict | None):
    def load() -> Any:
        from deepscope import zoo

        return zoo.load_weights(name, Path(weights), **(hparams or {}))

    return load


if __name__ == "__main__":
    sys.exit(main())
