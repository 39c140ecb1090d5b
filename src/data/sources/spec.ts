/**
 * Data source specs: the string form written on the command line (`csv:data/iris.csv`,
 * `folder:imgs/?resize=32x32&channels=3`) and the object form written in a plan
 * (`{ kind: 'csv', path, labelColumn }`). Both parse to the same typed value, checked by
 * one zod schema, so a plan and a flag can never mean different things.
 */
import { z } from 'zod';

import { UsageError } from '../../core/errors.js';

/** Largest image side accepted by `size` and `resize` (a bound on the memory one example takes). */
export const MAX_IMAGE_SIDE = 16_384;

const side = z.number().int().min(1).max(MAX_IMAGE_SIDE);
const positive = z.number().int().positive();
const path = z.string().min(1);
const boundsSchema = z
  .object({ min: z.number().finite(), max: z.number().finite() })
  .strict()
  .refine((b) => b.min <= b.max, { message: 'bounds.min must be <= bounds.max' });
/** `true` divides uint8 values by 255; a number divides every value by it. */
const scaleSchema = z.union([z.boolean(), z.number().finite().positive()]);

const mnistObject = z.object({ kind: z.literal('mnist') }).strict();

const idxObject = z
  .object({
    kind: z.literal('idx'),
    images: path,
    labels: path,
    name: z.string().optional(),
    numClasses: positive.optional(),
    maxBytes: positive.optional(),
  })
  .strict();

const folderObject = z
  .object({
    kind: z.literal('folder'),
    path,
    /** Resize every image to `[height, width]` (bilinear). */
    resize: z.tuple([side, side]).optional(),
    /** Require every image to be `[height, width]` (without resizing). */
    size: z.tuple([side, side]).optional(),
    /** 1 (grayscale) or 3 (RGB); default 1 if every image is grayscale, else 3. Alpha is dropped. */
    channels: z.union([z.literal(1), z.literal(3)]).optional(),
    name: z.string().optional(),
    maxFiles: positive.optional(),
    maxPixels: positive.optional(),
    maxBytes: positive.optional(),
  })
  .strict();

const arrayOptions = {
  scale: scaleSchema.optional(),
  numClasses: positive.optional(),
  bounds: boundsSchema.optional(),
  name: z.string().optional(),
  maxBytes: positive.optional(),
};

const npyObject = z.object({ kind: z.literal('npy'), x: path, y: path, ...arrayOptions }).strict();

const npzObject = z
  .object({ kind: z.literal('npz'), path, xKey: z.string().min(1).optional(), yKey: z.string().min(1).optional(), ...arrayOptions })
  .strict();

const csvObject = z
  .object({
    kind: z.literal('csv'),
    path,
    /** Column holding the class (default `label`): integers, or names mapped to sorted indices. */
    labelColumn: z.string().min(1).optional(),
    /** Class names in label order; labels must be among them. */
    classes: z.array(z.string().min(1)).min(1).optional(),
    /** Columns that are neither features nor the label (an id column, say). */
    ignoreColumns: z.array(z.string()).optional(),
    /** Declared range of every feature; default: each feature's min and max in the data. */
    bounds: boundsSchema.optional(),
    delimiter: z.string().length(1).optional(),
    numClasses: positive.optional(),
    name: z.string().optional(),
    maxBytes: positive.optional(),
  })
  .strict();

/** The object form of every data source, discriminated by `kind`. */
export const dataSourceObjectSchema = z.discriminatedUnion('kind', [mnistObject, idxObject, folderObject, npyObject, npzObject, csvObject]);

export type MnistSource = z.infer<typeof mnistObject>;
export type IdxSource = z.infer<typeof idxObject>;
export type FolderSource = z.infer<typeof folderObject>;
export type NpySource = z.infer<typeof npyObject>;
export type NpzSource = z.infer<typeof npzObject>;
export type CsvSource = z.infer<typeof csvObject>;
/** A parsed data source: `'mnist'` (kept as a string for older plans and model records) or an object form. */
export type DataSourceSpec = 'mnist' | z.infer<typeof dataSourceObjectSchema>;

