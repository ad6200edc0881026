"""The dashboard's partial plotly.js bundle: it holds every trace type the code can draw, it is the
plotly.js version plotly.py expects, the app serves it from this machine, and no page loads dash's
full plotly.min.js."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, TypeGuard

import plotly.graph_objects as go
import pytest
from plotly.basedatatypes import BaseTraceType
from plotly.offline import get_plotlyjs_version

from deepscope.app import ASSETS, PLOTLY_BUNDLE, Page, always_active, create_app, discover_pages
from tests.conftest import eventually

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "deepscope"
ENTRY = ROOT / "tools" / "plotly-bundle" / "entry.js"
BUNDLE = ASSETS / PLOTLY_BUNDLE
FULL_BUNDLE = "package_data/plotly.min.js"  # dash's URL for plotly.py's full plotly.js


def _trace_classes() -> dict[str, str]:
    """plotly.py's trace classes by name, with their trace type (go.Scatter3d -> "scatter3d")."""
    classes = {}
    for name in dir(go):
        cls = getattr(go, name)
        if isinstance(cls, type) and issubclass(cls, BaseTraceType) and cls is not BaseTraceType:
            make: Any = cls  # go.Scatter() and the like take only keyword arguments
            classes[name] = make().type
    return classes


TRACE_CLASSES = _trace_classes()
TRACE_TYPES = set(TRACE_CLASSES.values())
# A trace in JavaScript (assets, clientside callbacks): {type: 'scattergl'}, {"type": "surface"}.
_JS_TYPE_KEY = re.compile(r"""['"]?\btype['"]?\s*:\s*['"](\w+)['"]""")


def bundled_types() -> set[str]:
    """The trace types tools/plotly-bundle/entry.js registers (the maintained list)."""
    names = set(re.findall(r"require\('plotly\.js/lib/(\w+)'\)", ENTRY.read_text(encoding="utf-8")))
    return names - {"core"}


def _graph_objects_names(tree: ast.Module) -> set[str]:
    """The names a module gives plotly.graph_objects (``import plotly.graph_objects as go``)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name for a in node.names if a.name in ("plotly.graph_objects", "plotly.graph_objs")}
        elif isinstance(node, ast.ImportFrom) and node.module == "plotly" and node.level == 0:
            names |= {a.asname or a.name for a in node.names if a.name in ("graph_objects", "graph_objs")}
    return names


def trace_types_in(path: Path) -> set[str]:
    """Every trace type a source file can put in a figure: plotly.py trace classes (called or not,
    e.g. ``kind = go.Scattergl if n > 2000 else go.Scatter``), ``fig.add_<type>(...)``, and
    ``type`` keys naming a trace in dicts and in JavaScript (clientside callbacks, assets)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix != ".py":
        return {name for name in _JS_TYPE_KEY.findall(text) if name in TRACE_TYPES}
    found: set[str] = set()
    tree = ast.parse(text)
    aliases = _graph_objects_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("plotly.express", "plotly.figure_factory", "plotly"):
            imported = {a.name for a in node.names}
            if node.module != "plotly" or imported & {"express", "figure_factory"}:
                raise AssertionError(f"{path}: plotly.express/figure_factory pick trace types this test cannot see")
        if isinstance(node, ast.Import) and any(
            a.name in ("plotly.express", "plotly.figure_factory") for a in node.names
        ):
            raise AssertionError(f"{path}: plotly.express/figure_factory pick trace types this test cannot see")
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in aliases and node.attr in TRACE_CLASSES:
                found.add(TRACE_CLASSES[node.attr])
            if node.attr.startswith("add_") and node.attr[4:] in TRACE_TYPES:
                found.add(node.attr[4:])
        if isinstance(node, ast.ImportFrom) and node.module in ("plotly.graph_objects", "plotly.graph_objs"):
            found |= {TRACE_CLASSES[a.name] for a in node.names if a.name in TRACE_CLASSES}
        # {"type": "surface"} and dict(type="surface"); not other calls' type= (an html input's)
        if isinstance(node, ast.Dict):
            types = [v for k, v in zip(node.keys, node.values, strict=True) if _is_str(k, "type")]
            found |= {v.value for v in types if _is_str(v) and v.value in TRACE_TYPES}
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            types = [k.value for k in node.keywords if k.arg == "type"]
            found |= {v.value for v in types if _is_str(v) and v.value in TRACE_TYPES}
        if _is_str(node):  # JavaScript in a string: a clientside callback
            found |= {name for name in _JS_TYPE_KEY.findall(str(node.value)) if name in TRACE_TYPES}
    return found


