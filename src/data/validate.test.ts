import assert from 'node:assert/strict';
import { test } from 'node:test';

import { InputError } from '../core/errors.js';
import type { Dataset } from '../core/types.js';
import { validateDataset } from './validate.js';

function tiny(overrides: Partial<Dataset> = {}): Dataset {
  return {
    name: 'tiny',
    shape: [2, 2],
    x: Float32Array.from([0, 0.25, 0.5, 1, 1, 0.5, 0.25, 0]),
    y: Int32Array.from([0, 2]),
    numClasses: 3,
    bounds: { min: 0, max: 1 },
    count: 2,
    ...overrides,
  };
}

function withX(index: number, value: number): Dataset {
  const x = tiny().x.slice();
  x[index] = value;
  return tiny({ x });
}

function rejects(ds: Dataset, code: string, details: Record<string, unknown> = {}): void {
  assert.throws(
    () => validateDataset(ds),
    (error) => {
      assert.ok(error instanceof InputError, String(error));
      assert.equal(error.code, code);
      for (const [key, value] of Object.entries(details)) assert.deepEqual(error.details[key], value, key);
      return true;
    },
  );
}

test('a well-formed data set passes and is returned', () => {
  const ds = tiny();
  assert.equal(validateDataset(ds), ds);
  validateDataset(tiny({ count: 0, x: new Float32Array(0), y: new Int32Array(0) }));
});

test('E_DATA_SHAPE: lengths, shape, types and numClasses', () => {
  rejects(tiny({ x: new Float32Array(7) }), 'E_DATA_SHAPE', { actual: 7, expected: 8 });
  rejects(tiny({ y: Int32Array.from([0]) }), 'E_DATA_SHAPE', { actual: 1, expected: 2 });
  rejects(tiny({ count: 3 }), 'E_DATA_SHAPE');
  rejects(tiny({ shape: [2, 0] }), 'E_DATA_SHAPE');
  rejects(tiny({ shape: [] }), 'E_DATA_SHAPE');
  rejects(tiny({ x: [0, 0, 0, 0, 0, 0, 0, 0] as unknown as Float32Array }), 'E_DATA_SHAPE');
  rejects(tiny({ y: Float32Array.from([0, 1]) as unknown as Int32Array }), 'E_DATA_SHAPE');
  rejects(tiny({ numClasses: 0 }), 'E_DATA_SHAPE');
});

test('E_BOUNDS: bounds must be finite and ordered', () => {
  rejects(tiny({ bounds: { min: 1, max: 0 } }), 'E_BOUNDS');
  rejects(tiny({ bounds: { min: 0, max: Number.POSITIVE_INFINITY } }), 'E_BOUNDS');
});

test('E_LABEL_RANGE names the first bad example and value', () => {
  rejects(tiny({ y: Int32Array.from([0, 3]) }), 'E_LABEL_RANGE', { index: 1, value: 3 });
  rejects(tiny({ y: Int32Array.from([-1, 5]) }), 'E_LABEL_RANGE', { index: 0, value: -1 });
});

test('E_NON_FINITE names the first bad feature, before any bounds problem', () => {
  rejects(withX(6, Number.NaN), 'E_NON_FINITE', { index: 6, example: 1, feature: 2 });
  const both = withX(5, Number.POSITIVE_INFINITY);
  both.x[1] = 7;
  rejects(both, 'E_NON_FINITE', { index: 5, value: Number.POSITIVE_INFINITY });
});

test('E_OUT_OF_BOUNDS names the first bad feature and value', () => {
  rejects(withX(3, 1.5), 'E_OUT_OF_BOUNDS', { index: 3, example: 0, feature: 3, value: 1.5 });
  rejects(withX(7, -0.5), 'E_OUT_OF_BOUNDS', { index: 7, example: 1, feature: 3, value: -0.5 });
});

test('a float32 value clamped to a float64 bound is inside the bound', () => {
  const x = Float32Array.from([0.3, 0.1, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1]);
  validateDataset(tiny({ x, bounds: { min: 0.1, max: 0.3 } }));
});
