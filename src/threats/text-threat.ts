/**
 * Text threat models: how much of a text an adversary may change and with which families
 * of transformations. The id is stable (same budget and families, same id) so plans,
 * reports, the registry and the API can name a text threat the way they name `linf-0.3`.
 */
import { createHash } from 'node:crypto';
import { ThreatError, listChoices } from '../core/errors.js';

/** A family of text transformations an adversary may use (the attacks implement each). */
export type TextFamily = 'char-edit' | 'typo' | 'homoglyph' | 'invisible' | 'leet' | 'split' | 'case' | 'synonym';

/** How much of a text an adversary may change. */
export interface TextBudget {
  /** Largest fraction of the words in a text that may change, in (0, 1]. */
  maxWordFraction: number;
  /**
   * Largest number of words that may change in one text, whatever its length (DeepWordBug's
   * per-message cap: past a few words a message stops reading as the sender meant). Absent:
   * only the fraction binds. The budget is min(floor(fraction · words), maxWords).
   */
  maxWords?: number;
  /** Largest number of character edits within one word, for character-level families. */
  maxCharEditsPerWord: number;
  /** Tokens never changed (case-insensitive), e.g. a brand name or a URL the attack must keep. */
  protectedTokens?: readonly string[];
}

/** The text counterpart of the tensor ThreatModel: a budget and the allowed families. */
export interface TextThreatModel {
  readonly id: string;
  readonly budget: TextBudget;
  readonly families: readonly TextFamily[];
}

/** Every family, in canonical order (ids list families in this order). */
export const TEXT_FAMILIES: readonly TextFamily[] = Object.freeze([
  'char-edit',
  'typo',
  'homoglyph',
  'invisible',
  'leet',
  'split',
  'case',
  'synonym',
]);

/** Upper limit on character edits per word: past this a "word" is rewritten, not perturbed. */
export const MAX_CHAR_EDITS_PER_WORD = 10;

/** Upper limit on `maxWords`: a cap past this is no cap for any text an attack can afford. */
export const MAX_WORDS_CAP = 10_000;

/** The per-message word cap plans use when they give none (the capped threat of issue 26). */
export const DEFAULT_MAX_WORDS = 10;

export interface TextThreatSpec {
  id?: string;
  /** Largest fraction of words that may change, in (0, 1]. */
  maxWordFraction: number;
  /** Largest number of changed words per text, an integer in [1, 10000]; absent for no cap. */
  maxWords?: number;
  /** Largest character edits within one word, an integer in [1, 10]. */
  maxCharEditsPerWord: number;
  /** Allowed families; order and duplicates do not matter. */
  families: readonly string[];
  /** Tokens or phrases never changed (case-insensitive). */
  protectedTokens?: readonly string[];
}

function isFamily(value: string): value is TextFamily {
  return (TEXT_FAMILIES as readonly string[]).includes(value);
}

/**
 * Builds and validates a text threat model. The default id reads
 * `text-w<fraction>[-m<maxWords>]-c<edits>-<families joined by +>`, plus `-p<hash>` of the
 * protected tokens when there are any, so two equal threats share an id.
 *
 * @throws ThreatError `E_TEXT_WORD_FRACTION` when maxWordFraction is not in (0, 1].
 * @throws ThreatError `E_TEXT_MAX_WORDS` when maxWords is given and not an integer in [1, 10000].
 * @throws ThreatError `E_TEXT_CHAR_EDITS` when maxCharEditsPerWord is not an integer in [1, 10].
 * @throws ThreatError `E_TEXT_FAMILY` for an empty family list or an unknown family (lists the valid ones).
 * @throws ThreatError `E_TEXT_PROTECTED` when a protected token is not a non-empty string.
 * @example
 * const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 2, families: ['homoglyph', 'split'] });
 * threat.id // 'text-w0.2-c2-homoglyph+split'
 */