def _is_str(node: ast.AST | None, value: str | None = None) -> TypeGuard[ast.Constant]:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and value in (None, node.value)


def trace_types_in_source() -> dict[str, set[str]]:
    """Trace type -> the files under src/deepscope that can draw it (the bundle itself left out)."""
    where: dict[str, set[str]] = {}
    for path in sorted([*SRC.rglob("*.py"), *SRC.rglob("*.js")]):
        if "vendor" in path.relative_to(SRC).parts:
            continue
        for name in trace_types_in(path):
            where.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return where


def test_the_bundle_registers_every_trace_type_the_code_draws():
    used = trace_types_in_source()
    # the scan sees what is there: the dashboard's known trace types, from classes and dicts alike
    assert {"scatter", "scattergl", "heatmap", "bar", "surface", "scatter3d", "parcoords"} <= set(used)
    missing = {name: sorted(files) for name, files in used.items() if name not in bundled_types()}
    assert not missing, (
        f"trace types drawn in src but not in the dashboard's plotly.js bundle: {missing}; add them to "
        "tools/plotly-bundle/entry.js and run tools/build_plotly_bundle.sh"
    )


def test_the_scan_finds_classes_dicts_and_javascript(tmp_path):
    source = tmp_path / "figures.py"
    source.write_text(
        "import plotly.graph_objects as pgo\n"
        "kind = pgo.Histogram\n"
        "fig = pgo.Figure(data=[{'type': 'pie'}], layout={'xaxis': {'type': 'category'}})\n"
        "fig.add_violin(y=[1])\n"
        "spec = dict(type='sankey')\n"
        "box = html.Input(type='image')\n"
        "JS = \"Plotly.react(gd, [{type: 'scatterpolar'}])\"\n",
        encoding="utf-8",
    )
    assert trace_types_in(source) == {"histogram", "pie", "violin", "sankey", "scatterpolar"}
    source.write_text("import plotly.express as px\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="plotly.express"):
        trace_types_in(source)


def test_the_built_file_matches_the_list_and_plotly_py():
    text = BUNDLE.read_text(encoding="utf-8")
    header = text[: text.index("*/")]
    # the version the installed plotly.py and dash draw for (their full plotly.min.js)
    assert f"v{get_plotlyjs_version()}" in header
    # each trace module is in the file: its registry entry survives minification
    built = set(re.findall(r'moduleType:"trace",name:"(\w+)"', text))
    assert built == bundled_types(), "the bundle is stale: run tools/build_plotly_bundle.sh"
    assert "window.Plotly = Plotly" in text
    assert (BUNDLE.parent / "plotly-deepscope.LICENSE.txt").read_text(encoding="utf-8").startswith("MIT License")
    full = Path(go.__file__).parents[1] / "package_data" / "plotly.min.js"
    assert BUNDLE.stat().st_size < 0.5 * full.stat().st_size


def test_the_app_serves_the_bundle_and_no_page_includes_plotly_js(sample_logdir):
    app = create_app(sample_logdir)
    client = app.server.test_client()
    index = client.get("/scalars").get_data(as_text=True)
    # the bundle's URL is in the page's config, for assets/plotly_early.js
    found = re.search(r'<script id="_dash-config"[^>]*>(.*?)</script>', index, re.S)
    assert found is not None
    config = json.loads(found.group(1))
    url = config["deepscope_plotlyjs_url"]
    assert url.startswith("/assets/vendor/plotly-deepscope.min.js?m=")
    # Dash adds assets/ scripts to every page: the bundle is loaded on demand instead, and the
    # full plotly.js is never named in a script tag
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', index)
    assert any("plotly_early.js" in src for src in scripts)
    assert not [src for src in scripts if "plotly-deepscope" in src or FULL_BUNDLE in src]
    served = client.get(url)
    assert served.status_code == 200
    assert served.get_data() == BUNDLE.read_bytes()


def test_without_the_bundle_file_pages_fall_back_to_dash_plotly_js(sample_logdir, monkeypatch):
    import deepscope.app

    app = create_app(sample_logdir)
    assert app._config()["deepscope_plotlyjs_url"] is not None
    monkeypatch.setattr(deepscope.app, "PLOTLY_BUNDLE", "vendor/no-such-bundle.js")
    # plotly_early.js then leaves dcc.Graph to load dash's own plotly.js, rather than a 404
    assert app._config()["deepscope_plotlyjs_url"] is None


def _one_of_each() -> dict[str, BaseTraceType]:
    xyz = {"z": [[1, 2, 3], [3, 1, 2], [2, 3, 1]]}
    return {
        "bar": go.Bar(x=["a", "b"], y=[1, 2]),
        "contour": go.Contour(**xyz),
        "heatmap": go.Heatmap(**xyz),
        "image": go.Image(z=[[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [9, 9, 9]]]),
        "parcoords": go.Parcoords(dimensions=[{"values": [1, 2, 3]}, {"values": [3, 1, 2]}]),
        "scatter": go.Scatter(y=[1, 3, 2]),
        "scatter3d": go.Scatter3d(x=[1, 2], y=[2, 1], z=[1, 1], mode="markers"),
        "scattergl": go.Scattergl(x=[1, 2, 3], y=[2, 1, 3], mode="markers"),
        "surface": go.Surface(**xyz),
        "waterfall": go.Waterfall(x=["a", "b", "c"], y=[1, -2, 3]),
    }


def _every_trace(ctx):
    """A figure of each trace type in the bundle, each drawn by its own dcc.Graph."""
    from dash import dcc, html

    return html.Div([dcc.Graph(id=f"every-{name}", figure=go.Figure(trace)) for name, trace in _one_of_each().items()])


EVERY_TRACE = Page("Every trace", "/every-trace", 90, always_active, _every_trace)


def _plotly_requests(page) -> list[str]:
    return page.evaluate(
        "() => performance.getEntriesByType('resource').map(e => e.name).filter(n => /plotly[^/]*\\.min\\.js/.test(n))"
    )


@pytest.mark.browser
def test_every_bundled_trace_draws_and_the_full_plotly_js_is_never_loaded(
    browser_page, live_server, sample_logdir, plots_drew, tmp_path
):
    assert set(_one_of_each()) == bundled_types()  # the page below draws one of each
    requests: list[str] = []
    browser_page.on("request", lambda request: requests.append(request.url))
    errors: list[str] = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    base = live_server(sample_logdir, pages=[*discover_pages(), EVERY_TRACE])
    # a session that starts on the Runs page (no chart, plotly.js not loaded) and goes to a page
    # with charts: dcc.Graph loads plotly.js itself then, from the URL dash's renderer gave it
    browser_page.goto(base)
    browser_page.locator("#runs-table").get_by_text("cnn-lr0.01").wait_for()
    assert _plotly_requests(browser_page) == []
    browser_page.locator(".ds-nav-link", has_text="Every trace").click()
    assert plots_drew(browser_page, count=len(bundled_types())) == len(bundled_types())
    drawn = browser_page.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot')].flatMap(gd => gd._fullData.map(t => t.type)).sort()"
    )
    assert drawn == sorted(bundled_types())
    registered = browser_page.evaluate("() => Object.keys(Plotly.PlotSchema.get().traces).sort()")
    assert registered == sorted(bundled_types())
    assert browser_page.evaluate("() => Plotly.version") == get_plotlyjs_version()
    # a page opened directly starts loading plotly.js with the page
    browser_page.goto(base + "every-trace")
    plots_drew(browser_page, count=len(bundled_types()))
    assert [u for u in _plotly_requests(browser_page) if "plotly-deepscope" in u]
    plotly_requests = [u for u in requests if re.search(r"plotly[^/]*\.min\.js", u)]
    assert plotly_requests and all("/assets/vendor/plotly-deepscope.min.js" in u for u in plotly_requests)
    assert not [u for u in requests if FULL_BUNDLE in u]
    assert not [u for u in requests if not u.startswith(base)]  # nothing from a CDN
    assert errors == []
    eventually(lambda: browser_page.locator(".js-plotly-plot .no-webgl").count(), 0)
    browser_page.screenshot(path=str(tmp_path / "every-trace.png"), full_page=True)
