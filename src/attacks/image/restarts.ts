/**
 * Restarts that keep the best: the one outer loop of PGD and APGD (and APGD-T's rounds of
 * target classes). Each run attacks only the examples still unbroken; per example the
 * result is the first point that meets the goal, else the point of highest loss over all
 * runs. So more restarts can never make the result weaker, and the success flags describe
 * exactly the stored points.
 */
import * as tf from '@tensorflow/tfjs';
import type { AttackContext } from '../wrapper.js';

/** What one run returns for its subset of rows. */
export interface RunOutcome {
  success: Uint8Array;
  /** Best objective value per row. */
  loss: Float32Array;
  /** Row-major best points. */
  adversarial: Float32Array;
  /** Model evaluations the run spent per row. */
  queries: number;
}

export interface Restarts {
  /** How many runs (restarts times rounds); 0 runs leave the clean input. */
  runs: number;
  /** Steps per run, for progress. */
  stepsPerRun: number;
  /**
   * One run on `subset`, rows `rows` of the batch (the examples not yet broken), in order.
   * `onStep` is called after each step.
   */
  run: (subset: tf.Tensor, rows: readonly number[], index: number, onStep: () => void) => Promise<RunOutcome>;
}

export interface BestOfRuns {
  /** Row-major best points of the whole batch (the clean input where nothing ran). */
  points: Float32Array;
  success: Uint8Array;
  queries: Int32Array;
}

/**
 * Runs `runs` attempts and keeps, per example, the first success or the highest loss.
 *
 * @example const best = await bestOfRuns(context, { runs: restarts, stepsPerRun: steps, run: (subset, rows, r, onStep) => ... });
 */
export async function bestOfRuns(context: AttackContext, restarts: Restarts): Promise<BestOfRuns> {
  const { x, n, rowSize } = context;
  const points = Float32Array.from(context.clean);
  const success = new Uint8Array(n);
  const bestLoss = new Float32Array(n).fill(-Infinity);
  const queries = new Int32Array(n);
  const total = restarts.stepsPerRun * restarts.runs;
  let done = 0;
  for (let index = 0; index < restarts.runs; index++) {
    const rows: number[] = [];
    for (let i = 0; i < n; i++) if (!success[i]) rows.push(i);
    if (rows.length === 0) break;
    const subset = rows.length === n ? tf.clone(x) : tf.tidy(() => tf.gather(x, tf.tensor1d(rows, 'int32')));
    let outcome: RunOutcome;
    try {
      outcome = await restarts.run(subset, rows, index, () => context.onProgress({ done: ++done, total }));
    } finally {
      subset.dispose();
    }
    rows.forEach((row, k) => {
      queries[row] = (queries[row] as number) + outcome.queries;
      if (outcome.success[k] || (outcome.loss[k] as number) > (bestLoss[row] as number)) {
        success[row] = outcome.success[k] as number;
        bestLoss[row] = outcome.loss[k] as number;
        points.set(outcome.adversarial.subarray(k * rowSize, (k + 1) * rowSize), row * rowSize);
      }
    });
    done = (index + 1) * restarts.stepsPerRun;
    context.onProgress({ done, total });
  }
  return { points, success, queries };
}
