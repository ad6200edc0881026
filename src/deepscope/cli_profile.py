"""The whole ``deepscope profile TRAIN [--against DATA] [--schema FILE] -o report.html`` job.

``cli_profile`` profiles, compares, checks drift and the schema, writes the self-contained report
and returns the exit code, so the command line only parses arguments and calls it:

- 0: no drift and no anomaly errors;
- 1: drift or anomalies exceed their thresholds (a data pipeline can stop on it);
- 2: bad input (unreadable file, empty dataset, bad schema); the message says what to fix.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, TextIO

from deepscope.data.drift import drift as drift_of
from deepscope.data.profile import profile
from deepscope.data.schema import Schema, infer_schema, validate
from deepscope.errors import DeepscopeError
from deepscope.report import write_report

__all__ = ["cli_profile", "EXIT_OK", "EXIT_FAILED_CHECKS", "EXIT_BAD_INPUT"]

EXIT_OK = 0
EXIT_FAILED_CHECKS = 1
EXIT_BAD_INPUT = 2


def _label(source: Any, fallback: str) -> str:
    if isinstance(source, (str, os.PathLike)):
        name = Path(source).name
        for suffix in (".gz", ".bz2", ".parquet", ".pq", ".csv", ".tsv"):
            name = name.removesuffix(suffix)
        return name or fallback
    return fallback


def cli_profile(
    train: Any,
    against: Any = None,
    schema: str | os.PathLike | None = None,
    output: str | os.PathLike = "report.html",
    *,
    thresholds: dict[str, float | None] | None = None,
    save_schema: str | os.PathLike | None = None,
    batch_size: int | None = None,
    engine: str = "auto",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Profile ``train`` (and ``against``), check drift and schema, write ``output``; an exit code.

    Without ``schema`` one is inferred from ``train`` (``save_schema`` writes it, to edit and pass
    next time) and ``against`` is validated against it; with ``schema`` both are validated.
    Drift is ``against`` relative to ``train`` with ``thresholds`` (see ``deepscope.data.drift``).
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        train_name = _label(train, "train")
        against_name = _label(against, "against") if against is not None else None
        if against_name == train_name:
            train_name, against_name = f"{train_name} (train)", f"{against_name} (against)"
        train_profile = profile(train, name=train_name, batch_size=batch_size, engine=engine)
        out.write(f"profiled {train_profile.name}: {train_profile.rows:,} rows, {len(train_profile)} features\n")
        profiles = [train_profile]
        against_profile = None
        if against is not None:
            against_profile = profile(against, name=against_name, batch_size=batch_size, engine=engine)
            profiles.append(against_profile)
            out.write(
                f"profiled {against_profile.name}: {against_profile.rows:,} rows, {len(against_profile)} features\n"
            )
        if schema is not None:
            rules = Schema.read(schema)
            checked = profiles
        else:
            rules = infer_schema(train_profile)
            checked = [against_profile] if against_profile is not None else []
        if save_schema is not None:
            rules.to_file(save_schema)
            out.write(f"schema written to {save_schema} (edit it, then pass --schema {save_schema})\n")
        anomalies = [validate(p, rules) for p in checked]
        report = drift_of(train_profile, against_profile, thresholds=thresholds) if against_profile else None
        path = write_report(
            output,
            *profiles,
            drift=report,
            anomalies=anomalies or None,
            title=f"deepscope profile: {' vs '.join(p.name for p in profiles)}",
        )
    except DeepscopeError as error:
        err.write(f"error: {error}\n")
        return EXIT_BAD_INPUT
    failed = False
    if report is not None:
        if report.drifted:
            failed = True
            out.write(
                f"drift: {', '.join(report.drifted_features)} ({report.drifted_share:.0%} of compared features)\n"
            )
        else:
            out.write("drift: none above the thresholds\n")
    for found in anomalies:
        errors = [a for a in found if a.severity == "error"]
        failed |= bool(errors)
        if len(found):
            kinds = sorted({a.kind for a in found})
            out.write(
                f"anomalies in {found.profile}: {len(errors)} errors, {len(found) - len(errors)} warnings "
                f"({', '.join(kinds)})\n"
            )
        else:
            out.write(f"anomalies in {found.profile}: none\n")
    out.write(f"report: {path} (open it in a browser)\n")
    return EXIT_FAILED_CHECKS if failed else EXIT_OK
