/**
 * Models as artifacts: a `ModelRef` names a model by its kind and the digest of its bytes.
 * Each kind has a codec: `encode` turns a classifier into bytes on the coordinator (or
 * says it cannot), `decode` rebuilds the shard target on a worker. `tfjs-layers` is built
 * in (topology + weights, as the worker pool ships a LayersModel), and so are `onnx` (the
 * imported file's bytes and preprocessing, as the pool ships it) and `text-filter` (a saved
 * text filter's files); another importer adds its kind with `registerModelCodec` on both
 * sides, and nothing else changes.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError, listChoices } from '../../core/errors.js';
import type { Bounds } from '../../core/types.js';
import { trainableOnnxOf } from '../../models/onnx/trainable.js';
import { TfjsClassifier } from '../../models/tfjs-classifier.js';
import type { ExecutionModel } from '../executor.js';
import type { ModelCodec } from './codecs/types.js';
import { onnxCodec } from './codecs/onnx.js';
import { textFilterCodec } from './codecs/text-filter.js';

export type { ModelCodec } from './codecs/types.js';
import { packValue, unpackValue } from './pack.js';

/** A model by kind and content digest (sha256 of the bytes its codec made). */
export interface ModelRef {
  kind: string;
  digest: string;
}

interface TfjsLayersArtifact {
  modelId: string;
  bounds: Bounds;
  topology: object;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weights: Float32Array;
}

/** The built-in codec: a TF.js LayersModel, exactly as the worker pool copies it into a thread. */
export const tfjsLayersCodec: ModelCodec = {
  kind: 'tfjs-layers',
  async encode(classifier) {
    if (!(classifier instanceof TfjsClassifier) || trainableOnnxOf(classifier.model)) return undefined;
    const { model } = classifier;
    const parts = await Promise.all(
      model.weights.map(async (w, i) => {
        const t = w.read();
        if (t.dtype !== 'float32') {
          throw new UsageError('E_QUEUE_MODEL', `Weight ${i} ('${w.originalName}') is ${t.dtype}; the queue ships float32 weights only.`, {
            details: { index: i, dtype: t.dtype },
          });
        }
        return (await t.data()) as Float32Array;
      }),
    );
    const weights = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    let offset = 0;
    for (const p of parts) {
      weights.set(p, offset);
      offset += p.length;
    }
    const artifact: TfjsLayersArtifact = {
      modelId: classifier.id,
      bounds: classifier.bounds,
      topology: model.toJSON(null, false) as object,
      weightSpecs: model.weights.map((w) => ({ name: w.originalName, shape: [...w.shape] as number[], dtype: 'float32' as const })),
      weights,
    };
    return packValue(artifact);
  },
  async decode(bytes) {
    const a = unpackValue(bytes) as TfjsLayersArtifact;
    const weightData = a.weights.buffer.slice(a.weights.byteOffset, a.weights.byteOffset + a.weights.byteLength) as ArrayBuffer;
    const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: a.topology, weightSpecs: a.weightSpecs, weightData }));
    return {
      target: { model, classifier: new TfjsClassifier(model, { id: a.modelId, bounds: a.bounds }) },
      dispose: () => model.dispose(),
    };
  },
};

/** Built in: TF.js layers, imported ONNX files (with their preprocessing) and saved text filters (by their files). */
const codecs = new Map<string, ModelCodec>([onnxCodec, tfjsLayersCodec, textFilterCodec].map((c) => [c.kind, c]));

/**
 * Adds a model kind to this process (coordinator and workers must both register it).
 *
 * @throws UsageError `E_QUEUE_MODEL_KIND` when the kind is already registered.
 * @example registerModelCodec({ kind: 'onnx', encode: ..., decode: ... });
 */
export function registerModelCodec(codec: ModelCodec): void {
  if (codecs.has(codec.kind)) {
    throw new UsageError('E_QUEUE_MODEL_KIND', `A model codec for '${codec.kind}' is already registered; register each kind once.`, {
      details: { kind: codec.kind },
    });
  }
  codecs.set(codec.kind, codec);
}

/**
 * The codec of `kind`.
 *
 * @throws UsageError `E_QUEUE_MODEL_KIND` naming the registered kinds (a worker of an older version, or without the importer).
 */
export function modelCodec(kind: string): ModelCodec {
  const codec = codecs.get(kind);
  if (!codec) {
    throw new UsageError(
      'E_QUEUE_MODEL_KIND',
      `This worker cannot load '${kind}' models; it knows ${listChoices([...codecs.keys()])}. Update the worker.`,
      {
        details: { value: kind, valid: [...codecs.keys()] },
      },
    );
  }
  return codec;
}

/** The first registered codec that can ship `classifier`, with its bytes; undefined when none can (it runs locally). */
export async function encodeModel(model: ExecutionModel): Promise<{ kind: string; bytes: Uint8Array } | undefined> {
  for (const codec of codecs.values()) {
    const bytes = await codec.encode(model);
    if (bytes) return { kind: codec.kind, bytes };
  }
  return undefined;
}
