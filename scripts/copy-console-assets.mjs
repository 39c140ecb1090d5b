/* global console */
// Part of `npm run build`: copies the console's static files (its CSS and JS, uPlot's IIFE
// build and CSS) next to the compiled console, so the package serves them with no CDN.
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/console/assets');
mkdirSync(out, { recursive: true });
for (const name of ['console.css', 'console.js']) copyFileSync(join(root, 'src/console/assets', name), join(out, name));
const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
for (const name of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join(uplot, name), join(out, name));
console.log(`console assets copied to ${out}`);
