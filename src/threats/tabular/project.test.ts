import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { checkRows } from './check.js';
import { compileConstraints, type TabularConstraints } from './compile.js';
import { projectRows, scaledDistance } from './project.js';
import type { TabularConstraintsSpec } from './schema.js';

// Seven features exercising every rule: an immutable id, a one-hot group of three, an
// integer count that may only rise, and two continuous readings with budgets.
const NAMES = ['id', 'cat_a', 'cat_b', 'cat_c', 'count', 'humidity', 'temperature'];
const SPACE = { features: 7, featureNames: NAMES, bounds: { min: -50, max: 150 } };
const RANGES = { id: { min: 0, max: 10 }, count: { min: 0, max: 20 }, humidity: { min: 0, max: 100 }, temperature: { min: -10, max: 60 } };

function constraints(norm: 'linf' | 'l2', epsilon: number, scale: 'none' | 'range'): TabularConstraints {
  const spec: TabularConstraintsSpec = {
    immutable: ['id'],
    ranges: RANGES,
    integer: ['id', 'count'],
    oneHot: [['cat_a', 'cat_b', 'cat_c']],
    monotone: { count: 'increase' },
    budgets: { humidity: 5, temperature: 3, count: 4 },
    norm: { kind: norm, epsilon, scale },
  };
  return compileConstraints(spec, SPACE);
}

/** A clean row that satisfies the ranges, integer and one-hot rules. */
const cleanRow = fc
  .tuple(
    fc.integer({ min: 0, max: 10 }),
    fc.integer({ min: 0, max: 2 }),
    fc.integer({ min: 0, max: 20 }),
    fc.double({ min: 0, max: 100, noNaN: true }),
    fc.double({ min: -10, max: 60, noNaN: true }),
  )
  .map(([id, cat, count, h, t]) => [id, cat === 0 ? 1 : 0, cat === 1 ? 1 : 0, cat === 2 ? 1 : 0, count, h, t]);
const anyRow = fc.array(fc.double({ min: -200, max: 200, noNaN: true }), { minLength: 7, maxLength: 7 });
const settings = fc.record({
  norm: fc.constantFrom<'linf' | 'l2'>('linf', 'l2'),
  epsilon: fc.double({ min: 0, max: 3, noNaN: true }),
  scale: fc.constantFrom<'none' | 'range'>('none', 'range'),
});

