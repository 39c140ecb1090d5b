/**
 * `npm run bench:text-ablations` (the defence's ablations; `bench:text` is text-compare.ts): the text channel
 * end to end on the SpamAssassin corpus. Trains three
 * spam filters on the same split and attacks the same seeded sample of spam test messages
 * with the greedy word-importance search, per perturbation family and with every family
 * at once:
 *   1. undefended  - hashed n-gram MLP on raw text;
 *   2. normalised  - the same model trained on normalised text, behind normalizedClassifier
 *                    (the attack queries the whole defended pipeline: adaptive); the
 *                    normaliser undoes look-alikes, invisible characters, leet and split
 *                    words, repairs a misspelling only when every word within two edits
 *                    is a form of one word (so the attacker cannot steer the repair),
 *                    drops words it does not know, fragments of one or two letters included
 *                    (an unrepaired edit then reads the same whatever letters the attacker
 *                    chose) and marks what it repaired or dropped (markObfuscation), so a
 *                    disguise counts as evidence, and the model reads how many words were
 *                    marked (marker features); WordNet synonyms are encoded as one code word
 *                    per cluster (synonym encoding);
 *   3. normalised + augmentation - as 2, trained with perturbations drawn from the threat
 *                    (phased: clean first, then a rising share of perturbed messages), then
 *                    `--adversarial-rounds` rounds of adversarial training: the greedy attack
 *                    (a cheaper one: `--adversarial-queries` per message) is run against the
 *                    deployed pipeline on `--adversarial-per-round` training spam messages
 *                    not attacked before, its outputs join the training set as spam, and the
 *                    model is trained again (see training/text/adversarial-rounds.ts). The
 *                    attacked test messages are never among them.
 *                    `--augment salient --augment-classes spam` perturbs the words the model
 *                    leans on most, in spam only; on 40 messages, against the attack of
 *                    2026-11-30's first session, it did no better than random words in every
 *                    class (both left the combined attack near 55%).
 * Both defended filters flag spam from the lowest probability whose validation F1 stays
 * within `--max-f1-loss` of the F1 at 0.5 (models/text/decision-threshold.ts; `--threshold`
 * fixes it instead, 0.5 is the plain argmax); the attacks query the thresholded filter. The
 * adversarial rounds' attack must push the spam probability below `--adversarial-threshold`.
 * Reports attack success rate (share of the attacked spam, correctly caught before the
 * attack, that the attack gets past the filter), queries, and clean accuracy / F1.
 * Not a test. Flags:
 *   --limit 200         spam test messages attacked
 *   --max-chars 2000    messages cut to this many characters (bounds attack cost)
 *   --max-queries 2000  per-message query cap of the attack (0 = none)
 *   --word-fraction 0.2 --char-edits 2   the threat budget
 *   --families all|a,b  families attacked one by one (the combined attack always runs)
 *   --epochs 3 (the augmented model trains one more) --hidden 16 (units of every model's hidden layer)
 *   --seed 1 (split, attacked sample, attack)
 *   --model-seed (default --seed: the models' weights, augmentation, rounds) --out bench/results/text.json
 *   --models undefended,normalized,normalized+augmented
 *   --augment random|salient  --augment-classes all|spam  --markers true|false
 *   --synonym-encoding true|false   (ablations of the defence)
 *   --repair-capitals true|false     spelling repair of Capitalised words (default true)
 *   --unknown-words keep|mask|drop   words still unknown after repair (default drop)
 *   --spelling unique|true|false     the spelling-repair stage (default unique: only repairs
 *                                    no edit can steer, see spelling.ts; true: nearest word,
 *                                    which lets the attacker pick the word an edit becomes)
 *   --two-edits-from 6               word length from which spelling repairs two edits
 *   --defended-char-ngrams 3,5       character n-grams of the defended models (0,0: words only)
 *   --augment-families all|a,b       families the augmentation draws from
 *   --adversarial-rounds 5 --adversarial-per-round 300 --adversarial-queries 1000
 *   --adversarial-threshold 0.05  --adversarial-word-fraction (default --word-fraction: the
 *                    rounds' attack may change this share of words, e.g. 0.3 trains past the budget)
 *   --adversarial-hold-out true|false (attack each round's
 *                    messages with a model trained without them)
 *   --threshold auto|<probability>  --max-f1-loss 0.005 (half a point of validation F1)
 *   --fpr-budget 0.01 (auto thresholds flag at most this share of validation ham)
 *   --unknown-min-length 1           shortest word the unknown-word rule judges (3: no fragments)
 *   --marker-features true           defended models read the count and share of marker words
 *   --marker-weight 0                value of each marker code (0: normalised with the n-grams,
 *                                    so codes fade in long messages; see featurizer.ts)
 *   --save-models DIR                keep each trained model in DIR/<model> (with the defence settings)
 *   --load-models DIR                attack models saved by --save-models instead of training
 *                    (the normaliser is rebuilt from the same split; the saved defence settings
 *                    must match this run's, thresholds and --max-f1-loss aside; only the flags
 *                    are compared, so a model saved by older library code is not detected)
 * The attack is the library's greedy search with its defaults (refinement included) under
 * the query cap; the search settings are recorded in the results file.
 */
