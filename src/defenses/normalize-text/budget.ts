/**
 * The normaliser's budgets: every dimension of its input has a limit, so the work one text
 * costs is bounded whatever an attacker sends. A single word of a few thousand letters used
 * to make the spelling stage build ~n² deletion strings (out of memory); a long token
 * without spaces made the address search quadratic.
 *
 * The rules, applied by `normalizeTextWithReport` (and so by `createTextNormalizer`, the
 * vocabulary defence and the serving layer):
 * - A text longer than {@link MAX_NORMALIZE_TEXT_LENGTH} characters is refused with
 *   `E_TEXT_TOO_LONG` (it cannot be normalised in bounded time; shorten or split it).
 * - Before any stage, a word (a run of letters, combining marks, digits and invisible
 *   characters, outside addresses) longer than {@link MAX_WORD_LENGTH} characters is cut to
 *   its first {@link MAX_WORD_LENGTH}. No language has such words; a longer run is padding or
 *   a disguise, and what is left reads as the unknown word it is (marked `zzobflong` with
 *   `markObfuscation`). The cut keeps the text's other words exactly as they were.
 * - Only a whitespace-free token of at most {@link MAX_ADDRESS_LENGTH} characters can be an
 *   address (URL, e-mail, path) that the stages leave alone; a longer one is read as words.
 * - Inside the stages, a word longer than {@link MAX_WORD_LENGTH} (one that only grew there,
 *   e.g. pieces joined once invisible characters between them were removed) is not repaired,
 *   decoded or re-read; the spelling and unscramble stages look up no word longer than the
 *   longest vocabulary word plus its edit allowance; leet and confusable readings are tried at
 *   most {@link MAX_LEET_COMBOS_PER_TOKEN} times per token.
 */
import { InputError } from '../../core/errors.js';

/** Longest text `normalizeText` takes, in UTF-16 characters (10× the serving default, `maxTextLength`). */
export const MAX_NORMALIZE_TEXT_LENGTH = 100_000;

/** Longest word the stages read as a word, in characters; longer ones are cut to it (see above). */
export const MAX_WORD_LENGTH = 64;

/** Longest whitespace-free token taken for an address; URLs in mail are far shorter. */
export const MAX_ADDRESS_LENGTH = 2_048;

/** Readings of one token the leet and confusables stages try at most. */
export const MAX_LEET_COMBOS_PER_TOKEN = 256;

/** Characters (keys and values) `createTextNormalizer` keeps in its line cache before starting afresh. */
export const LINE_CACHE_CHARS = 16_000_000;

// Letters, marks, digits and invisible characters: what the stages can turn into one word.
const WORD_RUN = /[\p{L}\p{M}\p{N}\p{Default_Ignorable_Code_Point}]+/gu;

/**
 * Refuses a text over {@link MAX_NORMALIZE_TEXT_LENGTH}.
 *
 * @throws InputError `E_TEXT_TOO_LONG` naming the length and the limit.
 */
export function checkTextLength(text: string): void {
  if (text.length > MAX_NORMALIZE_TEXT_LENGTH) {
    throw new InputError(
      'E_TEXT_TOO_LONG',
      `normalizeText: the text has ${text.length} characters; the limit is ${MAX_NORMALIZE_TEXT_LENGTH} (MAX_NORMALIZE_TEXT_LENGTH). ` +
        'Shorten the text or split it into parts.',
      { details: { length: text.length, max: MAX_NORMALIZE_TEXT_LENGTH } },
    );
  }
}

/**
 * `segment` with every word longer than {@link MAX_WORD_LENGTH} characters cut to that length,
 * and how many were cut. Callers apply it outside addresses.
 */
export function cutLongWords(segment: string): { text: string; changes: number } {
  // Fast path: no run of letters can be over the limit in a shorter segment.
  if (segment.length <= MAX_WORD_LENGTH) return { text: segment, changes: 0 };
  let changes = 0;
  const out = segment.replace(WORD_RUN, (run) => {
    if (run.length <= MAX_WORD_LENGTH) return run;
    const chars = Array.from(run);
    if (chars.length <= MAX_WORD_LENGTH) return run;
    changes++;
    return chars.slice(0, MAX_WORD_LENGTH).join('');
  });
  return { text: changes === 0 ? segment : out, changes };
}

/** True when `word` is longer than any word the stages repair (see {@link MAX_WORD_LENGTH}). */
export function overLong(word: string): boolean {
  return word.length > MAX_WORD_LENGTH && Array.from(word).length > MAX_WORD_LENGTH;
}
