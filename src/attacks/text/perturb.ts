/**
 * Random perturbation within a text threat: the "random attack" baseline and the sampler
 * behind adversarial data augmentation. It draws from the same transformations and the same
 * budget as the searches, only without looking at a model.
 */
import { createRng } from '../../core/rng.js';
import { maxChangedWords } from '../../threats/text-threat.js';
import { transformationsOf } from './registry.js';
import { joinTokens, protectedMask, tokenize, wordTokenIndices } from './tokens.js';
import type { TextThreatModel } from '../../threats/text-threat.js';
import type { TextChange } from './types.js';

/** Candidates drawn per transformation before one is picked at random. */
const CANDIDATES_PER_TRY = 4;

/**
 * Perturbs a text at random within the threat: picks a number of words uniformly in
 * [1, floor(maxWordFraction · words)], visits unprotected words in random order and replaces
 * each with a random candidate of a random allowed transformation (trying the others when
 * one has none). Returns the change list as well as the text.
 *
 * @example randomPerturbationDetailed('Claim your free prize', threat, 7).changes
 */
export function randomPerturbationDetailed(text: string, threat: TextThreatModel, seed: number): { text: string; changes: TextChange[] } {
  const tokens = tokenize(text).map((t) => ({ ...t }));
  const words = wordTokenIndices(tokens);
  const budget = maxChangedWords(threat, words.length);
  if (budget === 0) return { text, changes: [] };
  const rng = createRng(seed);
  const target = 1 + rng.int(budget);
  const locked = protectedMask(tokens, threat.budget.protectedTokens);
  const order = rng.shuffle(words.map((_, w) => w).filter((w) => !locked[words[w] as number]));
  const transformations = transformationsOf(threat.families);
  const changes: TextChange[] = [];
  for (const w of order) {
    if (changes.length >= target) break;
    const token = tokens[words[w] as number] as { text: string };
    for (const t of rng.shuffle([...transformations])) {
      const candidates = t.candidates(token.text, rng, { limit: CANDIDATES_PER_TRY, maxCharEdits: threat.budget.maxCharEditsPerWord });
      if (candidates.length === 0) continue;
      const to = candidates[rng.int(candidates.length)] as string;
      changes.push({ index: w, from: token.text, to, transformation: t.id });
      token.text = to;
      break;
    }
  }
  changes.sort((a, b) => a.index - b.index);
  return { text: joinTokens(tokens), changes };
}

/**
 * A random perturbation of `text` within `threat`, deterministic by seed; the text itself
 * when the budget allows no change (too few words) or no transformation applies.
 *
 * @example
 * const threat = textThreatModel({ maxWordFraction: 0.2, maxCharEditsPerWord: 1, families: ['homoglyph'] });
 * randomPerturbation('Claim your free prize now', threat, 1) // e.g. 'Claim your frее prize now'
 */
export function randomPerturbation(text: string, threat: TextThreatModel, seed: number): string {
  return randomPerturbationDetailed(text, threat, seed).text;
}
