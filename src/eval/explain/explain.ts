/**
 * One entry point for attributions of fixed-shape inputs (images, tabular rows) on the shared
 * Classifier: it checks the input against the model, picks the explained class (the
 * prediction unless told), refuses gradient methods on targets without gradients (naming
 * occlusion, which needs only scores), and dispatches to the method.
 */
import { GradientError, InputError } from '../../core/errors.js';
import { accessOf, type Classifier } from '../../models/classifier.js';
import { gradientAttribution, integratedGradients, smoothGrad } from './gradient.js';
import { occlusion, scoresOf } from './occlusion.js';
import { parseExplainOptions, type ExplainOptions } from './options.js';
import { GRADIENT_METHODS, type Attribution, type BudgetCheck } from './types.js';

/** The class the model predicts for one input (logits for white-box targets, scores otherwise). */
export async function predictedClass(model: Classifier, x: Float32Array): Promise<number> {
  const scores = await scoresOf(model, x, 1);
  let best = 0;
  for (let c = 1; c < model.numClasses; c++) if ((scores[c] as number) > (scores[best] as number)) best = c;
  return best;
}

function checkInput(model: Classifier, x: Float32Array): void {
  const size = model.inputShape.reduce((a, b) => a * b, 1);
  if (x.length !== size)
    throw new InputError(
      'E_INPUT_SHAPE',
      `The input has ${x.length} values but model '${model.id}' takes [${model.inputShape.join(', ')}] (${size} values); reshape the input or pick the matching model.`,
      { details: { expected: [...model.inputShape], actual: x.length } },
    );
  const { min, max } = model.bounds;
  for (let j = 0; j < x.length; j++) {
    const v = x[j] as number;
    if (!Number.isFinite(v) || v < min - 1e-6 || v > max + 1e-6)
      throw new InputError(
        'E_INPUT_RANGE',
        `Input value ${j} is ${v}, outside model '${model.id}''s bounds [${min}, ${max}]; scale the input to the model's range.`,
        { details: { index: j, value: v, bounds: { min, max } } },
      );
  }
}

/**
 * Explains one input `x` (row-major, the model's input shape) with the chosen method.
 *
 * @param check called between chunks of work; throw from it to stop (a request's time budget).
 * @throws UsageError `E_EXPLAIN_OPTION` for bad options; InputError `E_INPUT_SHAPE` / `E_INPUT_RANGE`
 *   for an input that does not fit the model or its bounds; GradientError `E_EXPLAIN_ACCESS` when a
 *   gradient method meets a target without gradients, `E_EXPLAIN_GRADIENT` for non-finite gradients.
 * @example const attr = await explainInput(model, pixels, { method: 'ig', steps: 50 });
 */
export async function explainInput(
  model: Classifier,
  x: Float32Array,
  options: ExplainOptions = {},
  check?: BudgetCheck,
): Promise<Attribution> {
  const o = parseExplainOptions(options);
  checkInput(model, x);
  if (GRADIENT_METHODS.includes(o.method) && accessOf(model) !== 'gradients')
    throw new GradientError(
      'E_EXPLAIN_ACCESS',
      `Method '${o.method}' needs input gradients, but model '${model.id}' offers ${accessOf(model)} only; use method 'occlusion', which needs only scores.`,
      { details: { method: o.method, access: accessOf(model), valid: ['occlusion'] } },
    );
  if (o.target !== undefined && o.target >= model.numClasses)
    throw new InputError(
      'E_EXPLAIN_TARGET',
      `Target class ${o.target} does not exist; model '${model.id}' has classes 0..${model.numClasses - 1}.`,
      {
        details: { target: o.target, numClasses: model.numClasses },
      },
    );
  const target = o.target ?? (await predictedClass(model, x));
  switch (o.method) {
    case 'gradient':
      return gradientAttribution(model, x, target, false);
    case 'gradient-x-input':
      return gradientAttribution(model, x, target, true);
    case 'smoothgrad':
      return smoothGrad(model, x, target, o, check);
    case 'ig':
      return integratedGradients(model, x, target, o, check);
    case 'occlusion':
      return occlusion(model, x, target, o, check);
  }
}
