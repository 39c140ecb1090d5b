/** End-to-end: the real `rampart` command in a child process, as a user runs it. */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
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

function idxFile(magic: number, dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

describe('rampart CLI', () => {
  let dir: string;
  let modelDir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rampart-cli-'));
    modelDir = join(dir, 'run', 'model');
  });

  test('train writes a model, checkpoints and a report', () => {
    const r = rampart('train', '--arch', 'mlp', '--epochs', '2', '--limit', '600', '--lr', '0.003', '--out', join(dir, 'run'), '--quiet');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /trained mlp on mnist-bundled with backend wasm: test accuracy \d+\.\d+%/);
    for (const f of [
      'model/model.json',
      'model/weights.bin',
      'checkpoints/epoch-001/model.json',
      'checkpoints/epoch-002/weights.bin',
      'train-report.json',
    ]) {
      assert.ok(existsSync(join(dir, 'run', f)), `${f} missing`);
    }
    // The same command again finds the finished run and does no training.
    const again = rampart(
      'train',
      '--arch',
      'mlp',
      '--epochs',
      '2',
      '--limit',
      '600',
      '--lr',
      '0.003',
      '--out',
      join(dir, 'run'),
      '--quiet',
    );
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /resumed the run in .* after epoch 2/);
    const changed = rampart('train', '--arch', 'mlp', '--epochs', '3', '--limit', '600', '--out', join(dir, 'run'), '--quiet');
    assert.equal(changed.code, 1);
    assert.match(changed.stderr, /E_RESUME_MISMATCH: .*different configuration/);
  });

  test('train --method fgsm-rs records the objective, PGD validation and the guard', async () => {
    const out = join(dir, 'fast');
    const r = rampart(
      'train',
      '--arch',
      'mlp',
      '--method',
      'fgsm-rs',
      '--epsilon',
      '0.1',
      '--epochs',
      '2',
      '--limit',
      '300',
      '--out',
      out,
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(await readFile(join(out, 'train-report.json'), 'utf8'));
    assert.equal(report.training.config.objective.id, 'fgsm-rs');
    assert.equal(report.training.config.objective.config.threat.epsilon, 0.1);
    for (const e of report.training.epochs) {
      assert.ok(e.robustAccuracy >= 0 && e.robustAccuracy <= 1);
      assert.ok(e.guardAccuracy >= 0 && e.guardAccuracy <= 1);
    }
    assert.equal(report.training.selection, 'best-robust');
    const bad = rampart('train', '--method', 'pgd-at', '--epsilon', '0.1', '--mix-ratio', '3');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /mixRatio' must be a number in \[0, 1\]/);
  });

  test('eval prints a table and writes JSON and Markdown', async () => {
    const out = join(dir, 'eval.json');
    const r = rampart(
      'eval',
      '--model',
      modelDir,
      '--attacks',
      'fgsm,pgd',
      '--steps',
      '5',
      '--epsilons',
      '0,0.1',
      '--limit',
      '60',
      '--workers',
      '2',
      '--out',
      out,
      '--markdown',
      join(dir, 'eval.md'),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /clean accuracy/);
    assert.match(r.stdout, /worst case\s+0\.1/);
    const report = JSON.parse(await readFile(out, 'utf8'));
    assert.equal(report.data.count, 60);
    assert.equal(report.data.name, 'mnist-bundled/test/first-60');
    assert.equal(report.engine.backend, 'wasm');
    assert.equal(report.results.length, 4);
    assert.equal(report.config.execution.workers, 2);
    assert.match(await readFile(join(dir, 'eval.md'), 'utf8'), /\| attack \| epsilon \|/);
  });

  test('attack records every example, targeted, with the adversarial inputs', async () => {
    const out = join(dir, 'attack.json');
    const r = rampart(
      'attack',
      '--model',
      modelDir,
      '--attack',
      'pgd',
      '--steps',
      '5',
      '--epsilon',
      '0.2',
      '--target',
      '3',
      '--limit',
      '20',
      '--out',
      out,
      '--save-examples',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(await readFile(out, 'utf8'));
    assert.equal(result.goal.kind, 'targeted');
    assert.ok(result.examples.length > 0 && result.examples.length <= 20);
    for (const e of result.examples) {
      assert.notEqual(e.label, 3);
      assert.equal(e.success, e.adversarialPrediction === 3);
      assert.ok(e.perturbation <= 0.2 + 1e-6);
    }
    assert.equal(result.adversarial.length, result.examples.length * 784);
  });

  test('usage errors exit with 2 and say how to fix them', () => {
    const unknownAttack = rampart('eval', '--model', modelDir, '--attacks', 'fgsm,foolbox');
    assert.equal(unknownAttack.code, 2);
    assert.match(
      unknownAttack.stderr,
      /E_UNKNOWN_ATTACK: Unknown attack 'foolbox'; use 'fgsm', 'pgd', .*'square', .*'occlusion', .* or 'tabular-random-search'/,
    );
    const badEpsilon = rampart('attack', '--model', modelDir, '--epsilon', 'abc');
    assert.equal(badEpsilon.code, 2);
    assert.match(badEpsilon.stderr, /E_EPSILON_RANGE/);
    const hugeEpsilon = rampart('attack', '--model', modelDir, '--epsilon', '3');
    assert.equal(hugeEpsilon.code, 2);
    assert.match(hugeEpsilon.stderr, /exceeds the input range/);
    const unknownFlag = rampart('train', '--epochz', '3');
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /unknown option '--epochz'/);
    const badNumber = rampart('train', '--epochs', 'three');
    assert.equal(badNumber.code, 2);
    assert.match(badNumber.stderr, /--epochs must be a whole number/);
    const noModel = rampart('eval');
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /Give the model with --model: a directory Rampart saved/);
  });

  test('failures exit with 1: missing model, data that does not fit the model', async () => {
    const missing = rampart('eval', '--model', join(dir, 'nope'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /E_MODEL_MISSING/);
    // A model trained on 4x3 IDX images cannot be evaluated on 28x28 MNIST.
    const count = 40;
    const pixels = new Uint8Array(count * 12);
    const labels = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      labels[i] = i % 2;
      pixels.fill(labels[i] ? 200 : 20, i * 12, (i + 1) * 12);
    }
    await writeFile(join(dir, 'images.idx'), idxFile(0x803, [count, 4, 3], pixels));
    await writeFile(join(dir, 'labels.idx'), idxFile(0x801, [count], labels));
    const small = rampart(
      'train',
      '--data',
      `idx:${join(dir, 'images.idx')},${join(dir, 'labels.idx')}`,
      '--arch',
      'linear',
      '--epochs',
      '1',
      '--out',
      join(dir, 'small'),
      '--quiet',
    );
    assert.equal(small.code, 0, small.stderr);
    const mismatch = rampart('eval', '--model', join(dir, 'small', 'model'), '--data', 'mnist', '--limit', '5');
    assert.equal(mismatch.code, 1);
    // Refused before any attack, by the data layer's shape check.
    assert.match(mismatch.stderr, /E_INPUT_SHAPE: .*\[28, 28, 1\].*\[4, 3, 1\]/);
  });

  test('--help works for every command', () => {
    for (const command of ['train', 'attack', 'eval', 'example']) {
      const r = rampart(command, '--help');
      assert.equal(r.code, 0);
      assert.match(r.stdout, new RegExp(`Usage: rampart ${command}`));
    }
  });
});
