/** Small statistics over attribution vectors: ranks, rank correlation, top-k. */

/** Average ranks (ties share the mean rank), 0-based. */
export function ranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (values[a] as number) - (values[b] as number));
  const out = new Float64Array(n);
  let i = 0;
  while (i < n) {
    let j = i;
    while (j + 1 < n && values[order[j + 1] as number] === values[order[i] as number]) j++;
    const mean = (i + j) / 2;
    for (let k = i; k <= j; k++) out[order[k] as number] = mean;
    i = j + 1;
  }
  return out;
}

/** Pearson correlation; 0 when either side is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  if (n === 0) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] as number;
    mb += b[i] as number;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = (a[i] as number) - ma;
    const db = (b[i] as number) - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa === 0 || sbb === 0 ? 0 : sab / Math.sqrt(saa * sbb);
}

/** Spearman rank correlation (Pearson on average ranks). */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return pearson(ranks(a), ranks(b));
}

/** Absolute values, for comparing attributions by magnitude (sign flips are common across models). */
export function absolute(values: ArrayLike<number>): Float32Array {
  return Float32Array.from(values as ArrayLike<number>, (v) => Math.abs(v));
}

/** Indices of the `k` largest values of `score`, largest first (ties by lower index). */
export function topIndices(score: ArrayLike<number>, k: number): number[] {
  const idx = Array.from({ length: score.length }, (_, i) => i);
  idx.sort((a, b) => (score[b] as number) - (score[a] as number) || a - b);
  return idx.slice(0, Math.max(0, k));
}

/** Rounds to 4 decimals, for JSON that people read. */
export function round4(values: ArrayLike<number>): number[] {
  return Array.from(values as ArrayLike<number>, (v) => Math.round(v * 10_000) / 10_000);
}
