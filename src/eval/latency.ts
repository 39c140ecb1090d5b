/**
 * Inference latency as data: p50/p99 per batch and per example, on clean and on
 * adversarial inputs, for the bare model and for a wrapper around it (a defence), so the
 * cost of a defence is reported next to its robustness. Adversarial inputs are crafted
 * once beforehand; only the forward pass and the read-back of the class are timed, which
 * is what a serving path pays. Numbers depend on the machine and its load: they are for
 * reports and gates with wide margins, never for exact assertions.
 */
import { performance } from 'node:perf_hooks';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../core/errors.js';
import { batchTensor } from '../core/tensors.js';
import type { Dataset } from '../core/types.js';
import { assertBatchShape, type Classifier } from '../models/classifier.js';
import { predictBatch } from '../models/predict.js';
import type { Attack } from '../attacks/types.js';
import type { ThreatModel } from '../threats/threat-model.js';
import { engineInfo, type EngineInfo } from '../engine/backend.js';

export interface LatencyOptions {
  model: Classifier;
  data: Dataset;
  /** A wrapper (defence) around `model` to compare against it, timed on the same inputs. */
  defended?: Classifier;
  /** With `threat`, also time inference on this attack's adversarial inputs (crafted on `model`). */
  attack?: Attack;
  threat?: ThreatModel;
  /** Batch sizes to time; default [1, 32]. */
  batchSizes?: readonly number[];
  /** Timed runs per batch size; default 30. */
  repeats?: number;
  /** Untimed runs first, so kernel set-up and JIT are not counted; default 3. */
  warmup?: number;
  seed?: number;
}

export interface LatencyStats {
  batchSize: number;
  repeats: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** p50 divided by the batch size. */
  perExampleP50Ms: number;
  /** Examples per second at the p50 batch latency. */
  throughputPerSecond: number;
}

export interface LatencySeries {
  model: string;
  inputs: 'clean' | 'adversarial';
  stats: LatencyStats[];
}

export interface LatencyOverhead {
  inputs: 'clean' | 'adversarial';
  batchSize: number;
  /** defended p50 − bare p50. */
  addedP50Ms: number;
  addedP99Ms: number;
  /** defended p50 / bare p50. */
  ratioP50: number;
}

