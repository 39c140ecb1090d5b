import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { evaluateRobustness } from './robustness.js';
import { takeFirst } from '../data/index.js';
import { engine, smallMnist, trainedMlp } from '../../test/fixtures.js';
import { UsageError } from '../core/errors.js';
import { threatsAt } from '../threats/threat-model.js';

before(engine);

test('report: clean accuracy, per-attack results, worst case no better than any attack, reproducible', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 120);
  const run = () =>
    evaluateRobustness({
      model,
      data,
      threats: threatsAt('linf', [0.15, 0, 0.05]),
      attacks: [{ id: 'fgsm' }, { id: 'pgd', options: { steps: 10 } }],
      seed: 4,
      batchSize: 50,
    });
  const tensors = tf.memory().numTensors;
  const report = await run();
  assert.equal(tf.memory().numTensors, tensors, 'evaluation leaked tensors');
  assert.equal(report.kind, 'rampart.robustness-report');
  assert.equal(report.engine.backend, 'wasm');
  assert.match(report.data.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(report.config.epsilons, [0, 0.05, 0.15]);
  assert.ok(report.clean.accuracy > 0.7, `fixture model accuracy ${report.clean.accuracy}`);
  assert.equal(report.results.length, 6);
  for (const w of report.worstCase) {
    const atEps = report.results.filter((r) => r.epsilon === w.epsilon);
    for (const r of atEps) assert.ok(w.robustAccuracy <= r.robustAccuracy + 1e-12);
    assert.ok(w.robustAccuracy <= report.clean.accuracy);
  }
  const zero = report.worstCase.find((w) => w.epsilon === 0);
  assert.equal(zero?.robustAccuracy, report.clean.accuracy, 'epsilon 0 equals clean accuracy');
  const curve = report.worstCase.map((w) => w.robustAccuracy);
  assert.ok(curve[0]! >= curve[1]! && curve[1]! >= curve[2]!, `accuracy should fall with epsilon: ${curve}`);
  const pgd = report.results.find((r) => r.attack === 'pgd' && r.epsilon === 0.15)!;
  const fgsm = report.results.find((r) => r.attack === 'fgsm' && r.epsilon === 0.15)!;
  assert.ok(pgd.robustAccuracy <= fgsm.robustAccuracy);
  assert.ok(pgd.meanPerturbation > 0 && pgd.meanPerturbation <= 0.15 + 1e-6);
  const again = await run();
  assert.deepEqual(again.worstCase, report.worstCase, 'same seed, same numbers');
});

test('bad specs fail before any work', async () => {
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 10);
  await assert.rejects(
    evaluateRobustness({ model, data, threats: threatsAt('linf', [0.1]), attacks: [{ id: 'nope' }] }),
    (e: unknown) =>
      e instanceof UsageError &&
      e.code === 'E_UNKNOWN_ATTACK' &&
      /'fgsm', 'pgd', .*'square', .*'occlusion', .* or 'tabular-random-search'/.test(e.message),
  );
  await assert.rejects(
    evaluateRobustness({ model, data, threats: threatsAt('linf', [0.1]), attacks: [{ id: 'pgd', options: { stepz: 3 } }] }),
    /pgd has no option 'stepz'/,
  );
  await assert.rejects(
    async () => evaluateRobustness({ model, data, threats: threatsAt('linf', [2]), attacks: [{ id: 'pgd' }] }),
    /E_EPSILON_RANGE|exceeds/,
  );
  await assert.rejects(evaluateRobustness({ model, data, threats: threatsAt('linf', [0.1]), attacks: [] }), /at least one attack/);
});

test('a worker pool gives the same numbers with 1 and 2 workers', async () => {
  const { createWorkerPool } = await import('../execution/pool/index.js');
  const model = await trainedMlp();
  const data = takeFirst(smallMnist().test, 150);
  const run = async (workers: number) => {
    const pool = await createWorkerPool({ workers });
    try {
      return await evaluateRobustness({
        model,
        data,
        threats: threatsAt('linf', [0.1]),
        attacks: [{ id: 'pgd', options: { steps: 5 } }],
        seed: 2,
        batchSize: 150,
        pool,
      });
    } finally {
      await pool.close();
    }
  };
  const one = await run(1);
  const two = await run(2);
  assert.deepEqual(two.worstCase, one.worstCase);
  assert.deepEqual(two.config.execution, { workers: 2, shardRows: one.config.execution.shardRows });
  assert.equal(one.config.execution.workers, 1);
});
