/**
 * The small pieces of statistics that certification needs, written out so that a
 * certificate depends on no opaque numeric package: the regularised incomplete beta
 * function and its inverse (hence Clopper-Pearson bounds and the exact binomial test),
 * and the standard normal CDF and its inverse.
 *
 * Accuracy: about 1e-13 relative for the beta function on the ranges certification uses
 * (counts up to ~1e6), checked against SciPy/mpmath reference values in the tests.
 */
import { UsageError } from '../core/errors.js';

const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
];

/** log Γ(x) for x > 0 (Lanczos, g = 7); relative error ~1e-15. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] as number;
  for (let i = 1; i < LANCZOS.length; i++) sum += (LANCZOS[i] as number) / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const TINY = 1e-300;
const EPS = 1e-16;

/** Continued fraction for I_x(a, b) (modified Lentz), valid for x < (a + 1) / (a + b + 2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  // Convergence takes O(sqrt(max(a, b))) terms; the cap is far above that for counts <= 1e8.
  for (let m = 1; m <= 100_000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return h;
}

/**
 * The regularised incomplete beta function I_x(a, b) = P(Beta(a, b) <= x).
 *
 * @throws UsageError `E_STAT_ARGUMENT` for a, b <= 0 or x outside [0, 1].
 * @example regularizedIncompleteBeta(0.4, 2, 3) // 0.5248
 */
