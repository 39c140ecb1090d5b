import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../core/errors.js';
import type { Classifier } from '../../models/classifier.js';
import { linearModel, smallMnist, tensorsAfter, trainedMlp } from '../../../test/fixtures.js';
import { explainInput } from './explain.js';
import { explainAttacked } from './attacked.js';
import { createAttack } from '../../attacks/registry.js';
import { threatModel } from '../../threats/threat-model.js';

const isCode = (code: string) => (e: unknown) => e instanceof RampartError && e.code === code;

function digit(i: number): { x: Float32Array; y: number } {
  const { test: data } = smallMnist();
  return { x: data.x.slice(i * 784, (i + 1) * 784), y: data.y[i] as number };
}

/** The same model seen through probabilities only (`queryScores`), as a remote target would be. */
function scoresOnly(model: Classifier): Classifier {
  return {
    id: `${model.id}-scores`,
    inputShape: model.inputShape,
    numClasses: model.numClasses,
    bounds: model.bounds,
    differentiable: false,
    access: 'scores',
    logits: () => {
      throw new Error('not white-box');
    },
    async queryScores(rows, count) {
      const p = tf.tidy(() => tf.softmax(model.logits(tf.tensor(rows, [count, ...model.inputShape]))));
      const out = (await p.data()) as Float32Array;
      p.dispose();
      return out;
    },
  };
}

test('tabular: on a linear model IG from zeros, gradient × input and occlusion per feature all equal w_target · x', async () => {
  const w = [
    [1, -2, 0.5, 3],
    [-1, 0.25, 2, -0.5],
  ];
  const model = linearModel(w, [0.1, -0.2]);
  const x = Float32Array.from([0.5, 1.5, -2, 0.25]);
  const expected = w[1]!.map((wj, j) => wj * (x[j] as number));
  for (const options of [
    { method: 'ig' as const, steps: 4 },
    { method: 'gradient-x-input' as const },
    { method: 'occlusion' as const, window: 1, stride: 1, fill: 0 },
  ]) {
    const attr = await explainInput(model, x, { ...options, target: 1 });
    assert.equal(attr.target, 1);
    [...attr.values].forEach((v, j) =>
      assert.ok(Math.abs(v - (expected[j] as number)) < 1e-4, `${options.method} feature ${j}: ${v} vs ${expected[j]}`),
    );
  }
  const grad = await explainInput(model, x, { method: 'gradient', target: 0 });
  assert.deepEqual(
    [...grad.values].map((v) => Math.round(v * 1e4) / 1e4),
    w[0],
  );
});

test('IG completeness: Σ attribution is within 1% of the logit difference on the trained MNIST fixture, for every baseline', async () => {
  const model = await trainedMlp();
  for (const baseline of ['zeros', 'blur', 'uniform'] as const) {
    for (const i of [0, 1, 2]) {
      const attr = await explainInput(model, digit(i).x, { method: 'ig', steps: 64, baseline, seed: 4 });
      assert.ok(
        attr.completenessError !== undefined && attr.completenessError < 0.01,
        `${baseline} #${i}: completeness error ${attr.completenessError}`,
      );
      const sum = [...attr.values].reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - (attr.scoreDifference as number)) <= 0.01 * Math.abs(attr.scoreDifference as number));
      assert.equal(attr.evaluations, 66);
    }
  }
});

test('determinism: SmoothGrad and IG from a uniform baseline repeat under a seed and change with it', async () => {
  const model = await trainedMlp();
  const { x } = digit(3);
  for (const options of [
    { method: 'smoothgrad' as const, samples: 8 },
    { method: 'ig' as const, baseline: 'uniform' as const, steps: 8 },
  ]) {
    const a = await explainInput(model, x, { ...options, seed: 11 });
    const b = await explainInput(model, x, { ...options, seed: 11 });
    const c = await explainInput(model, x, { ...options, seed: 12 });
    assert.deepEqual([...a.values], [...b.values], `${options.method}: same seed, same map`);
    assert.notDeepEqual([...a.values], [...c.values], `${options.method}: another seed, another map`);
  }
});

