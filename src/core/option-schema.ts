/**
 * Zod schemas for the options of attacks and training objectives, and the one parser that
 * turns a schema's verdict into a RampartError. The options arrive as loose values (plans,
 * CLI flags, HTTP bodies, user code), so each component declares a strict schema and its
 * registry parses with it; the messages name the component, the option, what it must be
 * and the valid option names, as the hand-written checks they replace did.
 */
import { z } from 'zod';
import { UsageError, listChoices } from './errors.js';

/** A number field whose every failure reads "must be <expected>". */
function numberField(expected: string, ok: (value: number) => boolean) {
  return z.number({ error: `must be ${expected}` }).refine(ok, { error: `must be ${expected}` });
}

/** A whole number >= `min`. */
export function wholeNumber(min = 1) {
  return numberField(`a whole number >= ${min}`, (v) => Number.isInteger(v) && v >= min);
}

/** A finite number > 0. */
export function positiveNumber() {
  return numberField('a number > 0', (v) => Number.isFinite(v) && v > 0);
}

/** A finite number >= 0. */
export function nonNegativeNumber() {
  return numberField('a number >= 0', (v) => Number.isFinite(v) && v >= 0);
}

/** A number in [lo, hi]. */
export function numberIn(lo: number, hi: number, lowOpen = false) {
  const above = (v: number): boolean => (lowOpen ? v > lo : v >= lo);
  return numberField(`a number in ${lowOpen ? '(' : '['}${lo}, ${hi}]`, (v) => Number.isFinite(v) && above(v) && v <= hi);
}

/** true or false. */
export function flag() {
  return z.boolean({ error: 'must be true or false' });
}

/** One of a fixed list of strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be ${listChoices(values)}` });
}

/** A plain object (not null, not an array), checked further by its consumer. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value);
  return JSON.stringify(value) ?? String(value);
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let at = root;
  for (const key of path) at = isPlainObject(at) || Array.isArray(at) ? (at as Record<PropertyKey, unknown>)[key] : undefined;
  return at;
}

export interface OptionParse {
  /** The component the options belong to, e.g. `pgd` or `pgd-at`; it starts every message. */
  owner: string;
  /** The stable error code, e.g. `E_ATTACK_OPTION`. */
  code: string;
  /** Extra structured facts for every error (e.g. `{ objective: 'pgd-at' }`). */
  details?: Record<string, unknown>;
  /** Option names accepted beside the schema's, which the caller parses itself (listed in errors). */
  alsoValid?: readonly string[];
}

/**
 * Parses loose options with a strict object schema. Keys whose value is `undefined` count
 * as absent (spread-built option objects carry them).
 *
 * @throws UsageError `code` naming the option, what it must be and the value given; for
 *   options the schema does not know, naming them and the valid ones. A custom issue may
 *   carry the underlying error as `params.cause`, which becomes the error's `cause`.
 * @example const o = parseOptions({ owner: 'pgd', code: 'E_ATTACK_OPTION' }, pgdOptions, { steps: 10 });
 */
export function parseOptions<S extends z.ZodObject>(parse: OptionParse, schema: S, value: unknown): z.output<S> {
  const { owner, code } = parse;
  if (!isPlainObject(value)) {
    throw new UsageError(code, `${owner} options must be an object; got ${describe(value)}.`, { details: { ...parse.details, value } });
  }
  const defined = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
  const result = schema.safeParse(defined);
  if (result.success) return result.data;
  const valid = [...Object.keys(schema.shape), ...(parse.alsoValid ?? [])];
  // An unknown name comes first: a misspelt option also looks like a missing one.
  const issues = result.error.issues;
  const issue = (issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]) as z.core.$ZodIssue;
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys;
    const known = valid.length > 0 ? `its options are ${listChoices(valid)}` : 'it takes no options';
    throw new UsageError(code, `${owner} has no option ${listChoices(names)}; ${known}.`, {
      details: { ...parse.details, unknown: names, valid },
    });
  }
  const name = issue.path.map(String).join('.');
  const given = valueAt(defined, issue.path);
  const message = issue.message.startsWith('must be') ? `${issue.message}; got ${describe(given)}.` : issue.message;
  const params = (issue as { params?: { cause?: unknown; reason?: unknown } }).params;
  throw new UsageError(code, `${owner} option '${name}' ${message}`, {
    details: { ...parse.details, option: name, value: given, valid, ...(params?.reason === undefined ? {} : { reason: params.reason }) },
    ...(params?.cause === undefined ? {} : { cause: params.cause }),
  });
}
