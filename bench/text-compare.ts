/**
 * `npm run bench:text`: spam filters under the two text threats of issue 26, on one split,
 * per model seed. Trains the four filters of text-filters.ts (undefended n-gram, defended
 * n-gram, defended char-CNN, their ensemble), sets each one's operating point on the
 * validation split (the best F1 among thresholds flagging at most `--fpr-budget` of ham),
 * and attacks the same seeded sample of spam test messages with the greedy word-importance
 * search, every family at once, under
 *   capped - at most 20% of the words and at most `--max-words` (10) words per message;
 *   stress - at most 20% of the words (no cap).
 * The frontier: each filter also gets, for every ham FPR budget in `--fpr-budgets`, the lowest
 * threshold whose validation FPR is within it; the search runs once per threat against the
 * filter at the lowest of all these thresholds with its kept states traced, and the evasion and queries a run at each
 * higher threshold would have had are read off the trace (exact: src/eval/text-frontier.ts;
 * `--verify-frontier` attacks the operating point directly as well and logs both).
 * Reports per filter, threat and budget: evasion rate (share of the attacked spam, caught
 * before the attack, that gets past), queries per attacked message, and seconds per message
 * (estimated from the run's seconds per query; a message's two threats share a memo of the
 * filter's rows, so the second threat's seconds are the lower); per filter and budget: the
 * threshold, clean accuracy, F1 and ham false-positive rate on the test split. Then the median
 * over seeds and the char-CNN's query cost against the n-gram filter's. Seeds run as parallel
 * processes (`--jobs`, bench/text-seed-jobs.ts). `--spamward` (experimental): the normaliser
 * repairs ambiguous misspellings towards spam words (SpellingOptions.spamward).
 * Not a test. Flags and their defaults: `TEXT_BENCH_DEFAULTS` (bench/text-defaults.ts), the one
 * place the default size is set; `--verify-frontier` also attacks the operating point directly;
 * `--models` picks among undefended, ngram, cnn, ensemble.
 */
import { parseArgs } from 'node:util';
import { reportErrorsPlainly } from './support.js';
import { initEngine } from '../src/engine/backend.js';
import { writeJsonFile } from '../src/core/files.js';
import { createRng } from '../src/core/rng.js';
import { percent } from '../src/report/table.js';
import { spamAssassinSplits } from '../src/data/text/spam-assassin.js';
import { takeTexts } from '../src/data/text/text-dataset.js';
import { DEFAULT_THRESHOLD_CANDIDATES, withDecisionThreshold } from '../src/models/text/decision-threshold.js';
import type { TextClassifier } from '../src/models/text/text-classifier.js';
import { spamLogOdds, trainingVocabulary, vocabularyDefence } from '../src/defenses/normalize-text/vocabulary-defence.js';
import { createTextAttack } from '../src/attacks/text/registry.js';
import { TEXT_FAMILIES, textThreatModel, type TextThreatModel } from '../src/threats/text-threat.js';
import { budgetPoints, cleanAt, pointOf, scoresOf, tracedAttacks, type TracedAttack } from './text-operating-points.js';
import { printTables, type Attacks, type FilterRow } from './text-compare-tables.js';
import { FILTER_NAMES, trainFilters, type FilterName } from './text-filters.js';
import { TEXT_BENCH_DEFAULTS, describeSize } from './text-defaults.js';
import { runSeedJobs } from './text-seed-jobs.js';

