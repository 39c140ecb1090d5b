/**
 * Benchmark of the worker pool (src/execution/pool): one worker (in-process, no threads)
 * against two worker threads, in one process so the ratios share a machine state.
 *
 * Model: `buildModel('cnn', …)` on 28x28x1 bundled MNIST digits, first trained for a few
 * data-parallel steps so the attack has work to do. Measured:
 *   - a 10-step L∞ PGD attack (eps 0.1, random start) at batch 256, examples/s;
 *   - a data-parallel training step at batch 128 (pool gradients + Adam applied on the
 *     main thread + weight broadcast, i.e. `pool.trainStep`), examples/s.
 * Each round runs every mode once, alternating. Reported per mode: the best round (the one
 * least disturbed by other processes on a shared machine) and the median round; ratios are
 * of the best rounds and the median of per-round ratios. The direct rows (`attack.run` /
 * `optimizer.minimize` on the main thread, no pool) show what the pool costs at 1 worker.
 * Both pool modes do identical work (same shards, same seeds, same results), so early
 * stopping of broken examples affects them equally.
 *
 * On Linux each measurement also records, from /proc, the cores this process used and the
 * cores everything else on the machine used meanwhile: two workers can only beat one when
 * a second core is actually free, and this makes a contended run visible.
 *
 * Run: npx tsx bench/pool.ts [--rounds 4] [--train-steps 4]
 */
import { readFileSync, readdirSync } from 'node:fs';

import * as tf from '@tensorflow/tfjs';

