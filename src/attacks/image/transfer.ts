/**
 * Transfer attack — "Practical Black-Box Attacks against Machine Learning", Papernot,
 * McDaniel, Goodfellow, Jha, Celik, Swami, AsiaCCS 2017, https://arxiv.org/abs/1602.02697
 *
 * Any white-box attack runs on a surrogate model the adversary owns; the examples it finds
 * are then shown to the target, which is only asked for labels. Success is judged on the
 * target, so an example that fools the surrogate but not the target is a failure. Norms:
 * whatever the inner attack takes. A live attack (it holds a model), so it runs in this
 * thread, never on workers.
 */
import type { Classifier } from '../../models/classifier.js';
import type { Attack } from '../types.js';
import { attackOf, wrapAttack, type AttackContext, type AttackOutcome } from '../wrapper.js';
import { THREAT_NORM_IDS } from '../../threats/norms.js';
import { goalMet, predictRows } from './rows.js';

interface TransferConfig {
  surrogate: string;
  inner: { id: string; config: Readonly<object> };
}

/**
 * A transfer attack from `surrogate` with the white-box attack `inner`.
 *
 * @example const attack = transferAttack(surrogate, pgd({ steps: 20 }));
 */
export function transferAttack(surrogate: Classifier, inner: Attack): Attack {
  const search = async (context: AttackContext): Promise<AttackOutcome> => {
    const goal = context.targeted ? { kind: 'targeted' as const, targets: context.goalClasses } : { kind: 'untargeted' as const };
    const found = await inner.run(surrogate, context.x, context.labels, context.threat, {
      goal,
      seed: context.seed,
      onProgress: context.onProgress,
    });
    const rows = (await found.adversarial.data()) as Float32Array;
    const predicted = await predictRows(context.model, rows, context.n);
    const success = Uint8Array.from(predicted, (p, i) => Number(goalMet(p, context.goalClasses[i] as number, context.targeted)));
    // The target is asked once per example; the surrogate's queries are the adversary's own.
    return { adversarial: found.adversarial, success, queries: new Int32Array(context.n).fill(1) };
  };
  const config: TransferConfig = { surrogate: surrogate.id, inner: { id: inner.id, config: inner.config } };
  return attackOf(`transfer:${inner.id}`, config, wrapAttack(`transfer from ${surrogate.id}`, 'labels', search, THREAT_NORM_IDS));
}
