/**
 * Random points of the threat ball must not break examples that PGD could not: if blind
 * sampling finds adversarial examples a gradient attack missed, the gradient attack is
 * being misled (Athalye et al. 2018, §3.1; Carlini et al. 2019, §6.3, "random search
 * should not outperform gradient-based attacks").
 */
import { pgd } from '../../attacks/image/pgd.js';
import { randomSampling } from './random-sampling-attack.js';
import { rate, round, type MaskingCheck } from './types.js';

export const randomSearchFindsNothingNew: MaskingCheck = {
  id: 'random-search-finds-nothing-pgd-missed',
  title: 'Random sampling finds no adversarial examples that PGD missed',
  async run(ctx) {
    const white = await ctx.success('pgd', pgd({ steps: ctx.pgdSteps }), ctx.threat);
    const random = await ctx.success('random-sampling', randomSampling({ samples: ctx.randomSamples }), ctx.threat);
    let missed = 0;
    for (let i = 0; i < white.length; i++) if (random[i] && !white[i]) missed++;
    const fraction = missed / Math.max(1, ctx.count);
    const status = missed === 0 ? 'pass' : fraction <= ctx.margin ? 'warn' : 'fail';
    return {
      id: this.id,
      title: this.title,
      status,
      measured: {
        pgdSuccess: round(rate(white)),
        randomSuccess: round(rate(random)),
        missedByPgd: missed,
        missedFraction: round(fraction),
        samples: ctx.randomSamples,
      },
      explanation:
        status === 'pass'
          ? `${ctx.randomSamples} random points per example found no adversarial example that PGD missed.`
          : `${ctx.randomSamples} random points per example broke ${missed} examples (${round(fraction)}) that PGD did not. Blind sampling beating a gradient attack means the gradients mislead it (gradient masking)${status === 'warn' ? ', on a few examples here — run PGD with more restarts and steps to see if they close the gap' : ': white-box robustness numbers are overstated; evaluate with black-box and adaptive attacks'}.`,
    };
  },
};
