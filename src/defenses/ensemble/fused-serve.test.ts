import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/rng.js';
import { engine } from '../../../test/fixtures.js';
import { buildFusedEnsemble } from './fused.js';
import { fusedHeads } from './fused-serve.js';

before(engine);

test('a fused ensemble served without its Average: the mean and member labels equal the graph to 1e-5, no tensor leaks', () => {
  const { model, members } = buildFusedEnsemble('cnn', {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 4,
    members: 3,
    architectures: ['cnn', 'mlp', 'mlp'],
  });
  const heads = fusedHeads(model);
  assert.ok(heads);
  assert.equal(heads.members, 3);
  const rng = createRng(9);
  const batch = { x: Float32Array.from({ length: 5 * 784 }, () => rng.next()), count: 5, shape: [28, 28, 1] };
  const x = tf.tensor(batch.x, [5, 28, 28, 1]);
  const start = tf.memory().numTensors;
  const run = heads.run(batch);
  assert.equal(tf.memory().numTensors, start);
  const mean = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const gap = Math.max(...run.logits.flatMap((row, e) => Array.from(row, (v, c) => Math.abs(v - (mean[e * 10 + c] as number)))));
  assert.ok(gap < 1e-5, `mean differs from the graph's by ${gap}`);
  const want = tf.tidy(() => (members.predict(x) as tf.Tensor[]).map((t) => Array.from(tf.argMax(t, 1).dataSync())));
  assert.deepEqual(
    run.memberLabels.map((l) => Array.from(l)),
    want,
  );
  // Any other model is not a fused ensemble.
  assert.equal(fusedHeads(members), undefined);
  x.dispose();
  model.dispose();
});
