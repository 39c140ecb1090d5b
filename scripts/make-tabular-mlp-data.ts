/**
 * Writes fixtures/onnx/tabular-mlp.csv: rows drawn the way scripts/make-onnx-fixtures.py drew
 * the training data of tabular-mlp.onnx (10 standard-normal features; label 1 when
 * f0 + f1 * f2 > 0), so the committed MLP has data of its own to be evaluated on. The
 * Python script's torch RNG is not reproducible without torch; this draws fresh rows from
 * the same distribution with Rampart's seeded RNG, so the same seed gives the same bytes.
 *
 * Run: npx tsx scripts/make-tabular-mlp-data.ts [OUT_FILE]   (default fixtures/onnx/tabular-mlp.csv)
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { createRng } from '../src/core/rng.js';

const ROWS = 300;
const FEATURES = 10;
const SEED = 10;

/** The CSV text: a header `f0..f9,label`, then ROWS rows with 4 decimals. */
export function tabularMlpCsv(rows = ROWS, seed = SEED): string {
  const rng = createRng(seed);
  const header = [...Array.from({ length: FEATURES }, (_, i) => `f${i}`), 'label'].join(',');
  const lines = [header];
  for (let r = 0; r < rows; r++) {
    const f = Array.from({ length: FEATURES }, () => Number(rng.normal().toFixed(4)));
    const label = (f[0] as number) + (f[1] as number) * (f[2] as number) > 0 ? 1 : 0;
    lines.push([...f.map((v) => v.toFixed(4)), String(label)].join(','));
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(process.argv[2] ?? 'fixtures/onnx/tabular-mlp.csv', tabularMlpCsv());
}
