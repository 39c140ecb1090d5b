/**
 * bench:engine's MNIST workloads on the worker pool, as `rampart eval` / `rampart train` run
 * them: (a) a 10-step PGD attack through `pool.attack` on real digits of a briefly trained
 * CNN, counted as gradient steps taken per second; (b) `pool.trainStep` with the `pgd-at`
 * objective. See bench/engine.ts.
 */
import * as tf from '@tensorflow/tfjs';

import { loadBundledMnist, splitDataset } from '../src/data/index.js';
import { createWorkerPool } from '../src/execution/pool/index.js';
import { buildModel } from '../src/models/architectures.js';
import { threatModel } from '../src/threats/threat-model.js';
import { PGD_SETTINGS } from './cnn-steps.js';
import { median } from './support.js';

const ROW = 784;

export interface PooledOptions {
  batch: number;
  reps: number;
  atReps: number;
  workers: number;
}

interface Throughput {
  ms: number;
  examplesPerSecond: number;
}

async function medianMsAsync(f: () => Promise<number>, warmup: number, reps: number): Promise<{ ms: number; units: number }> {
  for (let i = 0; i < warmup; i++) await f();
  const runs: { ms: number; units: number }[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const units = await f();
    runs.push({ ms: performance.now() - t0, units });
  }
  const ms = median(runs.map((r) => r.ms));
  return runs.find((r) => r.ms === ms) ?? (runs[0] as { ms: number; units: number });
}

interface PooledMeasure {
  /** Gradient steps (example × step) per second in a 10-step PGD attack through the pool. */
  pgdStep: { ms: number; stepsPerAttack: number; examplesPerSecond: number };
  pgdAtStep: Throughput;
}

export interface PooledBench {
  workers: number;
  warmupAccuracy: number;
  measure(): Promise<PooledMeasure>;
  close(): Promise<void>;
}

/** The same two workloads on the worker pool, as `rampart eval` / `rampart train` run them. */
export async function createPooledBench(options: PooledOptions): Promise<PooledBench> {
  const { batch: BATCH, reps: REPS, atReps: AT_REPS, workers: WORKERS } = options;
  const { train, test } = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  const pool = await createWorkerPool({ workers: WORKERS });
  const model = buildModel('cnn', { inputShape: [28, 28, 1], numClasses: 10, seed: 1 });
  const rows = (d: typeof train, start: number) => ({
    x: d.x.slice(start * ROW, (start + BATCH) * ROW),
    labels: d.y.slice(start, start + BATCH),
  });
  const handle = await pool.loadModel(model);
  // A model worth attacking, so the attack does not stop after one step.
  const adam = tf.train.adam(PGD_SETTINGS.learningRate * 2);
  for (let s = 0; s < 24; s++) await pool.trainStep(handle, model, adam, rows(train, (s * BATCH) % (train.count - BATCH)));
  const probe = rows(test, 0);
  const argmax = tf.tidy(() => tf.argMax(model.predict(tf.tensor(probe.x, [BATCH, 28, 28, 1])) as tf.Tensor, 1));
  const predicted = Int32Array.from(argmax.dataSync());
  argmax.dispose();
  const warmupAccuracy = predicted.reduce((sum, p, i) => sum + (p === probe.labels[i] ? 1 : 0), 0) / BATCH;
  const threat = threatModel({ norm: 'linf', epsilon: 0.05 });
  const attackOptions = { steps: PGD_SETTINGS.attackSteps, stepSize: 0.0125, randomStart: false, restarts: 1 };
  const objective = {
    id: 'pgd-at',
    options: {
      threat: { norm: 'linf' as const, epsilon: PGD_SETTINGS.epsilon },
      steps: PGD_SETTINGS.attackSteps,
      stepSize: PGD_SETTINGS.stepSize,
    },
  };
  let step = 0;
  return {
    workers: pool.size,
    warmupAccuracy,
    async measure() {
      const pgd = await medianMsAsync(
        async () => {
          const r = await pool.attack(handle, { attackId: 'pgd', attackOptions, threat, ...probe, seed: 1 });
          // queries = forward passes; all but the last of each example carried a gradient step.
          return r.queries.reduce((sum, q) => sum + Math.max(0, q - 1), 0);
        },
        1,
        REPS,
      );
      const at = await medianMsAsync(
        async () => {
          step++;
          await pool.trainStep(handle, model, adam, {
            ...rows(train, (step * BATCH) % (train.count - BATCH)),
            objective,
            batch: { epoch: 0, step, seed: step },
          });
          return BATCH;
        },
        1,
        AT_REPS,
      );
      return {
        pgdStep: { ms: pgd.ms, stepsPerAttack: pgd.units / BATCH, examplesPerSecond: (pgd.units * 1000) / pgd.ms },
        pgdAtStep: { ms: at.ms, examplesPerSecond: (BATCH * 1000) / at.ms },
      };
    },
    async close() {
      adam.dispose();
      await pool.unloadModel(handle);
      model.dispose();
      await pool.close();
    },
  };
}
