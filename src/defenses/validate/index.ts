/**
 * Schema and size limits at the edge: the request body becomes a typed batch here or is
 * refused with a stable code. Checks the batch size, every example's shape (flat or
 * nested), that every value is a finite number, and that values lie in the model's
 * bounds (or clips them, when configured). Texts are checked for type, count, length and
 * well-formed Unicode. Hand-written rather than a generic schema library because it runs
 * on every request over hundreds of numbers, and the checks are few and exact.
 */
import { InputError } from '../../core/errors.js';
import { sizeOf } from '../../core/types.js';
import type { DefenseLayer, GuardContext, ImageBatch, LayerVerdict, ModelView } from '../layer.js';

export interface ValidateOptions {
  /** Most examples per request. */
  maxBatch?: number;
  /** Most characters per text. */
  maxTextLength?: number;
  /** Values outside the model's bounds: refuse the request, or clip them into range. */
  outOfRange?: 'deny' | 'clip';
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const DEFAULTS: Required<ValidateOptions> = { maxBatch: 64, maxTextLength: 10_000, outOfRange: 'deny' };

function bodyObject(body: unknown, field: string, example: string): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('E_BODY_SHAPE', `The request body must be a JSON object with '${field}'; e.g. ${example}.`, {
      details: { field },
    });
  }
  return body as Record<string, unknown>;
}

/**
 * Copies one example (flat, or nested to the model's shape) into `out` at `offset`.
 * Recursion depth is bounded by the shape's rank, so hostile nesting cannot blow the stack.
 */
function copyExample(value: unknown, shape: readonly number[], out: Float32Array, offset: number, index: number): void {
  const size = sizeOf(shape);
  if (!Array.isArray(value)) {
    throw new InputError(
      'E_INPUT_SHAPE',
      `inputs[${index}] must be an array of ${size} numbers (or nested [${shape.join(', ')}]); got ${value === null ? 'null' : typeof value}.`,
      {
        details: { index, expected: shape },
      },
    );
  }
  if (value.length === size && (size !== shape[0] || shape.length === 1 || !Array.isArray(value[0]))) {
    for (let i = 0; i < size; i++) out[offset + i] = numberAt(value[i], index, i);
    return;
  }
  let written = 0;
  const fill = (node: unknown, depth: number): void => {
    const dim = shape[depth] as number;
    if (!Array.isArray(node) || node.length !== dim) {
      throw new InputError(
        'E_INPUT_SHAPE',
        `inputs[${index}] must have shape [${shape.join(', ')}] (or be flat with ${size} values); a level ${depth} has ${Array.isArray(node) ? `length ${node.length}` : typeof node}.`,
        {
          details: { index, expected: shape, depth },
        },
      );
    }
    if (depth === shape.length - 1) {
      for (let i = 0; i < dim; i++) out[offset + written + i] = numberAt(node[i], index, written + i);
      written += dim;
      return;
    }
    for (const child of node) fill(child, depth + 1);
  };
  fill(value, 0);
}

function numberAt(v: unknown, index: number, position: number): number {
  if (typeof v !== 'number') {
    throw new InputError('E_INPUT_TYPE', `inputs[${index}] value ${position} must be a number; got ${v === null ? 'null' : typeof v}.`, {
      details: { index, position },
    });
  }
  // JSON has no NaN or Infinity, but an overflowing literal (1e999) parses to Infinity.
  if (!Number.isFinite(v)) {
    throw new InputError('E_INPUT_NONFINITE', `inputs[${index}] value ${position} is ${v}; every value must be finite.`, {
      details: { index, position },
    });
  }
  return v;
}

/**
 * Turns `{ "inputs": [example, ...] }` into a batch for `model`.
 *
 * @throws InputError `E_BODY_SHAPE`, `E_BATCH_SIZE`, `E_INPUT_SHAPE`, `E_INPUT_TYPE`, `E_INPUT_NONFINITE`, `E_INPUT_RANGE`.
 * @example const batch = parseImageBody({ inputs: [new Array(784).fill(0)] }, model);
 */
