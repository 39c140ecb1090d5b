/**
 * `rampart eval`: clean and robust accuracy of a saved model over attacks and epsilons.
 * With `--suite`, also the evidence that the numbers can be trusted: the suite against
 * PGD alone, the gradient-masking checks, calibration before and after temperature
 * scaling, certified accuracy from randomized smoothing, and latency.
 */
import type { Command } from 'commander';
import { UsageError } from '../../core/errors.js';
import { writeJsonFile, writeTextFile } from '../../core/files.js';
import type { Dataset } from '../../core/types.js';
import { initEngine } from '../../engine/backend.js';
import { createAttack } from '../../attacks/registry.js';
import { NORM_IDS, lpNormId, type NormId } from '../../threats/norms.js';
import { parseEpsilons, threatModel, threatsAt, type ThreatModel } from '../../threats/threat-model.js';
import { robustnessMarkdown, robustnessText } from '../../report/robustness-table.js';
import { parseSuiteSpec } from '../../eval/suite.js';
import { evaluateThreats } from '../../eval/threat-evaluation.js';
import { formatRate } from '../../eval/rate.js';
import { compareWithPgd, trustEvidence, type EvalExtras, type PhaseRunner, type TrustEvidenceOptions } from '../../eval/trust.js';
import { suiteMarkdown, suiteText } from '../../report/suite-table.js';
import { attacksForTarget, blackBoxNote, hasGradients, suiteForTarget } from '../../eval/black-box.js';
import type { Classifier } from '../../models/classifier.js';
import { loadClassifierModel, type StoredClassifier } from '../../models/store.js';
import { isTextModel, loadModelInput, modelFlag } from './model-input.js';
import { evalExtrasMarkdown, evalExtrasText } from '../../report/eval-extras-table.js';
import type { SelectedData } from '../../pipeline/data-selection.js';
import { createProgress } from '../progress.js';
import { commaList, numberList, positiveNumber, probability, wholeNumber } from '../parse.js';
import { say } from '../output.js';
import {
  addAttackFlags,
  addDataFlags,
  addEngineFlags,
  attackList,
  attackOptionsFromFlags,
  withExecution,
  addQueueFlag,
  addWorkersFlag,
  type AttackFlags,
  type DataFlags,
} from './shared.js';

interface EvalFlags extends DataFlags, AttackFlags {
  model?: string;
  attacks: string;
  norm: string;
  epsilons: string;
  batchSize: number;
  seed: number;
  out?: string;
  markdown?: string;
  suite?: string;
  backend?: string;
  workers?: number;
  quiet?: boolean;
  // What --suite adds; each part has a --no-... switch.
  masking: boolean;
  maskingEpsilon?: number;
  maskingLimit?: number;
  surrogate?: string;
  calibration: boolean;
  calibrationBins: number;
  advCalibrationLimit: number;
  certify: boolean;
  sigma: number;
  n0: number;
  n: number;
  alpha: number;
  radii: string;
  certifyLimit: number;
  latency: boolean;
  latencyRepeats: number;
  latencyBatchSizes?: string;
}

