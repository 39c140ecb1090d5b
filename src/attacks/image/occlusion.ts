/**
 * Occlusion sweep — after "Visualizing and Understanding Convolutional Networks", Zeiler &
 * Fergus, ECCV 2014, https://arxiv.org/abs/1311.2901 (occlusion sensitivity), used as an
 * attack: a grey, black or white box of side `s` (the threat's epsilon) is slid over the
 * image with a stride (`mode: worst`, every grid position) or dropped at random positions
 * (`mode: random`, `samples` of them, seeded), and per example the first position that
 * meets the goal, else the one of lowest margin, is returned.
 *
 * Norm: `occlusion` (or `patch`: an occluder is a patch of fixed content). Score-based:
 * only logits are read, so it runs against black-box models. Queries per example are the
 * positions evaluated for it.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { oneOf, wholeNumber } from '../../core/option-schema.js';
import { createRng } from '../../core/rng.js';
import { parseAttackOptions } from '../option-schema.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { boxSide, randomLocations, type Location } from './patch-placement.js';
import { argmaxRows, goalMet, logitsOf } from './rows.js';

export const occlusionOptions = z.strictObject({
  /** `worst` sweeps every grid position; `random` samples positions (default `worst`). */
  mode: oneOf(['worst', 'random']).default('worst'),
  /** Grid step in pixels for `worst` (default: half the box side, at least 1). */
  stride: wholeNumber(1).optional(),
  /** Positions per example for `random` (default 20, at most 10000). */
  samples: wholeNumber(1)
    .refine((v) => v <= 10000, { error: 'must be at most 10000' })
    .default(20),
  /** The occluder's colour: the bounds' middle, minimum or maximum (default `grey`). */
  fill: oneOf(['grey', 'black', 'white']).default('grey'),
});
export type OcclusionOptions = z.input<typeof occlusionOptions>;
type OcclusionConfig = z.infer<typeof occlusionOptions>;

/** Every top-left corner of a grid with `stride`, the last row and column flush with the edge. */
function gridLocations(h: number, w: number, s: number, stride: number): Location[] {
  const steps = (size: number): number[] => {
    const out: number[] = [];
    for (let v = 0; v <= size - s; v += stride) out.push(v);
    if (out[out.length - 1] !== size - s) out.push(size - s);
    return out;
  };
  return steps(h).flatMap((top) => steps(w).map((left) => ({ top, left })));
}

/** Row `i` of `clean` with the box at `at` filled with `value`, written into `out` at row `row`. */
function occlude(
  clean: Float32Array,
  i: number,
  out: Float32Array,
  row: number,
  geometry: { h: number; w: number; c: number; s: number },
  at: Location,
  value: number,
): void {
  const { h, w, c, s } = geometry;
  const size = h * w * c;
  out.set(clean.subarray(i * size, (i + 1) * size), row * size);
  for (let r = at.top; r < at.top + s; r++) out.fill(value, row * size + (r * w + at.left) * c, row * size + (r * w + at.left + s) * c);
}

/** Margin to minimise: below zero when the goal holds. */
function margin(z: Float32Array, row: number, numClasses: number, goalClass: number, targeted: boolean): number {
  let other = -Infinity;
  for (let j = 0; j < numClasses; j++) if (j !== goalClass) other = Math.max(other, z[row * numClasses + j] as number);
  const own = z[row * numClasses + goalClass] as number;
  return targeted ? other - own : own - other;
}

async function occlusionSearch(context: AttackContext, config: OcclusionConfig): Promise<AttackOutcome> {
  const { model, x, n, threat, targeted, goalClasses, clean } = context;
  const { side: s, h, w, c } = boxSide(x.shape, threat.epsilon);
  const { min, max } = threat.bounds;
  const value = config.fill === 'black' ? min : config.fill === 'white' ? max : (min + max) / 2;
  const rng = createRng(context.seed);
  const grid = gridLocations(h, w, s, config.stride ?? Math.max(1, Math.floor(s / 2)));
  const rounds = config.mode === 'worst' ? grid.length : config.samples;
  const geometry = { h, w, c, s };
  const size = h * w * c;
  const best = Float32Array.from(clean);
  const bestMargin = new Float32Array(n).fill(Infinity);
  const success = new Uint8Array(n);
  const queries = new Int32Array(n);
  for (let round = 0; round < rounds; round++) {
    const active = Array.from({ length: n }, (_, i) => i).filter((i) => !success[i]);
    if (active.length === 0) break;
    const sampled = config.mode === 'random' ? randomLocations(rng, active.length, h, w, s) : undefined;
    const rows = new Float32Array(active.length * size);
    active.forEach((i, row) => occlude(clean, i, rows, row, geometry, sampled?.[row] ?? (grid[round] as Location), value));
    const z = await logitsOf(model, rows, active.length);
    const predicted = argmaxRows(z, active.length, model.numClasses);
    active.forEach((i, row) => {
      queries[i] = (queries[i] as number) + 1;
      const hit = goalMet(predicted[row] as number, goalClasses[i] as number, targeted);
      const m = margin(z, row, model.numClasses, goalClasses[i] as number, targeted);
      if (hit || m < (bestMargin[i] as number)) {
        best.set(rows.subarray(row * size, (row + 1) * size), i * size);
        bestMargin[i] = m;
        if (hit) success[i] = 1;
      }
    });
    context.onProgress({ done: round + 1, total: rounds });
  }
  return { adversarial: tf.tensor(best, x.shape), success, queries };
}

/**
 * Slides or drops an occluding box over each example.
 *
 * @throws UsageError `E_THREAT_NORM` for a threat that is not `occlusion` or `patch`.
 * @throws ThreatError `E_EPSILON_RANGE` for a box side that does not fit the images.
 */
export const occlusionAttack = wrapAttack('occlusion', 'scores', occlusionSearch, ['occlusion', 'patch']);

/**
 * @throws UsageError `E_ATTACK_OPTION` for an unknown option or a value out of range.
 * @example const r = await occlusionSweep({ stride: 2 }).run(model, x, labels, threatModel({ norm: 'occlusion', epsilon: 8 }));
 */
export function occlusionSweep(options: OcclusionOptions = {}): Attack {
  return attackOf('occlusion', parseAttackOptions('occlusion', occlusionOptions, options), occlusionAttack);
}
