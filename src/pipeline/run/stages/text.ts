/**
 * The text channel of a plan. Stage `text-train` trains the plan's text classifier (hashed
 * n-gram MLP), hardened by phased augmentation when the plan asks for it; stage
 * `text-attack` runs the plan's text search against it for every text threat and records
 * robust accuracy and a few adversarial texts with their edits for the report.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonFile } from '../../../core/files.js';
import { createTextAttack } from '../../../attacks/text/registry.js';
import { textAttackMetrics } from '../../../attacks/text/metrics.js';
import {
  loadCsvTexts,
  loadJsonlTexts,
  spamAssassinSplits,
  splitTextDataset,
  takeTexts,
  type TextDataset,
  type TextSplits,
} from '../../../data/text/index.js';
import { normalizedClassifier } from '../../../defenses/normalize-text/normalized-classifier.js';
import { OBFUSCATION_MARKER_PREFIX, type NormalizeTextOptions } from '../../../defenses/normalize-text/normalize.js';
import {
  saveVocabulary,
  trainingVocabulary,
  VOCABULARY_FILE,
  vocabularyDefence,
} from '../../../defenses/normalize-text/vocabulary-defence.js';
import { loadSavedTextFilter } from '../../../defenses/normalize-text/saved-filter.js';
import { trainTextAdversarially } from '../../../training/text/adversarial-rounds.js';
import {
  chooseDecisionThreshold,
  evaluateTextClassifier,
  saveDecisionThreshold,
  saveTextClassifier,
  DECISION_THRESHOLD_FILE,
  withDecisionThreshold,
  type HashedTextClassifier,
  type TextClassifier,
} from '../../../models/text/index.js';
import { trainTextClassifier, type TextTrainProgress, type TrainTextOptions } from '../../../training/text/train.js';
import { trainCharCnnClassifier } from '../../../training/text/train-char-cnn.js';
import { CharCnnTextClassifier } from '../../../models/text/char-cnn.js';
import { saveCharCnnClassifier } from '../../../models/text/char-cnn-store.js';
import type { TextAttackSet } from '../../../report/html/text-diff.js';
import { explainTextAttacked } from '../../../eval/explain/attacked.js';
import { attackTexts, localExecutor, type ExecutorSession } from '../../../execution/index.js';
import type { Plan } from '../../plan/schema.js';
import type { Stage, StageContext } from '../types.js';
import { fileDigest } from '../hash.js';
import { filesExist } from './common.js';
import { ADVERSARIAL_SETS, adversarialInputs, setsOfChannel, type ResolvedAdversarialSet } from '../../refresh-adversarial.js';
import { mixAdversarialTexts } from '../../adversarial-text.js';
import { textSection, textThreats, toTextThreat } from './text-threats.js';

export { DEFAULT_TEXT_FAMILIES, textSection, textThreats, toTextThreat } from './text-threats.js';

/** The plan's text adversarial sets (resolved by the run from `text.adversarial` and `data.adversarial`). */
const textSets = (extras: Record<string, unknown>): ResolvedAdversarialSet[] =>
  setsOfChannel(extras[ADVERSARIAL_SETS] as ResolvedAdversarialSet[] | undefined, 'text');

export interface TextTrainOutputs {
  modelDir: string;
  /** Of the weights file: downstream stages rerun when the weights change, even if the metrics do not. */
  sha256: string;
  dataset: string;
  counts: { train: number; validation: number; test: number };
  testAccuracy: number;
  testF1: number;
  /** Share of clean ham test texts flagged at the operating point (issue 26: reported beside F1). */
  testFalsePositiveRate?: number;
  augmented: boolean;
  /** Probability of the last class (spam) from which the deployed filter flags it; 0.5 is the plain argmax. */
  threshold: number;
  /** Trained with `normalize: vocabulary`: the model directory holds the vocabulary the filter normalises with. */
  vocabulary?: boolean;
  /** Texts the plan's adversarial sets added to the training split (with their repeats); counted in `counts.train`. */
  adversarialTexts?: number;
}

export interface TextAttackOutputs {
  attack: string;
  count: number;
  cleanAccuracy: number;
  /** Per text threat id: correct and unbroken over all attacked texts. */
  robustAccuracy: Record<string, number>;
  /** Per text threat id: queries per attacked (correctly classified) text, as textAttackMetrics counts them. */
  meanQueries: Record<string, number>;
  /** JSON file of the report's text diffs. */
  examples: string;
  /** The filter attacked, when it is the plan's own (`text.source`): its directory and the digest of its files. */
  model?: { source: string; sha256: string };
}

