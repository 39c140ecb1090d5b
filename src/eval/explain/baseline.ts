/**
 * Integrated-gradients baselines (Sturmfels et al. 2020, "Visualizing the Impact of Feature
 * Attribution Baselines", https://distill.pub/2020/attribution-baselines/). The baseline is
 * the "absence of signal" the attribution is measured against, so the choice changes the
 * answer: zeros (black for images), a blurred copy (keeps colours, removes edges) or seeded
 * uniform noise in the bounds.
 */
import { createRng } from '../../core/rng.js';
import type { Bounds } from '../../core/types.js';
import type { IgBaseline } from './types.js';

const clamp = (v: number, b: Bounds): number => Math.min(b.max, Math.max(b.min, v));

/** A separable box blur of an `[H, W, C]` image (rank-1 inputs are blurred along their one axis). */
export function blur(x: Float32Array, shape: readonly number[], radius: number): Float32Array {
  const [h, w, c] = shape.length >= 2 ? [shape[0] as number, shape[1] as number, (shape[2] as number | undefined) ?? 1] : [1, x.length, 1];
  const pass = (src: Float32Array, horizontal: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < w; xx++)
        for (let ch = 0; ch < c; ch++) {
          let sum = 0;
          let n = 0;
          for (let d = -radius; d <= radius; d++) {
            const yy = horizontal ? y : y + d;
            const x2 = horizontal ? xx + d : xx;
            if (yy < 0 || yy >= h || x2 < 0 || x2 >= w) continue;
            sum += src[(yy * w + x2) * c + ch] as number;
            n++;
          }
          out[(y * w + xx) * c + ch] = sum / n;
        }
    return out;
  };
  return h === 1 ? pass(x, true) : pass(pass(x, true), false);
}

/** The baseline for `x`; `seed` only matters for `uniform`. */
export function makeBaseline(kind: IgBaseline, x: Float32Array, shape: readonly number[], bounds: Bounds, seed: number): Float32Array {
  switch (kind) {
    case 'zeros':
      return new Float32Array(x.length).fill(clamp(0, bounds));
    case 'blur': {
      // A radius of about a sixth of the smaller side removes a digit's strokes but keeps its blob.
      const side = shape.length >= 2 ? Math.min(shape[0] as number, shape[1] as number) : x.length;
      return blur(x, shape, Math.max(1, Math.round(side / 6)));
    }
    case 'uniform': {
      const rng = createRng(seed);
      return Float32Array.from(x, () => bounds.min + rng.next() * (bounds.max - bounds.min));
    }
  }
}
