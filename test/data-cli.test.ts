/** End-to-end: `rampart eval --data <spec>` with the users'-own-data sources, in a child process. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadDataset } from '../src/data/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const shapes = join(root, 'fixtures/data/shapes');
const dir = mkdtempSync(join(tmpdir(), 'rampart-data-cli-'));

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** The fixture folder as IDX files (repeated 5 times), so `rampart train` can build an 8x8 model. */
function shapesAsIdx(): { images: string; labels: string } {
  const ds = loadDataset(`folder:${shapes}`);
  const n = ds.count * 5;
  const images = Buffer.alloc(16 + n * 64);
  const labels = Buffer.alloc(8 + n);
  [0x803, n, 8, 8].forEach((v, i) => images.writeUInt32BE(v, 4 * i));
  [0x801, n].forEach((v, i) => labels.writeUInt32BE(v, 4 * i));
  for (let k = 0; k < n; k++) {
    const i = k % ds.count;
    for (let p = 0; p < 64; p++) images[16 + k * 64 + p] = Math.round((ds.x[i * 64 + p] as number) * 255);
    labels[8 + k] = ds.y[i] as number;
  }
  const paths = { images: join(dir, 'images.idx'), labels: join(dir, 'labels.idx') };
  writeFileSync(paths.images, images);
  writeFileSync(paths.labels, labels);
  return paths;
}

describe('rampart eval --data with image folders and tables', () => {
  const model = join(dir, 'run', 'model');
  before(() => {
    const { images, labels } = shapesAsIdx();
    const trained = rampart(
      'train',
      '--data',
      `idx:${images},${labels}`,
      '--arch',
      'linear',
      '--epochs',
      '1',
      '--out',
      join(dir, 'run'),
      '--quiet',
    );
    assert.equal(trained.code, 0, trained.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('folder:DIR evaluates every image of the folder', () => {
    const r = rampart(
      'eval',
      '--model',
      model,
      '--data',
      `folder:${shapes}`,
      '--subset',
      'all',
      '--attacks',
      'fgsm',
      '--epsilons',
      '0.1',
      '--workers',
      '1',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /12 examples/);
  });

  test('data of another shape, a bad spec, a bad table: coded errors with their exit codes', () => {
    const resized = rampart(
      'eval',
      '--model',
      model,
      '--data',
      `folder:${shapes}?resize=28x28`,
      '--subset',
      'all',
      '--workers',
      '1',
      '--quiet',
    );
    assert.equal(resized.code, 1);
    assert.match(resized.stderr, /E_INPUT_SHAPE/);
    const unknown = rampart('eval', '--model', model, '--data', 'parquet:x.parquet', '--quiet');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /E_UNKNOWN_DATASET.*folder:DIR/);
    const table = rampart('eval', '--model', model, '--data', `csv:${join(root, 'fixtures/data/blobs.csv')}`, '--quiet');
    assert.equal(table.code, 1);
    assert.match(table.stderr, /E_CSV_HEADER.*labelColumn=NAME/);
  });
});
