import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist } from '../../../test/fixtures.js';
import { batchTensor } from '../../core/tensors.js';
import type { Dataset } from '../../core/types.js';
import { takeFirst } from '../../data/index.js';
import { buildModel } from '../../models/architectures.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { createAttack } from '../../attacks/registry.js';
import { getNorm } from '../../threats/norms.js';
import { threatModel, type ThreatModel } from '../../threats/threat-model.js';
import { trainModel } from '../trainer.js';
import { worstOcclusion } from './occlusion-at.js';
import { createObjective } from './registry.js';
import { sparseAscent } from './sparse-at.js';

before(engine);

function batchOf(count: number): { data: Dataset; x: tf.Tensor; y: tf.Tensor1D } {
  const data = takeFirst(smallMnist().test, count);
  return { data, x: batchTensor(data, 0, count), y: tf.tensor1d(data.y, 'int32') };
}

test('sparse-at changes exactly k pixels per example, to the bounds, raising the loss, without leaks', async () => {
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const { x, y } = batchOf(16);
  const inner = { pixels: 10, steps: 3, bounds: { min: 0, max: 1 } };
  const start = tf.memory().numTensors;
  const sparse = sparseAscent(model, { x, y, epoch: 0, step: 0, seed: 3 }, inner);
  const counts = tf.tidy(() => Array.from(getNorm('l0').distance(tf.sub(sparse, x)).dataSync()));
  // A pixel already at the bound its gradient points to may stay put: at most k change, almost always k.
  for (const c of counts) assert.ok(c <= 10 && c >= 8, `changed pixels ${c}`);
  const values = Array.from(await sparse.data());
  const clean = Array.from(await x.data());
  assert.ok(
    values.every((v, i) => v === clean[i] || v === 0 || v === 1),
    'changed pixels are saturated',
  );
  const [before, after] = tf.tidy(() =>
    [x, sparse].map((input) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 10), model.predict(input) as tf.Tensor2D).dataSync()[0]),
  );
  assert.ok((after as number) > (before as number), `CE ${before} → ${after}`);
  sparse.dispose();
  assert.equal(tf.memory().numTensors, start);
  tf.dispose([x, y]);
  model.dispose();
});

test('occlusion-at keeps, per example, the worst of its seeded boxes, one grey box, without leaks', async () => {
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const { x, y } = batchOf(16);
  const inner = { size: 8, samples: 6, fill: 'grey' as const, bounds: { min: 0, max: 1 } };
  const start = tf.memory().numTensors;
  const worst = worstOcclusion(model, { x, y, epoch: 0, step: 0, seed: 5 }, inner);
  const again = worstOcclusion(model, { x, y, epoch: 0, step: 0, seed: 5 }, inner);
  const one = worstOcclusion(model, { x, y, epoch: 0, step: 0, seed: 5 }, { ...inner, samples: 1 });
  assert.deepEqual(Array.from(await worst.data()), Array.from(await again.data()), 'same seed, same boxes');
  const sides = tf.tidy(() => Array.from(getNorm('occlusion').distance(tf.sub(worst, x)).dataSync()));
  for (const s of sides) assert.ok(s <= 8, `changed pixels span ${s}`);
  const ce = (input: tf.Tensor): number[] =>
    tf.tidy(() => {
      const z = model.predict(input) as tf.Tensor2D;
      return Array.from(tf.neg(tf.sum(tf.mul(tf.oneHot(y, 10), tf.logSoftmax(z)), 1)).dataSync());
    });
  const [w, o] = [ce(worst), ce(one)];
  // The first sampled box is among the six, so the worst is at least as bad for every example.
  w.forEach((v, i) => assert.ok(v >= (o[i] as number) - 1e-5, `example ${i}: ${v} < ${o[i]}`));
  tf.dispose([worst, again, one]);
  assert.equal(tf.memory().numTensors, start);
  tf.dispose([x, y]);
  model.dispose();
});

