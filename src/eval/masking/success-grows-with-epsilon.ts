/**
 * Attack success must not fall as the budget grows: every perturbation allowed at a small
 * epsilon is allowed at a larger one. A curve that drops, or stays flat far from 100%,
 * means the attack is not finding what is there (Carlini et al. 2019, §6.1, "verify that
 * increasing the distortion bound increases attack success").
 */
import { pgd } from '../../attacks/image/pgd.js';
import { rate, round, type MaskingCheck } from './types.js';

export const successGrowsWithEpsilon: MaskingCheck = {
  id: 'success-grows-with-epsilon',
  title: 'Attack success grows with epsilon',
  async run(ctx) {
    const epsilons = [...new Set(ctx.epsilonFactors.map((f) => ctx.threatAt(f * ctx.threat.epsilon).epsilon))].sort((a, b) => a - b);
    const rates: number[] = [];
    for (const e of epsilons) rates.push(rate(await ctx.success('pgd', pgd({ steps: ctx.pgdSteps }), ctx.threatAt(e))));
    let worstDrop = 0;
    for (let i = 1; i < rates.length; i++) worstDrop = Math.max(worstDrop, (rates[i - 1] as number) - (rates[i] as number));
    const first = rates[0] ?? 0;
    const last = rates[rates.length - 1] ?? 0;
    const flat = rates.length > 1 && last - first <= ctx.margin && last < 0.9;
    const status = worstDrop > ctx.margin ? 'fail' : flat ? 'warn' : 'pass';
    const curve = epsilons.map((e, i) => `${e}: ${round(rates[i] as number)}`).join(', ');
    return {
      id: this.id,
      title: this.title,
      status,
      measured: { epsilons, successRates: rates.map(round), worstDrop: round(worstDrop), margin: round(ctx.margin) },
      explanation:
        status === 'pass'
          ? `PGD success by epsilon (${curve}) does not fall as the budget grows.`
          : status === 'fail'
            ? `PGD success falls by ${round(worstDrop)} as epsilon grows (${curve}), though a larger ball contains every smaller one. The attack is failing to optimise — masked or noisy gradients, or a step size that does not scale. Use more restarts, a black-box attack, and check the attack configuration before trusting these numbers.`
            : `PGD success stays flat (${curve}) while epsilon grows ${round(epsilons[epsilons.length - 1]! / epsilons[0]!)}x and stays below 90%. Larger budgets should break more examples; gradients that carry no signal would look like this. Run the unbounded-attack and black-box checks, and attack with more steps or restarts.`,
    };
  },
};
