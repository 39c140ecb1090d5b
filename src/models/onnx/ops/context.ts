/**
 * What an op implementation sees: its node, attributes, opset, input values and the
 * model's constant cache; and the typed errors ops raise.
 */
import { DataError, UsageError } from '../../../core/errors.js';
import type { Attributes, NodeProto } from '../proto.js';
import type { ConstCache, HostValue, TensorValue, Value } from '../values.js';

export interface OpContext {
  readonly node: NodeProto;
  readonly op: string;
  /** The node's name, or its first output when unnamed. */
  readonly name: string;
  readonly attrs: Attributes;
  /** The model's default-domain opset version. */
  readonly opset: number;
  /** Inputs in order; `undefined` for an omitted optional input (empty name). */
  readonly inputs: readonly (Value | undefined)[];
  readonly consts: ConstCache;
}

/**
 * One op: `tensor` runs on TF.js tensors (differentiable); `host` computes on small host
 * arrays when every input is one (shape chains, constant folding) and returns undefined
 * when it cannot (then `tensor` runs).
 */
export interface OpDef {
  tensor(ctx: OpContext): Value[];
  host?(ctx: OpContext, inputs: readonly (HostValue | undefined)[]): Value[] | undefined;
}

/** A node whose attributes or inputs ask for something the importer does not do. */
export function unsupported(ctx: OpContext, what: string): UsageError {
  return new UsageError(
    'E_ONNX_UNSUPPORTED_ATTRIBUTE',
    `Node '${ctx.name}' (${ctx.op}) uses ${what}, which the ONNX importer does not support; run the model as a score target with 'onnxruntime:PATH' instead.`,
    { details: { node: ctx.name, op: ctx.op, what } },
  );
}

/** Input `i`, required. */
export function input(ctx: OpContext, i: number): Value {
  const v = ctx.inputs[i];
  if (!v)
    throw new DataError(
      'E_ONNX_MALFORMED',
      `Node '${ctx.name}' (${ctx.op}) lacks its required input ${i}; the file is not a valid ONNX graph.`,
      {
        details: { node: ctx.name },
      },
    );
  return v;
}

/**
 * Input `i` as a host value (a constant or a shape chain).
 *
 * @throws UsageError `E_ONNX_DYNAMIC` when it is computed from the data.
 */
export function hostInput(ctx: OpContext, i: number, what: string): HostValue {
  const v = input(ctx, i);
  if (v.kind !== 'host') {
    throw new UsageError(
      'E_ONNX_DYNAMIC',
      `Node '${ctx.name}' (${ctx.op}) takes its ${what} from the data; the importer needs it constant or derived from shapes. Use 'onnxruntime:PATH' for this model.`,
      { details: { node: ctx.name, op: ctx.op, input: i } },
    );
  }
  return v;
}

/** An optional host input as numbers, else the attribute `attr` (older opsets), else `fallback`. */
export function intsFrom(ctx: OpContext, i: number, attr: string, fallback?: number[]): number[] | undefined {
  if (ctx.inputs[i]) return Array.from(hostInput(ctx, i, attr).data);
  return ctx.attrs.ints(attr) ?? fallback;
}

/** A scalar from an optional host input, or `fallback`. */
export function scalarFrom(ctx: OpContext, i: number, what: string, fallback: number): number {
  if (!ctx.inputs[i]) return fallback;
  const v = hostInput(ctx, i, what);
  return v.data[0] ?? fallback;
}

export function isTensor(v: Value | undefined): v is TensorValue {
  return v?.kind === 'tensor';
}

/** Largest pad accepted on one side of one axis: padding allocates, so it is bounded like every other size. */
export const MAX_PAD = 4096;

/** @throws UsageError `E_ONNX_UNSUPPORTED_ATTRIBUTE` for negative pads or pads above {@link MAX_PAD}. */
export function checkPads(ctx: OpContext, pads: readonly number[]): void {
  if (pads.some((p) => p < 0)) throw unsupported(ctx, 'negative pads');
  if (pads.some((p) => p > MAX_PAD)) throw unsupported(ctx, `pads above ${MAX_PAD}`);
}
