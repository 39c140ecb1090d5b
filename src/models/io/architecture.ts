/**
 * Checks a `model.json` topology against its weights manifest before TF.js builds anything.
 * TF.js allocates every layer's weights from the declared architecture first and compares
 * them with the saved ones only afterwards, so a model.json declaring a huge Dense layer
 * over a 4-byte weights.bin would allocate the kernel before being refused. Here each
 * layer's weight shapes are inferred from its config and its input shape, summed against a
 * parameter cap, and matched to the manifest (whose byte count `readWeights` ties to the
 * file), so loading allocates no more than the weights file holds.
 */
import * as tf from '@tensorflow/tfjs';
import { DataError } from '../../core/errors.js';

/** Default cap on a loaded model's parameters: 100M (400 MB of float32). */
export const DEFAULT_MAX_PARAMETERS = 100_000_000;

type Shape = Array<number | null>;
type Config = Record<string, unknown>;
interface LayerSpec {
  className: string;
  name: string;
  config: Config;
  inbound: string[];
}
interface Inferred {
  weights: Array<[string, number[]]>;
  output: Shape;
}

const IDENTITY_LAYERS = new Set([
  'Dropout',
  'Activation',
  'ReLU',
  'LeakyReLU',
  'ELU',
  'Softmax',
  'ThresholdedReLU',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'SpatialDropout1D',
  'SpatialDropout2D',
]);

class Refusal extends Error {}

const num = (v: unknown, fallback?: number): number => {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
  if (v === undefined && fallback !== undefined) return fallback;
  throw new Refusal(`expected a positive whole number, got ${JSON.stringify(v)}`);
};
const pair = (v: unknown, fallback: number): [number, number] => {
  if (Array.isArray(v)) return [num(v[0]), num(v[1] ?? v[0])];
  const n = num(v, fallback);
  return [n, n];
};
const known = (shape: Shape, index: number, what: string): number => {
  const v = shape.at(index);
  if (typeof v !== 'number') throw new Refusal(`its input's ${what} is not fixed (shape ${JSON.stringify(shape)})`);
  return v;
};

function spatial(size: number | null, kernel: number, stride: number, dilation: number, padding: unknown): number | null {
  if (size === null) return null;
  const extent = (kernel - 1) * dilation + 1;
  return padding === 'same' ? Math.ceil(size / stride) : Math.max(0, Math.floor((size - extent) / stride) + 1);
}

/** Output shape of a 2-D window (conv or pool) over `shape`, channels last or first. */
function window2d(shape: Shape, c: Config, kernel: [number, number], strides: [number, number], channels: number): Shape {
  const first = c.data_format === 'channels_first';
  const dil = pair(c.dilation_rate, 1);
  const [h, w] = first ? [shape[2] ?? null, shape[3] ?? null] : [shape[1] ?? null, shape[2] ?? null];
  const oh = spatial(h, kernel[0], strides[0], dil[0], c.padding);
  const ow = spatial(w, kernel[1], strides[1], dil[1], c.padding);
  return first ? [shape[0] ?? null, channels, oh, ow] : [shape[0] ?? null, oh, ow, channels];
}

