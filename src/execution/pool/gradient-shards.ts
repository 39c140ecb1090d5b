/**
 * Gradient sharding for synchronous data-parallel training: a batch is cut into one
 * contiguous shard per worker; each worker's objective prepares and scores its own shard,
 * and the pool returns the gradient of the whole batch's mean loss (shard gradients
 * averaged with shard-size weights, summed in float64 in shard order).
 */
import { sizeOf } from '../../core/types.js';
import type { ShardGradientsRequest, ShardedGradients } from '../../training/gradient-sharder.js';
import { GRADIENTS_KIND, evenRanges, shardSeed, type GradientsShard, type GradientsShardResult, type PoolBatchContext } from '../shards.js';
import type { ShardContext } from './attack-shards.js';
import type { Group } from './scheduler.js';

export type PoolGradientsRequest = ShardGradientsRequest;
export type PoolGradients = ShardedGradients;

/**
 * Checks the whole batch with the gradients handler (typed errors before any work), then
 * runs one shard per worker and averages.
 */
export async function runGradientShards(
  ctx: ShardContext,
  trainable: { names: readonly string[]; shapes: readonly (readonly number[])[] },
  workers: number,
  request: PoolGradientsRequest,
): Promise<PoolGradients> {
  const n = request.labels.length;
  const whole: GradientsShard = {
    objective: request.objective ?? { id: 'standard' },
    batch: request.batch ?? ({ epoch: 0, step: 0, seed: 0 } satisfies PoolBatchContext),
    x: request.x,
    shape: [...(request.shape ?? [n, ...ctx.model.inputShape])],
    labels: request.labels,
  };
  await ctx.handlers.get<GradientsShard, GradientsShardResult>(GRADIENTS_KIND).check?.(whole, ctx.model);
  const rowSize = sizeOf(ctx.model.inputShape);
  const group: Group = { failed: false };
  const shards = (await Promise.all(
    evenRanges(n, workers).map(([start, end]) => {
      const x = request.x.slice(start * rowSize, end * rowSize);
      const shard: GradientsShard = {
        objective: whole.objective,
        batch: { ...whole.batch, seed: shardSeed(whole.batch.seed, start) },
        x,
        shape: [end - start, ...whole.shape.slice(1)],
        labels: request.labels.slice(start, end),
      };
      return ctx.scheduler.submitShared({ op: 'run', kind: GRADIENTS_KIND, handle: ctx.handle, payload: shard }, [x.buffer], group);
    }),
  )) as GradientsShardResult[];
  const sums = trainable.shapes.map((s) => new Float64Array(sizeOf(s)));
  let loss = 0;
  for (const shard of shards) {
    const weight = shard.count / n;
    loss += weight * shard.loss;
    shard.gradients.forEach((g, i) => {
      const sum = sums[i] as Float64Array;
      for (let j = 0; j < g.length; j++) sum[j] = (sum[j] as number) + weight * (g[j] as number);
    });
  }
  return { loss, count: n, gradients: sums.map((s) => Float32Array.from(s)), names: trainable.names, shapes: trainable.shapes };
}
