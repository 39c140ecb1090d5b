/**
 * Canary probes: a fixed set of adversarial examples run against the live model on a
 * timer. Their accuracy is the model's robust accuracy on a known attack; a drop after a
 * promotion means the new model is weaker (or was swapped for something else), and the
 * rollback controller acts on it. The probe set is either stored (the JSON that
 * `rampart attack --save-examples` writes, or `{ texts, labels }` for text) or generated at
 * startup by attacking a held-out slice of the model's own test split.
 */
import { readFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { createAttack } from '../attacks/registry.js';
import { DataError } from '../core/errors.js';
import { sizeOf, type Dataset } from '../core/types.js';
import type { Classifier } from '../models/classifier.js';
import { threatModel } from '../threats/threat-model.js';
import type { ServedModel } from './served-model.js';

export type ProbeSet =
  | { kind: 'image'; x: Float32Array; shape: readonly number[]; labels: Int32Array; source: string }
  | { kind: 'text'; texts: string[]; labels: Int32Array; source: string };

export interface ProbeGeneration {
  attack?: string;
  attackOptions?: Record<string, unknown>;
  norm?: string;
  epsilon?: number;
  seed?: number;
}

/**
 * Attacks the first examples of `data` and keeps the adversarial inputs with their true labels.
 *
 * @throws whatever the attack throws (shape, threat or gradient errors).
 * @example const probes = await generateProbeSet(model.classifier, heldOut, { epsilon: 0.2 });
 */
export async function generateProbeSet(classifier: Classifier, data: Dataset, options: ProbeGeneration = {}): Promise<ProbeSet> {
  const attack = createAttack(options.attack ?? 'pgd', options.attackOptions ?? { steps: 10 });
  const threat = threatModel({ norm: options.norm ?? 'linf', epsilon: options.epsilon ?? 0.2, bounds: classifier.bounds });
  const x = tf.tensor(data.x, [data.count, ...data.shape]);
  try {
    const result = await attack.run(classifier, x, data.y, threat, { seed: options.seed ?? 0 });
    const adversarial = (await result.adversarial.data()) as Float32Array;
    result.adversarial.dispose();
    return {
      kind: 'image',
      x: Float32Array.from(adversarial),
      shape: data.shape,
      labels: Int32Array.from(data.y),
      source: `${attack.id} ${threat.id} on ${data.name} (${data.count})`,
    };
  } finally {
    x.dispose();
  }
}

/**
 * Reads a stored probe set: `rampart attack --save-examples` output (`adversarial`,
 * `adversarialShape`, `examples[].label`) or `{ "texts": [...], "labels": [...] }`.
 *
 * @throws DataError `E_PROBE_FILE` when the file is missing or holds neither form.
 */
export async function readProbeFile(path: string): Promise<ProbeSet> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new DataError(
      'E_PROBE_FILE',
      `Cannot read the probe set ${path}; write one with 'rampart attack --save-examples --out ${path}'.`,
      { cause },
    );
  }
  return parseProbeSet(raw, path);
}

/**
 * A probe set from its JSON value (what {@link readProbeFile} reads and {@link probeSetJson}
 * writes); `where` names it in errors and becomes its `source`.
 *
 * @throws DataError `E_PROBE_FILE` when the value holds neither form.
 */
