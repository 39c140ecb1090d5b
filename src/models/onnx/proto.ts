/**
 * Reading an ONNX file: the protobuf decode (through `onnx-proto`), with every size checked
 * before anything is allocated for it. The file size is capped before it is read; the
 * parameter count is summed from the initializers' declared dims before any of them is
 * turned into an array, so a hostile file cannot make the importer allocate without bound.
 */
import onnxProto from 'onnx-proto';
import { DataError } from '../../core/errors.js';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

/** Budgets of one import. */
export interface OnnxLimits {
  /** Largest file accepted, in bytes (default 256 MiB). */
  maxFileBytes: number;
  /** Most parameters (initializer and constant elements) accepted (default 64 million, 256 MB as float32). */
  maxParameters: number;
  /** Most graph nodes accepted (default 20,000). */
  maxNodes: number;
}

export const DEFAULT_ONNX_LIMITS: OnnxLimits = { maxFileBytes: 256 * 1024 * 1024, maxParameters: 64_000_000, maxNodes: 20_000 };

/** Element types the importer reads (TensorProto.DataType values). */
export const DTYPE = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, DOUBLE: 11 } as const;
const DTYPE_NAMES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  4: 'uint16',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
  16: 'bfloat16',
};

export function dtypeName(code: number | null | undefined): string {
  return DTYPE_NAMES[code ?? 0] ?? `type ${code ?? 0}`;
}

/** A decoded constant: floats or integers (int64 read as numbers; shape values fit easily). */
export interface ConstantData {
  readonly dtype: 'float' | 'int';
  readonly shape: number[];
  readonly data: Float32Array | number[];
}

/** An int64 as protobufjs gives it (a number or a Long), as a number. */
export function toNumber(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === 'number' ? value : value.toNumber();
}

function malformed(path: string, message: string, cause?: unknown): DataError {
  return new DataError('E_ONNX_MALFORMED', `${path}: ${message}`, { ...(cause === undefined ? {} : { cause }), details: { path } });
}

/**
 * Decodes `bytes` as an ONNX ModelProto and checks the budgets.
 *
 * @throws DataError `E_ONNX_TOO_LARGE` over `maxFileBytes`, `maxNodes` or `maxParameters`;
 *   `E_ONNX_MALFORMED` when the bytes are not an ONNX model with a graph.
 */
export function decodeModel(bytes: Uint8Array, path: string, limits: OnnxLimits = DEFAULT_ONNX_LIMITS): ModelProto {
  checkFileSize(bytes.byteLength, path, limits);
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw malformed(
      path,
      `not an ONNX model (protobuf decode failed: ${(cause as Error).message}); check the file is a complete .onnx export.`,
      cause,
    );
  }
  const graph = model.graph;
  if (!graph || !graph.node || graph.node.length === 0) {
    throw malformed(path, 'the file decodes but holds no graph nodes; it is not an ONNX model (or it is empty).');
  }
  if (graph.node.length > limits.maxNodes) {
    throw new DataError(
      'E_ONNX_TOO_LARGE',
      `${path}: ${graph.node.length} nodes exceed the limit of ${limits.maxNodes}; raise maxNodes if this model is expected.`,
      {
        details: { path, nodes: graph.node.length, limit: limits.maxNodes },
      },
    );
  }
  let params = 0;
  for (const t of graph.initializer ?? []) params += declaredSize(t, path);
  for (const n of graph.node) for (const a of n.attribute ?? []) if (a.t) params += declaredSize(a.t, path);
  if (params > limits.maxParameters) {
    throw new DataError(
      'E_ONNX_TOO_LARGE',
      `${path}: ${params} parameters exceed the limit of ${limits.maxParameters}; raise maxParameters or serve the model through 'onnxruntime:${path}'.`,
      { details: { path, parameters: params, limit: limits.maxParameters } },
    );
  }
  return model;
}

/** @throws DataError `E_ONNX_TOO_LARGE` when `size` is over the file budget. */
export function checkFileSize(size: number, path: string, limits: OnnxLimits): void {
  if (size > limits.maxFileBytes) {
    throw new DataError(
      'E_ONNX_TOO_LARGE',
      `${path} is ${size} bytes, over the limit of ${limits.maxFileBytes}; raise maxFileBytes if this model is expected.`,
      {
        details: { path, bytes: size, limit: limits.maxFileBytes },
      },
    );
  }
}

