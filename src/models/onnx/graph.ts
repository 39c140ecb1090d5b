/**
 * An ONNX graph as a TF.js function. At import every op is checked to be supported, the
 * initializers become host constants, and every node whose inputs are all constant is
 * folded (evaluated once, its result kept as a constant). What is left runs per call, in
 * file order, on TF.js tensors; gradients flow through it like any TF.js code.
 */
import * as tf from '@tensorflow/tfjs';
import { DataError, UsageError } from '../../core/errors.js';
import { OPS, SUPPORTED_OPS, type OpContext, type OpDef } from './ops/index.js';
import { Attributes, dtypeName, readTensor, toNumber, type ModelProto, type NodeProto, type ValueInfoProto } from './proto.js';
import { ConstCache, hostValue, plain, tensorValue, type HostValue, type Value } from './values.js';

/** Largest per-example input accepted (elements, 64 MB as float32): the import runs the graph once on two of them. */
export const MAX_INPUT_ELEMENTS = 16_000_000;

/** Largest folded constant kept (elements); bigger results are computed per call instead. */
const FOLD_LIMIT = 16_000_000;

interface Step {
  readonly node: NodeProto;
  readonly op: string;
  readonly name: string;
  readonly def: OpDef;
  readonly attrs: Attributes;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

/** What `rampart model check` prints about a graph. */
export interface OnnxGraphInfo {
  readonly inputName: string;
  /** Per-example input shape as the model declares it (e.g. `[1, 28, 28]`). */
  readonly inputShape: readonly number[];
  readonly outputName: string;
  readonly outputNames: readonly string[];
  readonly opset: number;
  readonly irVersion: number;
  readonly producer: string;
  /** Node count per op type, in the file. */
  readonly ops: Readonly<Record<string, number>>;
  readonly parameters: number;
  /** Nodes folded into constants at import. */
  readonly folded: number;
}

function nodeName(node: NodeProto, index: number): string {
  return node.name || node.output?.[0] || `#${index}`;
}

/**
 * @throws UsageError `E_ONNX_UNSUPPORTED_OP` naming the first unsupported op, its node, every
 *   unsupported op type in the file and the supported list.
 */
function checkOps(model: ModelProto, path: string): void {
  const bad = new Map<string, string>();
  model.graph!.node!.forEach((node, i) => {
    const domain = node.domain ?? '';
    const op = node.opType ?? '';
    const known = (domain === '' || domain === 'ai.onnx') && Object.hasOwn(OPS, op);
    if (!known && !bad.has(op)) bad.set(domain && domain !== 'ai.onnx' ? `${domain}.${op}` : op, nodeName(node, i));
  });
  if (bad.size === 0) return;
  const [[op, node]] = [...bad.entries()] as [[string, string]];
  throw new UsageError(
    'E_ONNX_UNSUPPORTED_OP',
    `${path}: op '${op}' (node '${node}') is not supported by the ONNX importer` +
      (bad.size > 1 ? ` (nor ${[...bad.keys()].slice(1).join(', ')})` : '') +
      `. Supported: ${SUPPORTED_OPS.join(', ')}. To attack this model without gradients, load it as a score target: 'onnxruntime:${path}'.`,
    { details: { path, op, node, unsupported: [...bad.keys()], supported: SUPPORTED_OPS } },
  );
}

function inputShapeOf(info: ValueInfoProto, path: string): number[] {
  const type = info.type?.tensorType;
  const dims = type?.shape?.dim;
  const bad = (why: string): DataError =>
    new DataError(
      'E_ONNX_INPUT_SHAPE',
      `${path}: input '${info.name ?? '?'}' ${why}; export the model with a fixed example shape (only the batch may vary).`,
      {
        details: { path, input: info.name },
      },
    );
  if (type?.elemType !== 1) throw bad(`is ${dtypeName(type?.elemType)}, not float32`);
  if (!dims || dims.length < 2) throw bad('has no [batch, ...] shape');
  const shape = dims.slice(1).map((d) => {
    const n = toNumber(d.dimValue);
    if (!(n > 0)) throw bad(`has a symbolic dimension '${d.dimParam ?? '?'}' after the batch`);
    return n;
  });
  const size = shape.reduce((p, d) => p * d, 1);
  if (size > MAX_INPUT_ELEMENTS) {
    throw new DataError(
      'E_ONNX_TOO_LARGE',
      `${path}: one example of input '${info.name ?? '?'}' has ${size} values, over the limit of ${MAX_INPUT_ELEMENTS}.`,
      {
        details: { path, elements: size, limit: MAX_INPUT_ELEMENTS },
      },
    );
  }
  return shape;
}

/** A float initializer as a weight: its name, values, and whether training updates it. */
export interface GraphWeight {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
  /** False for BatchNormalization's running mean and variance (statistics, not parameters). */
  readonly trainable: boolean;
}

function weightsOf(nodes: readonly NodeProto[], constants: ReadonlyMap<string, HostValue>): GraphWeight[] {
  const statistics = new Set<string>();
  for (const n of nodes) if (n.opType === 'BatchNormalization') for (const i of [3, 4]) statistics.add(n.input?.[i] ?? '');
  const out: GraphWeight[] = [];
  for (const [name, c] of constants) {
    if (c.dtype !== 'float' || c.shape.length === 0) continue;
    out.push({ name, shape: c.shape, values: c.data as Float32Array, trainable: !statistics.has(name) });
  }
  return out;
}

export class OnnxGraph {
  readonly info: OnnxGraphInfo;
  private readonly consts = new ConstCache();
  private readonly constants = new Map<string, HostValue>();
  private readonly steps: Step[] = [];
  /** Index of the step whose Softmax is the graph output, if any (logits take its log form). */
  readonly finalSoftmax: number;
  private readonly opset: number;
  /** With `weights: true`: the float initializers a caller may replace per run (trainable copies), never folded. */
  readonly weights: readonly GraphWeight[];
  private disposed = false;

