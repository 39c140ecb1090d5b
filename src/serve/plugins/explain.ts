/**
 * `POST /v1/explain`, for operators: why the live model answers as it does for one input.
 * The body is the predict body for one example (`inputs: [example]` or `texts: [text]`) plus
 * `options`. Image models get the attribution methods of eval/explain (gradient methods only
 * when the model offers gradients), text models leave-one-out on the filter as served (or
 * gradient × input when the served model is white-box). Work is bounded three ways: the
 * options are capped below the library's caps, one example per request, and the request's
 * work budget (`limits.workMs`) is checked between chunks, past which it ends with
 * `E_REQUEST_BUDGET`. Not metered like predictions, and never shown to predict-only keys:
 * attributions reveal far more of the model than its answers do.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InputError, ServeError } from '../../core/errors.js';
import { parseImageBody, parseTextBody } from '../../defenses/validate/index.js';
import { explainInput } from '../../eval/explain/explain.js';
import { positionOf } from '../../eval/explain/compare.js';
import { round4, topIndices } from '../../eval/explain/stats.js';
import { leaveOneOut, textGradientTimesInput } from '../../eval/explain/text.js';
import { ATTRIBUTION_METHODS, GRADIENT_METHODS, IG_BASELINES, type BudgetCheck } from '../../eval/explain/types.js';
import { accessOf } from '../../models/classifier.js';
import { servePlugin } from './plugin.js';

/** Caps for one served explanation, tighter than the library's: this runs beside live traffic. */
export const SERVE_EXPLAIN_LIMITS = Object.freeze({ maxSteps: 128, maxSamples: 64, maxWords: 200, minStride: 1 });

const imageOptions = z
  .object({
    method: z.enum(ATTRIBUTION_METHODS).default('ig'),
    target: z.number().int().min(0).optional(),
    steps: z.number().int().min(1).max(SERVE_EXPLAIN_LIMITS.maxSteps).default(32),
    baseline: z.enum(IG_BASELINES).default('zeros'),
    samples: z.number().int().min(1).max(SERVE_EXPLAIN_LIMITS.maxSamples).default(16),
    noise: z.number().min(0).max(1).default(0.15),
    window: z.number().int().min(1).max(64).default(4),
    stride: z.number().int().min(1).max(64).default(2),
    fill: z.number().finite().optional(),
    seed: z.number().int().default(1),
    top: z.number().int().min(1).max(100).default(10),
  })
  .strict();

const textOptions = z
  .object({
    method: z.enum(['loo', 'gradient']).default('loo'),
    target: z.number().int().min(0).optional(),
    maxWords: z.number().int().min(1).max(SERVE_EXPLAIN_LIMITS.maxWords).default(SERVE_EXPLAIN_LIMITS.maxWords),
  })
  .strict();

function parseOptions<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InputError(
    'E_EXPLAIN_OPTION',
    `'options${issue?.path.length ? `.${issue.path.join('.')}` : ''}' is invalid: ${issue?.message ?? 'invalid'}. Steps ≤ ${SERVE_EXPLAIN_LIMITS.maxSteps}, samples ≤ ${SERVE_EXPLAIN_LIMITS.maxSamples}, maxWords ≤ ${SERVE_EXPLAIN_LIMITS.maxWords}.`,
    { details: { issues: parsed.error.issues } },
  );
}

/** A check that ends the request once its work budget is spent. */
function budget(workMs: number): BudgetCheck {
  const deadline = performance.now() + workMs;
  return (where) => {
    if (performance.now() <= deadline) return;
    throw new ServeError(
      'E_REQUEST_BUDGET',
      'rejected',
      `The explanation used up the request's work budget of ${workMs} ms (limits.workMs) at ${where}; ask for fewer steps, samples or words, a larger occlusion stride, or raise limits.workMs.`,
    );
  };
}

export const explainPlugin = servePlugin(
  'rampart-explain',
  { decorators: ['rampart'], dependencies: ['rampart-auth'] },
  async (app: FastifyInstance) => {
    app.post('/v1/explain', { config: { role: 'operator' } }, async (req) => {
      const state = app.rampart;
      const body = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, unknown>;
      const lease = state.holder.acquire();
      try {
        const served = lease.model;
        const check = budget(state.config.limits.workMs);
        const model = { id: served.view.id, generation: state.holder.generation };
        if (served.view.kind === 'text') {
          const text = served.textClassifier;
          if (!text) throw new ServeError('E_EXPLAIN_UNAVAILABLE', 'rejected', 'The live model offers no text classifier to explain.');
          const [input] = parseTextBody({ texts: body.texts }, { maxBatch: 1 });
          const o = parseOptions(textOptions, body.options);
          if (o.target !== undefined && o.target >= text.classes.length)
            throw new InputError('E_EXPLAIN_TARGET', `options.target ${o.target} does not exist; classes: ${text.classes.join(', ')}.`);
          if (o.method === 'gradient' && !text.whiteBox)
            throw new InputError(
              'E_EXPLAIN_METHOD',
              "The served text model is not white-box (it runs behind its normaliser); use method 'loo'.",
              {
                details: { valid: ['loo'] },
              },
            );
          const opts = { maxWords: o.maxWords, ...(o.target === undefined ? {} : { target: o.target }) };
          const a =
            o.method === 'loo'
              ? await leaveOneOut(text, input as string, opts, check)
              : await textGradientTimesInput(text, input as string, opts);
          return {
            model,
            method: a.method,
            target: a.target,
            class: text.classes[a.target] ?? String(a.target),
            probability: Math.round(a.probability * 1e4) / 1e4,
            evaluations: a.evaluations,
            words: a.words.map((w) => ({ ...w, importance: Math.round(w.importance * 1e5) / 1e5 })),
          };
        }
        const classifier = served.classifier;
        if (!classifier) throw new ServeError('E_EXPLAIN_UNAVAILABLE', 'rejected', 'The live model offers no classifier to explain.');
        const batch = parseImageBody({ inputs: body.inputs }, served.view, { maxBatch: 1 });
        const o = parseOptions(imageOptions, body.options);
        if (GRADIENT_METHODS.includes(o.method) && accessOf(classifier) !== 'gradients')
          throw new InputError(
            'E_EXPLAIN_METHOD',
            `The served model offers no input gradients, so method '${o.method}' cannot run; use 'occlusion'.`,
            {
              details: { valid: ['occlusion'] },
            },
          );
        const { top, ...options } = o;
        const a = await explainInput(classifier, batch.x, options, check);
        return {
          model,
          method: a.method,
          target: a.target,
          class: served.classes[a.target] ?? String(a.target),
          shape: a.shape,
          values: round4(a.values),
          ...(a.completenessError === undefined ? {} : { completenessError: a.completenessError, scoreDifference: a.scoreDifference }),
          evaluations: a.evaluations,
          settings: a.settings,
          top: topIndices(
            Float32Array.from(a.values, (v) => Math.abs(v)),
            top,
          ).map((j) => ({ position: positionOf(j, a.shape), value: Math.round((a.values[j] as number) * 1e5) / 1e5 })),
        };
      } finally {
        lease.release();
      }
    });
  },
);
