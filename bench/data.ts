/**
 * `npx tsx bench/data.ts [--images 1000]`: load time of the data sources for users' own
 * data, each as a ratio to reading the same examples from an NPY file (the cheapest
 * format: a header and a copy), measured in the same run on the same machine. Writes a
 * temporary image folder (28x28 gray PNGs, 32x32 RGB JPEGs), NPY and CSV of `--images`
 * examples; rounds alternate between formats and the medians are reported.
 * Not a test.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { loadDataSource } from '../src/data/index.js';
import { jpegBytes, npyBytes, pngBytes } from '../test/data-files.js';

const { values } = parseArgs({ options: { images: { type: 'string', default: '1000' }, rounds: { type: 'string', default: '5' } } });
const count = Number(values.images);
const rounds = Number(values.rounds);
const dir = mkdtempSync(join(tmpdir(), 'rampart-bench-data-'));

function pixel(i: number) {
  return (r: number, c: number) => {
    const v = (r * 9 + c * 5 + i * 7) % 256;
    return [v, 255 - v, (v * 3) % 256, 255] as const;
  };
}

for (const cls of ['a', 'b']) {
  mkdirSync(join(dir, 'png', cls), { recursive: true });
  mkdirSync(join(dir, 'jpeg', cls), { recursive: true });
}
const side = 28;
const values28: number[] = [];
const labels: number[] = [];
const csv = ['label', ...Array.from({ length: 20 }, (_, f) => `f${f}`)].join(',') + '\n';
const rows: string[] = [];
for (let i = 0; i < count; i++) {
  const cls = i % 2 === 0 ? 'a' : 'b';
  writeFileSync(join(dir, 'png', cls, `${i}.png`), pngBytes(side, side, pixel(i), 0));
  writeFileSync(join(dir, 'jpeg', cls, `${i}.jpg`), jpegBytes(32, 32, pixel(i)));
  for (let p = 0; p < side * side; p++) values28.push(((p + i) % 256) / 255);
  labels.push(i % 2);
  rows.push([i % 2, ...Array.from({ length: 20 }, (_, f) => ((i * f) % 97) / 7)].join(','));
}
writeFileSync(join(dir, 'x.npy'), npyBytes('<f4', [count, side, side, 1], values28));
writeFileSync(join(dir, 'y.npy'), npyBytes('<i4', [count], labels));
writeFileSync(join(dir, 't.csv'), csv + rows.join('\n') + '\n');

const sources: Record<string, string> = {
  npy: `npy:${join(dir, 'x.npy')},${join(dir, 'y.npy')}`,
  'png folder': `folder:${join(dir, 'png')}`,
  'jpeg folder': `folder:${join(dir, 'jpeg')}`,
  'png folder + resize 32x32': `folder:${join(dir, 'png')}?resize=32x32`,
  csv: `csv:${join(dir, 't.csv')}`,
};
const times: Record<string, number[]> = Object.fromEntries(Object.keys(sources).map((k) => [k, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, spec] of Object.entries(sources)) {
    const start = process.hrtime.bigint();
    loadDataSource(spec);
    (times[name] as number[]).push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const reference = median(times.npy as number[]);
console.log(`${count} examples, ${rounds} rounds, medians (ratio to NPY of the 28x28 images):`);
for (const [name, ts] of Object.entries(times)) {
  const m = median(ts);
  console.log(
    `  ${name.padEnd(26)} ${m.toFixed(1).padStart(8)} ms  ${(m / reference).toFixed(1).padStart(6)}x  ${((count / m) * 1000).toFixed(0)} examples/s`,
  );
}
rmSync(dir, { recursive: true, force: true });
