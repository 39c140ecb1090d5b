/**
 * Plan rules that span sections, run in the plan schema's `superRefine` so every problem is
 * reported in one pass with its path: which channel sections the threats need, what makes
 * a complete image section (a model Rampart builds and hardens, or yours evaluated as is),
 * and which options the training method takes.
 */
import type { z } from 'zod';
import type { ModelSourceSpec } from '../../models/sources/load.js';
import { objectiveOptionNames } from '../../training/objectives/registry.js';
import type { trainingSchema } from './sections.js';

const METHOD_OPTIONS = ['steps', 'stepSize', 'mixRatio', 'beta', 'sigma'] as const;

/** The parts of a parsed plan the rules read. */
interface PlanParts {
  threats: readonly { id: string; channel: 'image' | 'text' | 'tabular'; norm?: string }[];
  data?: unknown;
  model?: { architecture?: string | undefined; baseline?: unknown; source?: ModelSourceSpec | undefined } | undefined;
  training?: z.infer<typeof trainingSchema> | undefined;
  text?: { source?: string | undefined; augment?: unknown } | undefined;
  tabular?: unknown;
}

/** `'a', 'b'`, or `(none defined)`. */
export function quoteList(values: readonly string[]): string {
  return values.length === 0 ? '(none defined)' : values.map((v) => `'${v}'`).join(', ');
}

function idsOf(plan: PlanParts, channel: string): string[] {
  return plan.threats.filter((t) => t.channel === channel).map((t) => t.id);
}

const SECTION_HINT: Record<string, string> = {
  image: "add the image section (data and model), or change the threat's channel",
  text: "add a text section (dataset, model), or change the threat's channel",
  tabular: "add a tabular section (dataset: csv:PATH, model: { source }), or change the threat's channel",
};

/**
 * At least one channel; every threat's channel has its section; the image section is whole
 * (data and model; a built model with its baseline and training, an external one without).
 */
export function checkChannels(plan: PlanParts, ctx: z.RefinementCtx): void {
  const image = plan.data !== undefined || plan.model !== undefined || plan.training !== undefined;
  const present = { image, text: plan.text !== undefined, tabular: plan.tabular !== undefined };
  if (!present.image && !present.text && !present.tabular) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: 'needs at least one channel: the image section (data, model), a text section or a tabular section',
    });
  }
  plan.threats.forEach((t, i) => {
    if (!present[t.channel])
      ctx.addIssue({
        code: 'custom',
        path: ['threats', i, 'channel'],
        message: `is '${t.channel}' but the plan has no ${t.channel} section; ${SECTION_HINT[t.channel] ?? ''}`,
      });
  });
  if (plan.text?.source !== undefined && plan.text.augment !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['text', 'augment'],
      message: 'hardens a filter Rampart trains; remove it for text.source, which is evaluated as is',
    });
  if (!image) return;
  if (plan.data === undefined)
    ctx.addIssue({ code: 'custom', path: ['data'], message: 'is required with an image model (e.g. { dataset: mnist })' });
  const model = plan.model;
  if (model === undefined) {
    ctx.addIssue({ code: 'custom', path: ['model'], message: 'is required for the image channel: architecture + baseline, or source' });
    return;
  }
  if (model.source !== undefined && model.architecture !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['model', 'source'],
      message: 'give either source (your model, evaluated as is) or architecture + baseline (a model Rampart trains), not both',
    });
  else if (model.source === undefined && model.architecture === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['model'],
      message: 'needs architecture + baseline (a model Rampart builds and trains) or source (your model, e.g. onnx:model.onnx)',
    });
  if (model.architecture !== undefined && model.baseline === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['model', 'baseline'],
      message: 'is required with model.architecture (e.g. { epochs: 4, learningRate: 0.002 })',
    });
  if (model.source !== undefined && model.baseline !== undefined)
    ctx.addIssue({ code: 'custom', path: ['model', 'baseline'], message: 'trains a model Rampart builds; remove it for model.source' });
  if (model.architecture !== undefined && plan.training === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['training'],
      message: 'is required to harden the model Rampart builds (e.g. { method: pgd-at, threat: linf-0.3, epochs: 6, learningRate: 0.002 })',
    });
  if (model.source !== undefined && plan.training !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['training'],
      message:
        'must be absent for an external model (model.source): it is evaluated as is (adversarial fine-tuning of imported models is not supported yet)',
    });
}

