"""Where the benchmarks write what they measured: ``bench/results.md``, the file the README cites.

Each ``bench/bench_<topic>.py`` collects its rows in a :class:`Results` and calls
:meth:`Results.write` at the end. The file keeps one section per benchmark (a run of one
benchmark replaces only its own section), each with when and where it ran (date, CPU, cores,
platform, Python, deepscope) and every row's peer with the peer's installed version. Every ratio
reads the same way: the peer's cost over deepscope's, so above 1 means deepscope is faster (or
lighter, for memory). The sections live in ``bench/results.json`` too, which the Markdown is
rebuilt from.

>>> r = Results("bench_example", "an example")
>>> r.add("sum of 10 numbers", ours=0.5, peer=2.0, peer_name="numpy", peer_package=None)
>>> r.rows[0]["ratio"]
4.0
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS_MD = HERE / "results.md"
RESULTS_JSON = HERE / "results.json"

__all__ = ["Results", "machine", "package_version", "RESULTS_MD"]


def package_version(package: str | None) -> str:
    """The installed version of ``package`` ("-" for none, "not installed" when absent)."""
    if not package:
        return "-"
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, Any]:
    """Where the benchmark ran: CPU model, cores, load, platform, Python and deepscope versions."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "load": round(load, 1),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "deepscope": package_version("deepscope"),
    }


class Results:
    """The rows of one benchmark run; :meth:`write` puts them into ``bench/results.md``."""

    def __init__(self, bench: str, setup: str) -> None:
        self.bench = bench
        self.setup = setup
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []

    def add(
        self,
        case: str,
        *,
        ours: float,
        peer: float,
        peer_name: str,
        peer_package: str | None,
        quantity: str = "time",
        unit: str = "s",
        peer_version: str | None = None,
    ) -> None:
        """One comparison: deepscope's cost ``ours`` against the peer's ``peer`` (same unit).

        ``peer_version``: for a peer installed elsewhere (its own virtualenv); by default the
        version of ``peer_package`` installed here.
        """
        self.rows.append(
            {
                "case": case,
                "quantity": quantity,
                "unit": unit,
                "ours": float(ours),
                "peer": float(peer),
                "peer_name": peer_name,
                "peer_version": peer_version or package_version(peer_package),
                "ratio": float(peer) / float(ours) if ours else float("inf"),
            }
        )

    def note(self, text: str) -> None:
        """A line printed under the table (a peer that could not run, a target met or missed)."""
        self.notes.append(text)

    def section(self) -> dict[str, Any]:
        now = dt.datetime.now(dt.timezone.utc)
        return {
            "date": now.strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine(),
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "",
            "setup": self.setup,
            "rows": self.rows,
            "notes": self.notes,
        }

    def write(self, markdown: Path = RESULTS_MD, store: Path | None = None) -> Path:
        """Replace this benchmark's section in ``results.json`` and rebuild ``results.md``."""
        store = store or markdown.with_suffix(".json")
        sections: dict[str, Any] = {}
        if store.exists():
            try:
                sections = json.loads(store.read_text(encoding="utf-8"))
            except ValueError:
                sections = {}
        sections[self.bench] = self.section()
        store.write_text(json.dumps(sections, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        markdown.write_text(render(sections), encoding="utf-8")
        print(f"results written to {markdown}")
        return markdown


def _amount(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1 else f"{value:.2f} s"
    return f"{value:,.1f} {unit}"


def render(sections: dict[str, Any]) -> str:
    """The Markdown of every benchmark's latest section."""
    lines = [
        "# Benchmark results",
        "",
        "Written by `make bench` (each `bench/bench_*.py` replaces its own section when it runs).",
        "**ratio** = the peer's cost / deepscope's, for the same work in the same process or",
        "machine: above 1, deepscope is faster (time) or lighter (memory); below 1, slower.",
        "The README's speed figures cite this file.",
        "",
    ]
    for bench in sorted(sections):
        section = sections[bench]
        where = section["machine"]
        lines += [
            f"## {bench}",
            "",
            f"- run: {section['date']}, `{section['command']}`",
            f"- machine: {where['cpu']}, {where['cores']} cores (load {where['load']}), "
            f"{where['platform']}, Python {where['python']}, deepscope {where['deepscope']}",
            f"- setup: {section['setup']}",
            "",
            "| case | measure | deepscope | peer | peer version | peer's | ratio |",
            "|---|---|---:|---|---|---:|---:|",
        ]
        for row in section["rows"]:
            case = row["case"].replace("|", "\\|")
            lines.append(
                f"| {case} | {row['quantity']} | {_amount(row['ours'], row['unit'])} "
                f"| {row['peer_name']} | {row['peer_version']} "
                f"| {_amount(row['peer'], row['unit'])} | {row['ratio']:.2f}x |"
            )
        lines += [""] + [f"- {note}" for note in section["notes"]] + ([""] if section["notes"] else [])
    return "\n".join(lines).rstrip() + "\n"