function addSuiteExtraFlags(command: Command): Command {
  return command
    .option('--no-masking', 'with --suite: skip the gradient-masking checks')
    .option(
      '--masking-epsilon <value>',
      'with --suite: epsilon of the masking checks, adversarial calibration and latency (default: the largest --epsilons)',
      positiveNumber('--masking-epsilon'),
    )
    .option(
      '--masking-limit <n>',
      'with --suite: clean-correct examples the masking checks attack (default 100; 50 with standard:quick)',
      wholeNumber('--masking-limit', 1),
    )
    .option('--surrogate <dir>', 'with --suite: a second model to craft transfer attacks on (enables the transfer masking check)')
    .option('--no-calibration', 'with --suite: skip calibration and temperature scaling')
    .option(
      '--calibration-bins <n>',
      'with --suite: bins for ECE, MCE and the reliability diagrams',
      wholeNumber('--calibration-bins', 1),
      15,
    )
    .option(
      '--adv-calibration-limit <n>',
      'with --suite: calibration on PGD adversarials of the first N examples (0: clean only)',
      wholeNumber('--adv-calibration-limit', 0),
      200,
    )
    .option('--no-certify', 'with --suite: skip certified accuracy (randomized smoothing)')
    .option('--sigma <value>', 'with --suite: Gaussian noise of randomized smoothing, in input units', positiveNumber('--sigma'), 0.25)
    .option('--n0 <n>', 'with --suite: smoothing samples that pick the class', wholeNumber('--n0', 1), 100)
    .option('--n <n>', 'with --suite: smoothing samples that bound its probability (the paper uses 100000)', wholeNumber('--n', 1), 1000)
    .option('--alpha <value>', 'with --suite: failure probability of each certificate', probability('--alpha'), 0.001)
    .option('--radii <list>', 'with --suite: L2 radii of the certified-accuracy table', '0,0.25,0.5,0.75,1')
    .option('--certify-limit <n>', 'with --suite: certify only the first N examples', wholeNumber('--certify-limit', 1), 100)
    .option('--no-latency', 'with --suite: skip the latency measurement')
    .option('--latency-repeats <n>', 'with --suite: timed runs per batch size', wholeNumber('--latency-repeats', 1), 30)
    .option('--latency-batch-sizes <list>', 'with --suite: batch sizes to time (default 1,32, capped at the data size)');
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description('Evaluate a saved model: clean accuracy, then each attack at each epsilon and the per-example worst case over attacks.')
    .option('--model <source>', 'the model: a directory Rampart saved, model.onnx, onnx:PATH, onnxruntime:PATH, tfjs:PATH or http://…')
    .option('--attacks <ids>', `comma-separated attack ids: ${attackList()}`, 'fgsm,pgd')
    .option('--norm <id>', `threat norm: ${NORM_IDS.join(', ')}`, 'linf')
    .option('--epsilons <list>', 'comma-separated budgets', '0,0.1,0.2,0.3')
    .option('--batch-size <n>', 'examples per attack batch', wholeNumber('--batch-size', 1), 256)
    .option('--seed <n>', 'seed for random starts', wholeNumber('--seed'), 0)
    .option('--out <file>', 'write the JSON report here')
    .option('--markdown <file>', 'write a Markdown summary here')
    .option(
      '--suite <id>',
      "run an evaluation suite: 'standard' (APGD-CE, APGD-T, FAB-T, Square; AutoAttack budgets) or 'standard:quick'; with --suite, --attacks runs only when given, and PGD alone, the gradient-masking checks, calibration, certified accuracy and latency are reported too",
    );
  addQueueFlag(command);
  addSuiteExtraFlags(addWorkersFlag(addEngineFlags(addDataFlags(addAttackFlags(command))))).action(async (flags: EvalFlags) => {
    const declaredSuite = flags.suite === undefined ? undefined : parseSuiteSpec(flags.suite);
    const radii = numberList('--radii', flags.radii);
    const latencyBatchSizes =
      flags.latencyBatchSizes === undefined ? undefined : numberList('--latency-batch-sizes', flags.latencyBatchSizes, true);
    // With a suite, the per-attack table is opt-in: only when --attacks is on the command line.
    const attacksGiven = command.getOptionValueSource('attacks') === 'cli';
    const runAttacks = declaredSuite === undefined || attacksGiven;
    commaList(flags.attacks).forEach((id) => createAttack(id, attackOptionsFromFlags(id, flags)));
    const norm = lpNormId(flags.norm);
    const epsilons = parseEpsilons(flags.epsilons);
    const engine = await initEngine(flags.backend === undefined ? {} : { backend: flags.backend });
    if (await isTextModel(modelFlag(flags.model)))
      throw new UsageError(
        'E_TEXT_MODEL',
        `${flags.model} is a text filter; attack it with 'rampart attack --model ${flags.model} --data jsonl:TEXTS.jsonl' (eval measures image and tabular models).`,
      );
    const input = await loadModelInput(flags.model, flags);
    const { data } = input;
    const model = input.loaded.classifier;
    // A target without gradients runs only what it can answer: the suite's Square stage, and Square in place of the default attacks.
    const whiteBox = hasGradients(model);
    const suite = declaredSuite && !whiteBox ? suiteForTarget(declaredSuite, model).suite : declaredSuite;
    const wanted = runAttacks ? commaList(flags.attacks) : [];
    const ids = whiteBox || attacksGiven ? wanted : attacksForTarget(wanted, model).runnable.concat(runAttacks ? ['square'] : []);
    const attacks = [...new Set(ids)].map((id) => ({ id, options: attackOptionsFromFlags(id, flags) }));
    if (!whiteBox) say(`note: ${blackBoxNote(model)}`);
    // Whatever the suite's extras would reject, rejected before the long work starts.
    const claim = suite ? claimThreat(flags, norm, epsilons, model, data.selected, latencyBatchSizes) : undefined;
    const surrogate = suite && flags.masking && flags.surrogate !== undefined ? await loadClassifierModel(flags.surrogate) : undefined;
    const bar = createProgress('eval', { quiet: flags.quiet === true });
    const pgdOptions = attackOptionsFromFlags('pgd', flags);
    const common = { model, data: data.selected, batchSize: flags.batchSize, seed: flags.seed };
    const { report, suiteReport, threats, evidence } = await withExecution(flags, engine.backend, async (pool) => {
      const measured = await evaluateThreats({
        ...common,
        pool,
        threats: threatsAt(norm, epsilons, model.bounds),
        attacks,
        ...(suite ? { suite } : {}),
        onProgress: (done, total, label) => bar.update(done, total, label),
      });
      const robustness = measured.reports[0];
      const suiteResult = measured.suites[0];
      const comparison =
        suiteResult && whiteBox
          ? await compareWithPgd({
              ...common,
              pool,
              suiteReport: suiteResult,
              attacksReport: robustness,
              pgdOptions,
              onProgress: (done, total, label) => bar.update(done, total, label),
            })
          : undefined;
      bar.stop();
      // Certification's shards run on the same executor (the queue with --queue); the other parts in this thread.
      const evidence =
        suiteResult && comparison
          ? {
              suiteVsPgd: comparison,
              ...(await trustEvidence({
                ...evidenceOptions({
                  flags,
                  model,
                  ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
                  data,
                  threat: claim,
                  surrogate,
                  quick: suiteResult.suite.variant === 'quick',
                  pgdOptions,
                  radii,
                  latencyBatchSizes,
                }),
                executor: pool,
              })),
            }
          : undefined;
      return { report: robustness, suiteReport: suiteResult, threats: measured.threats, evidence };
    });
    bar.stop();
    const extras: EvalExtras | undefined = evidence;
    surrogate?.model.dispose();
    input.loaded.dispose();
    if (report) say(robustnessText(report));
    if (suiteReport) say(`${report ? '\n' : ''}${suiteText(suiteReport)}`);
    if (extras) say(`\n${evalExtrasText(extras)}`);
    // Per threat: the per-example worst case over everything that ran, with its interval and n.
    const worst = threats.filter((t) => t.epsilon > 0).map((t) => `  ${t.threat}: ${formatRate(t.robust)}`);
    if (worst.length > 0)
      say(
        `\nrobust accuracy (worst case per example over ${[...(suite ? [`${suite.id}:${suite.variant}`] : []), ...ids].join(', ')}):\n${worst.join('\n')}`,
      );
    if (flags.out) {
      // One JSON file: the robustness report carrying the suite under `suite`, or the suite report alone; the extras under their own keys.
      // `threats`: each threat's worst case with its count, n and 95% interval.
      await writeJsonFile(
        flags.out,
        report ? { ...report, ...(suiteReport ? { suite: suiteReport } : {}), ...extras, threats } : { ...suiteReport, ...extras, threats },
      );
      say(`\nreport: ${flags.out}`);
    }
    if (flags.markdown) {
      const sections = [
        report ? robustnessMarkdown(report) : '',
        suiteReport ? `## Suite ${suiteReport.suite.id} v${suiteReport.suite.version}\n\n${suiteMarkdown(suiteReport)}` : '',
        extras ? evalExtrasMarkdown(extras) : '',
      ].filter((t) => t.length > 0);
      await writeTextFile(flags.markdown, `# Robustness report\n\n${sections.join('\n\n')}\n`);
      say(`markdown: ${flags.markdown}`);
    }
  });
}

