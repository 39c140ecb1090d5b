/**
 * Synonym substitution from WordNet 3.1 (Ren et al. 2019, "Generating Natural Language
 * Adversarial Examples through Probability Weighted Word Saliency", PWWS,
 * https://aclanthology.org/P19-1103/). The part of speech is kept: synonyms come only from
 * synsets of the word's most-used POS (see `wordnet.ts` for the choice). A synonym is one
 * word change; the character budget does not apply.
 */
import type { TextTransformation } from '../types.js';
import { synonymsOf } from '../wordnet.js';
import { defineTransformation } from './define.js';

/** Senses looked at per word: beyond the first few, WordNet synonyms drift in meaning. */
export const SYNONYM_MAX_SENSES = 3;

export const wordnetSynonym: TextTransformation = defineTransformation({
  id: 'synonym-wordnet',
  version: 1,
  family: 'synonym',
  description: 'Replaces the word with a single-word WordNet synonym of its most-used part of speech ("free" -> "gratis").',
  // Deterministic without the rng: candidates come in sense-frequency order, best first, so a
  // search meets the most meaning-preserving synonyms first and random use picks among them.
  candidates: (word, _rng, options) =>
    options.limit > 0 ? synonymsOf(word, { maxSenses: SYNONYM_MAX_SENSES }).synonyms.slice(0, options.limit) : [],
});

export const SYNONYM_TRANSFORMATIONS: readonly TextTransformation[] = [wordnetSynonym];
