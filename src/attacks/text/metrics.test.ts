import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../../core/errors.js';
import { textAttackMetrics } from './metrics.js';
import type { TextAttackResult } from './types.js';

function result(rows: Array<{ correct: 0 | 1; success: 0 | 1; queries: number; fraction: number }>): TextAttackResult {
  return {
    adversarial: rows.map(() => 'x'),
    success: Uint8Array.from(rows.map((r) => r.success)),
    queries: Int32Array.from(rows.map((r) => r.queries)),
    changedWordFraction: Float32Array.from(rows.map((r) => r.fraction)),
    changes: rows.map(() => []),
    originalCorrect: Uint8Array.from(rows.map((r) => r.correct)),
  };
}

test('metrics follow the TextAttack definitions', () => {
  const m = textAttackMetrics(
    result([
      { correct: 1, success: 1, queries: 10, fraction: 0.25 },
      { correct: 1, success: 1, queries: 30, fraction: 0.5 },
      { correct: 1, success: 0, queries: 50, fraction: 0 },
      { correct: 1, success: 0, queries: 60, fraction: 0 },
      { correct: 0, success: 1, queries: 1, fraction: 0 },
    ]),
    500,
  );
  assert.equal(m.examples, 5);
  assert.equal(m.cleanAccuracy, 0.8);
  assert.equal(m.attackSuccessRate, 0.5);
  assert.equal(m.accuracyUnderAttack, 0.4);
  assert.equal(m.perturbedWordPercent, 37.5);
  assert.equal(m.meanQueries, 37.5);
  assert.equal(m.medianQueries, 40);
  assert.equal(m.msPerExample, 100);
  const empty = textAttackMetrics(result([]));
  assert.deepEqual([empty.attackSuccessRate, empty.accuracyUnderAttack, empty.meanQueries, empty.medianQueries], [0, 0, 0, 0]);
  const broken = { ...result([{ correct: 1, success: 0, queries: 1, fraction: 0 }]), queries: new Int32Array(0) };
  assert.throws(
    () => textAttackMetrics(broken),
    (e: unknown) => e instanceof InputError && e.code === 'E_TEXT_RESULT' && /queries/.test(e.message),
  );
});
