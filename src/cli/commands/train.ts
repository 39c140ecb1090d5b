/** `rampart train`: train a model on a data set and save it with its run report. */
import type { Command } from 'commander';
import { ARCHITECTURES } from '../../models/architectures.js';
import { OPTIMIZERS, type OptimizerId } from '../../training/optimizers.js';
import { parseSchedule } from '../../training/schedules.js';
import { parseCurriculum } from '../../training/curriculum.js';
import { parseDataSpec } from '../../data/index.js';
import { runTraining, type TrainRunOptions } from '../../pipeline/train-run.js';
import { createObjective, objectiveIds, type ObjectiveOptions } from '../../training/objectives/registry.js';
import { parseEpsilon } from './attack.js';
import { percent } from '../../report/table.js';
import { createProgress } from '../progress.js';
import { positiveNumber, wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { addEngineFlags, addWorkersFlag, withPool } from './shared.js';
import { initEngine } from '../../engine/backend.js';
import { UsageError } from '../../core/errors.js';
import { selectData } from '../../pipeline/data-selection.js';
import { resolveTrainThreat } from './train-threat.js';

interface TrainFlags {
  data: string;
  arch: string;
  epochs: number;
  batchSize: number;
  optimizer: string;
  lr: number;
  schedule: string;
  seed: number;
  splitSeed: number;
  limit?: number;
  out: string;
  backend?: string;
  quiet?: boolean;
  resume: boolean;
  workers?: number;
  method: string;
  norm: string;
  epsilon?: string;
  attackSteps?: number;
  mixRatio?: number;
  beta?: number;
  sigma?: number;
  awp?: boolean;
  robustVal: boolean;
  curriculum?: string;
  augmentShift?: number;
  members?: number;
  heads?: number;
  diversity?: number;
  plan?: string;
  threat?: string;
  constraints?: string;
  attackClasses?: string;
  samples?: number;
}

/** Methods whose budget is a whole number of pixels (`--epsilon`), not an L∞/L2 threat. */
const PIXEL_BUDGETS: Record<string, 'pixels' | 'size'> = { 'sparse-at': 'pixels', 'occlusion-at': 'size', 'patch-at': 'size' };

/**
 * `--epsilon` as the method takes it: k pixels for sparse-at, the box side for occlusion-at and
 * patch-at, an L∞/L2 threat for the others.
 *
 * @throws UsageError `E_FLAG_VALUE` for a pixel budget that is not a whole number >= 1.
 */
function budgetOptions(method: string, norm: string, epsilon: number): ObjectiveOptions {
  const field = PIXEL_BUDGETS[method];
  if (field === undefined) return { threat: { norm, epsilon } };
  if (!Number.isInteger(epsilon) || epsilon < 1)
    throw new UsageError(
      'E_FLAG_VALUE',
      `--method ${method} takes --epsilon as a whole number of pixels >= 1 (its ${field}); got ${epsilon}.`,
    );
  return { [field]: epsilon };
}

/**
 * The ensemble `--members` or `--heads` asks for: only with `--method diversified` (whose
 * `members`, from the library, are otherwise perturbation objectives).
 *
 * @throws UsageError `E_MEMBERS` for `--members`/`--heads` with another method, both at once, `diversified`
 *   without either, or a bad `--diversity`.
 */
function ensembleOf(flags: Pick<TrainFlags, 'method' | 'members' | 'heads' | 'diversity'>): TrainRunOptions['ensemble'] {
  const flag = flags.heads !== undefined ? '--heads' : '--members';
  const size = flags.heads ?? flags.members;
  if (size === undefined) {
    if (flags.method === 'diversified')
      throw new UsageError(
        'E_MEMBERS',
        '--method diversified trains an ensemble: add --members N (2-16) for whole models or --heads N (2-16) for one shared trunk, e.g. --heads 4.',
      );
    return undefined;
  }
  if (flags.method !== 'diversified')
    throw new UsageError('E_MEMBERS', `${flag} is an option of --method diversified (an ensemble); got --method ${flags.method}.`);
  if (flags.heads !== undefined && flags.members !== undefined)
    throw new UsageError('E_MEMBERS', '--members (whole models) and --heads (one shared trunk) are two kinds of ensemble: give one.');
  if (flags.diversity !== undefined && !(Number.isFinite(flags.diversity) && flags.diversity >= 0))
    throw new UsageError('E_MEMBERS', `--diversity must be a number >= 0 (got ${String(flags.diversity)}).`);
  return {
    members: size,
    ...(flags.diversity === undefined ? {} : { diversity: flags.diversity }),
    ...(flags.heads === undefined ? {} : { heads: true }),
  };
}

/** `--attack-classes 1,2` as labels. */
function classList(text: string): number[] {
  const labels = text.split(',').map((s) => Number(s.trim()));
  if (labels.length === 0 || labels.some((l) => !Number.isInteger(l) || l < 0))
    throw new UsageError('E_FLAG_VALUE', `--attack-classes must be comma-separated labels >= 0, e.g. 1; got '${text}'.`);
  return labels;
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('Train a classifier and save it (model.json + weights.bin) with per-epoch checkpoints and a JSON run report.')
    .option('--data <spec>', "data set: 'mnist' (bundled 10k digits) or 'idx:IMAGES,LABELS'", 'mnist')
    .option('--arch <id>', `architecture: ${ARCHITECTURES.join(', ')}`, 'cnn')
    .option('--epochs <n>', 'passes over the training split', wholeNumber('--epochs', 1), 3)
    .option('--batch-size <n>', 'examples per step', wholeNumber('--batch-size', 1), 64)
    .option('--optimizer <id>', `optimizer: ${OPTIMIZERS.join(', ')}`, 'adam')
    .option('--lr <rate>', 'base learning rate', positiveNumber('--lr'), 1e-3)
    .option('--schedule <spec>', "learning-rate schedule: 'constant', 'cosine', 'one-cycle[:PEAK]' or 'step:E1,E2[:GAMMA]'", 'constant')
    .option('--seed <n>', 'seed for weights and shuffling', wholeNumber('--seed'), 1)
    .option('--split-seed <n>', 'seed of the train/validation/test split', wholeNumber('--split-seed'), 1)
    .option('--limit <n>', 'train on only the first N examples of the training split', wholeNumber('--limit', 1))
    .option('--out <dir>', 'run directory (model/, checkpoints/, train-report.json)', 'runs/train')
    .option('--no-resume', 'start over instead of continuing the run found in --out')
    .option('--method <id>', `training objective: ${objectiveIds().join(', ')}`, 'standard')
    .option('--norm <id>', 'threat norm for adversarial methods: linf or l2', 'linf')
    .option('--epsilon <value>', 'threat budget: L∞/L2 radius (e.g. 0.3); pixels k for sparse-at; box side for occlusion-at and patch-at')
    .option(
      '--samples <n>',
      'occlusion-at: random boxes tried per example, the worst trained on (default 8, at most 64)',
      wholeNumber('--samples', 1),
    )
    .option('--attack-steps <n>', 'inner attack steps for pgd-at and trades (default 10)', wholeNumber('--attack-steps', 1))
    .option('--mix-ratio <r>', 'pgd-at: weight of the adversarial loss, (1-r)*clean + r*adversarial (default 1)', Number)
    .option('--beta <value>', 'trades: weight of the robustness term (default 6)', Number)
    .option('--sigma <value>', 'noise: standard deviation of the Gaussian noise (default 0.25)', Number)
    .option('--awp', 'add adversarial weight perturbation (Wu et al. 2020) to the method')
    .option(
      '--members <n>',
      'diversified: train a diversity-regularised ensemble of N copies of --arch, fused into one model (2-16; PGD-AT inputs with --epsilon)',
      wholeNumber('--members', 2),
    )
    .option(
      '--heads <n>',
      'diversified: train N dense heads on one shared --arch trunk instead of whole members (2-16; served for about one model)',
      wholeNumber('--heads', 2),
    )
    .option('--diversity <w>', "diversified ensemble: weight of the members' diversity term (default 0.5)", Number)
    .option('--curriculum <phases>', "phased exposure EPOCHS:SCALE[:STEPS],... of the threat, e.g. '2:0.25,2:0.5,4:1'")
    .option(
      '--augment-shift <px>',
      'shift each training image by up to N pixels per axis, drawn per image (0-8; default 0 = off)',
      wholeNumber('--augment-shift'),
    )
    .option('--plan <file>', 'tabular-pgd-at: the plan that declares --threat (its tabular CSV is the default --data)')
    .option('--threat <id>', 'tabular-pgd-at: the id of the tabular threat of --plan to train against')
    .option('--constraints <file>', 'tabular-pgd-at: a YAML/JSON tabular threat { norm, epsilon, constraints } instead of --plan/--threat')
    .option('--attack-classes <labels>', 'tabular-pgd-at: labels whose rows the adversary perturbs, e.g. 1 (default every label)')
    .option('--no-robust-val', 'skip the per-epoch PGD-10 validation (and best-robust selection) of adversarial methods');
  addWorkersFlag(addEngineFlags(command)).action(async (flags: TrainFlags) => {
    const threatSource = await resolveTrainThreat(flags);
    // A plan's tabular CSV is the data unless --data is given.
    const planData = command.getOptionValueSource('data') === 'default' ? threatSource?.data : undefined;
    const spec = planData?.spec ?? parseDataSpec(flags.data);
    const fractions = planData?.fractions;
    const schedule = parseSchedule(flags.schedule);
    if (flags.curriculum !== undefined) parseCurriculum(flags.curriculum);
    const methodOptions: ObjectiveOptions = {
      ...(flags.epsilon === undefined ? {} : budgetOptions(flags.method, flags.norm, parseEpsilon(flags.epsilon))),
      ...(flags.samples === undefined ? {} : { samples: flags.samples }),
      ...(flags.attackSteps === undefined ? {} : { steps: flags.attackSteps }),
      ...(flags.mixRatio === undefined ? {} : { mixRatio: flags.mixRatio }),
      ...(flags.beta === undefined ? {} : { beta: flags.beta }),
      ...(flags.sigma === undefined ? {} : { sigma: flags.sigma }),
      ...(flags.awp ? { awp: true } : {}),
      ...(flags.attackClasses === undefined ? {} : { attackClasses: classList(flags.attackClasses) }),
    };
    if (threatSource) {
      // The threat is compiled against the CSV's header and ranges, so the data is read first.
      const { full } = selectData({ spec, splitSeed: flags.splitSeed, subset: 'train', ...(fractions ? { fractions } : {}) });
      methodOptions.threat = threatSource.compile(full);
    }
    const ensemble = ensembleOf(flags);
    // Fail on a bad method or option before loading any data (an ensemble's base objective is PGD-AT or standard).
    if (!ensemble) createObjective(flags.method, methodOptions);
    const bar = createProgress('train', { quiet: flags.quiet === true });
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    const { report } = await withPool(flags.workers, engine.backend, (pool) =>
      runTraining({
        pool,
        data: {
          spec,
          splitSeed: flags.splitSeed,
          ...(fractions ? { fractions } : {}),
          ...(flags.limit === undefined ? {} : { limit: flags.limit }),
        },
        architecture: flags.arch,
        epochs: flags.epochs,
        batchSize: flags.batchSize,
        optimizer: flags.optimizer as OptimizerId,
        learningRate: flags.lr,
        schedule,
        seed: flags.seed,
        outDir: flags.out,
        resume: flags.resume,
        ...(flags.curriculum === undefined ? {} : { curriculum: parseCurriculum(flags.curriculum) }),
        ...(flags.augmentShift ? { augment: { shift: flags.augmentShift } } : {}),
        method: flags.method,
        methodOptions,
        ...(ensemble ? { ensemble } : {}),
        // The per-epoch check runs image PGD, which ignores tabular constraints: off for a tabular threat.
        ...(flags.robustVal && !threatSource ? {} : { robustValidation: false as const }),
        ...(flags.backend === undefined ? {} : { backend: flags.backend }),
        onBatch: (p) =>
          bar.update((p.epoch - 1) * p.batches + p.batch, p.epochs * p.batches, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`),
        onEpoch: (e) => {
          if (!flags.quiet)
            process.stderr.write(
              `epoch ${e.epoch}: loss ${e.loss.toFixed(4)}, validation accuracy ${e.validationAccuracy === undefined ? '-' : percent(e.validationAccuracy)}${e.robustAccuracy === undefined ? '' : `, PGD-10 accuracy ${percent(e.robustAccuracy)}`}, ${(e.durationMs / 1000).toFixed(1)}s\n`,
            );
        },
      }),
    );
    bar.stop();
    if (report.training.resumedFrom !== undefined) say(`resumed the run in ${flags.out} after epoch ${report.training.resumedFrom}`);
    say(
      `trained ${report.architecture} on ${report.data?.name ?? ''} with backend ${report.engine.backend}: test accuracy ${percent(report.testAccuracy)}`,
    );
    if (report.training.selection === 'best-robust')
      say(
        `kept the best-robust weights of epoch ${report.training.selectedEpoch} (PGD-10 validation accuracy ${percent(report.training.best?.robustAccuracy ?? 0)})`,
      );
    if (report.training.stopped) say(`stopped early: ${report.training.stopped.reason}`);
    say(`model: ${report.modelDir}`);
    say(`report: ${flags.out}/train-report.json`);
  });
}
