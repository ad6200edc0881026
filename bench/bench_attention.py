"""Attention views at 512 tokens: deepscope's head and model views against BertViz's head_view.

Model: a BERT-base-sized encoder (12 layers x 12 heads, hidden 768) built from a config with
random weights (nothing downloaded), MiniLM's WordPiece tokenizer, one text of 512 tokens.
Both tools get the same attentions.

Measured:
- payload: the bytes the browser receives for the figure (deepscope: the plotly figure JSON;
  BertViz: its HTML, which embeds every weight as JSON text);
- first paint in headless Chromium: from navigation start until the figure is drawn (deepscope:
  ``Plotly.newPlot`` resolved and a frame rendered, plotly.js inlined so nothing is fetched;
  BertViz: its SVG appears, or not within the timeout, since it loads require.js, d3 and jQuery
  from a CDN);
- time to build the payload in Python.

Also an encoder-decoder (BART-base-sized config, 512 source tokens, ~130 target tokens): the time
for all three maps and the cross-attention model view (BertViz's takes minutes there, #121).

Targets (issue 11): head view first paint < 2 s, model view < 5 s, bounded payload.
BertViz's payload grows with layers x heads x tokens^2; by default it gets the last layer only
(``--bertviz-layers all`` for every layer: ~750 MB of JSON text, minutes and many GB of memory).

Run: python bench/bench_attention.py [--tokens 512] [--top-k 8] [--bertviz-layers last|all]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import plotly.offline
import torch

from _results import Results

TEXT = (
    "the movie was not good , but the acting was great and the music was not bad at all "
    "although the plot wasn't very interesting and i would not watch it again"
)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def build(tokens: int):
    import transformers

    from deepscope import zoo
    from deepscope.model import Model

    tokenizer = zoo.minilm().tokenizer
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=tokenizer.vocab_size, attn_implementation="eager"
    )  # bert-base: 12 layers, 12 heads, hidden 768, 512 positions
    module = transformers.BertModel(config).eval()
    words = TEXT.split(" ")
    words = (words * (tokens // len(words) + 2))[: tokens * 2]
    return Model(module, tokenizer=tokenizer, name="bert-base-random"), " ".join(words)


def page_html(figure_json: str, plotly_js: str) -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8">
<script>{plotly_js}</script></head><body><div id="plot" style="width:1200px"></div>
<script>
const figure = {figure_json};
Plotly.newPlot('plot', figure.data, figure.layout).then(() => requestAnimationFrame(() =>
  requestAnimationFrame(() => {{ window.paintedAt = performance.now(); }})));
</script></body></html>"""


def build_encoder_decoder(tokenizer, text: str):
    """A BART-base-sized encoder-decoder (6 + 6 layers, 12 heads, d_model 768), random weights."""
    import transformers

    from deepscope.model import Model

    torch.manual_seed(0)
    config = transformers.BartConfig(
        vocab_size=tokenizer.vocab_size,
        d_model=768,
        encoder_layers=6,
        decoder_layers=6,
        encoder_attention_heads=12,
        decoder_attention_heads=12,
        encoder_ffn_dim=3072,
        decoder_ffn_dim=3072,
        max_position_embeddings=512,
        attn_implementation="eager",
    )
    module = transformers.BartModel(config).eval()
    target = " ".join(text.split(" ")[:100])
    return Model(module, tokenizer=tokenizer, name="bart-base-random"), text, target


def paint_ms(browser, path: Path, ready: str, timeout_ms: float = 60_000) -> float | None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(path.as_uri(), wait_until="commit", timeout=timeout_ms)
        page.wait_for_function(ready, timeout=timeout_ms)
        return float(page.evaluate("() => window.paintedAt || performance.now()"))
    except Exception:
        return None
    finally:
        page.close()