/** The training method's options and threat. */
export function checkTraining(plan: PlanParts, ctx: z.RefinementCtx): void {
  const training = plan.training;
  if (!training) return;
  // A plan's `diversified` is an ensemble whose inputs, with a threat, are PGD-AT's: it takes PGD-AT's options.
  const accepted = objectiveOptionNames(training.method === 'diversified' ? 'pgd-at' : training.method);
  if (training.method === 'diversified' && training.members === undefined && training.heads === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['training', 'members'],
      message: "is required for method 'diversified' (ensemble size 2–16, e.g. 3), or heads (a shared trunk with 2–16 heads)",
    });
  if (training.members !== undefined && training.heads !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['training', 'heads'],
      message: 'and members are two kinds of ensemble: give members (whole models) or heads (one shared trunk), not both',
    });
  for (const option of ['members', 'heads', 'diversity'] as const) {
    if (training.method !== 'diversified' && training[option] !== undefined)
      ctx.addIssue({ code: 'custom', path: ['training', option], message: "is an option of method 'diversified' (an ensemble) only" });
  }
  for (const option of METHOD_OPTIONS) {
    if (training[option] !== undefined && !accepted.includes(option)) {
      const others = accepted.filter((o) => o !== 'threat');
      ctx.addIssue({
        code: 'custom',
        path: ['training', option],
        message: `method '${training.method}' does not take this option; its options are ${others.length > 0 ? quoteList(others) : '(none)'}`,
      });
    }
  }
  const images = idsOf(plan, 'image');
  const adversarial = training.method !== 'standard' && training.method !== 'noise' && training.method !== 'diversified';
  if (adversarial && training.threat === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['training', 'threat'],
      message: `is required for method '${training.method}'; one of ${quoteList(images)}`,
    });
  }
  if (training.threat !== undefined) {
    const threat = plan.threats.find((t) => t.id === training.threat);
    if (!threat)
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'threat'],
        message: `must name an image threat: one of ${quoteList(images)} (got '${training.threat}')`,
      });
    else if (threat.channel !== 'image')
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'threat'],
        message: `must name an image threat: one of ${quoteList(images)} (got the ${threat.channel} threat '${training.threat}')`,
      });
    else {
      const wanted = methodFor(threat.norm);
      const sparse = (Object.values(SPARSE_METHODS) as string[]).includes(training.method);
      if (wanted === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['training', 'threat'],
          message: `no training method hardens against ${threat.norm} threats yet`,
        });
      else if (sparse ? training.method !== wanted : wanted !== 'dense')
        ctx.addIssue({
          code: 'custom',
          path: ['training', 'threat'],
          message:
            wanted === 'dense'
              ? `method '${training.method}' trains against a ${sparseNormOf(training.method)} threat; '${training.threat}' is ${threat.norm}`
              : `method '${training.method}' does not train against a ${threat.norm} threat; '${training.threat}' is ${threat.norm}: use method '${wanted}'`,
        });
    }
  }
}

/** The objective that trains against each sparse threat kind; its budget is the threat's epsilon. */
export const SPARSE_METHODS = { patch: 'patch-at', l0: 'sparse-at', occlusion: 'occlusion-at' } as const;

/** `dense` for the L∞/L2 methods, the sparse kind's own method, or undefined when none hardens against it. */
function methodFor(norm: string | undefined): string | undefined {
  if (norm === 'linf' || norm === 'l2') return 'dense';
  return (SPARSE_METHODS as Record<string, string>)[norm ?? ''];
}

function sparseNormOf(method: string): string {
  return Object.entries(SPARSE_METHODS).find(([, m]) => m === method)?.[0] ?? 'dense';
}

/** The defended-stack evaluation names an L∞/L2 image threat, and the `defendedStack` criterion needs it. */
export function checkEvaluationExtras(
  plan: PlanParts & { evaluation: { defendedStack?: { threat: string } | undefined }; criteria: { defendedStack?: unknown } },
  ctx: z.RefinementCtx,
): void {
  const stack = plan.evaluation.defendedStack;
  const dense = plan.threats.filter((t) => t.channel === 'image' && (t.norm === 'linf' || t.norm === 'l2')).map((t) => t.id);
  if (stack && !dense.includes(stack.threat))
    ctx.addIssue({
      code: 'custom',
      path: ['evaluation', 'defendedStack', 'threat'],
      message: `must name an L∞ or L2 image threat: one of ${quoteList(dense)} (got '${stack.threat}')`,
    });
  if (plan.criteria.defendedStack !== undefined && !stack)
    ctx.addIssue({
      code: 'custom',
      path: ['evaluation', 'defendedStack'],
      message: 'is required when criteria.defendedStack is set, e.g. { threat: linf-0.1, layers: { abstain: {}, ood: {} } }',
    });
}

/**
 * The tabular section's rules: `training` hardens a model Rampart builds (not yours), against
 * one of the plan's tabular threats.
 */
export function checkTabular(plan: PlanParts, ctx: z.RefinementCtx): void {
  const tabular = plan.tabular as { model: object; training?: { threat: string } } | undefined;
  if (!tabular?.training) return;
  if (!('architecture' in tabular.model)) {
    ctx.addIssue({
      code: 'custom',
      path: ['tabular', 'training'],
      message: 'hardens a model Rampart builds: give tabular.model an architecture (e.g. mlp) and a baseline, or drop training',
    });
  }
  const known = idsOf(plan, 'tabular');
  if (!known.includes(tabular.training.threat)) {
    ctx.addIssue({
      code: 'custom',
      path: ['tabular', 'training', 'threat'],
      message: `must be a tabular threat id: ${quoteList(known)}`,
    });
  }
}
