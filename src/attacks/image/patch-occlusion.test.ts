/** Strength and shape checks of the patch, universal, sparse-L0 and occlusion attacks on the trained MLP fixture. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createAttack } from '../registry.js';
import { threatModel } from '../../threats/threat-model.js';
import { batchTensor } from '../../core/tensors.js';
import type { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { engine, smallMnist, trainedMlp } from '../../../test/fixtures.js';

let model: TfjsClassifier;
before(async () => {
  await engine();
  model = await trainedMlp();
});

const count = (s: Uint8Array): number => s.reduce((a, b) => a + b, 0);

async function run(id: string, options: Record<string, unknown>, norm: string, epsilon: number, n = 40) {
  const { test: data } = smallMnist();
  const x = batchTensor(data, 0, n);
  const labels = data.y.slice(0, n);
  const result = await createAttack(id, options).run(model, x, labels, threatModel({ norm, epsilon }), { seed: 2 });
  const delta = (await tf.sub(result.adversarial, x).data()) as Float32Array;
  result.adversarial.dispose();
  x.dispose();
  return { result, delta };
}

test('a PGD attack refuses a patch threat, naming the norms it takes', async () => {
  const { test: data } = smallMnist();
  const x = batchTensor(data, 0, 2);
  await assert.rejects(createAttack('pgd').run(model, x, data.y.slice(0, 2), threatModel({ norm: 'patch', epsilon: 4 })), {
    code: 'E_THREAT_NORM',
  });
  x.dispose();
});

test('sparse-l0 breaks digits with a dozen pixels, and more pixels never break fewer', async () => {
  const small = await run('sparse-l0', { pixelsPerStep: 2 }, 'l0', 4);
  const large = await run('sparse-l0', { pixelsPerStep: 2 }, 'l0', 20);
  assert.ok(count(large.result.success) >= count(small.result.success));
  assert.ok(count(large.result.success) > 10, `broke ${count(large.result.success)} of 40 with 20 pixels`);
});

test('the adversarial patch is universal: one patch content, pasted per example', async () => {
  const { result, delta } = await run('patch', { steps: 60, evalLocations: 8 }, 'patch', 10);
  assert.ok(count(result.success) > 0, 'a 10x10 patch breaks some digits');
  for (const p of result.perturbation) assert.ok(p <= 10);
  assert.ok(delta.some((v) => v !== 0));
});

test('a universal perturbation is one δ: inside the bounds, the change is the same for every example', async () => {
  const { result, delta } = await run('universal', { steps: 20 }, 'linf', 0.2);
  assert.ok(count(result.success) > 5, `broke ${count(result.success)} of 40`);
  const row = 784;
  const clean = smallMnist().test.x;
  // Where both digits are background (0), clipping acts alike, so the changes must be equal.
  let agree = 0;
  let compared = 0;
  for (let k = 0; k < row; k++) {
    const a = delta[k] as number;
    const b = delta[row + k] as number;
    if (clean[k] === 0 && clean[row + k] === 0) {
      compared++;
      if (Math.abs(a - b) < 1e-5) agree++;
    }
  }
  assert.ok(compared > 0 && agree === compared, `${agree} of ${compared} shared changes agree`);
});

test('the occlusion sweep: the worst case over the grid beats random boxes, and bigger boxes do more', async () => {
  const worst = await run('occlusion', { stride: 2, fill: 'black' }, 'occlusion', 10);
  const random = await run('occlusion', { mode: 'random', samples: 3, fill: 'black' }, 'occlusion', 10);
  const tiny = await run('occlusion', { stride: 2, fill: 'black' }, 'occlusion', 2);
  assert.ok(count(worst.result.success) >= count(random.result.success));
  assert.ok(count(worst.result.success) >= count(tiny.result.success));
  assert.ok(count(worst.result.success) > 0);
  for (const v of worst.delta) assert.ok(v <= 0, 'a black box only darkens');
});
