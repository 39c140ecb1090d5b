/**
 * With a budget that covers the whole input range, an attack can reach any input, so a
 * working attack should break (nearly) every example. Less than that means the attack,
 * not the model, is the bottleneck (Carlini et al. 2019, §6.1, "verify that unbounded
 * attacks reach 100% success").
 */
import { pgd } from '../../attacks/image/pgd.js';
import { sizeOf } from '../../core/types.js';
import { rate, round, type MaskingCheck } from './types.js';

export const unboundedAttack: MaskingCheck = {
  id: 'unbounded-attack',
  title: 'An unbounded attack reaches (nearly) 100% success',
  async run(ctx) {
    const range = ctx.threat.bounds.max - ctx.threat.bounds.min;
    // L∞: the whole range; L2: the diagonal of the input box.
    const epsilon = ctx.threat.norm === 'linf' ? range : range * Math.sqrt(sizeOf(ctx.model.inputShape));
    const success = rate(await ctx.success('pgd', pgd({ steps: ctx.pgdSteps }), ctx.threatAt(epsilon)));
    const complete = 1 - Math.max(0.01, 1 / Math.max(1, ctx.count));
    const status = success >= complete ? 'pass' : success >= 0.9 ? 'warn' : 'fail';
    return {
      id: this.id,
      title: this.title,
      status,
      measured: { epsilon: round(epsilon), success: round(success), passAt: round(complete) },
      explanation:
        status === 'pass'
          ? `PGD with epsilon ${round(epsilon)} (the whole input range) broke ${round(success)} of examples, as an attack that works must.`
          : `With epsilon ${round(epsilon)} any input is reachable, yet PGD broke only ${round(success)} of examples. The attack cannot follow the model's gradients (masked, zero or exploding), so bounded-epsilon results understate what an adversary can do. Find the layer that blocks gradients, or evaluate with black-box and adaptive attacks.`,
    };
  },
};
