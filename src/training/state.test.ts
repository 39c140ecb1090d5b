/**
 * Trainer state round trip: an Adam optimiser restored from a saved state continues with
 * exactly the numbers of the one that never stopped, bias-correction powers included.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../engine/backend.js';
import { buildModel } from '../models/architectures.js';
import { loadTrainerState, saveTrainerState } from './state.js';

function step(model: tf.LayersModel, optimizer: tf.Optimizer, k: number): void {
  const x = tf.randomUniform([8, 3, 1], 0, 1, 'float32', 100 + k);
  const y = tf.tensor1d(
    Array.from({ length: 8 }, (_, i) => (i + k) % 2),
    'int32',
  );
  tf.tidy(() => {
    optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(tf.oneHot(y, 2), model.predict(x) as tf.Tensor) as tf.Scalar,
      false,
      model.trainableWeights.map((w) => w.read() as tf.Variable),
    );
  });
  tf.dispose([x, y]);
}

test('Adam resumed from a saved state after 5 steps matches the uninterrupted optimiser bit for bit', async () => {
  await initEngine();
  const dir = join(await mkdtemp(join(tmpdir(), 'rampart-state-')), 'state');
  const straight = buildModel('linear', { inputShape: [3, 1], numClasses: 2, seed: 1 });
  const resumed = buildModel('linear', { inputShape: [3, 1], numClasses: 2, seed: 1 });
  const a = tf.train.adam(0.01);
  const b = tf.train.adam(0.01);
  // 5 steps: pow(0.999, 6) and the running product 0.999^6 differ in float32 on wasm.
  for (let k = 0; k < 5; k++) step(straight, a, k);
  await saveTrainerState(dir, straight, a, { version: 1, configHash: 'h', epochsDone: 1, summaries: [] });
  const progress = await loadTrainerState(dir, resumed, b, 'h');
  assert.equal(progress?.epochsDone, 1);
  const powers = (o: tf.Optimizer) =>
    [(o as unknown as { accBeta1: tf.Variable }).accBeta1, (o as unknown as { accBeta2: tf.Variable }).accBeta2].map(
      (v) => v.dataSync()[0],
    );
  assert.deepEqual(powers(b), powers(a));
  for (let k = 5; k < 8; k++) {
    step(straight, a, k);
    step(resumed, b, k);
  }
  const wa = straight.getWeights().map((w) => Array.from(w.dataSync()));
  const wb = resumed.getWeights().map((w) => Array.from(w.dataSync()));
  assert.deepEqual(wb, wa);
  a.dispose();
  b.dispose();
  straight.dispose();
  resumed.dispose();
});
