/**
 * `rampart attack --model <text dir> --data jsonl:…`: the text channel from the command line.
 * The saved filter is loaded exactly as the plan's text stages and `rampart serve` use it
 * (behind its normaliser, at its decision threshold), a split of the texts is attacked with
 * a text search under a word and character budget, and the result is printed and written
 * with every adversarial text and its edits.
 */
import type { Command } from 'commander';
import { createTextAttack } from '../../attacks/text/registry.js';
import { textAttackMetrics } from '../../attacks/text/metrics.js';
import { UsageError, listChoices } from '../../core/errors.js';
import { writeJsonFile } from '../../core/files.js';
import { loadCsvTexts, loadJsonlTexts, spamAssassinSplits, splitTextDataset, type TextDataset } from '../../data/text/index.js';
import { loadSavedTextFilter } from '../../defenses/normalize-text/saved-filter.js';
import type { ModelSourceSpec } from '../../models/sources/load.js';
import { TEXT_FAMILIES } from '../../pipeline/plan/schema.js';
import { DEFAULT_TEXT_FAMILIES } from '../../pipeline/run/stages/text.js';
import { percent } from '../../report/table.js';
import { DEFAULT_MAX_WORDS, MAX_WORDS_CAP, textThreatModel, type TextFamily } from '../../threats/text-threat.js';
import { commaList, positiveNumber, wholeNumber } from '../parse.js';
import { say } from '../output.js';
import { createProgress } from '../progress.js';
import type { DataFlags } from './shared.js';

export interface TextAttackFlags {
  maxWordFraction: number;
  /** Per-message cap on changed words; 0 for none. */
  maxWords: number;
  maxCharEdits: number;
  families?: string;
  maxQueries?: number;
  maxChars: number;
}

/** The text threat's flags, beside the image ones on `rampart attack`. */
export function addTextAttackFlags(command: Command): Command {
  return command
    .option(
      '--max-word-fraction <value>',
      'text filters: largest share of a text’s words an attack may change',
      positiveNumber('--max-word-fraction'),
      0.2,
    )
    .option(
      '--max-words <n>',
      'text filters: most words an attack may change in one text, on top of the share (0: no cap)',
      wholeNumber('--max-words', 0),
      DEFAULT_MAX_WORDS,
    )
    .option(
      '--max-char-edits <n>',
      'text filters: largest number of character edits within one word',
      wholeNumber('--max-char-edits', 1),
      2,
    )
    .option('--families <list>', `text filters: perturbation families, from ${TEXT_FAMILIES.join(', ')} (default all but synonym)`)
    .option('--max-queries <n>', 'text filters: model queries per text the search may spend', wholeNumber('--max-queries', 1))
    .option(
      '--max-chars <n>',
      'text filters: cut texts to this many characters (attack cost grows with length)',
      wholeNumber('--max-chars', 1),
      2000,
    );
}

interface TextCommandFlags extends DataFlags, TextAttackFlags {
  attack: string;
  seed: number;
  out?: string;
  quiet?: boolean;
}

