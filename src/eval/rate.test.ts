import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attackSuccessOf, formatRate, rateOf } from './rate.js';

test('a rate carries its count, n and a 95% Clopper-Pearson interval around the value', () => {
  const r = rateOf(373, 500);
  assert.equal(r.value, 0.746);
  assert.ok(r.lower < 0.746 && r.upper > 0.746 && r.lower > 0.7 && r.upper < 0.79);
  assert.deepEqual(rateOf(0, 0), { count: 0, n: 0, value: 0, lower: 0, upper: 1 });
  assert.match(formatRate(r), /^74\.6% \(95% CI \d+\.\d%–\d+\.\d%, n=500\)$/);
});

test('attack success is the share of correctly classified examples the attacks broke', () => {
  const success = attackSuccessOf(rateOf(482, 500), rateOf(353, 500));
  assert.equal(success.count, 129);
  assert.equal(success.n, 482);
  assert.ok(success.lower < success.value && success.value < success.upper);
});
