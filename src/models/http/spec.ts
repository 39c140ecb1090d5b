/**
 * How a plan or the command line describes a model behind an HTTP endpoint: where the rows go
 * in the request body, where the scores or the label come back, credentials taken from an
 * environment variable (the value is never stored, logged or put in an error), and the limits
 * that keep an attack from flooding the endpoint: concurrency, request rate, retries with
 * seeded exponential backoff, a timeout, a response-size cap and a per-example query budget.
 */
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { parseJsonPath } from './json-path.js';

const inputPath = z.string().refine((p) => parseJsonPath(p)?.every((s) => s.kind !== 'each') === true, {
  message: "must be a JSON path without [*], such as '$.inputs'",
});
const outputPath = z.string().refine((p) => (parseJsonPath(p)?.filter((s) => s.kind === 'each').length ?? 2) <= 1, {
  message: "must be a JSON path with at most one [*], such as '$.predictions[*].probabilities'",
});
const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name');

/** The largest input a row may have: 16M values (64 MB of float32). */
const MAX_ROW_VALUES = 16 * 1024 * 1024;

export const httpTargetSpecSchema = z
  .strictObject({
    /** The endpoint, http or https, e.g. `http://127.0.0.1:8080/v1/predict`. */
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).max(2000),
    method: z.enum(['POST', 'PUT']).default('POST'),
    /** Where the rows go in the request body (default `$.inputs`), as flat arrays or nested to `inputShape`. */
    input: z
      .strictObject({
        path: inputPath.default('$.inputs'),
        format: z.enum(['flat', 'nested']).default('flat'),
        /** The rest of the request body; the rows are placed into a copy of it. */
        template: z.record(z.string(), z.unknown()).default({}),
      })
      .default({ path: '$.inputs', format: 'flat', template: {} }),
    /** What the endpoint answers per row: class scores (or probabilities), or a class index only. */
    output: z.enum(['scores', 'label']),
    /** Where each row's answer is; default `$.predictions[*].probabilities` (scores) or `$.predictions[*].label`. */
    outputPath: outputPath.optional(),
    /** Extra request headers (not secrets: they may appear in reports). */
    headers: z.record(headerName, z.string().max(2000)).default({}),
    /** The header that carries the credential, e.g. `authorization`; its value is read from `authEnv`. */
    authHeader: headerName.optional(),
    /** The environment variable holding the credential. */
    authEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be an environment variable name')
      .optional(),
    /** Put before the variable's value, e.g. `Bearer ` (default none). */
    authPrefix: z.string().max(32).default(''),
    /** Requests in flight at once (default 4). */
    concurrency: z.int().min(1).max(256).default(4),
    /** Most requests started per second (default unlimited). */
    ratePerSecond: z.number().positive().max(1_000_000).optional(),
    /** Retries of a request that failed on the network, timed out, or got 429 / 5xx (default 3). */
    retries: z.int().min(0).max(10).default(3),
    /** First backoff; doubles per retry with jitter in [0.5, 1) of it, at most `maxBackoffMs` (Retry-After wins if larger, up to that). */
    backoffMs: z.int().min(1).max(60_000).default(100),
    maxBackoffMs: z.int().min(1).max(300_000).default(5_000),
    /** One request's time limit, including reading the answer (default 10 s). */
    timeoutMs: z.int().min(1).max(600_000).default(10_000),
    /** Largest answer read, in bytes (default 8 MiB). */
    maxResponseBytes: z
      .int()
      .min(64)
      .max(256 * 1024 * 1024)
      .default(8 * 1024 * 1024),
    /**
     * Queries one attacked example may spend in one attack run. A query attack (square, hsj)
     * stops an example once it is spent (reported not broken, with its queries); the attack
     * wrapper refuses a run that would exceed examples x budget in total (`E_QUERY_BUDGET`).
     * Clean predictions and an evaluation's own confirmation are outside it. Default: the attack's own.
     */
    maxQueriesPerExample: z.int().min(1).max(100_000_000).optional(),
    /** Rows per request (default 32). */
    batchSize: z.int().min(1).max(4096).default(32),
    /** Per-example input shape, e.g. `[28, 28, 1]`. */
    inputShape: z
      .array(z.int().min(1).max(65_536))
      .min(1)
      .max(4)
      .refine((s) => s.reduce((a, b) => a * b, 1) <= MAX_ROW_VALUES, { message: `must have at most ${MAX_ROW_VALUES} values per row` }),
    numClasses: z.int().min(2).max(100_000),
    bounds: z
      .strictObject({ min: z.number(), max: z.number() })
      .refine((b) => b.min < b.max, { message: 'min must be below max' })
      .default({ min: 0, max: 1 }),
    /** Seeds the backoff jitter. */
    seed: z.int().default(0),
    /** Rows of the fixed probe set whose answers fingerprint the endpoint (default 8). */
    fingerprintProbes: z.int().min(1).max(256).default(8),
    /** Name in reports (default the URL's host and path). */
    id: z.string().min(1).max(200).optional(),
  })
  .refine((s) => (s.authHeader === undefined) === (s.authEnv === undefined), {
    message: 'authHeader and authEnv go together: name the header and the variable that holds its value',
    path: ['authEnv'],
  })
  .refine((s) => s.backoffMs <= s.maxBackoffMs, { message: 'backoffMs must not exceed maxBackoffMs', path: ['backoffMs'] });

/** The spec as written (defaults may be left out). */
export type HttpTargetSpecInput = z.input<typeof httpTargetSpecSchema>;
/** The spec with defaults filled in. */
export type HttpTargetSpec = z.output<typeof httpTargetSpecSchema>;

/**
 * Parses an HTTP target spec.
 *
 * @throws ConfigError `E_HTTP_TARGET_SPEC` naming each bad field and what it must be.
 * @example const spec = parseHttpTargetSpec({ url: 'http://127.0.0.1:8080/v1/predict', output: 'scores', inputShape: [28, 28, 1], numClasses: 10 });
 */
export function parseHttpTargetSpec(input: unknown): HttpTargetSpec {
  const parsed = httpTargetSpecSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ConfigError('E_HTTP_TARGET_SPEC', `The HTTP target spec is invalid (${issues.join('; ')}); fix these fields.`, {
    details: { issues },
  });
}

/** The output path in force: the spec's, or the default for its output kind (rampart serve's answer). */
export function outputPathOf(spec: Pick<HttpTargetSpec, 'output' | 'outputPath'>): string {
  return spec.outputPath ?? (spec.output === 'scores' ? '$.predictions[*].probabilities' : '$.predictions[*].label');
}
