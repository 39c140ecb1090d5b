/**
 * The server's configuration: which defence layers run and their thresholds, monitoring,
 * canary probes, rollback policy and alerts. Read from YAML or JSON (`--config`) and
 * checked with a schema at the edge; every field has a default, so `{}` is a working
 * configuration with every layer on except the ensemble (which needs member models).
 */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { captureConfigSchema } from '../governance/capture-types.js';
import { alertRulesSchema } from './plugins/rollout-alerts.js';

const budget = z.object({ max: z.number().int().positive(), timeWindowMs: z.number().int().positive() }).strict();
const off = z.literal(false);

const layersSchema = z
  .object({
    validate: z
      .object({
        maxBatch: z.number().int().positive().default(64),
        maxTextLength: z.number().int().positive().default(10_000),
        outOfRange: z.enum(['deny', 'clip']).default('deny'),
      })
      .strict()
      .default({ maxBatch: 64, maxTextLength: 10_000, outOfRange: 'deny' }),
    normalizeText: z.union([off, z.object({ stages: z.array(z.string()).optional(), flag: z.boolean().optional() }).strict()]).default({}),
    rateLimit: z
      .union([off, z.object({ perKey: budget.optional(), perAddress: budget.optional() }).strict()])
      .default({ perKey: { max: 600, timeWindowMs: 60_000 }, perAddress: { max: 1200, timeWindowMs: 60_000 } }),
    queryPattern: z
      .union([
        off,
        z
          .object({
            window: z.number().int().positive().optional(),
            windowMs: z.number().int().positive().optional(),
            distance: z.number().positive().optional(),
            textSimilarity: z.number().gt(0).max(1).optional(),
            flagAt: z.number().int().positive().optional(),
            denyAt: z.number().int().positive().optional(),
            maxClients: z.number().int().positive().optional(),
            maxExamples: z.number().int().positive().optional(),
          })
          .strict(),
      ])
      .default({}),
    ood: z
      .union([
        off,
        z
          .object({
            flagAt: z.number().positive().optional(),
            denyAt: z.number().positive().optional(),
            fitLimit: z.number().int().min(10).default(2000),
          })
          .strict(),
      ])
      .default({ fitLimit: 2000 }),
    ensemble: z
      .union([
        off,
        z
          .object({
            models: z.array(z.string()).min(1),
            flagAt: z.number().gt(0).max(1).optional(),
            denyAt: z.number().gt(0).max(1).optional(),
          })
          .strict(),
        // The served model is a fused ensemble (rampart train --method diversified --members N):
        // its members' labels come from its own forward pass.
        z
          .object({
            fused: z.literal(true),
            flagAt: z.number().gt(0).max(1).optional(),
            denyAt: z.number().gt(0).max(1).optional(),
          })
          .strict(),
      ])
      .default(false),
    abstain: z
      .union([off, z.object({ threshold: z.number().gt(0).lt(1).optional(), action: z.enum(['flag', 'deny']).optional() }).strict()])
      .default({}),
  })
  .strict();

