/**
 * `tfjs:PATH` model source: a TF.js LayersModel or GraphModel (model.json + weight files) of
 * any input shape, as a white-box {@link Classifier} when TF.js can differentiate it. Loading
 * goes through Rampart's own model io (model.json schema, weight byte counts, paths that stay
 * inside the directory, the parameter cap for layers models), with the files' sizes bounded
 * before anything is read. The identity is the manifest digest of model.json and the weight
 * files (sha256 of `{"files":[{digest,path,size}...]}` sorted by path, as the registry
 * digests a directory), so the same files register as the same model.
 *
 * Preprocessing (layout, scale, per-channel mean/std) is the shared wrapper of
 * `preprocess.ts`: TF.js ops inside `logits`, so gradients flow through it and a threat's
 * epsilon stays in the data's units.
 */
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, normalize, relative, isAbsolute, sep } from 'node:path';
import { DataError, InputError, UsageError } from '../core/errors.js';
import { isIdentityPreprocessing, PreprocessedClassifier } from './preprocess.js';
import type { Bounds } from '../core/types.js';
import type { Classifier, TargetAccess } from './classifier.js';
import { loadModel } from './io/index.js';
import { MODEL_JSON, readModelJson } from './io/model-json.js';
import { readWeights } from './io/weights.js';
import type { LoadedModel, Preprocessing } from './sources/types.js';
import { TfjsClassifier } from './tfjs-classifier.js';

export interface TfjsSourceSpec {
  /** The model's directory, or its `model.json`. */
  path: string;
  preprocess?: Preprocessing;
  /** Name in reports (default the directory's name). */
  id?: string;
  /** Valid input range (default the model's saved bounds, else [0, 1]). */
  bounds?: Bounds;
  /** Largest model.json read (default 64 MiB). */
  maxModelJsonBytes?: number;
  /** Largest total of weight files read (default 1 GiB). */
  maxWeightBytes?: number;
}

const DEFAULT_MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;

/**
 * Loads a TF.js LayersModel or GraphModel from disk.
 *
 * @throws DataError `E_MODEL_MISSING` (no directory or model.json), `E_MODEL_CORRUPT` (malformed model.json, missing or
 *   wrong-length weights), `E_MODEL_TOO_LARGE` (files over the caps, or a layers model over the parameter cap).
 * @throws InputError `E_MODEL_SHAPE` for a model without one float input of fixed per-example shape and a `[batch, classes]` output;
 *   `E_MODEL_GRAPH` for a graph model TF.js cannot execute synchronously (control flow, missing ops).
 * @throws UsageError `E_MODEL_PATH` for a path that is neither a directory nor a model.json.
 * @throws InputError `E_PREPROCESS` when the declared preprocessing does not fit the model's input.
 * @example const { classifier, identity } = await loadTfjsModel({ path: 'models/cifar/model.json' });
 */