export function parseProbeSet(value: unknown, where: string): ProbeSet {
  const bad = (what: string): DataError =>
    new DataError(
      'E_PROBE_FILE',
      `The probe set ${where} ${what}; use the output of 'rampart attack --save-examples' or {"texts": [...], "labels": [...]}.`,
    );
  if (typeof value !== 'object' || value === null) throw bad('is not a JSON object');
  const raw = value as Record<string, unknown>;
  if (Array.isArray(raw.texts)) {
    const texts = raw.texts;
    const labels = raw.labels;
    if (
      !texts.every((t) => typeof t === 'string') ||
      !Array.isArray(labels) ||
      labels.length !== texts.length ||
      !labels.every((l) => Number.isInteger(l))
    )
      throw bad('has texts without one integer label each');
    return { kind: 'text', texts: texts as string[], labels: Int32Array.from(labels as number[]), source: where };
  }
  const shape = raw.adversarialShape;
  const values = raw.adversarial;
  const examples = raw.examples;
  if (!Array.isArray(shape) || !Array.isArray(values) || !Array.isArray(examples)) throw bad('has no adversarial examples');
  const [count, ...per] = shape as number[];
  if (
    count !== examples.length ||
    values.length !== (count ?? 0) * sizeOf(per) ||
    !values.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw bad(`has ${values.length} values for shape [${shape.join(', ')}] and ${examples.length} examples`);
  }
  const labels = Int32Array.from(examples as Array<{ label?: unknown }>, (e) => (typeof e.label === 'number' ? e.label : -1));
  if (labels.some((l) => l < 0)) throw bad('has an example without a label');
  return { kind: 'image', x: Float32Array.from(values as number[]), shape: per, labels, source: where };
}

/** A probe set as JSON in the form {@link parseProbeSet} reads (the `rampart attack --save-examples` layout for images). */
export function probeSetJson(probes: ProbeSet): Record<string, unknown> {
  if (probes.kind === 'text')
    return { kind: 'rampart.probe-set', source: probes.source, texts: probes.texts, labels: Array.from(probes.labels) };
  return {
    kind: 'rampart.probe-set',
    source: probes.source,
    adversarialShape: [probes.labels.length, ...probes.shape],
    adversarial: Array.from(probes.x),
    examples: Array.from(probes.labels, (label) => ({ label })),
  };
}

/**
 * Accuracy of `model` on the probes (the plain model: no defence layers, no rate limits).
 *
 * @throws InputError when the probes do not fit the model's input shape.
 */
export async function probeAccuracy(
  model: ServedModel,
  probes: ProbeSet,
  batchSize = 64,
  onMiss?: (index: number, predicted: number) => void,
): Promise<number> {
  const n = probes.labels.length;
  if (n === 0) return 0;
  let correct = 0;
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    let labels: Int32Array;
    if (probes.kind === 'image') {
      const size = sizeOf(probes.shape);
      labels = (await model.infer({ batch: { x: probes.x.subarray(start * size, end * size), count: end - start, shape: probes.shape } }))
        .labels;
    } else {
      labels = (await model.infer({ texts: probes.texts.slice(start, end) })).labels;
    }
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === probes.labels[start + i]) correct++;
      else onMiss?.(start + i, labels[i] as number);
    }
  }
  return correct / n;
}

export interface CanaryResult {
  at: string;
  modelId: string;
  accuracy: number;
  probes: number;
  ms: number;
}

/** Runs the probes on a timer; `run` is also callable on demand (admin route, tests). */
export class Canary {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CanaryResult> | undefined;
  last: CanaryResult | undefined;

  constructor(
    readonly probes: ProbeSet,
    private readonly options: {
      intervalMs: number;
      evaluate: (probes: ProbeSet) => Promise<{ accuracy: number; modelId: string }>;
      onResult?: (r: CanaryResult) => void | Promise<void>;
      onError?: (e: unknown) => void;
    },
  ) {}

  start(): void {
    if (this.timer || this.options.intervalMs <= 0) return;
    this.timer = setInterval(() => {
      this.run().catch((e: unknown) => this.options.onError?.(e));
    }, this.options.intervalMs);
    // A canary must never keep a shutting-down process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One run; concurrent callers share the run in progress. */
  run(): Promise<CanaryResult> {
    if (this.running) return this.running;
    this.running = (async () => {
      const start = performance.now();
      try {
        const { accuracy, modelId } = await this.options.evaluate(this.probes);
        const result: CanaryResult = {
          at: new Date().toISOString(),
          modelId,
          accuracy,
          probes: this.probes.labels.length,
          ms: Math.round(performance.now() - start),
        };
        this.last = result;
        await this.options.onResult?.(result);
        return result;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }
}