reportErrorsPlainly();
const stringDefaults = Object.fromEntries(
  Object.entries(TEXT_BENCH_DEFAULTS).map(([k, v]) => [k, { type: 'string' as const, default: String(v) }]),
) as { [K in keyof typeof TEXT_BENCH_DEFAULTS]: { type: 'string'; default: string } };
const { values } = parseArgs({
  options: {
    ...stringDefaults,
    'verify-frontier': { type: 'boolean', default: false },
    spamward: { type: 'boolean', default: false },
    models: { type: 'string', default: FILTER_NAMES.join(',') },
    out: { type: 'string', default: 'bench/results/text.json' },
  },
});
const num = (k: keyof typeof values): number => Number(values[k]);
const limit = num('limit');
const seeds = (values.seeds ?? '1').split(',').map(Number);
const maxQueries = num('max-queries');
const fprBudget = num('fpr-budget');
// The frontier's budgets; the traced attack runs at the lowest threshold among theirs and the operating point's.
const budgets = [...new Set((values['fpr-budgets'] ?? '').split(',').filter(Boolean).map(Number))].sort((a, b) => a - b);
if (budgets.some((b) => !(b >= 0 && b <= 1)))
  throw new Error(`--fpr-budgets and --fpr-budget must be shares of ham in [0, 1] (0.01 is 1%), got ${budgets.join(',')}.`);
