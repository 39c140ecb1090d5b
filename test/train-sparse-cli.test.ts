/** `rampart train --method sparse-at | occlusion-at` through the real CLI: `--epsilon` is the pixel budget. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

describe('rampart train with sparse threats', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-train-sparse-'));
  });

  test('occlusion-at and sparse-at train on MNIST digits with --epsilon as pixels', async () => {
    for (const [method, extra, field] of [
      ['occlusion-at', ['--epsilon', '6', '--samples', '2'], '"size": 6'],
      ['sparse-at', ['--epsilon', '8'], '"pixels": 8'],
    ] as const) {
      const out = join(dir, method);
      const r = rampart('train', '--method', method, ...extra, '--arch', 'mlp', '--epochs', '1', '--limit', '300', '--out', out, '--quiet');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /trained mlp on mnist-bundled/);
      const report = await readFile(join(out, 'train-report.json'), 'utf8');
      assert.match(report, new RegExp(`"id": "${method}"`));
      assert.ok(report.includes(field), `${method}: ${field}`);
    }
  });

  test('refuses a pixel budget that is not whole', () => {
    const r = rampart('train', '--method', 'sparse-at', '--epsilon', '1.5', '--arch', 'mlp', '--out', join(dir, 'never'), '--quiet');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /E_FLAG_VALUE: --method sparse-at takes --epsilon as a whole number of pixels >= 1 \(its pixels\); got 1\.5/);
  });
});
