/**
 * `npm run bench:text`: spam filters under the two text threats of issue 26, on one split,
 * per model seed. Trains the four filters of text-filters.ts (undefended n-gram, defended
 * n-gram, defended char-CNN, their ensemble), sets each one's operating point on the
 * validation split (the best F1 among thresholds flagging at most `--fpr-budget` of ham),
 * and attacks the same seeded sample of spam test messages with the greedy word-importance
 * search, every family at once, under
 *   capped - at most 20% of the words and at most `--max-words` (10) words per message;
 *   stress - at most 20% of the words (no cap).
 * Reports per filter and threat: evasion rate (share of the attacked spam, caught before the
 * attack, that gets past), queries and seconds per attacked message; per filter: clean
 * accuracy, F1 and ham false-positive rate on the test split at the operating point. Then
 * the mean over seeds, and the frontier: at each threshold, the ham FPR and the share of the
 * attacked spam whose final spam probability (after the attack at the operating point) is
 * below it (exact above the operating point, a lower bound below it).
 * Not a test. Flags (defaults in brackets):
 *   --limit [200] spam test messages attacked   --seeds [1,2,3] model seeds   --split-seed [1]
 *   --max-chars [2000] --max-queries [2000] --max-words [10] --word-fraction [0.2] --char-edits [2]
 *   --epochs [3] --hidden [16] --cnn-epochs [4] --cnn-max-chars [1024] --cnn-filters [32] --cnn-lr [0.005]
 *   --rounds [2] --per-round [150] --cnn-rounds [1] --cnn-per-round [100] --round-queries [500] --round-threshold [0.05]
 *   --fpr-budget [0.01]  --models [undefended,ngram,cnn,ensemble]  --out [bench/results/text.json]
 */
import { parseArgs } from 'node:util';
import { reportErrorsPlainly } from './support.js';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonFile } from '../src/core/files.js';
import { createRng } from '../src/core/rng.js';
import { formatTable, percent } from '../src/report/table.js';
import { spamAssassinSplits } from '../src/data/text/spam-assassin.js';
import { takeTexts } from '../src/data/text/text-dataset.js';
import { evaluateTextClassifier, predictInBatches } from '../src/models/text/metrics.js';
import { chooseDecisionThreshold, DEFAULT_THRESHOLD_CANDIDATES, withDecisionThreshold } from '../src/models/text/decision-threshold.js';
import type { TextClassifier } from '../src/models/text/text-classifier.js';
import { trainingVocabulary, vocabularyDefence } from '../src/defenses/normalize-text/vocabulary-defence.js';
import { createTextAttack } from '../src/attacks/text/registry.js';
import { TEXT_FAMILIES, textThreatModel, type TextThreatModel } from '../src/threats/text-threat.js';
import { FILTER_NAMES, trainFilters, type FilterName } from './text-filters.js';

