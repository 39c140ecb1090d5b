/**
 * A saved text filter as it was evaluated, from its directory alone: the classifier (hashed
 * n-gram or char-CNN, told apart by the saved `info.architecture`),
 * behind the normalisation it was trained behind (`savedTextNormalization`), flagging its
 * positive class from the decision threshold its training chose (`decision-threshold.json`;
 * the last class at 0.5 without one). The plan's text-attack stage attacks exactly this,
 * and `rampart serve --model` serves it, so the two cannot drift apart.
 */
import { DataError } from '../../core/errors.js';
import { withDecisionThreshold } from '../../models/text/decision-threshold.js';
import type { HashedTextClassifier } from '../../models/text/hashed-classifier.js';
import type { CharCnnTextClassifier } from '../../models/text/char-cnn.js';
import { loadCharCnnClassifier } from '../../models/text/char-cnn-store.js';
import { readModelMetadata } from '../../models/io/index.js';
import { loadTextClassifier, readDecisionThreshold, type SavedDecisionThreshold } from '../../models/text/store.js';
import type { TextClassifier } from '../../models/text/text-classifier.js';
import { normalizedClassifier } from './normalized-classifier.js';
import { savedTextNormalization, type SavedTextNormalization } from './vocabulary-defence.js';

export interface SavedTextFilter {
  /** The bare model; the caller owns it and disposes it when done. */
  readonly model: HashedTextClassifier | CharCnnTextClassifier;
  /** The model behind its normaliser, at its decision threshold. */
  readonly filter: TextClassifier;
  /** What the filter reads text through; undefined for a model trained on raw text. */
  readonly normalization: SavedTextNormalization | undefined;
  readonly threshold: SavedDecisionThreshold;
}

/**
 * Loads the text filter saved in `dir`.
 *
 * @throws DataError from `loadTextClassifier` (`E_MODEL_MISSING`, `E_MODEL_FORMAT`...),
 *   `savedTextNormalization` (`E_VOCABULARY_MISSING`, `E_VOCABULARY_CORRUPT`) and
 *   `readDecisionThreshold` (`E_THRESHOLD_FILE`, also when the saved threshold names a class
 *   the model does not have). The model is disposed when any of them throws.
 * @example
 * const { model, filter } = await loadSavedTextFilter('runs/spam/work/text-train-abc/model');
 * try { await filter.predictProba(['Cl1ck h3re']); } finally { model.dispose(); }
 */
export async function loadSavedTextFilter(dir: string): Promise<SavedTextFilter> {
  const model = await loadAnyTextClassifier(dir);
  try {
    // A char-CNN reads marker words as characters like any other: no marker features to check.
    const info = model.info.architecture === 'char-cnn' ? { ...model.info, featurizer: { markerPrefix: '' } } : model.info;
    const normalization = savedTextNormalization(dir, info);
    const threshold = readDecisionThreshold(dir) ?? { positiveClass: model.classes[model.classes.length - 1] as string, threshold: 0.5 };
    const positiveClass = model.classes.indexOf(threshold.positiveClass);
    if (positiveClass < 0) {
      throw new DataError(
        'E_THRESHOLD_FILE',
        `The decision threshold beside the text model in ${dir} is for class '${threshold.positiveClass}', which the model does not have (classes: ${model.classes.join(', ')}); rerun the plan's text-train stage or delete the file.`,
        {
          details: { path: dir, positiveClass: threshold.positiveClass },
        },
      );
    }
    const normalized = normalization ? normalizedClassifier(model, normalization.options) : model;
    return {
      model,
      filter: withDecisionThreshold(normalized, { positiveClass, threshold: threshold.threshold }),
      normalization,
      threshold,
    };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** The hashed or char-CNN classifier in `dir`, by its saved architecture (hashed when unreadable: its loader says why). */
async function loadAnyTextClassifier(dir: string): Promise<HashedTextClassifier | CharCnnTextClassifier> {
  let architecture: unknown;
  try {
    const info = (await readModelMetadata(dir)).info;
    architecture = typeof info === 'object' && info !== null ? (info as { architecture?: unknown }).architecture : undefined;
  } catch {
    architecture = undefined;
  }
  return architecture === 'char-cnn' ? loadCharCnnClassifier(dir) : loadTextClassifier(dir);
}