export function regularizedIncompleteBeta(x: number, a: number, b: number): number {
  if (!(a > 0 && b > 0 && Number.isFinite(a) && Number.isFinite(b))) {
    throw new UsageError('E_STAT_ARGUMENT', `Incomplete beta needs finite a > 0 and b > 0; got a=${a}, b=${b}.`, { details: { a, b } });
  }
  if (!(x >= 0 && x <= 1)) throw new UsageError('E_STAT_ARGUMENT', `Incomplete beta needs x in [0, 1]; got ${x}.`, { details: { x } });
  if (x === 0) return 0;
  if (x === 1) return 1;
  const logFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(logFront);
  // The fraction converges fast only on one side of the mean; use the symmetry I_x(a,b) = 1 - I_{1-x}(b,a) on the other.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/**
 * The quantile of Beta(a, b): the x with I_x(a, b) = p. Bisection to full double
 * precision: I_x is monotone in x, so bisection cannot fail where Newton steps can
 * overshoot in the extreme tails that small alphas produce.
 *
 * @throws UsageError `E_STAT_ARGUMENT` for p outside [0, 1] or a, b <= 0.
 */
export function inverseRegularizedIncompleteBeta(p: number, a: number, b: number): number {
  if (!(p >= 0 && p <= 1)) throw new UsageError('E_STAT_ARGUMENT', `Beta quantile needs p in [0, 1]; got ${p}.`, { details: { p } });
  if (p === 0) return 0;
  if (p === 1) return 1;
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 2000; i++) {
    // Bisect in the geometric sense near 0 so tiny quantiles (1e-12) still get full relative precision.
    const mid = lo === 0 && hi < 1e-3 ? hi / 16 : (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    if (regularizedIncompleteBeta(mid, a, b) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function checkCounts(k: number, n: number, alpha: number, op: string): void {
  if (!(Number.isInteger(n) && n >= 1 && Number.isInteger(k) && k >= 0 && k <= n)) {
    throw new UsageError('E_STAT_ARGUMENT', `${op} needs whole counts 0 <= k <= n with n >= 1; got k=${k}, n=${n}.`, { details: { k, n } });
  }
  if (!(alpha > 0 && alpha < 1))
    throw new UsageError('E_STAT_ARGUMENT', `${op} needs alpha in (0, 1); got ${alpha}.`, { details: { alpha } });
}

/**
 * One-sided Clopper-Pearson lower bound: P(p >= bound) >= 1 - alpha for k successes in n
 * trials. This is the bound randomized smoothing certifies with (Cohen et al. 2019 use
 * `proportion_confint(k, n, alpha=2*alpha, method="beta")[0]`, the same number).
 *
 * @throws UsageError `E_STAT_ARGUMENT` for counts that are not whole, k > n, or alpha outside (0, 1).
 * @example clopperPearsonLower(990, 1000, 0.001) // 0.97603...
 */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  checkCounts(k, n, alpha, 'Clopper-Pearson lower bound');
  return k === 0 ? 0 : inverseRegularizedIncompleteBeta(alpha, k, n - k + 1);
}

/**
 * One-sided Clopper-Pearson upper bound: P(p <= bound) >= 1 - alpha.
 *
 * @throws UsageError `E_STAT_ARGUMENT` as for {@link clopperPearsonLower}.
 */
export function clopperPearsonUpper(k: number, n: number, alpha: number): number {
  checkCounts(k, n, alpha, 'Clopper-Pearson upper bound');
  return k === n ? 1 : inverseRegularizedIncompleteBeta(1 - alpha, k + 1, n - k);
}

/**
 * Two-sided Clopper-Pearson interval at confidence 1 - alpha (alpha/2 in each tail).
 *
 * @throws UsageError `E_STAT_ARGUMENT` as for {@link clopperPearsonLower}.
 * @example clopperPearsonInterval(3, 10, 0.05) // { lower: 0.0667..., upper: 0.6524... }
 */
export function clopperPearsonInterval(k: number, n: number, alpha: number): { lower: number; upper: number } {
  return { lower: clopperPearsonLower(k, n, alpha / 2), upper: clopperPearsonUpper(k, n, alpha / 2) };
}

/**
 * Two-sided exact binomial test of p = 1/2 (SciPy's `binomtest(k, n, 0.5).pvalue`): by
 * symmetry, twice the upper tail beyond the larger count, capped at 1. Smoothing's
 * PREDICT abstains unless the top class beats the runner-up with this p-value <= alpha.
 *
 * @throws UsageError `E_STAT_ARGUMENT` for counts that are not whole or k > n.
 */
export function binomialTestHalf(k: number, n: number): number {
  checkCounts(k, n, 0.5, 'Binomial test');
  const high = Math.max(k, n - k);
  if (2 * high === n) return 1;
  // P(X >= high) for X ~ Bin(n, 1/2) is I_{1/2}(high, n - high + 1).
  return Math.min(1, 2 * regularizedIncompleteBeta(0.5, high, n - high + 1));
}

/** Regularised upper incomplete gamma Q(a, x), for the normal CDF's tails. */
function upperIncompleteGamma(a: number, x: number): number {
  if (x <= 0) return 1;
  const logFront = -x + a * Math.log(x) - logGamma(a);
  if (x < a + 1) {
    // Series for P(a, x).
    let sum = 1 / a;
    let term = sum;
    for (let n = 1; n < 10_000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(logFront);
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) break;
  }
  return Math.exp(logFront) * h;
}

/** Standard normal CDF Φ(x), accurate in the tails (Φ(-8) ≈ 6.2e-16 to ~1e-14 relative). */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  // Φ(x) = erfc(-x/√2)/2 and erfc(z) = Q(1/2, z²) for z >= 0.
  const tail = 0.5 * upperIncompleteGamma(0.5, (x * x) / 2);
  return x < 0 ? tail : 1 - tail;
}

// Wichura's AS 241 (PPND16), Applied Statistics 37(3), 1988: ~1e-16 relative accuracy.
const A = [
  3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987, 67265.7709270087, 33430.57558358813,
  2509.0809287301227,
];
const B = [
  1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271, 28729.085735721943, 5226.495278852854,
];
const C = [
  1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684, 0.2417807251774506,
  0.022723844989269184, 0.0007745450142783414,
];
const D = [
  1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008, 0.015198666563616457, 0.0005475938084995345,
  1.0507500716444169e-9,
];
const E = [
  6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124, 0.0012426609473880784,
  2.7115555687434876e-5, 2.0103343992922881e-7,
];
const F = [
  1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133, 1.8463183175100548e-5, 1.421511758316446e-7,
  2.0442631033899397e-15,
];

function poly(coefficients: readonly number[], x: number): number {
  let v = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) v = v * x + (coefficients[i] as number);
  return v;
}

/**
 * The standard normal quantile Φ⁻¹(p) (Wichura's AS 241).
 *
 * @throws UsageError `E_STAT_ARGUMENT` for p outside [0, 1].
 * @example normalInverseCdf(0.975) // 1.959963984540054
 */
export function normalInverseCdf(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new UsageError('E_STAT_ARGUMENT', `The normal quantile needs p in [0, 1]; got ${p}.`, { details: { p } });
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(A, r)) / poly(B, r);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value = poly(C, r) / poly(D, r);
  } else {
    r -= 5;
    value = poly(E, r) / poly(F, r);
  }
  return q < 0 ? -value : value;
}
