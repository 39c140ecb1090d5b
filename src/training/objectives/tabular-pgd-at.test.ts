import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../../models/architectures.js';
import { checkRows } from '../../threats/tabular/check.js';
import { tabularThreat } from '../../threats/tabular/threat.js';
import { tabularPgdAt } from './tabular-pgd-at.js';
import { engine } from '../../../test/fixtures.js';

test('constrained PGD-AT prepares feasible rows, perturbs only the attacked class, and leaks nothing', async () => {
  await engine();
  const threat = tabularThreat(
    {
      id: 't',
      constraints: {
        immutable: ['id'],
        integer: ['id'],
        budgets: { a: 0.5 },
        monotone: { b: 'decrease' },
        norm: { kind: 'linf', epsilon: 0.2, scale: 'range' },
      },
    },
    { features: 3, featureNames: ['id', 'a', 'b'], bounds: { min: 0, max: 10 } },
  );
  const model = buildModel('mlp', { inputShape: [3], numClasses: 2, seed: 2 });
  const clean = Float32Array.from([1, 5, 5, 2, 3, 7, 3, 8, 2, 4, 1, 9]);
  const x = tf.tensor2d(clean, [4, 3]);
  const y = tf.tensor1d([0, 1, 0, 1], 'int32');
  const before = tf.memory().numTensors;
  const objective = tabularPgdAt({ threat, steps: 5, attackClasses: [1] });
  const prepared = await (objective.prepare as NonNullable<typeof objective.prepare>)(model, { x, y, epoch: 0, step: 0, seed: 3 });
  const rows = (await prepared.data()) as Float32Array;
  assert.deepEqual(checkRows(threat.constraints, clean, rows, 4), []);
  for (const row of [0, 2]) for (let f = 0; f < 3; f++) assert.equal(rows[row * 3 + f], clean[row * 3 + f], `class-0 row ${row} moved`);
  let moved = 0;
  for (const row of [1, 3]) for (let f = 0; f < 3; f++) moved += Math.abs((rows[row * 3 + f] as number) - (clean[row * 3 + f] as number));
  assert.ok(moved > 0, 'the attacked class did not move');
  prepared.dispose();
  const loss = objective.loss(model, { x, y, epoch: 0, step: 0, seed: 3 }, x);
  assert.ok(Number.isFinite((await loss.data())[0] as number));
  loss.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  y.dispose();
  model.dispose();
  assert.throws(
    () => tabularPgdAt({ threat, steps: 0 }),
    (e: Error & { code?: string }) => e.code === 'E_OBJECTIVE_OPTION',
  );
});