import { parseArgs } from 'node:util';
import { reportErrorsPlainly } from './support.js';
import { initEngine } from '../src/engine/backend.js';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { writeJsonFile } from '../src/core/files.js';
import { UsageError } from '../src/core/errors.js';
import { createRng } from '../src/core/rng.js';
import { formatTable, percent } from '../src/report/table.js';
import { spamAssassinSplits } from '../src/data/text/spam-assassin.js';
import { takeTexts } from '../src/data/text/text-dataset.js';
import { trainTextClassifier } from '../src/training/text/train.js';
import { trainTextAdversarially } from '../src/training/text/adversarial-rounds.js';
import { evaluateTextClassifier, predictInBatches } from '../src/models/text/metrics.js';
import { chooseDecisionThreshold, withDecisionThreshold, type ThresholdChoice } from '../src/models/text/decision-threshold.js';
import type { TextClassifier } from '../src/models/text/text-classifier.js';
import type { HashedTextClassifier } from '../src/models/text/hashed-classifier.js';
import { loadTextClassifier, saveTextClassifier } from '../src/models/text/store.js';
import { normalizedClassifier } from '../src/defenses/normalize-text/normalized-classifier.js';
import { NORMALIZE_STAGES, OBFUSCATION_MARKER_PREFIX } from '../src/defenses/normalize-text/normalize.js';
import { createSpellingCorrector } from '../src/defenses/normalize-text/spelling.js';
import { trainingVocabulary, vocabularyDefence } from '../src/defenses/normalize-text/vocabulary-defence.js';
import { createTextAttack } from '../src/attacks/text/registry.js';
import { TEXT_FAMILIES, textThreatModel, type TextFamily, type TextThreatModel } from '../src/threats/text-threat.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '200' },
    'max-chars': { type: 'string', default: '2000' },
    'max-queries': { type: 'string', default: '2000' },
    'word-fraction': { type: 'string', default: '0.2' },
    'char-edits': { type: 'string', default: '2' },
    families: { type: 'string', default: 'all' },
    epochs: { type: 'string', default: '3' },
    hidden: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    'model-seed': { type: 'string' },
    models: { type: 'string', default: 'undefended,normalized,normalized+augmented' },
    out: { type: 'string', default: 'bench/results/text.json' },
    augment: { type: 'string', default: 'random' },
    'augment-classes': { type: 'string', default: 'all' },
    markers: { type: 'string', default: 'true' },
    'synonym-encoding': { type: 'string', default: 'true' },
    'repair-capitals': { type: 'string', default: 'true' },
    'unknown-words': { type: 'string', default: 'drop' },
    spelling: { type: 'string', default: 'unique' },
    'two-edits-from': { type: 'string', default: '6' },
    'defended-char-ngrams': { type: 'string', default: '3,5' },
    'augment-families': { type: 'string', default: 'all' },
    'adversarial-rounds': { type: 'string', default: '5' },
    'adversarial-per-round': { type: 'string', default: '300' },
    'adversarial-queries': { type: 'string', default: '1000' },
    'adversarial-threshold': { type: 'string', default: '0.05' },
    'adversarial-word-fraction': { type: 'string' },
    'adversarial-hold-out': { type: 'string', default: 'false' },
    threshold: { type: 'string', default: 'auto' },
    'max-f1-loss': { type: 'string', default: '0.005' },
    'fpr-budget': { type: 'string', default: '0.01' },
    'unknown-min-length': { type: 'string', default: '1' },
    'marker-features': { type: 'string', default: 'true' },
    'marker-weight': { type: 'string', default: '0' },
    'save-models': { type: 'string' },
    'load-models': { type: 'string' },
  },
});
const select = values.augment === 'salient' ? 'salient' : 'random';
const markObfuscation = values.markers !== 'false';
const limit = Number(values.limit);
const maxChars = Number(values['max-chars']);
const maxQueries = Number(values['max-queries']);
const seed = Number(values.seed);
// The models' own seed (initial weights, augmentation, adversarial rounds); the split and the attacked sample follow --seed.
const modelSeed = Number(values['model-seed'] ?? seed);
const epochs = Number(values.epochs);
const hidden = Number(values.hidden);
const budget = { maxWordFraction: Number(values['word-fraction']), maxCharEditsPerWord: Number(values['char-edits']) };
const families: TextFamily[] =
  values.families === 'all' ? [...TEXT_FAMILIES] : values.families === 'none' ? [] : ((values.families ?? '').split(',') as TextFamily[]);