const wanted = (values.models ?? '').split(',').filter((m): m is FilterName => (FILTER_NAMES as readonly string[]).includes(m));
const budget = { maxWordFraction: num('word-fraction'), maxCharEditsPerWord: num('char-edits'), families: TEXT_FAMILIES };
const threats: TextThreatModel[] = [
  textThreatModel({ ...budget, maxWords: num('max-words'), id: `capped-${num('max-words')}` }),
  textThreatModel({ ...budget, id: `stress-${budget.maxWordFraction}` }),
];
const started = Date.now();
console.log(describeSize(values));
const log = (msg: string): void => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(5)}s] ${msg}`);

const jobs = num('jobs');
if (seeds.length > 1 && jobs > 1) {
  log(`${seeds.length} seeds, ${jobs} at a time (one process each)`);
  const args = process.argv.slice(2);
  const done = await runSeedJobs(args, seeds, jobs, values.out as string, log);
  printTables(done.rows, { threats, seeds, wanted, limit: done.attacked, maxQueries });
  console.log(`\nWall seconds per seed: ${seeds.map((s) => `${s}: ${done.seconds[s]?.toFixed(0)}`).join(', ')}`);
  await writeJsonFile(values.out as string, {
    benchmark: 'text',
    date: new Date().toISOString(),
    config: { ...values, threats: threats.map((t) => ({ id: t.id, budget: t.budget })) },
    attacked: done.attacked,
    rows: done.rows,
    secondsPerSeed: done.seconds,
    seconds: (Date.now() - started) / 1000,
  });
  log(`wrote ${values.out}`);
  process.exit(0);
}

const engine = await initEngine();
const splits = spamAssassinSplits({ seed: num('split-seed'), maxChars: num('max-chars') });
const spam = splits.train.classes.indexOf('spam');
log(`SpamAssassin: train ${splits.train.texts.length}, validation ${splits.validation.texts.length}, test ${splits.test.texts.length}`);
const vocabulary = trainingVocabulary(splits.train.texts);
// --spamward (experimental, off by default): ambiguous misspellings repaired towards spam words.
const normalize = vocabularyDefence(vocabulary, {
  ...(values.spamward ? { spamward: spamLogOdds(splits.train.texts, splits.train.labels, spam, vocabulary) } : {}),
});
const spamTest = splits.test.labels.flatMap((l, i) => (l === spam ? [i] : []));
const attacked = takeTexts(splits.test, createRng(num('split-seed')).shuffle(spamTest).slice(0, limit), 'spam-sample');
log(`attacking ${attacked.texts.length} spam test messages; threats ${threats.map((t) => t.id).join(', ')}; ${maxQueries} query cap`);

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
      cnn: { maxChars: num('cnn-max-chars'), filters: num('cnn-filters'), embedding: num('cnn-embedding'), dropout: num('cnn-dropout') },
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
      const test = { scores: await scoresOf(scorer, splits.test.texts, spam), labels: splits.test.labels };
      const { operating: op, frontier: points } = await budgetPoints(scorer, splits.validation, test, spam, fprBudget, budgets);
      const attackedAt = Math.min(op.threshold, ...points.map((p) => p.threshold));
      log(
        `seed ${seed} ${name}: operating point ${op.threshold} (test FPR ${percent(op.clean.falsePositiveRate)}, F1 ${(op.clean.f1 * 100).toFixed(2)}); frontier ${points.map((p) => `${percent(p.budget)} budget -> ${p.threshold} (test FPR ${percent(p.clean.falsePositiveRate)}, F1 ${(p.clean.f1 * 100).toFixed(2)})`).join('; ')}`,
      );
      const runs = await tracedAttacks(scorer, attacked.texts, spam, threats, attackedAt, { maxQueries, seed });
      for (const [k, threat] of threats.entries()) {
        const run = runs[k] as TracedAttack;
        const at = (t: number): string => {
          const p = pointOf(run, t);
          return `${p.evaded}/${p.attacked} at ${t} (${p.queriesPerText.toFixed(0)} q)`;
        };
        log(
          `seed ${seed} ${name} vs ${threat.id} (run at ${attackedAt}, ${run.seconds.toFixed(0)}s): ${points.map((p) => at(p.threshold)).join(', ')}`,
        );
        if (values['verify-frontier']) await verify(scorer, threat, seed, run, op.threshold);
      }
      const attacksAt = (t: number): Attacks => Object.fromEntries(runs.map((r) => [r.threat, pointOf(r, t)]));
      rows.push({
        seed,
        model: name,
        threshold: op.threshold,
        withinBudget: op.withinBudget,
        validationFpr: op.validationFpr,
        clean: op.clean,
        trainSeconds: trained.seconds.get(name) ?? 0,
        attacks: runs.map((r) => ({ threat: r.threat, ...pointOf(r, op.threshold) })),
        attackedAt,
        runs: runs.map((r) => ({ threat: r.threat, seconds: r.seconds, queries: r.queries, finalScores: r.finalScores })),
        frontier: points.map((p) => ({ ...p, attacks: attacksAt(p.threshold) })),
        curve: DEFAULT_THRESHOLD_CANDIDATES.filter((t) => t >= attackedAt).map((t) => {
          const clean = cleanAt(test.scores, test.labels, spam, t);
          const at = attacksAt(t);
          return {
            threshold: t,
            falsePositiveRate: clean.falsePositiveRate,
            f1: clean.f1,
            success: Object.fromEntries(Object.entries(at).map(([k, v]) => [k, v.successRate])),
          };
        }),
      });
    }
  } finally {
    trained.dispose();
  }
}

/** `--verify-frontier`: attacks the operating point directly and logs it beside what the traced run derived. */
async function verify(scorer: TextClassifier, threat: TextThreatModel, seed: number, run: TracedAttack, threshold: number): Promise<void> {
  const direct = await createTextAttack('greedy', { maxQueries }).run(
    withDecisionThreshold(scorer, { positiveClass: spam, threshold }),
    [...attacked.texts],
    Int32Array.from(attacked.labels),
    threat,
    { seed },
  );
  const caught = [...direct.originalCorrect.keys()].filter((i) => direct.originalCorrect[i]);
  const evaded = caught.filter((i) => direct.success[i]).length;
  const queries = caught.reduce((q, i) => q + (direct.queries[i] as number), 0) / Math.max(1, caught.length);
  const derived = pointOf(run, threshold);
  const same = derived.evaded === evaded && derived.attacked === caught.length && Math.abs(derived.queriesPerText - queries) < 1e-9;
  log(
    `verify ${threat.id} at ${threshold}: direct ${evaded}/${caught.length} (${queries.toFixed(1)} q), derived ${derived.evaded}/${derived.attacked} (${derived.queriesPerText.toFixed(1)} q)${same ? '' : ' MISMATCH'}`,
  );
}

printTables(rows, { threats, seeds, wanted, limit: attacked.texts.length, maxQueries });
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
  attacked: attacked.texts.length,
  rows,
  seconds: (Date.now() - started) / 1000,
});
log(`wrote ${values.out}`);