function families(list: string | undefined): TextFamily[] {
  if (list === undefined) return [...DEFAULT_TEXT_FAMILIES];
  const names = commaList(list);
  const unknown = names.filter((n) => !(TEXT_FAMILIES as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0)
    throw new UsageError(
      'E_FLAG_VALUE',
      `--families: unknown ${unknown.map((u) => `'${u}'`).join(', ') || 'empty list'}; use ${listChoices(TEXT_FAMILIES)}.`,
      {
        details: { flag: '--families', value: list },
      },
    );
  return names as TextFamily[];
}

/**
 * The texts to attack, labelled in the model's class order: `jsonl:PATH`, `csv:PATH` (fields `text` and `label`) or
 * `spam-assassin`, split as the plan's text stages split them.
 *
 * @throws UsageError `E_MISSING_FLAG` / `E_UNKNOWN_DATASET`; DataError or InputError from the loaders (a label the model does not know).
 */
function textsFor(classes: readonly string[], flags: TextCommandFlags): TextDataset {
  const spec = flags.data;
  if (spec === undefined)
    throw new UsageError('E_MISSING_FLAG', 'Give the texts to attack with --data jsonl:PATH, csv:PATH or spam-assassin.');
  const seed = flags.splitSeed ?? 1;
  let splits;
  if (spec === 'spam-assassin') splits = spamAssassinSplits({ seed, maxChars: flags.maxChars });
  else if (spec.startsWith('jsonl:')) splits = splitTextDataset(loadJsonlTexts(spec.slice(6), { classes }), { seed });
  else if (spec.startsWith('csv:')) splits = splitTextDataset(loadCsvTexts(spec.slice(4), { classes }), { seed });
  else
    throw new UsageError('E_UNKNOWN_DATASET', `Unknown text data '${spec}'; use jsonl:PATH, csv:PATH or spam-assassin.`, {
      details: { value: spec },
    });
  const chosen =
    flags.subset === 'all'
      ? {
          ...splits.train,
          texts: [...splits.train.texts, ...splits.validation.texts, ...splits.test.texts],
          labels: [...splits.train.labels, ...splits.validation.labels, ...splits.test.labels],
        }
      : (splits as unknown as Record<string, TextDataset | undefined>)[flags.subset];
  if (!chosen) throw new UsageError('E_UNKNOWN_SUBSET', `Unknown subset '${flags.subset}'; use train, validation, test or all.`);
  const n = Math.min(chosen.texts.length, flags.limit ?? chosen.texts.length);
  // Labels by class name, so a data set whose classes are ordered differently still means the same thing.
  const labels = chosen.labels.slice(0, n).map((l) => {
    const name = chosen.classes[l] as string;
    const index = classes.indexOf(name);
    if (index < 0)
      throw new UsageError(
        'E_UNKNOWN_LABEL',
        `The texts have label '${name}', which the model does not have (classes: ${classes.join(', ')}).`,
      );
    return index;
  });
  return {
    name: flags.subset === 'all' ? chosen.name.replace(/\/train$/, '/all') : chosen.name,
    texts: chosen.texts.slice(0, n).map((t) => t.slice(0, flags.maxChars)),
    labels,
    classes,
  };
}

/**
 * Runs the text attack command.
 *
 * @throws UsageError for bad flags or data; DataError from loading the filter.
 */
export async function runTextAttackCommand(spec: ModelSourceSpec, flags: TextCommandFlags): Promise<void> {
  if (spec.kind !== 'built') throw new UsageError('E_MODEL_SOURCE', 'A text filter is a directory Rampart saved.');
  const attack = createTextAttack(flags.attack, flags.maxQueries === undefined ? {} : { maxQueries: flags.maxQueries });
  const threat = textThreatModel({
    id: 'cli',
    maxWordFraction: Math.min(1, flags.maxWordFraction),
    ...(flags.maxWords > 0 ? { maxWords: Math.min(flags.maxWords, MAX_WORDS_CAP) } : {}),
    maxCharEditsPerWord: flags.maxCharEdits,
    families: families(flags.families),
  });
  const { model, filter } = await loadSavedTextFilter(spec.path);
  try {
    const data = textsFor(filter.classes, flags);
    const bar = createProgress(`${attack.id} on ${data.texts.length} texts`, { quiet: flags.quiet === true });
    const result = await attack.run(filter, [...data.texts], Int32Array.from(data.labels), threat, {
      seed: flags.seed,
      onProgress: (p) => bar.update(p.done, data.texts.length),
    });
    bar.stop();
    const m = textAttackMetrics(result);
    say(
      `${attack.id} on ${spec.path} (${data.name}, ${m.examples} texts; ≤ ${percent(threat.budget.maxWordFraction)} of words${threat.budget.maxWords === undefined ? '' : `, at most ${threat.budget.maxWords}`}, families ${threat.families.join(', ')})`,
    );
    say(
      `clean accuracy ${percent(m.cleanAccuracy)} -> accuracy under attack ${percent(m.accuracyUnderAttack)}; success rate ${percent(m.attackSuccessRate)}; ${m.meanQueries.toFixed(1)} queries per text`,
    );
    if (flags.out) {
      await writeJsonFile(flags.out, {
        kind: 'rampart.text-attack-result',
        schemaVersion: 1,
        model: spec.path,
        data: { name: data.name, count: data.texts.length },
        attack: { id: attack.id, config: attack.config },
        threat,
        summary: m,
        examples: data.texts.map((text, i) => ({
          text,
          label: data.classes[data.labels[i] as number],
          correct: result.originalCorrect[i] === 1,
          success: result.success[i] === 1,
          adversarial: result.adversarial[i],
          queries: result.queries[i],
          changes: result.changes[i] ?? [],
        })),
      });
      say(`result: ${flags.out}`);
    }
  } finally {
    model.dispose();
  }
}
