import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../core/errors.js';
import { randomShift, validateAugment } from './augment.js';

/** Two 4x4 one-channel images with distinct pixel values. */
function images(): Float32Array {
  return Float32Array.from({ length: 32 }, (_, i) => i + 1);
}

test('shifts every image by a whole offset within the bound, filling from outside', () => {
  const x = images();
  const shifted = randomShift(x, 2, [4, 4, 1], { shift: 1, fill: -1 }, 7);
  assert.notDeepEqual(shifted, x);
  for (let n = 0; n < 2; n++) {
    const src = x.subarray(n * 16, n * 16 + 16);
    const out = shifted.subarray(n * 16, n * 16 + 16);
    // Find the offset that explains the image: every kept pixel equals its source, the rest are fill.
    const explained = [-1, 0, 1]
      .flatMap((dy) => [-1, 0, 1].map((dx) => ({ dy, dx })))
      .filter(({ dy, dx }) => {
        for (let r = 0; r < 4; r++) {
          for (let c = 0; c < 4; c++) {
            const sr = r - dy;
            const sc = c - dx;
            const want = sr >= 0 && sr < 4 && sc >= 0 && sc < 4 ? src[sr * 4 + sc] : -1;
            if (out[r * 4 + c] !== want) return false;
          }
        }
        return true;
      });
    assert.equal(explained.length, 1, `image ${n}: ${Array.from(out)}`);
  }
});

test('is deterministic by seed, differs across seeds, and keeps channels together', () => {
  const x = Float32Array.from({ length: 3 * 5 * 5 * 2 }, (_, i) => i);
  const a = randomShift(x, 3, [5, 5, 2], { shift: 2 }, 11);
  assert.deepEqual(randomShift(x, 3, [5, 5, 2], { shift: 2 }, 11), a);
  assert.notDeepEqual(randomShift(x, 3, [5, 5, 2], { shift: 2 }, 12), a);
  // Channel pairs (even, odd) move together: a kept pixel's second channel is its first + 1.
  for (let i = 0; i < a.length; i += 2) if (a[i] !== 0 || a[i + 1] !== 0) assert.equal(a[i + 1], (a[i] as number) + 1);
});

test('no shift, or non-image inputs, pass through untouched', () => {
  const x = images();
  assert.equal(randomShift(x, 2, [4, 4, 1], { shift: 0 }, 1), x);
  assert.equal(randomShift(x, 2, [16], { shift: 2 }, 1), x);
});

test('bad settings are usage errors', () => {
  for (const bad of [{ shift: -1 }, { shift: 1.5 }, { shift: 9 }, { shift: 1, fill: Number.NaN }]) {
    assert.throws(
      () => validateAugment(bad),
      (e: unknown) => e instanceof UsageError && e.code === 'E_AUGMENT',
    );
  }
  validateAugment({ shift: 2 });
});
