/**
 * The conformance table of the tabular attacks under a threat with every kind of
 * constraint: each adversarial example passes the checker and the budget, success flags
 * match a fresh prediction, queries are counted, no tensor leaks. Plus the refusals.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/rng.js';
import type { Classifier } from '../../models/classifier.js';
import { checkRows } from '../../threats/tabular/check.js';
import { tabularThreat, type TabularThreat } from '../../threats/tabular/threat.js';
import { createAttack } from '../registry.js';
import type { AttackOutcome } from '../wrapper.js';
import { wrapTabularAttack } from './wrapper.js';
import { engine, linearModel } from '../../../test/fixtures.js';

const NAMES = ['id', 'cat_a', 'cat_b', 'cat_c', 'count', 'humidity', 'temperature'];
const SPACE = { features: 7, featureNames: NAMES, bounds: { min: -50, max: 150 } };
const IDS = ['tabular-pgd', 'tabular-apgd', 'lowprofool', 'tabular-random-search'];
const CHEAP: Record<string, Record<string, unknown>> = {
  'tabular-pgd': { steps: 20 },
  'tabular-apgd': { steps: 20 },
  lowprofool: { steps: 30 },
  'tabular-random-search': { queries: 60 },
};

function threat(norm: 'linf' | 'l2'): TabularThreat {
  return tabularThreat(
    {
      id: `t-${norm}`,
      constraints: {
        immutable: ['id'],
        ranges: { id: { min: 0, max: 10 }, count: { min: 0, max: 20 }, humidity: { min: 0, max: 100 }, temperature: { min: -10, max: 60 } },
        integer: ['id', 'count'],
        oneHot: [['cat_a', 'cat_b', 'cat_c']],
        monotone: { count: 'increase' },
        budgets: { humidity: 5, temperature: 3, count: 4 },
        norm: norm === 'linf' ? { kind: 'linf', epsilon: 0.06, scale: 'range' } : { kind: 'l2', epsilon: 0.08, scale: 'range' },
      },
    },
    SPACE,
  );
}

/** 32 feasible rows near the boundaries of the linear model below. */
function rows(n = 32): { x: Float32Array; n: number } {
  const rng = createRng(5);
  const x = new Float32Array(n * 7);
  for (let i = 0; i < n; i++) {
    const cat = rng.int(3);
    x.set(
      [rng.int(11), cat === 0 ? 1 : 0, cat === 1 ? 1 : 0, cat === 2 ? 1 : 0, rng.int(16), 40 + 20 * rng.next(), 15 + 10 * rng.next()],
      i * 7,
    );
  }
  return { x, n };
}

// Three classes driven by the mutable features, not by the immutable id.
const W = [
  [0, 0, 0, 0, 0, 0, 0],
  [0, 1, -1, 0, 0.2, 0.1, 0],
  [0, 0, 1, -1, 0, 0, 0.3],
];
const B = [0, -6.5, -6];

async function predict(model: Classifier, x: tf.Tensor): Promise<Int32Array> {
  const p = tf.tidy(() => tf.argMax(model.logits(x), 1));
  const out = Int32Array.from(await p.data());
  p.dispose();
  return out;
}