/** Examples wrong under the attack (clean mistakes count as wrong), after training with `objective`. */
async function wrongUnder(
  id: string,
  threat: ThreatModel,
  attack: { id: string; options: Record<string, unknown> },
): Promise<{
  wrong: number;
  losses: number[];
}> {
  const train = takeFirst(smallMnist().train, 1200);
  const data = takeFirst(smallMnist().test, 80);
  const net = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
  const objective =
    id === 'standard'
      ? createObjective('standard')
      : id === 'sparse-at'
        ? createObjective('sparse-at', { pixels: threat.epsilon, steps: 3, mixRatio: 0.5 })
        : createObjective('occlusion-at', { size: threat.epsilon, samples: 8, mixRatio: 0.5 });
  const losses: number[] = [];
  await trainModel({
    model: net,
    train,
    epochs: 3,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    seed: 4,
    objective,
    onEpoch: (e) => losses.push(e.loss),
  });
  const model = new TfjsClassifier(net, { id });
  const x = batchTensor(data, 0, data.count);
  const r = await createAttack(attack.id, attack.options).run(model, x, data.y, threat, { seed: 1 });
  const clean = tf.tidy(() => Array.from(tf.argMax(model.logits(x), 1).dataSync()));
  const wrong = Array.from(r.success).filter((s, i) => s === 1 || clean[i] !== data.y[i]).length;
  r.adversarial.dispose();
  x.dispose();
  net.dispose();
  return { wrong, losses };
}

test('training with sparse-at leaves fewer digits broken by the sparse-l0 attack than standard training', async () => {
  const threat = threatModel({ norm: 'l0', epsilon: 12 });
  const attack = { id: 'sparse-l0', options: { pixelsPerStep: 3 } };
  const start = tf.memory().numTensors;
  const standard = await wrongUnder('standard', threat, attack);
  const sparse = await wrongUnder('sparse-at', threat, attack);
  assert.ok(sparse.losses.every(Number.isFinite), `losses ${sparse.losses.join(', ')}`);
  console.log(`sparse-l0, 12 pixels: wrong standard ${standard.wrong}/80, sparse-at ${sparse.wrong}/80`);
  assert.ok(sparse.wrong < standard.wrong, `wrong under 12 pixels: standard ${standard.wrong}, sparse-at ${sparse.wrong} of 80`);
  assert.equal(tf.memory().numTensors, start);
});

test('training with occlusion-at leaves fewer digits broken by the occlusion sweep than standard training', async () => {
  const threat = threatModel({ norm: 'occlusion', epsilon: 10 });
  const attack = { id: 'occlusion', options: { mode: 'worst', stride: 3 } };
  const start = tf.memory().numTensors;
  const standard = await wrongUnder('standard', threat, attack);
  const occluded = await wrongUnder('occlusion-at', threat, attack);
  assert.ok(occluded.losses.every(Number.isFinite), `losses ${occluded.losses.join(', ')}`);
  console.log(`occlusion sweep, 10x10: wrong standard ${standard.wrong}/80, occlusion-at ${occluded.wrong}/80`);
  assert.ok(occluded.wrong < standard.wrong, `wrong under a 10x10 box: standard ${standard.wrong}, occlusion-at ${occluded.wrong} of 80`);
  assert.equal(tf.memory().numTensors, start);
});

test('the registry builds both from plan-shaped options and refuses bad ones', () => {
  assert.equal(createObjective('sparse-at', { pixels: 5 }).id, 'sparse-at');
  assert.equal(createObjective('occlusion-at', { size: 6, samples: 4, fill: 'black' }).id, 'occlusion-at');
  assert.throws(() => createObjective('sparse-at', {}), /E_OBJECTIVE_OPTION|pixels/);
  assert.throws(() => createObjective('occlusion-at', { size: 6, samples: 65 }), /samples.*at most 64/);
  assert.throws(() => createObjective('occlusion-at', { size: 6, steps: 3 }), /steps/);
});
