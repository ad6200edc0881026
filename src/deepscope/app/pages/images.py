"""Images: one tag of one run over steps, with a step slider.

Small images are scaled up by a whole factor with square pixels, so what shows is what was
logged; the caption gives the step, the size and the scale.
"""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, dcc, html

from deepscope.app.components import field
from deepscope.app.pickers import register_run_tag_pickers
from deepscope.app.plugin import AppContext, Page
from deepscope.app.series import SeriesSource
from deepscope.viz.images import display_size, image_src

MAX_LABELS = 8  # step numbers written under the slider; every image is a stop on it
MAX_DOTS = 60  # beyond this many images, unlabelled stops get no dot (a grey smear otherwise)
_ROW = {"display": "flex", "flexWrap": "wrap", "gap": "12px 28px", "alignItems": "flex-end"}


def is_active(ctx: AppContext) -> bool:
    """Whether any run has an image; stops at the first run that has one (cached per run)."""
    if ctx.logdir is None:
        return False
    return SeriesSource.shared(ctx.logdir).has_any("images")


def layout(ctx: AppContext) -> Any:
    return html.Div(
        className="ds-page",
        children=[
            html.Div(
                className="ds-page-head",
                children=[
                    html.H1("Images"),
                    html.Span(id="images-summary", className="ds-muted"),
                ],
            ),
            html.Div(
                style=_ROW,
                children=[
                    field("Run", dcc.Dropdown(id="images-run", clearable=False, style={"width": "280px"})),
                    field("Tag", dcc.Dropdown(id="images-tag", clearable=False, style={"width": "280px"})),
                ],
            ),
            field(
                "Step",
                dcc.Slider(
                    id="images-step",
                    min=0,
                    max=0,
                    step=1,
                    value=0,
                    marks={},
                    updatemode="drag",
                    included=False,
                    allow_direct_input=False,
                ),  # it would show the index
                maxWidth="720px",
                marginTop="16px",
            ),
            html.Figure(
                style={"margin": "16px 0 0"},
                children=[
                    html.Img(
                        id="images-image",
                        alt="",
                        style={
                            "imageRendering": "pixelated",
                            "border": "1px solid #E4E7EB",
                            "background": "repeating-conic-gradient(#F5F7FA 0 25%, #FFF 0 50%) 0 0 / 16px 16px",
                        },
                    ),
                    html.Figcaption(id="images-caption", className="ds-muted"),
                ],
            ),
        ],
    )


def register_callbacks(app: dash.Dash, ctx: AppContext) -> None:
    if ctx.logdir is None:
        return
    source = SeriesSource.shared(ctx.logdir)

    register_run_tag_pickers(app, source, "images", "images")

    @app.callback(
        Output("images-step", "min"),
        Output("images-step", "max"),
        Output("images-step", "marks"),
        Output("images-step", "value"),
        Output("images-summary", "children"),
        Input("images-run", "value"),
        Input("images-tag", "value"),
        Input("app-logdir-version", "data"),
        State("images-step", "value"),
        State("images-step", "max"),
    )
    def update_steps(run: str | None, tag: str | None, version: Any, current: Any, last: Any) -> tuple:
        if run is None or tag is None:
            return 0, 0, {}, 0, ""
        steps = [record[0] for record in source.images(tag, run, version=source.version(version))]
        if not steps:
            return 0, 0, {}, 0, "no images"
        # The slider moves over the logged images, one stop each. It follows the newest image
        # while it sits on the last one (a live run writing), and stays put elsewhere.
        stays = isinstance(current, int) and 0 <= current < len(steps) and current != last
        value = current if stays else len(steps) - 1
        return 0, len(steps) - 1, _marks(steps), value, f"{len(steps)} steps"

    @app.callback(
        Output("images-image", "src"),
        Output("images-image", "width"),
        Output("images-image", "height"),
        Output("images-image", "alt"),
        Output("images-caption", "children"),
        Input("images-step", "value"),
        Input("images-run", "value"),
        Input("images-tag", "value"),
        Input("app-logdir-version", "data"),
    )
    def update_image(index: Any, run: str | None, tag: str | None, version: Any) -> tuple:
        if run is None or tag is None:
            return None, None, None, "", ""
        records = source.images(tag, run, version=source.version(version))
        if not records:
            return None, None, None, "", "No images."
        steps = [record[0] for record in records]
        if not isinstance(index, int) or not 0 <= index < len(records):
            index = len(records) - 1
        found, image = records[index]
        width, height, factor = display_size(image.shape)
        scale = f", shown at {factor}×" if factor > 1 else ""
        caption = f"{tag} · step {found} ({index + 1} of {len(steps)}) · {image.shape[1]}×{image.shape[0]} px{scale}"
        return image_src(image), width, height, f"{tag} of {run} at step {found}", caption


def _marks(steps: list[int]) -> dict:
    """Slider marks at image positions: at most ``MAX_LABELS`` of them carry their step."""
    stride = max(1, -(-len(steps) // MAX_LABELS))
    labelled = set(range(0, len(steps), stride)) | {len(steps) - 1}
    dots = len(steps) <= MAX_DOTS
    return {i: (str(step) if i in labelled else "") for i, step in enumerate(steps) if dots or i in labelled}


PAGE = Page(
    name="Images",
    path="/images",
    order=30,
    is_active=is_active,
    layout=layout,
    register_callbacks=register_callbacks,
)
