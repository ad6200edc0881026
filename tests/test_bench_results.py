"""The benchmarks' results writer: one section per benchmark, ratios peer / deepscope, versions."""

from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
results = pytest.importorskip("_results")


def test_sections_are_replaced_one_benchmark_at_a_time(tmp_path):
    markdown = tmp_path / "results.md"
    first = results.Results("bench_a", "1,000 rows")
    first.add("sum | total", ours=0.5, peer=2.0, peer_name="pandas", peer_package="pandas")
    first.write(markdown)
    second = results.Results("bench_b", "tiny")
    second.add(
        "peak",
        ours=40.0,
        peer=20.0,
        peer_name="other",
        peer_package=None,
        quantity="peak memory",
        unit="MiB",
        peer_version="9.9",
    )
    second.note("a peer could not run")
    second.write(markdown)
    again = results.Results("bench_a", "2,000 rows")
    again.add("sum | total", ours=1.0, peer=3.0, peer_name="pandas", peer_package="pandas")
    again.write(markdown)

    stored = json.loads((tmp_path / "results.json").read_text())
    assert sorted(stored) == ["bench_a", "bench_b"]
    assert stored["bench_a"]["setup"] == "2,000 rows" and stored["bench_a"]["rows"][0]["ratio"] == 3.0
    text = markdown.read_text()
    assert text.index("## bench_a") < text.index("## bench_b")
    version = importlib.metadata.version("pandas")
    assert f"| sum \\| total | time | 1.00 s | pandas | {version} | 3.00 s | 3.00x |" in text
    assert "| peak | peak memory | 40.0 MiB | other | 9.9 | 20.0 MiB | 0.50x |" in text
    assert "- a peer could not run" in text and "1,000 rows" not in text
    machine = stored["bench_b"]["machine"]
    assert machine["cores"] >= 1 and machine["python"] and f"{machine['cores']} cores" in text


def test_versions_of_missing_packages_say_so():
    assert results.package_version("no-such-package-for-sure") == "not installed"
    assert results.package_version(None) == "-"