describe('tabular attack conformance', () => {
  let model: ReturnType<typeof linearModel>;
  before(async () => {
    await engine();
    model = linearModel(W, B);
  });

  for (const id of IDS) {
    for (const norm of ['linf', 'l2'] as const) {
      for (const goal of ['untargeted', 'targeted'] as const) {
        test(`${id} ${norm} ${goal}: constraints and budget hold, honest flags, no leaks`, async () => {
          const t = threat(norm);
          const data = rows();
          const before = tf.memory().numTensors;
          const x = tf.tensor(data.x, [data.n, 7]);
          const labels = await predict(model, x);
          const targets = labels.map((l) => (l + 1) % 3);
          const options = goal === 'targeted' ? { goal: { kind: 'targeted' as const, targets }, seed: 2 } : { seed: 2 };
          const result = await createAttack(id, CHEAP[id]).run(model, x, labels, t, options);
          const adversarial = (await result.adversarial.data()) as Float32Array;
          assert.deepEqual(checkRows(t.constraints, data.x, adversarial, data.n), []);
          for (let i = 0; i < data.n; i++) assert.ok((result.perturbation[i] as number) <= t.epsilon * (1 + 1e-5) + 1e-6);
          const p = await predict(model, result.adversarial);
          for (let i = 0; i < data.n; i++) {
            const met = goal === 'targeted' ? p[i] === targets[i] : p[i] !== labels[i];
            assert.equal(result.success[i] === 1, met, `flag of row ${i}`);
            assert.ok((result.queries[i] as number) >= 1);
          }
          assert.ok(
            result.success.some((s) => s === 1),
            'the attack broke no row at all',
          );
          result.adversarial.dispose();
          x.dispose();
          assert.equal(tf.memory().numTensors, before, 'leaked tensors');
        });
      }
    }
  }

  test('the random search runs on a score-only target; gradient attacks refuse it', async () => {
    const t = threat('linf');
    const data = rows(8);
    const x = tf.tensor(data.x, [data.n, 7]);
    const labels = await predict(model, x);
    let queried = 0;
    const blackBox: Classifier = {
      id: 'scores-only',
      inputShape: [7],
      numClasses: 3,
      bounds: model.bounds,
      differentiable: false,
      access: 'scores',
      logits: () => {
        throw new Error('not white-box');
      },
      queryScores: async (values, count) => {
        queried += count;
        const z = tf.tidy(() => model.logits(tf.tensor(values, [count, 7])));
        const out = (await z.data()) as Float32Array;
        z.dispose();
        return out;
      },
    };
    const result = await createAttack('tabular-random-search', { queries: 30 }).run(blackBox, x, labels, t, { seed: 1 });
    assert.ok(queried > 0);
    assert.deepEqual(checkRows(t.constraints, data.x, (await result.adversarial.data()) as Float32Array, data.n), []);
    result.adversarial.dispose();
    await assert.rejects(
      createAttack('tabular-pgd').run(blackBox, x, labels, t),
      (e: Error & { code?: string }) => e.code === 'E_NOT_DIFFERENTIABLE',
    );
    x.dispose();
  });

  test('clean rows that break the constraints are E_CONSTRAINT_INPUT', async () => {
    const data = rows(2);
    data.x[1] = 0.5; // half a category
    const x = tf.tensor(data.x, [2, 7]);
    await assert.rejects(
      createAttack('tabular-pgd').run(model, x, Int32Array.from([0, 0]), threat('linf')),
      (e: Error & { code?: string }) => e.code === 'E_CONSTRAINT_INPUT' && /one-hot/.test(e.message),
    );
    x.dispose();
  });

  test('a search that breaks a constraint is E_ATTACK_CONTRACT, and its tensor is disposed', async () => {
    const broken = wrapTabularAttack<object>('broken', 'gradients', async (context): Promise<AttackOutcome> => {
      const moved = Float32Array.from(context.clean);
      moved[0] = (moved[0] as number) + 1; // the immutable id
      return { adversarial: tf.tensor(moved, context.x.shape), success: new Uint8Array(context.n), queries: new Int32Array(context.n) };
    });
    const data = rows(2);
    const x = tf.tensor(data.x, [2, 7]);
    const before = tf.memory().numTensors;
    await assert.rejects(
      broken(model, x, Int32Array.from([0, 0]), threat('linf'), {}),
      (e: Error & { code?: string }) => e.code === 'E_ATTACK_CONTRACT' && /immutable of 'id'/.test(e.message),
    );
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });

  test('LowProFool moves unimportant features more than PGD does', async () => {
    // Importance given: humidity matters, temperature does not; the weighted penalty shifts the change to temperature.
    const t = threat('l2');
    const data = rows();
    const x = tf.tensor(data.x, [data.n, 7]);
    const labels = await predict(model, x);
    const share = async (id: string, options: Record<string, unknown>): Promise<number> => {
      const r = await createAttack(id, options).run(model, x, labels, t, { seed: 4 });
      const adv = (await r.adversarial.data()) as Float32Array;
      r.adversarial.dispose();
      let h = 0;
      let tt = 0;
      for (let i = 0; i < data.n; i++) {
        if (!r.success[i]) continue;
        h += Math.abs((adv[i * 7 + 5] as number) - (data.x[i * 7 + 5] as number)) / 100;
        tt += Math.abs((adv[i * 7 + 6] as number) - (data.x[i * 7 + 6] as number)) / 70;
      }
      return tt / (h + tt + 1e-12);
    };
    const weighted = await share('lowprofool', { steps: 60, lambda: 5, importance: [0, 0, 0, 0, 0, 1, 0.01] });
    const plain = await share('tabular-pgd', { steps: 30 });
    assert.ok(weighted > plain, `temperature share ${weighted} vs PGD's ${plain}`);
    x.dispose();
  });
});
