import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../core/rng.js';
import type { OodDetector } from './index.js';
import { fitOodDetector } from './index.js';

/** The score by its definition: whiten the features with L⁻¹, then the nearest whitened class mean. */
function direct(detector: OodDetector, f: Float32Array): number {
  const { dims: d, whitening, means } = detector.json;
  const z = Array.from({ length: d }, (_, i) => {
    let sum = 0;
    for (let k = 0; k <= i; k++) sum += (whitening[i * d + k] as number) * (f[k] as number);
    return sum;
  });
  return Math.min(...means.map((m) => z.reduce((s, v, i) => s + (v - (m[i] as number)) ** 2, 0)));
}

describe('OOD score', () => {
  test('over the non-zero features it equals whitening every feature, for dense, sparse and all-zero rows', () => {
    const rng = createRng(4);
    const d = 24;
    // ReLU-like rows: about half the features exactly zero.
    const row = (zeros: number, shift = 0): Float32Array =>
      Float32Array.from({ length: d }, (_, i) => (rng.next() < zeros ? 0 : Math.max(0, rng.normal() + shift + (i % 3))));
    const features = Array.from({ length: 300 }, (_, i) => row(0.5, i % 4));
    const labels = Int32Array.from(features, (_, i) => i % 4);
    const detector = fitOodDetector({ features, labels, numClasses: 4 });
    for (const f of [...Array.from({ length: 40 }, () => row(0.5)), row(0), row(0.9), row(1), row(0.5, 30)]) {
      const want = direct(detector, f);
      assert.ok(Math.abs(detector.score(f) - want) <= 1e-6 * Math.max(1, want), `${detector.score(f)} vs ${want}`);
    }
  });
});
