/**
 * Saving and loading hashed text classifiers: the TF.js LayersModel files (`model.json` +
 * `weights.bin`, written atomically by `src/models/io`) with the featurizer settings, the
 * class names and the id in the model's metadata, which is all a hashed model needs.
 */
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import { loadModel, saveModel } from '../io/index.js';
import { HashedTextClassifier } from './hashed-classifier.js';

const FORMAT = 'rampart-text-classifier/1';

const metadataSchema = z.object({
  format: z.literal(FORMAT),
  id: z.string(),
  classes: z.array(z.string()).min(2),
  info: z.object({
    architecture: z.literal('hashed-mlp'),
    hidden: z.number().int().min(0),
    featurizer: z.object({
      buckets: z.number().int(),
      maxWordNgram: z.number().int(),
      charNgrams: z.tuple([z.number().int(), z.number().int()]),
      // Models saved before marker features existed have none.
      markerPrefix: z.string().default(''),
      markerWeight: z.number().min(0).max(1).default(0),
    }),
    trainedOnNormalizedText: z.boolean(),
  }),
});

/**
 * Saves a hashed text classifier to `dir`, replacing any model there in one atomic step.
 *
 * @throws UsageError / DataError as `saveModel` does (`E_MODEL_PATH_NOT_DIR`, `E_MODEL_WRITE`...).
 * @example
 * await saveTextClassifier(classifier, 'runs/spam/model');
 */
export async function saveTextClassifier(classifier: HashedTextClassifier, dir: string): Promise<void> {
  const info = classifier.info;
  await saveModel(classifier.model, dir, {
    format: FORMAT,
    id: classifier.id,
    classes: [...classifier.classes],
    info: { ...info, featurizer: { ...info.featurizer, charNgrams: [...info.featurizer.charNgrams] } },
  });
}

/**
 * Loads a classifier saved by {@link saveTextClassifier}. The caller owns it and should
 * `dispose()` it when done.
 *
 * @throws DataError `E_MODEL_MISSING` / `E_MODEL_CORRUPT` as `loadModel` does;
 *   `E_MODEL_FORMAT` when the directory holds a model that is not a Rampart text classifier.
 * @example
 * const classifier = await loadTextClassifier('runs/spam/model');
 */
export async function loadTextClassifier(dir: string): Promise<HashedTextClassifier> {
  const { model, metadata } = await loadModel(dir);
  const parsed = metadataSchema.safeParse(metadata);
  if (!parsed.success) {
    model.dispose();
    throw new DataError('E_MODEL_FORMAT', `Cannot load text classifier: ${dir} holds a model without Rampart text-classifier metadata (${parsed.error.issues[0]?.path.join('.') ?? 'format'}); save it with saveTextClassifier.`, {
      details: { path: dir },
    });
  }
  const { id, classes, info } = parsed.data;
  try {
    return new HashedTextClassifier(model, { id, classes, info: { ...info, featurizer: { ...info.featurizer, charNgrams: info.featurizer.charNgrams } } });
  } catch (error) {
    model.dispose();
    throw error;
  }
}
