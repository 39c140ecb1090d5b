/**
 * `split`: rejoin words split by one space or punctuation mark ("fr ee", "c.l.i.c.k") when the
 * joined form is a word and the pieces are not all words of their own.
 */
import type { Lexicon } from '../lexicon.js';
import { overLong } from '../budget.js';
import { outsideAddresses, standsAlone } from '../words.js';
import type { StageFn, StageResult } from './types.js';

// Fragments and the single separators that split them; the separator must sit between two fragments.
const SPLIT_TOKEN = /([\p{L}\p{N}@$!|+][\p{L}\p{N}@$!|+']*)|([ .\-_*·,])|([^\p{L}\p{N}@$!|+ .\-_*·,]+)/gu;
// Prefixes written with a hyphen in ordinary English ("e-mail", "co-operation", "pre-war"):
// before a hyphen they stand as words, so hyphenated compounds are left as written.
const HYPHEN_PREFIXES = new Set([
  'e',
  'x',
  't',
  'co',
  'trans',
  'pre',
  're',
  'non',
  'anti',
  'multi',
  'self',
  'ex',
  'post',
  'semi',
  'sub',
  'inter',
  'mid',
  'pro',
  'de',
  'un',
  'bi',
  'tri',
  'mini',
  'micro',
  'auto',
  'cyber',
  'ultra',
  'mega',
  'super',
]);
const MAX_SPLIT_PIECES = 5;
// Letter-spaced words ("O R D E R") may be longer.
const MAX_LETTER_PIECES = 16;

export const splitStage: StageFn = (text, { lexicon }) => outsideAddresses(text, (segment) => repairSplits(segment, lexicon));

interface Piece {
  text: string;
  kind: 'fragment' | 'separator' | 'other';
  /** A fragment of one character (a letter of a letter-spaced word). */
  single: boolean;
}

/**
 * Rejoins runs of 2..5 fragments separated by single split marks when the joined text
 * (leet-decoded if needed) is a word, and not every piece already stands as a word of its
 * own ("a way" stays, "fr ee" joins). The longest run that forms a word wins.
 */
function repairSplits(text: string, lexicon: Lexicon): StageResult {
  const pieces: Piece[] = [];
  for (const m of text.matchAll(SPLIT_TOKEN)) {
    const kind = m[1] !== undefined ? 'fragment' : m[2] !== undefined ? 'separator' : 'other';
    pieces.push({ text: m[0], kind, single: kind === 'fragment' && Array.from(m[0]).length === 1 });
  }
  let changes = 0;
  const out: string[] = [];
  let i = 0;
  while (i < pieces.length) {
    const piece = pieces[i] as Piece;
    if (piece.kind !== 'fragment') {
      out.push(piece.text);
      i++;
      continue;
    }
    const found = longestJoin(pieces, i, lexicon);
    if (found === undefined) {
      out.push(piece.text);
      i++;
      continue;
    }
    out.push(found.word);
    changes++;
    i = found.end + 1;
  }
  return { text: changes === 0 ? text : out.join(''), changes };
}

/** The longest run of fragments starting at piece `i` that joins into a word, if any. */
function longestJoin(pieces: readonly Piece[], i: number, lexicon: Lexicon): { end: number; word: string } | undefined {
  if (pieces[i]?.kind !== 'fragment') return undefined;
  // Fragments at i, i+2, i+4...; separators between them must be single marks.
  let maxEnd = i;
  while ((maxEnd - i) / 2 + 1 < MAX_LETTER_PIECES && pieces[maxEnd + 1]?.kind === 'separator' && pieces[maxEnd + 2]?.kind === 'fragment') {
    maxEnd += 2;
  }
  const single = (k: number): boolean => pieces[k]?.single === true;
  // A run touching another fragment through a different kind of separator ("mass e-mail") is ambiguous.
  const attached = (sepAt: number, fragAt: number, spaced: boolean): boolean =>
    pieces[sepAt]?.kind === 'separator' && pieces[fragAt]?.kind === 'fragment' && ((pieces[sepAt] as Piece).text === ' ') !== spaced;
  // A letter-spaced word continuing to the left of `i` ("V E R S I O N" from "E" on): no all-letter run from `i` joins.
  const spacedFrom = pieces[i + 1]?.text === ' ';
  const letterBefore = single(i - 2) && pieces[i - 1]?.kind === 'separator' && ((pieces[i - 1] as Piece).text === ' ') === spacedFrom;
  for (let end = maxEnd; end > i; end -= 2) {
    // The cheap tests first, before any string is built: each runs once per start and end, up to 16 × 8 per fragment.
    let letters = true;
    for (let k = i; k <= end && letters; k += 2) letters = (pieces[k] as Piece).single;
    if (!letters && (end - i) / 2 + 1 > MAX_SPLIT_PIECES) continue;
    if (letters && letterBefore) continue;
    const fragments: string[] = [];
    const separators: string[] = [];
    for (let k = i; k <= end; k += 2) fragments.push((pieces[k] as Piece).text);
    for (let k = i + 1; k < end; k += 2) separators.push((pieces[k] as Piece).text);
    // A split word is split one way: by spaces, or by punctuation ("mass e-mail" is two words).
    const spaced = separators[0] === ' ';
    if (separators.some((sep) => (sep === ' ') !== spaced)) continue;
    if (spaced && (attached(i - 1, i - 2, spaced) || attached(end + 1, end + 2, spaced))) continue;
    // No word is that long (see budget.ts): a run joining into one is not a split word.
    if (overLong(fragments.join(''))) continue;
    // Letter-spaced words join whole or not at all ("V E R S I O N", not "V ERS I O N").
    const sameKind = (sepAt: number): boolean => pieces[sepAt]?.kind === 'separator' && ((pieces[sepAt] as Piece).text === ' ') === spaced;
    if (letters && single(end + 2) && sameKind(end + 1)) continue;
    // Digits and leet symbols belong to numbers, versions and code ("OS 10.2", "$1 per"), not to
    // split words; apostrophes to contractions ("I don't").
    if (fragments.some((f) => /[0-9@$!|+'’]/.test(f))) continue;
    // "to w-i-n", "ran a", "for f in": a function word next to a space is usually a word of its own;
    // only a long join without stray letters ("of fer", "via gra") is taken as a split word.
    if (spaced && fragments.some((f) => lexicon.isFunctionWord(f))) {
      const length = Array.from(fragments.join('')).length;
      if (length < 5 || (length < 6 && fragments.some((f) => Array.from(f).length === 1))) continue;
    }
    // Most runs in ordinary text are all words; skip them before building joins.
    if (fragments.every((f, k) => standsAlone(f, lexicon) || (separators[k] === '-' && HYPHEN_PREFIXES.has(f.toLowerCase())))) continue;
    // Runs of single letters split by dots are abbreviations ("U.S.", "e.g.") unless long ("c.l.i.c.k").
    if (
      fragments.every((f) => Array.from(f).length === 1) &&
      (fragments.length < 3 || (fragments.length === 3 && separators.includes('.')))
    )
      continue;
    const word = joinedWordOf(fragments, lexicon, spaced);
    if (word !== undefined) return { end, word };
  }
  return undefined;
}

/**
 * The joined fragments when they form a word in a split word's case pattern. Joins across
 * spaces, the riskiest, must form a familiar word ("mixer applet on" is not "appleton").
 */
function joinedWordOf(fragments: string[], lexicon: Lexicon, spaced: boolean): string | undefined {
  const joined = fragments.join('');
  if (!/\p{L}/u.test(joined) || Array.from(joined).length < 3) return undefined;
  // Splitting keeps the word's case pattern; "Joseph S." or "Wi-Fi" would join into "JosephS", "WiFi".
  const lower = joined.toLowerCase();
  const upper = joined.toUpperCase();
  const capitalised = (upper[0] ?? '') + lower.slice(1);
  if (joined !== lower && joined !== upper && joined !== capitalised) return undefined;
  return (spaced ? lexicon.isCommon(joined) : lexicon.has(joined)) ? joined : undefined;
}
