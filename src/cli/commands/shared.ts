/** Flags and steps that several commands share. */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { createWorkerPool, type WorkerPool } from '../../execution/pool/index.js';
import { attackIds } from '../../attacks/registry.js';
import { UsageError } from '../../core/errors.js';
import { loadClassifierModel, type StoredClassifier } from '../../models/store.js';
import { selectData, SUBSETS, type SelectedData, type SubsetName } from '../../pipeline/data-selection.js';
import { parseDataSpec, toDataSourceSpec, type DataSourceSpec } from '../../data/index.js';
import { positiveNumber, wholeNumber } from '../parse.js';

export { addQueueFlag, withExecution, type ExecutionFlags } from './execution-flags.js';

export interface DataFlags {
  data?: string;
  subset: string;
  splitSeed?: number;
  limit?: number;
}

export function addDataFlags(command: Command): Command {
  return command
    .option(
      '--data <spec>',
      "data set: 'mnist' (bundled), 'idx:IMAGES,LABELS', 'folder:DIR', 'npy:X.npy,Y.npy', 'npz:FILE.npz' or 'csv:FILE', " +
        "options after '?' (e.g. folder:imgs?resize=28x28&channels=1, csv:t.csv?labelColumn=y); default: the model's training data",
    )
    .option('--subset <name>', `which part of the split: ${SUBSETS.join(', ')}`, 'test')
    .option('--split-seed <n>', "seed of the train/validation/test split; default: the model's", wholeNumber('--split-seed'))
    .option('--limit <n>', 'use only the first N examples of the subset', wholeNumber('--limit', 1));
}

export function addEngineFlags(command: Command): Command {
  return command
    .option('--backend <name>', 'TF.js backend: wasm, cpu or tensorflow (default: tfjs-node if installed, else wasm; or $RAMPART_BACKEND)')
    .option('--quiet', 'no progress output');
}

/** Loads the model and the data it should be evaluated on (its own held-out split by default). */
export async function loadModelAndData(
  modelDir: string | undefined,
  flags: DataFlags,
): Promise<{ stored: StoredClassifier; data: SelectedData }> {
  if (!modelDir)
    throw new UsageError(
      'E_MISSING_FLAG',
      'Give the model directory with --model DIR (a folder holding model.json and weights.bin, e.g. runs/example/model).',
    );
  const stored = await loadClassifierModel(modelDir);
  const trained = stored.info.data;
  const spec: DataSourceSpec =
    flags.data !== undefined ? parseDataSpec(flags.data) : trained?.spec !== undefined ? toDataSourceSpec(trained.spec) : 'mnist';
  const data = selectData({
    spec,
    subset: flags.subset as SubsetName,
    splitSeed: flags.splitSeed ?? trained?.split?.seed ?? 1,
    ...(trained?.split && flags.data === undefined ? { fractions: trained.split.fractions } : {}),
    ...(flags.limit === undefined ? {} : { limit: flags.limit }),
    // A mismatch is refused before the model sees it, with the fix for this kind of source.
    expectShape: stored.classifier.inputShape,
  });
  return { stored, data };
}

export function attackList(): string {
  return attackIds().join(', ');
}

/** The attack-tuning flags `attack` and `eval` share; each reaches only attacks that take it. */
export function addAttackFlags(command: Command): Command {
  return command
    .option('--steps <n>', 'PGD steps (default 40)', wholeNumber('--steps', 1))
    .option('--restarts <n>', 'PGD random restarts (default 1)', wholeNumber('--restarts', 1))
    .option('--step-size <value>', 'PGD step size (default 2.5 * epsilon / steps)', positiveNumber('--step-size'))
    .option('--loss <id>', "attack loss: 'ce' or 'margin' (default ce)");
}

export interface AttackFlags {
  steps?: number;
  restarts?: number;
  stepSize?: number;
  loss?: string;
  randomStart?: boolean;
}

/** Collects attack options from flags, passing only those the user set. */
export function attackOptionsFromFlags(id: string, flags: AttackFlags): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (flags.loss !== undefined) options.loss = flags.loss;
  if (id === 'pgd') {
    if (flags.steps !== undefined) options.steps = flags.steps;
    if (flags.restarts !== undefined) options.restarts = flags.restarts;
    if (flags.stepSize !== undefined) options.stepSize = flags.stepSize;
    if (flags.randomStart === false) options.randomStart = false;
  }
  return options;
}

export function addWorkersFlag(command: Command): Command {
  return command.option(
    '--workers <n>',
    `worker threads that share the attack work (default: all ${availableParallelism()} cores)`,
    wholeNumber('--workers', 1),
  );
}

/**
 * Runs `work` with a worker pool of `workers` threads (default: every core), closing it
 * afterwards even when the work fails.
 */
export async function withPool<T>(workers: number | undefined, backend: string, work: (pool: WorkerPool) => Promise<T>): Promise<T> {
  const pool = await createWorkerPool({ workers: workers ?? availableParallelism(), backend });
  try {
    return await work(pool);
  } finally {
    await pool.close();
  }
}
