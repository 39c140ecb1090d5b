/**
 * A `tf.io.IOHandler` for a local directory, standing in for tfjs-node's `file://` handler
 * (unavailable with pure `@tensorflow/tfjs`). It writes the same two files byte for byte —
 * `model.json` and `weights.bin` — so models move freely between Rampart and other TF.js
 * tools, but saves atomically and checks what it loads.
 */
import * as tf from '@tensorflow/tfjs';
import { resolve } from 'node:path';
import { DataError, InputError, RampartError } from '../../core/errors.js';
import { checkArchitecture } from './architecture.js';
import { replaceDirAtomically, type ReplaceDirOptions } from './atomic-dir.js';
import { MODEL_JSON, WEIGHTS_BIN, readModelJson, serializeModelJson } from './model-json.js';
import { readWeights, weightByteCount } from './weights.js';

/** The handler returned by {@link fileSystemHandler}: both halves are always present. */
export interface FileSystemHandler extends tf.io.IOHandler {
  save: tf.io.SaveHandler;
  load: tf.io.LoadHandler;
}

/**
 * Creates a handler that saves a model to, and loads it from, the directory `dir`.
 *
 * `save` replaces the directory whole and atomically (see `replaceDirAtomically`); `load`
 * validates `model.json` and checks `weights.bin` holds exactly the bytes it describes.
 *
 * @throws (from `save`) InputError `E_MODEL_ARTIFACTS` for a binary topology or weights that do
 *   not match their specs; UsageError `E_MODEL_PATH_NOT_DIR` / `E_MODEL_DIR_NOT_EMPTY` for a
 *   `dir` that is a file or holds unrelated files; DataError `E_MODEL_WRITE` when the disk refuses.
 * @throws (from `load`) DataError `E_MODEL_MISSING` (no dir or model.json), `E_MODEL_CORRUPT`
 *   (bad JSON, bad manifest, missing or wrong-length weights), `E_MODEL_UNREADABLE`,
 *   `E_MODEL_ARCHITECTURE` (layers that disagree with the weights), `E_MODEL_TOO_LARGE`.
 * @example
 * await model.save(fileSystemHandler('runs/cnn/model'));
 * const again = await tf.loadLayersModel(fileSystemHandler('runs/cnn/model'));
 */
export function fileSystemHandler(dir: string, options: FileSystemHandlerOptions = {}): FileSystemHandler {
  return {
    save: (artifacts) => saveArtifacts(dir, artifacts, options),
    load: () => loadArtifacts(dir, options),
  };
}

/** Options of {@link fileSystemHandler}: the save hook, and the load's parameter cap. */
export interface FileSystemHandlerOptions extends ReplaceDirOptions {
  /** Most parameters a loaded model may declare (default 100M); checked before anything is allocated. */
  maxParameters?: number;
}

async function saveArtifacts(dir: string, artifacts: tf.io.ModelArtifacts, options: ReplaceDirOptions): Promise<tf.io.SaveResult> {
  if (artifacts.modelTopology == null || artifacts.modelTopology instanceof ArrayBuffer) {
    throw new InputError(
      'E_MODEL_ARTIFACTS',
      `Cannot save model to ${dir}: only JSON model topologies (LayersModel) can be saved; got ${artifacts.modelTopology == null ? 'none' : 'a binary one'}.`,
    );
  }
  const specs = artifacts.weightSpecs ?? [];
  const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []));
  const { expected, exact } = weightByteCount(specs, weights);
  if (!exact || expected !== weights.byteLength) {
    // Writing these would produce a model that can never load; fail while the caller can still act.
    throw new InputError(
      'E_MODEL_ARTIFACTS',
      `Cannot save model to ${dir}: weight data holds ${weights.byteLength} bytes but its specs describe ${expected}.`,
      {
        details: { path: dir, expectedBytes: expected, actualBytes: weights.byteLength },
      },
    );
  }
  const json = Buffer.from(serializeModelJson(artifacts, specs), 'utf8');
  try {
    await replaceDirAtomically(
      dir,
      new Map([
        [MODEL_JSON, json],
        [WEIGHTS_BIN, weights],
      ]),
      options,
    );
  } catch (error) {
    if (error instanceof RampartError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError('E_MODEL_WRITE', `Cannot save model to ${dir}: ${reason}`, { cause: error, details: { path: resolve(dir) } });
  }
  return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
}

async function loadArtifacts(dir: string, options: FileSystemHandlerOptions): Promise<tf.io.ModelArtifacts> {
  const json = await readModelJson(dir);
  // Before TF.js builds the layers: it allocates every declared weight first and compares later.
  const specs = json.weightsManifest.flatMap((group) => group.weights ?? []);
  checkArchitecture(json.modelTopology, specs, {
    path: dir,
    ...(options.maxParameters === undefined ? {} : { maxParameters: options.maxParameters }),
  });
  return tf.io.getModelArtifactsForJSON(json, (manifest) => readWeights(dir, manifest));
}
