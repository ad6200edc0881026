"""The example notebooks run top to bottom, offline, and every result in them renders inline.

Each notebook in ``examples/`` is executed headless in a fresh kernel (nbclient). Cells tagged
``result`` must show a deepscope result as HTML (a plotly figure or a table). No output may name
a network address other than localhost: the one inlined copy of plotly.js is the only script a
notebook needs, and it is taken out before looking (its source names XML namespaces and its
own documentation, which are not fetched).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
plotly_offline = pytest.importorskip("plotly.offline")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
CAPABILITIES = {"monitor", "explain", "evaluate", "data", "text", "features", "projector"}
TIMEOUT_S = 180  # per cell, generous for a shared machine; the notebooks take seconds
NETWORK = re.compile(r"https?://(?!(?:localhost|127\.0\.0\.1)(?:[:/]|$))[^\s\"'<>)]+")
PLOTLY_JS = plotly_offline.get_plotlyjs()


def _run(path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    book = nbformat.read(path, as_version=4)
    # the kernel (this interpreter's python3) imports this checkout's deepscope
    paths = [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
    client = nbclient.NotebookClient(
        book,
        timeout=TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return book


def _texts(output: dict) -> list[str]:
    texts = []
    if "text" in output:
        texts.append(output["text"])
    for value in output.get("data", {}).values():
        texts.append(value if isinstance(value, str) else str(value))
    if output.get("output_type") == "error":
        texts.append("\n".join(output.get("traceback", [])))
    return texts


def test_one_notebook_per_capability():
    assert {path.stem for path in NOTEBOOKS} >= CAPABILITIES


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_offline_and_renders_its_results(path, monkeypatch):
    book = _run(path, monkeypatch)
    cells = [cell for cell in book.cells if cell.cell_type == "code"]
    assert all(cell.get("execution_count") for cell in cells), "every cell ran"
    result_cells = [cell for cell in cells if "result" in cell.metadata.get("tags", [])]
    assert result_cells, "the notebook shows at least one result"
    plotly_sent = 0
    for cell in result_cells:
        shown = [o for o in cell.outputs if o.get("output_type") in ("execute_result", "display_data")]
        html = [o["data"]["text/html"] for o in shown if "text/html" in o.get("data", {})]
        assert html, f"no inline HTML for the result of:\n{cell.source}"
        page = html[-1]
        assert "Plotly.newPlot" in page or "<table" in page, cell.source
        plotly_sent += PLOTLY_JS in page
    assert plotly_sent <= 1, "plotly.js is inlined once per notebook"
    for cell in cells:
        for output in cell.outputs:
            assert output.get("output_type") != "error", "\n".join(output.get("traceback", []))
            for text in _texts(output):
                found = NETWORK.findall(text.replace(PLOTLY_JS, ""))
                assert not found, f"network address in the output of:\n{cell.source}\n{found[:3]}"


def test_the_network_pattern_spares_only_localhost():
    assert NETWORK.findall('<script src="https://cdn.plot.ly/plotly.min.js">') == ["https://cdn.plot.ly/plotly.min.js"]
    assert NETWORK.findall("http://localhost:8050/ and http://127.0.0.1/x") == []
    assert NETWORK.findall("http://localhost.evil.com/") == ["http://localhost.evil.com/"]
