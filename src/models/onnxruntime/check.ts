/**
 * `rampart model check`: what an ONNX file holds (inputs, outputs, opset, ops, parameters),
 * whether the importer can run it as a white box, and how far the imported graph's output
 * is from onnxruntime's on seeded random inputs.
 */
import * as tf from '@tensorflow/tfjs';
import { RampartError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { OnnxClassifier } from '../onnx/classifier.js';
import { readModelFile, sha256, SUPPORTED_OPS } from '../onnx/index.js';
import { DEFAULT_ONNX_LIMITS, decodeModel, dtypeName, toNumber, type ValueInfoProto } from '../onnx/proto.js';
import { loadOrt } from './index.js';

export interface TensorSignature {
  name: string;
  dtype: string;
  /** Dims; a string for a symbolic one (e.g. `batch`). */
  shape: (number | string)[];
}

export interface ModelCheckReport {
  path: string;
  digest: string;
  bytes: number;
  opset: number;
  irVersion: number;
  producer: string;
  inputs: TensorSignature[];
  outputs: TensorSignature[];
  /** Node count per op type. */
  ops: Record<string, number>;
  parameters: number;
  /** Op types the importer does not run (the model still works as `onnxruntime:PATH`). */
  unsupportedOps: string[];
  /** The importer's verdict: imported, with classes; or the error it gave. */
  importer: { ok: true; numClasses: number; outputsProbabilities: boolean } | { ok: false; code: string; message: string };
  /** Importer vs onnxruntime on `samples` seeded uniform [0,1) inputs, when both ran. */
  crossCheck?: { samples: number; maxAbsDiff: number; tolerance: number; ok: boolean };
}

export interface ModelCheckOptions {
  samples?: number;
  seed?: number;
  tolerance?: number;
}

function signature(info: ValueInfoProto): TensorSignature {
  const t = info.type?.tensorType;
  const shape = (t?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue)));
  return { name: info.name ?? '', dtype: dtypeName(t?.elemType), shape };
}

/**
 * Inspects and cross-checks an ONNX file. Import failures are part of the report, not
 * thrown, so the caller can print what is wrong with the model.
 *
 * @throws DataError `E_MODEL_MISSING`, `E_ONNX_MALFORMED`, `E_ONNX_TOO_LARGE` for a file that is not a usable ONNX model.
 * @throws EngineError `E_ORT_UNAVAILABLE` / `E_ORT_SESSION` when onnxruntime cannot run it.
 * @example const report = await checkOnnxFile('model.onnx', { samples: 8 });
 */
export async function checkOnnxFile(path: string, options: ModelCheckOptions = {}): Promise<ModelCheckReport> {
  const samples = options.samples ?? 8;
  const tolerance = options.tolerance ?? 1e-4;
  const bytes = await readModelFile(path);
  const proto = decodeModel(bytes, path, { ...DEFAULT_ONNX_LIMITS, maxParameters: Number.MAX_SAFE_INTEGER });
  const graph = proto.graph!;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const ops: Record<string, number> = {};
  for (const n of graph.node ?? []) ops[n.opType ?? ''] = (ops[n.opType ?? ''] ?? 0) + 1;
  let parameters = 0;
  for (const t of graph.initializer ?? []) parameters += (t.dims ?? []).reduce<number>((p, d) => p * toNumber(d), 1);
  const report: ModelCheckReport = {
    path,
    digest: sha256(bytes),
    bytes: bytes.byteLength,
    opset: toNumber((proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version),
    irVersion: toNumber(proto.irVersion),
    producer: [proto.producerName, proto.producerVersion].filter(Boolean).join(' '),
    inputs: (graph.input ?? []).filter((i) => !inits.has(i.name)).map(signature),
    outputs: (graph.output ?? []).map(signature),
    ops,
    parameters,
    unsupportedOps: Object.keys(ops).filter((op) => !SUPPORTED_OPS.includes(op)),
    importer: { ok: false, code: 'E_NOT_RUN', message: 'not run' },
  };
  let model: OnnxClassifier | undefined;
  try {
    model = new OnnxClassifier(decodeModel(bytes, path), path);
    report.importer = { ok: true, numClasses: model.numClasses, outputsProbabilities: model.outputsProbabilities };
  } catch (error) {
    if (!(error instanceof RampartError)) throw error;
    report.importer = { ok: false, code: error.code, message: error.message };
    return report;
  }
  try {
    const ort = await loadOrt();
    const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
    try {
      const shape = [samples, ...model.inputShape];
      const rng = createRng(options.seed ?? 0);
      const x = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.next());
      const theirs = (await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x, shape) }))[session.outputNames[0]!]!
        .data as Float32Array;
      const ours = tf.tidy(() => model.forward(tf.tensor(x, shape)));
      const values = await ours.data();
      ours.dispose();
      let diff = values.length === theirs.length ? 0 : Infinity;
      for (let i = 0; i < values.length && diff !== Infinity; i++) diff = Math.max(diff, Math.abs(values[i]! - theirs[i]!));
      if (Number.isNaN(diff)) diff = Infinity;
      report.crossCheck = { samples, maxAbsDiff: diff, tolerance, ok: diff <= tolerance };
    } finally {
      await session.release();
    }
  } finally {
    model.dispose();
  }
  return report;
}
