import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertJsonMetadata } from './metadata.js';
import { InputError } from '../../core/errors.js';

describe('assertJsonMetadata', () => {
  it('accepts plain JSON, including null-prototype objects and shared (non-cyclic) references', () => {
    const bounds = { min: 0, max: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
    assertJsonMetadata({ bounds, again: bounds, classes: ['a', 'ß', '猫'], nested: [[1, 2], { x: null, y: true }], bare });
  });

  const holey: unknown[] = [1];
  holey[2] = 3;
  const bad: Array<[string, unknown, RegExp]> = [
    ['an array at top level', [1], /metadata is an array/],
    ['null at top level', null, /metadata is null/],
    ['Infinity', { bounds: { min: -Infinity } }, /metadata\.bounds\.min is -Infinity/],
    ['NaN', { eps: Number.NaN }, /metadata\.eps is NaN/],
    ['undefined', { a: undefined }, /metadata\.a is undefined/],
    ['a Date', { when: new Date(0) }, /metadata\.when is a Date object/],
    ['a typed array', { w: new Float32Array(2) }, /metadata\.w is a Float32Array object/],
    ['a bigint', { n: 1n }, /metadata\.n is a bigint/],
    ['a function', { f: () => 1 }, /metadata\.f is function/],
    ['an array hole', { xs: holey }, /metadata\.xs\[1\] is undefined/],
  ];
  for (const [what, value, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(
        () => assertJsonMetadata(value),
        (e: unknown) => {
          assert.ok(e instanceof InputError);
          assert.equal(e.code, 'E_MODEL_METADATA');
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }

  it('rejects cycles instead of overflowing the stack', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = { back: a };
    assert.throws(() => assertJsonMetadata(a), /metadata\.self\.back is a circular reference/);
  });
});
