/**
 * Word/separator tokenisation for text attacks. Attacks change words in place and join the
 * tokens back, so the join must restore the input byte for byte: every character belongs
 * to exactly one token. URLs and e-mail addresses are single words, because an attacker
 * (and a budget) treats `http://x.example/win` as one unit, not five.
 */

export interface TextToken {
  readonly text: string;
  readonly kind: 'word' | 'separator';
  /** Offset of the token in the original text, in UTF-16 code units. */
  readonly start: number;
}

// Invisible format characters (\p{Cf}) and combining marks count as part of a word so that a
// perturbed word such as "fr\u200Bee" still tokenises as one word.
const WORD_CHAR = String.raw`[\p{L}\p{N}\p{M}\p{Cf}]`;
const WORD = String.raw`[\p{L}\p{N}]${WORD_CHAR}*(?:['’][\p{L}\p{N}]${WORD_CHAR}*)*`;
const URL = String.raw`(?:https?:\/\/|www\.)[^\s<>"']+[^\s<>"'.,;:!?)\]]`;
const EMAIL = String.raw`[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)+`;
const TOKEN_RE = new RegExp(`${URL}|${EMAIL}|${WORD}`, 'gu');

/**
 * Splits text into alternating word and separator tokens; `joinTokens(tokenize(t)) === t`.
 *
 * @example tokenize('Win $5, now!') // 'Win' ' $' '5' ', ' 'now' '!'
 */
export function tokenize(text: string): TextToken[] {
  const tokens: TextToken[] = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN_RE)) {
    const start = match.index;
    if (start > last) tokens.push({ text: text.slice(last, start), kind: 'separator', start: last });
    tokens.push({ text: match[0], kind: 'word', start });
    last = start + match[0].length;
  }
  if (last < text.length) tokens.push({ text: text.slice(last), kind: 'separator', start: last });
  return tokens;
}

/** Joins token texts back into one string. */
export function joinTokens(tokens: readonly { readonly text: string }[]): string {
  let out = '';
  for (const t of tokens) out += t.text;
  return out;
}

/** Indices (into `tokens`) of the word tokens, in order. */
export function wordTokenIndices(tokens: readonly TextToken[]): number[] {
  const out: number[] = [];
  tokens.forEach((t, i) => {
    if (t.kind === 'word') out.push(i);
  });
  return out;
}

/** Number of words in a text, as the budget counts them. */
export function countWords(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(TOKEN_RE)) n++;
  return n;
}

/**
 * Marks the word tokens covered by a protected token or phrase (case-insensitive). A
 * phrase protects its words only where it starts and ends on word boundaries, so a
 * protected `free` leaves `freedom` alone while a protected `Acme Corp` keeps both words.
 *
 * @returns one flag per token; separators are never flagged.
 */
export function protectedMask(tokens: readonly TextToken[], protectedTokens: readonly string[] | undefined): boolean[] {
  const mask = tokens.map(() => false);
  if (!protectedTokens || protectedTokens.length === 0) return mask;
  const text = joinTokens(tokens).toLowerCase();
  const words = wordTokenIndices(tokens);
  // Lower-casing can change lengths for a few scripts; offsets then come from the lowered
  // text of each token so that boundaries stay aligned.
  const starts = new Map<number, number>();
  const ends = new Map<number, number>();
  let offset = 0;
  const lowered = tokens.map((t) => t.text.toLowerCase());
  const lowStart: number[] = [];
  lowered.forEach((t, i) => {
    lowStart.push(offset);
    offset += t.length;
    if (tokens[i]?.kind === 'word') {
      starts.set(lowStart[i] as number, i);
      ends.set(offset, i);
    }
  });
  for (const raw of protectedTokens) {
    const needle = raw.toLowerCase();
    if (needle.length === 0) continue;
    let from = 0;
    for (;;) {
      const at = text.indexOf(needle, from);
      if (at < 0) break;
      from = at + 1;
      const first = starts.get(at);
      const last = ends.get(at + needle.length);
      if (first === undefined || last === undefined) continue;
      for (const w of words) if (w >= first && w <= last) mask[w] = true;
    }
  }
  return mask;
}

/** Splits a string into code points, so astral characters (math letters) count as one. */
export function codePoints(text: string): string[] {
  return Array.from(text);
}

/**
 * Character edits between two words: optimal-string-alignment distance over code points
 * (insert, delete, substitute, and swap of adjacent characters each cost one). This is the
 * unit of `maxCharEditsPerWord`.
 */
export function charEditDistance(a: string, b: string): number {
  const x = codePoints(a);
  const y = codePoints(b);
  const rows = x.length + 1;
  const cols = y.length + 1;
  const d = new Int32Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      let best = Math.min(
        (d[(i - 1) * cols + j] as number) + 1,
        (d[i * cols + j - 1] as number) + 1,
        (d[(i - 1) * cols + j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1])
        best = Math.min(best, (d[(i - 2) * cols + j - 2] as number) + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1] as number;
}
