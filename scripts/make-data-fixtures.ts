/**
 * Writes the small data fixtures under fixtures/data/ (see fixtures/data/README.md):
 * `shapes/` (3 classes of 8x8 grayscale PNGs) and `blobs.csv` (3 Gaussian classes, 4
 * features). Deterministic: the same seed gives the same bytes, which a test checks.
 *
 * Run: npx tsx scripts/make-data-fixtures.ts [OUT_DIR]   (default fixtures/data)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { createRng } from '../src/core/rng.js';

interface PngClass {
  new (options: { width: number; height: number }): { data: Buffer };
  sync: { write(png: unknown, options: { colorType: number; inputColorType: number; inputHasAlpha: boolean }): Buffer };
}
const { PNG } = createRequire(import.meta.url)('pngjs') as { PNG: PngClass };

const SIDE = 8;
const PER_CLASS = 4;
const SEED = 21;

/** Ink (0..1) at pixel (r, c) of a shape centred at (cy, cx). */
const SHAPES: Record<string, (r: number, c: number, cy: number, cx: number) => number> = {
  circle: (r, c, cy, cx) => Math.max(0, 1 - Math.abs(Math.hypot(r - cy, c - cx) - 2.6)),
  cross: (r, c, cy, cx) => Math.max(0, 1 - Math.min(Math.abs(r - cy - (c - cx)), Math.abs(r - cy + (c - cx)))),
  square: (r, c, cy, cx) =>
    Math.max(Math.abs(r - cy), Math.abs(c - cx)) > 1.6 && Math.max(Math.abs(r - cy), Math.abs(c - cx)) < 2.9 ? 1 : 0,
};

function shapePng(shape: string, index: number, rng: ReturnType<typeof createRng>): Buffer {
  const png = new PNG({ width: SIDE, height: SIDE });
  const ink = SHAPES[shape] as (r: number, c: number, cy: number, cx: number) => number;
  // Each image moves the shape by up to half a pixel and dims it a little, so a class is not one image.
  const cy = 3.5 + (rng.next() - 0.5);
  const cx = 3.5 + (rng.next() - 0.5);
  const brightness = 200 + 15 * index;
  for (let r = 0; r < SIDE; r++) {
    for (let c = 0; c < SIDE; c++) {
      const v = Math.round(Math.min(255, brightness * ink(r, c, cy, cx) + 12 * rng.next()));
      png.data.set([v, v, v, 255], 4 * (r * SIDE + c));
    }
  }
  return PNG.sync.write(png, { colorType: 0, inputColorType: 6, inputHasAlpha: true });
}

/** Class means of the three blobs; every feature has standard deviation 0.6. */
const BLOBS: Record<string, readonly number[]> = {
  alpha: [1.0, 3.0, 0.5, 2.0],
  beta: [2.5, 1.5, 2.0, 0.5],
  gamma: [4.0, 3.5, 3.5, 3.0],
};
const ROWS_PER_CLASS = 20;

function blobsCsv(rng: ReturnType<typeof createRng>): string {
  const lines = ['x1,x2,x3,x4,species'];
  // Rows interleave the classes so the file does not look sorted; the loader sorts nothing.
  for (let i = 0; i < ROWS_PER_CLASS; i++) {
    for (const [name, mean] of Object.entries(BLOBS)) {
      lines.push([...mean.map((m) => (m + 0.6 * rng.normal()).toFixed(2)), name].join(','));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes every fixture under `out`. */
export function writeDataFixtures(out: string): void {
  const rng = createRng(SEED);
  for (const shape of Object.keys(SHAPES)) {
    mkdirSync(join(out, 'shapes', shape), { recursive: true });
    for (let i = 0; i < PER_CLASS; i++) writeFileSync(join(out, 'shapes', shape, `${i}.png`), shapePng(shape, i, rng));
  }
  writeFileSync(join(out, 'blobs.csv'), blobsCsv(rng));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) writeDataFixtures(process.argv[2] ?? 'fixtures/data');
