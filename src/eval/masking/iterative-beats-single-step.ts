/**
 * PGD must break at least as many examples as FGSM at the same epsilon. A single step
 * beating many steps means the loss surface misleads an iterative attack locally — a
 * classic sign of gradient masking (Athalye et al. 2018, §3; Carlini et al. 2019, §6.2).
 */
import { fgsm } from '../../attacks/image/fgsm.js';
import { pgd } from '../../attacks/image/pgd.js';
import { rate, round, type MaskingCheck } from './types.js';

export const iterativeBeatsSingleStep: MaskingCheck = {
  id: 'iterative-beats-single-step',
  title: 'Iterative attack (PGD) is at least as strong as single-step (FGSM)',
  async run(ctx) {
    const pgdRate = rate(await ctx.success('pgd', pgd({ steps: ctx.pgdSteps }), ctx.threat));
    const fgsmRate = rate(await ctx.success('fgsm', fgsm(), ctx.threat));
    const ok = pgdRate >= fgsmRate - ctx.margin;
    return {
      id: this.id,
      title: this.title,
      status: ok ? 'pass' : 'fail',
      measured: { pgdSuccess: round(pgdRate), fgsmSuccess: round(fgsmRate), pgdSteps: ctx.pgdSteps, margin: round(ctx.margin) },
      explanation: ok
        ? `PGD (${ctx.pgdSteps} steps) broke ${round(pgdRate)} of examples, FGSM ${round(fgsmRate)}: more steps help, as they should.`
        : `FGSM broke ${round(fgsmRate)} but ${ctx.pgdSteps}-step PGD only ${round(pgdRate)}. Many small gradient steps losing to one large one means the gradient is locally misleading (gradient masking). Do not trust PGD robustness numbers for this model: check PGD's step size and restarts, add a black-box attack (square), and if the model has non-differentiable or randomised parts, attack it adaptively (BPDA / expectation over transformation).`,
    };
  },
};
