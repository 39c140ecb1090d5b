/**
 * Rampart's models on disk: a TF.js LayersModel directory whose `userDefinedMetadata`
 * carries what Rampart needs to use it safely (bounds, architecture, the data it was
 * trained on). The metadata is checked with a schema when loaded, at the edge.
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { DataError } from '../core/errors.js';
import { loadModel, saveModel } from './io/index.js';
import { TfjsClassifier } from './tfjs-classifier.js';

const modelInfoSchema = z.object({
  architecture: z.string(),
  inputShape: z.array(z.number().int().positive()),
  numClasses: z.number().int().min(2),
  bounds: z.object({ min: z.number(), max: z.number() }),
  /** How the training data was chosen, so evaluation can default to the held-out split. */
  data: z
    .object({
      spec: z.unknown(),
      name: z.string(),
      sha256: z.string(),
      split: z
        .object({ seed: z.number(), fractions: z.object({ train: z.number(), validation: z.number(), test: z.number() }) })
        .optional(),
    })
    .optional(),
  training: z.record(z.string(), z.unknown()).optional(),
  /** Temperature fitted on validation data (temperature scaling); logits are divided by it for calibrated confidence. */
  temperature: z.number().positive().finite().optional(),
  createdAt: z.string().optional(),
  rampartVersion: z.string().optional(),
});

export type ModelInfo = z.infer<typeof modelInfoSchema>;

export interface StoredClassifier {
  model: tf.LayersModel;
  classifier: TfjsClassifier;
  info: ModelInfo;
  dir: string;
}

/** Saves a model with its Rampart info under `metadata.rampart`. */
export async function saveClassifierModel(model: tf.LayersModel, dir: string, info: ModelInfo): Promise<void> {
  await saveModel(model, dir, { rampart: modelInfoSchema.parse(info) });
}

/**
 * Loads a model saved by Rampart (or any TF.js LayersModel, with default info).
 *
 * @throws DataError `E_MODEL_MISSING` / `E_MODEL_CORRUPT` from the loader, `E_MODEL_METADATA` for bad Rampart metadata.
 * @example const { classifier, info } = await loadClassifierModel('runs/example/model');
 */
export async function loadClassifierModel(dir: string): Promise<StoredClassifier> {
  const { model, metadata } = await loadModel(dir);
  const raw = (metadata as { rampart?: unknown }).rampart;
  let info: ModelInfo;
  if (raw === undefined) {
    // A plain TF.js model: infer the shape, assume inputs in [0, 1].
    const probe = new TfjsClassifier(model);
    info = { architecture: model.name, inputShape: [...probe.inputShape], numClasses: probe.numClasses, bounds: probe.bounds };
  } else {
    const parsed = modelInfoSchema.safeParse(raw);
    if (!parsed.success) {
      model.dispose();
      const issue = parsed.error.issues[0];
      throw new DataError(
        'E_MODEL_METADATA',
        `Model at ${dir} has invalid Rampart metadata at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`,
        {
          details: { dir, issues: parsed.error.issues },
        },
      );
    }
    info = parsed.data;
  }
  const classifier = new TfjsClassifier(model, { id: info.architecture, bounds: info.bounds });
  return { model, classifier, info, dir };
}