/** Elements a tensor declares, checked to be a sane shape. */
export function declaredSize(t: TensorProto, path: string): number {
  let size = 1;
  for (const d of t.dims ?? []) {
    const n = toNumber(d);
    if (!Number.isSafeInteger(n) || n < 0) throw malformed(path, `tensor '${t.name ?? '?'}' has a bad dimension ${String(n)}.`);
    size *= n;
  }
  if (!Number.isSafeInteger(size)) throw malformed(path, `tensor '${t.name ?? '?'}' declares too many elements.`);
  return size;
}

/**
 * The values of a TensorProto (raw bytes or typed fields), as float32 or integer numbers.
 *
 * @throws DataError `E_ONNX_MALFORMED` for data that does not match the dims; `E_ONNX_DTYPE` for element types the importer does not read.
 */
export function readTensor(t: TensorProto, path: string): ConstantData {
  const shape = (t.dims ?? []).map(toNumber);
  const size = declaredSize(t, path);
  const type = t.dataType ?? 0;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData ?? []).length > 0) {
    throw new DataError(
      'E_ONNX_EXTERNAL_DATA',
      `${path}: tensor '${t.name ?? '?'}' keeps its data in an external file; save the model with its weights inside (onnx.save(..., save_as_external_data=False)).`,
      { details: { path, tensor: t.name } },
    );
  }
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : undefined;
  const check = (n: number): void => {
    if (n !== size) throw malformed(path, `tensor '${t.name ?? '?'}' holds ${n} values but its dims [${shape.join(', ')}] need ${size}.`);
  };
  const view = raw ? new DataView(raw.buffer, raw.byteOffset, raw.byteLength) : undefined;
  switch (type) {
    case DTYPE.FLOAT: {
      if (view) {
        check(raw!.byteLength / 4);
        const out = new Float32Array(size);
        for (let i = 0; i < size; i++) out[i] = view.getFloat32(i * 4, true);
        return { dtype: 'float', shape, data: out };
      }
      check(t.floatData?.length ?? 0);
      return { dtype: 'float', shape, data: Float32Array.from(t.floatData ?? []) };
    }
    case DTYPE.DOUBLE: {
      if (view) {
        check(raw!.byteLength / 8);
        return { dtype: 'float', shape, data: Float32Array.from({ length: size }, (_, i) => view.getFloat64(i * 8, true)) };
      }
      check(t.doubleData?.length ?? 0);
      return { dtype: 'float', shape, data: Float32Array.from(t.doubleData ?? []) };
    }
    case DTYPE.INT64: {
      if (view) {
        check(raw!.byteLength / 8);
        return { dtype: 'int', shape, data: Array.from({ length: size }, (_, i) => Number(view.getBigInt64(i * 8, true))) };
      }
      check(t.int64Data?.length ?? 0);
      return { dtype: 'int', shape, data: (t.int64Data ?? []).map(toNumber) };
    }
    case DTYPE.INT32:
    case DTYPE.INT8:
    case DTYPE.UINT8:
    case DTYPE.BOOL: {
      if (view) {
        const width = type === DTYPE.INT32 ? 4 : 1;
        check(raw!.byteLength / width);
        const get = (i: number): number =>
          type === DTYPE.INT32 ? view.getInt32(i * 4, true) : type === DTYPE.INT8 ? view.getInt8(i) : view.getUint8(i);
        return { dtype: 'int', shape, data: Array.from({ length: size }, (_, i) => get(i)) };
      }
      check(t.int32Data?.length ?? 0);
      return { dtype: 'int', shape, data: [...(t.int32Data ?? [])] };
    }
    default:
      throw new DataError(
        'E_ONNX_DTYPE',
        `${path}: tensor '${t.name ?? '?'}' is ${dtypeName(type)}; the importer reads float32, float64, int64, int32, int8, uint8 and bool. Convert the model to float32 or use 'onnxruntime:${path}'.`,
        { details: { path, tensor: t.name, dtype: dtypeName(type) } },
      );
  }
}

/** A float attribute, an int attribute... by name, with defaults. */
export class Attributes {
  private readonly byName = new Map<string, AttributeProto>();

  constructor(node: NodeProto) {
    for (const a of node.attribute ?? []) if (a.name) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? toNumber(a.i) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? (a.f ?? fallback) : fallback;
  }

  ints(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map(toNumber) : undefined;
  }

  floats(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a ? [...(a.floats ?? [])] : undefined;
  }

  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): TensorProto | undefined {
    return this.byName.get(name)?.t ?? undefined;
  }
}
