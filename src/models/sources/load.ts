/**
 * Naming a model source and loading it. A plan or the command line names a model as a
 * string shorthand (`onnx:PATH`, `onnxruntime:PATH`, `tfjs:PATH`, `http://…`, a bare
 * `*.onnx` path, or the directory of a model Rampart saved) or as an object
 * `{ kind, path | url, preprocess, … }`; both parse to one {@link ModelSourceSpec}, and
 * {@link loadModelSource} turns it into a {@link LoadedModel} at the access level the source
 * offers, with the identity the registry records it under.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { DataError, UsageError } from '../../core/errors.js';
import {
  describeServeTarget,
  httpTargetSpecSchema,
  loadHttpModel,
  type HttpTargetSpecInput,
  type ServeTargetInput,
} from '../http/index.js';
import { loadOnnxModel } from '../onnx/index.js';
import { loadOnnxRuntimeModel } from '../onnxruntime/index.js';
import { loadClassifierModel } from '../store.js';
import { loadTfjsModel } from '../tfjs-source.js';
import type { LoadedModel } from './types.js';

/** Longest path or URL a source may name. */
const MAX_LOCATION = 4096;
/** Files a saved-model directory may hold before its digest is refused (model.json, weights, companions). */
const MAX_DIR_FILES = 64;

export const preprocessingSchema = z
  .object({
    layout: z.enum(['nhwc', 'nchw']).optional(),
    scale: z.number().positive().finite().optional(),
    mean: z.array(z.number().finite()).min(1).max(64).optional(),
    std: z.array(z.number().positive().finite()).min(1).max(64).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.mean === undefined) !== (p.std === undefined))
      ctx.addIssue({ code: 'custom', path: [p.mean ? 'std' : 'mean'], message: 'mean and std go together (one value per channel each)' });
    else if (p.mean && p.std && p.mean.length !== p.std.length)
      ctx.addIssue({ code: 'custom', path: ['std'], message: `must have as many values as mean (${p.mean.length})` });
  });

const location = z.string().min(1).max(MAX_LOCATION);
const fileSource = <K extends 'onnx' | 'onnxruntime' | 'tfjs'>(kind: K) =>
  z.object({ kind: z.literal(kind), path: location, preprocess: preprocessingSchema.optional() }).strict();

