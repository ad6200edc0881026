// The Scalars page redraws the charts in the window when a control changes (smoothing, x axis,
// runs...). The page's clientside callback hands each drawn chart in view to
// `deepscopeScalars.show`, which skips a chart already asked for the same controls, and gathers
// the charts of one change into a single request to the server's figure route; the answers are
// drawn in one go with Plotly.react, on the graphs that are already on the page. That skips a
// Dash server callback per chart (its dispatch, and a chain of renders before and after each
// one), which cost more than the server's part of the work.
//
// What a chart was last asked for (`_dsWant`) and the stamp of what it shows (`_dsStamp`) live on
// its graph element, not in Dash stores: a store update re-renders every component of the page
// (tens of milliseconds each with a full grid). A new graph (a new grid, or the card's first
// chart) starts without them, and the card's stores say what its server callbacks drew.
//
// `redraw(tag, want, drawn)` resolves to:
//   "drawn"  the chart now shows `want`;
//   "same"   the server found the chart already showing it (nothing drawn);
//   "stale"  a newer change to this chart is on its way (its answer is dropped);
//   "failed" no figure came back (the server refused or failed, or the graph is not there): the
//            chart is then redrawn through its Dash callback, which reports any error on the page.
(function () {
    "use strict";
    var pending = [];
    var flushing = false;
    var latest = {};  // tag -> number of the newest request for its chart

    function route() {
        var prefix = "/";
        try {
            prefix = JSON.parse(document.getElementById("_dash-config").textContent).requests_pathname_prefix || "/";
        } catch (error) { /* the default prefix */ }
        return prefix + "_deepscope/scalars-figures";
    }

    function cardOf(tag) {
        var cards = document.querySelectorAll("#scalars-grid [data-scalars-tag]");
        for (var i = 0; i < cards.length; i++) {
            if (cards[i].dataset.scalarsTag === tag) return cards[i];
        }
        return null;
    }

    function graphIn(card) {  // the card's drawn plotly chart, or null
        var gd = card && card.querySelector(".js-plotly-plot");
        return gd && gd._fullLayout ? gd : null;
    }

    function draw(item, answer) {
        var card = cardOf(item.tag);
        var gd = graphIn(card);
        var box = card && card.querySelector("[id*='\"scalars-box\"']");
        if (!gd || !box || !window.Plotly || !window.Plotly.react) return "failed";
        if (box.style.height !== answer.box.height) {
            box.style.height = answer.box.height;  // now, so that plotly sizes the chart to it
            window.dash_clientside.set_props({type: "scalars-box", tag: item.tag}, {style: answer.box});
        }
        // dcc.Graph's own layout rules for a responsive graph: the width follows its box.
        var layout = Object.assign({}, answer.figure.layout, {autosize: true, width: undefined});
        window.Plotly.react(gd, answer.figure.data, layout, answer.config);
        gd._dsStamp = answer.stamp;
        return "drawn";
    }

    async function flush() {
        var items = pending;
        pending = [];
        var answers = null;
        try {
            var response = await fetch(route(), {
                method: "POST",
                headers: {"Content-Type": "application/json"},
                body: JSON.stringify({charts: items.map(function (item) {
                    return {tag: item.tag, want: item.want, drawn: item.drawn};
                })}),
            });
            if (response.ok) answers = (await response.json()).charts;
        } catch (error) {
            answers = null;
        }
        // Every chart of the change is drawn in this one task: the browser paints them together.
        items.forEach(function (item, i) {
            var answer = answers && answers[i];
            var outcome;
            if (latest[item.tag] !== item.n) outcome = "stale";
            else if (!answer || answer.error) outcome = "failed";
            else if (answer.same) outcome = "same";
            else {
                try {
                    outcome = draw(item, answer);
                } catch (error) {
                    outcome = "failed";
                }
            }
            item.resolve(outcome);
        });
    }

    function redraw(tag, want, drawn) {
        latest[tag] = (latest[tag] || 0) + 1;
        var n = latest[tag];
        return new Promise(function (resolve) {
            pending.push({tag: tag, want: want, drawn: drawn, n: n, resolve: resolve});
            // The charts of one change are handed over one after another, in one task: gather
            // them all, and ask once that task is done.
            if (!flushing) {
                flushing = true;
                queueMicrotask(function () {
                    flushing = false;
                    flush();
                });
            }
        });
    }

    // A drawn chart in view is to show `want` (its `text` names the controls): redraw it unless it
    // was last asked for the same. `first` is what its first chart was drawn with, `stored` the
    // stamp its server callbacks drew (the card's stores).
    function show(tag, want, first, stored) {
        var gd = graphIn(cardOf(tag));
        var fallback = function (drawn) {
            window.dash_clientside.set_props(
                {type: "scalars-fallback", tag: tag}, {data: Object.assign({drawn: drawn || null}, want)});
        };
        if (!gd) {
            fallback(stored);
            return;
        }
        var last = gd._dsWant || first;
        if (last && last.text === want.text) return;
        gd._dsWant = want;
        var drawn = gd._dsStamp || stored;
        redraw(tag, want, drawn).then(function (outcome) {
            if (outcome !== "failed") return;
            delete gd._dsStamp;  // the server callback draws it, and keeps its stamp in the store
            fallback(drawn);
        });
    }

    window.deepscopeScalars = {redraw: redraw, show: show};
})();