reportErrorsPlainly();
const { values } = parseArgs({
  options: {
    limit: { type: 'string', default: '200' },
    seeds: { type: 'string', default: '1,2,3' },
    'split-seed': { type: 'string', default: '1' },
    'max-chars': { type: 'string', default: '2000' },
    'max-queries': { type: 'string', default: '2000' },
    'max-words': { type: 'string', default: '10' },
    'word-fraction': { type: 'string', default: '0.2' },
    'char-edits': { type: 'string', default: '2' },
    epochs: { type: 'string', default: '3' },
    hidden: { type: 'string', default: '16' },
    'cnn-epochs': { type: 'string', default: '4' },
    'cnn-max-chars': { type: 'string', default: '1024' },
    'cnn-filters': { type: 'string', default: '32' },
    'cnn-lr': { type: 'string', default: '0.005' },
    rounds: { type: 'string', default: '2' },
    'per-round': { type: 'string', default: '150' },
    'cnn-rounds': { type: 'string', default: '1' },
    'cnn-per-round': { type: 'string', default: '100' },
    'round-queries': { type: 'string', default: '500' },
    'round-threshold': { type: 'string', default: '0.05' },
    'fpr-budget': { type: 'string', default: '0.01' },
    models: { type: 'string', default: FILTER_NAMES.join(',') },
    out: { type: 'string', default: 'bench/results/text.json' },
  },
});
const num = (k: keyof typeof values): number => Number(values[k]);
const limit = num('limit');
const seeds = (values.seeds ?? '1').split(',').map(Number);
const maxQueries = num('max-queries');
const fprBudget = num('fpr-budget');
const wanted = (values.models ?? '').split(',').filter((m): m is FilterName => (FILTER_NAMES as readonly string[]).includes(m));
const budget = { maxWordFraction: num('word-fraction'), maxCharEditsPerWord: num('char-edits'), families: TEXT_FAMILIES };
const threats: TextThreatModel[] = [
  textThreatModel({ ...budget, maxWords: num('max-words'), id: `capped-${num('max-words')}` }),
  textThreatModel({ ...budget, id: `stress-${budget.maxWordFraction}` }),
];
const started = Date.now();
const log = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${msg}`);

const engine = await initEngine();
const splits = spamAssassinSplits({ seed: num('split-seed'), maxChars: num('max-chars') });
const spam = splits.train.classes.indexOf('spam');
log(`SpamAssassin: train ${splits.train.texts.length}, validation ${splits.validation.texts.length}, test ${splits.test.texts.length}`);
const normalize = vocabularyDefence(trainingVocabulary(splits.train.texts));
const spamTest = splits.test.labels.flatMap((l, i) => (l === spam ? [i] : []));
const attacked = takeTexts(splits.test, createRng(num('split-seed')).shuffle(spamTest).slice(0, limit), 'spam-sample');
log(`attacking ${attacked.texts.length} spam test messages; threats ${threats.map((t) => t.id).join(', ')}; ${maxQueries} query cap`);

interface AttackRow {
  threat: string;
  attacked: number;
  evaded: number;
  successRate: number;
  queriesPerMessage: number;
  secondsPerMessage: number;
  /** Spam probability of each attacked (caught) message after the attack, before the threshold. */
  finalScores: number[];
}
interface FilterRow {
  seed: number;
  model: FilterName;
  threshold: number;
  withinBudget: boolean;
  validationFpr: number;
  clean: { accuracy: number; f1: number; falsePositiveRate: number };
  trainSeconds: number;
  attacks: AttackRow[];
  frontier: { threshold: number; falsePositiveRate: number; success: Record<string, number> }[];
}

async function attack(filter: TextClassifier, scorer: TextClassifier, threat: TextThreatModel, seed: number): Promise<AttackRow> {
  const t0 = performance.now();
  const result = await createTextAttack('greedy', { maxQueries }).run(
    filter,
    [...attacked.texts],
    Int32Array.from(attacked.labels),
    threat,
    {
      seed,
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  const caught = [...result.originalCorrect.keys()].filter((i) => result.originalCorrect[i]);
  const evaded = caught.filter((i) => result.success[i]).length;
  const queries = caught.reduce((q, i) => q + (result.queries[i] as number), 0);
  const final = await predictInBatches(
    scorer,
    caught.map((i) => result.adversarial[i] as string),
  );
  return {
    threat: threat.id,
    attacked: caught.length,
    evaded,
    successRate: caught.length === 0 ? 0 : evaded / caught.length,
    queriesPerMessage: caught.length === 0 ? 0 : queries / caught.length,
    secondsPerMessage: caught.length === 0 ? 0 : seconds / caught.length,
    finalScores: final.map((p) => Number((p[spam] as number).toFixed(5))),
  };
}

const rows: FilterRow[] = [];
for (const seed of seeds) {
  log(`seed ${seed}: training ${wanted.join(', ')}`);
  const trained = await trainFilters(
    splits,
    normalize,
    {
      modelSeed: seed,
      epochs: num('epochs'),
      hidden: num('hidden'),
      cnnEpochs: num('cnn-epochs'),
      cnn: { maxChars: num('cnn-max-chars'), filters: num('cnn-filters') },
      cnnLearningRate: num('cnn-lr'),
      rounds: num('rounds'),
      perRound: num('per-round'),
      roundQueries: num('round-queries'),
      cnnRounds: num('cnn-rounds'),
      cnnPerRound: num('cnn-per-round'),
      roundThreshold: num('round-threshold'),
      threat: threats[1] as TextThreatModel,
    },
    wanted,
    log,
  );
  try {
    for (const name of wanted) {
      const scorer = trained.filters.get(name) as TextClassifier;
      const choice = await chooseDecisionThreshold(scorer, splits.validation, { positiveClass: spam, maxFalsePositiveRate: fprBudget });
      const filter = withDecisionThreshold(scorer, { positiveClass: spam, threshold: choice.threshold });
      const clean = await evaluateTextClassifier(filter, splits.test);
      log(
        `seed ${seed} ${name}: threshold ${choice.threshold} (validation F1 ${(choice.f1 * 100).toFixed(2)}, FPR ${percent(choice.falsePositiveRate)}); test acc ${percent(clean.accuracy)}, F1 ${(clean.f1 * 100).toFixed(2)}, ham FPR ${percent(clean.falsePositiveRate)}`,
      );
      const attacks: AttackRow[] = [];
      for (const threat of threats) {
        const row = await attack(filter, scorer, threat, seed);
        attacks.push(row);
        log(
          `seed ${seed} ${name} vs ${threat.id}: ${row.evaded}/${row.attacked} evaded (${percent(row.successRate)}), ${row.queriesPerMessage.toFixed(0)} queries and ${row.secondsPerMessage.toFixed(2)}s per message`,
        );
      }
      // Ham FPR on the clean test split at every candidate threshold, with the attack's reach there.
      const hamScores = (
        await predictInBatches(
          scorer,
          splits.test.texts.filter((_, i) => splits.test.labels[i] !== spam),
        )
      ).map((p) => p[spam] as number);
      const frontier = DEFAULT_THRESHOLD_CANDIDATES.map((t) => ({
        threshold: t,
        falsePositiveRate: hamScores.filter((s) => s >= t).length / Math.max(1, hamScores.length),
        success: Object.fromEntries(
          attacks.map((a) => [a.threat, a.finalScores.filter((s) => s < t).length / Math.max(1, a.finalScores.length)]),
        ),
      }));
      rows.push({
        seed,
        model: name,
        threshold: choice.threshold,
        withinBudget: choice.withinBudget,
        validationFpr: choice.falsePositiveRate,
        clean: { accuracy: clean.accuracy, f1: clean.f1, falsePositiveRate: clean.falsePositiveRate },
        trainSeconds: trained.seconds.get(name) ?? 0,
        attacks,
        frontier,
      });
    }
  } finally {
    trained.dispose();
  }
}

/** Thresholds the printed frontier shows (the JSON keeps every candidate). */
const FRONTIER_THRESHOLDS = [0.95, 0.9, 0.7, 0.5, 0.3, 0.1, 0.05];
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const perSeed = rows.map((r) => [
  r.seed,
  r.model,
  r.threshold,
  (r.clean.f1 * 100).toFixed(2),
  percent(r.clean.falsePositiveRate),
  ...r.attacks.flatMap((a) => [percent(a.successRate), a.queriesPerMessage.toFixed(0)]),
]);
const headers = (first: string[]): string[] => [...first, ...threats.flatMap((t) => [`${t.id} evaded`, 'queries/msg'])];
console.log(
  `\nPer seed: greedy search, all families, ${attacked.texts.length} spam test messages, ${maxQueries} queries; lower evaded is better\n`,
);
console.log(formatTable(headers(['seed', 'model', 'spam at', 'clean F1', 'ham FPR']), perSeed));
const summary = wanted.map((name) => {
  const mine = rows.filter((r) => r.model === name);
  return [
    name,
    (mean(mine.map((r) => r.clean.f1)) * 100).toFixed(2),
    percent(mean(mine.map((r) => r.clean.falsePositiveRate))),
    ...threats.flatMap((_, k) => [
      `${percent(mean(mine.map((r) => r.attacks[k]?.successRate ?? 0)))} (${mine.map((r) => percent(r.attacks[k]?.successRate ?? 0)).join(' / ')})`,
      mean(mine.map((r) => r.attacks[k]?.queriesPerMessage ?? 0)).toFixed(0),
    ]),
  ];
});
console.log(`\nMean over seeds ${seeds.join(', ')} (per seed in brackets)\n`);
console.log(formatTable(headers(['model', 'clean F1', 'ham FPR']), summary));
console.log(
  '\nFrontier (mean over seeds): ham FPR on clean test mail / share of attacked spam past the filter, per threshold' +
    ' (≥: a lower bound, below the operating point the attack aimed at)\n',
);
const frontierRows = wanted.flatMap((name) => {
  const mine = rows.filter((r) => r.model === name);
  return FRONTIER_THRESHOLDS.map((t, k0) => {
    const k = DEFAULT_THRESHOLD_CANDIDATES.indexOf(t);
    const op = mean(mine.map((r) => r.threshold));
    return [
      k0 === 0 ? name : '',
      t,
      percent(mean(mine.map((r) => r.frontier[k]?.falsePositiveRate ?? 0))),
      // Below the operating point the greedy search stopped once under it: only a lower bound.
      ...threats.map((th) => `${t < op ? '≥ ' : ''}${percent(mean(mine.map((r) => r.frontier[k]?.success[th.id] ?? 0)))}`),
    ];
  });
});
console.log(formatTable(['model', 'threshold', 'ham FPR', ...threats.map((t) => `${t.id} evaded`)], frontierRows));
await writeJsonFile(values.out as string, {
  benchmark: 'text',
  date: new Date().toISOString(),
  engine: { backend: engine.backend, tfjs: engine.tfjsVersion },
  config: {
    ...values,
    threats: threats.map((t) => ({ id: t.id, budget: t.budget })),
    attack: createTextAttack('greedy', { maxQueries }).config,
  },
  data: { train: splits.train.texts.length, validation: splits.validation.texts.length, test: splits.test.texts.length },
  rows,
  seconds: (Date.now() - started) / 1000,
});
log(`wrote ${values.out}`);
