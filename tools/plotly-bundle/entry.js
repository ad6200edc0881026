// The plotly.js the deepscope dashboard serves: plotly.js's core plus exactly the trace types the
// dashboard's figures use (its documented partial-bundle approach). Every page of the dashboard
// shares one window.Plotly, so a trace type any page draws must be listed here; the test
// tests/app/test_plotly_bundle.py checks this list against the figures built in src/deepscope.
//
// The 3-D traces (WebGL scenes: scatter3d, surface) are in the file but registered only when a
// figure first asks for one: setting up plotly's 3-D modules costs more than all the 2-D traces
// together (about 0.7 s of the 1 s a fresh browser spends running this file), and most pages
// draw no 3-D scene. The bundler wraps each module in a function run on its first require, so
// until then the 3-D code is only parsed. Every API call that can bring a trace type in
// (newPlot, react, addTraces, restyle, update, animate, addFrames) registers them first, and so
// does PlotSchema.get.
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/contour'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/image'),
    require('plotly.js/lib/parcoords'),
    require('plotly.js/lib/scatter'),
    require('plotly.js/lib/scattergl'),
    require('plotly.js/lib/waterfall'),
]);

var LATER = ['scatter3d', 'surface'];
var registeredLater = false;

function registerLater() {
    if (registeredLater) return;
    registeredLater = true;
    Plotly.register([require('plotly.js/lib/scatter3d'), require('plotly.js/lib/surface')]);
}

function isLater(type) {
    if (Array.isArray(type)) return type.some(isLater);
    return typeof type === 'string' && LATER.indexOf(type) !== -1;
}

// A trace or a restyle/update object: {type: 'surface'} or {type: ['scatter', 'surface']}.
function traceWants(trace) {
    return !!trace && typeof trace === 'object' && isLater(trace.type);
}

function tracesWant(traces) {
    return Array.isArray(traces) ? traces.some(traceWants) : traceWants(traces);
}

// newPlot/react's data (an array of traces) or figure ({data, frames}); a frame ({data}) or a
// list of frames (animate, addFrames).
function figureWants(figure) {
    if (Array.isArray(figure)) return figure.some(function (item) { return traceWants(item) || figureWants(item); });
    if (!figure || typeof figure !== 'object') return false;
    return tracesWant(figure.data) || (Array.isArray(figure.frames) && figure.frames.some(figureWants));
}

var WANTS = {
    newPlot: function (args) { return figureWants(args[1]); },
    react: function (args) { return figureWants(args[1]); },
    addTraces: function (args) { return tracesWant(args[1]); },
    restyle: function (args) { return args[1] === 'type' ? isLater(args[2]) : traceWants(args[1]); },
    update: function (args) { return traceWants(args[1]); },
    animate: function (args) { return figureWants(args[1]); },
    addFrames: function (args) { return figureWants(args[1]); },
};

Object.keys(WANTS).forEach(function (name) {
    var method = Plotly[name];
    Plotly[name] = function () {
        if (!registeredLater && WANTS[name](arguments)) registerLater();
        return method.apply(this, arguments);
    };
});

// The schema describes every trace type the bundle can draw.
var getSchema = Plotly.PlotSchema.get;
Plotly.PlotSchema.get = function () {
    registerLater();
    return getSchema.apply(this, arguments);
};

module.exports = Plotly;
