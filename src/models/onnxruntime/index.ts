/**
 * `onnxruntime:PATH`: any ONNX model through onnxruntime-node as a score target. The
 * runtime is imported on first use, so nothing else pays for its native binary.
 */
import type * as OrtModule from 'onnxruntime-node';
import { DataError, EngineError } from '../../core/errors.js';
import { readModelFile, sha256, type OnnxModelSpec } from '../onnx/index.js';
import { checkPreprocessing } from '../preprocess.js';
import { decodeModel, toNumber, type ModelProto } from '../onnx/proto.js';
import type { LoadedModel } from '../sources/types.js';
import { OnnxRuntimeClassifier } from './classifier.js';

export { OnnxRuntimeClassifier, DEFAULT_ORT_CHUNK_ROWS } from './classifier.js';

/** Budgets of an onnxruntime target: a file cap only (the runtime holds the weights natively). */
const ORT_LIMITS = { maxFileBytes: 2 * 1024 * 1024 * 1024 - 1, maxParameters: Number.MAX_SAFE_INTEGER, maxNodes: 1_000_000 };

type Ort = typeof OrtModule;
let ortModule: Promise<Ort> | undefined;

/**
 * onnxruntime-node, imported once.
 *
 * @throws EngineError `E_ORT_UNAVAILABLE` when the package or its native binary cannot load.
 */
export async function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').catch((cause: unknown) => {
    ortModule = undefined;
    throw new EngineError(
      'E_ORT_UNAVAILABLE',
      `onnxruntime-node could not load (${(cause as Error).message}); reinstall it, or import the model as 'onnx:PATH'.`,
      {
        cause,
      },
    );
  });
  return ortModule;
}

function ioOf(
  proto: ModelProto,
  path: string,
): { inputName: string; modelShape: number[]; outputName: string; outputsProbabilities: boolean } {
  const graph = proto.graph!;
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !inits.has(i.name));
  const input = inputs[0];
  if (inputs.length !== 1 || !input) {
    throw new DataError('E_ONNX_INPUTS', `${path}: the graph takes ${inputs.length} inputs; a classifier takes exactly one (the batch).`, {
      details: { path },
    });
  }
  const dims = input.type?.tensorType?.shape?.dim ?? [];
  const modelShape = dims.slice(1).map((d) => toNumber(d.dimValue));
  if (dims.length < 2 || modelShape.some((d) => !(d > 0))) {
    throw new DataError(
      'E_ONNX_INPUT_SHAPE',
      `${path}: input '${input.name ?? '?'}' needs a fixed shape after the batch; got ${dims.length} dims.`,
      {
        details: { path },
      },
    );
  }
  const outputName = graph.output?.[0]?.name ?? '';
  const producer = (graph.node ?? []).find((n) => (n.output ?? []).includes(outputName));
  return { inputName: input.name ?? '', modelShape, outputName, outputsProbabilities: producer?.opType === 'Softmax' };
}

/**
 * Loads `onnxruntime:PATH` as a score target (`access: 'scores'`, `queryScores` counts
 * every row). Preprocessing is applied on the host, so rows are in the data's units.
 *
 * @throws DataError `E_MODEL_MISSING`, `E_ONNX_MALFORMED`, `E_ONNX_INPUTS`, `E_ONNX_INPUT_SHAPE`; InputError `E_PREPROCESS`;
 *   EngineError `E_ORT_UNAVAILABLE`, `E_ORT_SESSION` when onnxruntime cannot open the model.
 * @example
 * const target = await loadOnnxRuntimeModel({ path: 'model.onnx', preprocess: { layout: 'nchw' } });
 * const scores = await target.classifier.queryScores!(rows, rows.length / 784);
 */
export async function loadOnnxRuntimeModel(spec: OnnxModelSpec, options: { chunkRows?: number } = {}): Promise<LoadedModel> {
  const bytes = await readModelFile(spec.path, ORT_LIMITS);
  const digest = sha256(bytes);
  const io = ioOf(decodeModel(bytes, spec.path, ORT_LIMITS), spec.path);
  const id = spec.id ?? `onnxruntime:${digest.slice(0, 12)}`;
  if (spec.preprocess) checkPreprocessing(spec.preprocess, io.modelShape, id);
  const ort = await loadOrt();
  let session;
  try {
    // One intra-op thread: the pool and attacks parallelise across rows, not inside one run.
    session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  } catch (cause) {
    throw new EngineError('E_ORT_SESSION', `onnxruntime cannot open ${spec.path}: ${(cause as Error).message}.`, {
      cause,
      details: { path: spec.path },
    });
  }
  const nchw = spec.preprocess?.layout === 'nchw';
  const s = io.modelShape;
  const inputShape = nchw ? [s[1]!, s[2]!, s[0]!] : s;
  const probe = await session.run({ [io.inputName]: new ort.Tensor('float32', new Float32Array(s.reduce((p, d) => p * d, 1)), [1, ...s]) });
  const numClasses = (probe[io.outputName]?.data as Float32Array | undefined)?.length ?? 0;
  const classifier = new OnnxRuntimeClassifier(ort, session, {
    id,
    inputShape,
    modelShape: s,
    numClasses,
    inputName: io.inputName,
    outputName: io.outputName,
    outputsProbabilities: io.outputsProbabilities,
    ...(spec.preprocess ? { preprocess: spec.preprocess } : {}),
    ...(options.chunkRows ? { chunkRows: options.chunkRows } : {}),
  });
  return {
    classifier,
    source: 'onnxruntime',
    identity: { kind: 'file', digest, path: spec.path },
    dispose: () => void classifier.dispose(),
  };
}
