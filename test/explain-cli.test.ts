/** End-to-end: `rampart explain` in a child process on a saved image model and a saved text model. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildModel } from '../src/models/architectures.js';
import { saveClassifierModel } from '../src/models/store.js';
import { saveTextClassifier } from '../src/models/text/store.js';
import { trainModel } from '../src/training/trainer.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { pngjs } from '../src/cli/commands/explain-input.js';
import { engine, smallMnist } from './fixtures.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const main = join(root, 'src/cli/main.ts');

function rampart(...args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', main, 'explain', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAMPART_BACKEND: '' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** A float32 .npy file of `rows` × 28 × 28 × 1. */
function npy(values: Float32Array, rows: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, 28, 28, 1), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

describe('rampart explain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-explain-cli-'));
  const imageModel = join(dir, 'image');
  const textModel = join(dir, 'text');
  const digits = smallMnist().test.x.slice(0, 2 * 784);

  before(async () => {
    await engine();
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
    await trainModel({ model, train: smallMnist().train, epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 2e-3, seed: 2 });
    await saveClassifierModel(model, imageModel, {
      architecture: 'mlp',
      inputShape: [28, 28, 1],
      numClasses: 10,
      bounds: { min: 0, max: 1 },
    });
    model.dispose();
    const rgba = Buffer.alloc(28 * 28 * 4, 255);
    for (let p = 0; p < 784; p++) rgba.fill(Math.round(255 * (digits[p] as number)), p * 4, p * 4 + 3);
    writeFileSync(join(dir, 'digit.png'), pngjs().PNG.sync.write({ width: 28, height: 28, data: rgba }));
    writeFileSync(join(dir, 'digits.npy'), npy(digits, 2));
    const texts = ['free cash prize now', 'claim your free bonus', 'team meeting notes', 'project review tomorrow'];
    const { classifier } = await trainTextClassifier(
      { name: 't', texts: [...texts, ...texts], labels: [1, 1, 0, 0, 1, 1, 0, 0], classes: ['ham', 'spam'] },
      { epochs: 8, learningRate: 0.05, featurizer: { buckets: 256 }, seed: 1 },
    );
    await saveTextClassifier(classifier, textModel);
    classifier.dispose();
  });

  test('a PNG input: IG with its completeness, the top pixels, and a PNG of input | attribution | overlay', () => {
    const out = join(dir, 'why.png');
    const r = rampart('--model', imageModel, '--input', join(dir, 'digit.png'), '--steps', '50', '--out', out, '--top', '3');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /explained by ig, 52 model evaluations/);
    assert.match(r.stdout, /completeness: .* error \d+\.\d+%/);
    assert.equal((r.stdout.match(/^ {2}\[\d+, \d+, 0\]: /gm) ?? []).length, 3);
    const png = pngjs().PNG.sync.read(readFileSync(out));
    assert.deepEqual([png.width, png.height], [3 * 28 * 8 + 16, 28 * 8]);
  });

  test('a .npy row with occlusion, as JSON and as an HTML page', () => {
    const json = join(dir, 'why.json');
    const html = join(dir, 'why.html');
    const r = rampart(
      '--model',
      imageModel,
      '--input',
      join(dir, 'digits.npy'),
      '--row',
      '1',
      '--method',
      'occlusion',
      '--json',
      json,
      '--out',
      html,
    );
    assert.equal(r.code, 0, r.stderr);
    const saved = JSON.parse(readFileSync(json, 'utf8')) as { method: string; values: number[]; shape: number[] };
    assert.equal(saved.method, 'occlusion');
    assert.equal(saved.values.length, 784);
    const page = readFileSync(html, 'utf8');
    assert.match(page, /^<!DOCTYPE html>/);
    assert.doesNotMatch(page, /<script/i);
  });

  test('a text model: leave-one-out on the filter, the words printed and shaded in a page', () => {
    const html = join(dir, 'text.html');
    const r = rampart('--model', textModel, '--text', 'claim your free <b>cash</b> for the meeting', '--out', html, '--top', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /'spam' with p = 0\.\d+, explained by leave-one-out, 8 evaluations/);
    assert.match(readFileSync(html, 'utf8'), /&lt;b&gt;cash&lt;\/b&gt;/);
    const g = rampart('--model', textModel, '--text', 'free cash', '--method', 'gradient', '--target', 'ham');
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /'ham' .* explained by gradient-x-input/);
  });

  test('usage errors exit 2 and name the fix', () => {
    const both = rampart('--model', imageModel);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--input FILE .* --text/);
    const ext = rampart('--model', imageModel, '--input', join(dir, 'x.jpg'));
    assert.equal(ext.code, 2);
    assert.match(ext.stderr, /E_INPUT_FORMAT/);
    const method = rampart('--model', imageModel, '--input', join(dir, 'digit.png'), '--method', 'magic');
    assert.equal(method.code, 2);
    assert.match(method.stderr, /E_EXPLAIN_OPTION/);
    const row = rampart('--model', imageModel, '--input', join(dir, 'digits.npy'), '--row', '5');
    assert.equal(row.code, 2);
    assert.match(row.stderr, /holds 2 rows/);
  });
});
