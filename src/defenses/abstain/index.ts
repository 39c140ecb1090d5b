/**
 * Calibrated confidence with abstention: when the served model's top probability, after
 * temperature scaling, is below a threshold, the server answers "no decision" for that
 * example instead of a label. Scaling matters: raw softmax scores of deep nets are
 * over-confident, so a threshold on them abstains far less than it should.
 *
 * Reference: Guo, Pleiss, Sun, Weinberger, "On Calibration of Modern Neural Networks"
 * (ICML 2017), https://arxiv.org/abs/1706.04599; Geifman and El-Yaniv, "Selective
 * Classification for Deep Neural Networks" (NeurIPS 2017).
 */
import type { DefenseLayer, GuardContext, LayerVerdict } from '../layer.js';

export interface AbstainOptions {
  /** Abstain when the calibrated top probability is below this (default 0.5). */
  threshold?: number;
  /** `flag` answers with abstentions; `deny` refuses the whole request (default `flag`). */
  action?: 'flag' | 'deny';
}

/**
 * The abstention layer. Its score is the lowest top probability in the request (lower is
 * more doubtful); `examples` lists the examples that abstain.
 */
export function abstainLayer(options: AbstainOptions = {}): DefenseLayer {
  const threshold = options.threshold ?? 0.5;
  const action = options.action ?? 'flag';
  return {
    id: 'abstain',
    stage: 'output',
    check(ctx: GuardContext): LayerVerdict {
      const rows = ctx.output?.probabilities;
      if (!rows) return { decision: 'pass', reason: 'no model output' };
      let lowest = 1;
      const abstained: number[] = [];
      rows.forEach((p, i) => {
        let top = 0;
        for (const v of p) if (v > top) top = v;
        lowest = Math.min(lowest, top);
        if (top < threshold) abstained.push(i);
      });
      const score = Math.round(lowest * 10000) / 10000;
      if (abstained.length === 0) return { decision: 'pass', score };
      return {
        decision: action,
        score,
        examples: abstained,
        code: 'E_ABSTAIN',
        reason: `${abstained.length} example(s) below calibrated confidence ${threshold}`,
      };
    },
  };
}