export function textThreatModel(spec: TextThreatSpec): TextThreatModel {
  const { maxWordFraction, maxCharEditsPerWord } = spec;
  if (typeof maxWordFraction !== 'number' || !Number.isFinite(maxWordFraction) || maxWordFraction <= 0 || maxWordFraction > 1) {
    throw new ThreatError(
      'E_TEXT_WORD_FRACTION',
      `maxWordFraction must be a number in (0, 1] (the largest share of words an attack may change); got ${String(maxWordFraction)}.`,
      {
        details: { field: 'maxWordFraction', value: maxWordFraction, range: '(0, 1]' },
      },
    );
  }
  if (
    typeof maxCharEditsPerWord !== 'number' ||
    !Number.isInteger(maxCharEditsPerWord) ||
    maxCharEditsPerWord < 1 ||
    maxCharEditsPerWord > MAX_CHAR_EDITS_PER_WORD
  ) {
    throw new ThreatError(
      'E_TEXT_CHAR_EDITS',
      `maxCharEditsPerWord must be an integer in [1, ${MAX_CHAR_EDITS_PER_WORD}]; got ${String(maxCharEditsPerWord)}.`,
      {
        details: { field: 'maxCharEditsPerWord', value: maxCharEditsPerWord, range: `[1, ${MAX_CHAR_EDITS_PER_WORD}]` },
      },
    );
  }
  const { maxWords } = spec;
  if (maxWords !== undefined && (typeof maxWords !== 'number' || !Number.isInteger(maxWords) || maxWords < 1 || maxWords > MAX_WORDS_CAP)) {
    throw new ThreatError(
      'E_TEXT_MAX_WORDS',
      `maxWords must be an integer in [1, ${MAX_WORDS_CAP}] (the most words an attack may change in one text), or left out for no cap; got ${String(maxWords)}.`,
      { details: { field: 'maxWords', value: maxWords, range: `[1, ${MAX_WORDS_CAP}]` } },
    );
  }
  if (!Array.isArray(spec.families) || spec.families.length === 0) {
    throw new ThreatError('E_TEXT_FAMILY', `families must list at least one of ${listChoices(TEXT_FAMILIES)}.`, {
      details: { field: 'families', value: spec.families, valid: TEXT_FAMILIES },
    });
  }
  for (const family of spec.families) {
    if (typeof family !== 'string' || !isFamily(family)) {
      throw new ThreatError('E_TEXT_FAMILY', `Unknown text family '${String(family)}' in families; use ${listChoices(TEXT_FAMILIES)}.`, {
        details: { field: 'families', value: family, valid: TEXT_FAMILIES },
      });
    }
  }
  const protectedTokens = spec.protectedTokens ?? [];
  if (!Array.isArray(protectedTokens)) {
    throw new ThreatError('E_TEXT_PROTECTED', 'protectedTokens must be an array of non-empty strings.', {
      details: { field: 'protectedTokens', value: protectedTokens },
    });
  }
  for (const token of protectedTokens) {
    if (typeof token !== 'string' || token.trim().length === 0) {
      throw new ThreatError('E_TEXT_PROTECTED', `protectedTokens must hold non-empty strings; got ${JSON.stringify(token)}.`, {
        details: { field: 'protectedTokens', value: token },
      });
    }
  }
  const families = TEXT_FAMILIES.filter((f) => spec.families.includes(f));
  const tokens = [...new Set(protectedTokens.map((t) => t.toLowerCase()))].sort();
  const cap = maxWords === undefined ? '' : `-m${maxWords}`;
  let id = spec.id ?? `text-w${maxWordFraction}${cap}-c${maxCharEditsPerWord}-${families.join('+')}`;
  if (spec.id === undefined && tokens.length > 0) id += `-p${createHash('sha256').update(tokens.join('\n')).digest('hex').slice(0, 8)}`;
  return Object.freeze({
    id,
    budget: Object.freeze({
      maxWordFraction,
      ...(maxWords === undefined ? {} : { maxWords }),
      maxCharEditsPerWord,
      ...(tokens.length > 0 ? { protectedTokens: Object.freeze(tokens) } : {}),
    }),
    families: Object.freeze(families),
  });
}

/**
 * Words a threat lets an attack change in a text of `wordCount` words:
 * min(floor(fraction · words), maxWords).
 */
export function maxChangedWords(threat: TextThreatModel, wordCount: number): number {
  // The epsilon absorbs float error (0.3 · 10 = 2.9999999999999996).
  const byFraction = Math.floor(threat.budget.maxWordFraction * wordCount + 1e-9);
  return threat.budget.maxWords === undefined ? byFraction : Math.min(byFraction, threat.budget.maxWords);
}