function splitsOf(plan: Plan): TextSplits {
  const text = textSection(plan);
  const seed = text.splitSeed;
  if (text.dataset === 'spam-assassin') return spamAssassinSplits({ seed, maxChars: text.maxChars });
  const path = text.dataset.slice(text.dataset.indexOf(':') + 1);
  const data: TextDataset = text.dataset.startsWith('jsonl:') ? loadJsonlTexts(path) : loadCsvTexts(path);
  return splitTextDataset(data, { seed });
}

/**
 * The filter as deployed: a model trained on normalised text sits behind the same
 * normaliser, and flags the last class from its decision threshold, so it is scored and
 * attacked through both (the attack queries the whole defended pipeline, as an adaptive
 * adversary would).
 */
function deployed(model: TrainedTextModel, normalize: NormalizeTextOptions, threshold = 0.5): TextClassifier {
  return atThreshold(model.info.trainedOnNormalizedText ? normalizedClassifier(model, normalize) : model, threshold);
}

/** A model the text-train stage trains: the hashed n-gram MLP or the char-CNN (`text.model.kind`). */
type TrainedTextModel = HashedTextClassifier | CharCnnTextClassifier;

/** `filter` flagging its last class (spam) from `threshold`. */
function atThreshold(filter: TextClassifier, threshold: number): TextClassifier {
  return withDecisionThreshold(filter, { positiveClass: filter.classes.length - 1, threshold });
}

const first = (ds: TextDataset, n: number): TextDataset =>
  n >= ds.texts.length
    ? ds
    : takeTexts(
        ds,
        Array.from({ length: n }, (_, i) => i),
      );

