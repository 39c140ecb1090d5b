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
import { loadClassifierModel } from '../store.js';
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
// The HTTP target's own schema (request/response mapping, auth, limits) is wired at merge; until then its fields pass through.
const httpSourceObject = z
  .object({ kind: z.literal('http'), url: location.regex(/^https?:\/\//, 'must start with http:// or https://') })
  .passthrough();

const sourceObject = z.discriminatedUnion('kind', [
  builtSourceObject,
  onnxSourceObject,
  onnxruntimeSourceObject,
  tfjsSourceObject,
  httpSourceObject,
]);

/** A model source, normalised: what {@link loadModelSource} takes. */
export type ModelSourceSpec = z.infer<typeof sourceObject>;
export type BuiltSourceSpec = z.infer<typeof builtSourceObject>;
export type FileSourceSpec = z.infer<typeof onnxSourceObject> | z.infer<typeof onnxruntimeSourceObject> | z.infer<typeof tfjsSourceObject>;
export type HttpSourceSpec = z.infer<typeof httpSourceObject>;

const SHORTHAND_HELP =
  "'onnx:PATH', 'onnxruntime:PATH', 'tfjs:PATH', 'http://…' or 'https://…', a file ending in .onnx, or the directory of a model Rampart saved";

/** The shorthand as a spec, or a reason it is not one. */
function fromShorthand(text: string): ModelSourceSpec | string {
  const trimmed = text.trim();
  if (trimmed === '') return `is empty; use ${SHORTHAND_HELP}`;
  if (trimmed.length > MAX_LOCATION) return `is longer than ${MAX_LOCATION} characters`;
  if (/^https?:\/\//i.test(trimmed)) return { kind: 'http', url: trimmed };
  const prefixed = /^(onnx|onnxruntime|tfjs|built|http):(.*)$/.exec(trimmed);
  if (prefixed) {
    const kind = prefixed[1] as 'onnx' | 'onnxruntime' | 'tfjs' | 'built' | 'http';
    const rest = prefixed[2] ?? '';
    if (kind === 'http')
      return /^https?:\/\//i.test(rest) ? { kind: 'http', url: rest } : `'http:' must be followed by a URL (http:https://host/predict)`;
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
export const modelSourceSchema = z.union([
  z.string().transform((text, ctx): ModelSourceSpec => {
    const spec = fromShorthand(text);
    if (typeof spec === 'string') {
      ctx.addIssue({ code: 'custom', message: spec });
      return z.NEVER;
    }
    return spec;
  }),
  sourceObject,
]);

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

function unavailable(spec: ModelSourceSpec): never {
  throw new UsageError(
    'E_SOURCE_UNAVAILABLE',
    `Model source '${describeModelSource(spec)}' (kind '${spec.kind}') cannot be loaded by this build of Rampart; use a directory of a model Rampart saved (kind 'built').`,
    { details: { kind: spec.kind } },
  );
}

/**
 * Loads the model a source names.
 *
 * @throws UsageError `E_MODEL_SOURCE` for a source that does not parse, `E_SOURCE_UNAVAILABLE` for a kind this build cannot load.
 * @throws DataError from the loader: `E_MODEL_MISSING`, `E_MODEL_CORRUPT`, `E_MODEL_METADATA`, `E_MODEL_DIGEST`...
 * @example
 * const loaded = await loadModelSource('runs/mnist/model');
 * try { console.log(loaded.identity); } finally { loaded.dispose(); }
 */
export async function loadModelSource(source: ModelSourceInput | ModelSourceSpec): Promise<LoadedModel> {
  const spec = parseModelSource(source);
  switch (spec.kind) {
    case 'built':
      return loadBuiltModel(spec);
    case 'onnx':
      return unavailable(spec); // wired at merge: return loadOnnxModel(spec);
    case 'onnxruntime':
      return unavailable(spec); // wired at merge: return loadOnnxRuntimeModel(spec);
    case 'tfjs':
      return unavailable(spec); // wired at merge: return loadTfjsModel(spec);
    case 'http':
      return unavailable(spec); // wired at merge: return loadHttpModel(spec);
  }
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