describe('tabular projection', () => {
  test('the output is feasible for any clean row and any candidate', () => {
    fc.assert(
      fc.property(settings, fc.array(fc.tuple(cleanRow, anyRow), { minLength: 1, maxLength: 8 }), (s, rows) => {
        const c = constraints(s.norm, s.scale === 'range' ? s.epsilon / 10 : s.epsilon, s.scale);
        const x0 = Float32Array.from(rows.flatMap(([clean]) => clean));
        const points = Float32Array.from(rows.flatMap(([, p]) => p));
        const out = projectRows(c, x0, points, rows.length);
        assert.deepEqual(checkRows(c, x0, out, rows.length), []);
      }),
      { numRuns: 300, seed: 29 },
    );
  });

  test('projection is idempotent', () => {
    fc.assert(
      fc.property(settings, cleanRow, anyRow, (s, clean, point) => {
        const c = constraints(s.norm, s.epsilon, s.scale);
        const x0 = Float32Array.from(clean);
        const once = projectRows(c, x0, Float32Array.from(point), 1);
        const twice = projectRows(c, x0, once, 1);
        for (let f = 0; f < 7; f++)
          assert.ok(Math.abs((once[f] as number) - (twice[f] as number)) <= 1e-4 * Math.max(1, Math.abs(once[f] as number)));
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  test('a feasible point is its own projection, and the clean row is feasible', () => {
    fc.assert(
      fc.property(settings, cleanRow, (s, clean) => {
        const c = constraints(s.norm, s.epsilon, s.scale);
        const x0 = Float32Array.from(clean);
        projectRows(c, x0, x0, 1).forEach((v, f) => assert.ok(v === x0[f], `feature ${f}: ${v} != ${x0[f]}`));
      }),
      { numRuns: 100, seed: 3 },
    );
  });

  test('L2 without per-feature rules is the Euclidean projection onto the ball', () => {
    const c = compileConstraints({ norm: { kind: 'l2', epsilon: 1, scale: 'none' } }, { features: 2, bounds: { min: -10, max: 10 } });
    const out = projectRows(c, Float32Array.from([0, 0]), Float32Array.from([3, 4]), 1);
    assert.ok(Math.abs((out[0] as number) - 0.6) < 1e-5 && Math.abs((out[1] as number) - 0.8) < 1e-5);
  });

  test('L2 with a binding box: the ball-and-box optimum, not a rescaled clip', () => {
    // Box on x: [-0.1, 0.1]; the projection of (1, 1) onto the unit ball within it is (0.1, sqrt(1 - 0.01)).
    const c = compileConstraints(
      { budgets: { f0: 0.1 }, norm: { kind: 'l2', epsilon: 1, scale: 'none' } },
      { features: 2, bounds: { min: -10, max: 10 } },
    );
    const out = projectRows(c, Float32Array.from([0, 0]), Float32Array.from([1, 1]), 1);
    assert.ok(Math.abs((out[0] as number) - 0.1) < 1e-6);
    assert.ok(Math.abs((out[1] as number) - Math.sqrt(0.99)) < 1e-5, `got ${out[1]}`);
    assert.ok(scaledDistance(c, out) <= 1 + 1e-6);
  });

  test('one-hot: switches to the most active reachable category, and stays put when the budget cannot pay for it', () => {
    const wide = constraints('linf', 1, 'none');
    const x0 = Float32Array.from([1, 1, 0, 0, 5, 50, 20]);
    const out = projectRows(wide, x0, Float32Array.from([1, 0.2, 0.1, 0.9, 5, 50, 20]), 1);
    assert.deepEqual(Array.from(out.subarray(1, 4)), [0, 0, 1]);
    const tight = constraints('linf', 0.5, 'none');
    const kept = projectRows(tight, x0, Float32Array.from([1, 0.2, 0.1, 0.9, 5, 50, 20]), 1);
    assert.deepEqual(Array.from(kept.subarray(1, 4)), [1, 0, 0]);
  });

  test('integer and monotone: a count only rises, by whole steps within its budget', () => {
    const c = constraints('linf', 10, 'none');
    const x0 = Float32Array.from([3, 1, 0, 0, 5, 50, 20]);
    assert.equal(projectRows(c, x0, Float32Array.from([3, 1, 0, 0, 2.2, 50, 20]), 1)[4], 5);
    assert.equal(projectRows(c, x0, Float32Array.from([3, 1, 0, 0, 7.4, 50, 20]), 1)[4], 7);
    assert.equal(projectRows(c, x0, Float32Array.from([3, 1, 0, 0, 30, 50, 20]), 1)[4], 9);
    assert.equal(projectRows(c, x0, Float32Array.from([9, 1, 0, 0, 5, 50, 20]), 1)[0], 3, 'the immutable id stays');
  });

  test('unknown feature names and duplicate one-hot members are E_TABULAR_CONSTRAINTS naming the valid features', () => {
    assert.throws(
      () => compileConstraints({ immutable: ['nope'], norm: { kind: 'linf', epsilon: 1 } }, SPACE),
      (e: Error & { code?: string }) => e.code === 'E_TABULAR_CONSTRAINTS' && /nope/.test(e.message) && /humidity/.test(e.message),
    );
    assert.throws(
      () =>
        compileConstraints(
          {
            oneHot: [
              ['cat_a', 'cat_b'],
              ['cat_b', 'cat_c'],
            ],
            norm: { kind: 'linf', epsilon: 1 },
          },
          SPACE,
        ),
      (e: Error & { code?: string }) => e.code === 'E_TABULAR_CONSTRAINTS' && /two one-hot groups/.test(e.message),
    );
    assert.throws(
      () => compileConstraints({ norm: { kind: 'l1' as 'l2', epsilon: 1 } }, SPACE),
      (e: Error & { code?: string }) => e.code === 'E_TABULAR_CONSTRAINTS',
    );
  });

  test('the checker names each broken rule', () => {
    const c = constraints('linf', 1, 'none');
    const x0 = Float32Array.from([3, 1, 0, 0, 5, 50, 20]);
    const bad = Float32Array.from([4, 0.5, 0.5, 0, 4.5, 57, 20]);
    const rules = new Set(checkRows(c, x0, bad, 1).map((v) => v.rule));
    for (const rule of ['immutable', 'one-hot', 'integer', 'monotone', 'budget', 'norm'] as const)
      assert.ok(rules.has(rule), `missing ${rule}`);
    const outside = checkRows(c, x0, Float32Array.from([3, 1, 0, 0, 5, 50, -11]), 1).map((v) => v.rule);
    assert.ok(outside.includes('range'));
  });
});
