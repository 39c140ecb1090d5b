/**
 * Serving a saved text filter as it was evaluated (`loadSavedTextFilter`: the model behind
 * the normalisation it was trained behind, at the decision threshold its training chose).
 * This is what lets `rampart serve --model DIR` serve the model a plan's text-train stage wrote.
 */
import { readModelMetadata } from '../models/io/index.js';
import { TEXT_CLASSIFIER_FORMAT } from '../models/text/store.js';
import { loadSavedTextFilter } from '../defenses/normalize-text/saved-filter.js';
import { textServedModel, type ModelRef, type ServedModel } from './served-model.js';

/**
 * The text model saved in `dir` as a served model, or undefined when `dir` holds no text
 * classifier (an image model, or nothing readable: the image loader then reports why).
 *
 * @throws DataError as `loadSavedTextFilter` (`E_VOCABULARY_MISSING`, `E_THRESHOLD_FILE`...).
 */
export async function loadTextServedModel(dir: string, ref: ModelRef): Promise<ServedModel | undefined> {
  let format: unknown;
  try {
    format = (await readModelMetadata(dir)).format;
  } catch {
    return undefined;
  }
  if (format !== TEXT_CLASSIFIER_FORMAT) return undefined;
  const { model, filter, normalization, threshold } = await loadSavedTextFilter(dir);
  const id = ref.source === 'registry' ? `${model.id}@${ref.digest.slice(0, 12)}` : `${model.id}:${dir}`;
  return textServedModel(filter, {
    id,
    ref,
    ...(normalization ? { normalization: normalization.options } : {}),
    info: { architecture: model.info.architecture, normalization: normalization?.source ?? 'none', decisionThreshold: threshold },
    dispose: () => model.dispose(),
  });
}