export async function loadTfjsModel(spec: TfjsSourceSpec): Promise<LoadedModel> {
  const dir = await modelDir(spec.path);
  const json = await readBoundedModelJson(dir, spec.maxModelJsonBytes ?? DEFAULT_MAX_MODEL_JSON_BYTES);
  const weightFiles = json.weightsManifest.flatMap((group) => group.paths);
  const digest = await manifestDigest(dir, [MODEL_JSON, ...weightFiles], spec.maxWeightBytes ?? DEFAULT_MAX_WEIGHT_BYTES);
  const id = spec.id ?? basename(dir);
  const identity = { kind: 'file' as const, digest, path: dir };
  const saved = savedBounds(json.userDefinedMetadata);
  const bounds = spec.bounds ?? saved ?? { min: 0, max: 1 };
  if (json.format === 'graph-model') {
    const model = await loadGraph(dir, json);
    try {
      const classifier = preprocessed(await GraphClassifier.create(model, json, { id, bounds }), spec.preprocess);
      return { classifier, source: 'tfjs', identity, dispose: disposer(model, classifier) };
    } catch (error) {
      model.dispose();
      throw error;
    }
  }
  const { model } = await loadModel(dir);
  let classifier: Classifier;
  try {
    classifier = preprocessed(new TfjsClassifier(model, { id, bounds }), spec.preprocess);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return { classifier, source: 'tfjs', identity, dispose: disposer(model, classifier) };
}

/** A TF.js GraphModel as a Classifier; differentiable when `tf.grad` runs through `execute`. */
class GraphClassifier implements Classifier {
  readonly differentiable: boolean;
  readonly access: TargetAccess;

  private constructor(
    private readonly model: tf.GraphModel,
    readonly id: string,
    readonly inputShape: readonly number[],
    readonly numClasses: number,
    readonly bounds: Bounds,
    private readonly outputsProbabilities: boolean,
    differentiable: boolean,
  ) {
    this.differentiable = differentiable;
    this.access = differentiable ? 'gradients' : 'scores';
  }

  static async create(model: tf.GraphModel, json: tf.io.ModelJSON, options: { id: string; bounds: Bounds }): Promise<GraphClassifier> {
    const { id } = options;
    if (model.inputs.length !== 1 || model.outputs.length !== 1) {
      throw new InputError(
        'E_MODEL_SHAPE',
        `Graph model '${id}' has ${model.inputs.length} inputs and ${model.outputs.length} outputs; Rampart needs one image or feature input and one [batch, classes] output.`,
      );
    }
    const input = model.inputs[0] as tf.ModelTensorInfo;
    const shape = input.shape ?? [];
    const perExample = shape.slice(1);
    if (input.dtype !== 'float32' || shape.length < 2 || (shape[0] !== -1 && shape[0] !== null) || perExample.some((d) => !(d > 0))) {
      throw new InputError(
        'E_MODEL_SHAPE',
        `Graph model '${id}' takes ${input.dtype} [${shape.join(', ')}]; Rampart needs float32 [batch, ...] with a free batch dimension ` +
          'and a fixed per-example shape; re-export it that way.',
        { details: { dtype: input.dtype, shape } },
      );
    }
    const outputNode = (json.modelTopology as { node?: Array<{ name?: string; op?: string }> }).node?.find(
      (n) => n.name === model.outputs[0]?.name.split(':')[0],
    );
    let outShape: number[];
    try {
      const probe = tf.tidy(() => model.execute(tf.zeros([1, ...perExample])) as tf.Tensor);
      outShape = probe.shape;
      probe.dispose();
    } catch (error) {
      // Control flow (executeAsync only), ops this TF.js build lacks, or a graph that fails on its own input shape.
      const reason = error instanceof Error ? error.message : String(error);
      throw new InputError(
        'E_MODEL_GRAPH',
        `Graph model '${id}' cannot run one example of shape [${perExample.join(', ')}] (${reason}); ` +
          're-export it without control flow or unsupported ops, or load it as onnx/onnxruntime.',
        { cause: error, details: { inputShape: perExample } },
      );
    }
    if (outShape.length !== 2 || outShape[0] !== 1 || !((outShape[1] as number) >= 2)) {
      throw new InputError(
        'E_MODEL_SHAPE',
        `Graph model '${id}' outputs [${outShape.join(', ')}] for one example; Rampart needs [batch, classes].`,
        {
          details: { output: outShape },
        },
      );
    }
    const differentiable = gradientsFlow(model, perExample);
    return new GraphClassifier(model, id, perExample, outShape[1] as number, options.bounds, outputNode?.op === 'Softmax', differentiable);
  }

  logits(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.model.execute(x) as tf.Tensor2D;
      // Like TfjsClassifier: probabilities out of a softmax are turned into valid logits.
      return this.outputsProbabilities ? tf.log(tf.clipByValue(out, 1e-12, 1)) : out;
    });
  }
}

/** Whether TF.js can take input gradients through the graph: a finite gradient of the right shape on one zero input. */
function gradientsFlow(model: tf.GraphModel, perExample: number[]): boolean {
  try {
    return tf.tidy(() => {
      const x = tf.zeros([1, ...perExample]);
      const g = tf.grad((v: tf.Tensor) => tf.sum(model.execute(v) as tf.Tensor))(x);
      return g.shape.every((d, i) => d === x.shape[i]) && tf.all(tf.isFinite(g)).dataSync()[0] === 1;
    });
  } catch {
    return false;
  }
}

