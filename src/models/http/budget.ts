/**
 * A per-example query budget declared by a black-box target (an HTTP endpoint that must not
 * be flooded). Query attacks stop searching an example once it has spent the budget (it is
 * reported as not broken, with its queries); the attack wrapper also caps the whole run at
 * `examples x budget` rows through {@link budgetedTarget}, so an attack that does not know
 * about budgets fails with `E_QUERY_BUDGET` instead of sending more.
 */
import { RampartError } from '../../core/errors.js';
import type { Classifier } from '../classifier.js';

/** A target that declares a per-example query budget. */
export interface QueryBudgeted {
  readonly maxQueriesPerExample?: number;
}

/** The target's per-example query budget, or undefined when it has none. */
export function queryBudgetOf(model: Classifier): number | undefined {
  const budget = (model as Classifier & QueryBudgeted).maxQueriesPerExample;
  return typeof budget === 'number' && Number.isFinite(budget) ? budget : undefined;
}

/**
 * A view of `model` whose `queryScores` refuses to send more than `maxRows` rows in total:
 * the hard stop behind the attacks' per-example budgets.
 *
 * @throws (from queryScores) RampartError `E_QUERY_BUDGET` (kind `rejected`) before a call would exceed `maxRows`.
 * @example const view = budgetedTarget(httpModel, n * 1000, 1000);
 */
export function budgetedTarget(model: Classifier, maxRows: number, perExample: number): Classifier {
  const inner = model.queryScores?.bind(model);
  if (!inner) return model;
  let sent = 0;
  return {
    id: model.id,
    inputShape: model.inputShape,
    numClasses: model.numClasses,
    bounds: model.bounds,
    differentiable: model.differentiable,
    ...(model.access ? { access: model.access } : {}),
    maxQueriesPerExample: perExample,
    logits: (x) => model.logits(x),
    queryScores: async (rows, count) => {
      if (sent + count > maxRows) {
        throw new RampartError(
          'E_QUERY_BUDGET',
          'rejected',
          `Model '${model.id}' allows ${perExample} queries per example (${maxRows} for this batch); the attack asked for ` +
            `${sent + count}. Lower the attack's 'queries' option or raise the target's maxQueriesPerExample.`,
          { details: { model: model.id, maxRows, perExample, asked: sent + count } },
        );
      }
      sent += count;
      return inner(rows, count);
    },
  } as Classifier & QueryBudgeted;
}
