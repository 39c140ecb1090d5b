/**
 * Salient perturbation for adversarial augmentation: like the random perturbation, but the
 * words changed are the ones the model leans on most, as a word-importance attack would pick
 * them. Random augmentation mostly hits words the model ignores, so a model can stay
 * brittle on its few decisive words; perturbing exactly those (with the threat's own
 * transformations, up to the whole word budget) teaches it to keep its decision when they
 * are gone. One gradient per text replaces the attack's queries (first-order importance),
 * which keeps augmentation about as cheap as a training step.
 */
import { createRng } from '../../core/rng.js';
import { transformationsOf } from '../../attacks/text/registry.js';
import { joinTokens, protectedMask, tokenize, wordTokenIndices } from '../../attacks/text/tokens.js';
import { maxChangedWords, type TextThreatModel } from '../../threats/text-threat.js';

/** Candidates drawn per transformation before one is picked at random. */
const CANDIDATES_PER_TRY = 4;

/**
 * Perturbs the words of `text` with the highest `importance` (how much each supports the
 * text's label; words at or below 0 are never chosen), up to the threat's word budget,
 * each with a random candidate of a random allowed transformation. Deterministic by seed;
 * the text itself when the budget allows no change.
 *
 * @example
 * salientPerturbation('Claim your free prize now', threat, 1, (w) => (w === 'free' ? 1 : 0)); // e.g. 'Claim your fr33 prize now'
 */
export function salientPerturbation(text: string, threat: TextThreatModel, seed: number, importance: (word: string) => number): string {
  const tokens = tokenize(text).map((t) => ({ ...t }));
  const words = wordTokenIndices(tokens);
  const budget = maxChangedWords(threat, words.length);
  if (budget === 0) return text;
  const rng = createRng(seed);
  const locked = protectedMask(tokens, threat.budget.protectedTokens);
  const scores = new Map<string, number>();
  const scored = words
    .map((tokenIndex, w) => {
      const word = (tokens[tokenIndex] as { text: string }).text;
      let score = scores.get(word);
      if (score === undefined) {
        score = importance(word);
        scores.set(word, score);
      }
      return { w, score };
    })
    .filter(({ w, score }) => score > 0 && !locked[words[w] as number])
    .sort((a, b) => b.score - a.score || a.w - b.w);
  const transformations = transformationsOf(threat.families);
  let changed = 0;
  for (const { w } of scored) {
    if (changed >= budget) break;
    const token = tokens[words[w] as number] as { text: string };
    for (const t of rng.shuffle([...transformations])) {
      const candidates = t.candidates(token.text, rng, { limit: CANDIDATES_PER_TRY, maxCharEdits: threat.budget.maxCharEditsPerWord });
      if (candidates.length === 0) continue;
      token.text = candidates[rng.int(candidates.length)] as string;
      changed++;
      break;
    }
  }
  return changed === 0 ? text : joinTokens(tokens);
}
