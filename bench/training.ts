/**
 * `npm run bench:training`: trains the CNN with each method on the bundled MNIST at L∞
 * epsilon 0.3 and reports clean accuracy, robust accuracy under PGD-50 with 10 restarts
 * (margin loss as well as cross-entropy, worst case per example) and wall time.
 * Not a test: it takes a long time at full size. Flags:
 *   --methods standard,pgd-at,trades,fgsm-rs   --epochs 10   --eval-limit 500
 *   --epsilon 0.3   --workers N   --out bench/results/training.json
 *   --curriculum EPOCHS:SCALE,...|none   --shift PX (random-translation augmentation, default 0)
 *   --lr RATE (default 1e-3; fgsm-rs 5e-3)   --arch cnn|cnn-large (default cnn)
 *   --resume   continue each method from its last completed epoch in bench/results/runs
 *              (same flags), instead of starting over
 */
import { parseArgs } from 'node:util';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { initEngine } from '../src/engine/backend.js';
import { createWorkerPool } from '../src/execution/pool/index.js';
import { runTraining } from '../src/pipeline/train-run.js';
import { selectData } from '../src/pipeline/data-selection.js';
import { evaluateRobustness } from '../src/eval/robustness.js';
import { threatsAt } from '../src/threats/threat-model.js';
import { writeJsonFile } from '../src/core/files.js';
import { formatTable, percent } from '../src/report/table.js';
import type { ScheduleSpec } from '../src/training/schedules.js';
import { parseCurriculum, type CurriculumPhase } from '../src/training/curriculum.js';
import { reportErrorsPlainly } from './support.js';

reportErrorsPlainly();

const { values } = parseArgs({
  options: {
    methods: { type: 'string', default: 'standard,pgd-at,trades,fgsm-rs' },
    epochs: { type: 'string', default: '10' },
    'eval-limit': { type: 'string', default: '500' },
    epsilon: { type: 'string', default: '0.3' },
    workers: { type: 'string', default: String(availableParallelism()) },
    out: { type: 'string', default: 'bench/results/training.json' },
    // Default for adversarial methods: a fifth of the epochs at a third of epsilon, a fifth at two thirds, then full.
    curriculum: { type: 'string' },
    shift: { type: 'string', default: '0' },
    lr: { type: 'string' },
    arch: { type: 'string', default: 'cnn' },
    resume: { type: 'boolean', default: false },
  },
});
const epsilon = Number(values.epsilon);
const epochs = Number(values.epochs);
const ramp = Math.max(1, Math.round(epochs / 5));
const curriculum: CurriculumPhase[] | undefined =
  values.curriculum === 'none'
    ? undefined
    : values.curriculum
      ? parseCurriculum(values.curriculum)
      : [
          { epochs: ramp, epsilonScale: 1 / 3 },
          { epochs: ramp, epsilonScale: 2 / 3 },
          { epochs: 1, epsilonScale: 1 },
        ];
const engine = await initEngine();
const pool = await createWorkerPool({ workers: Number(values.workers), backend: engine.backend });
const rows: (string | number)[][] = [];
const results: Record<string, unknown>[] = [];
try {
  for (const method of (values.methods ?? '').split(',')) {
    const started = Date.now();
    // Per-method settings follow the papers: fast AT uses a cyclic rate and a larger step.
    const schedule: ScheduleSpec = method === 'fgsm-rs' ? { kind: 'one-cycle' } : { kind: 'cosine' };
    const { report, classifier, model } = await runTraining({
      data: { spec: 'mnist', splitSeed: 1 },
      architecture: values.arch ?? 'cnn',
      outDir: join('bench/results/runs', values.arch === 'cnn' ? method : `${method}-${values.arch}`),
      epochs,
      batchSize: 64,
      optimizer: 'adam',
      learningRate: values.lr ? Number(values.lr) : method === 'fgsm-rs' ? 5e-3 : 1e-3,
      ...(Number(values.shift) > 0 ? { augment: { shift: Number(values.shift) } } : {}),
      schedule,
      seed: 1,
      method,
      resume: values.resume === true,
      pool,
      methodOptions: method === 'standard' ? {} : { threat: { norm: 'linf', epsilon } },
      ...(method === 'standard' || !curriculum ? {} : { curriculum }),
      onEpoch: (e) =>
        process.stderr.write(
          `${method} epoch ${e.epoch}: loss ${e.loss.toFixed(4)} val ${percent(e.validationAccuracy ?? 0)} pgd-10 ${e.robustAccuracy === undefined ? '-' : percent(e.robustAccuracy)} ${(e.durationMs / 1000).toFixed(0)}s\n`,
        ),
    });
    const trainSeconds = (Date.now() - started) / 1000;
    const test = selectData({ spec: 'mnist', splitSeed: 1, subset: 'test', limit: Number(values['eval-limit']) }).selected;
    const evaluation = await evaluateRobustness({
      model: classifier,
      data: test,
      threats: threatsAt('linf', [epsilon], classifier.bounds),
      attacks: [
        { id: 'pgd', options: { steps: 50, restarts: 10 } },
        { id: 'pgd', options: { steps: 50, restarts: 10, loss: 'margin' } },
      ],
      seed: 1,
      pool,
    });
    const robust = evaluation.worstCase[0]?.robustAccuracy ?? 0;
    rows.push([
      method,
      percent(report.testAccuracy),
      percent(evaluation.clean.accuracy),
      percent(robust),
      `${trainSeconds.toFixed(0)}s`,
      `${(evaluation.durationMs / 1000).toFixed(0)}s`,
    ]);
    results.push({
      method,
      epochs,
      testAccuracy: report.testAccuracy,
      evalCleanAccuracy: evaluation.clean.accuracy,
      robustAccuracy: robust,
      trainSeconds,
      evalSeconds: evaluation.durationMs / 1000,
      training: report.training,
      evaluation,
    });
    model.dispose();
  }
} finally {
  await pool.close();
}
console.log(
  `\nMNIST (bundled, 8k train${Number(values.shift) > 0 ? `, random shifts up to ${values.shift} px` : ''}), CNN, L∞ ε=${epsilon}, ${epochs} epochs, robust = worst case of PGD-50×10 (CE and margin), backend ${engine.backend}, ${values.workers} workers\n`,
);
console.log(
  formatTable(['method', 'test acc (full)', `clean acc (eval ${values['eval-limit']})`, 'robust acc', 'train time', 'eval time'], rows),
);
await writeJsonFile(values.out ?? 'bench/results/training.json', {
  kind: 'rampart.bench-training',
  engine,
  epsilon,
  epochs,
  shift: Number(values.shift),
  results,
});
console.log(`\nwritten: ${values.out}`);