const combined = textThreatModel({ ...budget, families: TEXT_FAMILIES, id: 'combined' });
// The adversarial rounds' threat: the combined one, with a larger word share when asked.
const adversarialWordFraction = Number(values['adversarial-word-fraction'] ?? budget.maxWordFraction);
const roundsThreat =
  adversarialWordFraction === budget.maxWordFraction
    ? combined
    : textThreatModel({ ...budget, maxWordFraction: adversarialWordFraction, families: TEXT_FAMILIES, id: 'rounds' });
// The families augmentation draws from (default all, as the combined attack).
const augmentThreat =
  values['augment-families'] === 'all'
    ? combined
    : textThreatModel({ ...budget, families: (values['augment-families'] ?? '').split(','), id: 'augment' });
const started = Date.now();
const log = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${msg}`);

const engine = await initEngine();
const splits = spamAssassinSplits({ seed, maxChars });
log(
  `SpamAssassin: ${splits.stats.messages} messages, ${splits.stats.duplicates} duplicates dropped; train ${splits.train.texts.length}, validation ${splits.validation.texts.length}, test ${splits.test.texts.length}`,
);

// The defended filters' normaliser: the library's vocabulary defence over the training
// split (defenses/normalize-text/vocabulary-defence.ts), as a plan's `normalize: vocabulary`
// deploys it, with the flags above overriding one piece at a time for ablations.
const vocabulary = trainingVocabulary(splits.train.texts);
// `--spelling unique` (the defence's own) repairs only edits whose words in reach are all one word's forms.
const uniqueSpelling = values.spelling === 'unique';
const repairCapitalised = values['repair-capitals'] !== 'false';
const unknownWords = (values['unknown-words'] ?? 'drop') as 'keep' | 'mask' | 'drop';
const defendedCharNgrams = (values['defended-char-ngrams'] ?? '3,5').split(',').map(Number) as [number, number];
const markerFeatures = values['marker-features'] === 'true';
const markerWeight = Number(values['marker-weight']);
const defendedFeaturizer = {
  charNgrams: defendedCharNgrams,
  ...(markerFeatures ? { markerPrefix: OBFUSCATION_MARKER_PREFIX, markerWeight } : {}),
};
const unknownWordMinLength = Number(values['unknown-min-length']);
// Without the spelling stage (or where unique repair finds two words in reach) an edited word
// stays unknown, for `unknownWords` to mask or drop; nearest-word repair (`true`) lets the
// attacker pick the word an edit becomes.
const spellingRepair = values.spelling !== 'false';
const normalize = {
  ...vocabularyDefence(vocabulary, { synonyms: values['synonym-encoding'] !== 'false' }),
  ...(uniqueSpelling ? {} : { spelling: createSpellingCorrector(vocabulary, { twoEditsFrom: Number(values['two-edits-from']) }) }),
  markObfuscation,
  repairCapitalised,
  unknownWords,
  unknownWordMinLength,
  ...(spellingRepair ? {} : { stages: NORMALIZE_STAGES.filter((s) => s !== 'spelling') }),
};
const spamClass = splits.train.classes.indexOf('spam');
const adversarialRounds = Number(values['adversarial-rounds']);
const augmentClasses = values['augment-classes'] === 'spam' ? [spamClass] : undefined;

const spamTest = splits.test.labels.map((l, i) => (l === 1 ? i : -1)).filter((i) => i >= 0);
const attacked = takeTexts(splits.test, createRng(seed).shuffle(spamTest).slice(0, limit), 'spam-sample');
log(
  `attacking ${attacked.texts.length} spam test messages; threat w=${budget.maxWordFraction} c=${budget.maxCharEditsPerWord}; greedy, ${maxQueries || 'no'} query cap`,
);

interface ModelSpec {
  name: string;
  train: () => Promise<HashedTextClassifier>;
  /** Defended filters read normalised text and get the chosen decision threshold. */
  defended: boolean;
}
const adversarialThreshold = Number(values['adversarial-threshold']);
const specs: ModelSpec[] = [
  {
    name: 'undefended',
    train: async () =>
      (
        await trainTextClassifier(splits.train, {
          epochs,
          hidden,
          seed: modelSeed,
          id: 'undefended',
          validation: splits.validation,
          onEpoch: progress('undefended'),
        })
      ).classifier,
    defended: false,
  },
  {
    name: 'normalized',
    train: async () =>
      (
        await trainTextClassifier(splits.train, {
          epochs,
          hidden,
          seed: modelSeed,
          id: 'normalized',
          normalize,
          featurizer: defendedFeaturizer,
          validation: splits.validation,
          onEpoch: progress('normalized'),
        })
      ).classifier,
    defended: true,
  },
  {
    name: 'normalized+augmented',
    train: async () =>
      (
        await trainTextAdversarially(splits.train, {
          threat: roundsThreat,
          rounds: adversarialRounds,
          perRound: Number(values['adversarial-per-round']),
          attackClasses: [spamClass],
          attack: createTextAttack('greedy', { maxQueries: Number(values['adversarial-queries']) }),
          holdOut: values['adversarial-hold-out'] === 'true',
          deploy: (m) =>
            withDecisionThreshold(normalizedClassifier(m, normalize), { positiveClass: spamClass, threshold: adversarialThreshold }),
          onRound: (r) =>
            log(
              `normalized+augmented: adversarial round ${r.round}: ${r.evaded}/${r.correctBefore} training spam evaded, ${r.added} attacked texts added (${r.seconds.toFixed(0)}s)`,
            ),
          seed: modelSeed,
          hidden,
          id: 'normalized+augmented',
          normalize,
          featurizer: defendedFeaturizer,
          validation: splits.validation,
          epochs: epochs + 1,
          augment: {
            threat: augmentThreat,
            schedule: [
              { epochs: 1, rate: 0 },
              { epochs: 1, rate: 0.25 },
              { epochs: 1, rate: 0.5 },
            ],
            select,
            ...(augmentClasses ? { classes: augmentClasses } : {}),
          },
          onEpoch: progress('normalized+augmented'),
        })
      ).classifier,
    defended: true,
  },
].filter((s) => (values.models ?? '').split(',').includes(s.name));

function progress(name: string) {
  return (p: { epoch: number; epochs: number; loss: number; augmentRate: number; validationAccuracy?: number; seconds: number }): void =>
    log(
      `${name}: epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} augment ${p.augmentRate} val acc ${percent(p.validationAccuracy ?? 0)} (${p.seconds.toFixed(0)}s)`,
    );
}

interface AttackRow {
  threat: string;
  families: readonly string[];
  attacked: number;
  evaded: number;
  successRate: number;
  meanQueries: number;
  meanChangedWordFraction: number;
  seconds: number;
  examples: { original: string; adversarial: string }[];
  /** Positions (in the attacked sample) of the messages this attack got past the filter. */
  evadedMessages: number[];
}

async function attack(model: TextClassifier, threat: TextThreatModel): Promise<AttackRow> {
  const t0 = Date.now();
  const search = createTextAttack('greedy', { maxQueries });
  const labels = Int32Array.from(attacked.labels);
  const result = await search.run(model, [...attacked.texts], labels, threat, { seed });
  let correct = 0;
  let evaded = 0;
  let queries = 0;
  let changed = 0;
  const examples: { original: string; adversarial: string }[] = [];
  const evadedMessages: number[] = [];
  result.originalCorrect.forEach((ok, i) => {
    if (!ok) return;
    correct++;
    queries += result.queries[i] as number;
    if (result.success[i]) {
      evaded++;
      evadedMessages.push(i);
      changed += result.changedWordFraction[i] as number;
      if (examples.length < 3)
        examples.push({
          original: (attacked.texts[i] as string).slice(0, 300),
          adversarial: (result.adversarial[i] as string).slice(0, 300),
        });
    }
  });
  return {
    threat: threat.id,
    families: threat.families,
    attacked: correct,
    evaded,
    successRate: correct === 0 ? 0 : evaded / correct,
    meanQueries: correct === 0 ? 0 : queries / correct,
    meanChangedWordFraction: evaded === 0 ? 0 : changed / evaded,
    seconds: (Date.now() - t0) / 1000,
    examples,
    evadedMessages,
  };
}

// What the models are trained with (and the normaliser built from): a model saved under
// one set of these is only attacked again under the same set.
const training = {
  seed,
  epochs,
  hidden,
  maxChars,
  spellingRepair,
  uniqueSpelling,
  markObfuscation,
  synonymEncoding: normalize.synonyms !== undefined,
  repairCapitalised,
  unknownWords,
  unknownWordMinLength,
  markerFeatures,
  markerWeight,
  twoEditsFrom: Number(values['two-edits-from']),
  defendedCharNgrams,
  augment: select,
  augmentFamilies: augmentThreat.families,
  augmentClasses: augmentClasses ? 'spam' : 'all',
  adversarialRounds,
  adversarialPerRound: Number(values['adversarial-per-round']),
  adversarialQueries: Number(values['adversarial-queries']),
  adversarialThreshold,
  adversarialWordFraction,
  adversarialHoldOut: values['adversarial-hold-out'] === 'true',
  // Recorded only when it differs from --seed, so models saved before the flag existed still load.
  ...(modelSeed === seed ? {} : { modelSeed }),
};

/** The spec's model: trained here, or loaded from `--load-models` when its settings match this run's. */
async function obtain(spec: ModelSpec): Promise<HashedTextClassifier> {
  const loadFrom = values['load-models'];
  if (loadFrom !== undefined) {
    const dir = join(loadFrom, spec.name);
    const settingsFile = join(dir, 'bench-training.json');
    if (!existsSync(settingsFile))
      throw new UsageError(
        'E_BENCH_MODEL_MISSING',
        `bench:text: no saved ${spec.name} model in ${dir} (${settingsFile} is missing); save one with --save-models ${loadFrom}.`,
      );
    const saved = JSON.parse(readFileSync(settingsFile, 'utf8')) as Record<string, unknown>;
    const current: Record<string, unknown> = training;
    const differing = Object.keys(current).filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(current[k]));
    if (differing.length > 0) {
      throw new UsageError(
        'E_BENCH_MODEL_MISMATCH',
        `bench:text: the model in ${dir} was trained with other settings (${differing.map((k) => `${k}: saved ${JSON.stringify(saved[k])}, now ${JSON.stringify(current[k])}`).join('; ')}); pass the flags it was saved with or drop --load-models.`,
        { details: { differing } },
      );
    }
    log(`loading ${spec.name} from ${dir}`);
    return loadTextClassifier(dir);
  }
  log(`training ${spec.name}`);
  const trained = await spec.train();
  const saveTo = values['save-models'];
  if (saveTo !== undefined) {
    await saveTextClassifier(trained, join(saveTo, spec.name));
    await writeJsonFile(join(saveTo, spec.name, 'bench-training.json'), training);
    log(`saved ${spec.name} to ${join(saveTo, spec.name)}`);
  }
  return trained;
}

const results: Record<string, unknown>[] = [];
const table: (string | number)[][] = [];
for (const spec of specs) {
  const inner = await obtain(spec);
  const trained: TextClassifier = spec.defended ? normalizedClassifier(inner, normalize) : inner;
  let threshold: ThresholdChoice | { threshold: number } = { threshold: 0.5 };
  if (spec.defended && values.threshold === 'auto') {
    const choice = await chooseDecisionThreshold(trained, splits.validation, {
      positiveClass: spamClass,
      maxF1Loss: Number(values['max-f1-loss']),
      maxFalsePositiveRate: Number(values['fpr-budget']),
    });
    threshold = choice;
    log(
      `${spec.name}: spam threshold ${choice.threshold} (validation F1 ${(choice.f1 * 100).toFixed(2)}, ${(choice.f1AtHalf * 100).toFixed(2)} at 0.5)`,
    );
  } else if (spec.defended) threshold = { threshold: Number(values.threshold) };
  const model = withDecisionThreshold(trained, { positiveClass: spamClass, threshold: threshold.threshold });
  const clean = await evaluateTextClassifier(model, splits.test);
  log(
    `${spec.name}: clean accuracy ${percent(clean.accuracy)}, F1 ${(clean.f1 * 100).toFixed(2)}, ham FPR ${percent(clean.falsePositiveRate)}`,
  );
  // The spam probability of each attacked message before any attack: how far each sits from the threshold.
  const cleanScores = (await predictInBatches(trained, attacked.texts)).map((p) => Number((p[spamClass] as number).toFixed(4)));
  const rows: AttackRow[] = [];
  for (const family of families) {
    const row = await attack(model, textThreatModel({ ...budget, families: [family], id: family }));
    rows.push(row);
    log(
      `${spec.name} vs ${family}: ${row.evaded}/${row.attacked} evaded (${percent(row.successRate)}), ${row.meanQueries.toFixed(0)} queries, ${row.seconds.toFixed(0)}s`,
    );
  }
  const all = await attack(model, combined);
  rows.push(all);
  log(
    `${spec.name} vs combined: ${all.evaded}/${all.attacked} evaded (${percent(all.successRate)}), ${all.meanQueries.toFixed(0)} queries, ${all.seconds.toFixed(0)}s`,
  );
  // Worst case per message over every attack run (each within the threat; AutoAttack-style
  // robust accuracy): the messages any of them got past. Its query cost is the sum of theirs.
  const anyEvaded = new Set(rows.flatMap((r) => r.evadedMessages));
  const worstCase = {
    attacked: all.attacked,
    evaded: anyEvaded.size,
    successRate: all.attacked === 0 ? 0 : anyEvaded.size / all.attacked,
    meanQueries: rows.reduce((q, r) => q + r.meanQueries, 0),
  };
  log(
    `${spec.name} vs any attack (worst case per message): ${worstCase.evaded}/${worstCase.attacked} evaded (${percent(worstCase.successRate)}), ${worstCase.meanQueries.toFixed(0)} queries in all`,
  );
  results.push({
    model: spec.name,
    threshold,
    clean: {
      accuracy: clean.accuracy,
      f1: clean.f1,
      falsePositiveRate: clean.falsePositiveRate,
      precision: clean.precision,
      recall: clean.recall,
      count: clean.count,
    },
    cleanScores,
    attacks: rows,
    worstCase,
  });
  table.push([
    spec.name,
    threshold.threshold,
    percent(clean.accuracy),
    (clean.f1 * 100).toFixed(2),
    percent(clean.falsePositiveRate),
    ...rows.map((r) => percent(r.successRate)),
    percent(worstCase.successRate),
  ]);
}

const headers = ['model', 'spam at', 'clean acc', 'F1', 'ham FPR', ...families, 'combined', 'any'];
console.log(
  `\nAttack success rate (greedy, w=${budget.maxWordFraction}, c=${budget.maxCharEditsPerWord}) on ${attacked.texts.length} spam test messages; lower is better\n`,
);
console.log(formatTable(headers, table));
await writeJsonFile(values.out as string, {
  benchmark: 'text',
  date: new Date().toISOString(),
  engine: { backend: engine.backend, tfjs: engine.tfjsVersion },
  config: {
    limit,
    maxChars,
    maxQueries,
    seed,
    epochs,
    budget,
    families,
    attack: { id: 'greedy', ...createTextAttack('greedy', { maxQueries }).config },
    split: { train: 0.7, validation: 0.1, test: 0.2 },
    defence: {
      ...training,
      threshold: values.threshold,
      maxF1Loss: Number(values['max-f1-loss']),
      fprBudget: Number(values['fpr-budget']),
    },
  },
  data: { ...splits.stats, train: splits.train.texts.length, validation: splits.validation.texts.length, test: splits.test.texts.length },
  results,
  seconds: (Date.now() - started) / 1000,
});
log(`wrote ${values.out}`);
