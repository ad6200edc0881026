"""The tests mirror the package, and only a missing optional extra may skip a test."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "deepscope"
TESTS = ROOT / "tests"


def test_each_test_folder_is_named_after_a_package_it_tests():
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    folders = {p.parent.relative_to(TESTS).parts[0] for p in TESTS.glob("*/**/*.py")}
    assert folders <= packages, f"test folders with no package of that name: {sorted(folders - packages)}"


def test_an_import_error_in_deepscope_fails_instead_of_skipping():
    """``importorskip`` is for optional extras (transformers, lightning, dask...), never deepscope."""
    pattern = re.compile(r"importorskip\(\s*['\"]deepscope")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not offenders, f"these skip when deepscope itself fails to import: {offenders}"
