/**
 * Ten times more steps should buy little once an attack has converged. If a long run is
 * much stronger than a short one, the evaluation's attack was under-converged and its
 * robust accuracy is an overestimate (Carlini et al. 2019, §6.1, "increase iterations
 * until success plateaus").
 */
import { pgd } from '../../attacks/image/pgd.js';
import { rate, round, type MaskingCheck } from './types.js';

export const iterationsPlateau: MaskingCheck = {
  id: 'iterations-plateau',
  title: 'More attack iterations plateau',
  async run(ctx) {
    const short = rate(await ctx.success(`pgd-${ctx.shortSteps}`, pgd({ steps: ctx.shortSteps }), ctx.threat));
    const long = rate(await ctx.success(`pgd-${ctx.longSteps}`, pgd({ steps: ctx.longSteps }), ctx.threat));
    const gain = long - short;
    const status = gain > ctx.margin || gain < -ctx.margin ? 'warn' : 'pass';
    return {
      id: this.id,
      title: this.title,
      status,
      measured: {
        shortSteps: ctx.shortSteps,
        longSteps: ctx.longSteps,
        shortSuccess: round(short),
        longSuccess: round(long),
        gain: round(gain),
        margin: round(ctx.margin),
      },
      explanation:
        status === 'pass'
          ? `PGD with ${ctx.shortSteps} steps broke ${round(short)} of examples and with ${ctx.longSteps} steps ${round(long)}: the attack has converged.`
          : gain > 0
            ? `PGD with ${ctx.longSteps} steps broke ${round(long)} of examples but with ${ctx.shortSteps} only ${round(short)}: attacks with few steps are under-converged on this model. Evaluate with at least ${ctx.longSteps} steps (and restarts) until success stops growing.`
            : `PGD with ${ctx.longSteps} steps broke fewer examples (${round(long)}) than with ${ctx.shortSteps} (${round(short)}). Smaller steps doing worse suggests a rugged or noisy loss surface; use restarts, a black-box attack, and check for randomness in the model.`,
    };
  },
};
