/** Shared helpers for the wasm kernel tests: seeded inputs and the error measure they all use. */
import assert from 'node:assert/strict';
import { createRng } from '../src/core/rng.js';

/** Deterministic values in [-1, 1) from a seed, independent of any backend. */
export function seededValues(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

/** max |a - b| / max(1, max |ref|); NaN must appear at the same places in both. */
export function relError(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  assert.equal(got.length, ref.length, 'length');
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i]!;
    const g = got[i]!;
    if (Number.isNaN(r) || Number.isNaN(g)) {
      assert.ok(Number.isNaN(r) && Number.isNaN(g), `NaN mismatch at ${i}`);
      continue;
    }
    diff = Math.max(diff, Math.abs(r - g));
    scale = Math.max(scale, Math.abs(r));
  }
  return diff / scale;
}
