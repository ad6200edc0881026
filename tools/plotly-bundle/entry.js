// The plotly.js the deepscope dashboard serves: plotly.js's core plus exactly the trace types the
// dashboard's figures use (its documented partial-bundle approach). Every page of the dashboard
// shares one window.Plotly, so a trace type any page draws must be listed here; the test
// tests/app/test_plotly_bundle.py checks this list against the figures built in src/deepscope.
'use strict';

var Plotly = require('plotly.js/lib/core');

Plotly.register([
    require('plotly.js/lib/bar'),
    require('plotly.js/lib/contour'),
    require('plotly.js/lib/heatmap'),
    require('plotly.js/lib/image'),
    require('plotly.js/lib/parcoords'),
    require('plotly.js/lib/scatter'),
    require('plotly.js/lib/scatter3d'),
    require('plotly.js/lib/scattergl'),
    require('plotly.js/lib/surface'),
    require('plotly.js/lib/waterfall'),
]);

module.exports = Plotly;