/**
 * The threat the robustness claim is made at (the largest epsilon evaluated, unless
 * `--masking-epsilon` says otherwise), where the masking checks, adversarial calibration
 * and adversarial latency run; undefined when there is no epsilon > 0.
 *
 * @throws ThreatError `E_EPSILON_RANGE`; UsageError `E_FLAG_VALUE` for latency batch sizes above the data size.
 */
function claimThreat(
  flags: EvalFlags,
  norm: NormId,
  epsilons: number[],
  model: Classifier,
  data: Dataset,
  latencyBatchSizes: number[] | undefined,
): ThreatModel | undefined {
  const over = latencyBatchSizes?.filter((b) => b > data.count) ?? [];
  if (flags.latency && over.length > 0) {
    throw new UsageError(
      'E_FLAG_VALUE',
      `--latency-batch-sizes ${over.join(', ')} exceed the ${data.count} examples evaluated; use sizes up to ${data.count} or raise --limit.`,
      { details: { flag: '--latency-batch-sizes', value: over } },
    );
  }
  const epsilon = flags.maskingEpsilon ?? Math.max(0, ...epsilons);
  return epsilon > 0 ? threatModel({ norm, epsilon, bounds: model.bounds }) : undefined;
}

interface ExtrasOptions {
  flags: EvalFlags;
  model: Classifier;
  /** The temperature saved with the model, when Rampart calibrated it. */
  temperature?: number;
  data: SelectedData;
  threat: ThreatModel | undefined;
  surrogate: StoredClassifier | undefined;
  quick: boolean;
  pgdOptions: Record<string, unknown>;
  radii: number[];
  latencyBatchSizes: number[] | undefined;
}

