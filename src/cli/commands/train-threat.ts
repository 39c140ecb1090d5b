/**
 * The compiled tabular threat `rampart train --method tabular-pgd-at` trains against: the
 * named tabular threat of a plan (`--plan FILE --threat NAME`, compiled exactly as the plan's
 * tabular stage compiles it) or a constraints file (`--constraints FILE`, YAML or JSON with
 * the plan threat's `norm`, `epsilon` and `constraints`, the same schema). Either is compiled
 * against the training CSV's header and feature ranges once the data is loaded.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, ThreatError, UsageError } from '../../core/errors.js';
import type { Dataset } from '../../core/types.js';
import type { DataSourceSpec, SplitFractions } from '../../data/index.js';
import { loadPlan } from '../../pipeline/plan/load.js';
import type { Plan, TabularThreatScenario } from '../../pipeline/plan/schema.js';
import { planId, tabularThreatConstraintsSchema } from '../../pipeline/plan/threat-schema.js';
import { tabularCsvSource } from '../../pipeline/run/stages/tabular-built.js';
import { NORM_IDS } from '../../threats/norms.js';
import { tabularThreat, type TabularThreat } from '../../threats/tabular/threat.js';

/** Methods that train against a compiled tabular threat. */
export const TABULAR_METHODS = ['tabular-pgd-at'] as const;

/** A constraints file: the plan's tabular threat without its scenario fields (same schema). */
export const constraintsFileSchema = z.strictObject({
  /** The threat id carried into the model's training record; default `constraints`. */
  id: planId.default('constraints'),
  norm: z.enum(NORM_IDS),
  epsilon: z.number().positive(),
  constraints: tabularThreatConstraintsSchema.optional(),
});

/** Constraints files are a few hundred lines at most; larger is a wrong path. */
const MAX_FILE_BYTES = 1 << 20;

/** What the flags resolved to: how to compile the threat, and the plan's data when the plan has a tabular section. */
export interface TrainThreatSource {
  /** Where the threat comes from, for messages. */
  origin: string;
  compile(data: Dataset): TabularThreat;
  /** The plan's tabular CSV (with its label and ignored columns) and split fractions. */
  data?: { spec: DataSourceSpec; fractions?: SplitFractions };
}

export interface TrainThreatFlags {
  method: string;
  plan?: string;
  threat?: string;
  constraints?: string;
  epsilon?: string;
}

function usage(message: string, details: Record<string, unknown> = {}): never {
  throw new UsageError('E_TRAIN_THREAT', message, { details });
}

function compileScenario(scenario: Pick<TabularThreatScenario, 'id' | 'norm' | 'epsilon' | 'constraints'>, origin: string) {
  return (data: Dataset): TabularThreat => {
    const { scale, ...rest } = scenario.constraints ?? { scale: 'none' as const };
    const header = data.featureNames ?? [];
    try {
      return tabularThreat(
        { id: scenario.id, constraints: { ...rest, norm: { kind: scenario.norm, epsilon: scenario.epsilon, scale } } },
        { features: data.shape[0] as number, featureNames: header, featureBounds: data.featureBounds, bounds: data.bounds },
      );
    } catch (error) {
      if (!(error instanceof ThreatError)) throw error;
      throw new ThreatError(
        error.code,
        `${origin}: ${error.message} The training data's feature columns are: ${header.join(', ') || '(unnamed)'}.`,
        { cause: error, details: { ...error.details, threat: scenario.id, header } },
      );
    }
  };
}

async function fromPlan(path: string, name: string): Promise<TrainThreatSource> {
  const plan: Plan = await loadPlan(path);
  const tabular = plan.threats.filter((t) => t.channel === 'tabular').map((t) => t.id);
  const scenario = plan.threats.find((t) => t.id === name);
  if (!scenario)
    usage(
      `--threat '${name}' is not a threat of ${path}; its tabular threats are ${tabular.map((t) => `'${t}'`).join(', ') || '(none)'}.`,
      {
        threat: name,
        valid: tabular,
      },
    );
  if (scenario.channel !== 'tabular') {
    throw new UsageError(
      'E_TRAIN_THREAT_CHANNEL',
      `--threat '${name}' is a ${scenario.channel} threat; tabular-pgd-at trains against a tabular threat ` +
        `(${tabular.map((t) => `'${t}'`).join(', ') || `none in ${path}`}). For an image threat use --method pgd-at --epsilon E.`,
      { details: { threat: name, channel: scenario.channel, valid: tabular } },
    );
  }
  const origin = `threats.${name} of ${path}`;
  return {
    origin,
    compile: compileScenario(scenario, origin),
    ...(plan.tabular ? { data: { spec: tabularCsvSource(plan), ...(plan.tabular.split ? { fractions: plan.tabular.split } : {}) } } : {}),
  };
}

