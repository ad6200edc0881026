// Bundles entry.js into one minified script that sets window.Plotly, with the settings plotly.js
// uses for its own dist bundles (its esbuild-config.js and tasks/util/bundle_wrapper.mjs at
// v4.1.1): an IIFE named Plotly inside the same UMD wrapper and licence header, CSS inlined,
// shaders minified, attribute descriptions stripped. Usage: node build.mjs OUTFILE
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { build } from 'esbuild';
import { environmentPlugin } from 'esbuild-plugin-environment';
import { glsl } from 'esbuild-plugin-glsl';
import InlineCSSPlugin from 'esbuild-plugin-inline-css';

const require = createRequire(import.meta.url);
const outfile = process.argv[2];
if (!outfile) throw new Error('usage: node build.mjs OUTFILE');

const version = require('plotly.js/package.json').version;
const traces = [...readFileSync(new URL('./entry.js', import.meta.url), 'utf8').matchAll(/require\('plotly\.js\/lib\/(\w+)'\)/g)]
    .map((match) => match[1])
    .filter((name) => name !== 'core');

// What plotly.js's compress_attributes transform removes from its sources: the attributes'
// descriptions (plot-schema prose the browser never shows). Only whole-line forms are removed
// (a string, or an array of string lines joined), so code around them is never touched; any
// other form stays in.
const STRING = String.raw`(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")`;
const LINE = String.raw`[ \t]*(?:${STRING}(?:[ \t]*\+[ \t]*${STRING})*[ \t]*,?|\/\/[^\n]*)[ \t]*\n`;
const META = [
    new RegExp(String.raw`^[ \t]*(?:description|hrName): ${STRING},?[ \t]*\n`, 'gm'),
    new RegExp(String.raw`^[ \t]*description: \[[ \t]*\n(?:${LINE})*[ \t]*\]\.join\(\s*${STRING}\s*\),?[ \t]*\n`, 'gm'),
    new RegExp(String.raw`^[ \t]*description: \[(?:[ \t]*${STRING}[ \t]*,?)*\]\.join\(\s*${STRING}\s*\),?[ \t]*\n`, 'gm'),
];
const stripMeta = {
    name: 'strip-attribute-meta',
    setup(pluginBuild) {
        pluginBuild.onLoad({ filter: /plotly\.js[\\/]src[\\/].*\.js$/ }, (args) => {
            let contents = readFileSync(args.path, 'utf8');
            for (const pattern of META) contents = contents.replace(pattern, '');
            return { contents, loader: 'js' };
        });
    },
};

// plotly.js's registry inlines maplibre-gl's stylesheet for the map traces; without one it is dead weight.
const MAP_TRACES = ['choroplethmap', 'densitymap', 'scattermap'];
const noMapCss = {
    name: 'no-map-css',
    setup(pluginBuild) {
        pluginBuild.onResolve({ filter: /^maplibre-gl\/dist\/maplibre-gl\.css$/ }, (args) => ({ path: args.path, namespace: 'empty' }));
        pluginBuild.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: '', loader: 'js' }));
    },
};
// regl (WebGL: scattergl, parcoords) keys its cache of generated draw code by a SHA-256 of the
// code, in a pure-JavaScript SHA-256: about 0.4 s of a page's first WebGL chart in Chromium. The
// cache lives in the page and starts empty here (plotly.js's precompiled code is for its "strict"
// traces only), so the code itself is as good a key, and exact.
const REGL_HASH = 'key = hex_sha256(src);';
const reglCacheKey = {
    name: 'regl-cache-key',
    setup(pluginBuild) {
        pluginBuild.onLoad({ filter: /@plotly[\\/]regl[\\/]dist[\\/]regl(\.unchecked)?\.js$/ }, (args) => {
            const contents = readFileSync(args.path, 'utf8');
            if (contents.split(REGL_HASH).length !== 2) throw new Error(`${args.path}: expected one "${REGL_HASH}"`);
            return { contents: contents.replace(REGL_HASH, 'key = src;'), loader: 'js' };
        });
    },
};
const plugins = [InlineCSSPlugin(), glsl({ minify: true }), environmentPlugin({ NODE_DEBUG: false }), stripMeta, reglCacheKey];
if (!traces.some((name) => MAP_TRACES.includes(name))) plugins.unshift(noMapCss);

const result = await build({
    entryPoints: [new URL('./entry.js', import.meta.url).pathname],
    write: false,
    format: 'iife',
    globalName: 'Plotly',
    bundle: true,
    minify: true,
    sourcemap: false,
    plugins,
    alias: { regl: '@plotly/regl', stream: 'stream-browserify' },
    define: { global: 'window', 'define.amd': 'false' },
    target: 'es2016',
    logLevel: 'warning',
});

const header = [
    '/**',
    `* plotly.js (deepscope partial bundle: ${traces.join(', ')} - minified) v${version}`,
    '* Copyright 2012-2026, Plotly, Inc.',
    '* All rights reserved.',
    '* Licensed under the MIT license',
    '* Built by tools/build_plotly_bundle.sh from tools/plotly-bundle/entry.js',
    '*/',
    '(',
    ' function(root, factory) {',
    '  if (typeof module === "object" && module.exports) {',
    '   module.exports = factory();',
    '  } else {',
    '   root.moduleName = factory();',
    '  }',
    '} (typeof self !== "undefined" ? self : this, () => {',
    '',
].join('\n');
const footer = ['', 'window.Plotly = Plotly;', 'return Plotly;', '}));', ''].join('\n');
writeFileSync(outfile, header + result.outputFiles[0].text + footer);
console.log(`${outfile}: plotly.js v${version} with ${traces.join(', ')}`);
