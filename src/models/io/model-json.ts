/**
 * The `model.json` half of the TF.js LayersModel on-disk format: writing it exactly as
 * tfjs-node's `file://` handler does, and reading it back with validation.
 */
import type * as tf from '@tensorflow/tfjs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataError } from '../../core/errors.js';

/** File names fixed by the TF.js format; other tools look for exactly these. */
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

const weightEntry = z.object({
  name: z.string(),
  shape: z.array(z.int().nonnegative()),
  dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
  group: z.enum(['model', 'optimizer']).optional(),
  quantization: z
    .object({ dtype: z.enum(['uint8', 'uint16', 'float16']), scale: z.number().optional(), min: z.number().optional() })
    .optional(),
});

const jsonObject = z.record(z.string(), z.unknown());

// Validation only: the parsed document is returned untouched so that fields this schema
// does not know about (signature, modelInitializer...) survive a load.
const modelJsonSchema = z.object({
  modelTopology: jsonObject,
  // Required: without weights TF.js would build the model with fresh random weights and
  // hand back garbage that looks like a loaded model.
  weightsManifest: z.array(
    z.object({
      paths: z.array(z.string().min(1)),
      // tfjs-node writes `weights: undefined` (so no key) for a model with no weights.
      weights: z.array(weightEntry).optional(),
    }),
  ),
  format: z.string().optional(),
  generatedBy: z.string().optional(),
  convertedBy: z.string().nullable().optional(),
  trainingConfig: jsonObject.optional(),
  // TF.js rejects non-object metadata when it rebuilds the model; catch it here instead.
  userDefinedMetadata: jsonObject.optional(),
});

/**
 * Serialises artifacts to the bytes of `model.json`, key for key and in the same order as
 * tfjs-node's `file://` handler, so the two produce identical files for the same model.
 * (`tf.io`'s own `getModelJSONForModelArtifacts` orders keys differently.)
 */
export function serializeModelJson(artifacts: tf.io.ModelArtifacts, weightSpecs: tf.io.WeightsManifestEntry[]): string {
  const json: Record<string, unknown> = {
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: [WEIGHTS_BIN], weights: weightSpecs }],
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
  };
  if (artifacts.trainingConfig != null) json.trainingConfig = artifacts.trainingConfig;
  if (artifacts.signature != null) json.signature = artifacts.signature;
  if (artifacts.userDefinedMetadata != null) json.userDefinedMetadata = artifacts.userDefinedMetadata;
  // tfjs-node drops these two (graph models only); keeping them loses nothing for layers models.
  if (artifacts.modelInitializer != null) json.modelInitializer = artifacts.modelInitializer;
  if (artifacts.initializerSignature != null) json.initializerSignature = artifacts.initializerSignature;
  return JSON.stringify(json);
}

/**
 * Reads and validates `<dir>/model.json` without touching the weights.
 *
 * @throws DataError `E_MODEL_MISSING` when `dir` or its `model.json` does not exist.
 * @throws DataError `E_MODEL_CORRUPT` when `model.json` is not valid JSON or not a TF.js model.
 * @throws DataError `E_MODEL_UNREADABLE` when the file exists but cannot be read (permissions...).
 * @example
 * const json = await readModelJson('runs/mnist-cnn/model');
 * console.log(json.format, json.userDefinedMetadata);
 */
export async function readModelJson(dir: string): Promise<tf.io.ModelJSON> {
  const path = join(dir, MODEL_JSON);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw await readError(dir, path, error);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError(
      'E_MODEL_CORRUPT',
      `Cannot load model: ${path} is not valid JSON (${reason}); the model was not saved completely or was edited by hand.`,
      {
        cause: error,
        details: { path, bytes: Buffer.byteLength(text) },
      },
    );
  }
  const checked = modelJsonSchema.safeParse(parsed);
  if (!checked.success) {
    const issues = checked.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new DataError('E_MODEL_CORRUPT', `Cannot load model: ${path} is not a TF.js model.json (${issues.join('; ')}).`, {
      details: { path, issues },
    });
  }
  return parsed as tf.io.ModelJSON;
}

/** Turns a failed read into a typed error that says which part of the path is missing. */
async function readError(dir: string, path: string, error: unknown): Promise<DataError> {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    const dirInfo = await stat(dir).catch(() => undefined);
    const why =
      dirInfo === undefined
        ? `directory ${dir} does not exist`
        : dirInfo.isDirectory()
          ? `${dir} holds no ${MODEL_JSON}`
          : `${dir} is a file; pass the directory that holds ${MODEL_JSON}`;
    return new DataError('E_MODEL_MISSING', `Cannot load model: ${why}.`, { cause: error, details: { path: dir } });
  }
  if (code === 'EISDIR') {
    return new DataError('E_MODEL_CORRUPT', `Cannot load model: ${path} is a directory, expected a file.`, {
      cause: error,
      details: { path },
    });
  }
  return new DataError('E_MODEL_UNREADABLE', `Cannot load model: reading ${path} failed (${code ?? String(error)}).`, {
    cause: error,
    details: { path, errno: code },
  });
}
