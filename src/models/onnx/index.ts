/**
 * `onnx:PATH`: an ONNX file imported as a differentiable TF.js graph, a white-box
 * {@link Classifier} every gradient attack, adversarial training and the suite run on.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { DataError } from '../../core/errors.js';
import type { Classifier } from '../classifier.js';
import { withPreprocessing } from '../preprocess.js';
import type { LoadedModel, Preprocessing } from '../sources/types.js';
import { OnnxClassifier } from './classifier.js';
import { checkFileSize, decodeModel, DEFAULT_ONNX_LIMITS, type OnnxLimits } from './proto.js';

export { OnnxClassifier } from './classifier.js';
export { OnnxGraph, type OnnxGraphInfo } from './graph.js';
export { SUPPORTED_OPS } from './ops/index.js';
export { DEFAULT_ONNX_LIMITS, type OnnxLimits } from './proto.js';

/** Where an ONNX model comes from, as a plan or the command line gives it. */
export interface OnnxModelSpec {
  readonly path: string;
  readonly preprocess?: Preprocessing;
  readonly id?: string;
}

/** What a worker needs to import the same model again: the file's bytes and the spec. */
export interface OnnxSource {
  readonly bytes: Uint8Array;
  readonly path: string;
  readonly preprocess?: Preprocessing;
  readonly id: string;
}

const sources = new WeakMap<Classifier, OnnxSource>();

/** The bytes and spec an imported model was built from (the pool ships them to its workers), if any. */
export function onnxSourceOf(model: Classifier): OnnxSource | undefined {
  return sources.get(model);
}

/**
 * Reads a file with its size checked first.
 *
 * @throws DataError `E_MODEL_MISSING` when the file cannot be read; `E_ONNX_TOO_LARGE` over the budget.
 */
export async function readModelFile(path: string, limits: OnnxLimits = DEFAULT_ONNX_LIMITS): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    checkFileSize(info.size, path, limits);
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    if (cause instanceof DataError) throw cause;
    throw new DataError('E_MODEL_MISSING', `Cannot read ONNX model ${path}: ${(cause as Error).message}; check the path.`, {
      cause,
      details: { path },
    });
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Imports ONNX bytes as a classifier in data units (preprocessing applied). The caller owns
 * it: `dispose()` frees the graph's tensors.
 *
 * @throws DataError `E_ONNX_MALFORMED` / `E_ONNX_TOO_LARGE` / `E_ONNX_INPUT_SHAPE` / `E_ONNX_OUTPUT_SHAPE`.
 * @throws UsageError `E_ONNX_UNSUPPORTED_OP` naming the op, its node and the supported list.
 * @throws InputError `E_PREPROCESS` for preprocessing that does not fit the input.
 */
export function importOnnx(source: OnnxSource, limits: OnnxLimits = DEFAULT_ONNX_LIMITS): { classifier: Classifier; dispose(): void } {
  const proto = decodeModel(source.bytes, source.path, limits);
  const onnx = new OnnxClassifier(proto, source.path, { id: source.id });
  let classifier: Classifier & { dispose?(): void };
  try {
    classifier = withPreprocessing(onnx, source.preprocess);
  } catch (error) {
    onnx.dispose();
    throw error;
  }
  sources.set(classifier, source);
  return {
    classifier,
    dispose: () => {
      if (classifier !== onnx) classifier.dispose?.();
      onnx.dispose();
    },
  };
}

/**
 * Loads `onnx:PATH`: the file imported as a differentiable TF.js graph behind its declared
 * preprocessing, identified by the file's sha256.
 *
 * @throws DataError `E_MODEL_MISSING`, `E_ONNX_MALFORMED`, `E_ONNX_TOO_LARGE`, `E_ONNX_INPUT_SHAPE`, `E_ONNX_OUTPUT_SHAPE`.
 * @throws UsageError `E_ONNX_UNSUPPORTED_OP` (use `onnxruntime:PATH` for such a model).
 * @example
 * const loaded = await loadOnnxModel({ path: 'model.onnx', preprocess: { layout: 'nchw', mean: [0.1307], std: [0.3081] } });
 * try { await evaluate(loaded.classifier, data); } finally { loaded.dispose(); }
 */
export async function loadOnnxModel(spec: OnnxModelSpec, limits: OnnxLimits = DEFAULT_ONNX_LIMITS): Promise<LoadedModel> {
  const bytes = await readModelFile(spec.path, limits);
  const digest = sha256(bytes);
  const id = spec.id ?? `onnx:${digest.slice(0, 12)}`;
  const { classifier, dispose } = importOnnx(
    { bytes, path: spec.path, id, ...(spec.preprocess ? { preprocess: spec.preprocess } : {}) },
    limits,
  );
  let disposed = false;
  return {
    classifier,
    source: 'onnx',
    identity: { kind: 'file', digest, path: spec.path },
    dispose: () => {
      if (disposed) return;
      disposed = true;
      dispose();
    },
  };
}
