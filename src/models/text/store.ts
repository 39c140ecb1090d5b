/**
 * Saving and loading hashed text classifiers: the TF.js LayersModel files (`model.json` +
 * `weights.bin`, written atomically by `src/models/io`) with the featurizer settings, the
 * class names and the id in the model's metadata, which is all a hashed model needs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonFile } from '../../core/files.js';
import { DataError } from '../../core/errors.js';
import { loadModel, saveModel } from '../io/index.js';
import { HashedTextClassifier } from './hashed-classifier.js';

/** The `format` in a saved text classifier's metadata (what tells it from an image model). */
export const TEXT_CLASSIFIER_FORMAT = 'rampart-text-classifier/1';
const FORMAT = TEXT_CLASSIFIER_FORMAT;
/** The file {@link saveDecisionThreshold} writes beside a model. */
export const DECISION_THRESHOLD_FILE = 'decision-threshold.json';
const THRESHOLD_FORMAT = 'rampart-text-threshold/1';

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
    throw new DataError(
      'E_MODEL_FORMAT',
      `Cannot load text classifier: ${dir} holds a model without Rampart text-classifier metadata (${parsed.error.issues[0]?.path.join('.') ?? 'format'}); save it with saveTextClassifier.`,
      {
        details: { path: dir },
      },
    );
  }
  const { id, classes, info } = parsed.data;
  try {
    return new HashedTextClassifier(model, {
      id,
      classes,
      info: { ...info, featurizer: { ...info.featurizer, charNgrams: info.featurizer.charNgrams } },
    });
  } catch (error) {
    model.dispose();
    throw error;
  }
}

const thresholdSchema = z.object({
  format: z.literal(THRESHOLD_FORMAT),
  positiveClass: z.string().min(1),
  threshold: z.number().gt(0).lt(1),
});

/** The operating point a filter was evaluated at: the class it flags and the probability from which it does. */
export interface SavedDecisionThreshold {
  readonly positiveClass: string;
  readonly threshold: number;
}

/**
 * Writes the decision threshold chosen for the model in `dir` beside it, so a server loading
 * the directory flags at the same point the evaluation measured (call it after saving the
 * model: saving replaces the directory).
 */
export async function saveDecisionThreshold(dir: string, saved: SavedDecisionThreshold): Promise<void> {
  await writeJsonFile(join(dir, DECISION_THRESHOLD_FILE), { format: THRESHOLD_FORMAT, ...saved });
}

/**
 * The decision threshold saved beside the model in `dir`, or undefined when there is none
 * (the model then flags at 0.5, the plain argmax).
 *
 * @throws DataError `E_THRESHOLD_FILE` when the file is not one {@link saveDecisionThreshold} wrote.
 */
export function readDecisionThreshold(dir: string): SavedDecisionThreshold | undefined {
  const path = join(dir, DECISION_THRESHOLD_FILE);
  if (!existsSync(path)) return undefined;
  try {
    const { positiveClass, threshold } = thresholdSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
    return { positiveClass, threshold };
  } catch (error) {
    throw new DataError(
      'E_THRESHOLD_FILE',
      `Cannot read the decision threshold ${path}: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}. It must hold {"format": "${THRESHOLD_FORMAT}", "positiveClass": "<class>", "threshold": <0..1>}; rerun the plan's text-train stage or delete the file (the filter then flags at 0.5).`,
      {
        details: { path },
      },
    );
  }
}
