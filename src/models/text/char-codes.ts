/**
 * Characters as the char-CNN reads them: lower-cased, whitespace runs folded to one space,
 * cut to a bounded length, each character mapped to one of a small alphabet (letters,
 * digits, space, newline, ASCII punctuation, and one code for everything else). A small
 * alphabet keeps the one-hot input and the embedding cheap; the normaliser in front of the
 * model has already folded look-alikes and invisible characters, so little is lost.
 */
import { UsageError } from '../../core/errors.js';

const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
/** Codes: a-z 0-25, 0-9 26-35, space 36, newline 37, punctuation 38-69, anything else 70. */
export const CHAR_ALPHABET_SIZE = 26 + 10 + 2 + PUNCTUATION.length + 1;
const OTHER = CHAR_ALPHABET_SIZE - 1;

/** Longest input the char-CNN reads: past this a message is cut (the n-gram filter reads all of it). */
export const MAX_CHAR_CNN_CHARS = 8192;

function codeOf(ch: string): number {
  const c = ch.charCodeAt(0);
  if (c >= 97 && c <= 122) return c - 97;
  if (c >= 48 && c <= 57) return 26 + c - 48;
  if (ch === ' ') return 36;
  if (ch === '\n') return 37;
  const p = PUNCTUATION.indexOf(ch);
  return p >= 0 ? 38 + p : OTHER;
}

/**
 * The character codes of `text` as the model reads it, at most `maxChars` of them.
 *
 * @throws UsageError `E_CHAR_CNN_OPTION` when maxChars is not a whole number in [16, 8192].
 * @example charCodes('Hi  there!', 64) // codes of 'hi there!'
 */
export function charCodes(text: string, maxChars: number): Uint8Array {
  checkMaxChars(maxChars);
  // Fold whitespace before cutting, so padding-like runs do not spend the length budget.
  const folded = text
    .toLowerCase()
    .replace(/[ \t\f\v\r]+/g, ' ')
    .replace(/\s*\n\s*/g, '\n')
    .trim();
  const out = new Uint8Array(Math.min(folded.length, maxChars));
  for (let i = 0; i < out.length; i++) out[i] = codeOf(folded[i] as string);
  return out;
}

/** Checks a char-CNN input length bound. */
export function checkMaxChars(maxChars: number): void {
  if (!Number.isInteger(maxChars) || maxChars < 16 || maxChars > MAX_CHAR_CNN_CHARS) {
    throw new UsageError(
      'E_CHAR_CNN_OPTION',
      `char-CNN: maxChars must be a whole number in [16, ${MAX_CHAR_CNN_CHARS}] (characters read per text), got ${String(maxChars)}.`,
      { details: { maxChars } },
    );
  }
}

/**
 * Padded length of a text of `length` codes: the next multiple of 64 (at least 64), at most
 * `maxChars`. A text's padding depends on its own length only, so its score does not
 * depend on which other texts share its batch.
 */
export function paddedLength(length: number, maxChars: number): number {
  return Math.min(maxChars, Math.max(64, Math.ceil(length / 64) * 64));
}

/** One-hot rows `[texts, 1, length, alphabet]` (zeros past each text's end), for a conv2d of height 1. */
export function oneHotBatch(codes: readonly Uint8Array[], length: number): Float32Array {
  const out = new Float32Array(codes.length * length * CHAR_ALPHABET_SIZE);
  codes.forEach((row, r) => {
    const base = r * length * CHAR_ALPHABET_SIZE;
    const n = Math.min(row.length, length);
    for (let i = 0; i < n; i++) out[base + i * CHAR_ALPHABET_SIZE + (row[i] as number)] = 1;
  });
  return out;
}
