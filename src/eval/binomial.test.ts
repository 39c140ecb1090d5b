import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  binomialTestHalf,
  clopperPearsonInterval,
  clopperPearsonLower,
  clopperPearsonUpper,
  inverseRegularizedIncompleteBeta,
  normalCdf,
  normalInverseCdf,
  regularizedIncompleteBeta,
} from './binomial.js';
import { UsageError } from '../core/errors.js';

/** |a - b| <= tol * max(1, |b|)-ish: relative where values are large, absolute near 0. */
function close(actual: number, expected: number, rel: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300), `${what}: got ${actual}, expected ${expected}`);
}

// Reference values: SciPy 1.17.1 (scipy.special.betainc, scipy.stats.beta.ppf / norm /
// binomtest), with betainc cross-checked against mpmath at 40 digits.
test('regularised incomplete beta matches SciPy/mpmath', () => {
  const cases: [number, number, number, number][] = [
    [0.4, 2, 3, 0.5248],
    [0.2, 0.5, 0.5, 0.2951672353008666],
    [0.3, 10, 20, 0.3640040810719442],
    [0.52, 500, 500, 0.8970824726930043],
    [0.97, 99, 2, 0.19462212006583554],
    [0.9995, 1e4, 5, 0.4400984714673917],
  ];
  for (const [x, a, b, expected] of cases) close(regularizedIncompleteBeta(x, a, b), expected, 1e-10, `I_${x}(${a}, ${b})`);
  for (const [x, a, b] of cases)
    close(
      regularizedIncompleteBeta(inverseRegularizedIncompleteBeta(regularizedIncompleteBeta(x, a, b), a, b), a, b),
      regularizedIncompleteBeta(x, a, b),
      1e-12,
      'round trip',
    );
});

test('one-sided Clopper-Pearson bounds match scipy.stats.beta.ppf', () => {
  const cases: [number, number, number, number, number][] = [
    [990, 1000, 0.001, 0.9760361871553114, 0.9970304990695041],
    [100, 100, 0.001, 0.933254300796991, 1],
    [50, 100, 0.05, 0.41362171463091174, 0.5863782853690882],
    [1, 10, 0.05, 0.005116196891823701, 0.39416330243650466],
    [9999, 10000, 0.001, 0.9990770386693395, 0.9999998999499716],
    [62, 100, 0.001, 0.46094891716642766, 0.7627837079829605],
    [500, 1000, 0.01, 0.46277806676099753, 0.5372219332390025],
    [77, 80, 0.05, 0.9059254534747863, 0.9897021986399223],
  ];
  for (const [k, n, alpha, lower, upper] of cases) {
    close(clopperPearsonLower(k, n, alpha), lower, 1e-9, `lower(${k}/${n}, ${alpha})`);
    close(clopperPearsonUpper(k, n, alpha), upper, 1e-9, `upper(${k}/${n}, ${alpha})`);
  }
  // k = n has the closed form alpha^(1/n): the largest pA a run of n samples can certify.
  close(clopperPearsonLower(100, 100, 0.001), 0.001 ** (1 / 100), 1e-12, 'closed form');
  assert.equal(clopperPearsonLower(0, 50, 0.01), 0);
});

test('two-sided Clopper-Pearson 95% intervals', () => {
  const cases: [number, number, number, number][] = [
    [0, 10, 0, 0.3084971078187607],
    [3, 10, 0.06673951117773447, 0.6524528500599973],
    [10, 10, 0.6915028921812392, 1],
    [45, 100, 0.35032022923967193, 0.552719811226064],
  ];
  for (const [k, n, lower, upper] of cases) {
    const ci = clopperPearsonInterval(k, n, 0.05);
    close(ci.lower, lower, 1e-9, `lower ${k}/${n}`);
    close(ci.upper, upper, 1e-9, `upper ${k}/${n}`);
  }
});

test('normal CDF and quantile match SciPy, including the tails', () => {
  const quantiles: [number, number][] = [
    [1e-300, -37.0470962993612],
    [1e-10, -6.361340902404056],
    [0.001, -3.090232306167813],
    [0.02, -2.053748910631823],
    [0.3, -0.5244005127080409],
    [0.5, 0],
    [0.975, 1.959963984540054],
    [0.99, 2.3263478740408408],
    [1 - 1e-10, 6.361340889697422],
  ];
  for (const [p, z] of quantiles)
    assert.ok(Math.abs(normalInverseCdf(p) - z) <= 1e-12 * Math.max(1, Math.abs(z)), `Φ⁻¹(${p}) = ${normalInverseCdf(p)}, expected ${z}`);
  const cdf: [number, number][] = [
    [-8, 6.22096057427174e-16],
    [-3, 0.0013498980316300933],
    [-1.5, 0.06680720126885807],
    [0, 0.5],
    [0.5, 0.6914624612740131],
    [1.96, 0.9750021048517795],
    [4, 0.9999683287581669],
  ];
  for (const [x, p] of cdf) close(normalCdf(x), p, 1e-11, `Φ(${x})`);
  assert.equal(normalInverseCdf(0), -Infinity);
  assert.equal(normalInverseCdf(1), Infinity);
});

test('exact two-sided binomial test at p = 1/2 matches scipy.stats.binomtest', () => {
  const cases: [number, number, number][] = [
    [60, 40, 0.05688793364098089],
    [10, 0, 0.001953125],
    [5, 5, 1],
    [520, 480, 0.2174482932041415],
    [30, 12, 0.007915897334896727],
  ];
  for (const [a, b, p] of cases) close(binomialTestHalf(a, a + b), p, 1e-10, `binomtest(${a}, ${a + b})`);
  close(binomialTestHalf(40, 100), binomialTestHalf(60, 100), 1e-15, 'symmetric');
});

test('bad arguments name the value', () => {
  assert.throws(
    () => clopperPearsonLower(11, 10, 0.05),
    (e: unknown) => e instanceof UsageError && e.code === 'E_STAT_ARGUMENT' && /k=11, n=10/.test(e.message),
  );
  assert.throws(() => clopperPearsonLower(1, 10, 0), /alpha in \(0, 1\); got 0/);
  assert.throws(() => normalInverseCdf(1.5), /p in \[0, 1\]; got 1.5/);
  assert.throws(() => regularizedIncompleteBeta(0.5, -1, 2), /a=-1/);
});
