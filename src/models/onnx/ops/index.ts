/** The ops the importer runs, by ONNX op type (default domain). */
import { CONV_OPS } from './conv.js';
import { ELEMENTWISE_OPS } from './elementwise.js';
import { LINEAR_OPS } from './linear.js';
import { SHAPE_OPS } from './shape.js';
import type { OpDef } from './context.js';

export type { OpContext, OpDef } from './context.js';

export const OPS: Readonly<Record<string, OpDef>> = { ...CONV_OPS, ...ELEMENTWISE_OPS, ...LINEAR_OPS, ...SHAPE_OPS };

/** Supported op types, sorted: what error messages and `rampart model check` list. */
export const SUPPORTED_OPS: readonly string[] = Object.keys(OPS).sort();