/** The kinds a spec string may start with. */
export const DATA_SOURCE_KINDS = ['mnist', 'idx', 'folder', 'npy', 'npz', 'csv'] as const;
const STRING_FORMS = ['mnist', 'idx:IMAGES,LABELS', 'folder:DIR', 'npy:X.npy,Y.npy', 'npz:FILE.npz', 'csv:FILE'];

/**
 * The zod schema of a data source as a plan writes it: a spec string or an object form.
 * Either parses to a {@link DataSourceSpec}.
 *
 * @example
 * dataSourceSchema.parse('csv:data/iris.csv?labelColumn=species');
 * dataSourceSchema.parse({ kind: 'folder', path: 'imgs', resize: [32, 32], channels: 3 });
 */
export const dataSourceSchema = z.union([
  z.string().transform((text, ctx): DataSourceSpec => {
    try {
      return parseDataSpec(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
  dataSourceObjectSchema,
]);

/**
 * Parses a data spec string: `mnist`, `idx:IMAGES,LABELS`, `folder:DIR`, `npy:X.npy,Y.npy`,
 * `npz:FILE.npz` or `csv:FILE`, optionally followed by `?key=value&key=value` options of
 * the object form (`resize=32x32`, `channels=1`, `labelColumn=species`, `scale=true`,
 * `xKey=images`, `ignoreColumns=id,date`, `bounds=0,1`).
 *
 * @throws {UsageError} `E_UNKNOWN_DATASET` for a string of no known kind (listing the
 *   forms); `E_DATASET_SPEC` for a known kind with wrong paths or options.
 * @example
 * parseDataSpec('folder:imgs/?resize=28x28&channels=1');
 * // { kind: 'folder', path: 'imgs/', resize: [28, 28], channels: 1 }
 */
export function parseDataSpec(text: string): DataSourceSpec {
  if (text === 'mnist') return 'mnist';
  const colon = text.indexOf(':');
  const kind = colon < 0 ? text : text.slice(0, colon);
  if (colon < 0 || !(DATA_SOURCE_KINDS as readonly string[]).includes(kind) || kind === 'mnist') {
    throw new UsageError('E_UNKNOWN_DATASET', `Unknown data '${text}'; use one of ${STRING_FORMS.join(', ')}.`, {
      details: { value: text, choices: STRING_FORMS },
    });
  }
  const rest = text.slice(colon + 1);
  const query = rest.indexOf('?');
  const target = query < 0 ? rest : rest.slice(0, query);
  const options = query < 0 ? {} : parseOptions(rest.slice(query + 1), text);
  const paths = target.split(',');
  const two = (a: string, b: string): Record<string, string | undefined> => (paths.length === 2 ? { [a]: paths[0], [b]: paths[1] } : {});
  const located: Record<string, unknown> =
    kind === 'idx' ? two('images', 'labels') : kind === 'npy' ? two('x', 'y') : paths.length === 1 ? { path: target } : {};
  if (Object.keys(located).length === 0 || Object.values(located).some((p) => !p)) {
    const form = STRING_FORMS.find((f) => f.startsWith(`${kind}:`));
    throw new UsageError('E_DATASET_SPEC', `Data '${text}' does not name its files as ${form} does; write it as ${form}.`, {
      details: { value: text, form },
    });
  }
  return checkSpec({ kind, ...located, ...options }, text);
}

/**
 * Checks a spec in either form, from a plan, a model record or user code.
 *
 * @throws {UsageError} As {@link parseDataSpec}; for an object of no known kind,
 *   `E_UNKNOWN_DATASET`; for a known kind with missing or bad fields, `E_DATASET_SPEC`.
 * @example
 * toDataSourceSpec({ kind: 'csv', path: 'iris.csv', labelColumn: 'species' });
 */
export function toDataSourceSpec(spec: unknown): DataSourceSpec {
  if (typeof spec === 'string') return parseDataSpec(spec);
  const kind = (spec as { kind?: unknown } | null)?.kind;
  if (typeof spec !== 'object' || spec === null || !(DATA_SOURCE_KINDS as readonly unknown[]).includes(kind)) {
    throw new UsageError(
      'E_UNKNOWN_DATASET',
      `Unknown data set ${describe(spec)}; valid choices are 'mnist', the strings ${STRING_FORMS.join(', ')}, or { kind: 'idx', images, labels } and the other object forms (kinds ${DATA_SOURCE_KINDS.join(', ')}).`,
      { details: { spec, choices: DATA_SOURCE_KINDS } },
    );
  }
  return checkSpec(spec, describe(spec));
}

/**
 * The string form of a spec, as recorded in provenance: `kind:paths` followed by the
 * options in a fixed order, so the same source always reads the same.
 *
 * @throws Nothing.
 * @example
 * dataSpecString({ kind: 'npy', x: 'x.npy', y: 'y.npy', scale: true }); // 'npy:x.npy,y.npy?scale=true'
 */
export function dataSpecString(spec: DataSourceSpec): string {
  if (spec === 'mnist' || spec.kind === 'mnist') return 'mnist';
  const { kind, ...fields } = spec as Record<string, unknown> & { kind: string };
  const pathKeys = kind === 'idx' ? ['images', 'labels'] : kind === 'npy' ? ['x', 'y'] : ['path'];
  const head = `${kind}:${pathKeys.map((k) => String(fields[k])).join(',')}`;
  const options = Object.keys(fields)
    .filter((k) => !pathKeys.includes(k) && fields[k] !== undefined)
    .sort()
    .map((k) => `${k}=${formatOption(k, fields[k])}`);
  return options.length === 0 ? head : `${head}?${options.join('&')}`;
}

function checkSpec(candidate: unknown, shown: string): DataSourceSpec {
  const result = dataSourceObjectSchema.safeParse(candidate);
  if (result.success) return result.data.kind === 'mnist' ? 'mnist' : result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`);
  throw new UsageError('E_DATASET_SPEC', `Data set ${shown} is not valid: ${problems.join('; ')}.`, {
    details: { spec: candidate, issues: problems },
  });
}

const NUMBER_OPTIONS = new Set(['channels', 'numClasses', 'maxFiles', 'maxPixels', 'maxBytes']);
const PAIR_OPTIONS = new Set(['resize', 'size']);
const LIST_OPTIONS = new Set(['classes', 'ignoreColumns']);

// Query values are strings; turn each into what the object form expects so one schema checks both forms.
function parseOptions(query: string, text: string): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) {
      throw new UsageError('E_DATASET_SPEC', `Data '${text}': option '${part}' is not key=value (e.g. resize=32x32).`, {
        details: { value: text, option: part },
      });
    }
    const key = decodeURIComponent(part.slice(0, eq));
    const value = decodeURIComponent(part.slice(eq + 1));
    options[key] = optionValue(key, value);
  }
  return options;
}

function optionValue(key: string, value: string): unknown {
  if (NUMBER_OPTIONS.has(key)) return Number(value);
  if (PAIR_OPTIONS.has(key)) return value.split(/[x,]/).map(Number);
  if (LIST_OPTIONS.has(key)) return value.split(',');
  if (key === 'bounds') {
    const [min, max] = value.split(',').map(Number);
    return { min, max };
  }
  if (key === 'scale') return value === 'true' ? true : value === 'false' ? false : Number(value);
  if (key === 'delimiter' && value === 'tab') return '\t';
  return value;
}

function formatOption(key: string, value: unknown): string {
  if (PAIR_OPTIONS.has(key)) return (value as number[]).join('x');
  if (Array.isArray(value)) return value.join(',');
  if (key === 'bounds') return `${(value as { min: number }).min},${(value as { max: number }).max}`;
  return String(value);
}

function describe(spec: unknown): string {
  return typeof spec === 'string' ? `'${spec}'` : (JSON.stringify(spec) ?? String(spec));
}
