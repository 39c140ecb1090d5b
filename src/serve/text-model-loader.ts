/**
 * Serving a saved text filter as it was evaluated: the hashed classifier, behind the
 * normalisation it was trained behind (`savedTextNormalization`: the vocabulary defence when
 * its vocabulary is saved beside it), flagging its last class (spam) from the decision
 * threshold its training chose (`decision-threshold.json`, 0.5 without one). This is what
 * lets `rampart serve --model DIR` serve the model a plan's text-train stage wrote.
 */
import { readModelMetadata } from '../models/io/index.js';
import { loadTextClassifier, readDecisionThreshold, TEXT_CLASSIFIER_FORMAT } from '../models/text/store.js';
import { withDecisionThreshold } from '../models/text/decision-threshold.js';
import type { TextClassifier } from '../models/text/text-classifier.js';
import { normalizedClassifier } from '../defenses/normalize-text/normalized-classifier.js';
import { savedTextNormalization } from '../defenses/normalize-text/vocabulary-defence.js';
import { DataError } from '../core/errors.js';
import { textServedModel, type ModelRef, type ServedModel } from './served-model.js';

/**
 * The text model saved in `dir` as a served model, or undefined when `dir` holds no text
 * classifier (an image model, or nothing readable: the image loader then reports why).
 *
 * @throws DataError from {@link loadTextClassifier}, {@link savedTextNormalization}
 *   (`E_VOCABULARY_MISSING`, `E_VOCABULARY_CORRUPT`) and `readDecisionThreshold`
 *   (`E_THRESHOLD_FILE`), and `E_THRESHOLD_FILE` when the saved threshold names a class the model does not have.
 */
export async function loadTextServedModel(dir: string, ref: ModelRef): Promise<ServedModel | undefined> {
  let format: unknown;
  try {
    format = (await readModelMetadata(dir)).format;
  } catch {
    return undefined;
  }
  if (format !== TEXT_CLASSIFIER_FORMAT) return undefined;
  const classifier = await loadTextClassifier(dir);
  try {
    const normalization = savedTextNormalization(dir, classifier.info);
    const saved = readDecisionThreshold(dir);
    let filter: TextClassifier = normalization ? normalizedClassifier(classifier, normalization) : classifier;
    if (saved) {
      const positiveClass = classifier.classes.indexOf(saved.positiveClass);
      if (positiveClass < 0) {
        throw new DataError('E_THRESHOLD_FILE', `The decision threshold beside the text model in ${dir} is for class '${saved.positiveClass}', which the model does not have (classes: ${classifier.classes.join(', ')}); rerun the plan's text-train stage or delete the file.`, {
          details: { path: dir, positiveClass: saved.positiveClass },
        });
      }
      filter = withDecisionThreshold(filter, { positiveClass, threshold: saved.threshold });
    }
    const id = ref.source === 'registry' ? `${classifier.id}@${ref.digest.slice(0, 12)}` : `${classifier.id}:${dir}`;
    return textServedModel(filter, {
      id,
      ref,
      ...(normalization ? { normalization } : {}),
      // Only the vocabulary defence brings its own lexicon; the default normaliser uses WordNet's.
      info: { architecture: classifier.info.architecture, normalization: normalization === undefined ? 'none' : normalization.lexicon ? 'vocabulary' : 'default', decisionThreshold: saved ?? { threshold: 0.5 } },
      dispose: () => classifier.dispose(),
    });
  } catch (error) {
    classifier.dispose();
    throw error;
  }
}
