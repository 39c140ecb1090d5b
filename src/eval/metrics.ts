/**
 * Streaming metrics: `update` per batch, `compute` at the end, so evaluation never holds a
 * whole data set of adversarial examples in memory.
 */
export interface Metric<Batch, Result> {
  update(batch: Batch): void;
  compute(): Result;
}

export interface AttackBatchOutcome {
  /** 1 where the attack met its goal. */
  success: Uint8Array;
  /** Per-example perturbation size in the threat's norm. */
  perturbation: Float32Array;
  queries: Int32Array;
}

export interface AttackStats {
  /** Examples the attack was run on (the clean-correct ones). */
  attacked: number;
  succeeded: number;
  /** succeeded / attacked: how often the attack breaks a correctly classified example. */
  successRate: number;
  /** Mean perturbation size over successful examples (0 when none succeeded). */
  meanPerturbation: number;
  /** Median perturbation size over successful examples (0 when none succeeded). */
  medianPerturbation: number;
  /** Mean model evaluations per attacked example. */
  meanQueries: number;
}

/** Accumulates one attack's outcomes at one epsilon. */
export function attackStatsMetric(): Metric<AttackBatchOutcome, AttackStats> {
  let attacked = 0;
  let queries = 0;
  const successful: number[] = [];
  return {
    update({ success, perturbation, queries: q }) {
      attacked += success.length;
      for (let i = 0; i < success.length; i++) {
        queries += q[i] as number;
        if (success[i]) successful.push(perturbation[i] as number);
      }
    },
    compute() {
      const sorted = [...successful].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median =
        sorted.length === 0 ? 0 : sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
      return {
        attacked,
        succeeded: successful.length,
        successRate: attacked === 0 ? 0 : successful.length / attacked,
        meanPerturbation: successful.length === 0 ? 0 : successful.reduce((a, b) => a + b, 0) / successful.length,
        medianPerturbation: median,
        meanQueries: attacked === 0 ? 0 : queries / attacked,
      };
    },
  };
}
