/**
 * The console's static files, served from the package: its own CSS and JS, and uPlot's
 * IIFE build and CSS. `npm run build` copies them next to the compiled console
 * (dist/console/assets); from source they are read from src/console/assets and uPlot's
 * package. Nothing is fetched from a CDN. Files are read once and kept in memory.
 */
import { readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../core/errors.js';

export const ASSET_TYPES: Record<string, string> = {
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};

const here = fileURLToPath(new URL('./assets/', import.meta.url));

function locate(name: string): string {
  const bundled = join(here, name);
  if (existsSync(bundled)) return bundled;
  // From source (tsx): uPlot comes from its package.
  return createRequire(import.meta.url).resolve(`uplot/dist/${name}`);
}

/**
 * Loads every asset.
 *
 * @throws ConfigError `E_CONSOLE_ASSETS` when one is missing (a build that skipped the copy step).
 */
export function loadAssets(): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const name of Object.keys(ASSET_TYPES)) {
    try {
      out.set(name, readFileSync(locate(name)));
    } catch (cause) {
      throw new ConfigError('E_CONSOLE_ASSETS', `The console asset ${name} is missing; rebuild the package (npm run build copies it).`, {
        cause,
      });
    }
  }
  return out;
}
