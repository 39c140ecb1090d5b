/**
 * Saving and loading TF.js LayersModels on the local disk, with Rampart's metadata (input
 * bounds, class names, architecture id, training config) carried in `userDefinedMetadata`.
 */
import * as tf from '@tensorflow/tfjs';
import { DataError, RampartError } from '../../core/errors.js';
import { fileSystemHandler } from './file-handler.js';
import { assertJsonMetadata, type ModelMetadata } from './metadata.js';
import { readModelJson } from './model-json.js';

export { fileSystemHandler, type FileSystemHandler, type FileSystemHandlerOptions } from './file-handler.js';
export { DEFAULT_MAX_PARAMETERS } from './architecture.js';
export type { ReplaceDirOptions } from './atomic-dir.js';
export type { ModelMetadata } from './metadata.js';

/** A model read back from disk with the metadata it was saved with. */
export interface LoadedModel {
  model: tf.LayersModel;
  metadata: ModelMetadata;
}

/**
 * Saves `model` to the directory `dir` as `model.json` + `weights.bin`, replacing any
 * model already there in one atomic step.
 *
 * @param metadata Stored as the model's `userDefinedMetadata`. When given it replaces the
 *   model's own metadata (the model object is not changed); when omitted the model's own,
 *   if any, is saved.
 * @throws InputError `E_MODEL_METADATA` when `metadata` is not plain JSON (NaN, Infinity,
 *   undefined, class instances, cycles), before anything is written.
 * @throws UsageError `E_MODEL_PATH_NOT_DIR` / `E_MODEL_DIR_NOT_EMPTY` when `dir` is a file or
 *   holds files other than a model's.
 * @throws DataError `E_MODEL_WRITE` when the file system refuses the write.
 * @example
 * await saveModel(model, 'runs/mnist-cnn/model', {
 *   architecture: 'mnist-cnn', bounds: { min: 0, max: 1 }, classNames: ['0', '1', '2'],
 * });
 */
export async function saveModel(model: tf.LayersModel, dir: string, metadata?: ModelMetadata): Promise<tf.io.SaveResult> {
  const handler = fileSystemHandler(dir);
  if (metadata === undefined) return model.save(handler);
  assertJsonMetadata(metadata);
  // Injected at the handler rather than via model.setUserDefinedMetadata, so saving does not mutate the caller's model.
  return model.save({ save: (artifacts) => handler.save({ ...artifacts, userDefinedMetadata: metadata as Record<string, object> }) });
}

/**
 * Loads a LayersModel saved by {@link saveModel} (or by tfjs-node's `file://` handler) from
 * `dir`. The caller owns the returned model and must `dispose()` it.
 *
 * @throws DataError `E_MODEL_MISSING` when `dir` or `dir/model.json` does not exist.
 * @throws DataError `E_MODEL_CORRUPT` when model.json is unparsable or malformed, weights.bin is
 *   missing or holds a different byte count than model.json describes, or TF.js cannot
 *   rebuild the model from it.
 * @throws DataError `E_MODEL_FORMAT` when the directory holds a TF.js graph model, not a layers model.
 * @throws DataError `E_MODEL_ARCHITECTURE` when the layers disagree with the saved weights, `E_MODEL_TOO_LARGE`
 *   when they declare more than `options.maxParameters` (default 100M); both before anything is allocated.
 * @example
 * const { model, metadata } = await loadModel('runs/mnist-cnn/model');
 * try { model.predict(x); } finally { model.dispose(); }
 */
export async function loadModel(dir: string, options: { maxParameters?: number } = {}): Promise<LoadedModel> {
  const handler = fileSystemHandler(dir, options);
  let metadata: ModelMetadata = {};
  const checked: tf.io.IOHandler = {
    load: async () => {
      const artifacts = await handler.load();
      if (artifacts.format != null && artifacts.format !== 'layers-model') {
        throw new DataError('E_MODEL_FORMAT', `Cannot load model: ${dir} holds a TF.js '${artifacts.format}', expected a 'layers-model'.`, {
          details: { path: dir, format: artifacts.format },
        });
      }
      metadata = { ...artifacts.userDefinedMetadata };
      return artifacts;
    },
  };
  try {
    return { model: await tf.loadLayersModel(checked), metadata };
  } catch (error) {
    if (error instanceof RampartError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError('E_MODEL_CORRUPT', `Cannot load model: TF.js could not rebuild the model in ${dir} (${reason}).`, {
      cause: error,
      details: { path: dir },
    });
  }
}

/**
 * Reads the metadata of the model in `dir` from model.json alone, without loading weights
 * or building the model — cheap enough for listings and registry scans.
 *
 * @returns The saved `userDefinedMetadata`, or `{}` when the model has none.
 * @throws DataError `E_MODEL_MISSING` or `E_MODEL_CORRUPT` as for {@link loadModel}'s model.json checks.
 * @example
 * const { architecture, bounds } = await readModelMetadata('runs/mnist-cnn/model');
 */
export async function readModelMetadata(dir: string): Promise<ModelMetadata> {
  const json = await readModelJson(dir);
  return { ...json.userDefinedMetadata };
}
