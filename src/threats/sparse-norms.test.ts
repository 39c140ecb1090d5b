import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { getNorm } from './norms.js';
import { threatModel } from './threat-model.js';
import { engine } from '../../test/fixtures.js';

/** A `[1, 6, 6, 2]` delta with the given pixels (row, col) changed in one channel. */
function deltaAt(pixels: [number, number][]): tf.Tensor {
  const values = new Float32Array(6 * 6 * 2);
  for (const [r, c] of pixels) values[(r * 6 + c) * 2 + 1] = 0.01;
  return tf.tensor(values, [1, 6, 6, 2]);
}

const measure = (norm: string, t: tf.Tensor): number => tf.tidy(() => getNorm(norm).distance(t).dataSync()[0] as number);

test('l0 counts changed pixels (all channels of a pixel count once); patch measures the bounding square', async () => {
  await engine();
  const d = deltaAt([
    [1, 1],
    [1, 4],
    [3, 2],
  ]);
  assert.equal(measure('l0', d), 3);
  assert.equal(measure('patch', d), 4, 'columns 1..4 span 4');
  assert.equal(measure('occlusion', d), 4);
  assert.equal(measure('patch', tf.zeros([1, 6, 6, 2])), 0);
  d.dispose();
});

test('projections land inside the budget and keep the largest changes', async () => {
  await engine();
  const before = tf.memory().numTensors;
  const noise = tf.randomUniform([3, 6, 6, 2], -1, 1, 'float32', 4);
  for (const [norm, budget] of [
    ['l0', 5],
    ['patch', 3],
    ['occlusion', 2],
  ] as const) {
    const projected = tf.tidy(() => getNorm(norm).distance(getNorm(norm).project(noise, budget)).arraySync() as number[]);
    for (const v of projected) assert.ok(v <= budget && v > 0, `${norm}: ${v} against ${budget}`);
  }
  const kept = tf.tidy(() => {
    const big = deltaAt([[2, 2]]).mul(100);
    return getNorm('l0')
      .project(tf.add(big, deltaAt([[0, 0]])), 1)
      .arraySync() as number[][][][];
  });
  assert.equal(kept[0]?.[2]?.[2]?.[1], 1, 'the largest pixel survives');
  assert.equal(kept[0]?.[0]?.[0]?.[1], 0);
  noise.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('sparse budgets are whole numbers of pixels', () => {
  assert.throws(() => threatModel({ norm: 'patch', epsilon: 2.5 }), { code: 'E_EPSILON_RANGE' });
  assert.throws(() => threatModel({ norm: 'l0', epsilon: 0.1 }), { code: 'E_EPSILON_RANGE' });
  assert.equal(threatModel({ norm: 'occlusion', epsilon: 8 }).id, 'occlusion-8');
});