const builtSourceObject = z.object({ kind: z.literal('built'), path: location }).strict();
const onnxSourceObject = fileSource('onnx');
const onnxruntimeSourceObject = fileSource('onnxruntime');
const tfjsSourceObject = fileSource('tfjs');
// The HTTP target's own schema checks every field (mapping, auth, limits). inputShape and numClasses may be left out for a
// `rampart serve` endpoint, which describes its model at /v1/models; the loader reads them there.
const httpSourceObject = z
  .object({ kind: z.literal('http'), url: location.regex(/^https?:\/\//, 'must start with http:// or https://') })
  .catchall(z.unknown())
  .superRefine((value, ctx) => {
    const { kind: _kind, ...rest } = value;
    const filled = { inputShape: [1], numClasses: 2, ...rest };
    const checked = httpTargetSpecSchema.safeParse(filled);
    if (!checked.success)
      for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  });

const sourceObject = z.discriminatedUnion('kind', [
  builtSourceObject,
  onnxSourceObject,
  onnxruntimeSourceObject,
  tfjsSourceObject,
  httpSourceObject,
]);

export type BuiltSourceSpec = z.infer<typeof builtSourceObject>;
export type FileSourceSpec = z.infer<typeof onnxSourceObject> | z.infer<typeof onnxruntimeSourceObject> | z.infer<typeof tfjsSourceObject>;
/** An HTTP source: the HTTP target's spec, whose shape and classes a `rampart serve` endpoint may supply. */
export type HttpSourceSpec = { kind: 'http' } & ServeTargetInput;
/** A model source, normalised: what {@link loadModelSource} takes. */
export type ModelSourceSpec = BuiltSourceSpec | FileSourceSpec | HttpSourceSpec;

const SHORTHAND_HELP =
  "'onnx:PATH', 'onnxruntime:PATH', 'tfjs:PATH', 'http://…' or 'https://…', a file ending in .onnx, or the directory of a model Rampart saved";

/** The shorthand as a spec, or a reason it is not one. */
function fromShorthand(text: string): ModelSourceSpec | string {
  const trimmed = text.trim();
  if (trimmed === '') return `is empty; use ${SHORTHAND_HELP}`;
  if (trimmed.length > MAX_LOCATION) return `is longer than ${MAX_LOCATION} characters`;
  // A bare URL is a scores endpoint, such as a `rampart serve`; the object form maps any other.
  if (/^https?:\/\//i.test(trimmed)) return { kind: 'http', url: trimmed, output: 'scores' };
  const prefixed = /^(onnx|onnxruntime|tfjs|built|http):(.*)$/.exec(trimmed);
  if (prefixed) {
    const kind = prefixed[1] as 'onnx' | 'onnxruntime' | 'tfjs' | 'built' | 'http';
    const rest = prefixed[2] ?? '';
    if (kind === 'http')
      return /^https?:\/\//i.test(rest)
        ? { kind: 'http', url: rest, output: 'scores' }
        : `'http:' must be followed by a URL (http:https://host/predict)`;
    if (rest === '') return `'${kind}:' names no path; write ${kind}:PATH`;
    return { kind, path: rest };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed))
    return `uses a scheme Rampart does not load ('${trimmed.split(':')[0]}'); use ${SHORTHAND_HELP}`;
  if (/\.onnx$/i.test(trimmed)) return { kind: 'onnx', path: trimmed };
  return { kind: 'built', path: trimmed };
}

/**
 * A model source as a plan writes it: the string shorthand or the object form, parsed to a
 * {@link ModelSourceSpec}.
 */
export const modelSourceSchema = z
  .union([
    z.string().transform((text, ctx): ModelSourceSpec => {
      const spec = fromShorthand(text);
      if (typeof spec === 'string') {
        ctx.addIssue({ code: 'custom', message: spec });
        return z.NEVER;
      }
      return spec;
    }),
    sourceObject,
  ])
  // The object form's http fields were checked by the HTTP target's schema (see httpSourceObject).
  .transform((spec) => spec as ModelSourceSpec);

/** A model source as written (string shorthand or object). */
export type ModelSourceInput = z.input<typeof modelSourceSchema>;

/**
 * Parses a model source from the command line or code.
 *
 * @throws UsageError `E_MODEL_SOURCE` naming what is wrong and the forms that work.
 * @example parseModelSource('onnx:fixtures/onnx/mnist-cnn.onnx') // { kind: 'onnx', path: 'fixtures/onnx/mnist-cnn.onnx' }
 */
export function parseModelSource(value: ModelSourceInput | ModelSourceSpec): ModelSourceSpec {
  const parsed = modelSourceSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  let issue = parsed.error.issues[0];
  // A union's issue holds each form's: show the one that fits the value (a string's, or an object's).
  if (issue?.code === 'invalid_union') {
    const fits = issue.errors.find((e) => !(e.length === 1 && e[0]?.code === 'invalid_type' && e[0].path.length === 0));
    issue = fits?.[0] ?? issue;
  }
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')} ` : '';
  throw new UsageError(
    'E_MODEL_SOURCE',
    `Model source ${JSON.stringify(value)} is not valid: ${where}${issue?.message ?? 'invalid'}. Use ${SHORTHAND_HELP}, or { kind, path | url, preprocess }.`,
    { details: { value, issues: parsed.error.issues } },
  );
}

/** Where the source lives, for messages and reports. */
export function describeModelSource(spec: ModelSourceSpec): string {
  return spec.kind === 'http' ? spec.url : `${spec.kind}:${spec.path}`;
}

/** Whether the source can be differentiated through (and so fine-tuned or attacked with gradients). */
export function isWhiteBoxSource(spec: ModelSourceSpec): boolean {
  return spec.kind === 'built' || spec.kind === 'onnx' || spec.kind === 'tfjs';
}

/**
 * Loads the model a source names.
 *
 * @throws UsageError `E_MODEL_SOURCE` for a source that does not parse.
 * @throws DataError from the loader: `E_MODEL_MISSING`, `E_MODEL_CORRUPT`, `E_MODEL_METADATA`, `E_MODEL_DIGEST`, `E_ONNX_*`,
 *   `E_TARGET_*` (an endpoint that does not answer); UsageError `E_ONNX_UNSUPPORTED_OP`; InputError `E_PREPROCESS`;
 *   ConfigError `E_HTTP_TARGET_SPEC`, `E_HTTP_AUTH_ENV`; EngineError `E_ORT_UNAVAILABLE`, `E_ORT_SESSION`.
 * @example
 * const loaded = await loadModelSource('onnx:fixtures/onnx/mnist-cnn.onnx');
 * try { console.log(loaded.identity); } finally { loaded.dispose(); }
 */
export async function loadModelSource(source: ModelSourceInput | ModelSourceSpec): Promise<LoadedModel> {
  const spec = parseModelSource(source);
  switch (spec.kind) {
    case 'built':
      return loadBuiltModel(spec);
    case 'onnx':
      return loadOnnxModel(fileSpec(spec));
    case 'onnxruntime':
      return loadOnnxRuntimeModel(fileSpec(spec));
    case 'tfjs':
      return loadTfjsModel(fileSpec(spec));
    case 'http':
      return loadHttpSource(spec);
  }
}

function fileSpec(spec: FileSourceSpec): { path: string; preprocess?: FileSourceSpec['preprocess'] } {
  return { path: spec.path, ...(spec.preprocess ? { preprocess: spec.preprocess } : {}) };
}

/**
 * An HTTP source. One that declares no input shape or class count is taken to be a
 * `rampart serve`, whose `GET /v1/models` supplies them (and the predict URL, and bounds).
 *
 * @throws as {@link loadHttpModel} and {@link describeServeTarget}.
 */
export async function loadHttpSource(spec: HttpSourceSpec): Promise<LoadedModel> {
  const { kind: _kind, ...target } = spec;
  const complete: HttpTargetSpecInput =
    target.inputShape !== undefined && target.numClasses !== undefined
      ? (target as HttpTargetSpecInput)
      : await describeServeTarget(target);
  return loadHttpModel(complete);
}

/**
 * A model Rampart saved (or any TF.js LayersModel directory), white-box, named by the
 * digest of its files.
 *
 * @throws DataError as `loadClassifierModel` does, and `E_MODEL_DIGEST` when the directory cannot be hashed.
 */
export async function loadBuiltModel(spec: BuiltSourceSpec): Promise<LoadedModel> {
  const stored = await loadClassifierModel(spec.path);
  let disposed = false;
  const dispose = (): void => {
    if (disposed) return;
    disposed = true;
    stored.model.dispose();
  };
  try {
    const digest = await directoryDigest(spec.path);
    return { classifier: stored.classifier, source: 'built', identity: { kind: 'file', digest, path: spec.path }, dispose };
  } catch (error) {
    dispose();
    throw error;
  }
}

function fileSha256(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/**
 * The content digest of a model directory: sha256 over its regular files' names and
 * digests, in name order, so the same files anywhere give the same identity.
 *
 * @throws DataError `E_MODEL_DIGEST` when the directory cannot be read or holds more than 64 files.
 */
export async function directoryDigest(dir: string): Promise<string> {
  try {
    const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
    if (entries.length > MAX_DIR_FILES) throw new Error(`it holds ${entries.length} files, more than the ${MAX_DIR_FILES} a model may`);
    entries.sort();
    const hash = createHash('sha256');
    for (const name of entries) {
      const path = join(dir, name);
      hash.update(`${name}\0${(await stat(path)).size}\0${await fileSha256(path)}\n`);
    }
    return hash.digest('hex');
  } catch (error) {
    throw new DataError(
      'E_MODEL_DIGEST',
      `Cannot hash the model directory ${dir}: ${(error as Error).message}. Point at a model directory.`,
      {
        cause: error,
        details: { path: dir },
      },
    );
  }
}

export type { LoadedModel, ModelIdentity, ModelSourceKind, Preprocessing } from './types.js';
