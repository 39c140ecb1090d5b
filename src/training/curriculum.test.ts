import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { exposureAt, parseCurriculum } from './curriculum.js';
import { createObjective } from './objectives/registry.js';
import { buildModel } from '../models/architectures.js';
import { batchTensor } from '../core/tensors.js';
import { trainModel } from './trainer.js';
import { takeFirst } from '../data/index.js';
import { engine, smallMnist } from '../../test/fixtures.js';

before(engine);

test('phases parse, validate and cover every epoch', () => {
  const phases = parseCurriculum('2:0.25,1:0.5:3,2:1');
  assert.deepEqual(
    [0, 1, 2, 3, 4, 9].map((e) => exposureAt(phases, e)),
    [
      { epsilonScale: 0.25 },
      { epsilonScale: 0.25 },
      { epsilonScale: 0.5, steps: 3 },
      { epsilonScale: 1 },
      { epsilonScale: 1 },
      { epsilonScale: 1 },
    ],
  );
  assert.throws(() => parseCurriculum('2:1.5'), /epsilon scale must be in \(0, 1\]/);
  assert.throws(() => parseCurriculum('two:0.5'), /whole number/);
  assert.throws(() => parseCurriculum('2'), /EPOCHS:SCALE/);
});

for (const id of ['pgd-at', 'trades', 'fgsm-rs']) {
  test(`${id} attacks within the exposed fraction of epsilon`, () => {
    const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
    const objective = createObjective(id, { threat: { norm: 'linf', epsilon: 0.2 } });
    const data = smallMnist().test;
    const x = batchTensor(data, 0, 16);
    const y = tf.tensor1d(data.y.slice(0, 16), 'int32');
    const sizes = [0.25, 1].map((epsilonScale) => {
      return objective.prepare!(model, { x, y, epoch: 0, step: 0, seed: 3, exposure: { epsilonScale } }).then((adv) => {
        const d = tf.tidy(() => tf.max(tf.abs(tf.sub(adv, x))).dataSync()[0] as number);
        adv.dispose();
        return d;
      });
    });
    return Promise.all(sizes).then(([quarter, full]) => {
      assert.ok(quarter! <= 0.05 + 1e-6 && quarter! > 0.02, `quarter exposure moved ${quarter}`);
      assert.ok(full! > 0.1 && full! <= 0.2 + 1e-6, `full exposure moved ${full}`);
      x.dispose();
      y.dispose();
      model.dispose();
    });
  });
}

test('the curriculum is part of the run: recorded per epoch and in the resume identity', async () => {
  const model = buildModel('mlp', { inputShape: [28, 28, 1], numClasses: 10, seed: 2 });
  const report = await trainModel({
    model,
    train: takeFirst(smallMnist().train, 128),
    epochs: 2,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 1e-3,
    seed: 2,
    objective: createObjective('fgsm-rs', { threat: { norm: 'linf', epsilon: 0.1 } }),
    curriculum: [
      { epochs: 1, epsilonScale: 0.5 },
      { epochs: 1, epsilonScale: 1 },
    ],
  });
  assert.deepEqual(
    report.epochs.map((e) => e.exposure?.epsilonScale),
    [0.5, 1],
  );
  assert.deepEqual(report.config.curriculum, [
    { epochs: 1, epsilonScale: 0.5 },
    { epochs: 1, epsilonScale: 1 },
  ]);
  model.dispose();
});