const configSchema = z
  .object({
    // workMs: the time a request's defence layers may spend before it is refused (E_REQUEST_BUDGET).
    limits: z
      .object({
        bodyBytes: z
          .number()
          .int()
          .positive()
          .default(2 * 1024 * 1024),
        maxDepth: z.number().int().min(2).default(16),
        workMs: z.number().int().positive().default(2_000),
      })
      .strict()
      .default({ bodyBytes: 2 * 1024 * 1024, maxDepth: 16, workMs: 2_000 }),
    layers: layersSchema.default(layersSchema.parse({})),
    monitor: z
      .union([
        off,
        z
          .object({
            window: z.number().int().positive().optional(),
            referenceSize: z.number().int().positive().optional(),
            minSamples: z.number().int().positive().optional(),
            psiAlert: z.number().positive().optional(),
            anomalyWindow: z.number().int().positive().optional(),
          })
          .strict(),
      ])
      .default({}),
    canary: z
      .union([
        off,
        z
          .object({
            intervalMs: z.number().int().min(0).default(60_000),
            probes: z.string().optional(),
            count: z.number().int().positive().default(64),
            attack: z.string().default('pgd'),
            attackOptions: z.record(z.string(), z.unknown()).default({ steps: 10 }),
            norm: z.string().default('linf'),
            epsilon: z.number().min(0).default(0.2),
            seed: z.number().int().default(0),
          })
          .strict(),
      ])
      .default({ intervalMs: 60_000, count: 64, attack: 'pgd', attackOptions: { steps: 10 }, norm: 'linf', epsilon: 0.2, seed: 0 }),
    rollback: z
      .union([
        off,
        z
          .object({
            canary: z
              .union([
                off,
                z
                  .object({
                    below: z.number().min(0).max(1).optional(),
                    rearmAbove: z.number().min(0).max(1).optional(),
                    maxDrop: z.number().gt(0).max(1).optional(),
                  })
                  .strict(),
              ])
              .optional(),
            anomaly: z
              .union([
                off,
                z
                  .object({
                    above: z.number().gt(0).max(1).optional(),
                    rearmBelow: z.number().min(0).max(1).optional(),
                    minSamples: z.number().int().positive().optional(),
                    minClients: z.number().int().positive().optional(),
                    sample: z.number().int().positive().max(4096).optional(),
                    minImprovement: z.number().min(0).max(1).optional(),
                  })
                  .strict(),
              ])
              .optional(),
            consecutive: z.number().int().positive().optional(),
            cooldownMs: z.number().int().min(0).optional(),
            operatorWindowMs: z.number().int().min(0).optional(),
            checkIntervalMs: z.number().int().min(0).default(5000),
          })
          .strict(),
      ])
      .default({ checkIntervalMs: 5000 }),
    // Least disclosure: callers below the operator role get labels and rounded probabilities
    // only; 'full' shows every caller the trace, scores and paths (development servers).
    disclosure: z.enum(['least', 'full']).default('least'),
    timeouts: z
      .object({
        requestMs: z.number().int().positive().default(30_000),
        headersMs: z.number().int().positive().default(10_000),
        idleMs: z.number().int().positive().default(60_000),
        keepAliveMs: z.number().int().positive().default(5_000),
        drainMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({ requestMs: 30_000, headersMs: 10_000, idleMs: 60_000, keepAliveMs: 5_000, drainMs: 10_000 }),
    // How often a server on a registry tag checks where the tag points (0: never), so replicas converge.
    watch: z
      .object({ pollMs: z.number().int().min(0).default(5_000) })
      .strict()
      .default({ pollMs: 5_000 }),
    // Rules (drift windows, canary and anomaly thresholds) sit beside the webhook; see plugins/rollout-alerts.ts.
    alerts: z
      .object({ webhook: z.string().url().optional(), rules: alertRulesSchema.default(() => alertRulesSchema.parse({})) })
      .strict()
      .default(() => ({ rules: alertRulesSchema.parse({}) })),
    // Off by default: storing production inputs is a decision (privacy, retention) an operator makes.
    capture: z.union([off, captureConfigSchema]).default(false),
    // /metrics needs an operator key unless made public; failed keys are budgeted per address (IPv6 by /64).
    auth: z
      .object({ metricsPublic: z.boolean().default(false), failures: z.union([off, budget]).default({ max: 30, timeWindowMs: 60_000 }) })
      .strict()
      .default({ metricsPublic: false, failures: { max: 30, timeWindowMs: 60_000 } }),
    // Fastify's trustProxy: which proxies' X-Forwarded-For may set the client address (false: none).
    trustProxy: z.union([z.boolean(), z.string(), z.array(z.string()), z.number().int().min(1)]).default(false),
  })
  .strict();

export type ServeConfig = z.infer<typeof configSchema>;
export type ServeConfigInput = z.input<typeof configSchema>;

/**
 * Checks a configuration value and fills in the defaults.
 *
 * @throws ConfigError `E_SERVE_CONFIG` naming the first bad field.
 */
export function parseServeConfig(raw: unknown, where = 'the serve configuration'): ServeConfig {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError('E_SERVE_CONFIG', `${where} is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}.`, {
      details: { issues: parsed.error.issues },
    });
  }
  return parsed.data;
}

/**
 * Reads a YAML or JSON configuration file.
 *
 * @throws ConfigError `E_SERVE_CONFIG` when it cannot be read or parsed, or is invalid.
 */
export async function readServeConfig(path: string): Promise<ServeConfig> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (cause) {
    throw new ConfigError(
      'E_SERVE_CONFIG',
      `Cannot read the serve configuration ${path}: ${cause instanceof Error ? cause.message : String(cause)}.`,
      { cause },
    );
  }
  return parseServeConfig(raw, path);
}
