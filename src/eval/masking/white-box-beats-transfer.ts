/**
 * PGD against the model itself must be at least as strong as PGD against a different
 * (surrogate) model whose adversarial examples are then transferred. Transfer winning
 * means the model's own gradients are worse than another model's (Athalye et al. 2018;
 * Carlini et al. 2019, §6.3 "transfer attacks").
 */
import { pgd } from '../../attacks/image/pgd.js';
import { UsageError } from '../../core/errors.js';
import { rate, round, type MaskingCheck } from './types.js';

export const whiteBoxBeatsTransfer: MaskingCheck = {
  id: 'white-box-beats-transfer',
  title: 'White-box PGD is at least as strong as a transfer attack from a surrogate',
  skipReason: (ctx) =>
    ctx.surrogate ? undefined : 'no surrogate model given (pass `surrogate`, e.g. the same architecture trained without the defence)',
  async run(ctx) {
    const surrogate = ctx.surrogate;
    if (!surrogate)
      throw new UsageError(
        'E_MASKING_OPTION',
        "The transfer check needs a surrogate model to craft on; pass 'surrogate' (e.g. the same architecture trained without the defence).",
      );
    const white = rate(await ctx.success('pgd', pgd({ steps: ctx.pgdSteps }), ctx.threat));
    const transfer = rate(await ctx.success('transfer', pgd({ steps: ctx.pgdSteps }), ctx.threat, surrogate));
    const ok = white >= transfer - ctx.margin;
    return {
      id: this.id,
      title: this.title,
      status: ok ? 'pass' : 'fail',
      measured: { pgdSuccess: round(white), transferSuccess: round(transfer), surrogate: surrogate.id, margin: round(ctx.margin) },
      explanation: ok
        ? `PGD on the model broke ${round(white)} of examples; adversarial examples crafted on '${surrogate.id}' transferred to ${round(transfer)}.`
        : `Adversarial examples crafted on the surrogate '${surrogate.id}' fooled the model on ${round(transfer)} of examples, more than PGD against the model itself (${round(white)}). The model's own gradients point the attack the wrong way (gradient masking); its white-box robustness is overstated. Include transfer attacks in the evaluation and fix or bypass (BPDA) the layer that breaks gradients.`,
    };
  },
};
