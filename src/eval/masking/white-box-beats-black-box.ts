/**
 * A white-box gradient attack must be at least as strong as a black-box one that only
 * reads scores. If the black box wins, the gradients are hiding the model's weaknesses
 * (Athalye et al. 2018, §3.1; Carlini et al. 2019, §6.3 "try black-box attacks").
 */
import { pgd } from '../../attacks/image/pgd.js';
import { rate, round, type MaskingCheck } from './types.js';

export const whiteBoxBeatsBlackBox: MaskingCheck = {
  id: 'white-box-beats-black-box',
  title: 'White-box PGD is at least as strong as a black-box attack',
  async run(ctx) {
    const white = await ctx.success('pgd', pgd({ steps: ctx.pgdSteps }), ctx.threat);
    const black = await ctx.success('black-box', ctx.blackBox.attack, ctx.threat);
    let blackOnly = 0;
    for (let i = 0; i < white.length; i++) if (black[i] && !white[i]) blackOnly++;
    const whiteRate = rate(white);
    const blackRate = rate(black);
    const ok = whiteRate >= blackRate - ctx.margin;
    return {
      id: this.id,
      title: this.title,
      status: ok ? 'pass' : 'fail',
      measured: {
        pgdSuccess: round(whiteRate),
        blackBoxSuccess: round(blackRate),
        blackBoxOnly: blackOnly,
        blackBoxAttack: ctx.blackBox.source,
        margin: round(ctx.margin),
      },
      explanation: ok
        ? `PGD broke ${round(whiteRate)} of examples, the black-box ${ctx.blackBox.source} attack ${round(blackRate)}: gradients carry the information an attacker needs.`
        : `The black-box ${ctx.blackBox.source} attack, which never sees a gradient, broke ${round(blackRate)} of examples but PGD only ${round(whiteRate)} (${blackOnly} examples only the black box broke). The model's gradients are masked: white-box numbers overstate its robustness. Report the black-box result as the upper bound on robust accuracy and find the layer that blocks gradients (quantisation, thresholding, randomness, saturated softmax).`,
    };
  },
};
