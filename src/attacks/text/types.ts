/**
 * The contract of the text perturbation library. A transformation proposes replacements
 * for one word; searches (greedy, beam, gradient-guided) decide which words to change and
 * keep within the threat's budget; augmentation samples the same transformations at
 * random. Ids and versions are stable: a changed behaviour gets a new version so stored
 * results stay comparable.
 */
import type { Rng } from '../../core/rng.js';

export type TextFamily = 'char-edit' | 'typo' | 'homoglyph' | 'invisible' | 'leet' | 'split' | 'case' | 'synonym';

export interface TextTransformation {
  /** Stable id, e.g. `char-swap`. */
  readonly id: string;
  /** Bumped whenever the output for a given input and seed changes. */
  readonly version: number;
  readonly family: TextFamily;
  readonly description: string;
  /**
   * Up to `limit` distinct replacements for `word`, each different from it, each within
   * `maxCharEdits` character edits where the family counts characters (synonyms count as
   * one word change). Deterministic for a given rng state; may return none.
   */
  candidates(word: string, rng: Rng, options: { limit: number; maxCharEdits: number }): string[];
}

export interface TextBudget {
  /** Largest fraction of the words in a text that may change, in (0, 1]. */
  maxWordFraction: number;
  /** Largest number of character edits within one word, for character-level families. */
  maxCharEditsPerWord: number;
  /** Tokens never changed (case-insensitive), e.g. a brand name or a URL the attack must keep. */
  protectedTokens?: readonly string[];
}

/** The text counterpart of the tensor ThreatModel: a budget and the allowed families. */
export interface TextThreatModel {
  readonly id: string;
  readonly budget: TextBudget;
  readonly families: readonly TextFamily[];
}