function infer(layer: LayerSpec, inputs: Shape[]): Inferred {
  const c = layer.config;
  const s = inputs[0] ?? [];
  const bias = (n: number): Array<[string, number[]]> => (c.use_bias === false ? [] : [['bias', [n]]]);
  switch (layer.className) {
    case 'InputLayer':
      return { weights: [], output: inputShapeOf(c) ?? [] };
    case 'Dense': {
      const units = num(c.units);
      return { weights: [['kernel', [known(s, -1, 'last dimension'), units]], ...bias(units)], output: [...s.slice(0, -1), units] };
    }
    case 'Conv2D': {
      const filters = num(c.filters);
      const kernel = pair(c.kernel_size, 1);
      const inCh = known(s, c.data_format === 'channels_first' ? 1 : -1, 'channel count');
      return {
        weights: [['kernel', [...kernel, inCh, filters]], ...bias(filters)],
        output: window2d(s, c, kernel, pair(c.strides, 1), filters),
      };
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      const pool = pair(c.pool_size, 2);
      const channels = known(s, c.data_format === 'channels_first' ? 1 : -1, 'channel count');
      return { weights: [], output: window2d(s, { ...c, dilation_rate: 1 }, pool, pair(c.strides ?? c.pool_size, 2), channels) };
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
      return { weights: [], output: [s[0] ?? null, known(s, c.data_format === 'channels_first' ? 1 : -1, 'channel count')] };
    case 'Flatten':
      return { weights: [], output: [s[0] ?? null, s.slice(1).reduce<number>((p, _d, i) => p * known(s, i + 1, `dimension ${i + 1}`), 1)] };
    case 'Reshape': {
      const target = Array.isArray(c.target_shape) ? c.target_shape.map((d) => (d === -1 ? null : num(d))) : [];
      return { weights: [], output: [s[0] ?? null, ...target] };
    }
    case 'BatchNormalization': {
      const axis = typeof c.axis === 'number' ? c.axis : -1;
      const dim = known(s, axis, `axis ${axis}`);
      const w: Array<[string, number[]]> = [];
      if (c.scale !== false) w.push(['gamma', [dim]]);
      if (c.center !== false) w.push(['beta', [dim]]);
      w.push(['moving_mean', [dim]], ['moving_variance', [dim]]);
      return { weights: w, output: s };
    }
    case 'Embedding': {
      const out = num(c.output_dim);
      return { weights: [['embeddings', [num(c.input_dim), out]]], output: [...s, out] };
    }
    case 'Average':
    case 'Add': {
      // Element-wise merges (a fused ensemble's mean): no weights, and every input has the output's shape.
      const key = s.join(',');
      if (inputs.length < 2 || inputs.some((i) => i.join(',') !== key))
        throw new Refusal(`its inputs must share one shape (got ${inputs.map((i) => `[${i.join(', ')}]`).join(' ')})`);
      return { weights: [], output: s };
    }
    default:
      if (IDENTITY_LAYERS.has(layer.className)) return { weights: [], output: s };
      throw new Refusal(
        'its class is not one whose weights can be checked before loading (checked: InputLayer, Dense, Conv2D, pooling, Average, Add, ' +
          `Flatten, Reshape, BatchNormalization, Embedding, ${[...IDENTITY_LAYERS].join(', ')})`,
      );
  }
}

function inputShapeOf(c: Config): Shape | undefined {
  const shape =
    c.batch_input_shape ?? c.batchInputShape ?? (Array.isArray(c.input_shape) ? [null, ...(c.input_shape as unknown[])] : undefined);
  if (!Array.isArray(shape)) return undefined;
  return shape.map((d, i) => (d === null && i === 0 ? null : d === null ? null : num(d)));
}

/** The layers of a Sequential or functional topology, in build order. */
function layersOf(topology: Config): { layers: LayerSpec[]; sequential: boolean } {
  const root = (topology.model_config as Config | undefined) ?? topology;
  const className = root.class_name;
  const config = root.config as Config | unknown[] | undefined;
  const raw = Array.isArray(config) ? config : Array.isArray(config?.layers) ? (config.layers as unknown[]) : undefined;
  if (raw === undefined || (className !== 'Sequential' && className !== 'Model' && className !== 'Functional')) {
    throw new Refusal(`the topology is a '${String(className)}', not a Sequential or functional model with a list of layers`);
  }
  const layers = raw.map((l, i) => {
    const entry = (l ?? {}) as Config;
    const cfg = (entry.config ?? {}) as Config;
    const name = typeof cfg.name === 'string' ? cfg.name : typeof entry.name === 'string' ? entry.name : `layer ${i}`;
    const nodes = Array.isArray(entry.inbound_nodes) ? (entry.inbound_nodes as unknown[][]) : [];
    const inbound = (nodes[0] ?? []).map((n) => (Array.isArray(n) ? String(n[0]) : String((n as Config)?.name ?? '')));
    return { className: String(entry.class_name), name, config: cfg, inbound };
  });
  return { layers, sequential: className === 'Sequential' };
}

/**
 * Refuses a topology whose weights cannot be checked, exceed `maxParameters`, or differ from
 * the manifest, before any tensor exists.
 *
 * @throws DataError `E_MODEL_ARCHITECTURE` when a layer cannot be checked or its weights differ from the manifest;
 *   `E_MODEL_TOO_LARGE` when the declared parameters exceed `maxParameters`.
 * @example checkArchitecture(json.modelTopology, json.weightsManifest.flatMap((g) => g.weights ?? []), { path: dir });
 */
export function checkArchitecture(
  topology: unknown,
  specs: readonly tf.io.WeightsManifestEntry[],
  options: { path: string; maxParameters?: number },
): void {
  const maxParameters = options.maxParameters ?? DEFAULT_MAX_PARAMETERS;
  const byName = new Map(specs.filter((w) => w.group !== 'optimizer').map((w) => [w.name, w.shape]));
  const refuse = (what: string, why: string): never => {
    throw new DataError(
      'E_MODEL_ARCHITECTURE',
      `Cannot load model: ${options.path}/model.json: ${what} ${why}; ` + 'the file is damaged or was not written by TF.js.',
      {
        details: { path: options.path },
      },
    );
  };
  let parsed: ReturnType<typeof layersOf>;
  try {
    parsed = layersOf((topology ?? {}) as Config);
  } catch (error) {
    return refuse('the model', error instanceof Error ? error.message : String(error));
  }
  const outputs = new Map<string, Shape>();
  let previous: Shape | undefined;
  let total = 0;
  for (const layer of parsed.layers) {
    // A class TF.js does not know fails there, before this layer or any later one is built;
    // its own error says which class is missing.
    if (!tfKnows(layer.className)) return;
    let inferred: Inferred;
    try {
      const declared = inputShapeOf(layer.config);
      const inputs = parsed.sequential ? [previous ?? declared ?? []] : layer.inbound.map((n) => outputs.get(n) ?? []);
      if (parsed.sequential && previous === undefined && declared === undefined)
        throw new Refusal('the first layer declares no input shape');
      inferred = infer(layer, inputs);
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      return refuse(`layer '${layer.name}' (${layer.className})`, error.message);
    }
    for (const [suffix, shape] of inferred.weights) {
      const size = shape.reduce((p, d) => p * d, 1);
      total += size;
      if (!Number.isSafeInteger(total) || total > maxParameters) {
        throw new DataError(
          'E_MODEL_TOO_LARGE',
          `Cannot load model: ${options.path}/model.json declares more than ${maxParameters} parameters ` +
            `(layer '${layer.name}' alone needs ${size}); ` +
            'raise maxParameters if the model is really this large.',
          { details: { path: options.path, maxParameters, layer: layer.name } },
        );
      }
      const name = `${layer.name}/${suffix}`;
      const saved = byName.get(name) ?? [...byName].find(([n]) => n.endsWith(`/${name}`))?.[1];
      if (saved === undefined)
        refuse(
          `layer '${layer.name}' (${layer.className})`,
          `needs weight ${name} ${JSON.stringify(shape)} but the weights manifest has none`,
        );
      else if (saved.length !== shape.length || saved.some((d, i) => d !== shape[i])) {
        refuse(
          `layer '${layer.name}' (${layer.className})`,
          `declares weight ${name} as ${JSON.stringify(shape)} ` + `but the weights manifest holds ${JSON.stringify(saved)}`,
        );
      }
    }
    outputs.set(layer.name, inferred.output);
    previous = inferred.output;
  }
}

function tfKnows(className: string): boolean {
  return Object.hasOwn(tf.serialization.SerializationMap.getMap().classNameMap, className);
}
