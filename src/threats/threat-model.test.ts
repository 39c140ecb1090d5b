import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { threatModel, parseEpsilons } from './threat-model.js';
import { getNorm, linf, l2 } from './norms.js';
import { ThreatError, UsageError } from '../core/errors.js';
import { engine } from '../../test/fixtures.js';

before(engine);

test('threat ids and validation', () => {
  assert.equal(threatModel({ norm: 'linf', epsilon: 0.3 }).id, 'linf-0.3');
  assert.throws(
    () => threatModel({ norm: 'linf', epsilon: -0.1 }),
    (e: unknown) => e instanceof ThreatError && e.code === 'E_EPSILON_RANGE',
  );
  assert.throws(
    () => threatModel({ norm: 'linf', epsilon: NaN }),
    (e: unknown) => e instanceof ThreatError && e.code === 'E_EPSILON_RANGE',
  );
  assert.throws(() => threatModel({ norm: 'linf', epsilon: 1.5 }), /exceeds the input range/);
  assert.doesNotThrow(() => threatModel({ norm: 'l2', epsilon: 3 }));
  assert.throws(
    () => threatModel({ norm: 'l3', epsilon: 1 }),
    (e: unknown) => e instanceof UsageError && e.code === 'E_UNKNOWN_NORM' && /'linf', 'l2', 'l0', 'patch' or 'occlusion'/.test(e.message),
  );
  assert.throws(() => threatModel({ norm: 'linf', epsilon: 0.1, bounds: { min: 1, max: 0 } }), /min < max/);
  assert.deepEqual(parseEpsilons('0.1, 0.2,0.3'), [0.1, 0.2, 0.3]);
  assert.throws(() => parseEpsilons('0.1,abc'), /'abc' is not a number/);
});

for (const norm of [linf, l2]) {
  test(`${norm.id}: random starts and projections stay in the ball; steps have unit norm`, () => {
    tf.tidy(() => {
      const eps = 0.7;
      const start = norm.randomStart([16, 5, 5, 1], eps, 3);
      const d = norm.distance(start).dataSync();
      for (const v of d) assert.ok(v <= eps + 1e-5 && v > 0);
      const big = tf.randomNormal([16, 5, 5, 1], 0, 5, 'float32', 4);
      const projected = norm.distance(norm.project(big, eps)).dataSync();
      for (const v of projected) assert.ok(Math.abs(v - eps) < 1e-4, `projection of a far point lands on the sphere, got ${v}`);
      const small = tf.mul(big, 1e-4);
      assert.deepEqual(Array.from(norm.project(small, eps).dataSync()), Array.from(small.dataSync()), 'points inside are unchanged');
      const step = norm.distance(norm.normalizeStep(big)).dataSync();
      for (const v of step) assert.ok(Math.abs(v - 1) < 1e-4);
      // Same seed, same start.
      assert.deepEqual(Array.from(norm.randomStart([2, 3], eps, 9).dataSync()), Array.from(norm.randomStart([2, 3], eps, 9).dataSync()));
    });
  });
}

test('getNorm returns the hooks', () => {
  assert.equal(getNorm('l2'), l2);
});
