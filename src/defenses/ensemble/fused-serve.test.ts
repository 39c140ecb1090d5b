import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../core/rng.js';
import { loadClassifierModel, saveClassifierModel } from '../../models/store.js';
import { engine } from '../../../test/fixtures.js';
import { buildFusedEnsemble } from './fused.js';
import { fusedHeads, type FusedRun } from './fused-serve.js';

before(engine);

test('a fused ensemble served member by member, here and on the member thread, equals its graph to 1e-5; no tensor leaks', async () => {
  const { model: built, members } = buildFusedEnsemble('cnn', {
    inputShape: [28, 28, 1],
    numClasses: 10,
    seed: 4,
    members: 3,
    architectures: ['cnn', 'mlp', 'mlp'],
  });
  const work = await mkdtemp(join(tmpdir(), 'rampart-fused-'));
  await saveClassifierModel(built, work, {
    architecture: 'ensemble:cnn+mlp+mlp',
    inputShape: [28, 28, 1],
    numClasses: 10,
    bounds: { min: 0, max: 1 },
  });
  const { model } = await loadClassifierModel(work);
  const heads = fusedHeads(model, { dir: work });
  assert.ok(heads);
  assert.equal(heads.members, 3);
  // Any other model is not a fused ensemble.
  assert.equal(fusedHeads(members), undefined);
  await heads.ready();
  assert.equal(heads.mode(), 'thread');
  const rng = createRng(9);
  const batch = { x: Float32Array.from({ length: 5 * 784 }, () => rng.next()), count: 5, shape: [28, 28, 1] };
  const x = tf.tensor(batch.x, [5, 28, 28, 1]);
  const mean = tf.tidy(() => (built.predict(x) as tf.Tensor).dataSync() as Float32Array);
  const want = tf.tidy(() => (members.predict(x) as tf.Tensor[]).map((t) => Array.from(tf.argMax(t, 1).dataSync())));
  const check = (run: FusedRun, path: string): void => {
    const gap = Math.max(...run.logits.flatMap((row, e) => Array.from(row, (v, c) => Math.abs(v - (mean[e * 10 + c] as number)))));
    assert.ok(gap < 1e-5, `${path}: mean differs from the graph's by ${gap}`);
    assert.deepEqual(
      run.memberLabels.map((l) => Array.from(l)),
      want,
      path,
    );
  };
  const start = tf.memory().numTensors;
  check(heads.runInline(batch), 'inline');
  check(await heads.run(batch, { wait: true }), 'thread');
  // Without `wait` a batch the thread has not begun is taken back: the same numbers either way.
  for (let i = 0; i < 3; i++) check(await heads.run(batch), 'thread or taken back');
  assert.equal(tf.memory().numTensors, start);
  heads.dispose();
  x.dispose();
  model.dispose();
  built.dispose();
  await rm(work, { recursive: true, force: true });
});