export const textTrainStage: Stage<TextTrainOutputs> = {
  id: 'text-train',
  title: 'text model training',
  version: 2,
  dependsOn: [],
  inputs: ({ plan, extras }) => {
    const text = textSection(plan);
    const augment = text.augment ? textThreats(plan).find((t) => t.id === text.augment?.threat) : undefined;
    const sets = textSets(extras);
    return {
      // Digests and weights only, so the model is retrained when a set changes; absent without sets (earlier runs stay cached).
      ...(sets.length > 0 ? { adversarial: adversarialInputs(sets) } : {}),
      dataset: text.dataset,
      splitSeed: text.splitSeed,
      maxChars: text.maxChars,
      trainLimit: text.trainLimit ?? null,
      model: text.model,
      augment: text.augment ?? null,
      augmentThreat: augment ?? null,
      seed: plan.seed,
    };
  },
  async run(ctx) {
    const { plan } = ctx;
    const text = textSection(plan);
    const splits = splitsOf(plan);
    const clean = text.trainLimit === undefined ? splits.train : first(splits.train, text.trainLimit);
    // The confirmed text attacks join the training texts (the vocabulary below stays the clean split's).
    const train = mixAdversarialTexts(clean, textSets(ctx.extras));
    const augmentThreat = text.augment ? textThreats(plan).find((t) => t.id === text.augment?.threat) : undefined;
    // `normalize: vocabulary` builds the full defence from the training split's words, and
    // the model reads how many words the normaliser marked.
    const vocabulary = text.model.normalize === 'vocabulary' ? trainingVocabulary(clean.texts) : undefined;
    const normalize: NormalizeTextOptions = vocabulary ? vocabularyDefence(vocabulary) : {};
    const options = {
      seed: plan.seed,
      ...(text.model.epochs === undefined ? {} : { epochs: text.model.epochs }),
      hidden: text.model.hidden,
      ...(text.model.learningRate === undefined ? {} : { learningRate: text.model.learningRate }),
      ...(text.model.normalize === false ? {} : { normalize }),
      ...(vocabulary ? { featurizer: { markerPrefix: OBFUSCATION_MARKER_PREFIX } } : {}),
      validation: splits.validation,
      id: `${plan.name}/text`,
      ...(augmentThreat
        ? { augment: { threat: toTextThreat(augmentThreat), ...(text.augment?.phases ? { schedule: text.augment.phases } : {}) } }
        : {}),
      onEpoch: (p: TextTrainProgress) => {
        ctx.progress(p.epoch, p.epochs, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`);
        ctx.log(
          `epoch ${p.epoch}: loss ${p.loss.toFixed(4)}, augmented ${(p.augmentRate * 100).toFixed(0)}%, validation ${((p.validationAccuracy ?? 0) * 100).toFixed(1)}%`,
        );
      },
    };
    const adversarial = text.augment?.adversarial;
    const spam = train.classes.length - 1;
    const cnn = text.model.kind === 'char-cnn';
    // The char-CNN takes the same options (normaliser, augmentation, validation); `hidden` is its dense layer.
    const trainer = (data: TextDataset, o: TrainTextOptions): Promise<{ classifier: TrainedTextModel; history: TextTrainProgress[] }> =>
      cnn
        ? trainCharCnnClassifier(data, {
            ...o,
            cnn: { maxChars: text.model.inputChars, filters: text.model.filters, hidden: text.model.hidden },
          }).then((r) => ({ classifier: r.classifier, history: [...r.history] }))
        : trainTextClassifier(data, o).then((r) => ({ classifier: r.classifier, history: [...r.history] }));
    const { classifier } =
      adversarial && augmentThreat
        ? await trainTextAdversarially<TrainedTextModel>(train, {
            ...options,
            trainer,
            threat: toTextThreat(augmentThreat),
            rounds: adversarial.rounds,
            perRound: adversarial.perRound,
            attackClasses: [spam],
            attack: createTextAttack('greedy', { maxQueries: adversarial.queries }),
            deploy: (m) => deployed(m, normalize, adversarial.threshold),
            onRound: (r) =>
              ctx.log(
                `adversarial round ${r.round}: the attack got ${r.evaded} of ${r.correctBefore} training texts past the filter; ${r.added} rewrites added (${r.seconds.toFixed(0)} s)`,
              ),
          })
        : await trainer(train, options);
    try {
      const modelDir = join(ctx.workDir, 'model');
      // A rerun in the same work directory (a file of the last run went missing) finds the
      // last run's companions beside the model; saving replaces the directory and refuses
      // files it does not know, and these are rewritten below.
      await Promise.all([DECISION_THRESHOLD_FILE, VOCABULARY_FILE].map((name) => rm(join(modelDir, name), { force: true })));
      if (classifier instanceof CharCnnTextClassifier) await saveCharCnnClassifier(classifier, modelDir);
      else await saveTextClassifier(classifier, modelDir);
      // After the model: saving it replaces the directory.
      if (vocabulary) await saveVocabulary(modelDir, { vocabulary, synonyms: true });
      const wanted = text.model.decisionThreshold;
      // One normalised filter (and its line cache) for choosing the threshold and scoring the test split.
      const filter = deployed(classifier, normalize);
      const fprBudget = text.model.falsePositiveBudget;
      const threshold =
        wanted === 'auto'
          ? (await chooseDecisionThreshold(filter, splits.validation, { maxFalsePositiveRate: fprBudget })).threshold
          : (wanted ?? 0.5);
      if (wanted === 'auto')
        ctx.log(
          `decision threshold ${threshold} (best validation F1 flagging at most ${(fprBudget * 100).toFixed(1)}% of ${splits.validation.texts.length} validation texts' ham)`,
        );
      // Beside the model, so `rampart serve --model` flags at the point measured here.
      await saveDecisionThreshold(modelDir, { positiveClass: classifier.classes[spam] as string, threshold });
      const metrics = await evaluateTextClassifier(atThreshold(filter, threshold), splits.test);
      ctx.log(
        `test: accuracy ${(metrics.accuracy * 100).toFixed(2)}%, F1 ${(metrics.f1 * 100).toFixed(2)}, ham false positives ${(metrics.falsePositiveRate * 100).toFixed(2)}% at ${threshold}`,
      );
      return {
        modelDir: ctx.relative(modelDir),
        sha256: await fileDigest(join(modelDir, 'weights.bin')),
        dataset: splits.train.name,
        ...(train !== clean ? { adversarialTexts: train.texts.length - clean.texts.length } : {}),
        counts: { train: train.texts.length, validation: splits.validation.texts.length, test: splits.test.texts.length },
        testAccuracy: metrics.accuracy,
        testF1: metrics.f1,
        testFalsePositiveRate: metrics.falsePositiveRate,
        augmented: augmentThreat !== undefined,
        threshold,
        ...(vocabulary ? { vocabulary: true } : {}),
      };
    } finally {
      classifier.model.dispose();
    }
  },
  stillValid: (o, ctx) =>
    filesExist(ctx, [
      join(o.modelDir, 'model.json'),
      join(o.modelDir, 'weights.bin'),
      join(o.modelDir, DECISION_THRESHOLD_FILE),
      ...(o.vocabulary ? [join(o.modelDir, VOCABULARY_FILE)] : []),
    ]),
};

export const textAttackStage: Stage<TextAttackOutputs> = {
  id: 'text-attack',
  title: 'text attack evaluation',
  version: 3,
  dependsOn: [textTrainStage.id],
  inputs: ({ plan }) => {
    const text = textSection(plan);
    return {
      // The attacked texts come from the split; the model itself is the text-train output.
      data: { dataset: text.dataset, splitSeed: text.splitSeed, maxChars: text.maxChars },
      threats: textThreats(plan).map((t) => ({ id: t.id, budget: t.budget, families: t.families ?? null })),
      attack: text.attack,
      limit: text.limit,
      examples: text.examples,
      seed: plan.seed,
    };
  },
  run: (ctx) => {
    const trained = ctx.output(textTrainStage);
    return attackSavedFilter(ctx, ctx.resolve(trained.modelDir), {
      threshold: trained.threshold,
      f1: trained.testF1,
      ...(trained.testFalsePositiveRate === undefined ? {} : { falsePositiveRate: trained.testFalsePositiveRate }),
    });
  },
  stillValid: (o, ctx) => filesExist(ctx, [o.examples]),
};

/**
 * Attacks the text filter saved in `modelDir` (as `rampart serve` deploys it: its normaliser
 * and saved threshold) for every text threat of the plan, on the first `limit` test texts.
 * `operatingPoint` (the filter's threshold with its clean test F1 and ham FPR, when the plan
 * trained it) is shown beside each threat's examples in the report.
 */
export async function attackSavedFilter(
  ctx: StageContext,
  modelDir: string,
  operatingPoint?: TextAttackSet['operatingPoint'],
): Promise<TextAttackOutputs> {
  const { plan } = ctx;
  const text = textSection(plan);
  const test = first(splitsOf(plan).test, text.limit);
  const { model: stored, filter: model } = await loadSavedTextFilter(modelDir);
  let session: ExecutorSession | undefined;
  try {
    const attack = createTextAttack(text.attack.id, text.attack.options ?? {});
    const labels = Int32Array.from(test.labels);
    // The attack runs through the run's executor (pool, or queue with `--queue`), which ships the
    // saved filter by its files; the loaded `model` above is for the explanations below.
    session = await (ctx.pool ?? localExecutor()).open({ kind: 'text-filter', dir: modelDir });
    const robustAccuracy: Record<string, number> = {};
    const meanQueries: Record<string, number> = {};
    const sets: TextAttackSet[] = [];
    let cleanAccuracy = 0;
    const threats = textThreats(plan);
    for (const [i, scenario] of threats.entries()) {
      const result = await attackTexts(session, {
        attack: text.attack,
        texts: test.texts,
        labels,
        threat: toTextThreat(scenario),
        seed: plan.seed,
        onProgress: (done) =>
          ctx.progress(i * test.texts.length + done, threats.length * test.texts.length, `${attack.id} on ${scenario.id}`),
      });
      const n = test.texts.length;
      const metrics = textAttackMetrics(result);
      cleanAccuracy = metrics.cleanAccuracy;
      robustAccuracy[scenario.id] = metrics.accuracyUnderAttack;
      meanQueries[scenario.id] = metrics.meanQueries;
      const shown: TextAttackSet['items'] = [];
      for (let k = 0; k < n && shown.length < text.examples; k++) {
        if (!result.originalCorrect[k] || !result.success[k]) continue;
        const label = test.classes[test.labels[k] as number] ?? String(test.labels[k]);
        const others = test.classes.filter((c) => c !== label);
        shown.push({
          original: test.texts[k] as string,
          adversarial: result.adversarial[k] as string,
          changes: (result.changes[k] ?? []).map((c) => ({ before: c.from, after: c.to, family: c.transformation })),
          label,
          originalPrediction: label,
          adversarialPrediction: others.length === 1 ? (others[0] as string) : 'another class',
        });
      }
      // Word importance before and after (leave-one-out on the deployed filter), for the shown
      // examples and, for the per-threat summary, up to 20 successful ones.
      const attacked = [...Array(n).keys()]
        .filter((k) => result.originalCorrect[k] && result.success[k])
        .slice(0, Math.max(20, shown.length));
      const explained = await explainTextAttacked(
        model,
        scenario.id,
        attacked.map((k) => ({
          original: test.texts[k] as string,
          adversarial: result.adversarial[k] as string,
          label: test.labels[k] as number,
        })),
        { maxWords: 150 },
      );
      shown.forEach((item, j) => (item.explanation = explained.shifts[j]));
      sets.push({
        threat: scenario.id,
        model: `${plan.name}/text`,
        items: shown,
        ...(operatingPoint ? { operatingPoint } : {}),
        ...(attacked.length > 0 ? { explanation: explained.summary } : {}),
      });
    }
    const examples = join(ctx.workDir, 'text-examples.json');
    await writeJsonFile(examples, sets);
    return { attack: attack.id, count: test.texts.length, cleanAccuracy, robustAccuracy, meanQueries, examples: ctx.relative(examples) };
  } finally {
    await session?.close();
    stored.model.dispose();
  }
}