  /**
   * With `weights: true` the float initializers are left unfolded so that `run` can take
   * them as tensors (a trainable copy's variables); otherwise they are constants.
   *
   * @throws UsageError `E_ONNX_UNSUPPORTED_OP`, `E_ONNX_UNSUPPORTED_ATTRIBUTE`.
   * @throws DataError `E_ONNX_MALFORMED`, `E_ONNX_INPUT_SHAPE`, `E_ONNX_DTYPE`.
   */
  constructor(model: ModelProto, path: string, options: { weights?: boolean } = {}) {
    const graph = model.graph!;
    checkOps(model, path);
    const opset = toNumber((model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx')?.version) || 1;
    let parameters = 0;
    for (const t of graph.initializer ?? []) {
      const c = hostValue(readTensor(t, path), true);
      parameters += c.data.length;
      this.constants.set(t.name ?? '', c);
    }
    this.weights = options.weights ? weightsOf(graph.node!, this.constants) : [];
    const weightNames = new Set(this.weights.map((w) => w.name));
    const inputs = (graph.input ?? []).filter((i) => !this.constants.has(i.name ?? ''));
    if (inputs.length !== 1) {
      throw new DataError(
        'E_ONNX_INPUTS',
        `${path}: the graph takes ${inputs.length} inputs; a classifier takes exactly one (the batch).`,
        {
          details: { path, inputs: inputs.map((i) => i.name) },
        },
      );
    }
    const input = inputs[0]!;
    const outputNames = (graph.output ?? []).map((o) => o.name ?? '');
    if (outputNames.length === 0) throw new DataError('E_ONNX_MALFORMED', `${path}: the graph declares no output.`, { details: { path } });
    const ops: Record<string, number> = {};
    const known = new Set<string>([input.name ?? '', ...this.constants.keys()]);
    let folded = 0;
    graph.node!.forEach((node, i) => {
      const op = node.opType!;
      ops[op] = (ops[op] ?? 0) + 1;
      const step: Step = {
        node,
        op,
        name: nodeName(node, i),
        def: OPS[op]!,
        attrs: new Attributes(node),
        inputs: node.input ?? [],
        outputs: node.output ?? [],
      };
      for (const name of step.inputs) {
        if (name && !known.has(name)) {
          throw new DataError(
            'E_ONNX_MALFORMED',
            `${path}: node '${step.name}' reads '${name}', which no earlier node, input or initializer defines.`,
            {
              details: { path, node: step.name, value: name },
            },
          );
        }
      }
      for (const name of step.outputs) if (name) known.add(name);
      if (!step.inputs.some((name) => weightNames.has(name)) && this.fold(step, opset)) folded++;
      else this.steps.push(step);
    });
    const outputName = outputNames[0]!;
    if (!known.has(outputName))
      throw new DataError('E_ONNX_MALFORMED', `${path}: no node computes the output '${outputName}'.`, { details: { path } });
    const last = this.steps.findIndex((s) => s.op === 'Softmax' && s.outputs[0] === outputName);
    this.finalSoftmax = last;
    this.opset = opset;
    this.info = {
      inputName: input.name ?? '',
      inputShape: inputShapeOf(input, path),
      outputName,
      outputNames,
      opset,
      irVersion: toNumber(model.irVersion),
      producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
      ops,
      parameters,
      folded,
    };
  }

  /**
   * Runs the graph on `x` (`[batch, ...inputShape]`, or channels-last when `nhwc`), inside
   * the caller's `tf.tidy`. With `logSoftmax`, a final Softmax returns log-probabilities.
   *
   * @throws UsageError `E_MODEL_DISPOSED` after `dispose()`.
   */
  run(x: tf.Tensor, options: { nhwc?: boolean; logSoftmax?: boolean; weights?: ReadonlyMap<string, tf.Tensor> } = {}): tf.Tensor {
    if (this.disposed) throw new UsageError('E_MODEL_DISPOSED', 'This imported ONNX model was disposed; load it again.');
    const env = new Map<string, Value>(this.constants);
    for (const [name, t] of options.weights ?? []) env.set(name, tensorValue(t));
    env.set(this.info.inputName, tensorValue(x, options.nhwc === true && x.rank === 4));
    this.steps.forEach((step, i) => {
      const def = options.logSoftmax && i === this.finalSoftmax ? OPS.LogSoftmax! : step.def;
      this.exec(step, def, env, this.opset);
    });
    const out = env.get(this.info.outputName)!;
    return plain(out, this.consts);
  }

  /** Tensors the model owns (cached constant forms), for leak checks. */
  get ownedTensors(): number {
    return this.consts.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.consts.dispose();
    this.constants.clear();
  }

  private exec(step: Step, def: OpDef, env: Map<string, Value>, opset: number): Value[] {
    const inputs = step.inputs.map((name) => (name ? env.get(name) : undefined));
    const ctx: OpContext = { node: step.node, op: step.op, name: step.name, attrs: step.attrs, opset, inputs, consts: this.consts };
    const allHost = inputs.every((v) => v === undefined || v.kind === 'host');
    const out = (allHost && def.host ? def.host(ctx, inputs as (HostValue | undefined)[]) : undefined) ?? def.tensor(ctx);
    step.outputs.forEach((name, k) => {
      if (!name) return;
      const v = out[k];
      if (!v) {
        throw new UsageError(
          'E_ONNX_UNSUPPORTED_ATTRIBUTE',
          `Node '${step.name}' (${step.op}): output ${k} ('${name}') is not supported; use 'onnxruntime:PATH'.`,
          {
            details: { node: step.name, op: step.op, output: k },
          },
        );
      }
      env.set(name, v);
    });
    return out;
  }

  /** Evaluates `step` now when all its inputs are constants; true when folded. */
  private fold(step: Step, opset: number): boolean {
    const inputs = step.inputs.filter(Boolean);
    if (!inputs.every((name) => this.constants.has(name))) return false;
    const env = new Map<string, Value>(this.constants);
    let results: (HostValue | undefined)[] = [];
    // Results are read inside the tidy and returned through a local: tidy walks what it returns.
    tf.tidy(() => {
      const out = this.exec(step, step.def, env, opset);
      results = out.map((v) => {
        if (v.kind === 'host') return hostValue(v, true);
        const t = plain(v, this.consts);
        if (t.size > FOLD_LIMIT) return undefined;
        const data = t.dtype === 'float32' ? Float32Array.from(t.dataSync() as Float32Array) : Array.from(t.dataSync());
        return hostValue({ dtype: t.dtype === 'float32' ? 'float' : 'int', shape: [...t.shape], data }, true);
      });
    });
    if (results.some((r) => r === undefined)) return false;
    step.outputs.forEach((name, k) => {
      if (name && results[k]) this.constants.set(name, results[k]!);
    });
    return true;
  }
}
