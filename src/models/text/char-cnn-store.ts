/**
 * Saving and loading char-CNN text classifiers: the TF.js LayersModel files written
 * atomically by `src/models/io`, with the network's shape, the class names and the id in the
 * model's metadata. Same `format` as the hashed filter's, told apart by `info.architecture`.
 */
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import { loadModel, saveModel } from '../io/index.js';
import { CharCnnTextClassifier } from './char-cnn.js';
import { TEXT_CLASSIFIER_FORMAT } from './store.js';

const metadataSchema = z.object({
  format: z.literal(TEXT_CLASSIFIER_FORMAT),
  id: z.string(),
  classes: z.array(z.string()).min(2),
  info: z.object({
    architecture: z.literal('char-cnn'),
    cnn: z.object({
      maxChars: z.number().int(),
      embedding: z.number().int(),
      filters: z.number().int(),
      kernel: z.number().int(),
      hidden: z.number().int().default(0),
      dropout: z.number().optional(),
    }),
    trainedOnNormalizedText: z.boolean(),
  }),
});

/**
 * Saves a char-CNN classifier to `dir`, replacing any model there in one atomic step.
 *
 * @throws UsageError / DataError as `saveModel` does (`E_MODEL_PATH_NOT_DIR`, `E_MODEL_WRITE`...).
 * @example await saveCharCnnClassifier(classifier, 'runs/spam/cnn');
 */
export async function saveCharCnnClassifier(classifier: CharCnnTextClassifier, dir: string): Promise<void> {
  await saveModel(classifier.model, dir, {
    format: TEXT_CLASSIFIER_FORMAT,
    id: classifier.id,
    classes: [...classifier.classes],
    info: { ...classifier.info, cnn: { ...classifier.info.cnn } },
  });
}

/**
 * Loads a classifier saved by {@link saveCharCnnClassifier}; the caller owns it (`dispose()`).
 *
 * @throws DataError `E_MODEL_MISSING` / `E_MODEL_CORRUPT` as `loadModel` does; `E_MODEL_FORMAT`
 *   when the directory holds no char-CNN text classifier; UsageError `E_CHAR_CNN_OPTION` for a
 *   stored shape out of range.
 * @example const cnn = await loadCharCnnClassifier('runs/spam/cnn');
 */
export async function loadCharCnnClassifier(dir: string): Promise<CharCnnTextClassifier> {
  const { model, metadata } = await loadModel(dir);
  const parsed = metadataSchema.safeParse(metadata);
  if (!parsed.success) {
    model.dispose();
    throw new DataError(
      'E_MODEL_FORMAT',
      `Cannot load char-CNN text classifier: ${dir} holds a model without char-CNN metadata (${parsed.error.issues[0]?.path.join('.') ?? 'format'}); save it with saveCharCnnClassifier (a hashed filter loads with loadTextClassifier).`,
      { details: { path: dir } },
    );
  }
  try {
    return new CharCnnTextClassifier(model, parsed.data);
  } catch (error) {
    model.dispose();
    throw error;
  }
}
