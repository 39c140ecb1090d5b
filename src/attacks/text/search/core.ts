/**
 * The shared core of the text searches: one place that counts queries, enforces the word
 * budget and protected tokens, proposes candidates from the threat's families, and ranks
 * states (`example.ts`, `walk.ts`). Greedy, beam and gradient-guided searches differ only in
 * how they order words (`WordRanker`) and how many partial solutions they keep
 * (`beamWidth`); none has its own query loop. This file turns a ranker into a TextAttack.
 */
import { InputError, UsageError } from '../../../core/errors.js';
import { createRng } from '../../../core/rng.js';
import type { TextClassifier } from '../../../models/text/text-classifier.js';
import type { TextThreatModel } from '../../../threats/text-threat.js';
import { ALL_TRANSFORMATIONS } from '../transformations/index.js';
import type { TextAttack, TextAttackResult, TextAttackRunOptions } from '../types.js';
import { ExampleSearch, type SearchConfig, type SearchState } from './example.js';
import { searchRanked, type WordRanker } from './walk.js';

/** Largest `firstRow`: skipping is one draw per earlier text, so it stays cheap. */
const MAX_FIRST_ROW = 100_000_000;

/** Checks the options every search takes and fills their defaults. */
export function resolveSearchConfig(attackId: string, options: Partial<SearchConfig>, defaults: SearchConfig): SearchConfig {
  const config = { ...defaults, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as SearchConfig;
  const rules: Array<[keyof SearchConfig, number]> = [
    ['candidatesPerTransformation', 1],
    ['beamWidth', 1],
    ['maxQueries', 0],
    ['batchSize', 1],
    ['refinePasses', 0],
  ];
  for (const [key, min] of rules) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new UsageError(
        'E_TEXT_ATTACK_OPTION',
        `Text attack '${attackId}': option ${key} must be an integer >= ${min}; got ${String(value)}.`,
        {
          details: { attack: attackId, option: key, value, min },
        },
      );
    }
  }
  return config;
}

function validateBatch(model: TextClassifier, texts: readonly string[], labels: Int32Array): void {
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
    throw new InputError('E_TEXT_INPUT', 'Text attack: texts must be an array of strings.');
  }
  if (labels.length !== texts.length) {
    throw new InputError('E_LABELS_LENGTH', `Text attack: ${texts.length} texts but ${labels.length} labels; pass one label per text.`, {
      details: { texts: texts.length, labels: labels.length },
    });
  }
  const classes = model.classes.length;
  labels.forEach((label, i) => {
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new InputError(
        'E_LABEL_RANGE',
        `Text attack: label ${label} at index ${i} is not a class of model '${model.id}'; use 0..${classes - 1} (${model.classes.join(', ')}).`,
        {
          details: { index: i, label, classes: model.classes },
        },
      );
    }
  });
}

/**
 * Builds a TextAttack from a ranker: validation, the clean query, the search, and the
 * result bookkeeping are shared by every search method.
 */
export function rankedSearchAttack(
  id: string,
  config: SearchConfig,
  ranker: WordRanker,
  check?: (model: TextClassifier) => void,
): TextAttack {
  return Object.freeze({
    id,
    config: Object.freeze({ ...config }),
    async run(
      model: TextClassifier,
      texts: string[],
      labels: Int32Array,
      threat: TextThreatModel,
      options: TextAttackRunOptions = {},
    ): Promise<TextAttackResult> {
      validateBatch(model, texts, labels);
      check?.(model);
      const n = texts.length;
      const result: TextAttackResult = {
        adversarial: [...texts],
        success: new Uint8Array(n),
        queries: new Int32Array(n),
        changedWordFraction: new Float32Array(n),
        changes: texts.map(() => []),
        originalCorrect: new Uint8Array(n),
      };
      const transformations = ALL_TRANSFORMATIONS.filter((t) => threat.families.includes(t.family));
      const seedRng = createRng(options.seed ?? 0);
      // Skips the generators of the run's earlier texts (one draw each), so a shard's texts get the run's.
      const firstRow = options.firstRow ?? 0;
      if (!Number.isInteger(firstRow) || firstRow < 0 || firstRow > MAX_FIRST_ROW) {
        throw new UsageError(
          'E_TEXT_ATTACK_OPTION',
          `Text attack option 'firstRow' must be a whole number in [0, ${MAX_FIRST_ROW}]; got ${String(firstRow)}.`,
          {
            details: { option: 'firstRow', value: firstRow },
          },
        );
      }
      for (let i = 0; i < firstRow; i++) seedRng.fork();
      for (let i = 0; i < n; i++) {
        // One generator per example, drawn in order: an example's candidates do not depend on
        // how many queries the examples before it spent.
        const rng = seedRng.fork();
        const example = new ExampleSearch(model, texts[i] as string, labels[i] as number, threat, transformations, config, rng);
        const onStep = options.onStep;
        if (onStep) example.onKept = (queries, probs) => onStep({ index: i, queries, probs });
        const [cleanProbs] = await example.query([example.text]);
        if (cleanProbs) {
          const clean: SearchState = { changes: new Map(), text: example.text, probs: cleanProbs };
          example.kept(clean);
          let final = clean;
          if (example.isSuccess(cleanProbs)) {
            result.success[i] = 1;
          } else {
            result.originalCorrect[i] = 1;
            if (example.budget > 0 && example.editable.length > 0) {
              const order = await ranker(example, clean);
              final = await searchRanked(example, order, clean, config.beamWidth, config.refinePasses);
            }
            result.success[i] = example.isSuccess(final.probs) ? 1 : 0;
          }
          result.adversarial[i] = final.text;
          result.changes[i] = [...final.changes.values()].sort((a, b) => a.index - b.index);
          result.changedWordFraction[i] = example.wordTokens.length > 0 ? final.changes.size / example.wordTokens.length : 0;
        }
        result.queries[i] = example.queries;
        options.onProgress?.({ done: i + 1, total: n });
      }
      return result;
    },
  });
}