test('black-box targets: occlusion runs on queryScores; gradient methods are refused naming occlusion', async () => {
  const white = await trainedMlp();
  const black = scoresOnly(white);
  const { x } = digit(0);
  const options = { method: 'occlusion' as const, window: 7, stride: 7 };
  const attr = await explainInput(black, x, options);
  assert.equal(attr.evaluations, 17, '16 windows of 7×7 plus the clean input');
  assert.equal(attr.settings.scores, 'scores');
  assert.ok(attr.values.some((v) => v !== 0));
  const onLogits = await explainInput(white, x, options);
  assert.equal(onLogits.target, attr.target, 'both explain the predicted class');
  await assert.rejects(
    explainInput(black, x, { method: 'ig' }),
    (e: unknown) => isCode('E_EXPLAIN_ACCESS')(e) && /occlusion/.test((e as Error).message),
  );
});

test('bad inputs and options are typed errors naming the fix', async () => {
  const model = await trainedMlp();
  await assert.rejects(explainInput(model, new Float32Array(10)), isCode('E_INPUT_SHAPE'));
  await assert.rejects(explainInput(model, new Float32Array(784).fill(2)), isCode('E_INPUT_RANGE'));
  await assert.rejects(explainInput(model, digit(0).x, { method: 'ig', steps: 100_000 }), isCode('E_EXPLAIN_OPTION'));
  await assert.rejects(explainInput(model, digit(0).x, { method: 'nope' } as never), isCode('E_EXPLAIN_OPTION'));
  await assert.rejects(explainInput(model, digit(0).x, { target: 10 }), isCode('E_EXPLAIN_TARGET'));
  await assert.rejects(explainInput(model, digit(0).x, { method: 'occlusion', stride: 0 }), isCode('E_EXPLAIN_OPTION'));
  const stop = new Error('budget');
  await assert.rejects(
    explainInput(model, digit(0).x, { method: 'ig', steps: 64, batchSize: 8 }, (where) => {
      if (/step 16/.test(where)) throw stop;
    }),
    (e: unknown) => e === stop,
  );
});

test('no tensor leaks across methods, repeated', async () => {
  const model = await trainedMlp();
  const { x } = digit(1);
  await explainInput(model, x, { method: 'ig', steps: 4 });
  const grown = await tensorsAfter(async () => {
    for (let r = 0; r < 2; r++)
      for (const method of ['gradient', 'gradient-x-input', 'smoothgrad', 'ig', 'occlusion'] as const)
        await explainInput(model, x, { method, steps: 4, samples: 4, window: 14, stride: 14 });
  });
  assert.equal(grown, 0);
});

test('clean vs adversarial: PGD moves the attribution and the summary names where', async () => {
  const model = await trainedMlp();
  const { test: data } = smallMnist();
  const n = 4;
  const clean = data.x.slice(0, n * 784);
  const labels = data.y.slice(0, n);
  const x = tf.tensor(clean, [n, 28, 28, 1]);
  const result = await createAttack('pgd', { steps: 10 }).run(
    model,
    x,
    labels,
    threatModel({ id: 'linf-0.2', norm: 'linf', epsilon: 0.2 }),
    { seed: 1 },
  );
  const adversarial = (await result.adversarial.data()) as Float32Array;
  tf.dispose([x, result.adversarial]);
  const { shifts, summary } = await explainAttacked(model, 'linf-0.2', clean, adversarial, labels, { method: 'gradient-x-input' });
  assert.equal(shifts.length, n);
  for (const s of shifts) {
    assert.equal(s.delta.length, 784);
    assert.equal(s.moved.length, 10);
    assert.ok(Math.abs(s.moved[0]!.delta) >= Math.abs(s.moved[9]!.delta));
    assert.ok(Math.abs(s.moved[0]!.after - s.moved[0]!.before - s.moved[0]!.delta) < 1e-3);
    assert.ok(s.rankCorrelation < 1, 'the attack changed the map');
  }
  assert.equal(summary.threat, 'linf-0.2');
  assert.equal(summary.examples, n);
  assert.equal(summary.meanAbsDelta.length, 784);
  assert.equal(summary.regions.length, 16, 'a 4 × 4 grid of 7 × 7 cells');
  const share = summary.regions.reduce((a, r) => a + r.share, 0);
  assert.ok(Math.abs(share - 1) < 1e-3);
  assert.ok(summary.regions[0]!.share >= summary.regions[15]!.share);
});
