// Pages that draw charts start loading plotly.js with the page instead of when their first chart
// arrives: the browser compiles it off the main thread while the page's first callbacks run, so
// the first paint no longer waits a second for it. Until it has run, window.Plotly is a promise
// of it, which dcc.Graph waits on rather than loading plotly.js a second time. The Runs page (the
// home page) has no chart and does not load it.
(function () {
    if (window.Plotly) return;
    var config = {};
    try {
        config = JSON.parse(document.getElementById("_dash-config").textContent);
    } catch (error) {
        return;
    }
    var prefix = config.requests_pathname_prefix || "/";
    var path = window.location.pathname;
    if (!config.serve_locally || path === prefix || path + "/" === prefix) return;
    var script = document.createElement("script");
    script.src = prefix + "_dash-component-suites/plotly/package_data/plotly.min.js";
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
    document.head.appendChild(script);
})();