/** The flags as the library's evidence options: each part unless switched off, a progress bar per part. */
function evidenceOptions(o: ExtrasOptions): TrustEvidenceOptions {
  const { flags, data } = o;
  const test = data.selected;
  const phase: PhaseRunner = async (title, label, work) => {
    // A bar of its own per part, so each one's start and time show in logs as well as on a terminal.
    const bar = createProgress(title, { quiet: flags.quiet === true });
    bar.update(0, 1, label);
    try {
      const result = await work((done, total, text) => bar.update(done, total, text));
      bar.update(1, 1, 'done');
      return result;
    } finally {
      bar.stop();
    }
  };
  return {
    model: o.model,
    data: test,
    threat: o.threat,
    seed: flags.seed,
    batchSize: flags.batchSize,
    pgdOptions: o.pgdOptions,
    phase,
    ...(flags.masking
      ? {
          masking: {
            quick: o.quick,
            surrogate: o.surrogate?.classifier,
            ...(flags.maskingLimit === undefined ? {} : { limit: flags.maskingLimit }),
          },
        }
      : {}),
    ...(flags.calibration
      ? {
          calibration: {
            bins: flags.calibrationBins,
            validation: data.splits.validation,
            overlapsEvaluatedData: flags.subset === 'validation' || flags.subset === 'all',
            savedWithModel: o.temperature,
            adversarialLimit: flags.advCalibrationLimit,
          },
        }
      : {}),
    ...(flags.certify
      ? { certification: { sigma: flags.sigma, n0: flags.n0, n: flags.n, alpha: flags.alpha, radii: o.radii, limit: flags.certifyLimit } }
      : {}),
    ...(flags.latency
      ? { latency: { batchSizes: o.latencyBatchSizes ?? [...new Set([1, Math.min(32, test.count)])], repeats: flags.latencyRepeats } }
      : {}),
  };
}