import { createAttack } from '../src/attacks/registry.js';
import { loadBundledMnist, splitDataset } from '../src/data/index.js';
import { initEngine } from '../src/engine/backend.js';
import { createWorkerPool, type PoolModelHandle, type WorkerPool } from '../src/execution/pool/index.js';
import { buildModel } from '../src/models/architectures.js';
import { TfjsClassifier } from '../src/models/tfjs-classifier.js';
import { threatModel } from '../src/threats/threat-model.js';
import { standardObjective } from '../src/training/objectives/standard.js';
import { median, positiveFlag, reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const ATTACK_BATCH = 256;
const TRAIN_BATCH = 128;
const SHAPE = [28, 28, 1];
const ROW = 784;

const ROUNDS = positiveFlag('rounds', 4);
const TRAIN_STEPS = positiveFlag('train-steps', 4);

/** CPU seconds used so far by every thread of this process, and by the whole machine (Linux /proc); undefined elsewhere. */
function cpuNow(): { ours: number; machine: number } | undefined {
  try {
    const tick = 0.01; // USER_HZ is 100 on Linux
    let ours = 0;
    for (const task of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ours += (Number(fields[11]) + Number(fields[12])) * tick;
    }
    const all = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const busy = all.reduce((a, b) => a + b, 0) - (all[3] ?? 0) - (all[4] ?? 0);
    return { ours, machine: busy * tick };
  } catch {
    return undefined;
  }
}

interface Sample {
  ms: number;
  /** Average cores used by this process / by other processes during the sample. */
  ours?: number;
  others?: number;
}

async function timed(f: () => Promise<void>): Promise<Sample> {
  const c0 = cpuNow();
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  const c1 = cpuNow();
  if (!c0 || !c1) return { ms };
  const ours = (c1.ours - c0.ours) / (ms / 1000);
  return { ms, ours, others: Math.max(0, (c1.machine - c0.machine) / (ms / 1000) - ours) };
}

interface Measured {
  rate: number;
  sample: Sample;
}

function rows(x: Float32Array, y: Int32Array, start: number, count: number): { x: Float32Array; labels: Int32Array } {
  return { x: x.subarray(start * ROW, (start + count) * ROW), labels: y.subarray(start, start + count) };
}

type Mode = 'direct' | 'pool-1' | 'pool-2';
const MODES: Mode[] = ['direct', 'pool-1', 'pool-2'];

function report(runs: Record<Mode, Measured[]>): void {
  const best = (mode: Mode): number => Math.max(...runs[mode].map((m) => m.rate));
  const cores = (mode: Mode, key: 'ours' | 'others'): string => {
    const v = runs[mode].map((m) => m.sample[key]).filter((c): c is number => c !== undefined);
    return v.length === 0 ? '   n/a' : median(v).toFixed(2).padStart(6);
  };
  for (const mode of MODES) {
    const rates = runs[mode].map((m) => m.rate);
    console.log(
      `  ${mode.padEnd(8)} best ${best(mode).toFixed(0).padStart(6)}   median ${median(rates).toFixed(0).padStart(6)}   cores ${cores(mode, 'ours')} / ${cores(mode, 'others')}`,
    );
  }
  const perRound = runs['pool-2'].map((m, r) => m.rate / (runs['pool-1'][r] as Measured).rate);
  console.log(
    `  pool-2 / pool-1: ${(best('pool-2') / best('pool-1')).toFixed(2)}x best, ${median(perRound).toFixed(2)}x median of rounds;` +
      `  pool-1 / direct: ${(best('pool-1') / best('direct')).toFixed(2)}x best`,
  );
}

async function main(): Promise<void> {
  const engine = await initEngine();
  const { train, test } = splitDataset(loadBundledMnist(), { seed: 7, fractions: { train: 0.8, validation: 0.1, test: 0.1 } });
  console.log(
    `backend ${engine.backend} (kernel overrides: ${engine.kernelOverrides.join(', ') || 'none'}), tfjs ${engine.tfjsVersion}, node ${process.version}`,
  );

  let t0 = performance.now();
  const one = await createWorkerPool({ workers: 1 });
  const two = await createWorkerPool({ workers: 2 });
  console.log(`pool start: 2 workers in ${(performance.now() - t0).toFixed(0)} ms`);

  const pools: Record<'pool-1' | 'pool-2', WorkerPool> = { 'pool-1': one, 'pool-2': two };
  try {
    // A model worth attacking: a few data-parallel Adam steps on 2 workers.
    const model = buildModel('cnn', { inputShape: SHAPE, numClasses: 10, seed: 1 });
    const warm = await two.loadModel(model);
    const adam = tf.train.adam(2e-3);
    t0 = performance.now();
    const warmSteps = 24;
    for (let s = 0; s < warmSteps; s++) await two.trainStep(warm, model, adam, rows(train.x, train.y, s * TRAIN_BATCH, TRAIN_BATCH));
    adam.dispose();
    await two.unloadModel(warm);
    const clf = new TfjsClassifier(model);
    const probe = tf.tidy(() => tf.argMax(clf.logits(tf.tensor(test.x.subarray(0, 500 * ROW), [500, ...SHAPE])), 1));
    const predicted = Int32Array.from(await probe.data());
    probe.dispose();
    const accuracy = predicted.reduce((sum, p, i) => sum + (p === test.y[i] ? 1 : 0), 0) / 500;
    console.log(
      `warm-up training: ${warmSteps} steps of ${TRAIN_BATCH} in ${(performance.now() - t0).toFixed(0)} ms, clean accuracy ${(100 * accuracy).toFixed(1)}% on 500 test digits`,
    );

    // ---- PGD -------------------------------------------------------------------------
    const threat = threatModel({ norm: 'linf', epsilon: 0.1 });
    const attackOptions = { steps: 10, randomStart: true };
    const batch = rows(test.x, test.y, 0, ATTACK_BATCH);
    const handles: Record<'pool-1' | 'pool-2', PoolModelHandle> = {
      'pool-1': await one.loadModel(model),
      'pool-2': await two.loadModel(model),
    };
    const successes: Partial<Record<Mode, number>> = {};
    const attackOnce = async (mode: Mode): Promise<Measured> => {
      let succeeded = 0;
      const sample = await timed(async () => {
        if (mode === 'direct') {
          const x = tf.tensor(batch.x, [ATTACK_BATCH, ...SHAPE]);
          const r = await createAttack('pgd', attackOptions).run(clf, x, batch.labels, threat, { seed: 1 });
          r.adversarial.dispose();
          x.dispose();
          succeeded = r.success.reduce((s, v) => s + v, 0);
        } else {
          const r = await pools[mode].attack(handles[mode], { attackId: 'pgd', attackOptions, threat, ...batch, seed: 1 });
          succeeded = r.success.reduce((s, v) => s + v, 0);
        }
      });
      successes[mode] = succeeded;
      return { rate: (ATTACK_BATCH * 1000) / sample.ms, sample };
    };
    for (const mode of MODES) await attackOnce(mode); // warm-up
    const attackRuns: Record<Mode, Measured[]> = { direct: [], 'pool-1': [], 'pool-2': [] };
    for (let r = 0; r < ROUNDS; r++) for (const mode of MODES) attackRuns[mode].push(await attackOnce(mode));

    // ---- data-parallel training step ---------------------------------------------------
    // Each mode trains its own copy from the same weights with its own Adam.
    const copies = await Promise.all(
      MODES.map(async () => {
        const m = buildModel('cnn', { inputShape: SHAPE, numClasses: 10, seed: 1 });
        m.setWeights(model.getWeights());
        return m;
      }),
    );
    const [directModel, oneModel, twoModel] = copies as [tf.Sequential, tf.Sequential, tf.Sequential];
    const trainHandles = { 'pool-1': await one.loadModel(oneModel), 'pool-2': await two.loadModel(twoModel) };
    const trainModels = { 'pool-1': oneModel, 'pool-2': twoModel };
    const optimizers: Record<Mode, tf.Optimizer> = {
      direct: tf.train.adam(1e-3),
      'pool-1': tf.train.adam(1e-3),
      'pool-2': tf.train.adam(1e-3),
    };
    const objective = standardObjective();
    let cursor = 0;
    const trainSteps = async (mode: Mode, steps: number): Promise<Measured> => {
      const sample = await timed(async () => {
        for (let s = 0; s < steps; s++) {
          const b = rows(train.x, train.y, ((cursor + s) * TRAIN_BATCH) % (train.count - TRAIN_BATCH), TRAIN_BATCH);
          if (mode === 'direct') {
            const x = tf.tensor(b.x, [TRAIN_BATCH, ...SHAPE]);
            const y = tf.tensor1d(b.labels, 'int32');
            const vars = directModel.trainableWeights.map((w) => w.read() as tf.Variable);
            const cost = tf.tidy(
              () =>
                optimizers.direct.minimize(() => objective.loss(directModel, { x, y, epoch: 0, step: s, seed: 0 }, x), true, vars) ??
                tf.scalar(NaN),
            );
            await cost.data();
            cost.dispose();
            x.dispose();
            y.dispose();
          } else {
            await pools[mode].trainStep(trainHandles[mode], trainModels[mode], optimizers[mode], b);
          }
        }
      });
      return { rate: (steps * TRAIN_BATCH * 1000) / sample.ms, sample };
    };
    for (const mode of MODES) await trainSteps(mode, 1); // warm-up
    const trainRuns: Record<Mode, Measured[]> = { direct: [], 'pool-1': [], 'pool-2': [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const mode of MODES) trainRuns[mode].push(await trainSteps(mode, TRAIN_STEPS));
      cursor += TRAIN_STEPS;
    }

    console.log(`\nrounds: ${ROUNDS}; examples/s, best round and median round; cores: this process / other processes, median over rounds`);
    console.log(
      `PGD-10 L∞ eps 0.1, random start, batch ${ATTACK_BATCH} (succeeded: ${MODES.map((m) => `${m} ${successes[m]}`).join(', ')})`,
    );
    report(attackRuns);
    console.log(`Training step (gradients + Adam + broadcast), batch ${TRAIN_BATCH}, ${TRAIN_STEPS} steps per measurement`);
    report(trainRuns);

    for (const o of Object.values(optimizers)) o.dispose();
    for (const m of [model, ...copies]) m.dispose();
  } finally {
    await one.close();
    await two.close();
  }
}

await main();
