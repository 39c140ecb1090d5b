/**
 * The contract of the text perturbation library. A transformation proposes replacements
 * for one word; searches (greedy, beam, gradient-guided) decide which words to change and
 * keep within the threat's budget; augmentation samples the same transformations at
 * random. Ids and versions are stable: a changed behaviour gets a new version so stored
 * results stay comparable.
 */
import type { Rng } from '../../core/rng.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import type { TextFamily, TextThreatModel } from '../../threats/text-threat.js';

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

/** One changed word: its index among the words of the original text (see `tokenize`). */
export interface TextChange {
  index: number;
  from: string;
  to: string;
  /** Id of the transformation that produced `to`. */
  transformation: string;
}

export interface TextAttackProgress {
  /** Examples finished. */
  done: number;
  total: number;
}

/**
 * One step of an example's search: the state it keeps (the clean text first) just got
 * better. `probs` are the model's probabilities there and `queries` the texts spent so far.
 */
export interface TextSearchStep {
  /** Index of the example in the run's batch. */
  index: number;
  queries: number;
  probs: Float32Array;
}

export interface TextAttackRunOptions {
  /** Seed for candidate sampling; defaults to 0. */
  seed?: number;
  /**
   * Index of this batch's first text in a larger run, for shards: text `i` gets the
   * generator the run's text `firstRow + i` gets, so a run cut into shards gives the same
   * results as one call. Default 0.
   */
  firstRow?: number;
  onProgress?: (progress: TextAttackProgress) => void;
  /**
   * Called with the clean text's probabilities, then each time the kept state improves. The
   * kept state never gets worse and the search only stops early at a flip, so one run
   * against a filter with a low threshold tells, for every higher threshold, whether and
   * after how many queries a run against it would have stopped (bench:text's frontier).
   */
  onStep?: (step: TextSearchStep) => void;
}

export interface TextAttackResult {
  /** The attacked texts; the original where no change was kept. */
  adversarial: string[];
  /** 1 where the model's top class at `adversarial` differs from the label. */
  success: Uint8Array;
  /** Texts sent to the model per example (every text in a `predictProba` call counts once). */
  queries: Int32Array;
  /** Changed words / words in the original text. */
  changedWordFraction: Float32Array;
  changes: TextChange[][];
  /** 1 where the model was right on the clean text: the examples the attack had to flip. */
  originalCorrect: Uint8Array;
}

/** A search over the transformations of a threat (greedy, beam, gradient-guided). */
export interface TextAttack {
  /** Stable id, e.g. `greedy`. */
  readonly id: string;
  /** The resolved configuration, for reports. */
  readonly config: Readonly<object>;
  /**
   * Attacks a batch of texts (untargeted: any class but the label).
   *
   * @throws InputError when texts and labels disagree in length or a label is not a class.
   */
  run(
    model: TextClassifier,
    texts: string[],
    labels: Int32Array,
    threat: TextThreatModel,
    options?: TextAttackRunOptions,
  ): Promise<TextAttackResult>;
}