async function fromConstraintsFile(path: string): Promise<TrainThreatSource> {
  let text: string;
  try {
    const { size } = await stat(path);
    if (size > MAX_FILE_BYTES) usage(`--constraints ${path} is ${size} bytes; a constraints file is at most ${MAX_FILE_BYTES} bytes.`);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new ConfigError(
      'E_CONSTRAINTS_FILE',
      `Cannot read --constraints ${path}: ${(error as Error).message}. Pass a YAML or JSON file.`,
      {
        cause: error,
        details: { path },
      },
    );
  }
  let raw: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both.
    raw = parseYaml(text);
  } catch (error) {
    throw new ConfigError('E_CONSTRAINTS_FILE', `--constraints ${path} is not valid YAML or JSON: ${(error as Error).message}`, {
      cause: error,
      details: { path },
    });
  }
  const parsed = constraintsFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(document)'}: ${i.message}`);
    throw new ConfigError(
      'E_CONSTRAINTS_FILE',
      `--constraints ${path} is not a tabular threat: ${issues.join('; ')}. Write { norm: l2, epsilon: 1, constraints: { immutable, ranges, budgets, ... } } ` +
        "as a plan's tabular threat declares them.",
      { details: { path, issues } },
    );
  }
  const origin = `--constraints ${path}`;
  return { origin, compile: compileScenario(parsed.data, origin) };
}

/**
 * Resolves the threat flags of `rampart train`; undefined when the method needs none and none is given.
 *
 * @throws UsageError `E_TRAIN_THREAT` for a tabular method without a threat, `--threat` without `--plan` (or the reverse),
 *   both a plan and a constraints file, threat flags with a method that takes none, `--epsilon` with a tabular
 *   method, or a threat name the plan lacks (listing its tabular threats).
 * @throws UsageError `E_TRAIN_THREAT_CHANNEL` for a plan threat of another channel.
 * @throws ConfigError `E_CONSTRAINTS_FILE` for an unreadable or invalid constraints file (naming each bad field);
 *   the plan loader's errors for a bad plan.
 * @example const source = await resolveTrainThreat({ method: 'tabular-pgd-at', plan: 'rampart.yaml', threat: 'sensor-obfuscation' });
 */
export async function resolveTrainThreat(flags: TrainThreatFlags): Promise<TrainThreatSource | undefined> {
  const tabularMethod = (TABULAR_METHODS as readonly string[]).includes(flags.method);
  const given = flags.plan !== undefined || flags.threat !== undefined || flags.constraints !== undefined;
  if (!tabularMethod) {
    if (given)
      usage(
        `--plan, --threat and --constraints give the tabular threat of --method ${TABULAR_METHODS.join(', ')}; got --method ${flags.method}.`,
      );
    return undefined;
  }
  if (flags.epsilon !== undefined)
    usage(`--epsilon sets an image threat; --method ${flags.method} takes its budget from --plan/--threat or --constraints.`);
  if (flags.constraints !== undefined && (flags.plan !== undefined || flags.threat !== undefined))
    usage('Give either --plan FILE --threat NAME or --constraints FILE, not both.');
  if (flags.constraints !== undefined) return fromConstraintsFile(flags.constraints);
  if (flags.plan !== undefined && flags.threat !== undefined) return fromPlan(flags.plan, flags.threat);
  if (flags.plan !== undefined) usage(`--plan needs --threat NAME: the id of the plan's tabular threat to train against.`);
  if (flags.threat !== undefined) usage(`--threat ${flags.threat} needs --plan FILE: the plan that declares it.`);
  return usage(
    `--method ${flags.method} trains against a compiled tabular threat: add --plan FILE --threat NAME (a tabular threat of a plan) ` +
      'or --constraints FILE (YAML/JSON: norm, epsilon, constraints).',
  );
}
