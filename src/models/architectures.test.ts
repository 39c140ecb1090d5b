/** The architecture registry: every id builds, seeded, with the documented shapes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import * as tf from '@tensorflow/tfjs';

import { UsageError } from '../core/errors.js';
import { initEngine } from '../engine/backend.js';
import { ARCHITECTURES, buildModel } from './architectures.js';

const OPTIONS = { inputShape: [28, 28, 1], numClasses: 10, seed: 3 } as const;

describe('architectures', () => {
  it('every id builds a model that maps [batch, 28, 28, 1] to [batch, 10] logits', async () => {
    await initEngine({ backend: 'wasm' });
    for (const id of ARCHITECTURES) {
      const model = buildModel(id, OPTIONS);
      const y = tf.tidy(() => model.predict(tf.zeros([2, 28, 28, 1])) as tf.Tensor);
      assert.deepEqual(y.shape, [2, 10], id);
      y.dispose();
      model.dispose();
    }
  });

  it("cnn-large is Madry et al.'s MNIST network (3,274,634 parameters)", () => {
    const model = buildModel('cnn-large', OPTIONS);
    // conv 5*5*1*32+32, conv 5*5*32*64+64, dense 7*7*64*1024+1024, dense 1024*10+10
    assert.equal(model.countParams(), 832 + 51264 + 3212288 + 10250);
    model.dispose();
  });

  it('the same seed gives the same weights', () => {
    const a = buildModel('cnn-large', OPTIONS);
    const b = buildModel('cnn-large', OPTIONS);
    const wa = a.getWeights()[2]!.dataSync();
    const wb = b.getWeights()[2]!.dataSync();
    assert.deepEqual(wa, wb);
    a.dispose();
    b.dispose();
  });

  it('an unknown id is a usage error listing the valid ones', () => {
    assert.throws(
      () => buildModel('resnet', OPTIONS),
      (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_ARCHITECTURE' && /cnn-large/.test(e.message),
    );
  });
});