export interface LatencyReport {
  kind: 'rampart.latency-report';
  engine: EngineInfo | null;
  config: { batchSizes: number[]; repeats: number; warmup: number; attack?: string; threat?: string };
  series: LatencySeries[];
  /** Present when `defended` was given: the wrapper's added cost per input kind and batch size. */
  overhead?: LatencyOverhead[];
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

function statsOf(times: number[], batchSize: number): LatencyStats {
  const sorted = [...times].sort((a, b) => a - b);
  const p50 = percentile(sorted, 0.5);
  return {
    batchSize,
    repeats: times.length,
    p50Ms: p50,
    p99Ms: percentile(sorted, 0.99),
    meanMs: times.reduce((a, b) => a + b, 0) / Math.max(1, times.length),
    perExampleP50Ms: p50 / batchSize,
    throughputPerSecond: p50 > 0 ? (1000 * batchSize) / p50 : 0,
  };
}

/** Times `repeats` forward passes over consecutive batches cut from `pool` (cycling). */
async function timeModel(model: Classifier, pool: tf.Tensor, batchSize: number, repeats: number, warmup: number): Promise<number[]> {
  const available = pool.shape[0] as number;
  const times: number[] = [];
  for (let r = 0; r < warmup + repeats; r++) {
    const start = (r * batchSize) % Math.max(1, available - batchSize + 1);
    const x = tf.slice(pool, [start], [batchSize]);
    const t0 = performance.now();
    // Reading the classes back forces the computation; a serving path pays this too. A black-box
    // target (onnxruntime, HTTP) answers through its counted queries.
    await predictBatch(model, x);
    const elapsed = performance.now() - t0;
    x.dispose();
    if (r >= warmup) times.push(elapsed);
  }
  return times;
}

/**
 * Measures inference latency of a model (and optionally a defended wrapper) on clean and
 * optionally adversarial inputs.
 *
 * @throws UsageError `E_LATENCY_OPTION` for bad batch sizes, repeats, or an attack without a threat.
 * @throws InputError when the data does not fit the model; whatever the attack throws.
 * @example
 * const report = await measureLatency({ model, defended: guarded, data: test, attack: createAttack('pgd'), threat, batchSizes: [1, 64] });
 */
export async function measureLatency(options: LatencyOptions): Promise<LatencyReport> {
  const { model, data, defended, attack, threat } = options;
  const batchSizes = [...(options.batchSizes ?? [1, 32])];
  const repeats = options.repeats ?? 30;
  const warmup = options.warmup ?? 3;
  if (batchSizes.length === 0 || batchSizes.some((b) => !Number.isInteger(b) || b < 1 || b > data.count)) {
    throw new UsageError(
      'E_LATENCY_OPTION',
      `Batch sizes must be whole numbers in [1, ${data.count}] (the data size); got [${batchSizes.join(', ')}].`,
      { details: { batchSizes } },
    );
  }
  if (!Number.isInteger(repeats) || repeats < 1 || !Number.isInteger(warmup) || warmup < 0) {
    throw new UsageError(
      'E_LATENCY_OPTION',
      `repeats must be a whole number >= 1 and warmup >= 0; got repeats=${repeats}, warmup=${warmup}.`,
    );
  }
  if ((attack === undefined) !== (threat === undefined))
    throw new UsageError('E_LATENCY_OPTION', 'Give both an attack and a threat to time adversarial inputs, or neither.');
  assertBatchShape(model, [data.count, ...data.shape], `dataset '${data.name}'`);
  if (defended) assertBatchShape(defended, [data.count, ...data.shape], `dataset '${data.name}'`);

  const poolSize = Math.min(data.count, Math.max(...batchSizes) * 4);
  const clean = batchTensor(data, 0, poolSize);
  const inputs: { kind: 'clean' | 'adversarial'; x: tf.Tensor }[] = [{ kind: 'clean', x: clean }];
  try {
    if (attack && threat) {
      const result = await attack.run(model, clean, data.y.slice(0, poolSize), threat, { seed: options.seed ?? 0 });
      inputs.push({ kind: 'adversarial', x: result.adversarial });
    }
    const series: LatencySeries[] = [];
    const overhead: LatencyOverhead[] = [];
    for (const { kind, x } of inputs) {
      const bare: LatencyStats[] = [];
      const wrapped: LatencyStats[] = [];
      for (const b of batchSizes) {
        bare.push(statsOf(await timeModel(model, x, b, repeats, warmup), b));
        if (defended) wrapped.push(statsOf(await timeModel(defended, x, b, repeats, warmup), b));
      }
      series.push({ model: model.id, inputs: kind, stats: bare });
      if (defended) {
        series.push({ model: defended.id, inputs: kind, stats: wrapped });
        bare.forEach((s, i) => {
          const d = wrapped[i] as LatencyStats;
          overhead.push({
            inputs: kind,
            batchSize: s.batchSize,
            addedP50Ms: d.p50Ms - s.p50Ms,
            addedP99Ms: d.p99Ms - s.p99Ms,
            ratioP50: s.p50Ms > 0 ? d.p50Ms / s.p50Ms : 0,
          });
        });
      }
    }
    return {
      kind: 'rampart.latency-report',
      engine: engineInfo() ?? null,
      config: { batchSizes, repeats, warmup, ...(attack ? { attack: attack.id } : {}), ...(threat ? { threat: threat.id } : {}) },
      series,
      ...(defended ? { overhead } : {}),
    };
  } finally {
    for (const { x } of inputs) x.dispose();
  }
}

export interface AttackLatencyOptions {
  model: Classifier;
  data: Dataset;
  attack: Attack;
  threat: ThreatModel;
  /** Timed single-example runs; default 30. */
  repeats?: number;
  warmup?: number;
  seed?: number;
}

/**
 * The single-example p99 latency on adversarial inputs (crafted by `attack` under `threat`
 * beforehand; only inference is timed): what the gate's `latencyUnderAttackP99Ms` reads.
 * Adversarial inputs can cost more than clean ones where a model or defence branches on its
 * input (early exits, detectors that do more work on suspicious inputs).
 *
 * @throws as {@link measureLatency}.
 * @example const p99 = await latencyUnderAttackP99Ms({ model, data: test, attack: createAttack('pgd'), threat });
 */
export async function latencyUnderAttackP99Ms(options: AttackLatencyOptions): Promise<number> {
  const report = await measureLatency({
    model: options.model,
    data: options.data,
    attack: options.attack,
    threat: options.threat,
    batchSizes: [1],
    repeats: options.repeats ?? 30,
    ...(options.warmup === undefined ? {} : { warmup: options.warmup }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  return report.series.find((s) => s.inputs === 'adversarial')?.stats[0]?.p99Ms ?? 0;
}
