/**
 * Leetspeak: letters replaced by digits or symbols of similar shape ("free" -> "fr33").
 * Readable to people, unknown to a vocabulary.
 */
import type { TextTransformation } from '../types.js';
import { codePoints, defineTransformation, distinctPositions, pick, sampleCandidates } from './define.js';

export const LEET_MAP: Readonly<Record<string, readonly string[]>> = {
  a: ['4', '@'],
  b: ['8'],
  e: ['3'],
  g: ['9', '6'],
  i: ['1', '!'],
  l: ['1', '|'],
  o: ['0'],
  s: ['5', '$'],
  t: ['7', '+'],
  z: ['2'],
};

export const leet: TextTransformation = defineTransformation({
  id: 'leet',
  version: 1,
  family: 'leet',
  description: 'Replaces letters with look-alike digits or symbols (a->4/@, e->3, i->1/!, o->0, s->5/$, t->7/+ ...).',
  candidates(word, rng, options) {
    const chars = codePoints(word);
    const mappable = chars.map((ch, i) => (LEET_MAP[ch.toLowerCase()] ? i : -1)).filter((i) => i >= 0);
    return sampleCandidates(word, rng, options, mappable.length, (edits) => {
      const out = [...chars];
      for (const k of distinctPositions(rng, 0, mappable.length, edits)) {
        const p = mappable[k] as number;
        out[p] = pick(rng, LEET_MAP[(out[p] as string).toLowerCase()] as readonly string[]);
      }
      return out.join('');
    });
  },
});

export const LEET_TRANSFORMATIONS: readonly TextTransformation[] = [leet];
