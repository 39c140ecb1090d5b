/**
 * Reading a plan: YAML text → schema → typed `Plan`. Every problem is reported at once,
 * each as `path: what is wrong (got value)` with the allowed values where there is a
 * list, so a plan can be fixed in one edit rather than one error per run.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, DataError } from '../../core/errors.js';
import { planSchema, type Plan } from './schema.js';

export interface PlanIssue {
  /** Dotted path with indexes, e.g. `threats[1].epsilon`. */
  path: string;
  message: string;
}

/** A plan that does not validate: `E_PLAN_INVALID` with every issue, or `E_PLAN_YAML` for a syntax error. */
export class PlanError extends ConfigError {
  readonly issues: PlanIssue[];

  constructor(code: string, message: string, issues: PlanIssue[], source?: string) {
    super(code, message, { details: { issues, ...(source === undefined ? {} : { source }) } });
    this.issues = issues;
  }
}

/**
 * Validates a parsed plan object.
 *
 * @throws PlanError `E_PLAN_INVALID` listing every issue as `path: message`.
 * @example const plan = parsePlan({ name: 'demo', threats: [...], ... });
 */
export function parsePlan(raw: unknown, source = 'plan'): Plan {
  const result = planSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => describeIssue(issue, raw));
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`).join('\n');
  throw new PlanError(
    'E_PLAN_INVALID',
    `${source} is not a valid plan (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines}`,
    issues,
    source,
  );
}

/**
 * Parses YAML plan text.
 *
 * @throws PlanError `E_PLAN_YAML` for a YAML syntax error (with line and column), `E_PLAN_INVALID` for schema problems.
 */
export function parsePlanText(text: string, source = 'plan'): Plan {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // Later errors usually follow from the first; show the first few.
    const issues = doc.errors.slice(0, 3).map((e) => {
      const pos = e.linePos?.[0];
      const message = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      return { path: pos ? `line ${pos.line}, column ${pos.col}` : '(document)', message };
    });
    throw new PlanError(
      'E_PLAN_YAML',
      `${source} is not valid YAML:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`,
      issues,
      source,
    );
  }
  return parsePlan(doc.toJS(), source);
}

/**
 * Reads and validates a plan file.
 *
 * @throws DataError `E_PLAN_MISSING` when the file cannot be read.
 * @throws PlanError `E_PLAN_YAML` / `E_PLAN_INVALID`.
 * @example const plan = await loadPlan('examples/rampart.yaml');
 */
export async function loadPlan(path: string): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new DataError(
      'E_PLAN_MISSING',
      `Cannot read plan file ${path}: ${(error as Error).message}. Pass the path of a rampart.yaml, e.g. examples/rampart.yaml.`,
      { cause: error, details: { path } },
    );
  }
  return parsePlanText(text, basename(path));
}

/** `['threats', 1, 'epsilon']` → `threats[1].epsilon`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(plan)' : out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  return JSON.stringify(value) ?? String(value);
}

function quoted(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

/** The object keys the schema allows at `path` (following the input to pick union branches). */
function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] | undefined {
  let current: unknown = schema;
  let value: unknown = input;
  const unwrap = (s: unknown): unknown => {
    let node = s;
    while (node instanceof z.ZodOptional || node instanceof z.ZodDefault || node instanceof z.ZodNullable) node = node.unwrap();
    if (node instanceof z.ZodDiscriminatedUnion || node instanceof z.ZodUnion) {
      const options = node.options as unknown[];
      const objects = options.map(unwrap).filter((o): o is z.ZodObject => o instanceof z.ZodObject);
      const key = node instanceof z.ZodDiscriminatedUnion ? (node.def as { discriminator: string }).discriminator : undefined;
      const match =
        key !== undefined && value !== null && typeof value === 'object'
          ? objects.find((o) => {
              const literal = o.shape[key];
              return literal instanceof z.ZodLiteral && literal.values.has((value as Record<string, never>)[key]);
            })
          : objects[0];
      return match ?? objects[0];
    }
    return node;
  };
  for (const part of [...path, null]) {
    current = unwrap(current);
    if (part === null) break;
    if (current instanceof z.ZodObject) current = current.shape[String(part)];
    else if (current instanceof z.ZodArray) current = current.element;
    else if (current instanceof z.ZodRecord) current = current.valueType;
    else return undefined;
    value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[part] : undefined;
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): PlanIssue {
  const got = valueAt(raw, issue.path);
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'too_big': {
      const op = issue.inclusive ? '≤' : '<';
      if (issue.origin === 'array')
        return { path, message: `must have at most ${String(issue.maximum)} entries (got ${Array.isArray(got) ? got.length : show(got)})` };
      return { path, message: `must be ${op} ${String(issue.maximum)} (got ${show(got)})` };
    }
    case 'too_small': {
      const op = issue.inclusive ? '≥' : '>';
      if (issue.origin === 'array')
        return {
          path,
          message: `must have at least ${String(issue.minimum)} entr${issue.minimum === 1 ? 'y' : 'ies'} (got ${Array.isArray(got) ? got.length : show(got)})`,
        };
      if (issue.origin === 'string') return { path, message: `must not be empty (got ${show(got)})` };
      return { path, message: `must be ${op} ${String(issue.minimum)} (got ${show(got)})` };
    }
    case 'invalid_value':
      return {
        path,
        message: `must be ${issue.values.length === 1 ? quoted(issue.values) : `one of ${quoted(issue.values)}`} (got ${show(got)})`,
      };
    case 'invalid_type': {
      const expected =
        issue.expected === 'int'
          ? 'a whole number'
          : issue.expected === 'object'
            ? 'a mapping'
            : issue.expected === 'array'
              ? 'a list'
              : `a ${issue.expected}`;
      if (got === undefined) return { path, message: `is required (${expected})` };
      return { path, message: `must be ${expected} (got ${show(got)})` };
    }
    case 'unrecognized_keys': {
      const allowed = knownKeysAt(planSchema, issue.path, raw);
      const where = issue.keys.length === 1 ? formatPath([...issue.path, issue.keys[0] as string]) : path;
      const names = issue.keys.length === 1 ? 'unknown field' : `unknown fields ${quoted(issue.keys)}`;
      return { path: where, message: `${names}; allowed fields: ${allowed ? allowed.join(', ') : '(see the README)'}` };
    }
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if (options) return { path, message: `must be one of ${quoted(options)} (got ${show(got)})` };
      // Branches that failed only on the value's type (a string where an object goes) say nothing the others do not.
      const relevant = issue.errors.filter((e) => !(e.length === 1 && e[0]?.code === 'invalid_type' && e[0].path.length === 0));
      const branches = relevant.length > 0 ? relevant : issue.errors;
      const why = branches
        .map((e) => e.map((x) => `${x.path.length > 0 ? `${formatPath(x.path)} ` : ''}${x.message}`).join(', '))
        .join(' | ');
      return { path, message: `${branches.length === 1 ? why : `does not match any allowed form; ${why}`} (got ${show(got)})` };
    }
    case 'invalid_format':
      return { path, message: `${issue.message} (got ${show(got)})` };
    default:
      return { path, message: `${issue.message}${got === undefined || issue.message.includes('(got ') ? '' : ` (got ${show(got)})`}` };
  }
}
