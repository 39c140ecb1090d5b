/**
 * Every registered attack against a score-only and a label-only target: it runs exactly when
 * its declared access suffices (and then reads only `queryScores`, counted row for row), and
 * otherwise is refused with an error naming the attacks that can run.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../core/errors.js';
import type { Classifier, TargetAccess } from '../models/classifier.js';
import { threatModel } from '../threats/threat-model.js';
import { engine, linearModel } from '../../test/fixtures.js';
import { accessSuffices, attacksRunnableWith, ATTACK_ACCESS } from './access.js';
import { attackAccess, attackIds, attackNorms, createAttack } from './registry.js';
import { wrapAttack } from './wrapper.js';
import { logitsOf } from './image/rows.js';

before(engine);

/** A black-box view of a TF.js model: no logits, only counted score queries (one-hot rows when labels only). */
function blackBox(access: Exclude<TargetAccess, 'gradients'>, budget?: number): Classifier & { sent: number } {
  const base = linearModel(
    [
      [1, -1],
      [-1, 1],
    ],
    [0.5, 0],
  );
  const target = {
    id: `${access}-only`,
    inputShape: base.inputShape,
    numClasses: base.numClasses,
    bounds: base.bounds,
    differentiable: false,
    access,
    sent: 0,
    ...(budget === undefined ? {} : { maxQueriesPerExample: budget }),
    logits: (): tf.Tensor2D => {
      throw new Error('a black-box target has no logits');
    },
    queryScores: async (rows: Float32Array, count: number): Promise<Float32Array> => {
      target.sent += count;
      const z = tf.tidy(() => base.logits(tf.tensor(rows, [count, 2])));
      const scores = (await z.data()) as Float32Array;
      z.dispose();
      if (access === 'scores') return scores;
      const hot = new Float32Array(scores.length);
      for (let i = 0; i < count; i++) hot[i * 2 + ((scores[i * 2 + 1] as number) > (scores[i * 2] as number) ? 1 : 0)] = 1;
      return hot;
    },
  };
  return target;
}

const threat = threatModel({ norm: 'linf', epsilon: 1, bounds: { min: -100, max: 100 } });
const small: Record<string, Record<string, unknown>> = { square: { queries: 30 }, hsj: { queries: 60, steps: 3, initialEvals: 5 } };

test('the registry declares every attack and the table names only registered ones', () => {
  assert.deepEqual(attackIds().sort(), Object.keys(ATTACK_ACCESS).sort());
  assert.equal(attackAccess('square'), 'scores');
  assert.equal(attackAccess('hsj'), 'labels');
  assert.equal(attackAccess('pgd'), 'gradients');
  assert.deepEqual(attacksRunnableWith('labels'), ['hsj']);
  assert.deepEqual(attacksRunnableWith('scores'), ['hsj', 'square', 'occlusion', 'tabular-random-search']);
  assert.equal(attacksRunnableWith('gradients').length, attackIds().length);
  assert.throws(() => attackAccess('toString'), /Unknown attack 'toString'/);
});

for (const access of ['scores', 'labels'] as const) {
  test(`every attack against a ${access}-only target runs iff its access suffices, counting each query`, async () => {
    const x = tf.tensor2d([
      [0.2, 0.1],
      [0.0, 0.3],
    ]);
    const labels = Int32Array.from([0, 1]);
    // The L∞ attacks: the box-shaped threats (patch, occlusion) need image inputs, which this linear target has not.
    for (const id of attackIds().filter((a) => attackNorms(a).includes('linf'))) {
      const target = blackBox(access);
      const attack = createAttack(id, small[id] ?? {});
      if (!accessSuffices(access, attackAccess(id))) {
        await assert.rejects(attack.run(target, x, labels, threat), (e: unknown) => {
          assert.ok(e instanceof RampartError, `${id}: ${String(e)}`);
          assert.equal(e.code, attackAccess(id) === 'gradients' ? 'E_NOT_DIFFERENTIABLE' : 'E_LABELS_ONLY', id);
          for (const runnable of attacksRunnableWith(access)) assert.match(e.message, new RegExp(`'${runnable}'`), id);
          return true;
        });
        assert.equal(target.sent, 0, `${id} sent nothing before refusing`);
        continue;
      }
      const result = await attack.run(target, x, labels, threat, { seed: 1 });
      assert.equal(
        result.queries.reduce((a, q) => a + q, 0),
        target.sent,
        `${id}: the reported queries are the rows the target answered`,
      );
      assert.ok(
        result.success.some((s) => s === 1),
        `${id} breaks the linear model at epsilon 1`,
      );
      result.adversarial.dispose();
    }
    x.dispose();
  });
}

test("a target's per-example budget stops the query attacks, and the wrapper refuses an attack that ignores it", async () => {
  const x = tf.tensor2d([[0.3, 0.0]]);
  const labels = Int32Array.from([0]);
  // A tiny epsilon: nothing breaks, so each attack spends what it may.
  const tight = threatModel({ norm: 'linf', epsilon: 0.01, bounds: { min: -100, max: 100 } });
  for (const [id, options] of [
    ['square', { queries: 100 }],
    ['hsj', { queries: 100 }],
  ] as const) {
    const target = blackBox('scores', 7);
    const result = await createAttack(id, options).run(target, x, labels, tight, { seed: 2 });
    assert.ok((result.queries[0] as number) <= 7, `${id} kept to the budget: ${result.queries[0]}`);
    assert.equal(target.sent, result.queries[0]);
    result.adversarial.dispose();
  }
  const greedy = wrapAttack('greedy', 'scores', async (context) => {
    await logitsOf(context.model, new Float32Array(2 * 8), 8);
    return { adversarial: context.x.clone(), success: new Uint8Array(1), queries: Int32Array.from([8]) };
  });
  const target = blackBox('scores', 7);
  await assert.rejects(greedy(target, x, labels, tight, {}), (e: unknown) => e instanceof RampartError && e.code === 'E_QUERY_BUDGET');
  assert.equal(target.sent, 0, 'the refused call sent nothing');
  x.dispose();
});