def _minilm_mass(text: str, top_k: int) -> float | None:
    import warnings

    import deepscope as ds
    from deepscope import zoo

    try:
        model = zoo.minilm()
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = ds.text.attention(model, text)
    return found.edges(found.layers[-1], top_k=top_k).mass_kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=512)
    parser.add_argument("--top-k", default="auto", help="keys per query, or auto")
    parser.add_argument("--bertviz-layers", choices=("last", "all"), default="last")
    parser.add_argument("--bertviz-timeout", type=float, default=15.0, help="seconds to wait")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))

    import warnings

    import deepscope as ds
    from deepscope.viz.text_attention import head_view_figure, model_view_figure

    model, text = build(args.tokens)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the text is cut to the 512 positions on purpose
        found = ds.text.attention(model, text)
    compute_s = time.perf_counter() - start
    n_layers, n_heads, n, _ = found.weights.shape
    print(f"model: {model.name}, {n_layers} layers x {n_heads} heads, {n} tokens")
    print(f"ds.text.attention: {compute_s:.2f} s (forward with output_attentions)")
    full_mb = found.weights.nbytes / 1e6
    print(f"all weights: {full_mb:.0f} MB as float32\n")

    start = time.perf_counter()
    top_k = args.top_k if args.top_k == "auto" else int(args.top_k)
    head = head_view_figure(found, layer=n_layers - 1, top_k=top_k)
    head_json = head.to_json()
    head_build = time.perf_counter() - start
    start = time.perf_counter()
    model_view = model_view_figure(found)
    model_json = model_view.to_json()
    model_build = time.perf_counter() - start
    kept = head.layout.title.text.split("top ")[1].split(" ")[0]
    edges = found.edges(n_layers - 1, top_k=int(kept))

    seq2seq, source, target = build_encoder_decoder(model.tokenizer, text)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pair = ds.text.attention(seq2seq, source, target=target)
    pair_s = time.perf_counter() - start
    start = time.perf_counter()
    cross_json = model_view_figure(pair, which="cross").to_json()
    cross_build = time.perf_counter() - start

    plotly_js = plotly.offline.get_plotlyjs()
    folder = Path(tempfile.mkdtemp(prefix="bench-attention-"))
    (folder / "head.html").write_text(page_html(head_json, plotly_js), encoding="utf-8")
    (folder / "model.html").write_text(page_html(model_json, plotly_js), encoding="utf-8")
    (folder / "cross.html").write_text(page_html(cross_json, plotly_js), encoding="utf-8")
    (folder / "empty.html").write_text(page_html('{"data": [], "layout": {}}', plotly_js), encoding="utf-8")

    bertviz = None
    try:
        from bertviz import head_view as bertviz_head_view
    except ImportError:
        print("bertviz is not installed (pip install bertviz): no peer numbers")
    else:
        layers = [n_layers - 1] if args.bertviz_layers == "last" else list(range(n_layers))
        attentions = tuple(torch.from_numpy(found.weights[i][None]) for i in range(n_layers))
        start = time.perf_counter()
        html = bertviz_head_view(attentions, found.tokens, include_layers=layers, html_action="return").data
        bertviz_build = time.perf_counter() - start
        (folder / "bertviz.html").write_text(f"<!doctype html><html><body>{html}</body></html>")
        bertviz = (len(html.encode()), bertviz_build, layers)

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    paints: dict[str, float | None] = {}
    if chromium is None:
        print("no chromium on PATH: no paint times")
    else:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            painted = "() => window.paintedAt !== undefined"
            for name in ("empty", "head", "model", "cross"):
                paint_ms(browser, folder / f"{name}.html", painted)  # warm the disk cache
                paints[name] = paint_ms(browser, folder / f"{name}.html", painted)
            if bertviz is not None:
                paints["bertviz"] = paint_ms(
                    browser,
                    folder / "bertviz.html",
                    "() => document.querySelector('#vis svg') !== null",
                    timeout_ms=args.bertviz_timeout * 1000,
                )
            browser.close()

    def fmt(ms: float | None) -> str:
        return "did not paint" if ms is None else f"{ms / 1000:.2f} s"

    base = paints.get("empty")

    def over(ms: float | None) -> str:
        return "" if ms is None or base is None else f"{(ms - base) / 1000:>+10.2f} s"

    print(f"{'view':<34}{'payload':>12}{'build':>10}{'first paint':>16}{'over plotly.js':>16}")
    print(f"{'plotly.js alone (baseline)':<34}{len(plotly_js) / 1e6:>10.2f}MB{'':>10}{fmt(paints.get('empty')):>16}")
    print(
        f"{'deepscope head view (last layer)':<34}{len(head_json) / 1e6:>10.2f}MB"
        f"{head_build:>9.2f}s{fmt(paints.get('head')):>16}{over(paints.get('head')):>16}"
    )
    print(
        f"{'deepscope model view (144 maps)':<34}{len(model_json) / 1e6:>10.2f}MB"
        f"{model_build:>9.2f}s{fmt(paints.get('model')):>16}{over(paints.get('model')):>16}"
    )
    print(
        f"{'deepscope cross-attention model view':<34}{len(cross_json) / 1e6:>10.2f}MB"
        f"{cross_build:>9.2f}s{fmt(paints.get('cross')):>16}{over(paints.get('cross')):>16}"
    )
    print(
        f"  encoder-decoder: BART-base-sized config, {len(pair.tokens)} source x "
        f"{len(pair.decoder_tokens)} target tokens, attention + all three maps in {pair_s:.2f} s"
    )
    print(
        f"  head view: {len(edges)} links (top {kept} keys per query x {n_heads} heads), "
        f"{edges.mass_kept:.1%} of the layer's attention mass"
    )
    real = _minilm_mass(text, int(kept))
    if real is not None:
        print(
            f"  the same text on MiniLM (trained weights, 6 x 12): top {kept} keys per query keep "
            f"{real:.1%} of the last layer's attention mass (random weights attend almost uniformly)"
        )
    if bertviz is not None:
        size, build_s, layers = bertviz
        which = "last layer" if len(layers) == 1 else f"{len(layers)} layers"
        print(
            f"{'BertViz head_view (' + which + ')':<34}{size / 1e6:>10.2f}MB{build_s:>9.2f}s"
            f"{fmt(paints.get('bertviz')):>16}"
        )
        if len(layers) == 1:
            print(
                f"  BertViz with all {n_layers} layers (its default): ~{size * n_layers / 1e6:.0f} MB "
                f"(x{n_layers}, estimated), ~{build_s * n_layers:.0f} s to build"
            )
        print(
            f"  payload ratio BertViz / deepscope head view: {size / len(head_json):.1f}x "
            f"({'last layer' if len(layers) == 1 else 'all layers'})"
        )
        if paints.get("bertviz") is None:
            print("  BertViz loads require.js, d3 and jQuery from cdnjs: offline it never paints")
    results = Results(
        "bench_attention",
        f"BERT-base-sized encoder from a config (random weights), {n_layers} x {n_heads} heads, {n} tokens; "
        "first paint in headless Chromium with plotly.js inlined",
    )
    for name in ("head", "model"):
        paint = paints.get(name)
        if paint is not None and base is not None:
            results.add(f"{name} view first paint (plotly.js alone)", ours=paint / 1000, peer=base / 1000,
                        peer_name="plotly.js alone", peer_package="plotly")  # fmt: skip
    if bertviz is not None:
        size, _, layers = bertviz
        which = "last layer" if len(layers) == 1 else "all layers"
        results.add(f"head view payload vs BertViz head_view ({which})", ours=len(head_json) / 1e6, peer=size / 1e6,
                    peer_name="bertviz", peer_package="bertviz", quantity="payload", unit="MB")  # fmt: skip
        if paints.get("bertviz") is None:
            results.note("BertViz loads require.js, d3 and jQuery from a CDN: offline it never paints")
    head_ok = paints.get("head") is not None and paints["head"] < 2000
    model_ok = paints.get("model") is not None and paints["model"] < 5000
    print(
        f"\ntargets: head view < 2 s: {'met' if head_ok else 'NOT met'}, "
        f"model view < 5 s: {'met' if model_ok else 'NOT met'}"
    )
    results.note(f"head view < 2 s: {'met' if head_ok else 'NOT met'}")
    results.note(f"model view < 5 s: {'met' if model_ok else 'NOT met'}")
    results.write()
    shutil.rmtree(folder, ignore_errors=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
