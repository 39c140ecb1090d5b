import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { engine, smallMnist } from '../../../test/fixtures.js';
import { batchTensor } from '../../core/tensors.js';
import { takeFirst } from '../../data/index.js';
import { buildModel } from '../../models/architectures.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import { createAttack } from '../../attacks/registry.js';
import { getNorm } from '../../threats/norms.js';
import { threatModel } from '../../threats/threat-model.js';
import { trainModel } from '../trainer.js';
import { patchAscent } from './patch-at.js';
import { createObjective } from './registry.js';

before(engine);

test('patch-at prepares one optimised box per example, seeded, inside the bounds, without leaks', async () => {
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const data = takeFirst(smallMnist().test, 16);
  const x = batchTensor(data, 0, 16);
  const y = tf.tensor1d(data.y, 'int32');
  const inner = { size: 7, steps: 3, stepSize: 0.25, bounds: { min: 0, max: 1 } };
  const before = tf.memory().numTensors;
  const a = patchAscent(model, { x, y, epoch: 0, step: 0, seed: 9 }, inner);
  const b = patchAscent(model, { x, y, epoch: 0, step: 0, seed: 9 }, inner);
  const sides = tf.tidy(() => Array.from(getNorm('patch').distance(tf.sub(a, x)).dataSync()));
  for (const s of sides) assert.ok(s <= 7 && s > 0, `changed pixels span ${s}`);
  assert.deepEqual(Array.from(await a.data()), Array.from(await b.data()), 'same seed, same patches');
  const [lo, hi] = tf.tidy(() => [tf.min(a).dataSync()[0] as number, tf.max(a).dataSync()[0] as number]);
  assert.ok((lo as number) >= 0 && (hi as number) <= 1);
  a.dispose();
  b.dispose();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  y.dispose();
  model.dispose();
});

test('training with patch-at makes the model harder to break with patches than standard training', async () => {
  const train = takeFirst(smallMnist().train, 1500);
  const data = takeFirst(smallMnist().test, 100);
  const threat = threatModel({ norm: 'patch', epsilon: 8 });
  const broken: Record<string, number> = {};
  for (const id of ['standard', 'patch-at']) {
    const net = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 4 });
    const objective = id === 'standard' ? createObjective('standard') : createObjective('patch-at', { size: 8, steps: 3, mixRatio: 0.5 });
    await trainModel({ model: net, train, epochs: 4, batchSize: 64, optimizer: 'adam', learningRate: 2e-3, seed: 4, objective });
    const model = new TfjsClassifier(net, { id });
    const x = batchTensor(data, 0, data.count);
    const r = await createAttack('patch', { steps: 20, evalLocations: 8 }).run(model, x, data.y, threat, { seed: 1 });
    const clean = tf.tidy(() => Array.from(tf.argMax(model.logits(x), 1).dataSync()));
    broken[id] = Array.from(r.success).filter((s, i) => s === 1 || clean[i] !== data.y[i]).length;
    r.adversarial.dispose();
    x.dispose();
    net.dispose();
  }
  assert.ok((broken['patch-at'] as number) < (broken.standard as number), `wrong under an 8x8 patch: ${JSON.stringify(broken)}`);
});