async function loadGraph(dir: string, json: tf.io.ModelJSON): Promise<tf.GraphModel> {
  const handler: tf.io.IOHandler = { load: () => tf.io.getModelArtifactsForJSON(json, (manifest) => readWeights(dir, manifest)) };
  try {
    return await tf.loadGraphModel(handler);
  } catch (error) {
    if (error instanceof DataError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError('E_MODEL_CORRUPT', `Cannot load model: TF.js could not build the graph model in ${dir} (${reason}).`, {
      cause: error,
      details: { path: dir },
    });
  }
}

/** The directory of a model: `path` itself, or the folder of a `model.json`. */
async function modelDir(path: string): Promise<string> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) {
    if (basename(path) === MODEL_JSON) return dirname(path);
    throw new UsageError(
      'E_MODEL_PATH',
      `tfjs:${path} is a file but not a ${MODEL_JSON}; pass the model's directory or its ${MODEL_JSON} (weights beside it).`,
      { details: { path } },
    );
  }
  // A missing directory is reported by readModelJson with the usual E_MODEL_MISSING.
  return path;
}

async function readBoundedModelJson(dir: string, max: number): Promise<tf.io.ModelJSON> {
  const size = await stat(join(dir, MODEL_JSON)).then(
    (s) => s.size,
    () => 0,
  );
  if (size > max) tooLarge(join(dir, MODEL_JSON), size, max, 'maxModelJsonBytes');
  return readModelJson(dir);
}

/** The registry's manifest digest of the model's files, after checking their total size. */
async function manifestDigest(dir: string, files: readonly string[], maxWeightBytes: number): Promise<string> {
  const entries: Array<{ path: string; full: string; size: number }> = [];
  for (const file of new Set(files)) {
    const rel = normalize(file);
    const full = join(dir, rel);
    // readWeights refuses escaping paths too; checked here first so nothing outside the directory is hashed.
    if (isAbsolute(rel) || relative(dir, full).split(sep)[0] === '..') {
      throw new DataError('E_MODEL_CORRUPT', `Cannot load model: model.json in ${dir} names '${file}' outside its directory.`, {
        details: { path: dir, weightsPath: file },
      });
    }
    const info = await stat(full).catch((error: unknown) => {
      throw new DataError('E_MODEL_CORRUPT', `Cannot load model: weights file ${full} listed in model.json is missing.`, {
        cause: error,
        details: { path: full },
      });
    });
    entries.push({ path: rel.split(sep).join('/'), full, size: info.size });
  }
  const weightBytes = entries.filter((e) => e.path !== MODEL_JSON).reduce((s, e) => s + e.size, 0);
  if (weightBytes > maxWeightBytes) tooLarge(dir, weightBytes, maxWeightBytes, 'maxWeightBytes');
  entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const listed = [];
  for (const e of entries) {
    const bytes = await readFile(e.full);
    listed.push(
      `{"digest":${JSON.stringify(createHash('sha256').update(bytes).digest('hex'))},"path":${JSON.stringify(e.path)},"size":${bytes.byteLength}}`,
    );
  }
  return createHash('sha256')
    .update(`{"files":[${listed.join(',')}]}`)
    .digest('hex');
}

function tooLarge(path: string, bytes: number, max: number, option: string): never {
  throw new DataError(
    'E_MODEL_TOO_LARGE',
    `Cannot load model: ${path} holds ${bytes} bytes, more than the ${max} allowed; raise ${option} if it is expected.`,
    {
      details: { path, bytes, max },
    },
  );
}

/** Bounds saved in Rampart's own model metadata, when present and valid. */
function savedBounds(metadata: unknown): Bounds | undefined {
  const b = (metadata as { bounds?: { min?: unknown; max?: unknown } } | undefined)?.bounds;
  return typeof b?.min === 'number' && typeof b.max === 'number' && b.min < b.max ? { min: b.min, max: b.max } : undefined;
}

/**
 * `base` behind the declared preprocessing (the data's units and NHWC layout outside, what the
 * model was trained on inside), keeping the model's bounds; `base` itself when there is none.
 *
 * @throws InputError `E_PREPROCESS` when the preprocessing does not fit the model's input.
 */
function preprocessed(base: Classifier, preprocess: Preprocessing | undefined): Classifier {
  if (isIdentityPreprocessing(preprocess)) return base;
  return new PreprocessedClassifier(base, preprocess as Preprocessing, { bounds: base.bounds });
}

/** Frees the model and, when preprocessing wraps it, the wrapper's constants. */
function disposer(model: { dispose(): void }, classifier: Classifier): () => void {
  return once(() => {
    if (classifier instanceof PreprocessedClassifier) classifier.dispose();
    model.dispose();
  });
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}