export function parseImageBody(body: unknown, model: ModelView, options: ValidateOptions = {}): ImageBatch {
  const o = { ...DEFAULTS, ...options };
  const record = bodyObject(body, 'inputs', `{"inputs": [[${sizeOf(model.inputShape)} numbers]]}`);
  const inputs = record.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw new InputError(
      'E_BODY_SHAPE',
      `'inputs' must be a non-empty array of examples shaped [${model.inputShape.join(', ')}]; got ${inputs === undefined ? 'nothing' : Array.isArray(inputs) ? 'an empty array' : typeof inputs}.`,
    );
  }
  if (inputs.length > o.maxBatch) {
    throw new InputError('E_BATCH_SIZE', `'inputs' holds ${inputs.length} examples; send at most ${o.maxBatch} per request.`, {
      details: { count: inputs.length, max: o.maxBatch },
    });
  }
  const size = sizeOf(model.inputShape);
  const x = new Float32Array(inputs.length * size);
  inputs.forEach((example, i) => copyExample(example, model.inputShape, x, i * size, i));
  const { min, max } = model.bounds;
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v < min || v > max) {
      if (o.outOfRange === 'clip') x[i] = v < min ? min : max;
      else {
        throw new InputError(
          'E_INPUT_RANGE',
          `inputs[${Math.floor(i / size)}] value ${i % size} is ${v}, outside the model's range [${min}, ${max}]; scale the input to that range.`,
          {
            details: { index: Math.floor(i / size), position: i % size, bounds: model.bounds },
          },
        );
      }
    }
  }
  return { x, count: inputs.length, shape: model.inputShape };
}

/**
 * Turns `{ "texts": ["...", ...] }` into checked strings.
 *
 * @throws InputError `E_BODY_SHAPE`, `E_BATCH_SIZE`, `E_TEXT_TYPE`, `E_TEXT_LENGTH`, `E_TEXT_ENCODING`.
 */
export function parseTextBody(body: unknown, options: ValidateOptions = {}): string[] {
  const o = { ...DEFAULTS, ...options };
  const record = bodyObject(body, 'texts', '{"texts": ["some message"]}');
  const texts = record.texts;
  if (!Array.isArray(texts) || texts.length === 0) {
    throw new InputError(
      'E_BODY_SHAPE',
      `'texts' must be a non-empty array of strings; got ${texts === undefined ? 'nothing' : Array.isArray(texts) ? 'an empty array' : typeof texts}.`,
    );
  }
  if (texts.length > o.maxBatch) {
    throw new InputError('E_BATCH_SIZE', `'texts' holds ${texts.length} entries; send at most ${o.maxBatch} per request.`, {
      details: { count: texts.length, max: o.maxBatch },
    });
  }
  return texts.map((t, i) => {
    if (typeof t !== 'string')
      throw new InputError('E_TEXT_TYPE', `texts[${i}] must be a string; got ${t === null ? 'null' : typeof t}.`, {
        details: { index: i },
      });
    if (t.length > o.maxTextLength) {
      throw new InputError('E_TEXT_LENGTH', `texts[${i}] has ${t.length} characters; the limit is ${o.maxTextLength}.`, {
        details: { index: i, max: o.maxTextLength },
      });
    }
    // A JSON escape can encode a lone surrogate, which is not valid Unicode text.
    if (LONE_SURROGATE.test(t))
      throw new InputError('E_TEXT_ENCODING', `texts[${i}] holds a lone UTF-16 surrogate; send well-formed Unicode.`, {
        details: { index: i },
      });
    return t;
  });
}

/**
 * The validation layer: parses `ctx.body` into `ctx.batch` or `ctx.texts`. A bad body
 * throws (the server answers 400 with the code), so the layer itself only ever passes.
 */
export function validateLayer(options: ValidateOptions = {}): DefenseLayer {
  return {
    id: 'validate',
    stage: 'input',
    check(ctx: GuardContext): LayerVerdict {
      if (ctx.model.kind === 'text') {
        ctx.texts = parseTextBody(ctx.body, options);
        return { decision: 'pass', score: ctx.texts.length };
      }
      ctx.batch = parseImageBody(ctx.body, ctx.model, options);
      return { decision: 'pass', score: ctx.batch.count };
    },
  };
}
