/** The README's library example, run against the package's public entry point. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  initEngine,
  loadClassifierModel,
  selectData,
  pgd,
  threatModel,
  threatsAt,
  evaluateRobustness,
  runTraining,
  createRng,
} from '../src/index.js';
import { batchTensor } from '../src/core.js';

test('train, save, load, attack and evaluate through the public API', async () => {
  await initEngine();
  const outDir = await mkdtemp(join(tmpdir(), 'rampart-lib-'));
  await runTraining({
    data: { spec: 'mnist', splitSeed: 1, limit: 500 },
    architecture: 'mlp',
    outDir,
    epochs: 2,
    batchSize: 50,
    optimizer: 'adam',
    learningRate: 3e-3,
    seed: 1,
  });
  const { classifier, info } = await loadClassifierModel(join(outDir, 'model'));
  assert.equal(info.architecture, 'mlp');
  assert.equal(info.data?.split?.seed, 1);
  const test = selectData({ spec: 'mnist', splitSeed: 1, subset: 'test', limit: 64 }).selected;
  const x = batchTensor(test, 0, 64);
  const result = await pgd({ steps: 10 }).run(classifier, x, test.y.slice(0, 64), threatModel({ norm: 'linf', epsilon: 0.3 }));
  const broken = result.success.reduce((a, b) => a + b, 0);
  assert.ok(broken > 48, `PGD at 0.3 should break an undefended MLP: ${broken}/64`);
  result.adversarial.dispose();
  x.dispose();
  const report = await evaluateRobustness({ model: classifier, data: test, threats: threatsAt('linf', [0.1]), attacks: [{ id: 'fgsm' }] });
  assert.equal(report.results.length, 1);
  classifier.model.dispose();
  assert.ok(tf.memory().numTensors < 50);
});

test('seeded RNG is deterministic and roughly uniform', () => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 10000 }, () => a.next());
  assert.deepEqual(
    xs.slice(0, 5),
    Array.from({ length: 5 }, () => b.next()),
  );
  const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02);
  assert.ok(xs.every((v) => v >= 0 && v < 1));
  assert.notDeepEqual(createRng(1).shuffle([1, 2, 3, 4, 5, 6, 7, 8]), createRng(2).shuffle([1, 2, 3, 4, 5, 6, 7, 8]));
});

test('every subpath export resolves through the package name to a built module with exports', async () => {
  const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    name: string;
    exports: Record<string, unknown>;
  };
  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json');
  for (const name of ['attacks', 'eval', 'train', 'defenses', 'serve', 'governance'])
    assert.ok(subpaths.includes(`./${name}`), `rampart/${name} is exported`);
  for (const subpath of subpaths) {
    const specifier = subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`;
    const mod = (await import(specifier)) as Record<string, unknown>;
    assert.ok(Object.keys(mod).length > 0, `${specifier} exports something (run npm run build if dist/ is stale)`);
  }
  const root = (await import(pkg.name)) as Record<string, unknown>;
  const attacks = (await import(`${pkg.name}/attacks`)) as Record<string, unknown>;
  // The root is the public API only: building blocks such as the DLR loss live in their subpath.
  assert.equal(typeof root.createAttack, 'function');
  assert.equal(root.dlrLoss, undefined);
  assert.equal(typeof attacks.dlrLoss, 'function');
});
