/**
 * The `onnx` model codec: an imported ONNX model travels as the file's bytes and its
 * preprocessing, and a worker imports it again (`importOnnx`), exactly as the worker pool
 * ships it to its threads, so shards see the same graph as the coordinator. A trainable
 * copy (`trainableOnnx`) travels as an ONNX file with its current weights, as in the pool.
 */
import { DataError } from '../../../core/errors.js';
import type { Classifier } from '../../../models/classifier.js';
import { importOnnx, onnxSourceOf, type OnnxSource } from '../../../models/onnx/index.js';
import { exportOnnxWeights, trainableOnnxOf } from '../../../models/onnx/trainable.js';
import type { Preprocessing } from '../../../models/sources/types.js';
import { TfjsClassifier } from '../../../models/tfjs-classifier.js';
import { isTextFilterModel } from '../../executor.js';
import type { ModelCodec } from './types.js';
import { packValue, unpackValue } from '../pack.js';

interface OnnxArtifact {
  bytes: Uint8Array;
  path: string;
  id: string;
  preprocess?: Preprocessing;
}

/** The ONNX source a worker rebuilds `model` from, if it was imported from ONNX (or is a trainable copy of one). */
function sourceOf(model: Classifier): OnnxSource | undefined {
  const copy = model instanceof TfjsClassifier ? trainableOnnxOf(model.model) : undefined;
  if (copy) return { ...copy.source, id: model.id, bytes: exportOnnxWeights(copy.source, copy.trainable) };
  return onnxSourceOf(model);
}

export const onnxCodec: ModelCodec = {
  kind: 'onnx',
  async encode(model) {
    if (isTextFilterModel(model)) return undefined;
    const source = sourceOf(model);
    if (!source) return undefined;
    const artifact: OnnxArtifact = {
      bytes: source.bytes,
      path: source.path,
      id: source.id,
      ...(source.preprocess ? { preprocess: source.preprocess } : {}),
    };
    return packValue(artifact);
  },
  async decode(bytes) {
    const a = unpackValue(bytes) as Partial<OnnxArtifact>;
    if (!(a.bytes instanceof Uint8Array) || typeof a.path !== 'string' || typeof a.id !== 'string') {
      throw new DataError(
        'E_QUEUE_MODEL',
        'An ONNX model artifact is malformed; coordinator and workers must run the same Rampart version.',
      );
    }
    const { classifier, dispose } = importOnnx({
      bytes: a.bytes,
      path: a.path,
      id: a.id,
      ...(a.preprocess ? { preprocess: a.preprocess } : {}),
    });
    return { target: { classifier }, dispose };
  },
};
