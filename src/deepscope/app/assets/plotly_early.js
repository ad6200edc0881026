// The dashboard's plotly.js is a partial bundle (assets/vendor/plotly-deepscope.min.js, built by
// tools/build_plotly_bundle.sh): plotly.js with only the trace types the pages draw, less than
// half the size of dash's full plotly.min.js, so a fresh browser compiles it in half the time.
// The server puts its URL in the Dash config (deepscope_plotlyjs_url).
//
// Two things here:
// - dcc.Graph loads plotly.js from window._dashPlotlyJSURL when window.Plotly is not set (dash's
//   renderer sets that URL to the full bundle when it starts): that URL is pinned to the partial
//   bundle, so no page ever loads the full one, whichever page a session starts on.
// - Pages that draw charts load it as soon as the page has drawn its content, instead of when
//   their first chart arrives: it loads and runs while the page's first callbacks are on their
//   way. Not earlier: running it holds the main thread for a few hundred milliseconds, which
//   would delay the page's first paint (the Scalars page's previews show lines without it).
//   Until it has run, window.Plotly is a promise of it, which dcc.Graph waits on rather than
//   loading plotly.js a second time. The Runs page (the home page) has no chart and does not
//   load it; dcc.Graph does when a chart first appears.
(function () {
    var config = {};
    try {
        config = JSON.parse(document.getElementById("_dash-config").textContent);
    } catch (error) {
        return;
    }
    var url = config.deepscope_plotlyjs_url;
    if (!url) return;
    try {
        Object.defineProperty(window, "_dashPlotlyJSURL", {
            configurable: true,
            get: function () { return url; },
            set: function () {},  // dash's renderer writes the full bundle's URL here
        });
    } catch (error) {
        window._dashPlotlyJSURL = url;
    }
    if (window.Plotly) return;
    var prefix = config.requests_pathname_prefix || "/";
    var path = window.location.pathname;
    if (path === prefix || path + "/" === prefix) return;
    var script = document.createElement("script");
    script.src = url;
    script.async = true;
    var loaded = new Promise(function (resolve, reject) {
        script.onload = function () { resolve(); };
        script.onerror = function (error) {
            if (window.Plotly === loaded) window.Plotly = undefined;  // dcc.Graph loads it itself
            reject(error);
        };
    });
    loaded.catch(function () {});
    window.Plotly = loaded;
    // Running plotly.js takes the main thread for a few hundred milliseconds: start it once the
    // page has drawn its content (the Scalars page's previews show lines before plotly runs), while
    // the first charts' callbacks are on their way.
    var started = false;
    var start = function () {
        if (started) return;
        started = true;
        document.head.appendChild(script);
    };
    var drawn = function () {
        var content = document.getElementById("app-content");
        return !!content && content.childElementCount > 0;
    };
    var watcher = new MutationObserver(function () {
        if (!drawn()) return;
        watcher.disconnect();
        setTimeout(start, 0);  // after the browser has painted the content
    });
    var begin = function () {
        if (drawn()) { setTimeout(start, 0); return; }
        watcher.observe(document.body, {childList: true, subtree: true});
        setTimeout(function () { watcher.disconnect(); start(); }, 2000);  // whatever happens
    };
    if (document.body) begin();
    else document.addEventListener("DOMContentLoaded", begin);
})();
